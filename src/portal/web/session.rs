//! After sign-in: the page that waits for the AP to let the device in, the
//! app launcher, and sign-out.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{field, pages, parse_pairs, Page, St, CSRF_COOKIE, SESSION_COOKIE, START_PATH};
use crate::portal::signin::{self, Confirmation};
use crate::portal::{launcher, sms, tokens, PortalState};
use crate::store::portal_sessions::PortalSession;

pub(super) async fn session_of(state: &PortalState, page: &Page) -> Option<PortalSession> {
    let token = page.cookie(SESSION_COOKIE)?;
    match state
        .store
        .portal_sessions()
        .by_token(&tokens::hash_token(&token))
        .await
    {
        Ok(Some(s)) if s.is_active(state.clock.now_ms()) => Some(s),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "portal session lookup failed");
            None
        }
    }
}

fn no_session(page: &Page) -> Response {
    let m = page.t().err_session.clone();
    page.error(StatusCode::UNAUTHORIZED, &m, None, START_PATH)
}

/// Waits for proof that the AP let the device in. `again=<ms>` (from the
/// retry button) waits anew from then; `kick=1` also asks the AP once
/// more to re-authenticate the device.
pub(super) async fn status_page(
    State(state): State<St>,
    page: Page,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(session) = session_of(&state, &page).await else {
        return no_session(&page);
    };
    let now = state.clock.now_ms();
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    let again = field(&query, "again")
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| (session.created_at..=now).contains(t));
    if again.is_some() && field(&query, "kick") == Some("1") {
        signin::retry_handoff(&state, &session, now).await;
    }
    let wait_from = again.unwrap_or(session.created_at);
    let c = match signin::confirm(&state, &session, wait_from, now).await {
        Ok(c) => c,
        Err(e) => return page.signin_error(&e, "/portal/status"),
    };
    if c == Confirmation::Confirmed {
        return Redirect::to("/portal/launcher").into_response();
    }
    let refresh_url = match again {
        Some(t) => format!("/portal/status?again={t}"),
        None => "/portal/status".to_string(),
    };
    let retry_url = format!("/portal/status?again={now}&kick=1");
    page.html(
        StatusCode::OK,
        pages::Waiting {
            frame: page.frame(),
            refresh_secs: 2,
            refresh_url: &refresh_url,
            failed: c == Confirmation::TimedOut,
            retry_url: &retry_url,
        }
        .render(),
    )
}

/// The name the launcher greets: the staff member's display name, a masked
/// phone number, or "visitor"; never a raw identifier.
async fn display_name(state: &PortalState, page: &Page, s: &PortalSession) -> String {
    let t = page.t();
    match s.method.as_str() {
        "sms" => s
            .phone
            .as_deref()
            .map(sms::mask)
            .unwrap_or_else(|| t.visitor.clone()),
        "voucher" | "click-through" => t.visitor.clone(),
        "wechat" if s.identity.starts_with("wechat:") => t.wechat_visitor.clone(),
        _ => match state.store.users().get(&s.identity).await {
            Ok(Some(u)) => u
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(u.username),
            _ => s.identity.clone(),
        },
    }
}

pub(super) async fn launcher_page(State(state): State<St>, page: Page) -> Response {
    let Some(session) = session_of(&state, &page).await else {
        return no_session(&page);
    };
    let now = state.clock.now_ms();
    let csrf_cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&csrf_cookie);
    let issuer = state.sso.as_ref().map(|s| s.issuer.as_str());
    let tiles = launcher::visible_tiles(&state.config.launcher, &session.groups, page.lang, issuer);
    let identity = display_name(&state, &page, &session).await;
    let extras = super::apps::extras(&state, &session).await;
    let mut resp = page.html(
        StatusCode::OK,
        pages::Launcher {
            frame: page.frame(),
            identity: &identity,
            time_left: pages::format_duration((session.expires_at - now) / 1000, page.lang),
            tiles,
            csrf: &csrf,
            original_url: session.original_url.as_deref(),
            survey: session.method == "staff",
            extras,
        }
        .render(),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        page.set_cookie(CSRF_COOKIE, &csrf_cookie, 3600),
    );
    resp
}

pub(super) async fn logout(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let form = parse_pairs(&body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        let m = page.t().err_csrf.clone();
        return page.error(
            StatusCode::FORBIDDEN,
            &m,
            Some("PT-105"),
            "/portal/launcher",
        );
    }
    let Some(session) = session_of(&state, &page).await else {
        return no_session(&page);
    };
    if let Err(e) = signin::sign_out(&state, &session, state.clock.now_ms()).await {
        return page.signin_error(&e, "/portal/launcher");
    }
    let t = page.t();
    let (title, text) = (t.sign_out.clone(), t.signed_out.clone());
    let mut resp = page.message(StatusCode::OK, &title, &text, None, None);
    resp.headers_mut()
        .append(header::SET_COOKIE, page.set_cookie(SESSION_COOKIE, "", 0));
    resp
}
