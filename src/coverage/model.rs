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

/// Signals at or below this are no signal at all (dBm): a transmitter on
/// another floor that cannot reach it anywhere is not computed.
pub const NO_SIGNAL_DBM: f64 = -120.0;

/// Predicts one band on one floor's grid; see [`predict_bands`].
pub fn predict(
    grid: &Grid,
    level: i32,
    transmitters: &[Transmitter],
    walls: &[Wall],
    band: Band,
    p: &Params,
) -> Prediction {
    let mut lists: [&[Transmitter]; 3] = [&[], &[], &[]];
    let mut params = [*p; 3];
    lists[band.index()] = transmitters;
    params[band.index()] = *p;
    let [a, b, c] = predict_bands(grid, level, lists, walls, &params);
    match band {
        Band::B2g4 => a,
        Band::B5g => b,
        Band::B6g => c,
    }
}

/// One band's running results while the transmitters are added.
struct BandState<'a> {
    transmitters: &'a [Transmitter],
    n: f64,
    slab_db: f64,
    best: Vec<f64>,
    second: Vec<f64>,
    best_ap: Vec<u32>,
    channels: Vec<i64>,
    /// Per cell and channel, transmitters heard above the contention level.
    heard: Vec<u16>,
    /// Per row, a lower bound of the second-best signal (refreshed now and
    /// then; it only rises), for skipping transmitters on other floors.
    row_floor: Vec<f64>,
}

impl BandState<'_> {
    fn chan(&self, t: &Transmitter) -> Option<usize> {
        t.channel.and_then(|c| self.channels.binary_search(&c).ok())
    }

    fn refresh_row_floor(&mut self, grid: &Grid) {
        for (j, f) in self.row_floor.iter_mut().enumerate() {
            let row = self.second.get(j * grid.width..(j + 1) * grid.width);
            *f = row.map_or(f64::NEG_INFINITY, |r| {
                r.iter().copied().fold(f64::INFINITY, f64::min)
            });
        }
    }

    fn into_prediction(self) -> Prediction {
        let cells = self.best.len();
        let nchan = self.channels.len();
        let mut out = Prediction {
            best_ap: vec![None; cells],
            second_dbm: self
                .second
                .iter()
                .map(|&s| (s > f64::NEG_INFINITY).then_some(s))
                .collect(),
            snr_db: vec![f64::NEG_INFINITY; cells],
            contention: vec![0; cells],
            best_dbm: self.best,
        };
        for at in 0..cells {
            let k = self.best_ap[at] as usize;
            let Some(serving) = self.transmitters.get(k) else {
                continue;
            };
            out.best_ap[at] = Some(k);
            out.snr_db[at] = out.best_dbm[at] - serving.noise_dbm.unwrap_or(DEFAULT_NOISE_DBM);
            if let Some(c) = serving
                .channel
                .and_then(|c| self.channels.binary_search(&c).ok())
            {
                let own = u32::from(out.best_dbm[at] > CONTENTION_DBM);
                let heard = self.heard.get(at * nchan + c).copied().unwrap_or(0);
                out.contention[at] = u32::from(heard).saturating_sub(own);
            }
        }
        out
    }
}

