//! Wi-Fi presence for meeting check-in: which opted-in staff have a
//! device associated to a room's APs now, and when each first arrived.
//! A room is a coverage room polygon (the APs placed inside it) or a
//! name given to APs by hand (`portico room add`). Association comes from
//! open accounting sessions (Called-Station-Id is the AP) and recent SNMP
//! client rows. Answers name people, never MAC or IP addresses; each
//! query is an audit row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::{SsoError, SsoState};
use crate::domain::MacAddr;
use crate::store::audit::AuditEntry;
use crate::store::users::User;
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
    let mut add = |room: &str, id: i64, name: &str, mac: Option<&str>| {
        let r = out.entry(room.to_string()).or_insert_with(|| Room {
            name: room.to_string(),
            ..Room::default()
        });
        if r.ap_ids.insert(id) {
            r.aps.push(name.to_string());
            if let Some(m) = mac.and_then(|m| MacAddr::parse(m).ok()) {
                r.ap_macs.insert(m);
            }
        }
    };
    for (room, id, name, mac) in store.presence().hand_rooms().await? {
        add(&room, id, &name, mac.as_deref());
    }
    let floors = store.floors().list().await?;
    if floors.iter().all(|f| !f.areas.iter().any(is_room)) {
        return Ok(out);
    }
    let macs: HashMap<i64, Option<String>> = store
        .aps()
        .list()
        .await?
        .into_iter()
        .map(|a| (a.id, a.spec.mac))
        .collect();
    // One read of the placements per building, not per floor.
    let mut placed: HashMap<i64, Vec<crate::store::floors::PlacedAp>> = HashMap::new();
    for floor in &floors {
        let rooms: Vec<_> = floor.areas.iter().filter(|a| is_room(a)).collect();
        if rooms.is_empty() {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(e) = placed.entry(floor.building_id) {
            e.insert(
                store
                    .floors()
                    .placements_in_building(floor.building_id)
                    .await?,
            );
        }
        let on_floor = placed
            .get(&floor.building_id)
            .into_iter()
            .flatten()
            .filter(|p| p.placement.floor == floor.id);
        for p in on_floor {
            for r in &rooms {
                if crate::coverage::kpi::point_in_polygon((p.placement.x, p.placement.y), &r.points)
                {
                    let mac = macs.get(&p.ap_id).cloned().flatten();
                    add(&r.name, p.ap_id, &p.ap, mac.as_deref());
                }
            }
        }
    }
    Ok(out)
}

fn is_room(a: &crate::store::floors::Area) -> bool {
    a.kind == crate::store::floors::AreaKind::Room && !a.name.is_empty()
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
/// its APs (an open session whose NAS sends interim updates only until
/// `idle_ms` after the last one: a lost Stop does not keep anyone here).
/// With `arrived_since`, everyone who arrived since then (first seen),
/// whether still there or not.
pub async fn present(
    store: &Store,
    room: &Room,
    now_ms: i64,
    idle_ms: i64,
    arrived_since: Option<i64>,
) -> Result<Vec<Present>, SsoError> {
    let p = store.presence();
    let mut facts = p.sessions(arrived_since).await?;
    let poll_since = arrived_since.unwrap_or(now_ms - POLL_FRESH_MS);
    facts.extend(p.polled_clients(poll_since).await?);
    // Many facts name the same people: each account and device is looked
    // up once per answer.
    let mut users: HashMap<String, Option<User>> = HashMap::new();
    let mut devices: HashMap<String, Option<String>> = HashMap::new();
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    for f in facts {
        if !f.ap.as_deref().is_some_and(|ap| room.holds(ap)) {
            continue;
        }
        let gone_quiet = f.interim_ms.is_some_and(|t| now_ms - t > idle_ms);
        if arrived_since.is_none() && gone_quiet {
            continue;
        }
        let mut username = None;
        if let Some(u) = f.username.as_deref().filter(|u| MacAddr::parse(u).is_err()) {
            if user(store, &mut users, u).await?.is_some() {
                username = Some(u.to_string());
            }
        }
        if username.is_none() {
            if let Some(mac) = f.device.as_deref().and_then(|d| MacAddr::parse(d).ok()) {
                let key = mac.to_string();
                if let std::collections::hash_map::Entry::Vacant(e) = devices.entry(key.clone()) {
                    e.insert(p.portal_identity(&key, now_ms).await?);
                }
                username = devices.get(&key).cloned().flatten();
            }
        }
        let Some(username) = username else {
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
        let Some(user) = user(store, &mut users, &username)
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

/// An account by name, read once per answer.
async fn user(
    store: &Store,
    cache: &mut HashMap<String, Option<User>>,
    username: &str,
) -> Result<Option<User>, SsoError> {
    if let Some(u) = cache.get(username) {
        return Ok(u.clone());
    }
    let u = store.users().get(username).await?;
    cache.insert(username.to_string(), u.clone());
    Ok(u)
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
    let Some(tok) = super::bearer(headers) else {
        return Err(refuse(StatusCode::UNAUTHORIZED, "invalid_request"));
    };
    match s.live_access_token(tok).await {
        Ok(Some(t)) if t.scopes.iter().any(|x| x == "presence:read") => Ok(t.client),
        Ok(Some(_)) => Err(refuse(StatusCode::FORBIDDEN, "insufficient_scope")),
        Ok(None) => Err(refuse(StatusCode::UNAUTHORIZED, "invalid_token")),
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
    let people = match present(&s.store, r, now, s.presence_idle_ms, arrivals).await {
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
