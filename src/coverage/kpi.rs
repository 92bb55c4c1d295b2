//! Coverage KPIs and holes from a prediction: which cells count (inside
//! the floor outline, outside no-coverage zones), the shares of that area
//! meeting the targets, and the holes: connected regions (side by side,
//! 4-neighbour) below the target that are larger than a minimum area.
//! Pure code.

use super::model::{Grid, Prediction};

/// A polygon's corners in metres (closed implicitly).
pub type Polygon = [(f64, f64)];

/// Whether a point lies inside a polygon (even-odd rule; on an edge may
/// go either way).
pub fn point_in_polygon(pt: (f64, f64), poly: &Polygon) -> bool {
    let mut inside = false;
    let n = poly.len();
    for k in 0..n {
        let (a, b) = (poly[k], poly[(k + n - 1) % n]);
        if (a.1 > pt.1) != (b.1 > pt.1) {
            let x = a.0 + (pt.1 - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if pt.0 < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// The cells that count: centre inside `outline` (every cell when it is
/// empty) and inside none of `excluded`.
pub fn mask(grid: &Grid, outline: &Polygon, excluded: &[Vec<(f64, f64)>]) -> Vec<bool> {
    let mut out = Vec::with_capacity(grid.cells());
    for j in 0..grid.height {
        for i in 0..grid.width {
            let c = grid.centre(i, j);
            let counted = (outline.is_empty() || point_in_polygon(c, outline))
                && !excluded.iter().any(|z| point_in_polygon(c, z));
            out.push(counted);
        }
    }
    out
}

/// Targets, as the issue sets them by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Targets {
    /// Primary and roaming signal (dBm), `coverage.target_dbm`.
    pub signal_dbm: f64,
    pub snr_db: f64,
    /// `coverage.hole_min_area` (m²).
    pub hole_min_area_m2: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            signal_dbm: -67.0,
            snr_db: 25.0,
            hole_min_area_m2: 4.0,
        }
    }
}

/// Shares are of the counted area, 0.0 to 1.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Kpi {
    pub area_m2: f64,
    pub primary: f64,
    pub roaming: f64,
    pub snr: f64,
    pub worst_contention: u32,
}

pub fn kpi(grid: &Grid, p: &Prediction, counted: &[bool], t: &Targets) -> Kpi {
    let (mut n, mut primary, mut roaming, mut snr, mut worst) =
        (0usize, 0usize, 0usize, 0usize, 0u32);
    for (at, ok) in counted.iter().enumerate() {
        if !ok {
            continue;
        }
        n += 1;
        if p.best_dbm.get(at).is_some_and(|s| *s >= t.signal_dbm) {
            primary += 1;
        }
        if p.second_dbm
            .get(at)
            .copied()
            .flatten()
            .is_some_and(|s| s >= t.signal_dbm)
        {
            roaming += 1;
        }
        if p.snr_db.get(at).is_some_and(|s| *s >= t.snr_db) {
            snr += 1;
        }
        worst = worst.max(p.contention.get(at).copied().unwrap_or(0));
    }
    let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    Kpi {
        area_m2: n as f64 * grid.resolution_m * grid.resolution_m,
        primary: share(primary),
        roaming: share(roaming),
        snr: share(snr),
        worst_contention: worst,
    }
}

/// A connected region below the target.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hole {
    pub area_m2: f64,
    /// Centre of its cells (m).
    pub centroid: (f64, f64),
    /// Smallest and largest cell centres (m): where to look.
    pub min: (f64, f64),
    pub max: (f64, f64),
    /// The weakest predicted signal in it (dBm).
    pub worst_dbm: f64,
}

