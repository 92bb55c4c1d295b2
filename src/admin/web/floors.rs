//! Floors and coverage in the API (issue 14): floors, walls, areas, plan
//! images, AP placements, measured points, and the prediction as JSON,
//! PNG, KPIs and a channel plan. Every change is audited.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::{ApiJson, ApiQuery};
use super::{AdminState, ApiError, Caller, WebError};
use crate::admin::audit::Outcome;
use crate::coverage::service::{self, Band, CoverageError, FloorCoverage, MaterialFit, Metric};
use crate::store::floors::{Area, Floor, FloorWall, NewFloor, Placement, SurveyPoint};

type ApiResult<T> = Result<T, ApiError>;

/// Most cells one prediction may have (a 700 m × 700 m floor at 0.5 m).
pub const MAX_CELLS: usize = 2_000_000;
/// Largest plan image accepted (bytes).
pub const MAX_PLAN_BYTES: usize = 12 * 1024 * 1024;

impl From<CoverageError> for WebError {
    fn from(e: CoverageError) -> Self {
        match e {
            CoverageError::Store(s) => s.into(),
            CoverageError::Invalid(m) => WebError::BadRequest(m),
        }
    }
}

pub(super) async fn audit(
    state: &AdminState,
    c: &Caller,
    action: &str,
    target: &str,
    summary: serde_json::Value,
) -> Result<(), WebError> {
    state
        .audit()
        .record(&c.actor(), action, target, Outcome::Ok, summary)
        .await?;
    Ok(())
}

pub(super) fn floor_id(id: &str) -> Result<i64, WebError> {
    id.parse::<i64>()
        .map_err(|_| WebError::NotFound(format!("floor {id}")))
}

async fn floor_of(state: &AdminState, id: &str) -> Result<Floor, WebError> {
    let id = floor_id(id)?;
    state
        .store
        .floors()
        .get(id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("floor {id}")))
}

/// Predicts a floor on a blocking thread.
pub async fn coverage_of(state: &AdminState, id: i64) -> Result<FloorCoverage, WebError> {
    let cfg = &state.config.coverage;
    let model = service::load(&state.store, cfg, id).await?;
    if model.grid.cells() > MAX_CELLS {
        return Err(WebError::BadRequest(format!(
            "the floor has {} cells at coverage.resolution = {} m: at most {MAX_CELLS}",
            model.grid.cells(),
            cfg.resolution
        )));
    }
    tokio::task::spawn_blocking(move || service::compute(model))
        .await
        .map_err(|e| WebError::Internal(format!("prediction: {e}")))
}

#[derive(Serialize)]
struct FloorAnswer {
    #[serde(flatten)]
    floor: Floor,
    aps: Vec<service::Site>,
    points: usize,
}

/// `GET /api/v1/floors`.
pub async fn floors(State(state): State<AdminState>) -> ApiResult<Response> {
    let all = state.store.floors().list().await.map_err(WebError::from)?;
    Ok(Json(json!({ "items": all })).into_response())
}

