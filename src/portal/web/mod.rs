//! HTTP edge of the portal: routes, the per-request `Page` (language,
//! branding, client address, cookies), security headers, and the clear
//! pages shown for every refusal (never a 500 for bad input, always a
//! button to try again: a sign-in window on a phone has no back button).
//!
//! Handlers by concern: `landing` (redirect landings, the retry and
//! from-address landings), `signin` (the sign-in forms and what follows),
//! `session` (waiting, launcher, sign-out), `oauth` (WeChat, WeCom),
//! `capport` (RFC 8908).

pub mod apps;
mod capport;
mod landing;
mod oauth;
mod session;
mod signin;
mod sso;
mod survey;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::branding::Branding;
use super::i18n::{Lang, Texts};
use super::pages;
use super::signin::SignInError;
use super::PortalState;

pub const CSRF_COOKIE: &str = "portico_csrf";
pub const SESSION_COOKIE: &str = "portico_session";

/// Where a page with nothing better to offer sends the person: the landing
/// that finds the device from its address.
pub const START_PATH: &str = "/portal/start";

/// Set on the HTTPS listener's router: cookies get `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct Https;

type St = Arc<PortalState>;

/// The portal's routes; with `with_sso`, the provider's pages too (not
/// on a plain-HTTP listener when HTTPS serves the issuer).
pub fn router(state: St, with_sso: bool) -> Router {
    let gateway = state.gateway.is_some();
    let r = match state.sso.as_ref().map(|s| s.base_path()) {
        Some(base) if with_sso => routes().merge(sso_routes(&base)),
        _ => routes(),
    };
    if gateway {
        // Redirected HTTP of clients not yet signed in arrives for any host
        // and path: send it to the landing page.
        r.fallback(landing::gateway_redirect).with_state(state)
    } else {
        r.with_state(state)
    }
}

fn routes() -> Router<St> {
    Router::new()
        .route("/portal", get(landing::landing_default))
        .route("/portal/", get(landing::landing_default))
        .route(START_PATH, get(landing::start))
        .route("/portal/launcher", get(session::launcher_page))
        .route("/portal/status", get(session::status_page))
        .route("/portal/logout", post(session::logout))
        .route("/portal/static/logo", get(logo))
        .route("/portal/survey", get(survey::survey_home))
        .route(
            "/portal/survey/{floor}",
            get(survey::survey_floor).post(survey::survey_tap),
        )
        .route("/portal/survey/{floor}/plan", get(survey::survey_plan))
        .route("/portal/{profile}", get(landing::landing))
        .route("/portal/{profile}/again", get(landing::again))
        .route("/portal/{profile}/staff", post(signin::staff))
        .route("/portal/{profile}/voucher", post(signin::voucher))
        .route("/portal/{profile}/accept", post(signin::accept))
        .route("/portal/{profile}/sms/send", post(signin::sms_send))
        .route("/portal/{profile}/sms/verify", post(signin::sms_verify))
        .route("/portal/{profile}/wechat", post(oauth::wechat_start))
        .route("/portal/{profile}/wecom", post(oauth::wecom_start))
        .route("/portal/oauth/t/{ticket}", get(oauth::oauth_open))
        .route("/portal/oauth/callback", get(oauth::oauth_callback))
        .route("/portal/oauth/wait/{ticket}", get(oauth::oauth_wait))
        .route("/portal/oauth/confirm", post(oauth::oauth_confirm))
        .route("/capport/api", get(capport::capport_api))
        .route("/portal/apps/withdraw", post(apps::withdraw))
        .route("/portal/presence", post(apps::presence))
        .route("/portal/bind/{kind}", post(apps::bind))
        .route("/portal/unbind", post(apps::unbind))
}

/// The OpenID Connect provider's pages, under the issuer's path.
fn sso_routes(base: &str) -> Router<St> {
    Router::new()
        .route(&format!("{base}/authorize"), get(sso::authorize_get))
        .route(&format!("{base}/signin"), post(sso::signin_post))
        .route(&format!("{base}/consent"), post(sso::consent_post))
        .route(&format!("{base}/logout"), get(sso::logout_get))
        .route(&format!("{base}/oauth/{{kind}}"), post(sso::oauth_post))
}

/// What every page needs from the request.
pub struct Page {
    pub lang: Lang,
    pub branding: Arc<Branding>,
    pub https: bool,
    pub host: Option<String>,
    /// The HTTP client's address: the connection's peer, or behind a
    /// trusted reverse proxy the address it names (`portal.trusted_proxies`).
    pub client: Option<IpAddr>,
    /// The Cookie header(s), joined.
    pub cookies: String,
    pub user_agent: Option<String>,
    /// Path and query of the request (the retry target of a landing).
    pub uri: String,
}

impl FromRequestParts<St> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let header_str = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let lang = Lang::from_accept_language(header_str(header::ACCEPT_LANGUAGE).as_deref());
        let host = header_str(header::HOST).filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<crate::tls::TlsPeer>>()
                    .map(|c| c.0 .0)
            })
            .map(|a| a.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let client = super::trust::client_addr(
            peer,
            Some(forwarded.join(",").as_str()).filter(|f| !f.is_empty() && f.len() <= 1024),
            &state.config.trusted_proxies,
        );
        Ok(Page {
            lang,
            branding: state.branding.get(),
            https: parts.extensions.get::<Https>().is_some(),
            host,
            client,
            cookies: parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join("; "),
            user_agent: header_str(header::USER_AGENT),
            uri: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| START_PATH.to_string()),
        })
    }
}

