//! Coverage of a stored floor: reads its walls, areas and the APs placed
//! in its building (their radios' channel, power and noise from the last
//! poll), predicts the three bands, and answers the API's and the
//! dashboard's questions (values, heatmap PNG, KPIs and holes, rooms,
//! channel plan). Prediction is CPU work: callers run [`compute`] on a
//! blocking thread.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::calibrate::MaterialFit;
pub use super::kpi::{Hole, Kpi, Targets};
pub use super::model::Band;
use super::model::{
    material, predict_bands, received_dbm, Grid, Params, Prediction, Transmitter, Wall,
};
use super::plan::{self, ChannelPlan, PlanOptions, PowerInput, PowerOptions, Radio, Regulatory};
use super::{calibrate, kpi};
use crate::config::CoverageConfig;
use crate::store::floors::{AreaKind, Floor, FloorWall, PlacedAp};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// Transmit power assumed for a band when neither the AP's last poll nor
/// its placement gives one (dBm): typical enterprise defaults.
pub const ASSUMED_TX_DBM: [f64; 3] = [17.0, 20.0, 20.0];

/// Neighbour reports older than this (a day) are not used to calibrate.
pub const NEIGHBOUR_WINDOW_MS: i64 = 86_400_000;

/// How far back a room's peak clients are looked for (7 days).
pub const PEAK_WINDOW_MS: i64 = 7 * 86_400_000;

/// The labels of the bands, as the API spells them.
pub const BAND_LABELS: [&str; 3] = ["2.4", "5", "6"];

pub fn band_label(b: Band) -> &'static str {
    BAND_LABELS[b.index()]
}

/// A material's losses: the building's own, else the default table.
pub fn material_loss(name: &str, building: &BTreeMap<String, [f64; 3]>) -> Option<[f64; 3]> {
    building
        .get(name)
        .copied()
        .or_else(|| material(name).map(|m| m.loss_db))
}

/// Checks the materials of walls against the building's and the default
/// table (or `custom` with its own losses).
pub fn check_materials(
    walls: &[FloorWall],
    building: &BTreeMap<String, [f64; 3]>,
) -> Result<(), CoverageError> {
    for (n, w) in walls.iter().enumerate() {
        if w.loss_db.is_none() && material_loss(&w.material, building).is_none() {
            return Err(CoverageError::Invalid(format!(
                "wall {}: unknown material {:?} (drywall, glass, wood, brick, concrete, metal, \
                 elevator-shaft, the building's own, or custom with loss_db)",
                n + 1,
                w.material
            )));
        }
    }
    Ok(())
}

/// One AP's radio in one band as the model uses it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RadioUse {
    pub channel: Option<i64>,
    pub tx_power_dbm: f64,
    /// Where the power came from: `placement`, `snmp` or `assumed`.
    pub power_from: &'static str,
    pub noise_dbm: Option<f64>,
}

/// An AP placed in the building, with what the model knows of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Site {
    pub ap: String,
    /// The AP's MAC (inventory), for neighbour reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    pub floor: i64,
    pub level: i64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub antenna_gain_dbi: f64,
    pub status: String,
    pub clients: Option<i64>,
    /// Most clients at one poll over the last 7 days (all radios).
    pub peak_clients: Option<i64>,
    /// Per band (`"2.4"`, `"5"`, `"6"`).
    pub radios: BTreeMap<&'static str, RadioUse>,
}

/// Everything one floor's prediction needs, read from the store.
#[derive(Clone, Debug)]
pub struct FloorModel {
    pub floor: Floor,
    pub grid: Grid,
    pub sites: Vec<Site>,
    pub walls: Vec<Wall>,
    pub params: [Params; 3],
    /// Cells that count (inside the outline, outside excluded zones).
    pub counted: Vec<bool>,
    pub targets: Targets,
}

/// The band of a polled radio: by its channel (2.4 GHz 1-14, 5 GHz
/// 32-177) unless its name says 6 GHz.
fn radio_band(name: &str, channel: Option<i64>) -> Option<Band> {
    let lower = name.to_ascii_lowercase();
    if lower.contains("6g") || lower.contains("6 ghz") {
        return Some(Band::B6g);
    }
    match channel? {
        1..=14 => Some(Band::B2g4),
        32..=177 => Some(Band::B5g),
        _ => None,
    }
}