/// The holes of a prediction, largest first.
pub fn holes(grid: &Grid, best_dbm: &[f64], counted: &[bool], t: &Targets) -> Vec<Hole> {
    let cells = grid.cells();
    let weak = |at: usize| {
        counted.get(at).copied().unwrap_or(false)
            && best_dbm.get(at).is_none_or(|s| *s < t.signal_dbm)
    };
    let mut seen = vec![false; cells];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..cells {
        if seen[start] || !weak(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
        let (mut min, mut max) = (
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NEG_INFINITY),
        );
        let mut worst = f64::INFINITY;
        while let Some(at) = stack.pop() {
            let (i, j) = (at % grid.width, at / grid.width);
            let (x, y) = grid.centre(i, j);
            n += 1;
            sx += x;
            sy += y;
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
            worst = worst.min(best_dbm.get(at).copied().unwrap_or(f64::NEG_INFINITY));
            let mut near = Vec::with_capacity(4);
            if i > 0 {
                near.push(at - 1);
            }
            if i + 1 < grid.width {
                near.push(at + 1);
            }
            if j > 0 {
                near.push(at - grid.width);
            }
            if j + 1 < grid.height {
                near.push(at + grid.width);
            }
            for k in near {
                if !seen[k] && weak(k) {
                    seen[k] = true;
                    stack.push(k);
                }
            }
        }
        let area = n as f64 * grid.resolution_m * grid.resolution_m;
        if area > t.hole_min_area_m2 {
            out.push(Hole {
                area_m2: area,
                centroid: (sx / n as f64, sy / n as f64),
                min,
                max,
                worst_dbm: worst,
            });
        }
    }
    out.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            origin_x: 0.0,
            origin_y: 0.0,
            width: 10,
            height: 10,
            resolution_m: 1.0,
        }
    }

    #[test]
    fn holes_on_a_known_geometry() {
        let g = grid();
        let mut best = vec![-50.0; 100];
        // A 3 x 3 region (9 m²): a hole.
        for j in 1..4 {
            for i in 1..4 {
                best[j * 10 + i] = -75.0;
            }
        }
        best[2 * 10 + 2] = -80.0;
        // 1 x 2 (2 m²): too small.
        best[8 * 10 + 8] = -70.0;
        best[8 * 10 + 9] = -70.0;
        // 2 x 3 under a no-coverage zone (a shaft): not counted.
        for j in 5..8 {
            for i in 0..2 {
                best[j * 10 + i] = -90.0;
            }
        }
        // Diagonal neighbours are not connected: two 1-cell regions.
        best[6 * 10 + 5] = -90.0;
        best[7 * 10 + 6] = -90.0;
        let shaft = vec![(0.0, 5.0), (2.0, 5.0), (2.0, 8.0), (0.0, 8.0)];
        let counted = mask(&g, &[], &[shaft]);
        let h = holes(&g, &best, &counted, &Targets::default());
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].area_m2, 9.0);
        assert_eq!(h[0].centroid, (2.5, 2.5));
        assert_eq!((h[0].min, h[0].max), ((1.5, 1.5), (3.5, 3.5)));
        assert_eq!(h[0].worst_dbm, -80.0);
        // A smaller minimum finds the 2 m² one too, still not the shaft.
        let small = Targets {
            hole_min_area_m2: 1.5,
            ..Targets::default()
        };
        let h = holes(&g, &best, &counted, &small);
        assert_eq!(h.iter().map(|x| x.area_m2).collect::<Vec<_>>(), [9.0, 2.0]);
    }

    #[test]
    fn outline_mask_and_shares() {
        let g = grid();
        // An L-shaped floor: the top-right 5 x 5 quarter is outside.
        let outline = [
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 5.0),
            (5.0, 5.0),
            (5.0, 10.0),
            (0.0, 10.0),
        ];
        let counted = mask(&g, &outline, &[]);
        assert_eq!(counted.iter().filter(|c| **c).count(), 75);
        assert!(point_in_polygon((2.0, 8.0), &outline));
        assert!(!point_in_polygon((8.0, 8.0), &outline));
        let mut p = Prediction {
            best_dbm: vec![-60.0; 100],
            best_ap: vec![Some(0); 100],
            second_dbm: vec![None; 100],
            snr_db: vec![32.0; 100],
            contention: vec![0; 100],
        };
        for at in 0..25 {
            // The first 25 cells (rows 0-2) weaker than the target.
            p.best_dbm[at] = -70.0;
            p.second_dbm[at] = Some(-66.0);
            p.snr_db[at] = 22.0;
        }
        p.contention[0] = 3;
        p.contention[99] = 9; // outside the outline: not counted
        let k = kpi(&g, &p, &counted, &Targets::default());
        assert_eq!(k.area_m2, 75.0);
        assert!((k.primary - 50.0 / 75.0).abs() < 1e-12);
        assert!((k.roaming - 25.0 / 75.0).abs() < 1e-12);
        assert!((k.snr - 50.0 / 75.0).abs() < 1e-12);
        assert_eq!(k.worst_contention, 3);
        // Nothing counted: shares are 0, not NaN.
        let none = kpi(&g, &p, &[false; 100], &Targets::default());
        assert_eq!((none.area_m2, none.primary), (0.0, 0.0));
    }
}
