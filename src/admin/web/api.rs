//! The JSON API under `/api/v1`: the dashboard's data and actions for
//! scripts, with bearer tokens carrying their administrator's role (the
//! same permission table as the pages) and every change audited. The
//! OpenAPI 3.1 document is generated from these handlers (utoipa).
//!
//! Lists answer `{items, next_cursor}`: `limit` is 1 to 1000 (default
//! 100) and `cursor` is the `next_cursor` of the previous page.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::overview::Overview;
use super::pages::{self, TimelineEntry};
use super::{problem, AdminState, ApiError, Caller, WebError};
use crate::radius::coa::CoaKind;
use crate::store::search::{ApQuery, ApSort, AuthLogQuery, SessionQuery};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// A query string whose errors answer as problem documents.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                problem(StatusCode::BAD_REQUEST, "bad-request", &e.body_text())
            })
    }
}

/// A JSON body whose errors answer as problem documents.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, super::MAX_BODY)
            .await
            .map_err(|_| {
                problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "bad-request",
                    "the body is too large",
                )
            })?;
        // No stored text holds a NUL (PostgreSQL refuses it).
        if bytes.windows(6).any(|w| w == b"\\u0000") {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "the body holds a NUL character",
            ));
        }
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        Json::<T>::from_request(req, state)
            .await
            .map(|j| ApiJson(j.0))
            .map_err(|e: JsonRejection| problem(e.status(), "bad-request", &e.body_text()))
    }
}

fn limit(l: Option<i64>) -> Result<i64, WebError> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(l) => Err(WebError::BadRequest(format!(
            "limit {l}: give 1 to {MAX_LIMIT}"
        ))),
    }
}

fn cursor(c: &Option<String>) -> Result<Option<i64>, WebError> {
    match c.as_deref().filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| WebError::BadRequest(format!("cursor {c:?} is not one this API gave"))),
    }
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

type ApiResult<T> = Result<T, ApiError>;