/// Reads a floor and the APs of its building.
pub async fn load(
    store: &Store,
    cfg: &CoverageConfig,
    floor_id: i64,
) -> Result<FloorModel, CoverageError> {
    let floor = store
        .floors()
        .get(floor_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("floor {floor_id}")))?;
    let levels = store.floors().levels(floor.building_id).await?;
    let placed: Vec<PlacedAp> = store
        .floors()
        .placements_in_building(floor.building_id)
        .await?;
    let mut sites = Vec::with_capacity(placed.len());
    for p in placed {
        let ap = store.aps().get(&p.ap).await?;
        let polled = store.samples().latest_radios(p.ap_id).await?;
        let mut radios = BTreeMap::new();
        for r in &polled {
            let Some(band) = radio_band(&r.radio, r.channel) else {
                continue;
            };
            let label = band_label(band);
            if radios.contains_key(label) {
                continue;
            }
            let (power, from) = match (p.placement.tx_power_dbm.get(label), r.tx_power) {
                (Some(v), _) => (*v, "placement"),
                (None, Some(v)) => (v as f64, "snmp"),
                (None, None) => (ASSUMED_TX_DBM[band.index()], "assumed"),
            };
            radios.insert(
                label,
                RadioUse {
                    channel: r.channel,
                    tx_power_dbm: power,
                    power_from: from,
                    noise_dbm: r.noise.map(|n| n as f64),
                },
            );
        }
        // Nothing polled yet: the bands the placement names, else 2.4 and
        // 5 GHz at the assumed powers.
        if radios.is_empty() {
            let bands: Vec<Band> = if p.placement.tx_power_dbm.is_empty() {
                vec![Band::B2g4, Band::B5g]
            } else {
                p.placement
                    .tx_power_dbm
                    .keys()
                    .filter_map(|b| Band::parse(b))
                    .collect()
            };
            for band in bands {
                let label = band_label(band);
                let (power, from) = match p.placement.tx_power_dbm.get(label) {
                    Some(v) => (*v, "placement"),
                    None => (ASSUMED_TX_DBM[band.index()], "assumed"),
                };
                radios.insert(
                    label,
                    RadioUse {
                        channel: None,
                        tx_power_dbm: power,
                        power_from: from,
                        noise_dbm: None,
                    },
                );
            }
        }
        let week_ago = crate::clock::now_ms() - PEAK_WINDOW_MS;
        let mut per_poll: BTreeMap<i64, i64> = BTreeMap::new();
        for point in store.samples().radios(p.ap_id, week_ago).await? {
            if let Some(c) = point.sample.clients {
                *per_poll.entry(point.at_ms).or_default() += c;
            }
        }
        let peak_clients = per_poll.values().copied().max();
        sites.push(Site {
            ap: p.ap.clone(),
            mac: ap.as_ref().and_then(|a| a.spec.mac.clone()),
            floor: p.placement.floor,
            level: levels
                .get(&p.placement.floor)
                .copied()
                .unwrap_or(floor.level),
            x: p.placement.x,
            y: p.placement.y,
            z: p.placement.z,
            antenna_gain_dbi: p.placement.antenna_gain_dbi,
            status: ap.as_ref().map_or("unknown".into(), |a| a.status.clone()),
            clients: ap.as_ref().and_then(|a| a.clients),
            peak_clients,
            radios,
        });
    }
    Ok(model_of(floor, sites, cfg))
}

/// The floor's grid, walls, parameters and counted cells (pure).
pub fn model_of(floor: Floor, sites: Vec<Site>, cfg: &CoverageConfig) -> FloorModel {
    let res = cfg.resolution;
    let grid = Grid {
        origin_x: 0.0,
        origin_y: 0.0,
        width: ((floor.width_m / res).ceil() as usize).max(1),
        height: ((floor.height_m / res).ceil() as usize).max(1),
        resolution_m: res,
    };
    let walls = floor
        .walls
        .iter()
        .filter_map(|w| {
            let loss_db = match w.loss_db {
                Some(custom) => custom,
                // A material's loss, times the factor calibration fitted
                // for it on this floor (per band), if any.
                None => {
                    let table = material_loss(&w.material, &floor.materials)?;
                    let mut scaled = table;
                    for b in Band::ALL {
                        let key = format!("{}/{}", band_label(b), w.material);
                        if let Some(f) = floor.calibration.as_ref().and_then(|c| c.get(&key)) {
                            scaled[b.index()] = table[b.index()] * f;
                        }
                    }
                    scaled
                }
            };
            Some(Wall {
                x1: w.x1,
                y1: w.y1,
                x2: w.x2,
                y2: w.y2,
                loss_db,
            })
        })
        .collect();
    let params = Band::ALL.map(|b| {
        let mut p = Params::office(b);
        p.receiver_height_m = cfg.receiver_height;
        p.floor_height_m = floor.storey_height_m;
        if let Some(n) = floor
            .calibration
            .as_ref()
            .and_then(|c| c.get(band_label(b)))
        {
            p.n = *n;
        }
        p
    });
    let outline: Vec<(f64, f64)> = floor
        .areas
        .iter()
        .find(|a| a.kind == AreaKind::Outline)
        .map(|a| a.points.clone())
        .unwrap_or_default();
    let excluded: Vec<Vec<(f64, f64)>> = floor
        .areas
        .iter()
        .filter(|a| a.kind == AreaKind::Excluded)
        .map(|a| a.points.clone())
        .collect();
    let counted = kpi::mask(&grid, &outline, &excluded);
    FloorModel {
        floor,
        grid,
        sites,
        walls,
        params,
        counted,
        targets: Targets {
            signal_dbm: cfg.target_dbm,
            snr_db: 25.0,
            hole_min_area_m2: cfg.hole_min_area,
        },
    }
}

