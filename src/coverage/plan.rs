//! Planning suggestions from the prediction model: a channel plan per band
//! and a transmit power per AP. Pure code: no I/O, no clock, no random
//! numbers; the same input gives the same plan.
//!
//! Channel plan: the radios of one band, the predicted AP-to-AP signals
//! ([`ap_to_ap_dbm`]) and a width. Two radios conflict when their channel
//! groups overlap in frequency; a conflicting pair costs
//! `10^((s + 82) / 10)` for its signal `s` (the louder of the two
//! directions) from −95 dBm up, plus a large constant above −82 dBm, so
//! the plan first minimises how many co-channel pairs hear each other
//! above −82 dBm and then how loudly the rest do. Greedy colouring, most
//! constrained radio first (DSATUR), then local search: single-radio moves
//! and moves of a conflicting pair together, while the cost drops, in a
//! bounded number of rounds. At equal cost a radio keeps its current
//! channel, then prefers non-DFS (5 GHz) and PSC (6 GHz) channels, then
//! the lowest.
//!
//! Power: see [`suggest_power`].

use std::cmp::Ordering;

use super::model::{received_dbm, Band, Params, Transmitter, Wall, CONTENTION_DBM};
use crate::csv_line::csv_line;

/// Pairs heard below this do not interfere at all (dBm): under the noise.
pub const INTERFERENCE_FLOOR_DBM: f64 = -95.0;

/// Added per co-channel pair heard above −82 dBm: one such pair outweighs
/// any number of quieter ones up to about −22 dBm.
const CONTENTION_WEIGHT: f64 = 1e6;

/// Rounds of single-radio moves per pass, and passes (each ends with a
/// pair move).
const MAX_ROUNDS: usize = 50;
const MAX_PASSES: usize = 20;

/// The API's spelling of a band: `2.4`, `5` or `6`.
pub fn band_label(band: Band) -> &'static str {
    match band {
        Band::B2g4 => "2.4",
        Band::B5g => "5",
        Band::B6g => "6",
    }
}

fn every_4th(from: i64, to: i64) -> Vec<i64> {
    (from..=to).step_by(4).collect()
}

/// Which 20 MHz channels a region allows for Wi-Fi (2.4 GHz is always
/// planned on 1, 6 and 11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regulatory {
    pub name: &'static str,
    /// 5 GHz channels usable without radar detection.
    pub non_dfs_5g: Vec<i64>,
    /// 5 GHz channels that need DFS (used only when DFS is allowed).
    pub dfs_5g: Vec<i64>,
    /// 6 GHz channels (empty where the band is not open to Wi-Fi).
    pub channels_6g: Vec<i64>,
}

impl Regulatory {
    /// China: 5 GHz 36–48 and 149–165, 52–64 with DFS (100–144 are not
    /// allowed); 6 GHz is not open to Wi-Fi, so a 6 GHz plan is refused.
    pub fn china() -> Regulatory {
        Regulatory {
            name: "china",
            non_dfs_5g: [every_4th(36, 48), every_4th(149, 165)].concat(),
            dfs_5g: every_4th(52, 64),
            channels_6g: Vec::new(),
        }
    }

    /// ETSI (Europe): 5 GHz 36–48, with DFS 52–64 and 100–140; 6 GHz
    /// 5945–6425 MHz (channels 1–93).
    pub fn etsi() -> Regulatory {
        Regulatory {
            name: "etsi",
            non_dfs_5g: every_4th(36, 48),
            dfs_5g: [every_4th(52, 64), every_4th(100, 140)].concat(),
            channels_6g: every_4th(1, 93),
        }
    }

    /// FCC (United States): 5 GHz 36–48 and 149–165, with DFS 52–64 and
    /// 100–144; 6 GHz channels 1–233.
    pub fn fcc() -> Regulatory {
        Regulatory {
            name: "fcc",
            non_dfs_5g: [every_4th(36, 48), every_4th(149, 165)].concat(),
            dfs_5g: [every_4th(52, 64), every_4th(100, 144)].concat(),
            channels_6g: every_4th(1, 233),
        }
    }
}

impl Default for Regulatory {
    fn default() -> Self {
        Regulatory::china()
    }
}

/// A 6 GHz preferred scanning channel (5, 21, 37, ...).
pub fn is_psc(channel: i64) -> bool {
    channel % 16 == 5
}

/// The 20 MHz channels of the `width_mhz` group that holds `channel`:
/// 5 GHz bonds 36+40, 44+48, ..., 149+153, 157+161 and 36–48, 52–64,
/// 100–112, 116–128, 132–144, 149–161; 6 GHz bonds 1+5, 9+13, ... and
/// 1–13, 17–29, .... On 2.4 GHz a 40 MHz radio's secondary channel is
/// taken above the primary up to channel 7 and below it from 8 on.
/// A channel off the 20 MHz raster stands alone.
pub fn channel_group(band: Band, channel: i64, width_mhz: u16) -> Vec<i64> {
    let k: i64 = match width_mhz {
        w if w >= 80 => 4,
        w if w >= 40 => 2,
        _ => 1,
    };
    if k == 1 {
        return vec![channel];
    }
    let base = match band {
        Band::B2g4 if channel <= 7 => return vec![channel, channel + 4],
        Band::B2g4 => return vec![channel - 4, channel],
        Band::B5g if channel >= 149 => 149,
        Band::B5g => 36,
        Band::B6g => 1,
    };
    if channel < base || (channel - base) % 4 != 0 {
        return vec![channel];
    }
    let start = base + (channel - base) / (4 * k) * (4 * k);
    (0..k).map(|i| start + 4 * i).collect()
}

