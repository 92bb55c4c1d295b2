//! The OpenID Connect provider's pages, on the portal's look and
//! language: the authorization endpoint (who is signed in: the
//! provider's own session, or, where the client allows it, the Wi-Fi
//! portal session of this device), the sign-in form (staff password, TOTP
//! for clients that require it), the consent page, and RP-initiated
//! logout. The request's policy is `sso::authorize`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{field, pages, parse_pairs, Page, St, CSRF_COOKIE, SESSION_COOKIE};
use crate::portal::{signin, tokens, PortalState};
use crate::sso::authorize::{self, AuthRequest, RequestError};
use crate::sso::SsoState;
use crate::store::oidc::SsoSession;

/// The provider's own sign-in session cookie (path: the issuer's path).
pub const SSO_COOKIE: &str = "portico_sso";

/// Who is signed in at the provider, and how.
#[derive(Clone, Debug)]
struct Who {
    username: String,
    auth_time: i64,
    /// RFC 8176 values, space-separated: `pwd`, `pwd otp`; `portal` for
    /// the Wi-Fi sign-in.
    amr: String,
}

fn sso_of(state: &PortalState) -> Option<&SsoState> {
    state.sso.as_deref()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no OpenID Connect provider here\n").into_response()
}

/// The provider session from its cookie, else (when the client allows
/// it) the device's staff portal session.
async fn signed_in(
    state: &PortalState,
    sso: &SsoState,
    page: &Page,
    req: &AuthRequest,
    now: i64,
) -> Option<Who> {
    if let Some(c) = page.cookie(SSO_COOKIE) {
        match sso.store.oidc().session(&tokens::hash_token(&c)).await {
            Ok(Some(s)) if s.expires_at > now => {
                return Some(Who {
                    username: s.username,
                    auth_time: s.auth_time,
                    amr: s.amr,
                })
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sso session lookup failed"),
        }
    }
    if !req.client.allow_portal_session {
        return None;
    }
    let token = page.cookie(SESSION_COOKIE)?;
    match state
        .store
        .portal_sessions()
        .by_token(&tokens::hash_token(&token))
        .await
    {
        // Staff only (password, WeCom, linked WeChat): a visitor's SMS or
        // voucher session names no account.
        Ok(Some(s)) if s.is_active(now) => {
            let username = super::apps::staff_username(&s)?.to_string();
            let amr = match s.method.as_str() {
                "staff" => "portal".to_string(),
                how => format!("portal {how}"),
            };
            Some(Who {
                username,
                auth_time: s.created_at,
                amr,
            })
        }
        _ => None,
    }
}

/// Whether a sign-in is good enough for the request: recent enough
/// (`max_age`) and with a second factor where the client requires one.
/// Every path to a code checks it (authorize and consent alike).
fn acceptable(req: &AuthRequest, who: &Who, now: i64) -> bool {
    req.sign_in_fresh(who.auth_time, now)
        && (!req.client.require_2fa || who.amr.split(' ').any(|m| m == "otp"))
}

/// The CSRF cookie and its token for a form.
fn csrf_pair(state: &PortalState, page: &Page) -> (String, String) {
    let cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let token = state.keys.csrf_token(&cookie);
    (cookie, token)
}

fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

fn sso_cookie(page: &Page, sso: &SsoState, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if page.https { "; Secure" } else { "" };
    let text = format!(
        "{SSO_COOKIE}={value}; Path={}; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}",
        sso.base_path()
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn refused(page: &Page, sso: &SsoState, e: &RequestError) -> Response {
    match e.location(&sso.issuer) {
        Some(to) => Redirect::to(&to).into_response(),
        None => {
            if let RequestError::Page(why) = e {
                tracing::info!(%why, "sso: authorization request refused");
            }
            let m = page.t().sso_bad_request.clone();
            page.message(
                StatusCode::BAD_REQUEST,
                &page.t().error_title.clone(),
                &m,
                Some("PT-301"),
                None,
            )
        }
    }
}

fn signin_page(
    state: &PortalState,
    sso: &SsoState,
    page: &Page,
    req: &AuthRequest,
    raw_request: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (cookie, csrf) = csrf_pair(state, page);
    let base = sso.base_path();
    let resp = page.html(
        status,
        pages::SsoSignIn {
            frame: page.frame(),
            base: &base,
            client: &req.client.name,
            csrf: &csrf,
            request: raw_request,
            otp: req.client.require_2fa,
            error,
            wechat: state.config.wechat.enabled,
            wecom: state.config.wecom.enabled,
        }
        .render(),
    );
    with_cookie(resp, page.set_cookie(CSRF_COOKIE, &cookie, 3600))
}

/// Why the signed-in account may not have a code, as the answer to send:
/// disabled or gone, or a sign-in older than the account (someone else's:
/// an account removed and made again under the same name). Every path to
/// a code asks (authorize and consent alike).
async fn account_refusal(
    state: &PortalState,
    sso: &SsoState,
    page: &Page,
    req: &AuthRequest,
    raw_request: &str,
    who: &Who,
    now: i64,
) -> Option<Response> {
    match state.store.users().get(&who.username).await {
        Ok(Some(u)) if u.usable(now) && who.auth_time < u.created_at => Some(signin_page(
            state,
            sso,
            page,
            req,
            raw_request,
            StatusCode::OK,
            None,
        )),
        Ok(Some(u)) if u.usable(now) => None,
        Ok(_) => Some(refused(
            page,
            sso,
            &req.error("access_denied", "the account cannot sign in"),
        )),
        Err(e) => {
            tracing::error!(error = %e, "sso: user lookup");
            Some(refused(
                page,
                sso,
                &req.error("server_error", "internal error"),
            ))
        }
    }
}

/// Signed in: ask for consent where needed, else issue the code.
async fn proceed(
    state: &PortalState,
    sso: &SsoState,
    page: &Page,
    req: &AuthRequest,
    raw_request: &str,
    who: &Who,
    now: i64,
) -> Response {
    if let Some(refusal) = account_refusal(state, sso, page, req, raw_request, who, now).await {
        return refusal;
    }
    let remembered = match sso
        .store
        .oidc()
        .consent(&who.username, &req.client.name)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "sso: consent lookup");
            return refused(page, sso, &req.error("server_error", "internal error"));
        }
    };
    if req.needs_consent(remembered.as_deref()) {
        if req.prompts("none") {
            return refused(page, sso, &req.error("consent_required", "consent needed"));
        }
        let t = page.t();
        let scopes = req
            .scopes
            .iter()
            .filter(|s| !authorize::WITHOUT_CONSENT.contains(&s.as_str()))
            .map(|s| match s.as_str() {
                "groups" => t.sso_scope_groups.clone(),
                "phone" => t.sso_scope_phone.clone(),
                other => other.to_string(),
            })
            .collect();
        let (cookie, csrf) = csrf_pair(state, page);
        let base = sso.base_path();
        let resp = page.html(
            StatusCode::OK,
            pages::SsoConsent {
                frame: page.frame(),
                base: &base,
                client: &req.client.name,
                csrf: &csrf,
                request: raw_request,
                scopes,
            }
            .render(),
        );
        return with_cookie(resp, page.set_cookie(CSRF_COOKIE, &cookie, 3600));
    }
    code_redirect(sso, page, req, who, now).await
}

