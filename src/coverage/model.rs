//! RF prediction on a floor grid, in the ITU-R P.1238 form so that every
//! value can be checked by hand:
//!
//! `PL = 20·log10(f_MHz) + N·log10(d_m) − 28 + Σ wall losses + floor losses`
//!
//! with `d` the 3-D distance (at least 1 m), walls counted where the
//! straight line from the AP to the point crosses them (walls of the
//! receiver's floor; an AP on another floor pays the slab loss once per
//! floor crossed instead), and `received = tx power + antenna gain − PL`.
//! Per cell: the best signal and its AP, the second-best signal, the SNR
//! against the serving radio's noise floor (−92 dBm where unknown), and
//! how many other APs on the serving AP's channel are heard above
//! −82 dBm (co-channel contention). Pure code: no I/O, no clock.

/// Bands, in the order of every per-band array here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Band {
    B2g4,
    B5g,
    B6g,
}

impl Band {
    pub const ALL: [Band; 3] = [Band::B2g4, Band::B5g, Band::B6g];

    pub fn index(self) -> usize {
        match self {
            Band::B2g4 => 0,
            Band::B5g => 1,
            Band::B6g => 2,
        }
    }

    /// `2.4`, `5` or `6` (the API's `band=` values).
    pub fn parse(s: &str) -> Option<Band> {
        match s.trim() {
            "2.4" | "2" | "2g4" => Some(Band::B2g4),
            "5" | "5g" => Some(Band::B5g),
            "6" | "6g" => Some(Band::B6g),
            _ => None,
        }
    }

    /// The centre frequency used when a radio's channel is unknown.
    pub fn default_mhz(self) -> f64 {
        match self {
            Band::B2g4 => 2437.0,
            Band::B5g => 5180.0,
            Band::B6g => 5975.0,
        }
    }

    /// The distance exponent N of an office floor (ITU-R P.1238).
    pub fn default_exponent(self) -> f64 {
        match self {
            Band::B2g4 => 30.0,
            Band::B5g | Band::B6g => 31.0,
        }
    }

    /// The centre frequency of a channel in this band, in MHz.
    pub fn channel_mhz(self, channel: i64) -> Option<f64> {
        let f = match self {
            Band::B2g4 if channel == 14 => 2484,
            Band::B2g4 if (1..=13).contains(&channel) => 2407 + 5 * channel,
            Band::B5g if (32..=177).contains(&channel) => 5000 + 5 * channel,
            Band::B6g if (1..=233).contains(&channel) => 5950 + 5 * channel,
            _ => return None,
        };
        Some(f as f64)
    }
}

/// A wall material's loss in dB at 2.4, 5 and 6 GHz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Material {
    pub name: &'static str,
    pub loss_db: [f64; 3],
}

/// The default losses (dB), overridable per building. 6 GHz is a little
/// above 5 GHz; an elevator shaft is concrete lined with metal.
pub const MATERIALS: [Material; 7] = [
    Material {
        name: "drywall",
        loss_db: [3.0, 4.0, 5.0],
    },
    Material {
        name: "glass",
        loss_db: [2.0, 3.0, 4.0],
    },
    Material {
        name: "wood",
        loss_db: [4.0, 5.0, 6.0],
    },
    Material {
        name: "brick",
        loss_db: [8.0, 10.0, 12.0],
    },
    Material {
        name: "concrete",
        loss_db: [12.0, 15.0, 17.0],
    },
    Material {
        name: "metal",
        loss_db: [20.0, 25.0, 28.0],
    },
    Material {
        name: "elevator-shaft",
        loss_db: [25.0, 30.0, 33.0],
    },
];

/// The floor slab's loss per floor crossed (dB at 2.4, 5, 6 GHz).
pub const FLOOR_SLAB_DB: [f64; 3] = [15.0, 18.0, 20.0];

/// Noise floor assumed where a radio's is unknown (dBm).
pub const DEFAULT_NOISE_DBM: f64 = -92.0;

/// Signal above which a same-channel AP contends (dBm).
pub const CONTENTION_DBM: f64 = -82.0;

pub fn material(name: &str) -> Option<Material> {
    MATERIALS.iter().copied().find(|m| m.name == name)
}

/// A wall on the receiver's floor, in metres, with its loss per band.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wall {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub loss_db: [f64; 3],
}