/// The frequencies a group occupies (MHz, low and high edge).
fn span(band: Band, group: &[i64]) -> Option<(f64, f64)> {
    let lo = band.channel_mhz(*group.first()?)?;
    let hi = band.channel_mhz(*group.last()?)?;
    Some((lo - 10.0, hi + 10.0))
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// One radio to plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Radio {
    pub ap: String,
    pub channel: Option<i64>,
    /// Unknown widths count as 20 MHz for the current conflicts.
    pub width_mhz: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanOptions {
    /// 20, 40 or 80 (others are taken down to the next of these).
    pub width_mhz: u16,
    pub allow_dfs: bool,
    pub regulatory: Regulatory,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            width_mhz: 20,
            allow_dfs: false,
            regulatory: Regulatory::china(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PlanEntry {
    pub ap: String,
    pub current_channel: Option<i64>,
    pub current_width: Option<u16>,
    /// The primary channel of the suggested group.
    pub channel: i64,
    pub width: u16,
    /// The channel differs, or the width does where the current one is
    /// known.
    pub changed: bool,
}

/// Co-channel pairs (channel groups overlapping) of a set of channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Conflicts {
    /// Pairs hearing each other above −82 dBm.
    pub pairs_above_82: usize,
    /// The loudest co-channel pair (dBm); None without one.
    pub worst_pair_dbm: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChannelPlan {
    #[serde(skip)]
    pub band: Band,
    /// The width planned (after any fallback).
    pub width_mhz: u16,
    pub region: &'static str,
    /// In the order of the radios given.
    pub entries: Vec<PlanEntry>,
    /// With the current channels (radios without one left out).
    pub before: Conflicts,
    pub after: Conflicts,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no {band} GHz channel is allowed in region {region} at this width")]
    NoChannels {
        band: &'static str,
        region: &'static str,
    },
    #[error("the signal matrix must be {radios} x {radios}, one row and column per radio")]
    Matrix { radios: usize },
}

/// The predicted AP-to-AP signals: `s[a][b]` is AP `b`'s signal at AP
/// `a`'s position on its level, received at AP `a`'s height (dBm); the
/// diagonal is −∞. `walls` apply to pairs on the same level: pass one
/// floor's walls with that floor's APs, or use [`ap_to_ap_dbm_by_level`].
pub fn ap_to_ap_dbm(
    transmitters: &[Transmitter],
    walls: &[Wall],
    band: Band,
    params: &Params,
) -> Vec<Vec<f64>> {
    ap_to_ap_dbm_by_level(transmitters, |_| walls, band, params)
}

/// [`ap_to_ap_dbm`] with each level's walls.
pub fn ap_to_ap_dbm_by_level<'w>(
    transmitters: &[Transmitter],
    walls_on: impl Fn(i32) -> &'w [Wall],
    band: Band,
    params: &Params,
) -> Vec<Vec<f64>> {
    transmitters
        .iter()
        .enumerate()
        .map(|(a, rx)| {
            let at = Params {
                receiver_height_m: rx.z,
                ..*params
            };
            let walls = walls_on(rx.level);
            transmitters
                .iter()
                .enumerate()
                .map(|(b, tx)| {
                    if a == b {
                        f64::NEG_INFINITY
                    } else {
                        received_dbm(tx, rx.level, (rx.x, rx.y), walls, band, &at)
                    }
                })
                .collect()
        })
        .collect()
}

/// A channel group the plan may use.
#[derive(Clone, Debug)]
struct Choice {
    primary: i64,
    span: (f64, f64),
    /// 0 preferred; 1 DFS (5 GHz) or without a PSC channel (6 GHz).
    rank: u8,
}

fn choices(band: Band, width: u16, allow_dfs: bool, reg: &Regulatory) -> Vec<Choice> {
    let allowed: Vec<(i64, bool)> = match band {
        Band::B2g4 => vec![(1, false), (6, false), (11, false)],
        Band::B5g => {
            let mut all: Vec<(i64, bool)> = reg.non_dfs_5g.iter().map(|c| (*c, false)).collect();
            if allow_dfs {
                all.extend(reg.dfs_5g.iter().map(|c| (*c, true)));
            }
            all
        }
        Band::B6g => reg.channels_6g.iter().map(|c| (*c, false)).collect(),
    };
    let find = |c: i64| allowed.iter().find(|(a, _)| *a == c).map(|(_, dfs)| *dfs);
    let mut starts: Vec<i64> = allowed.iter().map(|(c, _)| *c).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::new();
    for c in starts {
        let group = channel_group(band, c, width);
        if group.first() != Some(&c) {
            continue;
        }
        let Some(dfs) = group
            .iter()
            .map(|g| find(*g))
            .try_fold(false, |any, d| d.map(|d| any || d))
        else {
            continue;
        };
        let Some(span) = span(band, &group) else {
            continue;
        };
        let psc = group.iter().copied().find(|g| is_psc(*g));
        let (primary, rank) = match band {
            Band::B6g => (psc.unwrap_or(c), u8::from(psc.is_none())),
            _ => (c, u8::from(dfs)),
        };
        out.push(Choice {
            primary,
            span,
            rank,
        });
    }
    out.sort_by_key(|c| c.rank);
    out
}

/// The width planned, with a note when it is not the one asked for.
fn plan_width(band: Band, asked: u16, notes: &mut Vec<String>) -> u16 {
    let mut width = match asked {
        w if w >= 80 => 80,
        w if w >= 40 => 40,
        _ => 20,
    };
    if width != asked {
        notes.push(format!(
            "{asked} MHz is not planned; planned at {width} MHz"
        ));
    }
    if band == Band::B2g4 && width > 20 {
        notes.push(format!(
            "2.4 GHz is planned at 20 MHz: {width} MHz there leaves no two channels apart"
        ));
        width = 20;
    }
    width
}

fn weight(s: f64) -> f64 {
    if s.is_nan() || s < INTERFERENCE_FLOOR_DBM {
        return 0.0;
    }
    let over = if s > CONTENTION_DBM {
        CONTENTION_WEIGHT
    } else {
        0.0
    };
    10f64.powf((s - CONTENTION_DBM) / 10.0) + over
}

/// Costs equal within rounding compare equal, so that the tie-breaks act.
fn cmp_cost(a: f64, b: f64) -> Ordering {
    if (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0) {
        Ordering::Equal
    } else {
        a.total_cmp(&b)
    }
}

fn conflicts(spans: &[Option<(f64, f64)>], pair: &[Vec<f64>]) -> Conflicts {
    let mut out = Conflicts::default();
    for (a, sa) in spans.iter().enumerate() {
        for (b, sb) in spans.iter().enumerate().skip(a + 1) {
            let (Some(sa), Some(sb)) = (sa, sb) else {
                continue;
            };
            let s = pair[a][b];
            if !overlap(*sa, *sb) || !s.is_finite() {
                continue;
            }
            if s > CONTENTION_DBM {
                out.pairs_above_82 += 1;
            }
            out.worst_pair_dbm = Some(out.worst_pair_dbm.map_or(s, |w: f64| w.max(s)));
        }
    }
    out
}

/// The colouring problem: radios × choices.
struct Problem {
    k: usize,
    weight: Vec<Vec<f64>>,
    /// Radios with a non-zero weight to each radio.
    near: Vec<Vec<usize>>,
    strong: Vec<Vec<bool>>,
    overlap: Vec<Vec<bool>>,
    /// Tie-break per radio and choice: (0 current channel, 1 a group
    /// holding it, 2 other; the choice's rank).
    tie: Vec<Vec<(u8, u8)>>,
}

impl Problem {
    /// What each choice would cost radio `v` against the others' choices
    /// (`skip` left out).
    fn load(&self, v: usize, assign: &[Option<usize>], skip: Option<usize>) -> Vec<f64> {
        let mut load = vec![0.0; self.k];
        for &u in &self.near[v] {
            if Some(u) == skip {
                continue;
            }
            let Some(cu) = assign[u] else {
                continue;
            };
            let w = self.weight[v][u];
            for (c, l) in load.iter_mut().enumerate() {
                if self.overlap[c][cu] {
                    *l += w;
                }
            }
        }
        load
    }

    fn better(&self, v: usize, load: &[f64], a: usize, b: usize) -> Ordering {
        cmp_cost(load[a], load[b])
            .then(self.tie[v][a].cmp(&self.tie[v][b]))
            .then(a.cmp(&b))
    }

    fn best(&self, v: usize, load: &[f64]) -> usize {
        (0..self.k)
            .min_by(|a, b| self.better(v, load, *a, *b))
            .unwrap_or(0)
    }

    /// DSATUR: colour next the radio whose strong (above −82 dBm)
    /// neighbours already block the most choices, then the one with most
    /// strong neighbours, then the most total weight, then the first.
    fn colour(&self) -> Vec<Option<usize>> {
        let n = self.weight.len();
        let degree: Vec<usize> = self
            .strong
            .iter()
            .map(|r| r.iter().filter(|s| **s).count())
            .collect();
        let total: Vec<f64> = self.weight.iter().map(|r| r.iter().sum()).collect();
        let mut blocked = vec![vec![false; self.k]; n];
        let mut assign: Vec<Option<usize>> = vec![None; n];
        for _ in 0..n {
            let sat = |v: usize| blocked[v].iter().filter(|b| **b).count();
            let Some(v) = (0..n).filter(|v| assign[*v].is_none()).max_by(|a, b| {
                sat(*a)
                    .cmp(&sat(*b))
                    .then(degree[*a].cmp(&degree[*b]))
                    .then(total[*a].total_cmp(&total[*b]))
                    .then(b.cmp(a))
            }) else {
                break;
            };
            let c = self.best(v, &self.load(v, &assign, None));
            assign[v] = Some(c);
            for &u in &self.near[v] {
                if self.strong[u][v] {
                    for (x, bl) in blocked[u].iter_mut().enumerate() {
                        *bl |= self.overlap[x][c];
                    }
                }
            }
        }
        assign
    }

    /// Single-radio moves while one lowers the cost (or keeps it and
    /// wins a tie-break), then a pair move; bounded.
    fn improve(&self, assign: &mut [Option<usize>]) {
        for _ in 0..MAX_PASSES {
            for _ in 0..MAX_ROUNDS {
                let mut moved = false;
                for v in 0..assign.len() {
                    let Some(cur) = assign[v] else {
                        continue;
                    };
                    let load = self.load(v, assign, None);
                    let best = self.best(v, &load);
                    if self.better(v, &load, best, cur) == Ordering::Less {
                        assign[v] = Some(best);
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
            if !self.pair_move(assign) {
                break;
            }
        }
    }

    /// Re-chooses both radios of the first strong co-channel pair whose
    /// joint move lowers the cost. Whether it moved.
    fn pair_move(&self, assign: &mut [Option<usize>]) -> bool {
        for a in 0..assign.len() {
            for &b in &self.near[a] {
                if b <= a || !self.strong[a][b] {
                    continue;
                }
                let (Some(ca), Some(cb)) = (assign[a], assign[b]) else {
                    continue;
                };
                if !self.overlap[ca][cb] {
                    continue;
                }
                let la = self.load(a, assign, Some(b));
                let lb = self.load(b, assign, Some(a));
                let w = self.weight[a][b];
                let cost =
                    |x: usize, y: usize| la[x] + lb[y] + if self.overlap[x][y] { w } else { 0.0 };
                let mut best = (cost(ca, cb), ca, cb);
                for x in 0..self.k {
                    for y in 0..self.k {
                        let c = cost(x, y);
                        if cmp_cost(c, best.0) == Ordering::Less {
                            best = (c, x, y);
                        }
                    }
                }
                if (best.1, best.2) != (ca, cb) {
                    assign[a] = Some(best.1);
                    assign[b] = Some(best.2);
                    return true;
                }
            }
        }
        false
    }
}

/// A channel plan for the radios of one band. `signal_dbm[a][b]` is radio
/// `b`'s signal at radio `a` (dBm, see [`ap_to_ap_dbm`]); NaN or −∞ where
/// not heard. Errors when the matrix is not one row and column per radio,
/// or when the region allows no channel of the band at the width.
pub fn plan_channels(
    band: Band,
    radios: &[Radio],
    signal_dbm: &[Vec<f64>],
    opts: &PlanOptions,
) -> Result<ChannelPlan, PlanError> {
    let n = radios.len();
    if signal_dbm.len() != n || signal_dbm.iter().any(|r| r.len() != n) {
        return Err(PlanError::Matrix { radios: n });
    }
    let mut notes = Vec::new();
    let width = plan_width(band, opts.width_mhz, &mut notes);
    let options = choices(band, width, opts.allow_dfs, &opts.regulatory);
    if options.is_empty() {
        return Err(PlanError::NoChannels {
            band: band_label(band),
            region: opts.regulatory.name,
        });
    }
    let k = options.len();
    let pair: Vec<Vec<f64>> = (0..n)
        .map(|a| {
            (0..n)
                .map(|b| {
                    let (x, y) = (signal_dbm[a][b], signal_dbm[b][a]);
                    match (a == b, x.is_nan(), y.is_nan()) {
                        (true, _, _) | (false, true, true) => f64::NEG_INFINITY,
                        _ => x.max(y),
                    }
                })
                .collect()
        })
        .collect();
    let weights: Vec<Vec<f64>> = pair
        .iter()
        .map(|r| r.iter().map(|s| weight(*s)).collect())
        .collect();
    let tie = radios
        .iter()
        .map(|r| {
            let centre = r.channel.and_then(|c| band.channel_mhz(c));
            options
                .iter()
                .map(|o| {
                    let same_width = r.width_mhz.is_none_or(|w| w == width);
                    let stay = if r.channel == Some(o.primary) && same_width {
                        0
                    } else if centre.is_some_and(|f| o.span.0 < f && f < o.span.1) {
                        1
                    } else {
                        2
                    };
                    (stay, o.rank)
                })
                .collect()
        })
        .collect();
    let problem = Problem {
        k,
        near: weights
            .iter()
            .map(|r| (0..n).filter(|u| r[*u] > 0.0).collect())
            .collect(),
        strong: pair
            .iter()
            .map(|r| r.iter().map(|s| *s > CONTENTION_DBM).collect())
            .collect(),
        overlap: options
            .iter()
            .map(|a| options.iter().map(|b| overlap(a.span, b.span)).collect())
            .collect(),
        weight: weights,
        tie,
    };
    let mut assign = problem.colour();
    problem.improve(&mut assign);

    let current: Vec<Option<(f64, f64)>> = radios
        .iter()
        .map(|r| {
            let c = r.channel?;
            span(band, &channel_group(band, c, r.width_mhz.unwrap_or(20)))
        })
        .collect();
    let chosen: Vec<&Choice> = assign.iter().map(|a| &options[a.unwrap_or(0)]).collect();
    let planned: Vec<Option<(f64, f64)>> = chosen.iter().map(|c| Some(c.span)).collect();
    let before = conflicts(&current, &pair);
    let after = conflicts(&planned, &pair);

    let unknown = radios.iter().filter(|r| r.channel.is_none()).count();
    if unknown > 0 {
        notes.push(format!(
            "{unknown} radio(s) have no known channel and are left out of the current conflicts"
        ));
    }
    if after.pairs_above_82 > 0 {
        let mut help = Vec::new();
        if band == Band::B5g && !opts.allow_dfs && !opts.regulatory.dfs_5g.is_empty() {
            help.push("allowing DFS channels");
        }
        if width > 20 {
            help.push("a narrower width");
        }
        let help = if help.is_empty() {
            String::from("fewer radios on this band or lower power would")
        } else {
            format!("{} would", help.join(" or "))
        };
        notes.push(format!(
            "{} pair(s) still share a channel above -82 dBm with {k} channel group(s); {help} help",
            after.pairs_above_82
        ));
    }

    let entries = radios
        .iter()
        .zip(&chosen)
        .map(|(r, c)| PlanEntry {
            ap: r.ap.clone(),
            current_channel: r.channel,
            current_width: r.width_mhz,
            channel: c.primary,
            width,
            changed: r.channel != Some(c.primary) || r.width_mhz.is_some_and(|w| w != width),
        })
        .collect();
    Ok(ChannelPlan {
        band,
        width_mhz: width,
        region: opts.regulatory.name,
        entries,
        before,
        after,
        notes,
    })
}

/// The plan as CSV, one row per radio; an unknown current channel is an
/// empty field.
pub fn plan_csv(plan: &ChannelPlan) -> String {
    let mut out = String::from("ap,band,current_channel,suggested_channel,width_mhz,changed\n");
    for e in &plan.entries {
        let current = e.current_channel.map(|c| c.to_string()).unwrap_or_default();
        out.push_str(&csv_line(&[
            &e.ap,
            band_label(plan.band),
            &current,
            &e.channel.to_string(),
            &e.width.to_string(),
            if e.changed { "true" } else { "false" },
        ]));
    }
    out
}

/// Transmit power bounds and step (dBm, dB).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLimits {
    pub min_dbm: f64,
    pub max_dbm: f64,
    pub step_db: f64,
}

impl PowerLimits {
    /// 5–23 dBm at 2.4 GHz, 5–26 dBm at 5 and 6 GHz, in 1 dB steps.
    pub fn for_band(band: Band) -> PowerLimits {
        PowerLimits {
            min_dbm: 5.0,
            max_dbm: if band == Band::B2g4 { 23.0 } else { 26.0 },
            step_db: 1.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerOptions {
    /// The signal wanted at the cell edge (dBm).
    pub target_dbm: f64,
    /// The cell edge as a share of the distance to the nearest neighbour.
    pub edge_share: f64,
    pub limits: PowerLimits,
}

impl PowerOptions {
    /// −67 dBm at 0.6 × the neighbour distance, the band's limits.
    pub fn for_band(band: Band) -> PowerOptions {
        PowerOptions {
            target_dbm: -67.0,
            edge_share: 0.6,
            limits: PowerLimits::for_band(band),
        }
    }
}

/// One AP's radio: its placed transmitter (its `tx_power_dbm` is not
/// used) and the power it reports, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerInput {
    pub ap: String,
    pub transmitter: Transmitter,
    pub current_dbm: Option<f64>,
}

/// Why a power was suggested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PowerRule {
    /// The target at the cell edge.
    Edge,
    /// The edge rule wanted less than the minimum.
    Min,
    /// The edge rule wanted more than the maximum.
    Max,
    /// No other AP on the floor: the maximum.
    NoNeighbour,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PowerSuggestion {
    pub ap: String,
    pub current_dbm: Option<f64>,
    pub suggested_dbm: f64,
    /// Horizontal distance from the AP to its cell edge (m); None without
    /// a neighbour on the floor.
    pub edge_m: Option<f64>,
    pub rule: PowerRule,
}

/// A transmit power per AP, by the cell-edge rule: the edge is
/// `edge_share` (0.6) of the horizontal distance to the nearest other AP
/// on the same level (the first listed on a tie), on the straight line
/// towards it, so that two neighbouring cells of 0.6·d each overlap by
/// 0.2·d, about 20 %. The power is the one that gives `target_dbm` (−67)
/// there by the model ([`received_dbm`]: the AP's frequency, antenna gain
/// and height, the receiver at `params.receiver_height_m`, the exponent
/// `params.n`, and the `walls` the straight line to the edge crosses),
/// rounded to the step and held within the limits. Pass `&[]` as walls
/// for the open-space rule, or one floor's walls with that floor's APs.
/// An AP alone on its level gets the maximum.
pub fn suggest_power(
    radios: &[PowerInput],
    walls: &[Wall],
    band: Band,
    params: &Params,
    opts: &PowerOptions,
) -> Vec<PowerSuggestion> {
    let lim = opts.limits;
    radios
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let t = &r.transmitter;
            let nearest = radios
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.transmitter.level == t.level)
                .map(|(_, o)| {
                    let (dx, dy) = (o.transmitter.x - t.x, o.transmitter.y - t.y);
                    (dx.hypot(dy), (dx, dy))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let (suggested_dbm, edge_m, rule) = match nearest {
                None => (lim.max_dbm, None, PowerRule::NoNeighbour),
                Some((d, (dx, dy))) => {
                    let s = opts.edge_share;
                    let edge = (t.x + s * dx, t.y + s * dy);
                    let unit = Transmitter {
                        tx_power_dbm: 0.0,
                        ..t.clone()
                    };
                    let at_zero = received_dbm(&unit, t.level, edge, walls, band, params);
                    let raw = opts.target_dbm - at_zero;
                    let rounded = if lim.step_db > 0.0 {
                        (raw / lim.step_db).round() * lim.step_db
                    } else {
                        raw
                    };
                    let (p, rule) = if rounded > lim.max_dbm {
                        (lim.max_dbm, PowerRule::Max)
                    } else if rounded < lim.min_dbm {
                        (lim.min_dbm, PowerRule::Min)
                    } else {
                        (rounded, PowerRule::Edge)
                    };
                    (p, Some(s * d), rule)
                }
            };
            PowerSuggestion {
                ap: r.ap.clone(),
                current_dbm: r.current_dbm,
                suggested_dbm,
                edge_m,
                rule,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AP at 1 m height with 0 dBm EIRP: at 2.4 GHz (N 30) its
    /// signal is −39.74 − 30·log10(d), −82 dBm at about 25.6 m.
    fn tx(x: f64, y: f64, level: i32, band: Band) -> Transmitter {
        Transmitter {
            level,
            x,
            y,
            z: 1.0,
            tx_power_dbm: 0.0,
            antenna_gain_dbi: 0.0,
            freq_mhz: band.default_mhz(),
            channel: None,
            noise_dbm: None,
        }
    }

    fn radios(n: usize, channel: Option<i64>) -> Vec<Radio> {
        (0..n)
            .map(|i| Radio {
                ap: format!("ap-{i}"),
                channel,
                width_mhz: None,
            })
            .collect()
    }

    /// Two rows of equilateral triangles, side 20 m: each AP hears its
    /// 20 m neighbours above −82 dBm and nothing else (≥ 34.6 m) does;
    /// the triangles need three channels, and three suffice.
    fn triangle_strip(band: Band) -> Vec<Transmitter> {
        let h = 20.0 * 3f64.sqrt() / 2.0;
        let mut out = Vec::new();
        for i in 0..3 {
            out.push(tx(20.0 * i as f64, 0.0, 0, band));
            out.push(tx(10.0 + 20.0 * i as f64, h, 0, band));
        }
        out
    }

    fn grid_3x3(band: Band) -> Vec<Transmitter> {
        (0..9)
            .map(|i| tx(20.0 * (i % 3) as f64, 20.0 * (i / 3) as f64, 0, band))
            .collect()
    }

    /// Every pair heard at `s`.
    fn clique(n: usize, s: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|a| {
                (0..n)
                    .map(|b| if a == b { f64::NEG_INFINITY } else { s })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn ap_to_ap_matrix_is_the_model_with_the_receiver_at_the_ap() {
        let p = Params::office(Band::B2g4);
        let mut aps = vec![tx(0.0, 0.0, 0, Band::B2g4), tx(10.0, 0.0, 0, Band::B2g4)];
        aps[0].z = 3.0;
        aps[1].tx_power_dbm = 20.0;
        let wall = Wall {
            x1: 5.0,
            y1: -5.0,
            x2: 5.0,
            y2: 5.0,
            loss_db: [12.0, 15.0, 17.0],
        };
        let s = ap_to_ap_dbm(&aps, &[wall], Band::B2g4, &p);
        assert_eq!(s[0][0], f64::NEG_INFINITY);
        let at0 = Params {
            receiver_height_m: 3.0,
            ..p
        };
        let want = received_dbm(&aps[1], 0, (0.0, 0.0), &[wall], Band::B2g4, &at0);
        assert!((s[0][1] - want).abs() < 1e-12);
        // By hand: 20 dBm − (39.74 + 30·log10(√(100 + 4))) − 12 dB.
        let d = 104f64.sqrt();
        let by_hand = 20.0 - (20.0 * 2437f64.log10() + 30.0 * d.log10() - 28.0) - 12.0;
        assert!((s[0][1] - by_hand).abs() < 1e-9, "{}", s[0][1]);
        // The other direction: 0 dBm, same path.
        assert!((s[1][0] - (s[0][1] - 20.0)).abs() < 1e-9);
    }

    #[test]
    fn three_channels_clear_every_pair_above_82_where_three_suffice() {
        let p = Params::office(Band::B2g4);
        for aps in [triangle_strip(Band::B2g4), grid_3x3(Band::B2g4)] {
            let s = ap_to_ap_dbm(&aps, &[], Band::B2g4, &p);
            let plan = plan_channels(
                Band::B2g4,
                &radios(aps.len(), Some(6)),
                &s,
                &PlanOptions::default(),
            )
            .unwrap();
            assert!(plan.before.pairs_above_82 > 0, "{plan:?}");
            assert_eq!(plan.after.pairs_above_82, 0, "{plan:?}");
            assert!(plan.after.worst_pair_dbm.is_none_or(|w| w <= -82.0));
            assert!(plan
                .entries
                .iter()
                .all(|e| [1, 6, 11].contains(&e.channel) && e.width == 20));
            // Unchanged radios stay on 6, and say so.
            for e in &plan.entries {
                assert_eq!(e.changed, e.channel != 6);
            }
            assert!(plan.entries.iter().any(|e| !e.changed));
            assert!(plan.notes.is_empty(), "{:?}", plan.notes);
        }
    }

    #[test]
    fn five_ghz_without_dfs_uses_non_dfs_and_with_dfs_may_use_52_to_64() {
        // 13 radios all hearing each other: china has 9 non-DFS channels,
        // 13 with 52-64.
        let s = clique(13, -60.0);
        let rs = radios(13, Some(36));
        let off = plan_channels(Band::B5g, &rs, &s, &PlanOptions::default()).unwrap();
        let non_dfs = Regulatory::china().non_dfs_5g;
        assert!(off.entries.iter().all(|e| non_dfs.contains(&e.channel)));
        // 13 on 9 channels: 4 pairs share.
        assert_eq!(off.after.pairs_above_82, 4, "{off:?}");
        assert_eq!(off.before.pairs_above_82, 13 * 12 / 2);
        assert!(
            off.notes.iter().any(|n| n.contains("DFS")),
            "{:?}",
            off.notes
        );

        let on = PlanOptions {
            allow_dfs: true,
            ..PlanOptions::default()
        };
        let plan = plan_channels(Band::B5g, &rs, &s, &on).unwrap();
        assert_eq!(plan.after.pairs_above_82, 0, "{plan:?}");
        let mut used: Vec<i64> = plan.entries.iter().map(|e| e.channel).collect();
        used.sort_unstable();
        assert_eq!(
            used,
            [36, 40, 44, 48, 52, 56, 60, 64, 149, 153, 157, 161, 165]
        );
        // Fewer radios than non-DFS channels: DFS is not needed, not used.
        let few = plan_channels(Band::B5g, &radios(5, None), &clique(5, -60.0), &on).unwrap();
        assert!(few.entries.iter().all(|e| non_dfs.contains(&e.channel)));
        // FCC with DFS reaches 100-144; china never does.
        let fcc = PlanOptions {
            allow_dfs: true,
            regulatory: Regulatory::fcc(),
            ..PlanOptions::default()
        };
        let big = plan_channels(Band::B5g, &radios(25, None), &clique(25, -60.0), &fcc).unwrap();
        assert_eq!(big.after.pairs_above_82, 0);
        assert!(big.entries.iter().any(|e| (100..=144).contains(&e.channel)));
        let cn = plan_channels(Band::B5g, &radios(25, None), &clique(25, -60.0), &on).unwrap();
        assert!(cn.entries.iter().all(|e| !(100..=144).contains(&e.channel)));
    }

    #[test]
    fn eighty_mhz_groups_never_overlap_between_conflicting_pairs() {
        let p = Params::office(Band::B5g);
        // At 5 GHz (N 31, 5180 MHz) 0 dBm is −82 dBm at about 19 m: use
        // 6 dBm EIRP so the 20 m neighbours hear each other above it.
        let mut aps = triangle_strip(Band::B5g);
        for t in &mut aps {
            t.tx_power_dbm = 6.0;
        }
        let s = ap_to_ap_dbm(&aps, &[], Band::B5g, &p);
        let opts = PlanOptions {
            width_mhz: 80,
            allow_dfs: true,
            ..PlanOptions::default()
        };
        let plan = plan_channels(Band::B5g, &radios(6, Some(36)), &s, &opts).unwrap();
        assert_eq!(plan.width_mhz, 80);
        assert!(plan.before.pairs_above_82 > 0);
        assert_eq!(plan.after.pairs_above_82, 0, "{plan:?}");
        for e in &plan.entries {
            assert!([36, 52, 149].contains(&e.channel), "{e:?}");
            assert_eq!(e.width, 80);
        }
        for (a, row) in s.iter().enumerate() {
            for (b, heard) in row.iter().enumerate() {
                if a == b || heard.max(s[b][a]) <= -82.0 {
                    continue;
                }
                let ga = channel_group(Band::B5g, plan.entries[a].channel, 80);
                let gb = channel_group(Band::B5g, plan.entries[b].channel, 80);
                assert!(ga.iter().all(|c| !gb.contains(c)), "{a} {b}: {ga:?} {gb:?}");
            }
        }
        // Without DFS only two 80 MHz groups: conflicts remain, and the
        // note says what would help.
        let two = PlanOptions {
            allow_dfs: false,
            ..opts
        };
        let plan = plan_channels(Band::B5g, &radios(6, Some(36)), &s, &two).unwrap();
        assert!(plan.entries.iter().all(|e| [36, 149].contains(&e.channel)));
        assert!(plan.after.pairs_above_82 > 0);
        assert!(plan.notes.iter().any(|n| n.contains("narrower")));
    }

    #[test]
    fn forty_mhz_on_2g4_falls_back_to_20_with_a_note() {
        let s = clique(3, -60.0);
        let opts = PlanOptions {
            width_mhz: 40,
            ..PlanOptions::default()
        };
        let plan = plan_channels(Band::B2g4, &radios(3, Some(6)), &s, &opts).unwrap();
        assert_eq!(plan.width_mhz, 20);
        assert!(plan.entries.iter().all(|e| e.width == 20));
        assert!(
            plan.notes.iter().any(|n| n.contains("20 MHz")),
            "{:?}",
            plan.notes
        );
        let mut used: Vec<i64> = plan.entries.iter().map(|e| e.channel).collect();
        used.sort_unstable();
        assert_eq!(used, [1, 6, 11]);
    }

    #[test]
    fn same_input_gives_the_same_plan() {
        // 30 APs scattered by a fixed pattern over two floors, with walls.
        let band = Band::B5g;
        let aps: Vec<Transmitter> = (0..30)
            .map(|i| {
                let x = ((i * 37) % 61) as f64;
                let y = ((i * 23) % 41) as f64;
                let mut t = tx(x, y, i % 2, band);
                t.tx_power_dbm = 15.0;
                t
            })
            .collect();
        let wall = Wall {
            x1: 30.0,
            y1: 0.0,
            x2: 30.0,
            y2: 40.0,
            loss_db: [12.0, 15.0, 17.0],
        };
        let s = ap_to_ap_dbm(&aps, &[wall], band, &Params::office(band));
        let rs: Vec<Radio> = (0..30)
            .map(|i| Radio {
                ap: format!("ap-{i}"),
                channel: Some([36, 149, 52][i % 3]),
                width_mhz: Some(40),
            })
            .collect();
        let opts = PlanOptions {
            width_mhz: 40,
            allow_dfs: true,
            ..PlanOptions::default()
        };
        let one = plan_channels(band, &rs, &s, &opts).unwrap();
        let two = plan_channels(band, &rs, &s, &opts).unwrap();
        assert_eq!(one, two);
        assert_eq!(plan_csv(&one), plan_csv(&two));
        assert!(one.after.pairs_above_82 <= one.before.pairs_above_82);
    }

    #[test]
    fn six_ghz_prefers_psc_and_china_has_no_6ghz() {
        let opts = PlanOptions {
            regulatory: Regulatory::fcc(),
            ..PlanOptions::default()
        };
        let plan = plan_channels(Band::B6g, &radios(4, None), &clique(4, -60.0), &opts).unwrap();
        assert!(plan.entries.iter().all(|e| is_psc(e.channel)), "{plan:?}");
        let wide = PlanOptions {
            width_mhz: 80,
            ..opts.clone()
        };
        let plan = plan_channels(Band::B6g, &radios(4, None), &clique(4, -60.0), &wide).unwrap();
        assert_eq!(plan.after.pairs_above_82, 0);
        assert!(plan.entries.iter().all(|e| is_psc(e.channel)), "{plan:?}");
        assert_eq!(channel_group(Band::B6g, 21, 80), [17, 21, 25, 29]);
        assert_eq!(channel_group(Band::B5g, 157, 40), [157, 161]);
        assert_eq!(channel_group(Band::B5g, 60, 80), [52, 56, 60, 64]);
        let err = plan_channels(
            Band::B6g,
            &radios(2, None),
            &clique(2, -60.0),
            &PlanOptions::default(),
        );
        assert_eq!(
            err,
            Err(PlanError::NoChannels {
                band: "6",
                region: "china"
            })
        );
        let bad = plan_channels(
            Band::B5g,
            &radios(3, None),
            &clique(2, -60.0),
            &PlanOptions::default(),
        );
        assert_eq!(bad, Err(PlanError::Matrix { radios: 3 }));
    }

    #[test]
    fn power_hits_minus_67_at_the_edge_within_1_db_unless_clamped() {
        for band in Band::ALL {
            let p = Params::office(band);
            let opts = PowerOptions::for_band(band);
            // Neighbours 2 m (too close: minimum), 12 m, 30 m and 200 m
            // (too far: maximum) apart; one AP alone upstairs.
            let xs = [0.0, 2.0, 14.0, 44.0, 244.0];
            let mut inputs: Vec<PowerInput> = xs
                .iter()
                .enumerate()
                .map(|(i, x)| PowerInput {
                    ap: format!("ap-{i}"),
                    transmitter: Transmitter {
                        antenna_gain_dbi: 4.0,
                        ..tx(*x, 0.0, 0, band)
                    },
                    current_dbm: Some(20.0),
                })
                .collect();
            inputs.push(PowerInput {
                ap: "alone".into(),
                transmitter: tx(0.0, 0.0, 1, band),
                current_dbm: None,
            });
            // Between AP 3 (x 44) and its cell edge (x 26).
            let wall = Wall {
                x1: 30.0,
                y1: -5.0,
                x2: 30.0,
                y2: 5.0,
                loss_db: [3.0, 4.0, 5.0],
            };
            for walls in [&[][..], &[wall][..]] {
                let out = suggest_power(&inputs, walls, band, &p, &opts);
                assert_eq!(out.len(), 6);
                let rules: Vec<PowerRule> = out.iter().map(|s| s.rule).collect();
                assert_eq!(rules[0], PowerRule::Min, "{band:?} {out:?}");
                assert_eq!(rules[1], PowerRule::Min);
                assert_eq!(rules[4], PowerRule::Max);
                assert_eq!(rules[5], PowerRule::NoNeighbour);
                assert_eq!(out[5].edge_m, None);
                assert_eq!(out[5].suggested_dbm, opts.limits.max_dbm);
                assert_eq!(out[4].edge_m, Some(0.6 * 200.0));
                for (s, i) in out.iter().zip(&inputs) {
                    let lim = opts.limits;
                    assert!(s.suggested_dbm >= lim.min_dbm && s.suggested_dbm <= lim.max_dbm);
                    assert_eq!(s.suggested_dbm, s.suggested_dbm.round());
                    assert_eq!(s.current_dbm, i.current_dbm);
                    if s.rule != PowerRule::Edge {
                        continue;
                    }
                    let t = &i.transmitter;
                    let near = inputs
                        .iter()
                        .filter(|o| o.ap != i.ap && o.transmitter.level == t.level)
                        .map(|o| o.transmitter.x)
                        .min_by(|a, b| (a - t.x).abs().total_cmp(&(b - t.x).abs()))
                        .unwrap();
                    let edge = (t.x + 0.6 * (near - t.x), 0.0);
                    assert!((s.edge_m.unwrap() - 0.6 * (near - t.x).abs()).abs() < 1e-9);
                    let at = Transmitter {
                        tx_power_dbm: s.suggested_dbm,
                        ..t.clone()
                    };
                    let got = received_dbm(&at, t.level, edge, walls, band, &p);
                    assert!((got + 67.0).abs() <= 1.0, "{band:?} {s:?}: {got}");
                }
                assert!(rules.contains(&PowerRule::Edge), "{band:?} {out:?}");
            }
            // The wall between AP 3 (x 44) and its neighbour (x 14) raises
            // its power by the wall's loss, within the rounding.
            let open = suggest_power(&inputs, &[], band, &p, &opts);
            let walled = suggest_power(&inputs, &[wall], band, &p, &opts);
            let rise = walled[3].suggested_dbm - open[3].suggested_dbm;
            assert!(
                (rise - wall.loss_db[band.index()]).abs() <= 1.0,
                "{band:?}: {rise}"
            );
        }
    }

    #[test]
    fn csv_has_the_header_and_a_row_per_radio() {
        let s = clique(2, -60.0);
        let rs = vec![
            Radio {
                ap: "lobby".into(),
                channel: Some(6),
                width_mhz: Some(20),
            },
            Radio {
                ap: "=cmd, \"x\"".into(),
                channel: None,
                width_mhz: None,
            },
        ];
        let plan = plan_channels(Band::B2g4, &rs, &s, &PlanOptions::default()).unwrap();
        let csv = plan_csv(&plan);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "ap,band,current_channel,suggested_channel,width_mhz,changed"
        );
        assert_eq!(lines[1], "lobby,2.4,6,6,20,false");
        assert_eq!(lines[2], "\"'=cmd, \"\"x\"\"\",2.4,,1,20,true");
        assert_eq!(lines.len(), 3);
    }
}
