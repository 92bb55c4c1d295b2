//! RFC 8908 Captive Portal API at `/capport/api`, answered for the asking
//! address. `user-portal-url` is the landing that finds the asking device
//! from that address (`/portal/start`); `captive` is false while the
//! device has a portal session or an authorization for its MAC.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{security_headers, Page, St, START_PATH};
use crate::domain::MacAddr;
use crate::portal::{capport, PortalState};
use crate::store::StoreError;

pub(super) async fn capport_api(State(state): State<St>, page: Page) -> Response {
    // Clients use the API only over HTTPS (RFC 8908 section 4): with an
    // HTTPS listener, the plain-HTTP API sends them there.
    let https_base = page.https_base_url(&state);
    if !page.https {
        if let Some(base) = &https_base {
            let location = format!("{base}/capport/api");
            return (
                StatusCode::PERMANENT_REDIRECT,
                [
                    (
                        header::LOCATION,
                        HeaderValue::from_str(&location)
                            .unwrap_or_else(|_| HeaderValue::from_static("/capport/api")),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response();
        }
    }
    let now = state.clock.now_ms();
    let until = match page.client {
        Some(ip) => match open_until(&state, ip, now).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "capport: state lookup failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        },
        None => None,
    };
    let base = https_base.unwrap_or_else(|| page.base_url(&state));
    let venue = state.config.venue_info_url.clone();
    let body = capport::state(format!("{base}{START_PATH}"), venue, until, now);
    match serde_json::to_string(&body) {
        Ok(json) => (StatusCode::OK, security_headers(true), json).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Until when the device at `ip` may use the network, if it may: its
/// portal session, else the authorization of the MAC that the NAS (or, in
/// gateway mode, the neighbour table) has for that address.
async fn open_until(state: &PortalState, ip: IpAddr, now: i64) -> Result<Option<i64>, StoreError> {
    if let Some(s) = state
        .store
        .portal_sessions()
        .active_by_ip(&ip.to_string(), now)
        .await?
    {
        return Ok(Some(s.expires_at));
    }
    let mac = if state.gateway.is_some() {
        crate::gateway::neigh::lookup(ip).await
    } else {
        state
            .store
            .accounting()
            .open_session_for_ip(
                &ip.to_string(),
                now - crate::portal::signin::OPEN_SESSION_HORIZON_MS,
            )
            .await?
            .and_then(|s| MacAddr::parse(s.calling_station.as_deref()?).ok())
    };
    let Some(mac) = mac else {
        return Ok(None);
    };
    Ok(state
        .store
        .authorizations()
        .active(mac, now)
        .await?
        .map(|a| a.expires_at))
}