async fn code_redirect(
    sso: &SsoState,
    page: &Page,
    req: &AuthRequest,
    who: &Who,
    now: i64,
) -> Response {
    match authorize::issue_code(sso, req, &who.username, who.auth_time, &who.amr, now).await {
        Ok(to) => {
            tracing::info!(client = %req.client.name, user = %who.username, amr = %who.amr, "sso: code issued");
            Redirect::to(&to).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "sso: issuing a code");
            refused(page, sso, &req.error("server_error", "internal error"))
        }
    }
}

/// `GET <issuer>/authorize`.
pub(super) async fn authorize_get(
    State(state): State<St>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(sso) = sso_of(&state) else {
        return not_found();
    };
    let raw = query.unwrap_or_default();
    let req = match authorize::parse(sso, &parse_pairs(raw.as_bytes())).await {
        Ok(r) => r,
        Err(e) => return refused(&page, sso, &e),
    };
    let now = sso.clock.now_ms();
    let who = signed_in(&state, sso, &page, &req, now)
        .await
        .filter(|w| !req.prompts("login") && acceptable(&req, w, now));
    match who {
        Some(w) => proceed(&state, sso, &page, &req, &raw, &w, now).await,
        None if req.prompts("none") => {
            refused(&page, sso, &req.error("login_required", "not signed in"))
        }
        None => signin_page(&state, sso, &page, &req, &raw, StatusCode::OK, None),
    }
}

