//! Wi-Fi presence for meeting check-in: which opted-in staff have a
//! device associated to a room's APs now, and when each first arrived.
//! A room is a coverage room polygon (the APs placed inside it) or a
//! name given to APs by hand (`portico room add`). Association comes from
//! open accounting sessions (Called-Station-Id is the AP) and recent SNMP
//! client rows. Answers name people, never MAC or IP addresses; each
//! query is an audit row.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::{token_hash, SsoError, SsoState};
use crate::domain::MacAddr;
use crate::store::audit::AuditEntry;
use crate::store::Store;

/// SNMP client rows newer than this count as "here now".
pub const POLL_FRESH_MS: i64 = 10 * 60_000;

/// A room and its APs (ids and MACs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Room {
    pub name: String,
    pub aps: Vec<String>,
    #[serde(skip)]
    ap_ids: BTreeSet<i64>,
    #[serde(skip)]
    ap_macs: BTreeSet<MacAddr>,
}

impl Room {
    fn holds(&self, ap: &str) -> bool {
        if let Some(id) = ap.strip_prefix("ap:") {
            return id.parse().is_ok_and(|id| self.ap_ids.contains(&id));
        }
        // Called-Station-Id: "AA-BB-CC-DD-EE-FF:SSID" or the bare MAC.
        let mac_part = ap.get(..17).unwrap_or(ap);
        MacAddr::parse(mac_part).is_ok_and(|m| self.ap_macs.contains(&m))
    }
}

/// Every room: hand-set ones and coverage rooms (APs placed inside the
/// polygon), merged by name.
pub async fn rooms(store: &Store) -> Result<BTreeMap<String, Room>, SsoError> {
    let mut out: BTreeMap<String, Room> = BTreeMap::new();
    let aps = store.aps().list().await?;
    let mac_of = |id: i64| {
        aps.iter()
            .find(|a| a.id == id)
            .and_then(|a| a.spec.mac.as_deref())
            .and_then(|m| MacAddr::parse(m).ok())
    };
    let mut add = |room: &str, id: i64, name: &str| {
        let r = out.entry(room.to_string()).or_insert_with(|| Room {
            name: room.to_string(),
            ..Room::default()
        });
        if r.ap_ids.insert(id) {
            r.aps.push(name.to_string());
            if let Some(m) = mac_of(id) {
                r.ap_macs.insert(m);
            }
        }
    };
    for (room, id, name, _) in store.presence().hand_rooms().await? {
        add(&room, id, &name);
    }
    for floor in store.floors().list().await? {
        let rooms: Vec<_> = floor
            .areas
            .iter()
            .filter(|a| a.kind == crate::store::floors::AreaKind::Room && !a.name.is_empty())
            .collect();
        if rooms.is_empty() {
            continue;
        }
        for p in store
            .floors()
            .placements_in_building(floor.building_id)
            .await?
        {
            if p.placement.floor != floor.id {
                continue;
            }
            for r in &rooms {
                if crate::coverage::kpi::point_in_polygon((p.placement.x, p.placement.y), &r.points)
                {
                    add(&r.name, p.ap_id, &p.ap);
                }
            }
        }
    }
    Ok(out)
}

/// One person in a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Present {
    pub username: String,
    pub display_name: String,
    /// When their device was first seen in the room (ms since the epoch).
    pub since_ms: i64,
}

/// Who is in the room: opted-in staff with a device associated to one of
/// its APs. With `arrived_since`, everyone who arrived since then (first
/// seen), whether still there or not.
pub async fn present(
    store: &Store,
    room: &Room,
    now_ms: i64,
    arrived_since: Option<i64>,
) -> Result<Vec<Present>, SsoError> {
    let p = store.presence();
    let mut facts = p.sessions(arrived_since).await?;
    let poll_since = arrived_since.unwrap_or(now_ms - POLL_FRESH_MS);
    facts.extend(p.polled_clients(poll_since).await?);
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    for f in facts {
        if !f.ap.as_deref().is_some_and(|ap| room.holds(ap)) {
            continue;
        }
        let Some(username) = who(store, f.username.as_deref(), f.device.as_deref(), now_ms).await?
        else {
            continue;
        };
        let e = first.entry(username).or_insert(f.since_ms);
        *e = (*e).min(f.since_ms);
    }
    let mut out = Vec::new();
    for (username, since_ms) in first {
        // Consent first: without it a person is never answered, and
        // nothing from before it is told.
        let Some(granted_at) = p.opted_in(&username).await? else {
            continue;
        };
        let since_ms = since_ms.max(granted_at);
        if arrived_since.is_some_and(|t| since_ms < t) {
            continue;
        }
        let Some(user) = store
            .users()
            .get(&username)
            .await?
            .filter(|u| u.usable(now_ms))
        else {
            continue;
        };
        out.push(Present {
            display_name: user
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| username.clone()),
            username,
            since_ms,
        });
    }
    out.sort_by(|a, b| {
        a.since_ms
            .cmp(&b.since_ms)
            .then(a.username.cmp(&b.username))
    });
    Ok(out)
}

