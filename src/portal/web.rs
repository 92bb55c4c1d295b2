//! HTTP edge of the portal: routes, cookies, CSRF, security headers and
//! the clear pages shown for every refusal (never a 500 for bad input).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::branding::Branding;
use super::capport;
use super::context::{self, ClientContext, ContextError};
use super::i18n::{Lang, Texts};
use super::launcher;
use super::pages;
use super::signin::{self, Confirmation, Next, SignInError};
use super::sms;
use super::tokens;
use super::wechat::{self, Kind, TicketContext};
use super::PortalState;
use crate::store::portal_sessions::PortalSession;

pub const CSRF_COOKIE: &str = "portico_csrf";
pub const SESSION_COOKIE: &str = "portico_session";

/// Set on the HTTPS listener's router: cookies get `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct Https;

type St = Arc<PortalState>;

pub fn router(state: St) -> Router {
    let gateway = state.gateway.is_some();
    let r = routes(state.clone());
    if gateway {
        // Redirected HTTP of clients not yet signed in arrives for any host
        // and path: send it to the landing page.
        r.fallback(gateway_redirect).with_state(state)
    } else {
        r.with_state(state)
    }
}

async fn gateway_redirect(State(state): State<St>, page: Page, uri: axum::http::Uri) -> Response {
    let original = format!(
        "http://{}{}",
        page.host.as_deref().unwrap_or("example.com"),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let target = format!(
        "{}/portal/gateway?url={}",
        page.base_url(&state),
        super::http_client::pct(&original)
    );
    // 302 with no-store: the OS's captive-portal probes must not cache it.
    (
        StatusCode::FOUND,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(&target)
                    .unwrap_or_else(|_| HeaderValue::from_static("/portal/gateway")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

fn routes(_state: St) -> Router<St> {
    Router::new()
        .route("/portal", get(landing_default))
        .route("/portal/", get(landing_default))
        .route("/portal/launcher", get(launcher_page))
        .route("/portal/status", get(status_page))
        .route("/portal/logout", post(logout))
        .route("/portal/static/logo", get(logo))
        .route("/portal/{profile}", get(landing))
        .route("/portal/{profile}/staff", post(staff))
        .route("/portal/{profile}/voucher", post(voucher))
        .route("/portal/{profile}/accept", post(accept))
        .route("/portal/{profile}/sms/send", post(sms_send))
        .route("/portal/{profile}/wechat", post(wechat_start))
        .route("/portal/{profile}/wecom", post(wecom_start))
        .route("/portal/oauth/t/{ticket}", get(oauth_open))
        .route("/portal/oauth/callback", get(oauth_callback))
        .route("/portal/oauth/wait/{ticket}", get(oauth_wait))
        .route("/portal/{profile}/sms/verify", post(sms_verify))
        .route("/capport/api", get(capport_api))
}

/// What every page needs from the request.
pub struct Page {
    pub lang: Lang,
    pub branding: Arc<Branding>,
    pub https: bool,
    pub host: Option<String>,
    pub peer: Option<IpAddr>,
    /// The Cookie header(s), joined.
    pub cookies: String,
    pub user_agent: Option<String>,
}

impl FromRequestParts<St> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_accept_language(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map(str::to_string);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<super::tls::TlsPeer>>()
                    .map(|c| c.0 .0)
            })
            .map(|a| crate::radius::directory::canonical_ip(a.ip()));
        Ok(Page {
            lang,
            branding: state.branding.get(),
            https: parts.extensions.get::<Https>().is_some(),
            host,
            peer,
            cookies: parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join("; "),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    }
}

impl Page {
    fn t(&self) -> &Texts {
        self.branding.texts(self.lang)
    }

    fn has_logo(&self) -> bool {
        self.branding.logo.is_some()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    fn set_cookie(&self, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
        let secure = if self.https { "; Secure" } else { "" };
        let text =
            format!("{name}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}");
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Base URL for links handed out (to the AP, in the CAPPORT API).
    fn base_url(&self, state: &PortalState) -> String {
        if !state.config.public_url.is_empty() {
            return state.config.public_url.trim_end_matches('/').to_string();
        }
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host.as_deref().unwrap_or("localhost"))
    }

    fn html(&self, status: StatusCode, body: Result<String, askama::Error>) -> Response {
        match body {
            Ok(html) => (status, security_headers(false), html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "portal template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    fn message(
        &self,
        status: StatusCode,
        title: &str,
        message: &str,
        back: Option<&str>,
    ) -> Response {
        let t = self.t();
        self.html(
            status,
            pages::Message {
                lang: self.lang.tag(),
                t,
                b: &self.branding,
                has_logo: self.has_logo(),
                title,
                message,
                error: status.is_client_error() || status.is_server_error(),
                back,
            }
            .render(),
        )
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        let title = self.t().error_title.clone();
        self.message(status, &title, message, None)
    }

    fn signin_error(&self, e: &SignInError) -> Response {
        let t = self.t();
        let (status, text) = match e {
            SignInError::BadPassword => (StatusCode::UNAUTHORIZED, &t.err_bad_password),
            SignInError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, &t.err_rate_limited),
            SignInError::VoucherInvalid => (StatusCode::UNAUTHORIZED, &t.err_voucher),
            SignInError::VoucherUsedUp => (StatusCode::CONFLICT, &t.err_voucher_used_up),
            SignInError::MethodOff => (StatusCode::FORBIDDEN, &t.err_method_off),
            SignInError::NotLinked => (StatusCode::FORBIDDEN, &t.err_not_linked),
            SignInError::OAuth(err) => {
                tracing::info!(error = %err, "portal OAuth refused");
                (StatusCode::UNAUTHORIZED, &t.err_oauth)
            }
            SignInError::Store(err) => {
                tracing::error!(error = %err, "portal sign-in: store failed");
                (StatusCode::SERVICE_UNAVAILABLE, &t.err_internal)
            }
            SignInError::Internal(err) => {
                tracing::error!(error = %err, "portal sign-in failed");
                (StatusCode::SERVICE_UNAVAILABLE, &t.err_internal)
            }
        };
        let text = text.clone();
        self.error(status, &text)
    }
}

/// Small pages, no external assets, not cached, not framed. Scripts only
/// inline (the handoff page's auto-submit).
fn security_headers(json: bool) -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(if json {
                capport::CONTENT_TYPE
            } else {
                "text/html; charset=utf-8"
            }),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; \
                 script-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, private"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}

fn parse_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .take(64)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn now_ms() -> i64 {
    crate::radius::server::now_ms()
}

async fn landing_default(State(state): State<St>, page: Page, q: RawQuery) -> Response {
    let name = state.config.default_profile.clone();
    landing(State(state), page, Path(name), q).await
}

async fn landing(
    State(state): State<St>,
    page: Page,
    Path(profile_name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(profile) = state.profiles.get(&profile_name) else {
        let m = page.t().err_unknown_profile.clone();
        return page.error(StatusCode::NOT_FOUND, &m);
    };
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    // Gateway mode: no AP tells us the MAC; the neighbour table does.
    let peer_mac = match (profile.portal.handoff, page.peer, &state.gateway) {
        (super::profile::Handoff::Gateway, Some(ip), Some(_)) => {
            crate::gateway::neigh::lookup(ip).await
        }
        _ => None,
    };
    let ctx = match context::parse(
        &profile.name,
        &profile.portal,
        &query,
        peer_mac,
        &state.config.allowed_login_hosts,
    ) {
        Ok(c) => c,
        Err(e) => return context_error(&page, &e),
    };
    let csrf_cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&csrf_cookie);
    let sealed = state.keys.seal_context(&ctx, now_ms());
    let terms = ctx
        .ssid
        .as_ref()
        .is_some_and(|s| state.config.click_through_ssids.iter().any(|a| a == s));
    let t = page.t();
    let body = pages::Landing {
        lang: page.lang.tag(),
        t,
        b: &page.branding,
        has_logo: page.has_logo(),
        profile: &profile.name,
        csrf: &csrf,
        ctx: &sealed,
        original_url: ctx.original_url.as_deref(),
        notice: None,
        sms: !state.config.sms.provider.is_empty(),
        wechat: state.config.wechat.enabled,
        wecom: state.config.wecom.enabled,
        terms,
    }
    .render();
    let mut resp = page.html(StatusCode::OK, body);
    resp.headers_mut().append(
        header::SET_COOKIE,
        page.set_cookie(CSRF_COOKIE, &csrf_cookie, 3600),
    );
    resp
}

fn context_error(page: &Page, e: &ContextError) -> Response {
    let t = page.t();
    let text = match e {
        ContextError::HostileUrl => t.err_hostile_url.clone(),
        other => format!("{} ({other})", t.err_bad_request),
    };
    tracing::info!(error = %e, "portal landing refused");
    page.error(StatusCode::BAD_REQUEST, &text)
}

/// A posted form with a valid CSRF token and sealed context for `profile`.
/// The error is the refusal page itself, sent as it is.
#[allow(clippy::result_large_err)]
fn checked_form(
    state: &PortalState,
    page: &Page,
    profile: &str,
    body: &[u8],
) -> Result<(Vec<(String, String)>, ClientContext), Response> {
    let form = parse_pairs(body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        tracing::info!(peer = ?page.peer, "portal form refused: CSRF token missing or wrong");
        return Err(page.error(StatusCode::FORBIDDEN, &page.t().err_csrf.clone()));
    }
    let ctx = field(&form, "ctx")
        .and_then(|c| state.keys.open_context(c, now_ms()))
        .filter(|c| c.profile == profile);
    match ctx {
        Some(c) => Ok((form, c)),
        None => Err(page.error(StatusCode::BAD_REQUEST, &page.t().err_csrf.clone())),
    }
}

/// A sign-in form: CSRF and context checked, and the per-device and per-IP
/// attempt limits applied, before any method-specific work.
#[allow(clippy::result_large_err)]
fn signin_form(
    state: &PortalState,
    page: &Page,
    profile: &str,
    body: &[u8],
) -> Result<(Vec<(String, String)>, ClientContext), Response> {
    let (form, ctx) = checked_form(state, page, profile, body)?;
    if let Err(e) = signin::check_limits(state, ctx.client_mac, page.peer) {
        return Err(page.signin_error(&e));
    }
    Ok((form, ctx))
}

async fn staff(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let (form, ctx) = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = now_ms();
    let who = signin::verify_staff(
        &state,
        field(&form, "username").unwrap_or(""),
        field(&form, "password").unwrap_or(""),
        now,
    )
    .await;
    finish(&state, &page, &ctx, who, now).await
}

async fn voucher(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let (form, ctx) = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = now_ms();
    let who = signin::redeem_voucher(
        &state,
        field(&form, "code").unwrap_or(""),
        ctx.client_mac,
        now,
    )
    .await;
    finish(&state, &page, &ctx, who, now).await
}

async fn accept(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let (_, ctx) = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = now_ms();
    let who = signin::click_through(&state, &ctx, now);
    finish(&state, &page, &ctx, who, now).await
}

fn sms_error(page: &Page, e: &sms::SmsError) -> Response {
    let t = page.t();
    match e {
        sms::SmsError::Off => page.error(StatusCode::FORBIDDEN, &t.err_method_off.clone()),
        sms::SmsError::BadPhone => page.error(StatusCode::BAD_REQUEST, &t.err_phone.clone()),
        sms::SmsError::Limited => {
            page.error(StatusCode::TOO_MANY_REQUESTS, &t.err_sms_limit.clone())
        }
        sms::SmsError::Gateway(g) => {
            tracing::warn!(error = %g, "SMS gateway refused or failed");
            page.error(StatusCode::BAD_GATEWAY, &t.err_internal.clone())
        }
        sms::SmsError::SignIn(SignInError::BadPassword) => {
            page.error(StatusCode::UNAUTHORIZED, &t.err_sms_code.clone())
        }
        sms::SmsError::SignIn(other) => page.signin_error(other),
    }
}

async fn sms_send(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let (form, ctx) = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let phone = match sms::send_code(
        &state,
        field(&form, "phone").unwrap_or(""),
        ctx.client_mac,
        now_ms(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return sms_error(&page, &e),
    };
    let csrf = field(&form, "csrf").unwrap_or("").to_string();
    let sealed = field(&form, "ctx").unwrap_or("").to_string();
    page.html(
        StatusCode::OK,
        pages::SmsCode {
            lang: page.lang.tag(),
            t: page.t(),
            b: &page.branding,
            has_logo: page.has_logo(),
            profile: &profile,
            csrf: &csrf,
            ctx: &sealed,
            phone: &phone,
        }
        .render(),
    )
}

async fn sms_verify(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let (form, ctx) = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = now_ms();
    match sms::verify_code(
        &state,
        field(&form, "phone").unwrap_or(""),
        field(&form, "code").unwrap_or(""),
        now,
    )
    .await
    {
        Ok(who) => finish(&state, &page, &ctx, Ok(who), now).await,
        Err(e) => sms_error(&page, &e),
    }
}

/// After a sign-in decision: store, set the session cookie, hand off.
pub async fn finish(
    state: &PortalState,
    page: &Page,
    ctx: &ClientContext,
    who: Result<signin::Identity, SignInError>,
    now: i64,
) -> Response {
    let who = match who {
        Ok(w) => w,
        Err(e) => {
            tracing::info!(mac = %ctx.client_mac, error = %e, "portal sign-in refused");
            return page.signin_error(&e);
        }
    };
    // After the AP's login the browser comes back to the status page, which
    // shows the launcher only once the AP is confirmed to have let it in.
    let return_url = format!("{}/portal/status", page.base_url(state));
    let done = match signin::complete(state, ctx, page.peer, who, &return_url, now).await {
        Ok(d) => d,
        Err(e) => return page.signin_error(&e),
    };
    let max_age = ((done.session.expires_at - now) / 1000).max(1);
    let cookie = page.set_cookie(SESSION_COOKIE, &done.session_token, max_age);
    let mut resp = match &done.next {
        Next::Form(form) => page.html(
            StatusCode::OK,
            pages::Handoff {
                lang: page.lang.tag(),
                t: page.t(),
                b: &page.branding,
                has_logo: page.has_logo(),
                method: form.method_str(),
                action: &form.action,
                fields: &form.fields,
            }
            .render(),
        ),
        Next::Wait => Redirect::to("/portal/status").into_response(),
    };
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

async fn session_of(state: &PortalState, page: &Page) -> Option<PortalSession> {
    let token = page.cookie(SESSION_COOKIE)?;
    match state
        .store
        .portal_sessions()
        .by_token(&tokens::hash_token(&token))
        .await
    {
        Ok(Some(s)) if s.is_active(now_ms()) => Some(s),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "portal session lookup failed");
            None
        }
    }
}

async fn status_page(State(state): State<St>, page: Page) -> Response {
    let Some(session) = session_of(&state, &page).await else {
        return page.error(StatusCode::UNAUTHORIZED, &page.t().err_session.clone());
    };
    let now = now_ms();
    let c = match signin::confirm(&state, &session, now).await {
        Ok(c) => c,
        Err(e) => return page.signin_error(&e),
    };
    if c == Confirmation::Confirmed {
        return Redirect::to("/portal/launcher").into_response();
    }
    page.html(
        StatusCode::OK,
        pages::Waiting {
            lang: page.lang.tag(),
            t: page.t(),
            b: &page.branding,
            has_logo: page.has_logo(),
            refresh_secs: 2,
            failed: c == Confirmation::TimedOut,
        }
        .render(),
    )
}

async fn launcher_page(State(state): State<St>, page: Page) -> Response {
    let Some(session) = session_of(&state, &page).await else {
        return page.error(StatusCode::UNAUTHORIZED, &page.t().err_session.clone());
    };
    let now = now_ms();
    let csrf_cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&csrf_cookie);
    let tiles = launcher::visible_tiles(&state.config.launcher, &session.groups, page.lang);
    let identity = match session.method.as_str() {
        "voucher" | "click-through" => page.t().voucher_title.clone(),
        _ => session.identity.clone(),
    };
    let mut resp = page.html(
        StatusCode::OK,
        pages::Launcher {
            lang: page.lang.tag(),
            t: page.t(),
            b: &page.branding,
            has_logo: page.has_logo(),
            identity: &identity,
            time_left: pages::format_duration((session.expires_at - now) / 1000),
            tiles,
            csrf: &csrf,
            original_url: None,
        }
        .render(),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        page.set_cookie(CSRF_COOKIE, &csrf_cookie, 3600),
    );
    resp
}

async fn logout(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let form = parse_pairs(&body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        return page.error(StatusCode::FORBIDDEN, &page.t().err_csrf.clone());
    }
    let Some(session) = session_of(&state, &page).await else {
        return page.error(StatusCode::UNAUTHORIZED, &page.t().err_session.clone());
    };
    if let Err(e) = signin::sign_out(&state, &session, now_ms()).await {
        return page.signin_error(&e);
    }
    let t = page.t();
    let (title, text) = (t.sign_out.clone(), t.signed_out.clone());
    let mut resp = page.message(StatusCode::OK, &title, &text, None);
    resp.headers_mut()
        .append(header::SET_COOKIE, page.set_cookie(SESSION_COOKIE, "", 0));
    resp
}

async fn logo(page: Page) -> Response {
    match &page.branding.logo {
        Some(l) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(l.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=300"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
                ),
            ],
            l.bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn capport_api(State(state): State<St>, page: Page) -> Response {
    let now = now_ms();
    let session = match page.peer {
        Some(ip) => match state
            .store
            .portal_sessions()
            .active_by_ip(&ip.to_string(), now)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "capport: session lookup failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        },
        None => None,
    };
    let venue =
        (!state.config.venue_info_url.is_empty()).then(|| state.config.venue_info_url.clone());
    let body = capport::state(
        format!(
            "{}/portal/{}",
            page.base_url(&state),
            state.config.default_profile
        ),
        venue,
        session.map(|s| s.expires_at),
        now,
    );
    match serde_json::to_string(&body) {
        Ok(json) => (StatusCode::OK, security_headers(true), json).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn wechat_start(
    state: State<St>,
    page: Page,
    profile: Path<String>,
    body: Bytes,
) -> Response {
    oauth_start(state, page, profile, body, Kind::Wechat).await
}

async fn wecom_start(state: State<St>, page: Page, profile: Path<String>, body: Bytes) -> Response {
    oauth_start(state, page, profile, body, Kind::Wecom).await
}

fn oauth_enabled(state: &PortalState, kind: Kind) -> bool {
    match kind {
        Kind::Wechat => state.config.wechat.enabled,
        Kind::Wecom => state.config.wecom.enabled,
    }
}

fn authorize_for(state: &PortalState, page: &Page, kind: Kind, ticket: &str) -> String {
    let redirect = format!("{}/portal/oauth/callback", page.base_url(state));
    match kind {
        Kind::Wechat => {
            let c = &state.config.wechat;
            wechat::authorize_url(&c.oauth_base, &c.appid, &redirect, &c.scope, ticket, None)
        }
        Kind::Wecom => {
            let c = &state.config.wecom;
            wechat::authorize_url(
                &c.oauth_base,
                &c.corpid,
                &redirect,
                "snsapi_base",
                ticket,
                Some(&c.agentid),
            )
        }
    }
}

/// Starts WeChat/WeCom sign-in: inside WeChat's browser straight to the
/// authorize page; elsewhere a QR code with a one-time link for the phone.
async fn oauth_start(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
    kind: Kind,
) -> Response {
    let (form, ctx) = match checked_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !oauth_enabled(&state, kind) {
        return page.error(StatusCode::FORBIDDEN, &page.t().err_method_off.clone());
    }
    if let Err(e) = signin::check_limits(&state, ctx.client_mac, page.peer) {
        return page.signin_error(&e);
    }
    let owner = page
        .cookie(CSRF_COOKIE)
        .map(|c| tokens::hash_token(&c))
        .unwrap_or_default();
    let tc = TicketContext {
        ctx: field(&form, "ctx").unwrap_or("").to_string(),
        owner,
        kind,
    };
    let ticket = tokens::random_token();
    let now = now_ms();
    let json = serde_json::to_string(&tc).unwrap_or_default();
    if let Err(e) = state
        .store
        .tickets()
        .create(
            &tokens::hash_token(&ticket),
            &json,
            now,
            now + wechat::TICKET_TTL_MS,
        )
        .await
    {
        return page.signin_error(&SignInError::Store(e));
    }
    let ua = page.user_agent.as_deref();
    if wechat::is_wechat_browser(ua) {
        if let Some(gw) = &state.gateway {
            // WeChat's servers, for this client only, while OAuth runs.
            let secs = state.config.wechat.walled_garden_time.as_secs();
            match gw
                .open_garden(ctx.client_mac, &state.config.wechat.walled_garden, secs)
                .await
            {
                Ok(n) => {
                    tracing::info!(mac = %ctx.client_mac, addresses = n, "walled garden opened for WeChat OAuth")
                }
                Err(e) => {
                    tracing::warn!(mac = %ctx.client_mac, error = %e, "walled garden not opened")
                }
            }
        }
        return Redirect::to(&authorize_for(&state, &page, kind, &ticket)).into_response();
    }
    qr_page(&state, &page, &ticket)
}

fn qr_page(state: &PortalState, page: &Page, ticket: &str) -> Response {
    let link = format!("{}/portal/oauth/t/{ticket}", page.base_url(state));
    let svg = match qrcode::QrCode::new(link.as_bytes()) {
        Ok(code) => {
            let full = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .build();
            full.find("<svg")
                .map(|i| full[i..].to_string())
                .unwrap_or_default()
        }
        Err(e) => {
            tracing::warn!(error = %e, "QR code not made");
            String::new()
        }
    };
    let wait = format!("/portal/oauth/wait/{ticket}");
    page.html(
        StatusCode::OK,
        pages::Qr {
            lang: page.lang.tag(),
            t: page.t(),
            b: &page.branding,
            has_logo: page.has_logo(),
            qr_svg: &svg,
            link: &link,
            wait_url: &wait,
        }
        .render(),
    )
}

fn valid_ticket(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn load_ticket(
    state: &PortalState,
    ticket: &str,
) -> Option<(crate::store::wechat::Ticket, TicketContext)> {
    if !valid_ticket(ticket) {
        return None;
    }
    let t = state
        .store
        .tickets()
        .get(&tokens::hash_token(ticket))
        .await
        .ok()??;
    let tc: TicketContext = serde_json::from_str(&t.context).ok()?;
    Some((t, tc))
}

/// The phone opened the QR link: on to the authorize page.
async fn oauth_open(State(state): State<St>, page: Page, Path(ticket): Path<String>) -> Response {
    let now = now_ms();
    match load_ticket(&state, &ticket).await {
        Some((t, tc)) if t.expires_at > now && t.completed_at.is_none() => {
            Redirect::to(&authorize_for(&state, &page, tc.kind, &ticket)).into_response()
        }
        _ => page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone()),
    }
}

async fn oauth_callback(State(state): State<St>, page: Page, RawQuery(q): RawQuery) -> Response {
    let q = parse_pairs(q.unwrap_or_default().as_bytes());
    let (Some(code), Some(ticket)) = (field(&q, "code"), field(&q, "state")) else {
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone());
    };
    let now = now_ms();
    let Some((t, tc)) = load_ticket(&state, ticket).await else {
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone());
    };
    if t.expires_at <= now || t.completed_at.is_some() || code.is_empty() || code.len() > 512 {
        tracing::info!("OAuth callback for a used or expired ticket refused");
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone());
    }
    let (identity, method) = match wechat::resolve(&state, tc.kind, code).await {
        Ok(x) => x,
        Err(e) => return page.signin_error(&SignInError::OAuth(e.to_string())),
    };
    // A WeCom userid must be a staff account before anything is stored.
    if let Err(e) = wechat::identity_for(&state, &identity, method, now).await {
        return page.signin_error(&e);
    }
    let hash = tokens::hash_token(ticket);
    match state
        .store
        .tickets()
        .complete(&hash, &identity, method, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone()),
        Err(e) => return page.signin_error(&SignInError::Store(e)),
    }
    let mine = page
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| tokens::hash_token(&c) == tc.owner);
    if mine {
        // The same device (WeChat's own browser): let it in now.
        return take_ticket(&state, &page, &hash, &tc, now).await;
    }
    let t = page.t();
    let (title, text) = (t.signed_in_title.clone(), t.qr_done.clone());
    page.message(StatusCode::OK, &title, &text, None)
}

async fn take_ticket(
    state: &PortalState,
    page: &Page,
    hash: &str,
    tc: &TicketContext,
    now: i64,
) -> Response {
    let Some(ctx) = state.keys.open_context(&tc.ctx, now) else {
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_csrf.clone());
    };
    let Ok(Some(t)) = state.store.tickets().get(hash).await else {
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone());
    };
    match state.store.tickets().consume(hash, now).await {
        Ok(true) => {}
        _ => return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone()),
    }
    let who = wechat::identity_for(
        state,
        t.identity.as_deref().unwrap_or(""),
        t.method.as_deref().unwrap_or(""),
        now,
    )
    .await;
    finish(state, page, &ctx, who, now).await
}

/// The device showing the QR code polls here.
async fn oauth_wait(State(state): State<St>, page: Page, Path(ticket): Path<String>) -> Response {
    let now = now_ms();
    let Some((t, tc)) = load_ticket(&state, &ticket).await else {
        return page.error(StatusCode::BAD_REQUEST, &page.t().err_oauth.clone());
    };
    let mine = page
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| tokens::hash_token(&c) == tc.owner);
    if !mine || t.consumed_at.is_some() {
        return page.error(StatusCode::FORBIDDEN, &page.t().err_oauth.clone());
    }
    if t.completed_at.is_some() {
        return take_ticket(&state, &page, &tokens::hash_token(&ticket), &tc, now).await;
    }
    if t.expires_at <= now {
        return page.error(StatusCode::GONE, &page.t().err_oauth.clone());
    }
    qr_page(&state, &page, &ticket)
}
