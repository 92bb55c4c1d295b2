//! HTTP edge: two listeners with different audiences.
//!
//! - The portal listener (`http.listen`, and `portal.https_listen`) is
//!   reached by guests: the captive portal, the CAPPORT API, health and
//!   readiness. Nothing for admins is served there.
//! - The management listener (`admin.listen`): `/metrics` (Prometheus,
//!   optionally behind a bearer token), health and readiness, and the
//!   dashboard and API as they arrive.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct HttpState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
}

/// `/healthz` and `/readyz`, served on both listeners.
fn health(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The portal listener: health and readiness plus the captive portal and
/// CAPPORT API when enabled, and the OpenID Connect provider's routes. `https` marks the portal's HTTPS listener
/// (its cookies get `Secure`).
pub fn portal_router(
    state: HttpState,
    portal: Option<Arc<crate::portal::PortalState>>,
    https: bool,
    sso: Router,
    with_sso_pages: bool,
) -> Router {
    let base = health(state).merge(sso);
    match portal {
        Some(p) if https => base
            .merge(crate::portal::router(p, with_sso_pages))
            .layer(axum::Extension(crate::portal::web::Https)),
        Some(p) => base.merge(crate::portal::router(p, with_sso_pages)),
        None => base,
    }
}

/// The management listener: health, readiness and `/metrics`, plus
/// `extra` metrics routes (e.g. `/metrics/snmp`), all metrics behind
/// `metrics_token` when one is set.
pub fn admin_router(state: HttpState, metrics_token: Option<String>, extra: Router) -> Router {
    let metrics = Router::new()
        .route("/metrics", get(metrics))
        .with_state(state.clone())
        .merge(extra);
    let metrics = match metrics_token.filter(|t| !t.is_empty()) {
        Some(token) => metrics.layer(axum::middleware::from_fn_with_state(
            Arc::<str>::from(token),
            require_bearer,
        )),
        None => metrics,
    };
    health(state).merge(metrics)
}

/// `Authorization: Bearer <token>`, compared in constant time.
async fn require_bearer(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "bearer token required\n",
        )
            .into_response()
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

    async fn get(app: &Router, path: &str, auth: Option<&str>) -> (StatusCode, String) {
        let mut req = Request::get(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn metrics_only_on_the_admin_listener() {
        let (state, _dir) = state().await;
        state.metrics.accounting_rows.inc();
        let admin = admin_router(state.clone(), None, Router::new());
        let portal = portal_router(state, None, false, Router::new(), true);
        for (path, needle) in [
            ("/healthz", "ok"),
            ("/readyz", "ready"),
            ("/metrics", "portico_accounting_rows_total 1"),
        ] {
            let (status, text) = get(&admin, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(text.contains(needle), "{path}: {text}");
        }
        assert_eq!(get(&portal, "/healthz", None).await.0, StatusCode::OK);
        assert_eq!(
            get(&portal, "/metrics", None).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn metrics_token_is_required_when_set() {
        let (state, _dir) = state().await;
        let extra =
            Router::new().route("/metrics/snmp", axum::routing::get(|| async { "snmp 1\n" }));
        let admin = admin_router(state, Some("s3cret-token".into()), extra);
        assert_eq!(
            get(&admin, "/metrics", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&admin, "/metrics", Some("Bearer wrong")).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&admin, "/metrics/snmp", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&admin, "/metrics", Some("Bearer s3cret-token")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&admin, "/metrics/snmp", Some("Bearer s3cret-token"))
                .await
                .0,
            StatusCode::OK
        );
        // Health stays open for load balancers.
        assert_eq!(get(&admin, "/healthz", None).await.0, StatusCode::OK);
    }
}
