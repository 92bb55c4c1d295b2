//! A staff member's own settings on the launcher: the apps they allowed
//! (withdrawn at once, with the tokens those apps hold), Wi-Fi presence
//! for meeting check-in (off until they turn it on), and their WeChat and
//! WeCom bindings. Every change is an audit row.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::session::session_of;
use super::{field, parse_pairs, Page, St, CSRF_COOKIE};
use crate::portal::wechat::Kind;
use crate::portal::PortalState;
use crate::store::audit::AuditEntry;
use crate::store::portal_sessions::PortalSession;

/// The staff account a portal session stands for: a password, WeCom or
/// linked-WeChat sign-in (a visitor's session names no account).
pub fn staff_username(s: &PortalSession) -> Option<&str> {
    match s.method.as_str() {
        "staff" | "wecom" => Some(&s.identity),
        "wechat" if !s.identity.starts_with("wechat:") => Some(&s.identity),
        _ => None,
    }
}

/// An audit row for a staff member's own change.
pub(super) async fn audit_staff(
    state: &PortalState,
    page: &Page,
    username: &str,
    action: &str,
    target: &str,
    outcome: &str,
) {
    let entry = AuditEntry {
        at_ms: state.clock.now_ms(),
        actor: username.to_string(),
        role: "staff".into(),
        origin: page
            .client
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into()),
        action: action.to_string(),
        target: target.to_string(),
        outcome: outcome.to_string(),
        summary: json!({ "via": "launcher" }).to_string(),
    };
    if let Err(e) = state.store.audit().append(&entry).await {
        tracing::error!(error = %e, action, "audit row not written");
    }
}

/// What the launcher shows a staff member about themselves.
#[derive(Debug, Default)]
pub struct Extras {
    /// (client, scopes) they allowed.
    pub consents: Vec<(String, String)>,
    pub presence: bool,
    /// (kind, external id) bindings.
    pub links: Vec<(String, String)>,
    pub wechat_on: bool,
    pub wecom_on: bool,
    /// Only a password sign-in may add a binding.
    pub may_bind: bool,
}

pub(super) async fn extras(state: &PortalState, session: &PortalSession) -> Option<Extras> {
    let username = staff_username(session)?;
    let consents = match &state.sso {
        Some(_) => state
            .store
            .oidc()
            .consents_of(username)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(c, s, _)| (c, s.join(" ")))
            .collect(),
        None => Vec::new(),
    };
    Some(Extras {
        consents,
        presence: matches!(state.store.presence().opted_in(username).await, Ok(Some(_))),
        links: state
            .store
            .wechat_links()
            .links_of(username)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(k, id, _)| (k, id))
            .collect(),
        wechat_on: state.config.wechat.enabled,
        wecom_on: state.config.wecom.enabled,
        may_bind: session.method == "staff",
    })
}

/// The form's CSRF check and the staff session, or the refusal.
async fn staff_form(
    state: &PortalState,
    page: &Page,
    body: &[u8],
) -> Result<(Vec<(String, String)>, PortalSession), Response> {
    let form = parse_pairs(body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        let m = page.t().err_csrf.clone();
        return Err(page.error(
            StatusCode::FORBIDDEN,
            &m,
            Some("PT-105"),
            "/portal/launcher",
        ));
    }
    let Some(session) = session_of(state, page).await else {
        let m = page.t().err_session.clone();
        return Err(page.error(StatusCode::UNAUTHORIZED, &m, None, super::START_PATH));
    };
    if staff_username(&session).is_none() {
        let m = page.t().binding_staff_only.clone();
        return Err(page.error(StatusCode::FORBIDDEN, &m, None, "/portal/launcher"));
    }
    Ok((form, session))
}

fn back(anchor: &str) -> Response {
    Redirect::to(&format!("/portal/launcher#{anchor}")).into_response()
}

fn failed(page: &Page, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "launcher setting");
    let m = page.t().err_internal.clone();
    page.error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &m,
        None,
        "/portal/launcher",
    )
}

/// `POST /portal/apps/withdraw`: the app loses the consent and every
/// token it holds for this person.
pub(super) async fn withdraw(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let (form, session) = match staff_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let user = staff_username(&session).unwrap_or_default().to_string();
    let client = field(&form, "client").unwrap_or("");
    let now = state.clock.now_ms();
    let oidc = state.store.oidc();
    match oidc.withdraw_consent(&user, client).await {
        Ok(true) => {
            if let Err(e) = oidc.revoke_user_tokens(&user, client, now).await {
                return failed(&page, e);
            }
            audit_staff(&state, &page, &user, "oidc.consent.withdraw", client, "ok").await;
        }
        Ok(false) => {}
        Err(e) => return failed(&page, e),
    }
    back("apps")
}

/// `POST /portal/presence`: `on=1` shows meeting apps which room this
/// person is in; `on=0` stops it at once.
pub(super) async fn presence(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let (form, session) = match staff_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let user = staff_username(&session).unwrap_or_default().to_string();
    let on = field(&form, "on") == Some("1");
    let p = state.store.presence();
    let done = if on {
        p.opt_in(&user, state.clock.now_ms()).await.map(|_| ())
    } else {
        p.opt_out(&user).await.map(|_| ())
    };
    if let Err(e) = done {
        return failed(&page, e);
    }
    let action = if on {
        "presence.opt-in"
    } else {
        "presence.opt-out"
    };
    audit_staff(&state, &page, &user, action, &user, "ok").await;
    back("presence")
}

/// `POST /portal/bind/{wechat|wecom}`: starts binding (password
/// sign-ins only: a binding is a new way into the account).
pub(super) async fn bind(
    State(state): State<St>,
    page: Page,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    let (_, session) = match staff_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if session.method != "staff" {
        let m = page.t().binding_staff_only.clone();
        return page.error(StatusCode::FORBIDDEN, &m, None, "/portal/launcher");
    }
    let kind = match kind.as_str() {
        "wechat" => Kind::Wechat,
        "wecom" => Kind::Wecom,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    super::oauth::bind_start(&state, &page, kind, &session.identity).await
}

/// `POST /portal/unbind`: removes one of this person's own bindings.
pub(super) async fn unbind(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let (form, session) = match staff_form(&state, &page, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let user = staff_username(&session).unwrap_or_default().to_string();
    let (kind, id) = (
        field(&form, "kind").unwrap_or(""),
        field(&form, "id").unwrap_or(""),
    );
    let links = match state.store.wechat_links().links_of(&user).await {
        Ok(l) => l,
        Err(e) => return failed(&page, e),
    };
    if !links.iter().any(|(k, i, _)| k == kind && i == id) {
        return back("binding");
    }
    if let Err(e) = state.store.wechat_links().unlink(kind, id).await {
        return failed(&page, e);
    }
    audit_staff(&state, &page, &user, &format!("{kind}.unbind"), id, "ok").await;
    back("binding")
}