/// Predicts the three bands of one floor's grid at once: an AP's radios
/// share their position, so the distances and the walls crossed are
/// worked out once for all its bands.
///
/// Cost grows with cells × APs, plus APs × walls × rows for the walls:
/// instead of testing every wall for every cell, each wall's shadow as
/// seen from the AP is cut into one run of cells per row (a shadow is
/// convex, so a row meets it in one interval); a cell that lies on the
/// edge of a run to within rounding is decided by [`segments_cross`]
/// itself, so the result is the same as [`predict_naive`]'s. APs on other
/// floors are worked out only on the rows where they can change a best
/// or second signal or a contention count. The heights (receiver, storey)
/// are `params[0]`'s.
pub fn predict_bands(
    grid: &Grid,
    level: i32,
    transmitters: [&[Transmitter]; 3],
    walls: &[Wall],
    params: &[Params; 3],
) -> [Prediction; 3] {
    let cells = grid.cells();
    let mut states: Vec<BandState> = Band::ALL
        .iter()
        .map(|b| {
            let list = transmitters[b.index()];
            let mut channels: Vec<i64> = list.iter().filter_map(|t| t.channel).collect();
            channels.sort_unstable();
            channels.dedup();
            BandState {
                transmitters: list,
                n: params[b.index()].n,
                slab_db: params[b.index()].slab_db,
                best: vec![f64::NEG_INFINITY; if list.is_empty() { 0 } else { cells }],
                second: vec![f64::NEG_INFINITY; if list.is_empty() { 0 } else { cells }],
                best_ap: vec![u32::MAX; if list.is_empty() { 0 } else { cells }],
                heard: vec![
                    0;
                    if list.is_empty() {
                        0
                    } else {
                        cells * channels.len()
                    }
                ],
                channels,
                row_floor: vec![f64::NEG_INFINITY; grid.height],
            }
        })
        .collect();

    // Sites: one per AP position, with its transmitter in each band. This
    // floor's first, then by floors away, so that the skipping of far APs
    // has the near ones' second signals to compare with.
    type Position = (i32, u64, u64, u64);
    let mut sites: Vec<(Position, Vec<(usize, usize)>)> = Vec::new();
    for (b, list) in transmitters.iter().enumerate() {
        for (k, t) in list.iter().enumerate() {
            let key = (t.level, t.x.to_bits(), t.y.to_bits(), t.z.to_bits());
            match sites.iter_mut().find(|(s, _)| *s == key) {
                Some((_, members)) => members.push((b, k)),
                None => sites.push((key, vec![(b, k)])),
            }
        }
    }
    sites.sort_by_key(|((l, ..), _)| (l - level).unsigned_abs());

    let geometry = &params[0];
    let width = grid.width;
    let mut row_loss = vec![[0.0f64; 3]; width];
    let mut diff = vec![[0.0f64; 3]; width + 1];
    let mut lg = vec![0.0f64; width];
    let mut done_floors = 0u32;
    for ((site_level, ..), members) in &sites {
        let floors = (site_level - level).unsigned_abs();
        if floors != done_floors {
            for st in states.iter_mut() {
                st.refresh_row_floor(grid);
            }
            done_floors = floors;
        }
        let Some(&(b0, k0)) = members.first() else {
            continue;
        };
        let Some(first) = transmitters[b0].get(k0) else {
            continue;
        };
        let (ax, ay) = (first.x, first.y);
        let dz = f64::from(site_level - level) * geometry.floor_height_m + first.z
            - geometry.receiver_height_m;
        // Per member: band, index, signal without distance and walls,
        // channel slot.
        let radios: Vec<(usize, u32, f64, Option<usize>)> = members
            .iter()
            .filter_map(|&(b, k)| {
                let t = transmitters[b].get(k)?;
                let st = states.get(b)?;
                let fixed = t.tx_power_dbm + t.antenna_gain_dbi
                    - (20.0 * t.freq_mhz.log10() - 28.0)
                    - f64::from(floors) * st.slab_db;
                Some((b, k as u32, fixed, st.chan(t)))
            })
            .collect();
        for j in 0..grid.height {
            let yc = grid.origin_y + (j as f64 + 0.5) * grid.resolution_m;
            let dy2 = (ay - yc) * (ay - yc) + dz * dz;
            // The columns worth computing: all of them on this floor; on
            // another, those where some band can be heard above the
            // contention level, or the whole row where a second signal is
            // below it (a weak spot any AP may improve).
            let (mut from, mut to) = (0usize, width);
            if floors > 0 {
                let mut reach2 = f64::NEG_INFINITY;
                let mut whole_row = false;
                for &(b, _, fixed, _) in &radios {
                    let st = &states[b];
                    let row_best = fixed - st.n * 0.5 * dy2.max(1.0).log10();
                    if row_best <= NO_SIGNAL_DBM {
                        continue;
                    }
                    if st
                        .row_floor
                        .get(j)
                        .is_none_or(|f| row_best > *f && *f < CONTENTION_DBM)
                    {
                        whole_row = true;
                    }
                    // d² below which this band is above the contention level.
                    reach2 = reach2.max(10f64.powf((fixed - CONTENTION_DBM) * 2.0 / st.n));
                }
                if !whole_row {
                    let span2 = reach2 - dy2;
                    if span2 <= 0.0 {
                        continue;
                    }
                    let half = span2.sqrt() / grid.resolution_m + 2.0;
                    let centre = (ax - grid.origin_x) / grid.resolution_m - 0.5;
                    from = (centre - half).floor().max(0.0) as usize;
                    to = ((centre + half).ceil().max(0.0) as usize).min(width);
                    if from >= to {
                        continue;
                    }
                }
            }
            let walls_here = floors == 0 && !walls.is_empty();
            if walls_here {
                for c in row_loss.iter_mut() {
                    *c = [0.0; 3];
                }
                for d in diff.iter_mut() {
                    *d = [0.0; 3];
                }
                for w in walls {
                    shadow_on_row(grid, j, yc, (ax, ay), w, &mut row_loss, &mut diff);
                }
                let mut run = [0.0f64; 3];
                for (cell, d) in row_loss.iter_mut().zip(&diff) {
                    for b in 0..3 {
                        run[b] += d[b];
                        cell[b] += run[b];
                    }
                }
            }
            for (i, l) in lg.iter_mut().enumerate().take(to).skip(from) {
                let x = grid.origin_x + (i as f64 + 0.5) * grid.resolution_m;
                let d2 = (ax - x) * (ax - x) + dy2;
                // log10(max(d, 1)) without the square root.
                *l = 0.5 * d2.max(1.0).log10();
            }
            let base = j * width;
            for &(b, kk, fixed, chan) in &radios {
                let Some(st) = states.get_mut(b) else {
                    continue;
                };
                let nchan = st.channels.len();
                let n = st.n;
                let span = base + from..base + to;
                let (Some(best), Some(second), Some(best_ap)) = (
                    st.best.get_mut(span.clone()),
                    st.second.get_mut(span.clone()),
                    st.best_ap.get_mut(span),
                ) else {
                    continue;
                };
                let cols = lg.get(from..to).unwrap_or(&[]);
                let losses = row_loss.get(from..to).unwrap_or(&[]);
                for (o, (((bst, sec), bap), l)) in best
                    .iter_mut()
                    .zip(second.iter_mut())
                    .zip(best_ap.iter_mut())
                    .zip(cols)
                    .enumerate()
                {
                    let loss = match (walls_here, losses.get(o)) {
                        (true, Some(w)) => w[b],
                        _ => 0.0,
                    };
                    let s = fixed - n * l - loss;
                    if s <= NO_SIGNAL_DBM {
                        continue;
                    }
                    if s > *bst || (s == *bst && kk < *bap) {
                        *sec = *bst;
                        *bst = s;
                        *bap = kk;
                    } else if s > *sec {
                        *sec = s;
                    }
                    if let Some(c) = chan {
                        if s > CONTENTION_DBM {
                            if let Some(h) = st.heard.get_mut((base + from + o) * nchan + c) {
                                *h += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    let mut it = states.into_iter().map(|st| {
        if st.transmitters.is_empty() {
            empty_prediction(cells)
        } else {
            st.into_prediction()
        }
    });
    let mut next = || it.next().unwrap_or_else(|| empty_prediction(cells));
    [next(), next(), next()]
}

/// One floor to predict: its grid, level and walls.
#[derive(Clone, Copy, Debug)]
pub struct FloorJob<'a> {
    pub grid: Grid,
    pub level: i32,
    pub walls: &'a [Wall],
}

/// [`predict_bands`] for several floors of one building (every floor sees
/// every AP), spread over `threads` threads; results in the jobs' order.
pub fn predict_floors(
    jobs: &[FloorJob],
    transmitters: [&[Transmitter]; 3],
    params: &[Params; 3],
    threads: usize,
) -> Vec<[Prediction; 3]> {
    let threads = threads.clamp(1, jobs.len().max(1));
    let per = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| predict_bands(&f.grid, f.level, transmitters, f.walls, params))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                // A panicking floor would be a bug here; its floors come
                // back empty rather than taking the caller down.
                h.join().unwrap_or_default()
            })
            .collect()
    })
}

fn empty_prediction(cells: usize) -> Prediction {
    Prediction {
        best_dbm: vec![f64::NEG_INFINITY; cells],
        best_ap: vec![None; cells],
        second_dbm: vec![None; cells],
        snr_db: vec![f64::NEG_INFINITY; cells],
        contention: vec![0; cells],
    }
}

/// Adds wall `w`'s losses (all three bands) to the cells of row `j`
/// (centre height `yc`) whose straight line to the AP at `ap` crosses it.
/// The run goes to the difference array `diff`; a cell on the run's edge
/// to within rounding, and every cell of a row where the geometry is
/// degenerate (the AP on the wall's line or on the row), is tested with
/// [`segments_cross`] and goes to `row`.
fn shadow_on_row(
    grid: &Grid,
    j: usize,
    yc: f64,
    ap: (f64, f64),
    w: &Wall,
    row: &mut [[f64; 3]],
    diff: &mut [[f64; 3]],
) {
    let (a, b) = ((w.x1, w.y1), (w.x2, w.y2));
    let width = grid.width as i64;
    let add = |cell: &mut [f64; 3]| {
        for (c, l) in cell.iter_mut().zip(&w.loss_db) {
            *c += l;
        }
    };
    let exact = |i: i64, row: &mut [[f64; 3]]| {
        if (0..width).contains(&i) && segments_cross(ap, grid.centre(i as usize, j), a, b) {
            if let Some(c) = row.get_mut(i as usize) {
                add(c);
            }
        }
    };
    let side = (b.0 - a.0) * (ap.1 - a.1) - (b.1 - a.1) * (ap.0 - a.0);
    let h = yc - ap.1;
    if side.abs() < 1e-12 || h.abs() < 1e-9 {
        for i in 0..width {
            exact(i, row);
        }
        return;
    }
    // Points W = A + t(B − A) of the wall between the AP and the row, seen
    // from the AP, land on the row at x(t); the shadow is x over that
    // range of t (x is monotone in t there).
    let (wy0, wy1) = (a.1 - ap.1, b.1 - ap.1);
    let dwy = wy1 - wy0;
    let slack = 1e-12;
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    // Keeps the t where wy(t) is ≥ bound (`above`) or ≤ bound.
    let mut clip = |above: bool, bound: f64| {
        if dwy.abs() < 1e-15 {
            let ok = if above {
                wy0 >= bound - slack
            } else {
                wy0 <= bound + slack
            };
            if !ok {
                t0 = 1.0;
                t1 = 0.0;
            }
            return;
        }
        let t = (bound - wy0) / dwy;
        if (dwy > 0.0) == above {
            t0 = t0.max(t - slack);
        } else {
            t1 = t1.min(t + slack);
        }
    };
    // W must lie between the AP and the row: on h's side, |wy| ≤ |h|.
    if h > 0.0 {
        clip(true, 0.0);
        clip(false, h);
    } else {
        clip(false, 0.0);
        clip(true, h);
    }
    if t0 > t1 {
        return;
    }
    let (t0, t1) = (t0.clamp(0.0, 1.0), t1.clamp(0.0, 1.0));
    let land = |t: f64| {
        let wx = a.0 + t * (b.0 - a.0) - ap.0;
        let wy = a.1 + t * (b.1 - a.1) - ap.1;
        if wy.abs() < 1e-12 || wy * h <= 0.0 {
            // Parallel to the row (or just past, by the slack): lands at
            // infinity on W's side.
            if wx >= 0.0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            }
        } else {
            ap.0 + wx * h / wy
        }
    };
    let (x0, x1) = (land(t0), land(t1));
    // In cell units: cell i's centre is at i.
    let to_cell =
        |x: f64| ((x - grid.origin_x) / grid.resolution_m - 0.5).clamp(-4.0, width as f64 + 4.0);
    let (fl, fr) = (to_cell(x0.min(x1)), to_cell(x0.max(x1)));
    let margin = 1e-6;
    let mut lo = (fl - margin).ceil() as i64;
    let mut hi = (fr + margin).floor() as i64;
    if lo > hi {
        return;
    }
    if (lo as f64 - fl).abs() < margin {
        exact(lo, row);
        lo += 1;
    }
    if lo <= hi && (fr - hi as f64).abs() < margin {
        exact(hi, row);
        hi -= 1;
    }
    let (from, to) = (lo.max(0), hi.min(width - 1));
    if from <= to {
        if let Some(d) = diff.get_mut(from as usize) {
            add(d);
        }
        if let Some(d) = diff.get_mut(to as usize + 1) {
            for (c, l) in d.iter_mut().zip(&w.loss_db) {
                *c -= l;
            }
        }
    }
}

