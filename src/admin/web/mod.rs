//! The dashboard and the JSON API on the management listener.
//!
//! Every route is one line of [`routes::ROUTES`]: method, path and the
//! [`Permission`] it needs. The router is built from that table and the
//! role matrix test walks the same table, so a route cannot be added
//! without a permission or escape the test.
//!
//! Requests pass, in order: security headers (all), who is asking
//! ([`guard`]: a bearer token or a signed-in session cookie), the CSRF
//! check for changes made with a cookie, and the route's permission.
//! Handlers by concern: `signin` (password, TOTP, first-sign-in setup),
//! `pages` (HTML), `api` (JSON and OpenAPI), `overview` (the cached
//! figures and their event stream), `export` (streamed CSV).

pub mod api;
pub mod coverage_views;
pub mod export;
pub mod floors;
pub mod i18n;
pub mod overview;
pub mod pages;
pub mod reasons;
pub mod routes;
pub mod signin;
pub mod sso_pages;
pub mod views;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use self::i18n::Lang;
use super::accounts::{secret_hash, Accounts};
use super::audit::{Actor, Auditor, Outcome};
use super::roles::{allows, Permission};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::AdminRole;
use crate::lockout::AccountLockout;
use crate::metrics::Metrics;
use crate::store::admin_sessions::Stage;
use crate::store::Store;

/// The session cookie. `__Host-`: the browser keeps it only when set
/// Secure, from this host, for path `/`.
pub const SESSION_COOKIE: &str = "__Host-portico_admin";
/// Requests with a body larger than this are refused (CSV imports are the
/// largest legitimate ones).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AdminState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub accounts: Accounts,
    pub lockout: AccountLockout,
    pub metrics: Arc<Metrics>,
    pub overview: overview::OverviewCache,
    /// Password and code attempts per client (IPv4 address or IPv6 /64),
    /// beside the per-account lockout: one address cannot try many names.
    pub sign_in_attempts: Arc<crate::rate_limit::RateLimiter<IpAddr>>,
}

/// Sign-in attempts (password or code) one client may make per minute.
pub const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 20;

impl AdminState {
    pub fn new(store: Store, config: Arc<Config>, auditor: Auditor, metrics: Arc<Metrics>) -> Self {
        Self::with_clock(store, config, auditor, metrics, Clock::System)
    }

    pub fn with_clock(
        store: Store,
        config: Arc<Config>,
        auditor: Auditor,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Self {
        let accounts = Accounts::new(store.clone(), auditor, config.admin.role_separation);
        let lockout = AccountLockout::new(store.clone(), (&config.portal.account_lockout).into());
        AdminState {
            overview: overview::OverviewCache::new(),
            sign_in_attempts: Arc::new(crate::rate_limit::RateLimiter::new(
                SIGN_IN_ATTEMPTS_PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
            store,
            config,
            clock,
            accounts,
            lockout,
            metrics,
        }
    }

    pub fn audit(&self) -> &Auditor {
        self.accounts.audit()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn idle_ms(&self) -> i64 {
        i64::try_from(self.config.admin.idle_timeout.as_millis()).unwrap_or(i64::MAX)
    }
}

/// The administrator a request acts for (inserted by [`guard`]).
#[derive(Clone, Debug)]
pub struct Caller {
    pub username: String,
    pub role: AdminRole,
    pub origin: String,
    /// The session's CSRF token; `None` for a bearer token.
    pub csrf: Option<String>,
    pub lang: Lang,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::admin(&self.username, self.role, &self.origin)
    }

    pub fn may(&self, p: Permission) -> bool {
        allows(self.role, p)
    }
}

/// Pages answer in HTML, the API in problem+json.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Page,
    Api,
}

/// The client's address: the TCP peer (the management listener is not
/// behind the portal's proxies).
pub fn client_ip(req_ext: &axum::http::Extensions) -> Option<IpAddr> {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            req_ext
                .get::<ConnectInfo<crate::tls::TlsPeer>>()
                .map(|c| c.0 .0.ip())
        })
}