impl Page {
    fn t(&self) -> &Texts {
        self.branding.texts(self.lang)
    }

    /// The frame every page shares: language, texts, colours, logo.
    fn frame(&self) -> pages::Frame<'_> {
        pages::Frame {
            lang: self.lang.tag(),
            t: self.t(),
            b: &self.branding,
            has_logo: self.branding.logo.is_some(),
        }
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
        if let Some(url) = &state.config.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host.as_deref().unwrap_or("localhost"))
    }

    /// The HTTPS base URL when the portal has an HTTPS listener: this
    /// request's own base over HTTPS, else `public_url` if it is https,
    /// else this request's host name with the HTTPS listener's port.
    fn https_base_url(&self, state: &PortalState) -> Option<String> {
        let port = state.https_port?;
        if self.https {
            return Some(self.base_url(state));
        }
        let public = state
            .config
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/');
        if public.starts_with("https://") {
            return Some(public.to_string());
        }
        let host = self.host.as_deref().unwrap_or("localhost");
        // Host without its port ("[::1]:8080" keeps its brackets).
        let name = match host.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        Some(if port == 443 {
            format!("https://{name}")
        } else {
            format!("https://{name}:{port}")
        })
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

    /// A page with a message and one button.
    fn message(
        &self,
        status: StatusCode,
        title: &str,
        message: &str,
        code: Option<&str>,
        action: Option<(&str, &str)>,
    ) -> Response {
        self.html(
            status,
            pages::Message {
                frame: self.frame(),
                title,
                message,
                error: status.is_client_error() || status.is_server_error(),
                code,
                action: action.map(|(url, _)| url),
                action_label: action.map(|(_, label)| label).unwrap_or(""),
            }
            .render(),
        )
    }

    /// An error page whose button tries again at `retry` (a landing with
    /// the same context, or the from-address landing).
    fn error(
        &self,
        status: StatusCode,
        message: &str,
        code: Option<&str>,
        retry: &str,
    ) -> Response {
        let t = self.t();
        let (title, label) = (t.error_title.clone(), t.retry.clone());
        self.message(status, &title, message, code, Some((retry, &label)))
    }

    fn signin_error(&self, e: &SignInError, retry: &str) -> Response {
        let t = self.t();
        let (status, text, code) = match e {
            SignInError::BadPassword => (StatusCode::UNAUTHORIZED, &t.err_bad_password, None),
            SignInError::AccountLocked => (
                StatusCode::TOO_MANY_REQUESTS,
                &t.err_account_locked,
                Some("PT-202"),
            ),
            SignInError::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                &t.err_rate_limited,
                Some("PT-201"),
            ),
            SignInError::VoucherInvalid => (StatusCode::UNAUTHORIZED, &t.err_voucher, None),
            SignInError::VoucherUsedUp => (StatusCode::CONFLICT, &t.err_voucher_used_up, None),
            SignInError::MethodOff => (StatusCode::FORBIDDEN, &t.err_method_off, Some("PT-203")),
            SignInError::NotLinked => (StatusCode::FORBIDDEN, &t.err_not_linked, Some("PT-204")),
            SignInError::Untrusted(r) => {
                tracing::info!(reason = %r, "portal sign-in refused");
                let text = match r {
                    super::trust::Refusal::LoginHostNotNas { .. }
                    | super::trust::Refusal::LoginHostUnresolved { .. } => &t.err_login_host,
                    super::trust::Refusal::ClientMismatch { .. } => &t.err_client_mismatch,
                    _ => &t.err_client_unverifiable,
                };
                (StatusCode::FORBIDDEN, text, Some(r.code()))
            }
            SignInError::OAuth(err) => {
                tracing::info!(error = %err, "portal OAuth refused");
                (StatusCode::UNAUTHORIZED, &t.err_oauth, Some("PT-205"))
            }
            SignInError::Store(err) => {
                tracing::error!(error = %err, "portal sign-in: store failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    &t.err_internal,
                    Some("PT-501"),
                )
            }
            SignInError::Internal(err) => {
                tracing::error!(error = %err, "portal sign-in failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    &t.err_internal,
                    Some("PT-502"),
                )
            }
        };
        let text = text.clone();
        self.error(status, &text, code, retry)
    }
}

/// Small pages, no external assets, not cached, not framed. Scripts only
/// inline (the handoff page's auto-submit).
fn security_headers(json: bool) -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(if json {
                super::capport::CONTENT_TYPE
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

/// The landing again with a sealed context (the retry button of a form's
/// error page); the from-address landing when there is none.
fn again_url(profile: &str, sealed_ctx: Option<&str>) -> String {
    match sealed_ctx {
        Some(c) if !c.is_empty() && c.len() <= 8192 => format!(
            "/portal/{}/again?ctx={}",
            crate::http_client::pct(profile),
            crate::http_client::pct(c)
        ),
        _ => START_PATH.to_string(),
    }
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
