//! WeChat and WeCom sign-in: inside WeChat's browser straight to OAuth;
//! on a computer a QR code for the phone; on a phone outside WeChat (which
//! cannot scan its own screen) the link to open in WeChat, or SMS instead.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::signin::{checked_origin, signin_form, Claim};
use super::{again_url, field, pages, parse_pairs, Page, St, CSRF_COOKIE, START_PATH};
use crate::portal::signin::SignInError;
use crate::portal::wechat::{self, Kind, TicketContext};
use crate::portal::{tokens, PortalState};

pub(super) async fn wechat_start(
    state: State<St>,
    page: Page,
    profile: Path<String>,
    body: Bytes,
) -> Response {
    oauth_start(state, page, profile, body, Kind::Wechat).await
}

pub(super) async fn wecom_start(
    state: State<St>,
    page: Page,
    profile: Path<String>,
    body: Bytes,
) -> Response {
    oauth_start(state, page, profile, body, Kind::Wecom).await
}

fn oauth_enabled(state: &PortalState, kind: Kind) -> bool {
    match kind {
        Kind::Wechat => state.config.wechat.enabled,
        Kind::Wecom => state.config.wecom.enabled,
    }
}

fn method_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Wechat => "wechat",
        Kind::Wecom => "wecom",
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

/// A phone's or tablet's browser (by its User-Agent).
fn is_phone(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| {
        ["iPhone", "iPad", "Android", "Mobile", "HarmonyOS"]
            .iter()
            .any(|k| ua.contains(k))
    })
}

