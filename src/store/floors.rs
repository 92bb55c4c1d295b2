//! Buildings, floors (plan image, walls, areas), AP placements and
//! measured points: what coverage prediction reads (issue 14). Walls and
//! areas are JSON lists edited whole; coordinates are metres from the
//! plan's top-left corner, y downwards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{conflict_or, from_json, now_ms, to_json};
use super::{Result, Store, StoreError};

/// Largest floor side (m) and most walls, areas and points per area
/// accepted: far beyond any building, small enough to bound the work.
pub const MAX_SIDE_M: f64 = 2000.0;
pub const MAX_WALLS: usize = 20_000;
pub const MAX_AREAS: usize = 2_000;
pub const MAX_AREA_POINTS: usize = 500;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloorWall {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    /// A material of the table (drywall, glass, ...) or `custom`.
    #[serde(default = "default_material")]
    pub material: String,
    /// Loss per band (2.4, 5, 6 GHz; dB) for `custom`, or overriding the
    /// material's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_db: Option<[f64; 3]>,
}

fn default_material() -> String {
    "drywall".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaKind {
    /// The floor's outline: only inside counts (none: the whole plan).
    Outline,
    /// A zone that needs no coverage (shafts, plant rooms).
    Excluded,
    /// A named room; `seats` marks a meeting room.
    Room,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub kind: AreaKind,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Floor {
    pub id: i64,
    pub building: String,
    pub building_id: i64,
    pub name: String,
    pub level: i64,
    pub width_m: f64,
    pub height_m: f64,
    pub storey_height_m: f64,
    pub walls: Vec<FloorWall>,
    pub areas: Vec<Area>,
    /// MIME type of the plan image, when there is one.
    pub plan_type: Option<String>,
    /// Fitted distance exponents per band (`"2.4"` → N), when calibrated.
    pub calibration: Option<BTreeMap<String, f64>>,
    /// The building's own material losses (name → dB at 2.4, 5, 6 GHz),
    /// overriding or adding to the default table.
    pub materials: BTreeMap<String, [f64; 3]>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new floor.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct NewFloor {
    pub building: String,
    pub name: String,
    pub level: i64,
    pub width_m: f64,
    pub height_m: f64,
    #[serde(default = "default_storey")]
    pub storey_height_m: f64,
}

fn default_storey() -> f64 {
    3.5
}

/// Where an AP hangs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub floor: i64,
    pub x: f64,
    pub y: f64,
    #[serde(default = "default_z")]
    pub z: f64,
    #[serde(default)]
    pub antenna_gain_dbi: f64,
    /// Transmit power per band (`"2.4"`, `"5"`, `"6"`), overriding SNMP.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tx_power_dbm: BTreeMap<String, f64>,
}

fn default_z() -> f64 {
    2.8
}

/// A placement with its AP.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlacedAp {
    pub ap_id: i64,
    pub ap: String,
    #[serde(flatten)]
    pub placement: Placement,
}

/// A signal measured at a known place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurveyPoint {
    #[serde(default)]
    pub id: i64,
    pub floor: i64,
    pub x: f64,
    pub y: f64,
    /// `2.4`, `5` or `6`.
    pub band: String,
    /// The AP whose signal this is.
    pub ap: String,
    pub rssi_dbm: f64,
    /// `survey` (a phone's tap) or `neighbour` (an AP hearing another).
    pub source: String,
    #[serde(default)]
    pub taken_by: Option<String>,
    #[serde(default)]
    pub taken_at: i64,
}

fn finite(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(StoreError::Invalid(format!("{what} must be a number")))
    }
}

fn within(what: &str, v: f64, lo: f64, hi: f64) -> Result<f64> {
    let v = finite(what, v)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(StoreError::Invalid(format!(
            "{what} = {v} is outside {lo} to {hi}"
        )))
    }
}

/// The bands a floor's data is kept by (the API's `band=` values).
pub fn is_band(s: &str) -> bool {
    matches!(s, "2.4" | "5" | "6")
}

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > 100 || s.chars().any(char::is_control) || s.contains('/') {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1 to 100 characters, without '/' or control characters"
        )));
    }
    Ok(())
}

impl NewFloor {
    pub fn validate(&self) -> Result<()> {
        check_name("building", &self.building)?;
        check_name("name", &self.name)?;
        if !(-20..=300).contains(&self.level) {
            return Err(StoreError::Invalid("level must be -20 to 300".into()));
        }
        within("width_m", self.width_m, 1.0, MAX_SIDE_M)?;
        within("height_m", self.height_m, 1.0, MAX_SIDE_M)?;
        within("storey_height_m", self.storey_height_m, 2.0, 20.0)?;
        Ok(())
    }
}