/// A provider form's opening: the provider, the CSRF check, and the
/// authorization request re-parsed; else the answer to send.
async fn provider_form<'a>(
    state: &'a PortalState,
    page: &Page,
    body: &[u8],
) -> Result<(&'a SsoState, Vec<(String, String)>, AuthRequest, String), Response> {
    let Some(sso) = sso_of(state) else {
        return Err(not_found());
    };
    let form = parse_pairs(body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        return Err(csrf_refused(page));
    }
    let (req, raw) = form_request(sso, page, &form).await?;
    Ok((sso, form, req, raw))
}

/// The form's request re-parsed (it came through the browser: checked
/// again in full).
async fn form_request(
    sso: &SsoState,
    page: &Page,
    form: &[(String, String)],
) -> Result<(AuthRequest, String), Response> {
    let raw = field(form, "request").unwrap_or("").to_string();
    match authorize::parse(sso, &parse_pairs(raw.as_bytes())).await {
        Ok(r) => Ok((r, raw)),
        Err(e) => Err(refused(page, sso, &e)),
    }
}

fn csrf_refused(page: &Page) -> Response {
    let m = page.t().err_csrf.clone();
    page.error(StatusCode::FORBIDDEN, &m, Some("PT-105"), super::START_PATH)
}

/// `POST <issuer>/signin`: staff password, and TOTP where the client
/// requires two factors.
pub(super) async fn signin_post(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let (sso, form, req, raw) = match provider_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = sso.clock.now_ms();
    if let Some(ip) = page.client {
        if !state.per_ip.allow(crate::rate_limit::source_key(ip)) {
            return page.signin_error(&signin::SignInError::RateLimited, super::START_PATH);
        }
    }
    let username = field(&form, "username").unwrap_or("");
    let password = field(&form, "password").unwrap_or("");
    let again = |msg: &str| {
        signin_page(
            &state,
            sso,
            &page,
            &req,
            &raw,
            StatusCode::UNAUTHORIZED,
            Some(msg),
        )
    };
    let identity = match signin::verify_staff(&state, username, password, now).await {
        Ok(i) => i,
        Err(signin::SignInError::BadPassword) => {
            return again(&page.t().err_bad_password.clone());
        }
        Err(e) => return page.signin_error(&e, super::START_PATH),
    };
    let mut amr = "pwd".to_string();
    if req.client.require_2fa {
        let secret = match state.store.users().totp(&identity.identity).await {
            Ok(Some(s)) => s,
            Ok(None) => return again(&page.t().sso_no_otp.clone()),
            Err(e) => {
                tracing::error!(error = %e, "sso: totp lookup");
                return again(&page.t().sso_no_otp.clone());
            }
        };
        let code = field(&form, "otp").unwrap_or("").trim();
        let secs = u64::try_from(now / 1000).unwrap_or(0);
        let Some(step) = crate::admin::totp::matching_step(&secret, code, secs) else {
            return again(&page.t().sso_need_otp.clone());
        };
        // A code works once: one seen for this account is refused.
        if !matches!(
            state
                .store
                .users()
                .use_totp_step(&identity.identity, step)
                .await,
            Ok(true)
        ) {
            return again(&page.t().sso_need_otp.clone());
        }
        amr.push_str(" otp");
    }
    let cookie = match new_session(sso, &page, &identity.identity, &amr, now).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "sso: storing the session");
            return refused(&page, sso, &req.error("server_error", "internal error"));
        }
    };
    tracing::info!(user = %identity.identity, client = %req.client.name, %amr, "sso: signed in");
    let who = Who {
        username: identity.identity,
        auth_time: now,
        amr,
    };
    let resp = proceed(&state, sso, &page, &req, &raw, &who, now).await;
    with_cookie(resp, cookie)
}