pub fn origin_of(ext: &axum::http::Extensions) -> String {
    client_ip(ext)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "-".into())
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Headers on every answer of the management listener. The CSP allows
/// only Portico's own scripts and styles: no inline code.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(h, "cache-control", "no-store");
    // Ignored by browsers over plain HTTP (behind a TLS proxy it is the
    // proxy's to set), kept for HTTPS.
    set(h, "strict-transport-security", "max-age=31536000");
    res
}

/// What [`guard`] needs to know about the route it protects.
#[derive(Clone, Copy, Debug)]
pub struct RouteGuard {
    pub permission: Permission,
    pub surface: Surface,
}

/// Who is asking, whether a change carries its CSRF proof, and whether the
/// role may use the route.
pub async fn guard(
    State((state, route)): State<(AdminState, RouteGuard)>,
    mut req: Request,
    next: Next,
) -> Response {
    let lang = Lang::from_headers(req.headers());
    let origin = origin_of(req.extensions());
    let now = state.now_ms();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let caller = if let Some(token) = bearer {
        match token_caller(&state, &token, &origin, lang, now).await {
            Ok(Some(c)) => c,
            Ok(None) => return unauthenticated(route.surface, true),
            Err(e) => return WebError::Store(e).respond(route.surface, lang),
        }
    } else {
        let id = cookie(req.headers(), SESSION_COOKIE).map(str::to_string);
        let Some(id) = id else {
            return unauthenticated(route.surface, false);
        };
        match session_caller(&state, &id, &origin, lang, now).await {
            Ok(Some(c)) => c,
            Ok(None) => return unauthenticated(route.surface, false),
            Err(e) => return WebError::Store(e).respond(route.surface, lang),
        }
    };
    // No text Portico stores or searches holds a NUL (PostgreSQL refuses
    // it outright): refused here, once, for every route.
    if req
        .uri()
        .query()
        .is_some_and(|q| q.to_ascii_lowercase().contains("%00"))
    {
        return WebError::BadRequest("the query holds a NUL character".into())
            .respond(route.surface, lang);
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        if let Some(expected) = caller.csrf.clone() {
            match check_csrf(req, &expected).await {
                Ok(r) => req = r,
                Err(resp) => return resp.respond(route.surface, lang),
            }
        }
    }
    if !caller.may(route.permission) {
        let path = req.uri().path().to_string();
        let _ = state
            .audit()
            .record(
                &caller.actor(),
                "access.denied",
                &path,
                Outcome::Denied,
                serde_json::json!({"method": req.method().as_str(), "needs": route.permission.name()}),
            )
            .await;
        return WebError::Forbidden.respond(route.surface, lang);
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Whether the request's session or token is still good (for a stream
/// that outlives the request: a sign-out or disable ends it).
pub async fn still_signed_in(state: &AdminState, headers: &HeaderMap) -> bool {
    let now = state.now_ms();
    let lang = Lang::Zh;
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return matches!(
            token_caller(state, token.trim(), "-", lang, now).await,
            Ok(Some(_))
        );
    }
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|id| id.len() <= 128) else {
        return false;
    };
    let live = state
        .store
        .admin_sessions()
        .peek(&secret_hash(id), now, state.idle_ms())
        .await;
    let Ok(Some(s)) = live else {
        return false;
    };
    matches!(state.store.admins().get(&s.username).await, Ok(Some(a)) if !a.disabled)
}