/// `POST /api/v1/floors`: `{"building", "name", "level", "width_m", "height_m"}`.
pub async fn floor_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewFloor>,
) -> ApiResult<Response> {
    let f = state.store.floors().add(&b).await.map_err(WebError::from)?;
    audit(
        &state,
        &c,
        "floor.add",
        &format!("{}/{}", f.building, f.name),
        json!({"id": f.id, "level": f.level, "width_m": f.width_m, "height_m": f.height_m}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

/// `GET /api/v1/floors/{id}`: the floor, its walls and areas, the APs
/// placed on it (with what the model knows of their radios).
pub async fn floor(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult<Response> {
    let f = floor_of(&state, &id).await?;
    let model = service::load(&state.store, &state.config.coverage, f.id)
        .await
        .map_err(WebError::from)?;
    let points = state
        .store
        .floors()
        .points(f.id)
        .await
        .map_err(WebError::from)?
        .len();
    let aps = model
        .sites
        .into_iter()
        .filter(|s| s.floor == f.id)
        .collect();
    Ok(Json(FloorAnswer {
        floor: model.floor,
        aps,
        points,
    })
    .into_response())
}

/// `PUT /api/v1/floors/{id}/walls`: replaces the walls.
pub async fn floor_walls(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(walls): ApiJson<Vec<FloorWall>>,
) -> ApiResult<Response> {
    let f = floor_of(&state, &id).await?;
    let id = f.id;
    service::check_materials(&walls, &f.materials).map_err(WebError::from)?;
    let f = state
        .store
        .floors()
        .set_walls(id, &walls)
        .await
        .map_err(WebError::from)?;
    audit(
        &state,
        &c,
        "floor.walls",
        &format!("{}/{}", f.building, f.name),
        json!({"walls": walls.len()}),
    )
    .await?;
    Ok(Json(f).into_response())
}

/// `PUT /api/v1/floors/{id}/areas`: replaces the outline, excluded zones
/// and rooms.
pub async fn floor_areas(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(areas): ApiJson<Vec<Area>>,
) -> ApiResult<Response> {
    let id = floor_id(&id)?;
    let f = state
        .store
        .floors()
        .set_areas(id, &areas)
        .await
        .map_err(WebError::from)?;
    audit(
        &state,
        &c,
        "floor.areas",
        &format!("{}/{}", f.building, f.name),
        json!({"areas": areas.len()}),
    )
    .await?;
    Ok(Json(f).into_response())
}

/// `PUT /api/v1/floors/{id}/plan`: the plan image (PNG or JPEG body, or
/// SVG, rasterised once);
/// `?scale_px_per_m=` sets the floor's size from the image.
#[derive(Deserialize)]
pub struct PlanParams {
    scale_px_per_m: Option<f64>,
}

/// The pixel size of a PNG or JPEG, from its header.
pub fn image_size(bytes: &[u8]) -> Option<(&'static str, u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() >= 24 {
        let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
        return Some(("image/png", w, h));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // Walk the JPEG segments to a start-of-frame marker.
        let mut i = 2usize;
        while i + 9 < bytes.len() {
            if *bytes.get(i)? != 0xFF {
                return None;
            }
            let marker = *bytes.get(i + 1)?;
            let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
            if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                let h = u16::from_be_bytes([*bytes.get(i + 5)?, *bytes.get(i + 6)?]);
                let w = u16::from_be_bytes([*bytes.get(i + 7)?, *bytes.get(i + 8)?]);
                return Some(("image/jpeg", u32::from(w), u32::from(h)));
            }
            i += 2 + len;
        }
    }
    None
}

pub async fn floor_plan_put(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PlanParams>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = floor_id(&id)?;
    if q.scale_px_per_m
        .is_some_and(|s| !(s.is_finite() && s > 0.0))
    {
        return Err(WebError::BadRequest("scale_px_per_m must be above 0".into()).into());
    }
    let f = super::coverage_views::store_plan(&state, &c, id, &body, q.scale_px_per_m).await?;
    Ok(Json(f).into_response())
}

/// `GET /api/v1/floors/{id}/plan`: the plan image.
pub async fn floor_plan(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = floor_id(&id)?;
    let (bytes, mime) = state
        .store
        .floors()
        .plan(id)
        .await
        .map_err(WebError::from)?
        .ok_or_else(|| WebError::NotFound(format!("plan of floor {id}")))?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// `PUT /api/v1/aps/{name}/placement`.
pub async fn ap_placement(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(p): ApiJson<Placement>,
) -> ApiResult<Response> {
    let placed = state
        .store
        .floors()
        .place(&name, &p)
        .await
        .map_err(WebError::from)?;
    audit(
        &state,
        &c,
        "ap.place",
        &name,
        json!({"floor": p.floor, "x": p.x, "y": p.y, "z": p.z}),
    )
    .await?;
    Ok(Json(placed).into_response())
}

#[derive(Deserialize)]
pub struct CoverageParams {
    band: Option<String>,
    metric: Option<String>,
}

fn band_metric(q: &CoverageParams) -> Result<(Band, Metric), WebError> {
    let band = match q.band.as_deref() {
        None => Band::B5g,
        Some(b) => Band::parse(b)
            .ok_or_else(|| WebError::BadRequest(format!("band {b:?}: give 2.4, 5 or 6")))?,
    };
    let metric = match q.metric.as_deref() {
        None => Metric::Rssi,
        Some(m) => Metric::parse(m).ok_or_else(|| {
            WebError::BadRequest(format!(
                "metric {m:?}: give rssi, second, snr, contention or ap"
            ))
        })?,
    };
    Ok((band, metric))
}

/// `GET /api/v1/floors/{id}/coverage?band=5&metric=rssi`.
pub async fn floor_coverage(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<CoverageParams>,
) -> ApiResult<Response> {
    let (band, metric) = band_metric(&q)?;
    let id = floor_id(&id)?;
    let cov = coverage_of(&state, id).await?;
    let g = cov.model.grid;
    let aps: Vec<&str> = cov.model.sites.iter().map(|s| s.ap.as_str()).collect();
    Ok(Json(json!({
        "floor": id,
        "band": service::band_label(band),
        "metric": q.metric.as_deref().unwrap_or("rssi"),
        "resolution_m": g.resolution_m,
        "width": g.width,
        "height": g.height,
        "origin": [g.origin_x, g.origin_y],
        "aps": if metric == Metric::Ap { Some(aps) } else { None },
        "values": cov.values(band, metric),
    }))
    .into_response())
}

/// `GET /api/v1/floors/{id}/coverage.png?band=5&metric=rssi`: one pixel
/// per cell, transparent outside the outline.
pub async fn floor_coverage_png(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<CoverageParams>,
) -> ApiResult<Response> {
    let (band, metric) = band_metric(&q)?;
    let cov = coverage_of(&state, floor_id(&id)?).await?;
    let png = service::heatmap_png(&cov, band, metric).map_err(WebError::from)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// `GET /api/v1/floors/{id}/kpi`.
pub async fn floor_kpi(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let cov = coverage_of(&state, floor_id(&id)?).await?;
    Ok(Json(cov.report()).into_response())
}

#[derive(Deserialize)]
pub struct PlanQuery {
    band: Option<String>,
    width: Option<u16>,
    dfs: Option<bool>,
    format: Option<String>,
}

/// `GET /api/v1/floors/{id}/channel-plan?band=5&width=20&dfs=false`
/// (`&format=csv` for the CSV).
pub async fn floor_channel_plan(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PlanQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let band = match q.band.as_deref() {
        None => Band::B5g,
        Some(b) => Band::parse(b)
            .ok_or_else(|| WebError::BadRequest(format!("band {b:?}: give 2.4, 5 or 6")))?,
    };
    let width = q.width.unwrap_or(20);
    if !matches!(width, 20 | 40 | 80) {
        return Err(WebError::BadRequest("width: give 20, 40 or 80".into()).into());
    }
    let cov = coverage_of(&state, floor_id(&id)?).await?;
    let region = state.config.coverage.region.clone();
    let plan = tokio::task::spawn_blocking(move || {
        cov.channel_plan(band, width, q.dfs.unwrap_or(false), &region)
    })
    .await
    .map_err(|e| WebError::Internal(format!("channel plan: {e}")))?
    .map_err(WebError::from)?;
    let wants_csv = q.format.as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/csv"));
    if wants_csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            plan.csv,
        )
            .into_response());
    }
    Ok(Json(plan).into_response())
}

/// A measured point: `{"x", "y", "band", "ap", "rssi_dbm"}`.
#[derive(Deserialize)]
pub struct PointBody {
    x: f64,
    y: f64,
    band: String,
    ap: String,
    rssi_dbm: f64,
    #[serde(default)]
    source: Option<String>,
}

/// `POST /api/v1/floors/{id}/points`.
pub async fn floor_point(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PointBody>,
) -> ApiResult<Response> {
    let floor = floor_id(&id)?;
    let source = b.source.unwrap_or_else(|| "survey".into());
    if !matches!(source.as_str(), "survey" | "neighbour") {
        return Err(WebError::BadRequest("source: survey or neighbour".into()).into());
    }
    let saved = record_point(
        &state,
        &c,
        floor,
        (b.x, b.y),
        &b.band,
        &b.ap,
        b.rssi_dbm,
        &source,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// Keeps a measured point taken by the caller, audited.
#[allow(clippy::too_many_arguments)]
pub(super) async fn record_point(
    state: &AdminState,
    c: &Caller,
    floor: i64,
    (x, y): (f64, f64),
    band: &str,
    ap: &str,
    rssi_dbm: f64,
    source: &str,
) -> Result<SurveyPoint, WebError> {
    let saved = state
        .store
        .floors()
        .add_point(&SurveyPoint {
            id: 0,
            floor,
            x,
            y,
            band: band.to_string(),
            ap: ap.to_string(),
            rssi_dbm,
            source: source.to_string(),
            taken_by: Some(c.username.clone()),
            taken_at: 0,
        })
        .await?;
    audit(
        state,
        c,
        "floor.point",
        &floor.to_string(),
        json!({"ap": saved.ap, "band": saved.band, "rssi_dbm": saved.rssi_dbm, "source": saved.source}),
    )
    .await?;
    Ok(saved)
}

/// `POST /api/v1/floors/{id}/calibrate`: fits N per band to the measured
/// points and keeps it for the floor's predictions.
pub async fn floor_calibrate(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = floor_id(&id)?;
    let (fits, kept) = calibrate_floor(&state, &c, id).await?;
    Ok(Json(json!({"floor": id, "fits": fits, "exponents": kept})).into_response())
}

/// Fits the floor's model to its measured points and the neighbour
/// reports of the last day, keeps N and the material factors (rounded to
/// 0.01) for its predictions, audited. The fits and what is kept.
pub(super) async fn calibrate_floor(
    state: &AdminState,
    c: &Caller,
    id: i64,
) -> Result<(BTreeMap<&'static str, MaterialFit>, BTreeMap<String, f64>), WebError> {
    let model = service::load(&state.store, &state.config.coverage, id).await?;
    let points = state.store.floors().points(id).await?;
    let neighbours = state
        .store
        .samples()
        .neighbours(crate::clock::now_ms() - service::NEIGHBOUR_WINDOW_MS)
        .await?;
    let fits = service::calibrate(&model, &points, &neighbours);
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let mut kept: BTreeMap<String, f64> = model.floor.calibration.clone().unwrap_or_default();
    for (band, fit) in &fits {
        kept.insert((*band).to_string(), round(fit.n));
        for (material, factor) in &fit.factors {
            kept.insert(format!("{band}/{material}"), round(*factor));
        }
    }
    state.store.floors().set_calibration(id, &kept).await?;
    audit(
        state,
        c,
        "floor.calibrate",
        &id.to_string(),
        json!({"fits": fits}),
    )
    .await?;
    Ok((fits, kept))
}

/// `PUT /api/v1/buildings/{name}/materials`: the building's own losses,
/// `{"concrete": [14, 17, 19], "glass-low-e": [6, 9, 10]}` (dB at 2.4, 5
/// and 6 GHz), overriding or adding to the default table.
pub async fn building_materials(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    ApiJson(m): ApiJson<BTreeMap<String, [f64; 3]>>,
) -> ApiResult<Response> {
    state
        .store
        .floors()
        .set_materials(&name, &m)
        .await
        .map_err(WebError::from)?;
    audit(
        &state,
        &c,
        "building.materials",
        &name,
        json!({"materials": m}),
    )
    .await?;
    Ok(Json(json!({"building": name, "materials": m})).into_response())
}

#[cfg(test)]
mod tests {
    use super::image_size;

    #[test]
    fn plan_image_sizes_from_headers_and_garbage_refused() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&1200u32.to_be_bytes());
        png.extend_from_slice(&800u32.to_be_bytes());
        assert_eq!(image_size(&png), Some(("image/png", 1200, 800)));
        // A JPEG: SOI, an APP0 segment, then SOF0 with height 600, width 900.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x02,
            0x58, 0x03, 0x84, 0x01, 0x01, 0x11, 0x00,
        ];
        assert_eq!(image_size(&jpeg), Some(("image/jpeg", 900, 600)));
        for bad in [
            &b""[..],
            b"\x89PNG\r\n\x1a\n",
            &[0xFF, 0xD8],
            &[
                0xFF, 0xD8, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
            ],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0],
            b"<svg/>",
            b"GIF89a..........",
        ] {
            assert_eq!(image_size(bad), None, "{bad:?}");
        }
    }
}