/// A provider session for the account: stored, and its cookie.
async fn new_session(
    sso: &SsoState,
    page: &Page,
    username: &str,
    amr: &str,
    now: i64,
) -> Result<HeaderValue, crate::store::StoreError> {
    let token = tokens::random_token();
    let session = SsoSession {
        username: username.to_string(),
        amr: amr.to_string(),
        auth_time: now,
        expires_at: now + sso.session_ttl_ms,
    };
    sso.store
        .oidc()
        .add_session(&tokens::hash_token(&token), &session)
        .await?;
    Ok(sso_cookie(page, sso, &token, sso.session_ttl_ms / 1000))
}

/// After WeChat or WeCom sign-in (a bound account): the provider session,
/// and back to the authorization request.
pub(super) async fn resume_signed_in(
    state: &PortalState,
    page: &Page,
    username: &str,
    method: &str,
    raw_request: &str,
) -> Response {
    let Some(sso) = sso_of(state) else {
        return not_found();
    };
    let now = sso.clock.now_ms();
    let amr = if method == "wecom" { "wecom" } else { "wechat" };
    match new_session(sso, page, username, amr, now).await {
        Ok(cookie) => {
            tracing::info!(user = %username, %amr, "sso: signed in");
            // Re-encoded: the request came back through a form.
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(parse_pairs(raw_request.as_bytes()))
                .finish();
            let to = format!("{}/authorize?{query}", sso.base_path());
            with_cookie(Redirect::to(&to).into_response(), cookie)
        }
        Err(e) => {
            tracing::error!(error = %e, "sso: storing the session");
            let m = page.t().err_internal.clone();
            page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &m,
                None,
                super::START_PATH,
            )
        }
    }
}

/// `POST <issuer>/wechat` and `/wecom`: sign in with a bound WeChat or
/// WeCom identity (the portal's OAuth flows).
pub(super) async fn oauth_post(
    State(state): State<St>,
    page: Page,
    axum::extract::Path(kind): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let (_, _, _, raw) = match provider_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let kind = match kind.as_str() {
        "wechat" => crate::portal::wechat::Kind::Wechat,
        "wecom" => crate::portal::wechat::Kind::Wecom,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    super::oauth::sso_start(&state, &page, kind, &raw).await
}

/// `POST <issuer>/consent`: allow (remembered for this client) or deny.
pub(super) async fn consent_post(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let (sso, form, req, raw) = match provider_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = sso.clock.now_ms();
    let Some(who) = signed_in(&state, sso, &page, &req, now)
        .await
        .filter(|w| acceptable(&req, w, now))
    else {
        return signin_page(&state, sso, &page, &req, &raw, StatusCode::OK, None);
    };
    if let Some(refusal) = account_refusal(&state, sso, &page, &req, &raw, &who, now).await {
        return refusal;
    }
    if field(&form, "decision") != Some("allow") {
        return refused(
            &page,
            sso,
            &req.error("access_denied", "the person declined"),
        );
    }
    let mut scopes = match sso
        .store
        .oidc()
        .consent(&who.username, &req.client.name)
        .await
    {
        Ok(r) => r.unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "sso: consent lookup");
            return refused(&page, sso, &req.error("server_error", "internal error"));
        }
    };
    scopes.extend(req.scopes.iter().cloned());
    scopes.sort();
    scopes.dedup();
    if let Err(e) = sso
        .store
        .oidc()
        .grant_consent(&who.username, &req.client.name, &scopes, now)
        .await
    {
        tracing::error!(error = %e, "sso: storing consent");
        return refused(&page, sso, &req.error("server_error", "internal error"));
    }
    code_redirect(sso, &page, &req, &who, now).await
}

