//! The staff signal survey (issue 14): a staff member on the Wi-Fi opens
//! a floor's plan, taps where they stand, and Portico reads that phone's
//! signal from its AP's client table (the phone is known from its portal
//! session's MAC) and keeps it as a measured point for calibration. The
//! tap is an `<input type="image">`: it works without JavaScript, and its
//! pixel position over the plan drawn at a fixed width gives metres.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{field, parse_pairs, Page, St, CSRF_COOKIE};
use crate::coverage::service;
use crate::portal::{pages, tokens, PortalState};
use crate::store::floors::SurveyPoint;
use crate::store::portal_sessions::PortalSession;

/// The plan's width on the page (CSS pixels): fits a phone's screen.
pub const MAP_WIDTH_PX: u32 = 340;
/// A client sample older than this does not describe where the phone is.
pub const FRESH_MS: i64 = 5 * 60 * 1000;

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage<'a> {
    frame: pages::Frame<'a>,
    floors: Vec<(i64, String)>,
    current: Option<i64>,
    csrf: &'a str,
    map_width: u32,
    map_height: u32,
    result: Option<String>,
    result_error: bool,
}

/// The staff session of the device, or the page to answer instead.
async fn staff_session(state: &PortalState, page: &Page) -> Result<PortalSession, Response> {
    let session = match page.cookie(super::SESSION_COOKIE) {
        Some(token) => state
            .store
            .portal_sessions()
            .by_token(&tokens::hash_token(&token))
            .await
            .ok()
            .flatten()
            .filter(|s| s.is_active(state.clock.now_ms())),
        None => None,
    };
    match session {
        Some(s) if s.method == "staff" => Ok(s),
        Some(_) => {
            let m = page.t().survey_staff_only.clone();
            Err(page.error(StatusCode::FORBIDDEN, &m, None, "/portal/launcher"))
        }
        None => {
            let m = page.t().err_session.clone();
            Err(page.error(StatusCode::UNAUTHORIZED, &m, None, super::START_PATH))
        }
    }
}

async fn render(
    state: &PortalState,
    page: &Page,
    current: Option<i64>,
    result: Option<(String, bool)>,
) -> Response {
    let floors = match state.store.floors().list().await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "survey: floors");
            let m = page.t().err_internal.clone();
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &m,
                None,
                "/portal/launcher",
            );
        }
    };
    let map_height = current
        .and_then(|id| floors.iter().find(|f| f.id == id))
        .map_or(MAP_WIDTH_PX, |f| {
            ((f.height_m / f.width_m) * f64::from(MAP_WIDTH_PX))
                .round()
                .max(1.0) as u32
        });
    if current.is_some_and(|id| !floors.iter().any(|f| f.id == id)) {
        let m = page.t().survey_no_floors.clone();
        return page.error(StatusCode::NOT_FOUND, &m, None, "/portal/survey");
    }
    let csrf_cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&csrf_cookie);
    let (result, result_error) = match result {
        Some((m, e)) => (Some(m), e),
        None => (None, false),
    };
    let mut resp = page.html(
        StatusCode::OK,
        SurveyPage {
            frame: page.frame(),
            floors: floors
                .iter()
                .map(|f| (f.id, format!("{} / {}", f.building, f.name)))
                .collect(),
            current,
            csrf: &csrf,
            map_width: MAP_WIDTH_PX,
            map_height,
            result,
            result_error,
        }
        .render(),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        page.set_cookie(CSRF_COOKIE, &csrf_cookie, 3600),
    );
    resp
}

/// `GET /portal/survey`: the floors.
pub(super) async fn survey_home(State(state): State<St>, page: Page) -> Response {
    if let Err(r) = staff_session(&state, &page).await {
        return r;
    }
    render(&state, &page, None, None).await
}

fn floor_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok()
}

/// `GET /portal/survey/{floor}`: the plan to tap.
pub(super) async fn survey_floor(
    State(state): State<St>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff_session(&state, &page).await {
        return r;
    }
    render(&state, &page, floor_id(&id).or(Some(-1)), None).await
}

