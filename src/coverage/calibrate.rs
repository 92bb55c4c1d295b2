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
}