async fn token_caller(
    state: &AdminState,
    token: &str,
    origin: &str,
    lang: Lang,
    now: i64,
) -> Result<Option<Caller>, crate::store::StoreError> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    let Some(t) = state
        .store
        .admin_sessions()
        .use_token(&secret_hash(token), now)
        .await?
    else {
        return Ok(None);
    };
    let Some(admin) = state.store.admins().get(&t.username).await? else {
        return Ok(None);
    };
    if admin.disabled {
        return Ok(None);
    }
    // Token use is audited, at most once a minute per token (the store
    // moved last_used_at just now when it was older).
    if t.last_used_at == Some(now) {
        let _ = state
            .audit()
            .record(
                &Actor::admin(&admin.username, admin.role, origin),
                "token.use",
                &format!("{}/{}", admin.username, t.name),
                Outcome::Ok,
                serde_json::json!({}),
            )
            .await;
    }
    Ok(Some(Caller {
        username: admin.username,
        role: admin.role,
        origin: origin.to_string(),
        csrf: None,
        lang,
    }))
}

async fn session_caller(
    state: &AdminState,
    id: &str,
    origin: &str,
    lang: Lang,
    now: i64,
) -> Result<Option<Caller>, crate::store::StoreError> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    let Some(s) = state
        .store
        .admin_sessions()
        .touch(&secret_hash(id), now, state.idle_ms())
        .await?
    else {
        return Ok(None);
    };
    if s.stage != Stage::Ready {
        return Ok(None);
    }
    let Some(admin) = state.store.admins().get(&s.username).await? else {
        return Ok(None);
    };
    if admin.disabled {
        return Ok(None);
    }
    Ok(Some(Caller {
        username: admin.username,
        role: admin.role,
        origin: origin.to_string(),
        csrf: Some(s.csrf),
        lang,
    }))
}

/// A change made with a session cookie must come from our own pages:
/// `Sec-Fetch-Site` (when the browser sends it) is same-origin, and the
/// session's CSRF token is in the `X-CSRF-Token` header, the form field
/// `csrf` (URL-encoded forms) or the query (`?csrf=`, for file uploads).
pub async fn check_csrf(req: Request, expected: &str) -> Result<Request, WebError> {
    use subtle::ConstantTimeEq;
    let same = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(site) = req.headers().get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin") | Ok("none")) {
            return Err(WebError::Csrf);
        }
    }
    if let Some(h) = req.headers().get("x-csrf-token") {
        return if h.to_str().is_ok_and(same) {
            Ok(req)
        } else {
            Err(WebError::Csrf)
        };
    }
    let in_query = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
    });
    if let Some(q) = in_query {
        return if same(&q) {
            Ok(req)
        } else {
            Err(WebError::Csrf)
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(WebError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| WebError::BadRequest("the form is too large".into()))?;
    if bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
        return Err(WebError::BadRequest(
            "the form holds a NUL character".into(),
        ));
    }
    let ok = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .is_some_and(|(_, v)| same(&v));
    if !ok {
        return Err(WebError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn unauthenticated(surface: Surface, token: bool) -> Response {
    match surface {
        Surface::Api => problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            if token {
                "the bearer token is unknown, expired, revoked, or its administrator is disabled"
            } else {
                "sign in, or send Authorization: Bearer <token>"
            },
        ),
        Surface::Page => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/login"))],
        )
            .into_response(),
    }
}

/// An RFC 9457 problem document.
pub fn problem(status: StatusCode, kind: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://portico.invalid/problems/{kind}"),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// Why a request failed, shown as a page or a problem document.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request did not carry this session's CSRF token")]
    Csrf,
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<super::accounts::AccountError> for WebError {
    fn from(e: super::accounts::AccountError) -> Self {
        use super::accounts::AccountError as A;
        match e {
            A::Rule(m) => WebError::BadRequest(m),
            A::Store(s) => s.into(),
            A::Hash(m) => WebError::Internal(m),
        }
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        use crate::store::StoreError as S;
        match self {
            WebError::Forbidden | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound(_) | WebError::Store(S::NotFound(_)) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) | WebError::Store(S::Invalid(_)) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) | WebError::Store(S::Conflict(_)) => StatusCode::CONFLICT,
            WebError::Store(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self.status() {
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::BAD_REQUEST => "bad-request",
            StatusCode::CONFLICT => "conflict",
            _ => "internal",
        }
    }

    /// The detail shown: internal causes stay in the log.
    fn public_detail(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "dashboard request failed");
            "internal error; the server log has the details".into()
        } else {
            self.to_string()
        }
    }

    pub fn respond(self, surface: Surface, lang: Lang) -> Response {
        let status = self.status();
        let detail = self.public_detail();
        match surface {
            Surface::Api => problem(status, self.kind(), &detail),
            Surface::Page => views::error_page(lang, status, &detail),
        }
    }
}