/// `GET /portal/survey/{floor}/plan`: the plan image, else the predicted
/// 5 GHz signal as a picture of the floor.
pub(super) async fn survey_plan(
    State(state): State<St>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff_session(&state, &page).await {
        return r;
    }
    let Some(id) = floor_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.store.floors().plan(id).await {
        Ok(Some((bytes, mime))) => return ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "survey: plan");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    let model = match service::load(&state.store, &state.coverage, id).await {
        Ok(m) => m,
        Err(_) => return StatusCode::NOT_FOUND.into_response(),
    };
    if model.grid.cells() > 2_000_000 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let png = tokio::task::spawn_blocking(move || {
        let cov = service::compute(model);
        service::heatmap_png(&cov, service::Band::B5g, service::Metric::Rssi)
    })
    .await;
    match png {
        Ok(Ok(png)) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `POST /portal/survey/{floor}`: `at.x`, `at.y` (pixels of the plan as
/// drawn) and the CSRF token.
pub(super) async fn survey_tap(
    State(state): State<St>,
    page: Page,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let session = match staff_session(&state, &page).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let form = parse_pairs(&body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        let m = page.t().err_csrf.clone();
        return page.error(StatusCode::FORBIDDEN, &m, Some("PT-105"), "/portal/survey");
    }
    let Some(floor_id) = floor_id(&id) else {
        return render(&state, &page, Some(-1), None).await;
    };
    let floor = match state.store.floors().get(floor_id).await {
        Ok(Some(f)) => f,
        _ => return render(&state, &page, Some(-1), None).await,
    };
    // The tap in pixels of the drawn plan (MAP_WIDTH_PX wide) → metres.
    let px = |k: &str| {
        field(&form, k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let (Some(ax), Some(ay)) = (px("at.x"), px("at.y")) else {
        let m = page.t().survey_tap.clone();
        return render(&state, &page, Some(floor_id), Some((m, true))).await;
    };
    let per_px = floor.width_m / f64::from(MAP_WIDTH_PX);
    let (x, y) = (
        (ax * per_px).clamp(0.0, floor.width_m),
        (ay * per_px).clamp(0.0, floor.height_m),
    );
    let now = state.clock.now_ms();
    let t = page.t().clone();
    let seen = match state
        .store
        .samples()
        .client_by_mac(&session.mac.to_string(), now - FRESH_MS)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "survey: client samples");
            None
        }
    };
    let Some(seen) = seen else {
        return render(
            &state,
            &page,
            Some(floor_id),
            Some((t.survey_not_seen, true)),
        )
        .await;
    };
    let Some(rssi) = seen.rssi else {
        return render(
            &state,
            &page,
            Some(floor_id),
            Some((t.survey_not_seen, true)),
        )
        .await;
    };
    let band = seen.band.unwrap_or("5").to_string();
    let point = SurveyPoint {
        id: 0,
        floor: floor_id,
        x,
        y,
        band: band.clone(),
        ap: seen.ap.clone(),
        rssi_dbm: rssi as f64,
        source: "survey".into(),
        taken_by: Some(session.identity.clone()),
        taken_at: now,
    };
    if let Err(e) = state.store.floors().add_point(&point).await {
        tracing::warn!(error = %e, "survey: point");
        let m = t.err_internal.clone();
        return render(&state, &page, Some(floor_id), Some((m, true))).await;
    }
    // What the model says at that spot, to show beside the measurement.
    let predicted = match service::load(&state.store, &state.coverage, floor_id).await {
        Ok(model) if model.grid.cells() <= 2_000_000 => {
            let (ap, band_l) = (seen.ap.clone(), band.clone());
            tokio::task::spawn_blocking(move || service::predicted_at(&model, &ap, &band_l, (x, y)))
                .await
                .ok()
                .flatten()
        }
        _ => None,
    };
    let mut msg = format!(
        "{}: {} · {} GHz · {rssi} dBm ({x:.1} m, {y:.1} m)",
        t.survey_saved, seen.ap, band
    );
    if let Some(p) = predicted {
        msg.push_str(&format!("; {} {p:.0} dBm", t.survey_predicted));
    }
    tracing::info!(floor = floor_id, ap = %seen.ap, rssi, x, y, identity = %session.identity, "survey point");
    render(&state, &page, Some(floor_id), Some((msg, false))).await
}