async fn oauth_start(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    body: Bytes,
    kind: Kind,
) -> Response {
    let form = match signin_form(&state, &page, &profile, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !oauth_enabled(&state, kind) {
        let m = page.t().err_method_off.clone();
        return page.error(StatusCode::FORBIDDEN, &m, Some("PT-203"), &form.retry());
    }
    let claim = Claim::new(method_of(kind), "oauth");
    if let Err(r) = checked_origin(&state, &page, form.ctx.clone(), &claim, &form.retry()).await {
        return r;
    }
    let ticket = match new_ticket(&state, &page, form.sealed.clone(), kind, None, None).await {
        Ok(t) => t,
        Err(e) => return page.signin_error(&SignInError::Store(e), &form.retry()),
    };
    let ua = page.user_agent.as_deref();
    if wechat::is_wechat_browser(ua) {
        if let Some(gw) = &state.gateway {
            // WeChat's servers, for this client only, while OAuth runs.
            let secs = state.config.wechat.walled_garden_time.as_secs();
            let mac = form.ctx.client_mac;
            match gw
                .open_garden(mac, &state.config.wechat.walled_garden, secs)
                .await
            {
                Ok(n) => {
                    tracing::info!(%mac, addresses = n, "walled garden opened for WeChat OAuth")
                }
                Err(e) => tracing::warn!(%mac, error = %e, "walled garden not opened"),
            }
        }
        return Redirect::to(&authorize_for(&state, &page, kind, &ticket)).into_response();
    }
    if is_phone(ua) {
        let sms = (state.config.sms.provider.is_some()).then(|| format!("{}#sms", form.retry()));
        return phone_page(&state, &page, &ticket, sms.as_deref());
    }
    qr_page(&state, &page, &ticket, None)
}

fn ticket_link(state: &PortalState, page: &Page, ticket: &str) -> String {
    format!("{}/portal/oauth/t/{ticket}", page.base_url(state))
}

fn qr_page(state: &PortalState, page: &Page, ticket: &str, number: Option<&str>) -> Response {
    let link = ticket_link(state, page, ticket);
    let svg = crate::qr::svg(&link, 220).unwrap_or_else(|| {
        tracing::warn!("QR code not made: the link is too long");
        String::new()
    });
    let wait = format!("/portal/oauth/wait/{ticket}");
    page.html(
        StatusCode::OK,
        pages::Qr {
            frame: page.frame(),
            qr_svg: &svg,
            link: &link,
            wait_url: &wait,
            number,
        }
        .render(),
    )
}

fn phone_page(state: &PortalState, page: &Page, ticket: &str, sms_url: Option<&str>) -> Response {
    let link = ticket_link(state, page, ticket);
    let wait = format!("/portal/oauth/wait/{ticket}");
    page.html(
        StatusCode::OK,
        pages::WechatPhone {
            frame: page.frame(),
            link: &link,
            wait_url: &wait,
            sms_url,
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

/// Where the retry button of an OAuth error goes: the landing the ticket
/// was started from, while its sealed context is still good.
fn retry_of(state: &PortalState, tc: Option<&TicketContext>) -> String {
    tc.and_then(|tc| {
        let ctx = state.keys.open_context(&tc.ctx, state.clock.now_ms())?;
        Some(again_url(&ctx.profile, Some(&tc.ctx)))
    })
    .unwrap_or_else(|| START_PATH.to_string())
}

fn oauth_error(
    state: &PortalState,
    page: &Page,
    status: StatusCode,
    tc: Option<&TicketContext>,
) -> Response {
    let m = page.t().err_oauth.clone();
    page.error(status, &m, Some("PT-205"), &retry_of(state, tc))
}

/// The phone opened the link: on to the authorize page.
pub(super) async fn oauth_open(
    State(state): State<St>,
    page: Page,
    Path(ticket): Path<String>,
) -> Response {
    let now = state.clock.now_ms();
    match load_ticket(&state, &ticket).await {
        Some((t, tc)) if t.expires_at > now && t.completed_at.is_none() => {
            Redirect::to(&authorize_for(&state, &page, tc.kind, &ticket)).into_response()
        }
        _ => oauth_error(&state, &page, StatusCode::BAD_REQUEST, None),
    }
}

pub(super) async fn oauth_callback(
    State(state): State<St>,
    page: Page,
    RawQuery(q): RawQuery,
) -> Response {
    let q = parse_pairs(q.unwrap_or_default().as_bytes());
    let (Some(code), Some(ticket)) = (field(&q, "code"), field(&q, "state")) else {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, None);
    };
    let now = state.clock.now_ms();
    let Some((t, tc)) = load_ticket(&state, ticket).await else {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, None);
    };
    if t.expires_at <= now || t.completed_at.is_some() || code.is_empty() || code.len() > 512 {
        tracing::info!("OAuth callback for a used or expired ticket refused");
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, Some(&tc));
    }
    if let Some(username) = tc.bind.clone() {
        return bind_callback(&state, &page, ticket, &tc, &username, code).await;
    }
    if tc.sso.is_some() {
        return sso_callback(&state, &page, ticket, &tc, code, now).await;
    }
    let (identity, method) = match wechat::resolve(&state, tc.kind, code).await {
        Ok(x) => x,
        Err(e) => {
            return page.signin_error(
                &SignInError::OAuth(e.to_string()),
                &retry_of(&state, Some(&tc)),
            )
        }
    };
    // A WeCom userid must be a staff account before anything is stored.
    if let Err(e) = wechat::identity_for(&state, &identity, method, now).await {
        return page.signin_error(&e, &retry_of(&state, Some(&tc)));
    }
    let hash = tokens::hash_token(ticket);
    match state
        .store
        .tickets()
        .complete(&hash, &identity, method, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return oauth_error(&state, &page, StatusCode::BAD_REQUEST, Some(&tc)),
        Err(e) => return page.signin_error(&SignInError::Store(e), &retry_of(&state, Some(&tc))),
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
    page.message(StatusCode::OK, &title, &text, None, None)
}

async fn take_ticket(
    state: &PortalState,
    page: &Page,
    hash: &str,
    tc: &TicketContext,
    now: i64,
) -> Response {
    let Some(ctx) = state.keys.open_context(&tc.ctx, now) else {
        let m = page.t().err_csrf.clone();
        return page.error(StatusCode::BAD_REQUEST, &m, Some("PT-106"), START_PATH);
    };
    let Ok(Some(t)) = state.store.tickets().get(hash).await else {
        return oauth_error(state, page, StatusCode::BAD_REQUEST, Some(tc));
    };
    let method = method_of(tc.kind);
    let claim = Claim::new(method, t.identity.as_deref().unwrap_or(""));
    let retry = retry_of(state, Some(tc));
    // The device that takes the ticket is the one let in: check it first.
    let origin = match checked_origin(state, page, ctx, &claim, &retry).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    match state.store.tickets().consume(hash, now).await {
        Ok(true) => {}
        _ => return oauth_error(state, page, StatusCode::BAD_REQUEST, Some(tc)),
    }
    let who = wechat::identity_for(
        state,
        t.identity.as_deref().unwrap_or(""),
        t.method.as_deref().unwrap_or(""),
        now,
    )
    .await;
    super::signin::finish(state, page, &origin, &claim, who, &retry, now).await
}

/// The device showing the QR code (or the link) polls here.
pub(super) async fn oauth_wait(
    State(state): State<St>,
    page: Page,
    Path(ticket): Path<String>,
) -> Response {
    let now = state.clock.now_ms();
    let Some((t, tc)) = load_ticket(&state, &ticket).await else {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, None);
    };
    let mine = page
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| tokens::hash_token(&c) == tc.owner);
    if !mine || t.consumed_at.is_some() {
        return oauth_error(&state, &page, StatusCode::FORBIDDEN, Some(&tc));
    }
    if t.completed_at.is_some() && tc.sso.is_some() {
        return sso_finish(&state, &page, &tokens::hash_token(&ticket), &tc, now).await;
    }
    if t.completed_at.is_some() && tc.bind.is_some() {
        let _ = state
            .store
            .tickets()
            .consume(&tokens::hash_token(&ticket), now)
            .await;
        return Redirect::to("/portal/launcher#binding").into_response();
    }
    if t.completed_at.is_some() {
        return take_ticket(&state, &page, &tokens::hash_token(&ticket), &tc, now).await;
    }
    if t.expires_at <= now {
        return oauth_error(&state, &page, StatusCode::GONE, Some(&tc));
    }
    if is_phone(page.user_agent.as_deref()) {
        let sms = (state.config.sms.provider.is_some())
            .then(|| format!("{}#sms", retry_of(&state, Some(&tc))));
        return phone_page(&state, &page, &ticket, sms.as_deref());
    }
    let number = (tc.bind.is_some() || tc.sso.is_some()).then(|| match_number(&ticket));
    qr_page(&state, &page, &ticket, number.as_deref())
}