/// Checks walls against the floor's size (the coverage service checks
/// their materials against its table).
pub fn check_walls(walls: &[FloorWall], width_m: f64, height_m: f64) -> Result<()> {
    if walls.len() > MAX_WALLS {
        return Err(StoreError::Invalid(format!(
            "{} walls: at most {MAX_WALLS}",
            walls.len()
        )));
    }
    for (n, w) in walls.iter().enumerate() {
        let at = |c: &str| format!("wall {}: {c}", n + 1);
        within(&at("x1"), w.x1, -1.0, width_m + 1.0)?;
        within(&at("x2"), w.x2, -1.0, width_m + 1.0)?;
        within(&at("y1"), w.y1, -1.0, height_m + 1.0)?;
        within(&at("y2"), w.y2, -1.0, height_m + 1.0)?;
        if let Some(l) = &w.loss_db {
            for v in l {
                within(&at("loss_db"), *v, 0.0, 100.0)?;
            }
        } else if w.material == "custom" {
            return Err(StoreError::Invalid(at("custom material needs loss_db")));
        }
        if w.material.is_empty() || w.material.len() > 40 {
            return Err(StoreError::Invalid(at(
                "material must be 1 to 40 characters",
            )));
        }
    }
    Ok(())
}

pub fn check_areas(areas: &[Area], width_m: f64, height_m: f64) -> Result<()> {
    if areas.len() > MAX_AREAS {
        return Err(StoreError::Invalid(format!("at most {MAX_AREAS} areas")));
    }
    for (n, a) in areas.iter().enumerate() {
        let at = |c: &str| format!("area {}: {c}", n + 1);
        if !(3..=MAX_AREA_POINTS).contains(&a.points.len()) {
            return Err(StoreError::Invalid(at(&format!(
                "needs 3 to {MAX_AREA_POINTS} points"
            ))));
        }
        if a.kind == AreaKind::Room {
            check_name(&at("name"), &a.name)?;
        }
        for (x, y) in &a.points {
            within(&at("x"), *x, -1.0, width_m + 1.0)?;
            within(&at("y"), *y, -1.0, height_m + 1.0)?;
        }
    }
    Ok(())
}

pub struct Floors<'a> {
    store: &'a Store,
}

const FLOOR_COLUMNS: &str = "f.id, f.building_id, b.name AS building, f.name, f.level, f.width_m, \
     f.height_m, f.storey_height_m, f.walls, f.areas, f.plan_type, f.calibration, f.created_at, \
     f.updated_at, b.materials";

fn floor_of(r: &AnyRow) -> Result<Floor> {
    let calibration: Option<String> = r.try_get("calibration")?;
    let materials: Option<String> = r.try_get("materials")?;
    Ok(Floor {
        id: r.try_get("id")?,
        building_id: r.try_get("building_id")?,
        building: r.try_get("building")?,
        name: r.try_get("name")?,
        level: r.try_get("level")?,
        width_m: r.try_get("width_m")?,
        height_m: r.try_get("height_m")?,
        storey_height_m: r.try_get("storey_height_m")?,
        walls: from_json(&r.try_get::<String, _>("walls")?, "walls")?,
        areas: from_json(&r.try_get::<String, _>("areas")?, "areas")?,
        plan_type: r.try_get("plan_type")?,
        calibration: calibration
            .map(|c| from_json(&c, "calibration"))
            .transpose()?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        materials: materials
            .map(|m| from_json(&m, "materials"))
            .transpose()?
            .unwrap_or_default(),
    })
}