/// The transmitters of one band, and the site each came from.
fn transmitters(m: &FloorModel, band: Band) -> (Vec<Transmitter>, Vec<usize>) {
    let label = band_label(band);
    let mut out = Vec::new();
    let mut from = Vec::new();
    for (k, s) in m.sites.iter().enumerate() {
        let Some(r) = s.radios.get(label) else {
            continue;
        };
        out.push(Transmitter {
            level: s.level as i32,
            x: s.x,
            y: s.y,
            z: s.z,
            tx_power_dbm: r.tx_power_dbm,
            antenna_gain_dbi: s.antenna_gain_dbi,
            freq_mhz: r
                .channel
                .and_then(|c| band.channel_mhz(c))
                .unwrap_or(band.default_mhz()),
            channel: r.channel,
            noise_dbm: r.noise_dbm,
        });
        from.push(k);
    }
    (out, from)
}

/// A floor's prediction in the three bands.
#[derive(Clone, Debug)]
pub struct FloorCoverage {
    pub model: FloorModel,
    pub bands: [Prediction; 3],
    /// Per band, the site index of each transmitter (`best_ap` indexes it).
    pub sites_of: [Vec<usize>; 3],
}

/// Predicts the floor (CPU: run on a blocking thread).
pub fn compute(model: FloorModel) -> FloorCoverage {
    let lists = Band::ALL.map(|b| transmitters(&model, b));
    let bands = predict_bands(
        &model.grid,
        model.floor.level as i32,
        [&lists[0].0, &lists[1].0, &lists[2].0],
        &model.walls,
        &model.params,
    );
    let [(_, a), (_, b), (_, c)] = lists;
    FloorCoverage {
        model,
        bands,
        sites_of: [a, b, c],
    }
}

/// What a map shows per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Rssi,
    Second,
    Snr,
    Contention,
    /// The serving AP (its index among the sites).
    Ap,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "rssi" | "signal" => Some(Metric::Rssi),
            "second" => Some(Metric::Second),
            "snr" => Some(Metric::Snr),
            "contention" => Some(Metric::Contention),
            "ap" | "serving" => Some(Metric::Ap),
            _ => None,
        }
    }
}

impl FloorCoverage {
    /// Row-major values of a metric, `None` outside the counted area or
    /// where nothing is heard.
    pub fn values(&self, band: Band, metric: Metric) -> Vec<Option<f64>> {
        let p = &self.bands[band.index()];
        let sites = &self.sites_of[band.index()];
        (0..self.model.grid.cells())
            .map(|at| {
                if !self.model.counted.get(at).copied().unwrap_or(false) {
                    return None;
                }
                let heard = p.best_ap.get(at).copied().flatten()?;
                let round = |v: f64| (v * 100.0).round() / 100.0;
                match metric {
                    Metric::Rssi => p.best_dbm.get(at).map(|v| round(*v)),
                    Metric::Second => p.second_dbm.get(at).copied().flatten().map(round),
                    Metric::Snr => p.snr_db.get(at).map(|v| round(*v)),
                    Metric::Contention => p.contention.get(at).map(|c| f64::from(*c)),
                    Metric::Ap => sites.get(heard).map(|s| *s as f64),
                }
            })
            .collect()
    }

    pub fn kpi(&self, band: Band) -> Kpi {
        kpi::kpi(
            &self.model.grid,
            &self.bands[band.index()],
            &self.model.counted,
            &self.model.targets,
        )
    }

    pub fn holes(&self, band: Band) -> Vec<Hole> {
        kpi::holes(
            &self.model.grid,
            &self.bands[band.index()].best_dbm,
            &self.model.counted,
            &self.model.targets,
        )
    }

    /// Bands that have at least one transmitter.
    pub fn bands_present(&self) -> Vec<Band> {
        Band::ALL
            .into_iter()
            .filter(|b| !self.sites_of[b.index()].is_empty())
            .collect()
    }

    /// KPIs per room (rooms with seats are meeting rooms).
    pub fn rooms(&self) -> Vec<RoomReport> {
        let m = &self.model;
        m.floor
            .areas
            .iter()
            .filter(|a| a.kind == AreaKind::Room)
            .map(|room| {
                let inside = kpi::mask(&m.grid, &room.points, &[]);
                let counted: Vec<bool> = inside
                    .iter()
                    .zip(&m.counted)
                    .map(|(a, b)| *a && *b)
                    .collect();
                let bands = self
                    .bands_present()
                    .into_iter()
                    .map(|b| {
                        (
                            band_label(b),
                            kpi::kpi(&m.grid, &self.bands[b.index()], &counted, &m.targets),
                        )
                    })
                    .collect();
                // APs inside the room.
                let aps: Vec<String> = m
                    .sites
                    .iter()
                    .filter(|s| {
                        s.floor == m.floor.id && kpi::point_in_polygon((s.x, s.y), &room.points)
                    })
                    .map(|s| s.ap.clone())
                    .collect();
                let clients: Option<i64> = m
                    .sites
                    .iter()
                    .filter(|s| aps.contains(&s.ap))
                    .map(|s| s.clients)
                    .sum();
                let peak_clients: Option<i64> = m
                    .sites
                    .iter()
                    .filter(|s| aps.contains(&s.ap))
                    .filter_map(|s| s.peak_clients)
                    .reduce(|a, b| a + b);
                let hint = room
                    .seats
                    .and_then(|seats| room_hint(seats, peak_clients, aps.len()));
                RoomReport {
                    name: room.name.clone(),
                    seats: room.seats,
                    aps,
                    clients_now: clients,
                    peak_clients,
                    bands,
                    hint,
                }
            })
            .collect()
    }

