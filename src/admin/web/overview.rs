//! The overview's figures: computed at most every few seconds whatever the
//! number of admins watching (one computation, shared), and pushed to open
//! pages as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tokio::sync::Mutex;

use super::{AdminState, Caller, PageError, WebError};

/// How old the figures may be.
const FRESH_MS: i64 = 5_000;
/// How often an open page is sent new figures.
const PUSH_EVERY: Duration = Duration::from_secs(5);
/// The clients chart is recomputed at most this often.
const CHART_FRESH_MS: i64 = 60_000;

#[derive(Clone, Debug, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Overview {
    pub at_ms: i64,
    pub aps_up: i64,
    pub aps_down: i64,
    pub aps_unknown: i64,
    /// Open accounting sessions.
    pub clients_now: i64,
    /// Accepts plus rejects in the last minute.
    pub auth_per_minute: i64,
    /// Share of those accepted, percent (null without any).
    pub auth_success_percent: Option<f64>,
    /// RADIUS requests per second since the previous computation (this node).
    pub radius_per_second: f64,
    pub open_alerts: i64,
    pub top_by_clients: Vec<NamedCount>,
    pub top_by_utilization: Vec<NamedCount>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct NamedCount {
    pub name: String,
    pub value: i64,
}

#[derive(Default)]
struct Cached {
    overview: Option<Arc<Overview>>,
    radius_total: u64,
    /// A recomputation is running (callers get the previous figures).
    refreshing: bool,
    chart: Option<(i64, Arc<ChartData>)>,
    facets: Option<(i64, Arc<crate::store::search::ApFacets>)>,
}

/// The shared cache (one per listener).
#[derive(Clone, Default)]
pub struct OverviewCache {
    inner: Arc<Mutex<Cached>>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ChartData {
    /// Seconds since the epoch (uPlot's x axis).
    pub t: Vec<i64>,
    /// One line per series, values aligned with `t` (null: no sample).
    pub series: Vec<ChartSeries>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ChartSeries {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

impl OverviewCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The figures, recomputed when older than a few seconds: the first
    /// caller computes them; later, stale figures are answered at once
    /// while one background task recomputes (so no admin waits on it).
    pub async fn get(&self, state: &AdminState) -> Result<Arc<Overview>, WebError> {
        let now = state.now_ms();
        let mut c = self.inner.lock().await;
        match c.overview.clone() {
            Some(o) if now.saturating_sub(o.at_ms) < FRESH_MS => Ok(o),
            Some(stale) => {
                if !c.refreshing {
                    c.refreshing = true;
                    let (cache, state) = (self.clone(), state.clone());
                    tokio::spawn(async move {
                        if let Err(e) = cache.refresh(&state).await {
                            tracing::warn!(error = %e, "overview figures");
                        }
                        cache.inner.lock().await.refreshing = false;
                    });
                }
                Ok(stale)
            }
            None => {
                drop(c);
                self.refresh(state).await
            }
        }
    }

    async fn refresh(&self, state: &AdminState) -> Result<Arc<Overview>, WebError> {
        let now = state.now_ms();
        let total = radius_total(state);
        let (prev_total, prev_at) = {
            let c = self.inner.lock().await;
            (c.radius_total, c.overview.as_ref().map(|o| o.at_ms))
        };
        let rate = match prev_at {
            Some(at) if now > at => {
                total.saturating_sub(prev_total) as f64 * 1000.0 / (now - at) as f64
            }
            _ => 0.0,
        };
        let o = Arc::new(compute(state, now, rate).await?);
        let mut c = self.inner.lock().await;
        c.radius_total = total;
        c.overview = Some(o.clone());
        Ok(o)
    }

    /// The APs' buildings, floors and profiles (for the filters), at most
    /// a minute old.
    pub async fn ap_facets(
        &self,
        state: &AdminState,
    ) -> Result<Arc<crate::store::search::ApFacets>, WebError> {
        let now = state.now_ms();
        if let Some((at, f)) = &self.inner.lock().await.facets {
            if now.saturating_sub(*at) < CHART_FRESH_MS {
                return Ok(f.clone());
            }
        }
        let f = Arc::new(state.store.search().ap_facets().await?);
        self.inner.lock().await.facets = Some((now, f.clone()));
        Ok(f)
    }

    async fn chart(&self, state: &AdminState) -> Result<Arc<ChartData>, WebError> {
        let now = state.now_ms();
        let mut c = self.inner.lock().await;
        if let Some((at, d)) = &c.chart {
            if now.saturating_sub(*at) < CHART_FRESH_MS {
                return Ok(d.clone());
            }
        }
        let series = state
            .store
            .search()
            .clients_series(now - 86_400_000, 300_000)
            .await?;
        let d = Arc::new(ChartData {
            t: series.iter().map(|(t, _)| t / 1000).collect(),
            series: vec![ChartSeries {
                label: "clients".into(),
                values: series.iter().map(|(_, n)| Some(*n as f64)).collect(),
            }],
        });
        c.chart = Some((now, d.clone()));
        Ok(d)
    }
}

fn radius_total(state: &AdminState) -> u64 {
    state
        .metrics
        .radius_requests_all
        .load(std::sync::atomic::Ordering::Relaxed)
}

async fn compute(
    state: &AdminState,
    now: i64,
    radius_per_second: f64,
) -> Result<Overview, WebError> {
    let search = state.store.search();
    let counts = search.ap_counts().await?;
    let clients_now = search.open_session_count().await?;
    let (ok, failed) = search.auth_outcomes_since(now - 60_000).await?;
    let open_alerts = i64::try_from(state.store.alerts().open().await?.len()).unwrap_or(i64::MAX);
    let named = |v: Vec<(String, i64)>| {
        v.into_iter()
            .map(|(name, value)| NamedCount { name, value })
            .collect()
    };
    Ok(Overview {
        at_ms: now,
        aps_up: counts.up,
        aps_down: counts.down,
        aps_unknown: counts.unknown,
        clients_now,
        auth_per_minute: ok + failed,
        auth_success_percent: (ok + failed > 0)
            .then(|| (ok as f64 * 1000.0 / (ok + failed) as f64).round() / 10.0),
        radius_per_second: (radius_per_second * 10.0).round() / 10.0,
        open_alerts,
        top_by_clients: named(search.top_aps_by_clients(5).await?),
        top_by_utilization: named(search.top_aps_by_utilization(now - 900_000, 5).await?),
    })
}

/// `GET /events/overview`: the figures as JSON `overview` events, every
/// few seconds, while the page is open.
pub async fn events(State(state): State<AdminState>, headers: axum::http::HeaderMap) -> Response {
    let start = (state, headers, true);
    let stream = futures_util::stream::unfold(start, |(state, headers, first)| async move {
        if !first {
            tokio::time::sleep(PUSH_EVERY).await;
            // Signed out, disabled or timed out: the stream ends too.
            if !super::still_signed_in(&state, &headers).await {
                return None;
            }
        }
        let data = match state.overview.get(&state).await {
            Ok(o) => serde_json::to_string(&*o).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "overview figures");
                String::new()
            }
        };
        let event = Event::default().event("overview").data(data);
        Some((Ok::<_, Infallible>(event), (state, headers, false)))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /overview/clients.json`: the 24 h clients chart.
pub async fn clients_chart(
    State(state): State<AdminState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<Arc<ChartData>>, PageError> {
    state
        .overview
        .chart(&state)
        .await
        .map(Json)
        .map_err(|e| PageError(e, caller.lang))
}
