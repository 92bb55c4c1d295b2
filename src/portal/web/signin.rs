//! The sign-in forms (staff password, voucher, terms, SMS) and what
//! follows a decision: the client check, the legal-log row, the session
//! cookie and the handoff to the AP.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{again_url, field, pages, parse_pairs, Page, St, CSRF_COOKIE, SESSION_COOKIE};
use crate::portal::context::ClientContext;
use crate::portal::legal_log;
use crate::portal::signin::{self, Identity, Next, Origin, SignInError};
use crate::portal::{sms, trust, PortalState};

/// A posted form with a valid CSRF token and sealed context.
pub(super) struct SignInForm {
    pub fields: Vec<(String, String)>,
    pub ctx: ClientContext,
    /// The context as posted (for the retry button).
    pub sealed: String,
}

impl SignInForm {
    pub fn get(&self, name: &str) -> &str {
        field(&self.fields, name).unwrap_or("")
    }

    pub fn retry(&self) -> String {
        again_url(&self.ctx.profile, Some(&self.sealed))
    }
}

/// CSRF token and sealed context for `profile`; the error is the refusal
/// page itself, sent as it is.
#[allow(clippy::result_large_err)]
pub(super) fn checked_form(
    state: &PortalState,
    page: &Page,
    profile: &str,
    body: &[u8],
) -> Result<SignInForm, Response> {
    let fields = parse_pairs(body);
    let sealed = field(&fields, "ctx").unwrap_or("").to_string();
    let retry = again_url(profile, Some(&sealed));
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&fields, "csrf"))
    {
        tracing::info!(client = ?page.client, "portal form refused: CSRF token missing or wrong");
        let m = page.t().err_csrf.clone();
        return Err(page.error(StatusCode::FORBIDDEN, &m, Some("PT-105"), &retry));
    }
    let ctx = state
        .keys
        .open_context(&sealed, state.clock.now_ms())
        .filter(|c| c.profile == profile);
    match ctx {
        Some(ctx) => Ok(SignInForm {
            fields,
            ctx,
            sealed,
        }),
        None => {
            let m = page.t().err_csrf.clone();
            Err(page.error(
                StatusCode::BAD_REQUEST,
                &m,
                Some("PT-106"),
                super::START_PATH,
            ))
        }
    }
}

/// A sign-in form: CSRF and context checked, and the per-device and
/// per-source attempt limits applied, before any method-specific work.
#[allow(clippy::result_large_err)]
pub(super) fn signin_form(
    state: &PortalState,
    page: &Page,
    profile: &str,
    body: &[u8],
) -> Result<SignInForm, Response> {
    let form = checked_form(state, page, profile, body)?;
    if let Err(e) = signin::check_limits(state, form.ctx.client_mac, page.client) {
        return Err(page.signin_error(&e, &form.retry()));
    }
    Ok(form)
}

/// What a person tried: the method and the identity they claimed (the
/// username typed, the phone number, the voucher code).
pub(super) struct Claim {
    pub method: &'static str,
    pub identity: String,
}

impl Claim {
    pub fn new(method: &'static str, identity: &str) -> Claim {
        // Whatever was typed, bounded and on one line, for the log.
        let identity: String = identity
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        Claim { method, identity }
    }
}

/// Checks that the browser is the device before any credential is looked
/// at (so a refused device consumes no voucher and no SMS code). A
/// refusal is logged as an attempt and shown as a page.
pub(super) async fn checked_origin(
    state: &PortalState,
    page: &Page,
    ctx: ClientContext,
    claim: &Claim,
    retry: &str,
) -> Result<Origin, Response> {
    let now = state.clock.now_ms();
    let (checked, sessions) = match trust::verify_client(state, &ctx, page.client, now).await {
        Ok(c) => (Ok(()), c.sessions),
        Err(r) => (Err(r), Vec::new()),
    };
    let origin = Origin {
        nas: signin::nas_of(&ctx, &sessions),
        client_ip: page.client,
        ctx,
    };
    match checked {
        Ok(()) => Ok(origin),
        Err(r) => {
            let e = SignInError::Untrusted(r);
            let row = origin.log_row(claim.method, &claim.identity, false, &e.to_string(), now);
            legal_log::write(state, &[row]).await;
            Err(page.signin_error(&e, retry))
        }
    }
}

