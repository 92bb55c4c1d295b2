//! HTTP edge: health, readiness and metrics (the portal, dashboard and API
//! mount here as they arrive).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct HttpState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The full HTTP surface: health, readiness and metrics plus the captive
/// portal and CAPPORT API when enabled. `https` marks the portal's HTTPS
/// listener (its cookies get `Secure`).
pub fn router_with_portal(
    state: HttpState,
    portal: Option<Arc<crate::portal::PortalState>>,
    https: bool,
) -> Router {
    let base = router(state);
    match portal {
        Some(p) if https => base
            .merge(crate::portal::router(p))
            .layer(axum::Extension(crate::portal::web::Https)),
        Some(p) => base.merge(crate::portal::router(p)),
        None => base,
    }
}

/// The process is up and serving HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The store answers: the node can take traffic.
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn state() -> (HttpState, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("", dir.path(), 2).await.unwrap();
        (
            HttpState {
                store,
                metrics: Arc::new(Metrics::new()),
            },
            dir,
        )
    }

    #[tokio::test]
    async fn health_ready_metrics() {
        let (state, _dir) = state().await;
        state.metrics.accounting_rows.inc();
        let app = router(state);
        for (path, needle) in [
            ("/healthz", "ok"),
            ("/readyz", "ready"),
            ("/metrics", "portico_accounting_rows_total 1"),
        ] {
            let resp = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains(needle), "{path}: {text}");
        }
    }
}