/// Starts binding WeChat or WeCom to the signed-in staff member's
/// account: inside WeChat straight to OAuth, elsewhere a QR code for the
/// phone. `username` is checked by the caller (a password sign-in).
pub(super) async fn bind_start(
    state: &PortalState,
    page: &Page,
    kind: Kind,
    username: &str,
) -> Response {
    ticket_start(state, page, kind, Some(username.to_string()), None).await
}

/// Starts WeChat or WeCom sign-in at the OpenID Connect provider for the
/// authorization request `request` (bound accounts only).
pub(super) async fn sso_start(
    state: &PortalState,
    page: &Page,
    kind: Kind,
    request: &str,
) -> Response {
    ticket_start(state, page, kind, None, Some(request.to_string())).await
}

/// A new ticket owned by this browser (the hash of its CSRF cookie):
/// stored by its hash; the ticket itself goes in the QR link.
async fn new_ticket(
    state: &PortalState,
    page: &Page,
    ctx: String,
    kind: Kind,
    bind: Option<String>,
    sso: Option<String>,
) -> Result<String, crate::store::StoreError> {
    let owner = page
        .cookie(CSRF_COOKIE)
        .map(|c| tokens::hash_token(&c))
        .unwrap_or_default();
    let tc = TicketContext {
        ctx,
        owner,
        kind,
        bind,
        sso,
    };
    let ticket = tokens::random_token();
    let now = state.clock.now_ms();
    let json = serde_json::to_string(&tc).unwrap_or_default();
    state
        .store
        .tickets()
        .create(
            &tokens::hash_token(&ticket),
            &json,
            now,
            now + wechat::TICKET_TTL_MS,
        )
        .await?;
    Ok(ticket)
}