/// A page handler's error: rendered as a page in the caller's language.
pub struct PageError(pub WebError, pub Lang);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.respond(Surface::Page, self.1)
    }
}

/// An API handler's error: a problem document.
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.respond(Surface::Api, Lang::En)
    }
}

pub use routes::router;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::admin_sessions::NewAdminSession;
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use tower::ServiceExt;

    const START: i64 = 1_800_000_000_000;

    async fn signed_in_state() -> (axum::Router, Clock, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("", dir.path(), 2).await.unwrap();
        let clock = Clock::manual(START);
        let auditor = Auditor::new(store.clone(), clock.clone(), None);
        let config = Arc::new(Config::default());
        store
            .admins()
            .create(
                "op",
                &crate::credentials::hash_password("Op-Password-2026").unwrap(),
                AdminRole::Operator,
            )
            .await
            .unwrap();
        let id = super::super::accounts::random_secret();
        store
            .admin_sessions()
            .create(&NewAdminSession {
                id_hash: &secret_hash(&id),
                username: "op",
                stage: Stage::Ready,
                csrf: "c",
                now_ms: START,
                expires_at: START + 8 * 3_600_000,
                ip: None,
                user_agent: None,
            })
            .await
            .unwrap();
        let state = AdminState::with_clock(
            store,
            config,
            auditor,
            Arc::new(Metrics::new()),
            clock.clone(),
        );
        (router(state), clock, id, dir)
    }

    async fn status(app: &axum::Router, id: &str, path: &str) -> (StatusCode, String) {
        let req = HttpRequest::get(path)
            .header("cookie", format!("{SESSION_COOKIE}={id}"))
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let loc = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (res.status(), loc)
    }

    #[tokio::test]
    async fn an_idle_session_ends_after_the_idle_timeout() {
        let (app, clock, id, _dir) = signed_in_state().await;
        assert_eq!(status(&app, &id, "/sessions").await.0, StatusCode::OK);
        // Used every 14 minutes, it lives on.
        for _ in 0..3 {
            clock.advance(14 * 60_000);
            assert_eq!(status(&app, &id, "/sessions").await.0, StatusCode::OK);
        }
        // Left alone for 15 minutes, it is gone.
        clock.advance(15 * 60_000 + 1);
        assert_eq!(
            status(&app, &id, "/sessions").await,
            (StatusCode::SEE_OTHER, "/login".to_string())
        );
    }

    #[tokio::test]
    async fn a_busy_session_ends_at_its_absolute_lifetime() {
        let (app, clock, id, _dir) = signed_in_state().await;
        let mut elapsed = 0;
        while elapsed + 10 * 60_000 < 8 * 3_600_000 {
            clock.advance(10 * 60_000);
            elapsed += 10 * 60_000;
            assert_eq!(
                status(&app, &id, "/sessions").await.0,
                StatusCode::OK,
                "{elapsed}"
            );
        }
        clock.advance(8 * 3_600_000 - elapsed);
        assert_eq!(
            status(&app, &id, "/sessions").await.0,
            StatusCode::SEE_OTHER
        );
    }

    #[tokio::test]
    async fn pages_carry_a_csp_without_inline_code_and_refuse_framing() {
        let (app, _clock, id, _dir) = signed_in_state().await;
        let req = HttpRequest::get("/sessions")
            .header("cookie", format!("{SESSION_COOKIE}={id}"))
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}