/// `GET <issuer>/logout` (RP-initiated logout 1.0): ends the provider
/// session and the person's tokens at that client; goes back to
/// `post_logout_redirect_uri` only when it is registered exactly.
pub(super) async fn logout_get(
    State(state): State<St>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(sso) = sso_of(&state) else {
        return not_found();
    };
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let bad = |why: &str| {
        tracing::info!(%why, "sso: logout request refused");
        let m = page.t().sso_bad_request.clone();
        page.message(
            StatusCode::BAD_REQUEST,
            &page.t().error_title.clone(),
            &m,
            Some("PT-302"),
            None,
        )
    };
    let (hinted, hint_sub, hint_auth_time) = match field(&pairs, "id_token_hint") {
        Some(h) => match sso.verify_own(h).await {
            Ok(c) => (
                c["aud"].as_str().map(str::to_string),
                c["sub"].as_str().map(str::to_string),
                c["auth_time"].as_i64(),
            ),
            Err(_) => return bad("id_token_hint is not ours"),
        },
        None => (None, None, None),
    };
    let client_name = match (hinted, field(&pairs, "client_id")) {
        (Some(a), Some(b)) if a != b => return bad("client_id and id_token_hint disagree"),
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_string),
    };
    let client = match &client_name {
        Some(n) => match sso.store.oidc().client(n).await {
            Ok(Some(c)) => Some(c),
            _ => return bad("unknown client"),
        },
        None => None,
    };
    let redirect = match field(&pairs, "post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => {
                Some(uri.to_string())
            }
            _ => return bad("post_logout_redirect_uri is not registered"),
        },
    };
    let now = sso.clock.now_ms();
    if let Some(c) = page.cookie(SSO_COOKIE) {
        let hash = tokens::hash_token(&c);
        if let Ok(Some(s)) = sso.store.oidc().session(&hash).await {
            // The app's tokens go only when the hint names this person (a
            // bare link cannot revoke someone's tokens); the person is
            // signed out everywhere (every browser, every app told by back
            // channel) only when the hint comes from this very sign-in, so
            // an old ID token replayed in a link cannot do it.
            let same_person = match (&hint_sub, state.store.users().get(&s.username).await) {
                (Some(sub), Ok(Some(u))) => *sub == crate::sso::grants::subject_of(&u),
                _ => false,
            };
            let this_sign_in = same_person && hint_auth_time == Some(s.auth_time / 1000);
            if let (true, Some(sub)) = (this_sign_in, &hint_sub) {
                match sso
                    .store
                    .oidc()
                    .sign_out_everywhere(&s.username, sub, "logout", now)
                    .await
                {
                    Ok(0) => {}
                    Ok(_) => sso.logout_queued.notify_one(),
                    Err(e) => tracing::warn!(error = %e, "sso: queueing back-channel logout"),
                }
            }
            if let (Some(client), true) = (&client, same_person) {
                if let Err(e) = sso
                    .store
                    .oidc()
                    .revoke_user_tokens(&s.username, &client.name, now)
                    .await
                {
                    tracing::warn!(error = %e, "sso: revoking tokens at logout");
                }
            }
            tracing::info!(user = %s.username, "sso: signed out");
        }
        let _ = sso.store.oidc().remove_session(&hash).await;
    }
    let clear = sso_cookie(&page, sso, "", 0);
    let resp = match redirect {
        Some(uri) => {
            let to = authorize::redirect_with(&uri, &[("state", field(&pairs, "state"))]);
            Redirect::to(&to).into_response()
        }
        None => {
            let t = page.t();
            let (title, text) = (t.sign_out.clone(), t.sso_signed_out.clone());
            page.message(StatusCode::OK, &title, &text, None, None)
        }
    };
    with_cookie(resp, clear)
}