async fn ticket_start(
    state: &PortalState,
    page: &Page,
    kind: Kind,
    bind: Option<String>,
    sso: Option<String>,
) -> Response {
    if !oauth_enabled(state, kind) {
        let m = page.t().err_method_off.clone();
        return page.error(
            StatusCode::FORBIDDEN,
            &m,
            Some("PT-203"),
            "/portal/launcher",
        );
    }
    let ticket = match new_ticket(state, page, String::new(), kind, bind, sso).await {
        Ok(t) => t,
        Err(e) => return page.signin_error(&SignInError::Store(e), "/portal/launcher"),
    };
    if wechat::is_wechat_browser(page.user_agent.as_deref()) {
        return Redirect::to(&authorize_for(state, page, kind, &ticket)).into_response();
    }
    qr_page(state, page, &ticket, Some(&match_number(&ticket)))
}

/// The two digits both screens show for a binding or provider sign-in
/// ticket: the phone's confirmation page and the waiting window.
pub(super) fn match_number(ticket: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("match:{ticket}").as_bytes());
    format!("{:02}", d[0] % 100)
}

/// The OAuth answer of a binding ticket: nothing is linked yet; the phone
/// confirms (a link to someone else's QR code must not bind silently).
async fn bind_callback(
    state: &PortalState,
    page: &Page,
    ticket: &str,
    tc: &TicketContext,
    username: &str,
    code: &str,
) -> Response {
    let external = match wechat::external_id(state, tc.kind, code).await {
        Ok(x) => x,
        Err(e) => return page.signin_error(&SignInError::OAuth(e.to_string()), "/portal/launcher"),
    };
    confirm_page(
        state,
        page,
        ticket,
        &external,
        tc.kind.as_str(),
        false,
        username,
    )
}