/// The staff account behind an association: the session's username when
/// it is an account (802.1X), else the staff portal session of the device.
async fn who(
    store: &Store,
    username: Option<&str>,
    device: Option<&str>,
    now_ms: i64,
) -> Result<Option<String>, SsoError> {
    if let Some(u) = username.filter(|u| MacAddr::parse(u).is_err()) {
        if store.users().get(u).await?.is_some() {
            return Ok(Some(u.to_string()));
        }
    }
    let Some(mac) = device.and_then(|d| MacAddr::parse(d).ok()) else {
        return Ok(None);
    };
    Ok(store
        .presence()
        .portal_identity(&mac.to_string(), now_ms)
        .await?)
}

/// The service's client, from a `presence:read` bearer token.
async fn reader(s: &SsoState, headers: &HeaderMap) -> Result<String, Response> {
    let refuse = |status: StatusCode, error: &str| {
        (
            status,
            [(
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"{error}\", scope=\"presence:read\""),
            )],
            Json(json!({ "error": error })),
        )
            .into_response()
    };
    let Some(tok) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "invalid_request"));
    };
    let now = s.clock.now_ms();
    match s.store.oidc().token(&token_hash(tok)).await {
        Ok(Some(t)) if t.kind == "access" && t.revoked_at.is_none() && t.expires_at > now => {
            if t.scopes.iter().any(|x| x == "presence:read") {
                Ok(t.client)
            } else {
                Err(refuse(StatusCode::FORBIDDEN, "insufficient_scope"))
            }
        }
        Ok(_) => Err(refuse(StatusCode::UNAUTHORIZED, "invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "presence: token");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

fn since_of(query: Option<&str>) -> Result<i64, String> {
    let q = query.unwrap_or("");
    let since = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.into_owned())
        .ok_or("give since=TIME (RFC 3339 or ms since the epoch)")?;
    if let Ok(ms) = since.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(&since)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("since {since:?}: RFC 3339 or ms since the epoch"))
}

async fn answer(s: &SsoState, headers: &HeaderMap, room: &str, arrivals: Option<i64>) -> Response {
    let client = match reader(s, headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = s.clock.now_ms();
    let rooms = match rooms(&s.store).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "presence: rooms");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some(r) = rooms.get(room) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "error_description": format!("no room {room}")})),
        )
            .into_response();
    };
    let people = match present(&s.store, r, now, arrivals).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "presence");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let action = if arrivals.is_some() {
        "presence.arrivals"
    } else {
        "presence.query"
    };
    let entry = AuditEntry {
        at_ms: now,
        actor: client.clone(),
        role: "oidc-client".into(),
        origin: "api".into(),
        action: action.into(),
        target: room.to_string(),
        outcome: "ok".into(),
        summary: json!({ "answered": people.len(), "since": arrivals }).to_string(),
    };
    // No audit row, no answer: the record of who looked is the condition.
    if let Err(e) = s.store.audit().append(&entry).await {
        tracing::error!(error = %e, "presence: audit");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let key = if arrivals.is_some() {
        "first_seen"
    } else {
        "since"
    };
    let list: Vec<_> = people
        .iter()
        .map(|p| json!({"username": p.username, "display_name": p.display_name, key: iso(p.since_ms)}))
        .collect();
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "room": room, "at": iso(now), "people": list })),
    )
        .into_response()
}

/// `GET /api/v1/presence/rooms/{room}`.
pub(super) async fn room_now(
    State(s): State<Arc<SsoState>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(&s, &headers, &room, None).await
}

/// How far back arrivals may be asked for: a day of meetings.
pub const ARRIVALS_WINDOW_MS: i64 = 86_400_000;

/// `GET /api/v1/presence/rooms/{room}/arrivals?since=TIME` (at most a
/// day back).
pub(super) async fn room_arrivals(
    State(s): State<Arc<SsoState>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match since_of(query.as_deref()) {
        Ok(since) if since < s.clock.now_ms() - ARRIVALS_WINDOW_MS => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "since: at most 24 hours back"})),
        )
            .into_response(),
        Ok(since) => answer(&s, &headers, &room, Some(since)).await,
        Err(why) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": why})),
        )
            .into_response(),
    }
}