/// An AP's radio in one band, placed.
#[derive(Clone, Debug, PartialEq)]
pub struct Transmitter {
    /// Floor number (level); other floors pay the slab loss per level.
    pub level: i32,
    pub x: f64,
    pub y: f64,
    /// Height of the AP above its floor (m).
    pub z: f64,
    pub tx_power_dbm: f64,
    pub antenna_gain_dbi: f64,
    /// Centre frequency (MHz): the radio's channel, else the band default.
    pub freq_mhz: f64,
    pub channel: Option<i64>,
    pub noise_dbm: Option<f64>,
}

/// The grid of one floor: `width` × `height` cells of `resolution_m`,
/// cell (i, j) centred at origin + ((i + ½)·res, (j + ½)·res).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub origin_x: f64,
    pub origin_y: f64,
    pub width: usize,
    pub height: usize,
    pub resolution_m: f64,
}

impl Grid {
    pub fn cells(&self) -> usize {
        self.width * self.height
    }

    pub fn centre(&self, i: usize, j: usize) -> (f64, f64) {
        (
            self.origin_x + (i as f64 + 0.5) * self.resolution_m,
            self.origin_y + (j as f64 + 0.5) * self.resolution_m,
        )
    }
}

/// What the model assumes (per floor and band; calibration changes `n`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Distance exponent N.
    pub n: f64,
    pub slab_db: f64,
    /// Height of the receiver above its floor (m).
    pub receiver_height_m: f64,
    /// Storey height, for the vertical distance to APs on other floors (m).
    pub floor_height_m: f64,
}

impl Params {
    pub fn office(band: Band) -> Params {
        Params {
            n: band.default_exponent(),
            slab_db: FLOOR_SLAB_DB[band.index()],
            receiver_height_m: 1.0,
            floor_height_m: 3.5,
        }
    }
}

/// `20·log10(f) + N·log10(max(d, 1)) − 28` (dB).
pub fn path_loss_db(freq_mhz: f64, n: f64, distance_m: f64) -> f64 {
    20.0 * freq_mhz.log10() + n * distance_m.max(1.0).log10() - 28.0
}

/// Whether segments p–q and a–b cross (touching counts; collinear
/// overlaps do not, a wall seen edge-on is not in the way).
pub fn segments_cross(p: (f64, f64), q: (f64, f64), a: (f64, f64), b: (f64, f64)) -> bool {
    let cross = |o: (f64, f64), u: (f64, f64), v: (f64, f64)| {
        (u.0 - o.0) * (v.1 - o.1) - (u.1 - o.1) * (v.0 - o.0)
    };
    let d1 = cross(a, b, p);
    let d2 = cross(a, b, q);
    let d3 = cross(p, q, a);
    let d4 = cross(p, q, b);
    if d1 == 0.0 && d2 == 0.0 {
        return false;
    }
    let straddles = |x: f64, y: f64| (x <= 0.0 && y >= 0.0) || (x >= 0.0 && y <= 0.0);
    straddles(d1, d2) && straddles(d3, d4)
}

/// The signal from one transmitter at a point of floor `level` (dBm).
pub fn received_dbm(
    t: &Transmitter,
    level: i32,
    point: (f64, f64),
    walls: &[Wall],
    band: Band,
    p: &Params,
) -> f64 {
    let floors = (t.level - level).unsigned_abs();
    let dz = f64::from(t.level - level) * p.floor_height_m + t.z - p.receiver_height_m;
    let (dx, dy) = (t.x - point.0, t.y - point.1);
    let d = (dx * dx + dy * dy + dz * dz).sqrt();
    let mut loss = path_loss_db(t.freq_mhz, p.n, d) + f64::from(floors) * p.slab_db;
    if floors == 0 {
        let b = band.index();
        for w in walls {
            if segments_cross((t.x, t.y), point, (w.x1, w.y1), (w.x2, w.y2)) {
                loss += w.loss_db.get(b).copied().unwrap_or(0.0);
            }
        }
    }
    t.tx_power_dbm + t.antenna_gain_dbi - loss
}

/// Per-cell results of one band, row-major (`j * width + i`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    pub best_dbm: Vec<f64>,
    /// Index into the transmitters of the serving AP.
    pub best_ap: Vec<Option<usize>>,
    pub second_dbm: Vec<Option<f64>>,
    pub snr_db: Vec<f64>,
    /// Other APs on the serving AP's channel heard above −82 dBm.
    pub contention: Vec<u32>,
}