/// The start every sign-in form shares: the form's checks and limits,
/// the claim it makes, and the client check.
async fn begin(
    state: &PortalState,
    page: &Page,
    profile: &str,
    body: &[u8],
    claim_of: impl FnOnce(&SignInForm) -> Claim,
) -> Result<(SignInForm, Claim, Origin), Response> {
    let form = signin_form(state, page, profile, body)?;
    let claim = claim_of(&form);
    let origin = checked_origin(state, page, form.ctx.clone(), &claim, &form.retry()).await?;
    Ok((form, claim, origin))
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile, client = ?page.client))]
pub(super) async fn staff(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let claim = |f: &SignInForm| Claim::new("staff", f.get("username"));
    let (form, claim, origin) = match begin(&state, &page, &profile, &body, claim).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    let who = signin::verify_staff(&state, form.get("username"), form.get("password"), now).await;
    finish(&state, &page, &origin, &claim, who, &form.retry(), now).await
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile, client = ?page.client))]
pub(super) async fn voucher(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let claim = |f: &SignInForm| {
        let code = f.get("code");
        let shown = signin::normalize_voucher(code).unwrap_or_else(|| code.to_string());
        Claim::new("voucher", &format!("voucher:{shown}"))
    };
    let (form, claim, origin) = match begin(&state, &page, &profile, &body, claim).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    let who = signin::redeem_voucher(&state, form.get("code"), form.ctx.client_mac, now).await;
    finish(&state, &page, &origin, &claim, who, &form.retry(), now).await
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile, client = ?page.client))]
pub(super) async fn accept(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let claim = |_: &SignInForm| Claim::new("click-through", "guest:terms");
    let (form, claim, origin) = match begin(&state, &page, &profile, &body, claim).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    let who = signin::click_through(&state, &form.ctx, now);
    finish(&state, &page, &origin, &claim, who, &form.retry(), now).await
}

fn sms_error(page: &Page, e: &sms::SmsError, retry: &str) -> Response {
    let t = page.t();
    let (status, text, code) = match e {
        sms::SmsError::Off => (StatusCode::FORBIDDEN, &t.err_method_off, Some("PT-203")),
        sms::SmsError::BadPhone => (StatusCode::BAD_REQUEST, &t.err_phone, None),
        sms::SmsError::Limited => (
            StatusCode::TOO_MANY_REQUESTS,
            &t.err_sms_limit,
            Some("PT-206"),
        ),
        sms::SmsError::Gateway(g) => {
            tracing::warn!(error = %g, "SMS gateway refused or failed");
            (StatusCode::BAD_GATEWAY, &t.err_internal, Some("PT-503"))
        }
        sms::SmsError::SignIn(SignInError::BadPassword) => {
            (StatusCode::UNAUTHORIZED, &t.err_sms_code, None)
        }
        sms::SmsError::SignIn(other) => return page.signin_error(other, retry),
    };
    let text = text.clone();
    page.error(status, &text, code, retry)
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile, client = ?page.client))]
pub(super) async fn sms_send(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    // No code is sent for a browser that could not sign the device in.
    let claim = |f: &SignInForm| Claim::new("sms", f.get("phone"));
    let (form, _, _) = match begin(&state, &page, &profile, &body, claim).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let phone = match sms::send_code(
        &state,
        form.get("phone"),
        form.ctx.client_mac,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return sms_error(&page, &e, &form.retry()),
    };
    page.html(
        StatusCode::OK,
        pages::SmsCode {
            frame: page.frame(),
            profile: &profile,
            csrf: form.get("csrf"),
            ctx: &form.sealed,
            phone: &phone,
        }
        .render(),
    )
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile, client = ?page.client))]
pub(super) async fn sms_verify(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
) -> Response {
    let claim = |f: &SignInForm| {
        let phone = f.get("phone");
        let shown = sms::normalize_phone(phone).unwrap_or_else(|| phone.to_string());
        Claim::new("sms", &format!("phone:{shown}"))
    };
    let (form, claim, origin) = match begin(&state, &page, &profile, &body, claim).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    match sms::verify_code(&state, form.get("phone"), form.get("code"), now).await {
        Ok(who) => finish(&state, &page, &origin, &claim, Ok(who), &form.retry(), now).await,
        Err(e) => {
            let row = origin.log_row(claim.method, &claim.identity, false, &e.to_string(), now);
            legal_log::write(&state, &[row]).await;
            sms_error(&page, &e, &form.retry())
        }
    }
}

/// After a sign-in decision: log it, store it, set the session cookie,
/// hand off to the AP.
pub(super) async fn finish(
    state: &PortalState,
    page: &Page,
    origin: &Origin,
    claim: &Claim,
    who: Result<Identity, SignInError>,
    retry: &str,
    now: i64,
) -> Response {
    let who = match who {
        Ok(w) => w,
        Err(e) => {
            tracing::info!(mac = %origin.ctx.client_mac, error = %e, "portal sign-in refused");
            let row = origin.log_row(claim.method, &claim.identity, false, &e.to_string(), now);
            legal_log::write(state, &[row]).await;
            return page.signin_error(&e, retry);
        }
    };
    // After the AP's login the browser comes back to the status page, which
    // shows the launcher only once the AP is confirmed to have let it in.
    let return_url = format!("{}/portal/status", page.base_url(state));
    let done = match signin::complete(state, origin, who, &return_url, now).await {
        Ok(d) => d,
        Err(e) => return page.signin_error(&e, retry),
    };
    let max_age = ((done.session.expires_at - now) / 1000).max(1);
    let cookie = page.set_cookie(SESSION_COOKIE, &done.session_token, max_age);
    let mut resp = match &done.next {
        Next::Form(form) => page.html(
            StatusCode::OK,
            pages::Handoff {
                frame: page.frame(),
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