/// The OAuth answer of a provider sign-in ticket: a bound WeChat (or a
/// WeCom member with an account) only; the phone confirms before the
/// waiting window (which may not be the phone owner's) is signed in.
async fn sso_callback(
    state: &PortalState,
    page: &Page,
    ticket: &str,
    tc: &TicketContext,
    code: &str,
    now: i64,
) -> Response {
    let (identity, method) = match wechat::resolve(state, tc.kind, code).await {
        Ok(x) => x,
        Err(e) => return page.signin_error(&SignInError::OAuth(e.to_string()), START_PATH),
    };
    if !matches!(method, "wechat-staff" | "wecom") {
        return page.signin_error(&SignInError::NotLinked, START_PATH);
    }
    let who = match wechat::identity_for(state, &identity, method, now).await {
        Ok(w) => w,
        Err(e) => return page.signin_error(&e, START_PATH),
    };
    let client = tc
        .sso
        .as_deref()
        .and_then(|raw| {
            form_urlencoded::parse(raw.as_bytes())
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    confirm_page(
        state,
        page,
        ticket,
        &who.identity,
        who.method,
        true,
        &client,
    )
}

fn confirm_data(ticket: &str, identity: &str, method: &str) -> String {
    format!("{ticket}\n{identity}\n{method}")
}

/// The phone's question: "sign in to APP on the other screen?" or "link
/// this WeChat to ACCOUNT?", with the two digits to compare.
fn confirm_page(
    state: &PortalState,
    page: &Page,
    ticket: &str,
    identity: &str,
    method: &str,
    sign_in: bool,
    target: &str,
) -> Response {
    let cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&cookie);
    let sig = state
        .keys
        .sign("oauth-confirm", &confirm_data(ticket, identity, method));
    let number = match_number(ticket);
    let mut resp = page.html(
        StatusCode::OK,
        pages::OauthConfirm {
            frame: page.frame(),
            sign_in,
            target,
            number: &number,
            csrf: &csrf,
            ticket,
            identity,
            method,
            sig: &sig,
        }
        .render(),
    );
    resp.headers_mut().append(
        axum::http::header::SET_COOKIE,
        page.set_cookie(CSRF_COOKIE, &cookie, 3600),
    );
    resp
}

/// `POST /portal/oauth/confirm`: the phone's answer. Only now is the
/// ticket completed (once) and, for a binding, the identity linked.
pub(super) async fn oauth_confirm(State(state): State<St>, page: Page, body: Bytes) -> Response {
    let form = parse_pairs(&body);
    if !state
        .keys
        .csrf_ok(page.cookie(CSRF_COOKIE).as_deref(), field(&form, "csrf"))
    {
        let m = page.t().err_csrf.clone();
        return page.error(StatusCode::FORBIDDEN, &m, Some("PT-105"), START_PATH);
    }
    let (ticket, identity, method) = (
        field(&form, "ticket").unwrap_or(""),
        field(&form, "identity").unwrap_or(""),
        field(&form, "method").unwrap_or(""),
    );
    if !state.keys.signed(
        "oauth-confirm",
        &confirm_data(ticket, identity, method),
        field(&form, "sig").unwrap_or(""),
    ) {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, None);
    }
    let now = state.clock.now_ms();
    let Some((t, tc)) = load_ticket(&state, ticket).await else {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, None);
    };
    if t.expires_at <= now || t.completed_at.is_some() {
        return oauth_error(&state, &page, StatusCode::BAD_REQUEST, Some(&tc));
    }
    if field(&form, "decision") != Some("confirm") {
        let t = page.t();
        let (title, text) = (
            t.confirm_cancelled_title.clone(),
            t.confirm_cancelled.clone(),
        );
        return page.message(StatusCode::OK, &title, &text, None, None);
    }
    let hash = tokens::hash_token(ticket);
    // Completed once: a second confirmation (or a race) stops here.
    match state
        .store
        .tickets()
        .complete(&hash, identity, method, now)
        .await
    {
        Ok(true) => {}
        _ => return oauth_error(&state, &page, StatusCode::BAD_REQUEST, Some(&tc)),
    }
    let mine = page
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| tokens::hash_token(&c) == tc.owner);
    if let Some(username) = tc.bind.as_deref() {
        let linked = state
            .store
            .wechat_links()
            .link(method, identity, username, now)
            .await;
        let outcome = if linked.is_ok() { "ok" } else { "failed" };
        super::apps::audit_staff(
            &state,
            &page,
            username,
            &format!("{method}.bind"),
            identity,
            outcome,
        )
        .await;
        if let Err(e) = linked {
            tracing::info!(error = %e, "binding refused");
            return oauth_error(&state, &page, StatusCode::CONFLICT, None);
        }
        if mine {
            let _ = state.store.tickets().consume(&hash, now).await;
        }
        let t = page.t();
        let (title, text) = (t.binding_title.clone(), t.binding_done.clone());
        return page.message(
            StatusCode::OK,
            &title,
            &text,
            None,
            mine.then_some(("/portal/launcher", t.open_launcher.as_str())),
        );
    }
    if tc.sso.is_some() && mine {
        return sso_finish(&state, &page, &hash, &tc, now).await;
    }
    let t = page.t();
    let (title, text) = (t.signed_in_title.clone(), t.qr_done.clone());
    page.message(StatusCode::OK, &title, &text, None, None)
}

/// Takes a completed provider sign-in ticket: the provider session for
/// its account, and back to the authorization request.
async fn sso_finish(
    state: &PortalState,
    page: &Page,
    hash: &str,
    tc: &TicketContext,
    now: i64,
) -> Response {
    let Ok(Some(t)) = state.store.tickets().get(hash).await else {
        return oauth_error(state, page, StatusCode::BAD_REQUEST, None);
    };
    match state.store.tickets().consume(hash, now).await {
        Ok(true) => {}
        _ => return oauth_error(state, page, StatusCode::BAD_REQUEST, None),
    }
    let (Some(username), Some(method)) = (t.identity.as_deref(), t.method.as_deref()) else {
        return oauth_error(state, page, StatusCode::BAD_REQUEST, None);
    };
    super::sso::resume_signed_in(
        state,
        page,
        username,
        method,
        tc.sso.as_deref().unwrap_or(""),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_by_user_agent() {
        assert!(is_phone(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
        )));
        assert!(is_phone(Some(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"
        )));
        assert!(!is_phone(Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"
        )));
        assert!(!is_phone(None));
    }
}
