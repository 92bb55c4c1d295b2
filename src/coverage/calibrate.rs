//! Calibration: fit the distance exponent N of a floor and band to what
//! the network measured, by least squares, and say how far the model was
//! before and after. A measurement is a signal heard at a known distance
//! from a known transmitter: an AP hearing a neighbour AP (controller
//! RRM tables), or a phone's signal at a point a staff member tapped on
//! the survey page. Pure code.

use super::model::path_loss_db;

/// One measured signal with what the model needs to predict it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    pub freq_mhz: f64,
    /// 3-D distance between transmitter and receiver (m).
    pub distance_m: f64,
    /// Transmit power plus antenna gain (dBm).
    pub eirp_dbm: f64,
    /// Wall and floor losses on the way (dB), from the plan.
    pub obstacle_db: f64,
    pub measured_dbm: f64,
}

impl Measurement {
    pub fn predicted_dbm(&self, n: f64) -> f64 {
        self.eirp_dbm - path_loss_db(self.freq_mhz, n, self.distance_m) - self.obstacle_db
    }
}

/// What a fit found.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Fit {
    pub n: f64,
    /// Root-mean-square error of the model with the starting N (dB).
    pub rmse_before_db: f64,
    /// ... and with the fitted N (dB).
    pub rmse_after_db: f64,
    pub points: usize,
}

fn rmse(points: &[Measurement], n: f64) -> f64 {
    let sum: f64 = points
        .iter()
        .map(|m| (m.predicted_dbm(n) - m.measured_dbm).powi(2))
        .sum();
    (sum / points.len() as f64).sqrt()
}

/// Least-squares N: the model is linear in N (`N·log10(d)` is the only
/// term with it), so N = Σxy / Σx² with x = log10(d) and y what the rest
/// of the model leaves. None with fewer than `min_points` points, or when
/// every point is within 1 m (N does not act there); the fitted N is kept
/// within 15 to 60 (from free space to dense walls).
pub fn fit_exponent(points: &[Measurement], start_n: f64, min_points: usize) -> Option<Fit> {
    if points.len() < min_points.max(1) {
        return None;
    }
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for m in points {
        let x = m.distance_m.max(1.0).log10();
        let y = m.eirp_dbm - m.obstacle_db - m.measured_dbm - 20.0 * m.freq_mhz.log10() + 28.0;
        sxy += x * y;
        sxx += x * x;
    }
    if sxx <= f64::EPSILON || !sxy.is_finite() {
        return None;
    }
    let n = (sxy / sxx).clamp(15.0, 60.0);
    Some(Fit {
        n,
        rmse_before_db: rmse(points, start_n),
        rmse_after_db: rmse(points, n),
        points: points.len(),
    })
}

/// A measured signal whose wall losses are split by material, for the fit
/// that also corrects each material's loss.
#[derive(Clone, Debug, PartialEq)]
pub struct MaterialMeasurement {
    pub base: Measurement,
    /// Table loss (dB) of each material crossed, summed; `base.obstacle_db`
    /// holds these plus what is not fitted (floor slabs, custom walls).
    pub walls: Vec<(String, f64)>,
}

/// N and a factor per material (1 = the table's loss is right).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MaterialFit {
    pub n: f64,
    pub factors: std::collections::BTreeMap<String, f64>,
    pub rmse_before_db: f64,
    pub rmse_after_db: f64,
    pub points: usize,
}

/// How strongly the factors are held at 1 (dB² per unit of factor²): a
/// material seen through a few walls moves only as far as they show.
pub const FACTOR_PRIOR: f64 = 25.0;