/// A page of a list read whole (users, NAS: small tables), from the
/// offset in `cursor`.
fn page_in_memory<T, U>(
    all: Vec<T>,
    limit: i64,
    cursor_offset: Option<i64>,
    f: impl FnMut(T) -> U,
) -> Page<U> {
    let offset = usize::try_from(cursor_offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let total = all.len();
    let items: Vec<U> = all
        .into_iter()
        .skip(offset)
        .take(usize::try_from(limit).unwrap_or(0))
        .map(f)
        .collect();
    let next = offset.saturating_add(items.len());
    Page {
        next_cursor: (next < total && !items.is_empty()).then(|| next.to_string()),
        items,
    }
}

/// The cursor after a keyset page (newest first): the last row's id when
/// the page was full.
fn keyset_next(len: usize, limit: i64, last_id: Option<i64>) -> Option<String> {
    (len as i64 == limit)
        .then_some(last_id)
        .flatten()
        .map(|id| id.to_string())
}

impl From<crate::store::users::User> for UserItem {
    fn from(u: crate::store::users::User) -> UserItem {
        UserItem {
            username: u.username,
            display_name: u.display_name,
            enabled: u.enabled,
            groups: u.groups,
            valid_until: u.valid_until,
            created_at: u.created_at,
        }
    }
}

// --- Overview -------------------------------------------------------------------

/// The overview's figures (cached for a few seconds).
#[utoipa::path(get, path = "/api/v1/overview", tag = "overview",
    responses((status = 200, body = Overview), (status = 401, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn overview(State(state): State<AdminState>) -> ApiResult<Json<Overview>> {
    Ok(Json((*state.overview.get(&state).await?).clone()))
}

// --- APs ---------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApsParams {
    /// Matches name, address, MAC, model, serial or room.
    q: Option<String>,
    building: Option<String>,
    floor: Option<String>,
    /// up, down or unknown.
    status: Option<String>,
    profile: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApItem {
    pub name: String,
    pub kind: String,
    pub status: String,
    pub address: String,
    pub profile: String,
    pub mac: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub room: Option<String>,
    pub controller: Option<String>,
    /// Null: not read (unknown), not zero.
    pub clients: Option<i64>,
    pub last_poll_ms: Option<i64>,
    pub last_error: Option<String>,
}

fn ap_item(ap: &crate::store::aps::Ap) -> ApItem {
    ApItem {
        name: ap.spec.name.clone(),
        kind: ap.spec.kind.as_str().to_string(),
        status: ap.status.clone(),
        address: ap.spec.address.clone(),
        profile: ap.spec.profile.clone(),
        mac: ap.spec.mac.clone(),
        model: ap.polled_model.clone().or(ap.spec.model.clone()),
        serial: ap.polled_serial.clone().or(ap.spec.serial.clone()),
        firmware: ap.polled_firmware.clone().or(ap.spec.firmware.clone()),
        building: ap.spec.building.clone(),
        floor: ap.spec.floor.clone(),
        room: ap.spec.room.clone(),
        controller: ap.spec.controller.clone(),
        clients: ap.clients,
        last_poll_ms: ap.last_poll_ms,
        last_error: ap.last_error.clone(),
    }
}

/// APs and controllers, filtered, by name.
#[utoipa::path(get, path = "/api/v1/aps", tag = "aps", params(ApsParams),
    responses((status = 200, body = Page<ApItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn aps(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<ApsParams>,
) -> ApiResult<Json<Page<ApItem>>> {
    let limit = limit(p.limit)?;
    let offset = cursor(&p.cursor)?.unwrap_or(0);
    let page = state
        .store
        .search()
        .aps(&ApQuery {
            text: p.q,
            building: p.building,
            floor: p.floor,
            status: p.status,
            profile: p.profile,
            sort: ApSort::parse("name"),
            desc: false,
            offset,
            limit,
        })
        .await?;
    let next = offset + page.rows.len() as i64;
    Ok(Json(Page {
        items: page.rows.iter().map(ap_item).collect(),
        next_cursor: (next < page.total && !page.rows.is_empty()).then(|| next.to_string()),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RadioItem {
    pub radio: String,
    pub channel: Option<i64>,
    pub tx_power: Option<i64>,
    pub noise: Option<i64>,
    pub utilization: Option<i64>,
    pub clients: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ApDetail {
    #[serde(flatten)]
    pub ap: ApItem,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub radios: Vec<RadioItem>,
}

/// One AP with its radios' latest values.
#[utoipa::path(get, path = "/api/v1/aps/{name}", tag = "aps", params(("name" = String, Path, description = "AP name")),
    responses((status = 200, body = ApDetail), (status = 404, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn ap(
    State(state): State<AdminState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ApDetail>> {
    let ap = state
        .store
        .aps()
        .get(&name)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("AP {name}")))?;
    let radios = state.store.samples().latest_radios(ap.id).await?;
    Ok(Json(ApDetail {
        ap: ap_item(&ap),
        sys_descr: ap.sys_descr.clone(),
        sys_object_id: ap.sys_object_id.clone(),
        radios: radios
            .into_iter()
            .map(|r| RadioItem {
                radio: r.radio,
                channel: r.channel,
                tx_power: r.tx_power,
                noise: r.noise,
                utilization: r.utilization,
                clients: r.clients,
            })
            .collect(),
    }))
}

// --- Sessions ------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsParams {
    /// Only sessions not yet stopped.
    open: Option<bool>,
    /// User name, client MAC or IP.
    q: Option<String>,
    nas: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionItem {
    pub id: i64,
    pub nas: String,
    pub nas_ip: String,
    pub session_id: String,
    pub username: Option<String>,
    pub mac: Option<String>,
    pub ap: Option<String>,
    pub ip: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub stopped_ms: Option<i64>,
    pub input_octets: i64,
    pub output_octets: i64,
    pub session_time: i64,
    pub terminate_cause: Option<String>,
}

/// Accounting sessions, newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(SessionsParams),
    responses((status = 200, body = Page<SessionItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn sessions(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<SessionsParams>,
) -> ApiResult<Json<Page<SessionItem>>> {
    let limit = limit(p.limit)?;
    let rows = state
        .store
        .search()
        .sessions(&SessionQuery {
            open_only: p.open.unwrap_or(false),
            text: p.q,
            nas: p.nas,
            before_id: cursor(&p.cursor)?,
            limit,
        })
        .await?;
    let next = keyset_next(rows.len(), limit, rows.last().map(|s| s.id));
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|s| SessionItem {
                id: s.id,
                nas: s.nas_name,
                nas_ip: s.nas_ip,
                session_id: s.session_id,
                username: s.username,
                mac: s.calling_station,
                ap: s.called_station,
                ip: s.framed_ip,
                started_ms: s.started_ms,
                updated_ms: s.updated_ms,
                stopped_ms: s.stopped_ms,
                input_octets: s.input_octets,
                output_octets: s.output_octets,
                session_time: s.session_time,
                terminate_cause: s.terminate_cause,
            })
            .collect(),
        next_cursor: next,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CoaAnswer {
    /// The NAS acknowledged (Disconnect-ACK).
    pub acknowledged: bool,
    /// The NAS's answer, or why there was none.
    pub answer: String,
}

/// Sends a Disconnect-Request for the session to its NAS.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/disconnect", tag = "sessions",
    params(("id" = i64, Path, description = "session id (from the list)")),
    responses((status = 200, body = CoaAnswer), (status = 404, content_type = "application/problem+json", body = Problem),
        (status = 409, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn disconnect(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<CoaAnswer>> {
    let (ok, text) = pages::send_coa(&state, &c, id, CoaKind::Disconnect).await?;
    Ok(Json(CoaAnswer {
        acknowledged: ok,
        answer: text,
    }))
}

// --- Users ------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserItem {
    pub username: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub groups: Vec<String>,
    pub valid_until: Option<i64>,
    pub created_at: i64,
}

/// Staff accounts, by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListParams),
    responses((status = 200, body = Page<UserItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn users(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<UserItem>>> {
    let (limit, offset) = (limit(p.limit)?, cursor(&p.cursor)?);
    let all = state.store.users().list().await?;
    Ok(Json(page_in_memory(all, limit, offset, UserItem::from)))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserBody {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = UserItem), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 409, content_type = "application/problem+json", body = Problem), (status = 415, content_type = "application/problem+json", body = Problem),
        (status = 422, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn user_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewUserBody>,
) -> ApiResult<Response> {
    let form = pages::UserForm {
        username: b.username.clone(),
        display_name: b.display_name.clone().unwrap_or_default(),
        password: b.password,
        groups: b.groups.join(";"),
    };
    pages::create_user(&state, &c, &form).await?;
    let u = state
        .store
        .users()
        .get(b.username.trim())
        .await?
        .ok_or_else(|| WebError::Internal("user vanished after creation".into()))?;
    Ok((StatusCode::CREATED, Json(UserItem::from(u))).into_response())
}

// --- NAS --------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct NasItem {
    pub name: String,
    pub address: String,
    pub profile: String,
    pub coa_port: u16,
    pub require_message_authenticator: bool,
    /// Percent of Access-Requests with a valid Message-Authenticator in
    /// the last 24 hours (all nodes); null without requests.
    pub message_authenticator_share: Option<f64>,
    pub last_request_ms: Option<i64>,
}

/// NAS clients (secrets never shown).
#[utoipa::path(get, path = "/api/v1/nas", tag = "nas", params(ListParams),
    responses((status = 200, body = Page<NasItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn nas(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<NasItem>>> {
    let (limit, offset) = (limit(p.limit)?, cursor(&p.cursor)?);
    let all = state.store.nas().list().await?;
    let stats = pages::blast_stats(&state).await?;
    Ok(Json(page_in_memory(all, limit, offset, |n| {
        let st = stats.get(&n.name).copied().unwrap_or_default();
        let (share, last) = (st.share(), st.last_ms);
        NasItem {
            address: n.address.to_string(),
            profile: n.profile,
            coa_port: n.coa_port,
            require_message_authenticator: n.require_message_authenticator,
            message_authenticator_share: share,
            last_request_ms: (last > 0).then_some(last),
            name: n.name,
        }
    })))
}

#[derive(Deserialize, ToSchema)]
pub struct NewNasBody {
    pub name: String,
    /// An address or prefix.
    pub address: String,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub coa_port: Option<u16>,
    /// Allow Access-Requests without Message-Authenticator (old devices;
    /// BlastRADIUS exposure).
    #[serde(default)]
    pub legacy: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NewNasAnswer {
    pub name: String,
    /// The generated shared secret, shown this once.
    pub secret: String,
}

/// Adds a NAS client with a generated shared secret.
#[utoipa::path(post, path = "/api/v1/nas", tag = "nas", request_body = NewNasBody,
    responses((status = 201, body = NewNasAnswer), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 409, content_type = "application/problem+json", body = Problem), (status = 415, content_type = "application/problem+json", body = Problem),
        (status = 422, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn nas_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewNasBody>,
) -> ApiResult<Response> {
    let form = pages::NasForm {
        name: b.name.clone(),
        address: b.address,
        profile: b.profile.unwrap_or_default(),
        coa_port: b.coa_port.map(|p| p.to_string()),
        legacy: b.legacy.then(|| "1".to_string()),
    };
    let secret = pages::create_nas(&state, &c, &form).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewNasAnswer {
            name: b.name.trim().to_string(),
            secret,
        }),
    )
        .into_response())
}

// --- Logs ---------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthLogParams {
    user: Option<String>,
    mac: Option<String>,
    nas: Option<String>,
    /// accept, reject, sign-out, expired
    outcome: Option<String>,
    /// Exact, or a prefix ending in `*` (`portal*`).
    method: Option<String>,
    /// Epoch milliseconds, inclusive.
    since_ms: Option<i64>,
    /// Epoch milliseconds, exclusive.
    until_ms: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthLogItem {
    pub id: i64,
    pub at_ms: i64,
    pub username: String,
    pub mac: Option<String>,
    pub client_ip: Option<String>,
    pub nas: String,
    pub nas_ip: String,
    pub ap: Option<String>,
    pub ssid: Option<String>,
    pub method: String,
    pub outcome: String,
    pub reason: String,
}

/// The authentication log, newest first.
#[utoipa::path(get, path = "/api/v1/auth-log", tag = "logs", params(AuthLogParams),
    responses((status = 200, body = Page<AuthLogItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn auth_log(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<AuthLogParams>,
) -> ApiResult<Json<Page<AuthLogItem>>> {
    let limit = limit(p.limit)?;
    let rows = state
        .store
        .search()
        .auth_log(&AuthLogQuery {
            since_ms: p.since_ms,
            until_ms: p.until_ms,
            username: p.user,
            mac: p.mac,
            nas: p.nas,
            outcome: p.outcome,
            method: p.method,
            before_id: cursor(&p.cursor)?,
            limit,
        })
        .await?;
    let next = keyset_next(rows.len(), limit, rows.last().map(|r| r.id));
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|r| AuthLogItem {
                id: r.id,
                at_ms: r.record.at_ms,
                username: r.record.username,
                mac: r.record.mac,
                client_ip: r.record.client_ip,
                nas: r.record.nas_name,
                nas_ip: r.record.nas_ip,
                ap: r.record.ap,
                ssid: r.record.ssid,
                method: r.record.method,
                outcome: r.record.outcome,
                reason: r.record.reason,
            })
            .collect(),
        next_cursor: next,
    }))
}

// --- Alerts ---------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsParams {
    /// Only alerts not yet cleared.
    open: Option<bool>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertItem {
    pub id: i64,
    pub source: String,
    pub kind: String,
    pub subject: String,
    pub severity: String,
    pub message: String,
    pub raised_ms: i64,
    pub cleared_ms: Option<i64>,
    pub acked_ms: Option<i64>,
    pub acked_by: Option<String>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsParams),
    responses((status = 200, body = Page<AlertItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn alerts(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<AlertsParams>,
) -> ApiResult<Json<Page<AlertItem>>> {
    let limit = limit(p.limit)?;
    let list = if p.open.unwrap_or(false) {
        state.store.alerts().open().await?
    } else {
        state.store.alerts().list(limit).await?
    };
    Ok(Json(Page {
        items: list
            .into_iter()
            .take(limit as usize)
            .map(|a| AlertItem {
                id: a.id,
                source: a.source,
                kind: a.kind,
                subject: a.subject,
                severity: a.severity,
                message: a.message,
                raised_ms: a.raised_ms,
                cleared_ms: a.cleared_ms,
                acked_ms: a.acked_ms,
                acked_by: a.acked_by,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Acked {
    /// False when it was acknowledged before.
    pub acknowledged: bool,
}

/// Acknowledges an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Acked), (status = 401, content_type = "application/problem+json", body = Problem),
        (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn alert_ack(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Acked>> {
    let done = state
        .store
        .alerts()
        .ack(id, &c.username, state.now_ms())
        .await?;
    if done {
        state
            .audit()
            .record(
                &c.actor(),
                "alert.ack",
                &id.to_string(),
                crate::admin::audit::Outcome::Ok,
                serde_json::json!({}),
            )
            .await?;
    }
    Ok(Json(Acked { acknowledged: done }))
}

// --- Audit --------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    actor: Option<String>,
    /// Exact, or the part before a dot (`admin` matches `admin.add`).
    action: Option<String>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditItem {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    /// JSON text: what changed (never a secret).
    pub summary: String,
    pub hash: String,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = Page<AuditItem>), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AdminState>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<Page<AuditItem>>> {
    let limit = limit(p.limit)?;
    let rows = state
        .store
        .audit()
        .search(&crate::store::audit::AuditQuery {
            since_ms: p.since_ms,
            until_ms: p.until_ms,
            actor: p.actor,
            action: p.action,
            before_seq: cursor(&p.cursor)?,
            limit,
        })
        .await?;
    let next = keyset_next(rows.len(), limit, rows.last().map(|r| r.seq));
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|r| AuditItem {
                seq: r.seq,
                at_ms: r.at_ms,
                actor: r.actor,
                role: r.role,
                origin: r.origin,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                summary: r.summary,
                hash: r.hash,
            })
            .collect(),
        next_cursor: next,
    }))
}

// --- Troubleshooting ---------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TroubleshootParams {
    /// A user name (give this or `mac`).
    user: Option<String>,
    /// A client MAC, any spelling.
    mac: Option<String>,
    /// How far back, 1 to 744 hours (default 24).
    #[param(minimum = 1, maximum = 744)]
    hours: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
}

/// Everything Portico knows around a user or MAC, newest first, with
/// advice for each failure it knows.
#[utoipa::path(get, path = "/api/v1/troubleshoot", tag = "troubleshoot", params(TroubleshootParams),
    responses((status = 200, body = Timeline), (status = 400, content_type = "application/problem+json", body = Problem),
        (status = 401, content_type = "application/problem+json", body = Problem), (status = 403, content_type = "application/problem+json", body = Problem)),
    security(("bearer" = [])))]
pub async fn troubleshoot(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    ApiQuery(p): ApiQuery<TroubleshootParams>,
) -> ApiResult<Json<Timeline>> {
    let user = p.user.filter(|u| !u.trim().is_empty());
    let mac = p.mac.filter(|m| !m.trim().is_empty());
    if user.is_none() && mac.is_none() {
        return Err(WebError::BadRequest("give user or mac".into()).into());
    }
    let hours = p.hours.unwrap_or(24);
    if !(1..=744).contains(&hours) {
        return Err(WebError::BadRequest("hours: give 1 to 744".into()).into());
    }
    let entries = pages::timeline(&state, c.lang, user, mac, hours).await?;
    Ok(Json(Timeline { entries }))
}

// --- The document -------------------------------------------------------------------

/// An RFC 9457 problem document.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Portico API", description = "The dashboard's data and actions. Tokens: `portico admin token create`."),
    paths(overview, aps, ap, sessions, disconnect, users, user_add, nas, nas_add, auth_log, alerts, alert_ack, audit, troubleshoot),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}