/// The model evaluated the plain way, every wall for every cell: the
/// reference [`predict`] is tested against, and the benchmark's baseline.
pub fn predict_naive(
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
                if s <= NO_SIGNAL_DBM {
                    continue;
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

    /// A small deterministic generator for the random scenes.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Snapped to quarter metres now and then, so walls and APs sit
        /// exactly on cell centres and rows (the degenerate cases).
        fn coord(&mut self, max: f64) -> f64 {
            let v = self.next() * max;
            if self.next() < 0.3 {
                (v * 4.0).round() / 4.0
            } else {
                v
            }
        }
    }

    #[test]
    fn shadow_runs_give_exactly_the_naive_result() {
        let grid = Grid {
            origin_x: 0.0,
            origin_y: 0.0,
            width: 48,
            height: 30,
            resolution_m: 0.5,
        };
        for seed in 1..=40u64 {
            let mut r = Lcg(seed);
            let walls: Vec<Wall> = (0..(seed as usize % 25))
                .map(|n| {
                    let (x1, y1) = (r.coord(24.0), r.coord(15.0));
                    let (x2, y2) = match n % 4 {
                        0 => (x1, r.coord(15.0)),
                        1 => (r.coord(24.0), y1),
                        _ => (r.coord(24.0), r.coord(15.0)),
                    };
                    Wall {
                        x1,
                        y1,
                        x2,
                        y2,
                        loss_db: [3.0 + n as f64, 4.0, 5.0],
                    }
                })
                .collect();
            let mut aps: Vec<Transmitter> = (0..(1 + seed as usize % 6))
                .map(|n| Transmitter {
                    level: if n % 3 == 2 { (seed % 3) as i32 } else { 0 },
                    tx_power_dbm: 10.0 + r.next() * 12.0,
                    channel: [Some(1), Some(6), None][n % 3],
                    noise_dbm: (n % 2 == 0).then_some(-95.0),
                    ..ap(r.coord(24.0), r.coord(15.0), 0, None)
                })
                .collect();
            if let (Some(w), Some(a)) = (walls.first(), aps.first_mut()) {
                // An AP on a wall's line.
                a.x = w.x1;
                a.y = w.y1;
            }
            // All three bands at once, as the floor view asks for them.
            let params = Band::ALL.map(Params::office);
            let all = predict_bands(&grid, 0, [&aps, &aps, &aps], &walls, &params);
            for band in Band::ALL {
                let p = Params::office(band);
                let fast = predict(&grid, 0, &aps, &walls, band, &p);
                let slow = predict_naive(&grid, 0, &aps, &walls, band, &p);
                assert_eq!(all[band.index()], fast, "seed {seed}");
                for at in 0..grid.cells() {
                    assert_eq!(fast.best_ap[at], slow.best_ap[at], "seed {seed} cell {at}");
                    assert_eq!(
                        fast.contention[at], slow.contention[at],
                        "seed {seed} cell {at}"
                    );
                    let close = |a: f64, b: f64| a == b || (a - b).abs() < 1e-9;
                    assert!(
                        close(fast.best_dbm[at], slow.best_dbm[at]),
                        "seed {seed} cell {at}: {} vs {}",
                        fast.best_dbm[at],
                        slow.best_dbm[at]
                    );
                    assert!(
                        close(fast.snr_db[at], slow.snr_db[at]),
                        "seed {seed} cell {at}"
                    );
                    match (fast.second_dbm[at], slow.second_dbm[at]) {
                        (None, None) => {}
                        (Some(a), Some(b)) => assert!(close(a, b), "seed {seed} cell {at}"),
                        other => panic!("seed {seed} cell {at}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn far_floors_are_skipped_only_where_they_cannot_matter() {
        let grid = Grid {
            origin_x: 0.0,
            origin_y: 0.0,
            width: 20,
            height: 10,
            resolution_m: 1.0,
        };
        // Two strong APs here, and APs one to eight floors up.
        let mut aps = vec![ap(5.0, 5.0, 0, Some(1)), ap(15.0, 5.0, 0, Some(6))];
        aps.extend((1..=8).map(|l| ap(10.0, 5.0, l, Some(1))));
        let p = Params::office(Band::B2g4);
        let fast = predict(&grid, 0, &aps, &[], Band::B2g4, &p);
        let slow = predict_naive(&grid, 0, &aps, &[], Band::B2g4, &p);
        for at in 0..grid.cells() {
            assert_eq!(fast.best_ap[at], slow.best_ap[at], "cell {at}");
            assert_eq!(fast.contention[at], slow.contention[at], "cell {at}");
            assert!((fast.best_dbm[at] - slow.best_dbm[at]).abs() < 1e-9);
            let second = |p: &Prediction| p.second_dbm[at].unwrap_or(0.0);
            assert!((second(&fast) - second(&slow)).abs() < 1e-9, "cell {at}");
        }
        // Nothing at all: no signal, no serving AP.
        let none = predict(&grid, 0, &[], &[], Band::B2g4, &p);
        assert!(none.best_ap.iter().all(Option::is_none));
        assert!(none.best_dbm.iter().all(|v| *v == f64::NEG_INFINITY));
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
