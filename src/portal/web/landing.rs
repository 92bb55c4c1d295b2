//! Landings: the AP's redirect (`/portal/<profile>?...`), the same landing
//! again from a sealed context (the retry button), the landing that finds
//! the device from the asking address (`/portal/start`, the RFC 8908
//! `user-portal-url`), and gateway mode's catch-all redirect.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{field, pages, parse_pairs, Page, St, CSRF_COOKIE, START_PATH};
use crate::domain::MacAddr;
use crate::portal::context::{self, ClientContext, ContextError};
use crate::portal::signin::SignInError;
use crate::portal::{tokens, trust, PortalState};
use crate::profiles::portal::Handoff;

pub(super) async fn gateway_redirect(
    State(state): State<St>,
    page: Page,
    uri: axum::http::Uri,
) -> Response {
    let original = format!(
        "http://{}{}",
        page.host.as_deref().unwrap_or("example.com"),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let target = format!(
        "{}/portal/gateway?url={}",
        page.base_url(&state),
        crate::http_client::pct(&original)
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

pub(super) async fn landing_default(State(state): State<St>, page: Page, q: RawQuery) -> Response {
    let name = state.config.default_profile.clone();
    landing(State(state), page, Path(name), q).await
}

#[tracing::instrument(level = "debug", skip_all, fields(profile = %profile_name, client = ?page.client))]
pub(super) async fn landing(
    State(state): State<St>,
    page: Page,
    Path(profile_name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(profile) = state.profiles.get(&profile_name) else {
        let m = page.t().err_unknown_profile.clone();
        return page.error(StatusCode::NOT_FOUND, &m, Some("PT-104"), START_PATH);
    };
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    // Gateway mode: no AP tells us the MAC; the neighbour table does.
    let peer_mac = match (profile.portal.handoff, page.client, &state.gateway) {
        (Handoff::Gateway, Some(ip), Some(_)) => crate::gateway::neigh::lookup(ip).await,
        _ => None,
    };
    match context::parse(&profile.name, &profile.portal, &query, peer_mac) {
        Ok(ctx) => render(&state, &page, ctx).await,
        Err(e) => context_error(&page, &e),
    }
}

fn context_error(page: &Page, e: &ContextError) -> Response {
    tracing::info!(error = %e, uri = %page.uri, "portal landing refused");
    let text = page.t().err_bad_request.clone();
    // Trying again is loading the same redirect (the AP may send a good
    // one next time; a passing store failure may be over).
    page.error(StatusCode::BAD_REQUEST, &text, Some(e.code()), &page.uri)
}

/// The retry button of a form's error page: the landing again, from the
/// context sealed into that form.
pub(super) async fn again(
    State(state): State<St>,
    page: Page,
    Path(profile): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    let ctx = field(&query, "ctx")
        .and_then(|c| state.keys.open_context(c, state.clock.now_ms()))
        .filter(|c| c.profile == profile);
    match ctx {
        Some(ctx) => render(&state, &page, ctx).await,
        // Too old or not ours: find the device from its address.
        None => Redirect::to(START_PATH).into_response(),
    }
}

/// A landing for a client that arrives without a redirect (RFC 8908's
/// `user-portal-url`, a bookmark, a retry without context): the device is
/// found from the asking address, through the NAS's accounting (the
/// address it reported for a MAC) or, in gateway mode, the neighbour
/// table. Such a context is checked like any other before sign-in.
pub(super) async fn start(State(state): State<St>, page: Page) -> Response {
    let now = state.clock.now_ms();
    let Some(ip) = page.client else {
        return nothing_known(&page);
    };
    match state
        .store
        .portal_sessions()
        .active_by_ip(&ip.to_string(), now)
        .await
    {
        Ok(Some(s)) => {
            let t = page.t();
            let text = format!(
                "{} {}: {}",
                t.already_signed_in,
                t.time_left,
                pages::format_duration((s.expires_at - now) / 1000, page.lang)
            );
            let (title, label) = (t.signed_in_title.clone(), t.open_launcher.clone());
            return page.message(
                StatusCode::OK,
                &title,
                &text,
                None,
                Some(("/portal/launcher", &label)),
            );
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "portal start: session lookup failed");
            let m = page.t().err_internal.clone();
            return page.error(
                StatusCode::SERVICE_UNAVAILABLE,
                &m,
                Some("PT-501"),
                START_PATH,
            );
        }
    }
    match context_from_address(&state, ip, now).await {
        Some(ctx) => render(&state, &page, ctx).await,
        None => nothing_known(&page),
    }
}

fn nothing_known(page: &Page) -> Response {
    let t = page.t();
    let (title, text, label) = (t.start_title.clone(), t.start_text.clone(), t.retry.clone());
    page.message(
        StatusCode::OK,
        &title,
        &text,
        None,
        Some((START_PATH, &label)),
    )
}

/// The client context of the device at `ip`, where Portico can let it in
/// itself (RADIUS MAC authentication or gateway mode).
pub(crate) async fn context_from_address(
    state: &PortalState,
    ip: std::net::IpAddr,
    now: i64,
) -> Option<ClientContext> {
    if state.gateway.is_some() {
        if let Some(mac) = crate::gateway::neigh::lookup(ip).await {
            return Some(ClientContext::bare("gateway", mac, Some(ip)));
        }
    }
    let session = state
        .store
        .accounting()
        .open_session_for_ip(
            &ip.to_string(),
            now - crate::portal::signin::OPEN_SESSION_HORIZON_MS,
        )
        .await
        .ok()??;
    let mac = MacAddr::parse(session.calling_station.as_deref()?).ok()?;
    let nas = state.store.nas().get(&session.nas_name).await.ok()??;
    let profile = state
        .profiles
        .get(&nas.profile)
        .filter(|p| p.portal.handoff == Handoff::RadiusMac)?;
    let mut ctx = ClientContext::bare(&profile.name, mac, Some(ip));
    // Called-Station-Id is "AP-MAC:SSID" (RFC 3580) on most APs.
    if let Some(called) = session.called_station.as_deref() {
        let (ap, ssid) = split_called_station(called);
        ctx.ap_mac = ap;
        ctx.ssid = ssid;
    }
    Some(ctx)
}

/// "00-11-22-33-44-55:Office" into the AP's MAC and the SSID.
pub(crate) fn split_called_station(called: &str) -> (Option<MacAddr>, Option<String>) {
    let mac_part: String = called.chars().take(17).collect();
    match MacAddr::parse(&mac_part) {
        Ok(mac) => {
            let ssid = called
                .get(17..)
                .and_then(|rest| rest.strip_prefix(':'))
                .filter(|s| !s.is_empty() && s.len() <= 128 && !s.chars().any(char::is_control))
                .map(str::to_string);
            (Some(mac), ssid)
        }
        Err(_) => (MacAddr::parse(called).ok(), None),
    }
}

/// Checks the context (the login URL leads to a NAS we know; the browser
/// is the device, where Portico lets the MAC in) and shows the sign-in
/// forms with the context sealed into them.
pub(super) async fn render(state: &PortalState, page: &Page, mut ctx: ClientContext) -> Response {
    let now = state.clock.now_ms();
    if let Some(url) = ctx.login_url.clone() {
        match trust::check_login_url(state, &url, &state.dns_lookups).await {
            Ok(target) => ctx.nas = target.nas,
            Err(r) => return refused(page, &ctx, r),
        }
    }
    if let Err(r) = trust::precheck_client(state, &ctx, page.client, now).await {
        return refused(page, &ctx, r);
    }
    let csrf_cookie = page
        .cookie(CSRF_COOKIE)
        .unwrap_or_else(tokens::random_token);
    let csrf = state.keys.csrf_token(&csrf_cookie);
    let sealed = state.keys.seal_context(&ctx, now);
    let terms = ctx
        .ssid
        .as_ref()
        .is_some_and(|s| state.config.click_through_ssids.iter().any(|a| a == s));
    let body = pages::Landing {
        frame: page.frame(),
        profile: &ctx.profile,
        csrf: &csrf,
        ctx: &sealed,
        notice: None,
        sms: state.config.sms.provider.is_some(),
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

fn refused(page: &Page, ctx: &ClientContext, r: trust::Refusal) -> Response {
    tracing::warn!(mac = %ctx.client_mac, profile = %ctx.profile, client = ?page.client, reason = %r, "portal landing refused");
    // A browser that is not the device is best sent to find its own
    // context; anything else tries the same landing again.
    let retry = if r.is_client() {
        START_PATH.to_string()
    } else {
        page.uri.clone()
    };
    page.signin_error(&SignInError::Untrusted(r), &retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn called_station_splits_into_ap_and_ssid() {
        let (ap, ssid) = split_called_station("00-11-22-33-44-55:Office");
        assert_eq!(
            ap.map(|m| m.to_string()).as_deref(),
            Some("00:11:22:33:44:55")
        );
        assert_eq!(ssid.as_deref(), Some("Office"));
        assert_eq!(split_called_station("001122334455").1, None);
        assert!(split_called_station("001122334455").0.is_some());
        assert_eq!(split_called_station("garbage"), (None, None));
        assert_eq!(split_called_station("00-11-22-33-44-55:").1, None);
    }
}