/// Least squares of N and one loss factor per material crossed:
/// `measured = EIRP − 20·log10(f) + 28 − N·log10(d) − Σ factor_m·loss_m −
/// other`, with each factor held towards 1 by [`FACTOR_PRIOR`] and kept
/// within 0.25 to 3. Solved from the normal equations (one unknown per
/// material plus N). None with fewer than `min_points` points.
pub fn fit_with_materials(
    points: &[MaterialMeasurement],
    start_n: f64,
    min_points: usize,
) -> Option<MaterialFit> {
    if points.len() < min_points.max(1) {
        return None;
    }
    let mut names: Vec<String> = points
        .iter()
        .flat_map(|p| {
            p.walls
                .iter()
                .filter(|(_, l)| *l > 0.0)
                .map(|(m, _)| m.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    let k = names.len() + 1;
    // Normal equations A·θ = b, θ = (N, c_1..c_m).
    let mut a = vec![vec![0.0f64; k]; k];
    let mut b = vec![0.0f64; k];
    for p in points {
        let m = &p.base;
        let walls_total: f64 = p.walls.iter().map(|(_, l)| l).sum();
        let other = m.obstacle_db - walls_total;
        let y = m.eirp_dbm - other - m.measured_dbm - 20.0 * m.freq_mhz.log10() + 28.0;
        let mut row = vec![0.0f64; k];
        row[0] = m.distance_m.max(1.0).log10();
        for (name, loss) in &p.walls {
            if let Ok(i) = names.binary_search(name) {
                row[i + 1] += loss;
            }
        }
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            b[i] += row[i] * y;
        }
    }
    for i in 1..k {
        a[i][i] += FACTOR_PRIOR;
        b[i] += FACTOR_PRIOR;
    }
    let theta = solve(a, b)?;
    let n = theta.first().copied()?.clamp(15.0, 60.0);
    let factors: std::collections::BTreeMap<String, f64> = names
        .iter()
        .zip(theta.iter().skip(1))
        .map(|(name, c)| (name.clone(), c.clamp(0.25, 3.0)))
        .collect();
    let predicted = |p: &MaterialMeasurement, n: f64, f: &dyn Fn(&str) -> f64| {
        let walls_total: f64 = p.walls.iter().map(|(_, l)| l).sum();
        let scaled: f64 = p.walls.iter().map(|(name, l)| l * f(name)).sum();
        p.base.eirp_dbm
            - path_loss_db(p.base.freq_mhz, n, p.base.distance_m)
            - (p.base.obstacle_db - walls_total)
            - scaled
    };
    let err = |n: f64, f: &dyn Fn(&str) -> f64| {
        let sum: f64 = points
            .iter()
            .map(|p| (predicted(p, n, f) - p.base.measured_dbm).powi(2))
            .sum();
        (sum / points.len() as f64).sqrt()
    };
    let one = |_: &str| 1.0;
    let fitted = |name: &str| factors.get(name).copied().unwrap_or(1.0);
    Some(MaterialFit {
        rmse_before_db: err(start_n, &one),
        rmse_after_db: err(n, &fitted),
        n,
        factors,
        points: points.len(),
    })
}

/// Gaussian elimination with partial pivoting; None when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (cell, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *cell -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measurements made by the model with `n`, plus a fixed pattern of
    /// ±3 dB "noise" (deterministic: no random numbers in tests).
    fn synthetic(n: f64, count: usize) -> Vec<Measurement> {
        (0..count)
            .map(|k| {
                let mut m = Measurement {
                    freq_mhz: if k % 2 == 0 { 2437.0 } else { 5180.0 },
                    distance_m: 2.0 + (k as f64 * 1.7) % 38.0,
                    eirp_dbm: 20.0,
                    obstacle_db: [0.0, 4.0, 15.0][k % 3],
                    measured_dbm: 0.0,
                };
                let wobble = [3.0, -2.0, 1.0, -3.0, 2.0, -1.0][k % 6];
                m.measured_dbm = m.predicted_dbm(n) + wobble;
                m
            })
            .collect()
    }

    #[test]
    fn recovers_a_known_exponent_within_0_2() {
        for true_n in [22.0, 30.0, 35.0, 42.0] {
            let points = synthetic(true_n, 60);
            let fit = fit_exponent(&points, 30.0, 10).unwrap();
            eprintln!(
                "true N {true_n}: fitted {:.3}, RMSE {:.2} dB with N 30, {:.2} dB fitted",
                fit.n, fit.rmse_before_db, fit.rmse_after_db
            );
            assert!((fit.n - true_n).abs() < 0.2, "{true_n}: fitted {}", fit.n);
            assert!(fit.rmse_after_db <= fit.rmse_before_db + 1e-9, "{fit:?}");
            // The wobble alone is about 2.2 dB RMS.
            assert!(fit.rmse_after_db < 2.5, "{fit:?}");
        }
        // Exact data fits exactly.
        let exact: Vec<Measurement> = synthetic(33.0, 12)
            .into_iter()
            .map(|mut m| {
                m.measured_dbm = m.predicted_dbm(33.0);
                m
            })
            .collect();
        let fit = fit_exponent(&exact, 30.0, 3).unwrap();
        assert!(
            (fit.n - 33.0).abs() < 1e-9 && fit.rmse_after_db < 1e-9,
            "{fit:?}"
        );
        assert!(fit.rmse_before_db > 1.0);
    }

    #[test]
    fn too_little_or_degenerate_data_fits_nothing() {
        assert!(fit_exponent(&[], 30.0, 1).is_none());
        assert!(fit_exponent(&synthetic(30.0, 5), 30.0, 10).is_none());
        let close: Vec<Measurement> = synthetic(30.0, 10)
            .into_iter()
            .map(|m| Measurement {
                distance_m: 0.5,
                ..m
            })
            .collect();
        assert!(fit_exponent(&close, 30.0, 3).is_none());
        // Absurd measurements are held to a plausible exponent.
        let absurd: Vec<Measurement> = synthetic(30.0, 10)
            .into_iter()
            .map(|m| Measurement {
                measured_dbm: -300.0,
                ..m
            })
            .collect();
        assert_eq!(fit_exponent(&absurd, 30.0, 3).unwrap().n, 60.0);
    }

    #[test]
    fn fits_n_and_material_factors_together() {
        // Concrete really costs 1.4 × its table loss, glass 0.8 ×; N = 33.
        let (true_n, concrete, glass) = (33.0, 1.4, 0.8);
        let points: Vec<MaterialMeasurement> = (0..80)
            .map(|k| {
                let walls = vec![
                    ("concrete".to_string(), 15.0 * (k % 3) as f64),
                    ("glass".to_string(), 3.0 * ((k / 3) % 3) as f64),
                ];
                let slab = if k % 7 == 0 { 18.0 } else { 0.0 };
                let total: f64 = walls.iter().map(|(_, l)| l).sum();
                let mut base = Measurement {
                    freq_mhz: 5180.0,
                    distance_m: 2.0 + (k as f64 * 1.3) % 30.0,
                    eirp_dbm: 22.0,
                    obstacle_db: total + slab,
                    measured_dbm: 0.0,
                };
                let truth = base.eirp_dbm
                    - path_loss_db(base.freq_mhz, true_n, base.distance_m)
                    - slab
                    - walls[0].1 * concrete
                    - walls[1].1 * glass;
                base.measured_dbm = truth + [0.5, -0.5, 0.0][k % 3];
                MaterialMeasurement { base, walls }
            })
            .collect();
        let fit = fit_with_materials(&points, 31.0, 10).unwrap();
        assert!((fit.n - true_n).abs() < 0.3, "{fit:?}");
        assert!((fit.factors["concrete"] - concrete).abs() < 0.05, "{fit:?}");
        assert!((fit.factors["glass"] - glass).abs() < 0.15, "{fit:?}");
        assert!(
            fit.rmse_after_db < 0.6 && fit.rmse_before_db > 5.0,
            "{fit:?}"
        );
        // No walls at all: the factors are empty and N is the plain fit.
        let open: Vec<MaterialMeasurement> = synthetic(30.0, 30)
            .into_iter()
            .map(|mut base| {
                base.obstacle_db = 0.0;
                base.measured_dbm = base.predicted_dbm(30.0);
                MaterialMeasurement {
                    base,
                    walls: Vec::new(),
                }
            })
            .collect();
        let fit = fit_with_materials(&open, 31.0, 10).unwrap();
        assert!(
            fit.factors.is_empty() && (fit.n - 30.0).abs() < 1e-6,
            "{fit:?}"
        );
        assert!(fit_with_materials(&open[..2], 31.0, 10).is_none());
        assert_eq!(
            solve(vec![vec![0.0, 0.0], vec![0.0, 0.0]], vec![1.0, 1.0]),
            None
        );
    }
}