impl<'a> Floors<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Floors { store }
    }

    /// Adds a floor, and its building if new.
    pub async fn add(&self, f: &NewFloor) -> Result<Floor> {
        f.validate()?;
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let building: Option<i64> = sqlx::query("SELECT id FROM buildings WHERE name = $1")
            .bind(&f.building)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?;
        let building_id = match building {
            Some(id) => id,
            None => {
                sqlx::query("INSERT INTO buildings (name, created_at) VALUES ($1, $2) RETURNING id")
                    .bind(&f.building)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?
            }
        };
        let id: i64 = sqlx::query(
            "INSERT INTO floors (building_id, name, level, width_m, height_m, storey_height_m, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(building_id)
        .bind(&f.name)
        .bind(f.level)
        .bind(f.width_m)
        .bind(f.height_m)
        .bind(f.storey_height_m)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, || format!("floor {}/{}", f.building, f.name)))?
        .try_get("id")?;
        tx.commit().await?;
        self.get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("floor {id}")))
    }

    pub async fn get(&self, id: i64) -> Result<Option<Floor>> {
        let sql = format!(
            "SELECT {FLOOR_COLUMNS} FROM floors f JOIN buildings b ON b.id = f.building_id \
             WHERE f.id = $1"
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .as_ref()
            .map(floor_of)
            .transpose()
    }

    /// Every floor, by building and level.
    pub async fn list(&self) -> Result<Vec<Floor>> {
        let sql = format!(
            "SELECT {FLOOR_COLUMNS} FROM floors f JOIN buildings b ON b.id = f.building_id \
             ORDER BY b.name, f.level, f.name"
        );
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(floor_of)
            .collect()
    }

    /// A floor by id, `BUILDING/NAME`, or a name only one building has.
    pub async fn find(&self, key: &str) -> Result<Option<Floor>> {
        if let Ok(id) = key.parse::<i64>() {
            return self.get(id).await;
        }
        let all = self.list().await?;
        let mut hits = all.into_iter().filter(|f| {
            key.split_once('/')
                .map_or(f.name == key, |(b, n)| f.building == b && f.name == n)
        });
        let first = hits.next();
        if hits.next().is_some() {
            return Err(StoreError::Invalid(format!(
                "more than one building has a floor {key:?}: give BUILDING/NAME"
            )));
        }
        Ok(first)
    }

    /// Sets a building's own material losses (replacing the earlier set).
    pub async fn set_materials(
        &self,
        building: &str,
        materials: &BTreeMap<String, [f64; 3]>,
    ) -> Result<()> {
        if materials.len() > 100 {
            return Err(StoreError::Invalid("at most 100 materials".into()));
        }
        for (name, losses) in materials {
            if name.is_empty() || name.len() > 40 || name.chars().any(char::is_control) {
                return Err(StoreError::Invalid(format!("material name {name:?}")));
            }
            for v in losses {
                within(&format!("loss of {name}"), *v, 0.0, 100.0)?;
            }
        }
        let r = sqlx::query("UPDATE buildings SET materials = $1 WHERE name = $2")
            .bind(to_json(materials)?)
            .bind(building)
            .execute(&self.store.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("building {building}")));
        }
        Ok(())
    }

    pub async fn remove(&self, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM floors WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn floor_or_not_found(&self, id: i64) -> Result<Floor> {
        self.get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("floor {id}")))
    }

    /// Replaces the floor's walls.
    pub async fn set_walls(&self, id: i64, walls: &[FloorWall]) -> Result<Floor> {
        let f = self.floor_or_not_found(id).await?;
        check_walls(walls, f.width_m, f.height_m)?;
        self.set_column(id, "walls", &to_json(walls)?).await
    }

    /// Replaces the floor's areas (outline, excluded zones, rooms).
    pub async fn set_areas(&self, id: i64, areas: &[Area]) -> Result<Floor> {
        let f = self.floor_or_not_found(id).await?;
        check_areas(areas, f.width_m, f.height_m)?;
        self.set_column(id, "areas", &to_json(areas)?).await
    }

    pub async fn set_calibration(&self, id: i64, fitted: &BTreeMap<String, f64>) -> Result<Floor> {
        self.set_column(id, "calibration", &to_json(fitted)?).await
    }

    async fn set_column(&self, id: i64, column: &str, json: &str) -> Result<Floor> {
        // `column` is one of ours, never input.
        let sql = format!("UPDATE floors SET {column} = $1, updated_at = $2 WHERE id = $3");
        let r = sqlx::query(&sql)
            .bind(json)
            .bind(now_ms())
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("floor {id}")));
        }
        self.floor_or_not_found(id).await
    }

    /// Stores the plan image (PNG or JPEG bytes) and, when given, the
    /// floor's real size taken from the image and its scale.
    pub async fn set_plan(
        &self,
        id: i64,
        image: &[u8],
        mime: &str,
        size_m: Option<(f64, f64)>,
    ) -> Result<Floor> {
        let f = self.floor_or_not_found(id).await?;
        let (w, h) = match size_m {
            Some((w, h)) => (
                within("width_m", w, 1.0, MAX_SIDE_M)?,
                within("height_m", h, 1.0, MAX_SIDE_M)?,
            ),
            None => (f.width_m, f.height_m),
        };
        sqlx::query(
            "UPDATE floors SET plan = $1, plan_type = $2, width_m = $3, height_m = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(image)
        .bind(mime)
        .bind(w)
        .bind(h)
        .bind(now_ms())
        .bind(id)
        .execute(&self.store.pool)
        .await?;
        self.floor_or_not_found(id).await
    }

    /// The plan image and its MIME type.
    pub async fn plan(&self, id: i64) -> Result<Option<(Vec<u8>, String)>> {
        let row = sqlx::query("SELECT plan, plan_type FROM floors WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let plan: Option<Vec<u8>> = row.try_get("plan")?;
        let mime: Option<String> = row.try_get("plan_type")?;
        Ok(plan.zip(mime))
    }

    /// Places an AP (replacing its earlier place); also writes the
    /// inventory's building, floor, x and y.
    pub async fn place(&self, ap: &str, p: &Placement) -> Result<PlacedAp> {
        let f = self.floor_or_not_found(p.floor).await?;
        within("x", p.x, 0.0, f.width_m)?;
        within("y", p.y, 0.0, f.height_m)?;
        within("z", p.z, 0.0, 30.0)?;
        within("antenna_gain_dbi", p.antenna_gain_dbi, -10.0, 20.0)?;
        for (band, dbm) in &p.tx_power_dbm {
            if !is_band(band) {
                return Err(StoreError::Invalid(format!(
                    "tx_power_dbm: band {band:?} is not 2.4, 5 or 6"
                )));
            }
            within("tx_power_dbm", *dbm, -10.0, 36.0)?;
        }
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let ap_id: i64 = sqlx::query("SELECT id FROM aps WHERE name = $1")
            .bind(ap)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("AP {ap}")))?
            .try_get("id")?;
        let tx_power = (!p.tx_power_dbm.is_empty())
            .then(|| to_json(&p.tx_power_dbm))
            .transpose()?;
        sqlx::query("DELETE FROM ap_placements WHERE ap_id = $1")
            .bind(ap_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ap_placements (ap_id, floor_id, x, y, z, antenna_gain_dbi, tx_power, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(ap_id)
        .bind(p.floor)
        .bind(p.x)
        .bind(p.y)
        .bind(p.z)
        .bind(p.antenna_gain_dbi)
        .bind(tx_power)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE aps SET building = $1, floor = $2, x = $3, y = $4, updated_at = $5 \
             WHERE id = $6",
        )
        .bind(&f.building)
        .bind(&f.name)
        .bind(p.x)
        .bind(p.y)
        .bind(now)
        .bind(ap_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PlacedAp {
            ap_id,
            ap: ap.to_string(),
            placement: p.clone(),
        })
    }

    /// Takes an AP off the plans.
    pub async fn unplace(&self, ap: &str) -> Result<bool> {
        let r = sqlx::query(
            "DELETE FROM ap_placements WHERE ap_id IN (SELECT id FROM aps WHERE name = $1)",
        )
        .bind(ap)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The APs placed in a building (every floor), with their floor.
    pub async fn placements_in_building(&self, building_id: i64) -> Result<Vec<PlacedAp>> {
        let rows = sqlx::query(
            "SELECT p.ap_id, a.name, p.floor_id, p.x, p.y, p.z, p.antenna_gain_dbi, p.tx_power \
             FROM ap_placements p JOIN aps a ON a.id = p.ap_id \
             JOIN floors f ON f.id = p.floor_id WHERE f.building_id = $1 ORDER BY a.name",
        )
        .bind(building_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let tx_power: Option<String> = r.try_get("tx_power")?;
                Ok(PlacedAp {
                    ap_id: r.try_get("ap_id")?,
                    ap: r.try_get("name")?,
                    placement: Placement {
                        floor: r.try_get("floor_id")?,
                        x: r.try_get("x")?,
                        y: r.try_get("y")?,
                        z: r.try_get("z")?,
                        antenna_gain_dbi: r.try_get("antenna_gain_dbi")?,
                        tx_power_dbm: tx_power
                            .map(|t| from_json(&t, "tx_power"))
                            .transpose()?
                            .unwrap_or_default(),
                    },
                })
            })
            .collect()
    }

    /// Levels of a building's floors, by floor id.
    pub async fn levels(&self, building_id: i64) -> Result<BTreeMap<i64, i64>> {
        let rows = sqlx::query("SELECT id, level FROM floors WHERE building_id = $1")
            .bind(building_id)
            .fetch_all(&self.store.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("level")?)))
            .collect()
    }

    pub async fn add_point(&self, p: &SurveyPoint) -> Result<SurveyPoint> {
        let f = self.floor_or_not_found(p.floor).await?;
        within("x", p.x, 0.0, f.width_m)?;
        within("y", p.y, 0.0, f.height_m)?;
        within("rssi_dbm", p.rssi_dbm, -120.0, 0.0)?;
        if !is_band(&p.band) {
            return Err(StoreError::Invalid(format!(
                "band {:?} is not 2.4, 5 or 6",
                p.band
            )));
        }
        let at = if p.taken_at > 0 { p.taken_at } else { now_ms() };
        let id: i64 = sqlx::query(
            "INSERT INTO survey_points (floor_id, x, y, band, ap_name, rssi_dbm, source, \
             taken_by, taken_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(p.floor)
        .bind(p.x)
        .bind(p.y)
        .bind(&p.band)
        .bind(&p.ap)
        .bind(p.rssi_dbm)
        .bind(&p.source)
        .bind(&p.taken_by)
        .bind(at)
        .fetch_one(&self.store.pool)
        .await?
        .try_get("id")?;
        Ok(SurveyPoint {
            id,
            taken_at: at,
            ..p.clone()
        })
    }

    pub async fn points(&self, floor: i64) -> Result<Vec<SurveyPoint>> {
        let rows = sqlx::query(
            "SELECT id, floor_id, x, y, band, ap_name, rssi_dbm, source, taken_by, taken_at \
             FROM survey_points WHERE floor_id = $1 ORDER BY taken_at, id",
        )
        .bind(floor)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SurveyPoint {
                    id: r.try_get("id")?,
                    floor: r.try_get("floor_id")?,
                    x: r.try_get("x")?,
                    y: r.try_get("y")?,
                    band: r.try_get("band")?,
                    ap: r.try_get("ap_name")?,
                    rssi_dbm: r.try_get("rssi_dbm")?,
                    source: r.try_get("source")?,
                    taken_by: r.try_get("taken_by")?,
                    taken_at: r.try_get("taken_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::aps::NewAp;
    use super::super::tests::both;
    use super::*;

    fn f3() -> NewFloor {
        NewFloor {
            building: "Main".into(),
            name: "F3".into(),
            level: 3,
            width_m: 40.0,
            height_m: 20.0,
            storey_height_m: 3.5,
        }
    }

    #[tokio::test]
    async fn floors_walls_areas_placements_and_points_round_trip() {
        both(|h| async move {
            let floors = h.store.floors();
            let f = floors.add(&f3()).await.unwrap();
            assert_eq!(
                (f.building.as_str(), f.name.as_str(), f.level),
                ("Main", "F3", 3)
            );
            assert!(f.walls.is_empty() && f.areas.is_empty() && f.plan_type.is_none());
            let dup = floors.add(&f3()).await.unwrap_err();
            assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
            // Same name in another building is another floor; the name
            // alone is then ambiguous.
            let other = floors
                .add(&NewFloor {
                    building: "Annex".into(),
                    ..f3()
                })
                .await
                .unwrap();
            assert_ne!(other.building_id, f.building_id);
            assert!(floors.find("F3").await.is_err());
            assert_eq!(floors.find("Main/F3").await.unwrap().unwrap().id, f.id);
            assert_eq!(
                floors.find(&f.id.to_string()).await.unwrap().unwrap().id,
                f.id
            );
            assert!(floors.find("Main/F9").await.unwrap().is_none());

            let walls = vec![
                FloorWall {
                    x1: 10.0,
                    y1: 0.0,
                    x2: 10.0,
                    y2: 20.0,
                    material: "concrete".into(),
                    loss_db: None,
                },
                FloorWall {
                    x1: 0.0,
                    y1: 5.0,
                    x2: 40.0,
                    y2: 5.0,
                    material: "custom".into(),
                    loss_db: Some([1.5, 2.5, 3.5]),
                },
            ];
            assert_eq!(floors.set_walls(f.id, &walls).await.unwrap().walls, walls);
            let areas = vec![
                Area {
                    kind: AreaKind::Outline,
                    name: String::new(),
                    seats: None,
                    points: vec![(0.0, 0.0), (40.0, 0.0), (40.0, 20.0), (0.0, 20.0)],
                },
                Area {
                    kind: AreaKind::Room,
                    name: "会议室 A".into(),
                    seats: Some(40),
                    points: vec![(1.0, 1.0), (9.0, 1.0), (9.0, 9.0)],
                },
            ];
            assert_eq!(floors.set_areas(f.id, &areas).await.unwrap().areas, areas);

            // Bad input: out of the floor, custom without losses, too few
            // points, NaN: each refused, nothing changed.
            let mut bad = walls.clone();
            bad[0].x1 = 500.0;
            assert!(matches!(
                floors.set_walls(f.id, &bad).await,
                Err(StoreError::Invalid(_))
            ));
            let mut bad = walls.clone();
            bad[1].loss_db = None;
            assert!(matches!(
                floors.set_walls(f.id, &bad).await,
                Err(StoreError::Invalid(_))
            ));
            let mut bad = walls.clone();
            bad[0].y2 = f64::NAN;
            assert!(matches!(
                floors.set_walls(f.id, &bad).await,
                Err(StoreError::Invalid(_))
            ));
            let mut bad_areas = areas.clone();
            bad_areas[1].points.truncate(2);
            assert!(floors.set_areas(f.id, &bad_areas).await.is_err());
            assert_eq!(floors.get(f.id).await.unwrap().unwrap().walls, walls);
            assert!(matches!(
                floors.set_walls(999_999, &walls).await,
                Err(StoreError::NotFound(_))
            ));

            // A plan image, and the size its scale gives.
            let png = b"\x89PNG\r\n\x1a\n-not-really-".to_vec();
            let g = floors
                .set_plan(f.id, &png, "image/png", Some((30.0, 15.0)))
                .await
                .unwrap();
            assert_eq!(
                (g.width_m, g.height_m, g.plan_type.as_deref()),
                (30.0, 15.0, Some("image/png"))
            );
            assert_eq!(
                floors.plan(f.id).await.unwrap(),
                Some((png, "image/png".to_string()))
            );

            // A placement writes the inventory's place too.
            let ap = h
                .store
                .aps()
                .add(&NewAp {
                    name: "ap-3f-1".into(),
                    address: "192.0.2.30".into(),
                    profile: "generic".into(),
                    ..NewAp::default()
                })
                .await
                .unwrap();
            let mut p = Placement {
                floor: f.id,
                x: 5.0,
                y: 6.0,
                z: 2.7,
                antenna_gain_dbi: 3.0,
                tx_power_dbm: BTreeMap::from([("5".to_string(), 20.0)]),
            };
            floors.place("ap-3f-1", &p).await.unwrap();
            p.x = 7.5;
            floors.place("ap-3f-1", &p).await.unwrap();
            let placed = floors.placements_in_building(f.building_id).await.unwrap();
            assert_eq!(placed.len(), 1);
            assert_eq!((placed[0].ap_id, &placed[0].placement), (ap.id, &p));
            let inv = h.store.aps().get("ap-3f-1").await.unwrap().unwrap();
            assert_eq!(
                (inv.spec.floor.as_deref(), inv.spec.x),
                (Some("F3"), Some(7.5))
            );
            assert!(matches!(
                floors.place("nope", &p).await,
                Err(StoreError::NotFound(_))
            ));
            p.tx_power_dbm.insert("7".into(), 10.0);
            assert!(matches!(
                floors.place("ap-3f-1", &p).await,
                Err(StoreError::Invalid(_))
            ));
            assert_eq!(
                floors.levels(f.building_id).await.unwrap().get(&f.id),
                Some(&3)
            );

            let point = floors
                .add_point(&SurveyPoint {
                    id: 0,
                    floor: f.id,
                    x: 3.0,
                    y: 4.0,
                    band: "5".into(),
                    ap: "ap-3f-1".into(),
                    rssi_dbm: -58.0,
                    source: "survey".into(),
                    taken_by: Some("alice".into()),
                    taken_at: 0,
                })
                .await
                .unwrap();
            assert!(point.id > 0 && point.taken_at > 0);
            assert_eq!(floors.points(f.id).await.unwrap(), vec![point.clone()]);
            let cal = BTreeMap::from([("5".to_string(), 33.5)]);
            assert_eq!(
                floors
                    .set_calibration(f.id, &cal)
                    .await
                    .unwrap()
                    .calibration,
                Some(cal)
            );

            // Removing the floor takes its placements and points along.
            assert!(floors.remove(f.id).await.unwrap());
            assert!(floors
                .placements_in_building(f.building_id)
                .await
                .unwrap()
                .is_empty());
            assert!(floors.points(f.id).await.unwrap().is_empty());
            assert!(!floors.unplace("ap-3f-1").await.unwrap());
        })
        .await;
    }
}