    /// The KPI document of the floor (per band: KPI and holes; rooms).
    pub fn report(&self) -> KpiReport {
        KpiReport {
            floor: self.model.floor.id,
            target_dbm: self.model.targets.signal_dbm,
            hole_min_area_m2: self.model.targets.hole_min_area_m2,
            bands: self
                .bands_present()
                .into_iter()
                .map(|b| {
                    (
                        band_label(b),
                        BandReport {
                            kpi: self.kpi(b),
                            holes: self.holes(b),
                        },
                    )
                })
                .collect(),
            rooms: self.rooms(),
        }
    }

    /// The suggested channel plan and powers of one band, for the APs on
    /// this floor (heard from the whole building).
    pub fn channel_plan(
        &self,
        band: Band,
        width_mhz: u16,
        allow_dfs: bool,
        region: &str,
    ) -> Result<PlanReport, CoverageError> {
        let m = &self.model;
        let (tx, from) = transmitters(m, band);
        let regulatory = match region {
            "etsi" => Regulatory::etsi(),
            "fcc" => Regulatory::fcc(),
            _ => Regulatory::china(),
        };
        let matrix = plan::ap_to_ap_dbm(&tx, &m.walls, band, &m.params[band.index()]);
        let radios: Vec<Radio> = from
            .iter()
            .zip(&tx)
            .filter_map(|(k, t)| {
                Some(Radio {
                    ap: m.sites.get(*k)?.ap.clone(),
                    channel: t.channel,
                    width_mhz: None,
                })
            })
            .collect();
        let opts = PlanOptions {
            width_mhz,
            allow_dfs,
            regulatory,
        };
        let channels = plan::plan_channels(band, &radios, &matrix, &opts)
            .map_err(|e| CoverageError::Invalid(e.to_string()))?;
        let inputs: Vec<PowerInput> = from
            .iter()
            .zip(&tx)
            .filter_map(|(k, t)| {
                let s = m.sites.get(*k)?;
                Some(PowerInput {
                    ap: s.ap.clone(),
                    transmitter: t.clone(),
                    current_dbm: Some(t.tx_power_dbm),
                })
            })
            .collect();
        let power = plan::suggest_power(
            &inputs,
            &m.walls,
            band,
            &m.params[band.index()],
            &PowerOptions::for_band(band),
        );
        // The KPI before and after: the same floor with the suggested
        // channels and powers.
        let before = self.kpi(band);
        let mut after_model = m.clone();
        let label = band_label(band);
        for s in after_model.sites.iter_mut() {
            if let Some(r) = s.radios.get_mut(label) {
                if let Some(e) = channels.entries.iter().find(|e| e.ap == s.ap) {
                    r.channel = Some(e.channel);
                }
                if let Some(p) = power.iter().find(|p| p.ap == s.ap) {
                    r.tx_power_dbm = p.suggested_dbm;
                }
            }
        }
        let after = compute(after_model).kpi(band);
        Ok(PlanReport {
            band: label,
            csv: plan::plan_csv(&channels),
            channels,
            power,
            kpi_before: before,
            kpi_after: after,
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct BandReport {
    pub kpi: Kpi,
    pub holes: Vec<Hole>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoomReport {
    pub name: String,
    pub seats: Option<u32>,
    pub aps: Vec<String>,
    /// Clients on the room's APs at their last poll.
    pub clients_now: Option<i64>,
    /// Their most clients at one poll over the last 7 days.
    pub peak_clients: Option<i64>,
    pub bands: BTreeMap<&'static str, Kpi>,
    /// Set when a meeting room needs more radios for its seats.
    pub hint: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct KpiReport {
    pub floor: i64,
    pub target_dbm: f64,
    pub hole_min_area_m2: f64,
    pub bands: BTreeMap<&'static str, BandReport>,
    pub rooms: Vec<RoomReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanReport {
    pub band: &'static str,
    pub channels: ChannelPlan,
    pub power: Vec<plan::PowerSuggestion>,
    pub kpi_before: Kpi,
    pub kpi_after: Kpi,
    #[serde(skip)]
    pub csv: String,
}

/// Devices per seat in a meeting (a laptop and a phone for most).
pub const DEVICES_PER_SEAT: f64 = 1.5;
/// Active clients one radio serves before a meeting feels slow.
pub const CLIENTS_PER_RADIO: f64 = 30.0;

/// A hint when a meeting room needs more radios than its APs have (two
/// per AP): for its seats, or for the clients it carried at peak.
pub fn room_hint(seats: u32, peak_clients: Option<i64>, aps: usize) -> Option<String> {
    let devices = (f64::from(seats) * DEVICES_PER_SEAT).max(peak_clients.unwrap_or(0) as f64);
    let needed = (devices / CLIENTS_PER_RADIO).ceil() as usize;
    let have = aps * 2;
    (needed > have).then(|| {
        let peak = peak_clients.map_or(String::new(), |p| format!(", {p} clients at peak"));
        format!("{seats} seats (about {devices:.0} devices{peak}) need {needed} radios; the room has {have}")
    })
}

/// Fits the distance exponent of each band to the floor's measured
/// signals: survey points (a phone at a known place) and neighbour
/// reports (an AP hearing another, both placed on this floor: the
/// receiver is the reporting AP at its own height). Returns the fit per
/// band: N, a loss factor per wall material crossed (1 = the table is
/// right), and the RMS error before and after.
pub fn calibrate(
    model: &FloorModel,
    points: &[crate::store::floors::SurveyPoint],
    neighbours: &[crate::store::samples::NeighbourSample],
) -> BTreeMap<&'static str, calibrate::MaterialFit> {
    let mut out = BTreeMap::new();
    let level = model.floor.level as i32;
    for band in Band::ALL {
        let label = band_label(band);
        let (tx, from) = transmitters(model, band);
        let p = &model.params[band.index()];
        let transmitter_of = |ap: &str| {
            let k = from
                .iter()
                .position(|k| model.sites.get(*k).is_some_and(|s| s.ap == ap))?;
            tx.get(k)
        };
        // A measured signal at (x, y), `receiver_z` up, from `t`: the
        // walls crossed split by material at their table loss (what the
        // fit corrects), floor slabs and custom walls as they are.
        let measure = |t: &Transmitter, at: (f64, f64), receiver_z: f64, dbm: f64| {
            let dz = f64::from(t.level - level) * p.floor_height_m + t.z - receiver_z;
            let (dx, dy) = (t.x - at.0, t.y - at.1);
            let floors = f64::from((t.level - level).unsigned_abs());
            let mut other = floors * p.slab_db;
            let mut walls: Vec<(String, f64)> = Vec::new();
            if t.level == level {
                for w in &model.floor.walls {
                    if !super::model::segments_cross((t.x, t.y), at, (w.x1, w.y1), (w.x2, w.y2)) {
                        continue;
                    }
                    match (
                        w.loss_db,
                        material_loss(&w.material, &model.floor.materials),
                    ) {
                        (Some(custom), _) => other += custom[band.index()],
                        (None, Some(table)) => {
                            match walls.iter_mut().find(|(m, _)| *m == w.material) {
                                Some((_, l)) => *l += table[band.index()],
                                None => walls.push((w.material.clone(), table[band.index()])),
                            }
                        }
                        (None, None) => {}
                    }
                }
            }
            let walls_total: f64 = walls.iter().map(|(_, l)| l).sum();
            calibrate::MaterialMeasurement {
                base: calibrate::Measurement {
                    freq_mhz: t.freq_mhz,
                    distance_m: (dx * dx + dy * dy + dz * dz).sqrt(),
                    eirp_dbm: t.tx_power_dbm + t.antenna_gain_dbi,
                    obstacle_db: other + walls_total,
                    measured_dbm: dbm,
                },
                walls,
            }
        };
        let mut measurements: Vec<calibrate::MaterialMeasurement> = points
            .iter()
            .filter(|pt| pt.band == label && pt.floor == model.floor.id)
            .filter_map(|pt| {
                let t = transmitter_of(&pt.ap)?;
                Some(measure(t, (pt.x, pt.y), p.receiver_height_m, pt.rssi_dbm))
            })
            .collect();
        let on_floor = |key: &str| {
            let key = key.to_ascii_lowercase();
            model.sites.iter().find(|s| {
                s.floor == model.floor.id
                    && (s
                        .mac
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(&key))
                        || s.ap == key)
            })
        };
        for n in neighbours.iter().filter(|n| n.band == label) {
            let (Some(reporter), Some(heard)) = (on_floor(&n.reporter), on_floor(&n.neighbour))
            else {
                continue;
            };
            if reporter.ap == heard.ap {
                continue;
            }
            if let Some(t) = transmitter_of(&heard.ap) {
                measurements.push(measure(
                    t,
                    (reporter.x, reporter.y),
                    reporter.z,
                    n.rssi as f64,
                ));
            }
        }
        if let Some(fit) = calibrate::fit_with_materials(&measurements, p.n, 3) {
            out.insert(label, fit);
        }
    }
    out
}

/// The model's signal of one AP in one band at a point of the floor.
pub fn predicted_at(model: &FloorModel, ap: &str, band: &str, at: (f64, f64)) -> Option<f64> {
    let band = Band::parse(band)?;
    let (tx, from) = transmitters(model, band);
    let k = from
        .iter()
        .position(|k| model.sites.get(*k).is_some_and(|s| s.ap == ap))?;
    let t = tx.get(k)?;
    Some(received_dbm(
        t,
        model.floor.level as i32,
        at,
        &model.walls,
        band,
        &model.params[band.index()],
    ))
}

/// A colour per value: signal from red (−90 dBm) through yellow to green
/// (−50 dBm and up); SNR from 0 to 40 dB alike; contention from green (0)
/// to red (4 or more); serving AP as distinct hues.
fn colour(metric: Metric, v: f64) -> [u8; 4] {
    let ramp = |t: f64| {
        let t = t.clamp(0.0, 1.0);
        // red → yellow → green
        let (r, g) = if t < 0.5 {
            (1.0, t * 2.0)
        } else {
            (2.0 - t * 2.0, 1.0)
        };
        [(r * 220.0) as u8, (g * 200.0) as u8, 40, 170]
    };
    match metric {
        Metric::Rssi | Metric::Second => ramp((v + 90.0) / 40.0),
        Metric::Snr => ramp(v / 40.0),
        Metric::Contention => ramp(1.0 - v / 4.0),
        Metric::Ap => {
            let h = (v * 0.618_034).fract();
            let (r, g, b) = hsv(h, 0.6, 0.9);
            [r, g, b, 150]
        }
    }
}

fn hsv(h: f64, s: f64, v: f64) -> (u8, u8, u8) {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match i as i64 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    ((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
}

/// The heatmap as a PNG, one pixel per cell (transparent where there is
/// no value), to lay over the plan image.
pub fn heatmap_png(
    cov: &FloorCoverage,
    band: Band,
    metric: Metric,
) -> Result<Vec<u8>, CoverageError> {
    let g = &cov.model.grid;
    let values = cov.values(band, metric);
    let mut rgba = Vec::with_capacity(values.len() * 4);
    for v in &values {
        rgba.extend_from_slice(&v.map_or([0, 0, 0, 0], |v| colour(metric, v)));
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, g.width as u32, g.height as u32);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| CoverageError::Invalid(format!("png: {e}")))?;
        w.write_image_data(&rgba)
            .map_err(|e| CoverageError::Invalid(format!("png: {e}")))?;
    }
    Ok(out)
}

/// Largest side of a rasterised SVG plan (pixels); bigger drawings are
/// scaled down to it.
pub const MAX_PLAN_PX: u32 = 4096;

/// Rasterises an SVG floor plan to PNG: `(png, width, height)` in pixels
/// of the SVG's own size (scaled down to [`MAX_PLAN_PX`]). Text uses the
/// system's fonts; nothing outside the file is read.
pub fn rasterise_svg(svg: &[u8]) -> Result<(Vec<u8>, u32, u32), CoverageError> {
    use resvg::{tiny_skia, usvg};
    let bad = |why: String| {
        CoverageError::Invalid(format!("the plan is not a PNG, JPEG or SVG image ({why})"))
    };
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_data(svg, &opt).map_err(|e| bad(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    if !(w >= 1.0 && h >= 1.0) {
        return Err(bad("it has no size".into()));
    }
    let scale = (MAX_PLAN_PX as f32 / w.max(h)).min(1.0);
    let (pw, ph) = (
        (w * scale).round().max(1.0) as u32,
        (h * scale).round().max(1.0) as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(pw, ph).ok_or_else(|| bad("too large".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| bad(e.to_string()))?;
    // Pixels of the SVG's own size, so a scale given for the drawing holds.
    Ok((png, w.round() as u32, h.round() as u32))
}

/// Alerts raised for holes: source and kind.
pub const HOLE_SOURCE: &str = "coverage";
pub const HOLE_KIND: &str = "coverage-hole";

/// What one pass of [`sync_hole_alerts`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HoleSync {
    pub floors: usize,
    pub raised: usize,
    pub cleared: usize,
}

/// Predicts every floor with APs placed on it and keeps one open alert
/// per hole (subject: floor, band and the hole's place to 5 m, so a hole
/// that shrinks a little keeps its alert); alerts of holes gone are
/// cleared.
pub async fn sync_hole_alerts(
    store: &Store,
    cfg: &CoverageConfig,
    now_ms: i64,
) -> Result<HoleSync, CoverageError> {
    let mut out = HoleSync::default();
    let mut current: Vec<String> = Vec::new();
    for floor in store.floors().list().await? {
        let placed = store
            .floors()
            .placements_in_building(floor.building_id)
            .await?;
        if !placed.iter().any(|p| p.placement.floor == floor.id) {
            continue;
        }
        let model = load(store, cfg, floor.id).await?;
        if model.grid.cells() > 2_000_000 {
            continue;
        }
        let cov = tokio::task::spawn_blocking(move || compute(model))
            .await
            .map_err(|e| CoverageError::Invalid(format!("prediction: {e}")))?;
        out.floors += 1;
        for band in cov.bands_present() {
            for hole in cov.holes(band) {
                let (gx, gy) = (
                    (hole.centroid.0 / 5.0).round() * 5.0,
                    (hole.centroid.1 / 5.0).round() * 5.0,
                );
                let subject = format!(
                    "{}/{} {} GHz near ({gx:.0}, {gy:.0}) m",
                    floor.building,
                    floor.name,
                    band_label(band)
                );
                let message = format!(
                    "{} GHz coverage hole of {:.0} m² around ({:.1}, {:.1}) m on {}/{}: weakest {:.0} dBm, below {:.0} dBm",
                    band_label(band),
                    hole.area_m2,
                    hole.centroid.0,
                    hole.centroid.1,
                    floor.building,
                    floor.name,
                    hole.worst_dbm.max(-120.0),
                    cfg.target_dbm
                );
                if current.contains(&subject) {
                    continue;
                }
                if store
                    .alerts()
                    .raise(
                        HOLE_SOURCE,
                        HOLE_KIND,
                        &subject,
                        "warning",
                        &message,
                        now_ms,
                    )
                    .await?
                {
                    out.raised += 1;
                }
                current.push(subject);
            }
        }
    }
    for alert in store.alerts().open().await? {
        if alert.source == HOLE_SOURCE
            && alert.kind == HOLE_KIND
            && !current.contains(&alert.subject)
            && store
                .alerts()
                .clear(HOLE_SOURCE, HOLE_KIND, &alert.subject, now_ms)
                .await?
        {
            out.cleared += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::floors::{Floor, SurveyPoint};
    use crate::store::samples::NeighbourSample;

    fn floor() -> Floor {
        Floor {
            id: 7,
            building: "Main".into(),
            building_id: 1,
            name: "F3".into(),
            level: 3,
            width_m: 40.0,
            height_m: 20.0,
            storey_height_m: 3.5,
            walls: Vec::new(),
            areas: Vec::new(),
            plan_type: None,
            calibration: None,
            materials: BTreeMap::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn site(ap: &str, mac: &str, x: f64, y: f64) -> Site {
        Site {
            ap: ap.into(),
            mac: Some(mac.into()),
            floor: 7,
            level: 3,
            x,
            y,
            z: 2.8,
            antenna_gain_dbi: 2.0,
            status: "up".into(),
            clients: None,
            peak_clients: None,
            radios: BTreeMap::from([(
                "5",
                RadioUse {
                    channel: Some(36),
                    tx_power_dbm: 20.0,
                    power_from: "snmp",
                    noise_dbm: None,
                },
            )]),
        }
    }

    /// By hand: EIRP − (20·log10(5180) + N·log10(d) − 28).
    fn heard(n: f64, d: f64) -> f64 {
        22.0 - (20.0 * 5180f64.log10() + n * d.max(1.0).log10() - 28.0)
    }

    #[test]
    fn calibration_recovers_n_from_synthetic_ap_to_ap_reports() {
        let positions = [
            (3.0, 4.0),
            (15.0, 5.0),
            (30.0, 3.0),
            (8.0, 16.0),
            (22.0, 14.0),
            (37.0, 17.0),
        ];
        let sites: Vec<Site> = positions
            .iter()
            .enumerate()
            .map(|(k, (x, y))| site(&format!("ap-{k}"), &format!("00:00:00:00:00:0{k}"), *x, *y))
            .collect();
        let model = model_of(floor(), sites, &CoverageConfig::default());
        let true_n = 33.0;
        let mut reports = Vec::new();
        for (a, pa) in positions.iter().enumerate() {
            for (b, pb) in positions.iter().enumerate() {
                if a == b {
                    continue;
                }
                let d = ((pa.0 - pb.0).powi(2) + (pa.1 - pb.1).powi(2)).sqrt();
                reports.push(NeighbourSample {
                    reporter: format!("00:00:00:00:00:0{a}"),
                    neighbour: format!("00:00:00:00:00:0{b}").to_uppercase(),
                    band: "5".into(),
                    channel: Some(36),
                    rssi: heard(true_n, d).round() as i64,
                    at_ms: 1,
                });
            }
        }
        // A report from an AP not on this floor is left out.
        reports.push(NeighbourSample {
            reporter: "00:00:00:00:00:99".into(),
            neighbour: "00:00:00:00:00:01".into(),
            band: "5".into(),
            channel: Some(36),
            rssi: -20,
            at_ms: 1,
        });
        let fits = calibrate(&model, &[], &reports);
        let fit = fits.get("5").expect("a 5 GHz fit");
        assert_eq!(fit.points, 30);
        assert!((fit.n - true_n).abs() < 0.2, "{fit:?}");
        assert!(fit.rmse_after_db < fit.rmse_before_db, "{fit:?}");
        assert!(fit.rmse_after_db < 0.5, "whole-dB readings: {fit:?}");
        // Survey points and neighbour reports fit together.
        let points: Vec<SurveyPoint> = [(10.0, 10.0), (20.0, 10.0), (5.0, 18.0)]
            .iter()
            .map(|(x, y)| {
                let (sx, sy) = positions[0];
                let d = ((x - sx).powi(2) + (y - sy).powi(2) + 1.8f64.powi(2)).sqrt();
                SurveyPoint {
                    id: 0,
                    floor: 7,
                    x: *x,
                    y: *y,
                    band: "5".into(),
                    ap: "ap-0".into(),
                    rssi_dbm: heard(true_n, d),
                    source: "survey".into(),
                    taken_by: None,
                    taken_at: 1,
                }
            })
            .collect();
        let both = calibrate(&model, &points, &reports);
        assert_eq!(both.get("5").map(|f| f.points), Some(33));
        assert!((both["5"].n - true_n).abs() < 0.2);
        // Nothing for bands without measurements.
        assert!(!both.contains_key("2.4"));
    }

    #[test]
    fn calibration_corrects_a_material_and_the_model_applies_it() {
        use crate::store::floors::FloorWall;
        let positions = [
            (3.0, 4.0),
            (15.0, 5.0),
            (30.0, 3.0),
            (8.0, 16.0),
            (26.0, 14.0),
            (37.0, 17.0),
        ];
        let sites: Vec<Site> = positions
            .iter()
            .enumerate()
            .map(|(k, (x, y))| site(&format!("ap-{k}"), &format!("00:00:00:00:00:0{k}"), *x, *y))
            .collect();
        let mut f = floor();
        f.walls = vec![FloorWall {
            x1: 20.0,
            y1: 0.0,
            x2: 20.0,
            y2: 20.0,
            material: "concrete".into(),
            loss_db: None,
        }];
        let model = model_of(f.clone(), sites.clone(), &CoverageConfig::default());
        // The concrete here costs 1.4 × the table's 15 dB at 5 GHz.
        let (true_n, factor) = (33.0, 1.4);
        let mut reports = Vec::new();
        for (a, pa) in positions.iter().enumerate() {
            for (b, pb) in positions.iter().enumerate() {
                if a == b {
                    continue;
                }
                let d = ((pa.0 - pb.0).powi(2) + (pa.1 - pb.1).powi(2)).sqrt();
                let crosses = (pa.0 < 20.0) != (pb.0 < 20.0);
                let wall = if crosses { 15.0 * factor } else { 0.0 };
                reports.push(NeighbourSample {
                    reporter: format!("00:00:00:00:00:0{a}"),
                    neighbour: format!("00:00:00:00:00:0{b}"),
                    band: "5".into(),
                    channel: Some(36),
                    rssi: (heard(true_n, d) - wall).round() as i64,
                    at_ms: 1,
                });
            }
        }
        let fits = calibrate(&model, &[], &reports);
        let fit = &fits["5"];
        assert!((fit.n - true_n).abs() < 0.5, "{fit:?}");
        let c = fit.factors["concrete"];
        assert!((c - factor).abs() < 0.1, "{fit:?}");
        assert!(
            fit.rmse_after_db < 0.6 && fit.rmse_before_db > 2.0,
            "{fit:?}"
        );
        // Stored as the floor keeps it, the factor scales that wall.
        f.calibration = Some(BTreeMap::from([
            ("5".to_string(), fit.n),
            ("5/concrete".to_string(), c),
        ]));
        let calibrated = model_of(f, sites, &CoverageConfig::default());
        assert!((calibrated.walls[0].loss_db[1] - 15.0 * c).abs() < 1e-9);
        assert_eq!(
            calibrated.walls[0].loss_db[0], 12.0,
            "other bands keep the table"
        );
        assert_eq!(calibrated.params[1].n, fit.n);
    }

    #[test]
    fn radio_bands_room_hints_and_svg_plans() {
        assert_eq!(radio_band("radio0", Some(6)), Some(Band::B2g4));
        assert_eq!(radio_band("radio1", Some(149)), Some(Band::B5g));
        assert_eq!(radio_band("wifi 6GHz", Some(37)), Some(Band::B6g));
        assert_eq!(radio_band("radio2", None), None);
        assert_eq!(radio_band("radio2", Some(500)), None);
        // 40 seats: 60 devices, 2 radios needed; one AP has two.
        assert!(room_hint(40, None, 1).is_none());
        let hint = room_hint(40, Some(90), 1).expect("90 clients need 3 radios");
        assert!(
            hint.contains("need 3 radios") && hint.contains("90 clients at peak"),
            "{hint}"
        );
        assert!(room_hint(100, None, 0).is_some());

        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect x="10" y="10" width="50" height="20" fill="black"/></svg>"#;
        let (png, w, h) = rasterise_svg(svg).expect("svg");
        assert_eq!((w, h), (200, 100));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        for bad in [
            &b""[..],
            b"<svg",
            b"not an image",
            b"\x00\x01\x02",
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"/>"#,
        ] {
            assert!(
                rasterise_svg(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A huge drawing is scaled down, its own size kept for the scale.
        let big = br#"<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="10000"><rect width="100" height="100"/></svg>"#;
        let (png, w, h) = rasterise_svg(big).expect("big svg");
        assert_eq!((w, h), (20000, 10000));
        let px = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert_eq!(px, MAX_PLAN_PX);
    }

    #[test]
    fn values_png_and_kpis_of_a_computed_floor() {
        let model = model_of(
            floor(),
            vec![site("ap-0", "00:00:00:00:00:01", 10.0, 10.0)],
            &CoverageConfig::default(),
        );
        let cov = compute(model);
        assert_eq!(cov.bands_present(), vec![Band::B5g]);
        let v = cov.values(Band::B5g, Metric::Rssi);
        assert_eq!(v.len(), 80 * 40);
        assert!(v.iter().all(Option::is_some));
        // No 2.4 GHz radio: nothing heard.
        assert!(cov
            .values(Band::B2g4, Metric::Rssi)
            .iter()
            .all(Option::is_none));
        let ap = cov.values(Band::B5g, Metric::Ap);
        assert!(ap.iter().all(|s| *s == Some(0.0)));
        let png = heatmap_png(&cov, Band::B5g, Metric::Snr).expect("png");
        assert_eq!(&png[16..24], &[0, 0, 0, 80, 0, 0, 0, 40]);
        let report = cov.report();
        assert!(report.bands.contains_key("5") && !report.bands.contains_key("2.4"));
        // 30 m from one AP at the far corner is below −67 dBm: a hole.
        assert!(!report.bands["5"].holes.is_empty());
        let under = predicted_at(&cov.model, "ap-0", "5", (10.0, 10.0)).expect("value");
        assert!(
            (under - (22.0 - (20.0 * 5180f64.log10() + 31.0 * 1.8f64.log10() - 28.0))).abs() < 1e-9
        );
        assert_eq!(predicted_at(&cov.model, "ap-9", "5", (10.0, 10.0)), None);
    }
}