/// Predicts one band on one floor's grid. Cost: cells × transmitters ×
/// walls (the walls only for transmitters on the same floor).
pub fn predict(
    grid: &Grid,
    level: i32,
    transmitters: &[Transmitter],
    walls: &[Wall],
    band: Band,
    p: &Params,
) -> Prediction {
    let cells = grid.cells();
    let mut out = Prediction {
        best_dbm: vec![f64::NEG_INFINITY; cells],
        best_ap: vec![None; cells],
        second_dbm: vec![None; cells],
        snr_db: vec![f64::NEG_INFINITY; cells],
        contention: vec![0; cells],
    };
    let mut heard: Vec<f64> = vec![0.0; transmitters.len()];
    for j in 0..grid.height {
        for i in 0..grid.width {
            let at = j * grid.width + i;
            let point = grid.centre(i, j);
            let (mut best, mut best_ap, mut second) = (f64::NEG_INFINITY, None, None::<f64>);
            for (k, t) in transmitters.iter().enumerate() {
                let s = received_dbm(t, level, point, walls, band, p);
                if let Some(h) = heard.get_mut(k) {
                    *h = s;
                }
                if s > best {
                    second = (best > f64::NEG_INFINITY).then_some(best);
                    best = s;
                    best_ap = Some(k);
                } else if second.is_none_or(|x| s > x) {
                    second = Some(s);
                }
            }
            out.best_dbm[at] = best;
            out.best_ap[at] = best_ap;
            out.second_dbm[at] = second;
            if let Some((k, serving)) = best_ap.and_then(|k| Some((k, transmitters.get(k)?))) {
                out.snr_db[at] = best - serving.noise_dbm.unwrap_or(DEFAULT_NOISE_DBM);
                if let Some(ch) = serving.channel {
                    out.contention[at] = transmitters
                        .iter()
                        .zip(&heard)
                        .enumerate()
                        .filter(|(o, (t, s))| {
                            *o != k && t.channel == Some(ch) && **s > CONTENTION_DBM
                        })
                        .count() as u32;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(x: f64, y: f64, level: i32, channel: Option<i64>) -> Transmitter {
        Transmitter {
            level,
            x,
            y,
            z: 1.0,
            tx_power_dbm: 20.0,
            antenna_gain_dbi: 3.0,
            freq_mhz: 2437.0,
            channel,
            noise_dbm: None,
        }
    }

    #[test]
    fn free_space_matches_the_formula_at_several_distances() {
        let p = Params::office(Band::B2g4);
        let t = ap(0.0, 0.0, 0, Some(6));
        for d in [1.0, 2.5, 7.0, 15.0, 40.0] {
            // AP and receiver both 1 m up: the distance is horizontal.
            let got = received_dbm(&t, 0, (d, 0.0), &[], Band::B2g4, &p);
            let want = 20.0 + 3.0 - (20.0 * 2437f64.log10() + 30.0 * f64::log10(d) - 28.0);
            assert!((got - want).abs() < 0.1, "{d} m: {got} vs {want}");
        }
        // Closer than 1 m counts as 1 m.
        let near = received_dbm(&t, 0, (0.2, 0.0), &[], Band::B2g4, &p);
        let one = received_dbm(&t, 0, (1.0, 0.0), &[], Band::B2g4, &p);
        assert!((near - one).abs() < 1e-9);
        // By hand: 20·log10(2437) = 67.74; at 10 m, PL = 67.74 + 30 − 28 = 69.74.
        let ten = received_dbm(&t, 0, (10.0, 0.0), &[], Band::B2g4, &p);
        assert!((ten - (23.0 - 69.74)).abs() < 0.01, "{ten}");
    }

    #[test]
    fn a_concrete_wall_takes_its_loss_and_a_slab_counts_per_floor() {
        let concrete = material("concrete").unwrap();
        let wall = Wall {
            x1: 5.0,
            y1: -10.0,
            x2: 5.0,
            y2: 10.0,
            loss_db: concrete.loss_db,
        };
        for band in Band::ALL {
            let p = Params::office(band);
            let t = ap(0.0, 0.0, 0, None);
            let open = received_dbm(&t, 0, (10.0, 0.0), &[], band, &p);
            let behind = received_dbm(&t, 0, (10.0, 0.0), &[wall], band, &p);
            assert!((open - behind - concrete.loss_db[band.index()]).abs() < 1e-9);
            // A point on the AP's side is not behind it.
            let front = received_dbm(&t, 0, (4.0, 0.0), &[wall], band, &p);
            assert!((front - received_dbm(&t, 0, (4.0, 0.0), &[], band, &p)).abs() < 1e-9);
        }
        let p = Params::office(Band::B5g);
        let up2 = ap(0.0, 0.0, 2, None);
        let got = received_dbm(&up2, 0, (0.0, 0.0), &[], Band::B5g, &p);
        let d = 2.0 * 3.5 + 1.0 - 1.0;
        let want = 23.0 - (path_loss_db(2437.0, 31.0, d) + 2.0 * 18.0);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // Walls of this floor do not apply to an AP on another floor.
        let wall = Wall {
            x1: -1.0,
            y1: -1.0,
            x2: 1.0,
            y2: 1.0,
            loss_db: [99.0; 3],
        };
        let through = received_dbm(&up2, 0, (0.5, -0.5), &[wall], Band::B5g, &p);
        let clear = received_dbm(&up2, 0, (0.5, -0.5), &[], Band::B5g, &p);
        assert!((through - clear).abs() < 1e-9);
    }

    #[test]
    fn grid_gives_best_second_snr_and_contention() {
        let grid = Grid {
            origin_x: 0.0,
            origin_y: 0.0,
            width: 20,
            height: 4,
            resolution_m: 1.0,
        };
        let aps = [
            ap(2.0, 2.0, 0, Some(1)),
            ap(18.0, 2.0, 0, Some(1)),
            Transmitter {
                noise_dbm: Some(-80.0),
                ..ap(10.0, 2.0, 0, Some(6))
            },
        ];
        let p = Params::office(Band::B2g4);
        let r = predict(&grid, 0, &aps, &[], Band::B2g4, &p);
        assert_eq!(r.best_dbm.len(), 80);
        // Near the first AP it serves, and the far same-channel AP at
        // 15.5 m (−60 dBm or so) contends.
        let at = 2 * 20 + 2;
        assert_eq!(r.best_ap[at], Some(0));
        assert!(r.second_dbm[at].unwrap() < r.best_dbm[at]);
        assert_eq!(r.contention[at], 1);
        assert!((r.snr_db[at] - (r.best_dbm[at] + 92.0)).abs() < 1e-9);
        // In the middle the channel-6 AP serves, alone on its channel, with
        // its own noise floor.
        let mid = 2 * 20 + 10;
        assert_eq!(r.best_ap[mid], Some(2));
        assert_eq!(r.contention[mid], 0);
        assert!((r.snr_db[mid] - (r.best_dbm[mid] + 80.0)).abs() < 1e-9);
        // One AP: no second signal.
        let alone = predict(&grid, 0, &aps[..1], &[], Band::B2g4, &p);
        assert!(alone.second_dbm.iter().all(Option::is_none));
    }

    #[test]
    fn crossing_rules_and_channel_centres() {
        let s =
            |a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)| segments_cross(a, b, c, d);
        assert!(s((0.0, 0.0), (2.0, 0.0), (1.0, -1.0), (1.0, 1.0)));
        assert!(!s((0.0, 0.0), (0.5, 0.0), (1.0, -1.0), (1.0, 1.0)));
        // Edge-on (collinear) is not in the way.
        assert!(!s((0.0, 0.0), (2.0, 0.0), (1.0, 0.0), (3.0, 0.0)));
        // Touching an end of the wall counts.
        assert!(s((0.0, 0.0), (2.0, 0.0), (1.0, 0.0), (1.0, 1.0)));
        assert_eq!(Band::B2g4.channel_mhz(6), Some(2437.0));
        assert_eq!(Band::B2g4.channel_mhz(14), Some(2484.0));
        assert_eq!(Band::B5g.channel_mhz(36), Some(5180.0));
        assert_eq!(Band::B6g.channel_mhz(5), Some(5975.0));
        assert_eq!(Band::B5g.channel_mhz(6), None);
        assert_eq!(Band::parse("2.4"), Some(Band::B2g4));
        assert_eq!(Band::parse("7"), None);
        assert_eq!(material("concrete").unwrap().loss_db, [12.0, 15.0, 17.0]);
        assert!(material("cheese").is_none());
    }
}
