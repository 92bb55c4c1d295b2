//! The dashboard's HTML pages. Each GET builds sections from the store;
//! each POST makes its change through the same services as the CLI and
//! the API, records the audit row, and shows the page again with what
//! happened.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::json;

use super::views::{
    bytes, duration_s, opt, opt_time, time, Cell, Field, Form as FormView, Frame, PageView, Row,
    RowAction, Section, Stat, Table,
};
use super::{reasons, AdminState, Caller, PageError, WebError};
use crate::admin::audit::Outcome;
use crate::admin::roles::Permission;
use crate::domain::AdminRole;
use crate::store::search::{ApQuery, ApSort, AuthLogQuery, SessionQuery};

type PageResult = Result<Response, PageError>;

/// Converts any error into the caller's error page.
trait OrPage<T> {
    fn page(self, c: &Caller) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn page(self, c: &Caller) -> Result<T, PageError> {
        self.map_err(|e| PageError(e.into(), c.lang))
    }
}

fn render(c: &Caller, title: &str, active: &str, sections: Vec<Section>) -> Response {
    PageView::new(Frame::signed_in(c, title, active), sections).into_response()
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

async fn record(
    state: &AdminState,
    c: &Caller,
    action: &str,
    target: &str,
    outcome: Outcome,
    summary: serde_json::Value,
) -> Result<(), WebError> {
    state
        .audit()
        .record(&c.actor(), action, target, outcome, summary)
        .await?;
    Ok(())
}

/// Any unknown path of the management listener.
pub async fn not_found(headers: axum::http::HeaderMap) -> Response {
    let lang = super::i18n::Lang::from_headers(&headers);
    super::views::error_page(lang, StatusCode::NOT_FOUND, "")
}

// --- Overview ------------------------------------------------------------------

pub async fn overview(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    let t = c.lang.texts();
    let o = state.overview.get(&state).await.page(&c)?;
    let stat = |id, label: &str, value: String| Stat {
        id,
        label: label.to_string(),
        value,
    };
    let mut sections = vec![Section::Stats(vec![
        stat("ov-aps-up", t.ov_aps_up, o.aps_up.to_string()),
        stat("ov-aps-down", t.ov_aps_down, o.aps_down.to_string()),
        stat("ov-clients", t.ov_clients, o.clients_now.to_string()),
        stat("ov-auth", t.ov_auth_rate, o.auth_per_minute.to_string()),
        stat(
            "ov-success",
            t.ov_success,
            o.auth_success_percent
                .map(|p| format!("{p}%"))
                .unwrap_or_else(|| "-".into()),
        ),
        stat(
            "ov-radius",
            t.ov_radius_rate,
            o.radius_per_second.to_string(),
        ),
        stat("ov-alerts", t.ov_alerts, o.open_alerts.to_string()),
        stat("ov-updated", t.ov_updated, time(o.at_ms)),
    ])];
    let top =
        |id: &str, title: &str, col: &str, rows: &[super::overview::NamedCount], pct: bool| {
            Table::new(
                id,
                title,
                &[t.ap, col],
                rows.iter()
                    .map(|r| {
                        Row::new(vec![
                            Cell::link(&r.name, format!("/aps/{}", urlenc(&r.name))),
                            Cell::text(if pct {
                                format!("{}%", r.value)
                            } else {
                                r.value.to_string()
                            }),
                        ])
                    })
                    .collect(),
                t.none,
            )
        };
    sections.push(Section::Table(top(
        "top-clients",
        t.ov_top_clients,
        t.clients,
        &o.top_by_clients,
        false,
    )));
    sections.push(Section::Table(top(
        "top-util",
        t.ov_top_util,
        t.utilization,
        &o.top_by_utilization,
        true,
    )));
    sections.push(Section::Chart {
        id: "chart-clients",
        title: t.ov_chart_clients.to_string(),
        data: "/overview/clients.json".into(),
    });
    if c.may(Permission::ReadSettings) {
        sections.push(Section::Links(vec![(
            "/api/docs".into(),
            t.api_docs.into(),
        )]));
    }
    let mut view = PageView::new(Frame::signed_in(&c, t.nav_overview, "/"), sections);
    view.live = true;
    Ok(view.into_response())
}

pub fn urlenc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
}

// --- APs -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ApsQuery {
    q: Option<String>,
    building: Option<String>,
    floor: Option<String>,
    status: Option<String>,
    profile: Option<String>,
    sort: Option<String>,
    #[serde(default)]
    page: i64,
}

const PAGE_ROWS: i64 = 50;

pub async fn aps(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<ApsQuery>,
) -> PageResult {
    aps_page(&state, &c, &q, Vec::new()).await
}

async fn aps_page(
    state: &AdminState,
    c: &Caller,
    q: &ApsQuery,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let search = state.store.search();
    let page = q.page.clamp(0, 100_000);
    let result = search
        .aps(&ApQuery {
            text: nonempty(&q.q),
            building: nonempty(&q.building),
            floor: nonempty(&q.floor),
            status: nonempty(&q.status),
            profile: nonempty(&q.profile),
            sort: ApSort::parse(q.sort.as_deref().unwrap_or("name")),
            // Most clients and latest polls first; the others A to Z.
            desc: matches!(q.sort.as_deref(), Some("clients") | Some("last_poll")),
            offset: page * PAGE_ROWS,
            limit: PAGE_ROWS,
        })
        .await
        .page(c)?;
    let facets = state.overview.ap_facets(state).await.page(c)?;
    let opts = |v: &[String]| {
        std::iter::once((String::new(), t.all.to_string()))
            .chain(v.iter().map(|s| (s.clone(), s.clone())))
            .collect::<Vec<_>>()
    };
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    sections.push(Section::Form(FormView::filter(
        "ap-filter",
        "/aps",
        vec![
            Field::new("text", "q", t.search, &val(&q.q)),
            Field::select(
                "building",
                t.building,
                &val(&q.building),
                opts(&facets.buildings),
            ),
            Field::select("floor", t.floor, &val(&q.floor), opts(&facets.floors)),
            Field::select(
                "status",
                t.status,
                &val(&q.status),
                vec![
                    (String::new(), t.all.into()),
                    ("up".into(), t.up.into()),
                    ("down".into(), t.down.into()),
                    ("unknown".into(), t.unknown.into()),
                ],
            ),
            Field::select(
                "profile",
                t.profile,
                &val(&q.profile),
                opts(&facets.profiles),
            ),
            Field::select(
                "sort",
                t.sort,
                &val(&q.sort),
                [
                    ("name", t.name),
                    ("status", t.status),
                    ("clients", t.clients),
                    ("building", t.building),
                    ("last_poll", t.last_poll),
                ]
                .iter()
                .map(|(v, l)| (v.to_string(), l.to_string()))
                .collect(),
            ),
        ],
        t.filter,
    )));
    let rows = result
        .rows
        .iter()
        .map(|ap| {
            Row::new(vec![
                Cell::link(ap.name(), format!("/aps/{}", urlenc(ap.name()))),
                status_cell(t, &ap.status),
                Cell::text(&ap.spec.address),
                Cell::text(opt(&ap.spec.building)),
                Cell::text(opt(&ap.spec.floor)),
                Cell::text(opt(&ap.spec.room)),
                Cell::text(&ap.spec.profile),
                Cell::text(opt(&ap.polled_model.clone().or(ap.spec.model.clone()))),
                Cell::text(
                    ap.clients
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::text(opt_time(ap.last_poll_ms)),
            ])
        })
        .collect();
    let mut table = Table::new(
        "aps",
        "",
        &[
            t.name,
            t.status,
            t.address,
            t.building,
            t.floor,
            t.room,
            t.profile,
            t.model,
            t.clients,
            t.last_poll,
        ],
        rows,
        t.none,
    );
    table.summary = Some(format!(
        "{} {} {}",
        result.rows.len(),
        t.rows_total,
        result.total
    ));
    let base = format!(
        "/aps?q={}&building={}&floor={}&status={}&profile={}&sort={}",
        urlenc(&val(&q.q)),
        urlenc(&val(&q.building)),
        urlenc(&val(&q.floor)),
        urlenc(&val(&q.status)),
        urlenc(&val(&q.profile)),
        urlenc(&val(&q.sort))
    );
    if page > 0 {
        table.prev = Some(format!("{base}&page={}", page - 1));
    }
    if (page + 1) * PAGE_ROWS < result.total {
        table.next = Some(format!("{base}&page={}", page + 1));
    }
    sections.push(Section::Table(table));
    if c.may(Permission::ManageNetwork) {
        sections.push(Section::Form(FormView::post(
            "ap-add",
            t.add,
            "/aps",
            vec![
                Field::new("text", "name", t.name, "").required(),
                Field::new("text", "address", t.address, "").required(),
                Field::new("text", "profile", t.profile, crate::profiles::AUTO_PROFILE),
                Field::new("password", "community", t.community, ""),
                Field::new("text", "building", t.building, ""),
                Field::new("text", "floor", t.floor, ""),
                Field::new("text", "room", t.room, ""),
            ],
            t.add,
        )));
        // Devices a sweep or a controller found, not yet in the inventory.
        let found = state.store.aps().discovered().await.page(c)?;
        if !found.is_empty() {
            sections.push(Section::Table(Table::new(
                "discovered",
                t.discovered,
                &[t.address, t.profile, t.mac, t.name, t.model, "via", t.time],
                found
                    .iter()
                    .take(500)
                    .map(|d| {
                        Row::new(vec![
                            Cell::text(&d.address),
                            Cell::text(opt(&d.profile)),
                            Cell::text(opt(&d.mac)),
                            Cell::text(opt(&d.sys_name)),
                            Cell::text(opt(&d.model)),
                            Cell::text(&d.via),
                            Cell::text(time(d.seen_ms)),
                        ])
                    })
                    .collect(),
                t.none,
            )));
            sections.push(Section::Form(FormView::post(
                "ap-adopt",
                t.adopt,
                "/aps/adopt",
                vec![
                    Field::select(
                        "address",
                        t.address,
                        "",
                        found
                            .iter()
                            .take(500)
                            .map(|d| {
                                (
                                    d.address.clone(),
                                    format!("{} {}", d.address, opt(&d.sys_name)),
                                )
                            })
                            .collect(),
                    ),
                    Field::new("text", "name", t.name, "").hint(t.adopt_hint),
                    Field::new("password", "community", t.community, ""),
                    Field::new("text", "building", t.building, ""),
                    Field::new("text", "floor", t.floor, ""),
                    Field::new("text", "room", t.room, ""),
                ],
                t.adopt,
            )));
        }
    }
    Ok(render(c, t.nav_aps, "/aps", sections))
}

#[derive(Deserialize)]
pub struct AdoptForm {
    address: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    floor: String,
    #[serde(default)]
    room: String,
}

/// `POST /aps/adopt`: a discovered device into the inventory with what was
/// learned of it (profile, MAC, model, name).
pub async fn ap_adopt(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<AdoptForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let d = state
            .store
            .aps()
            .discovered()
            .await?
            .into_iter()
            .find(|d| d.address == f.address)
            .ok_or_else(|| WebError::NotFound(format!("discovered device {}", f.address)))?;
        let name = opt_field(&f.name)
            .or(d.sys_name.clone())
            .or_else(|| d.mac.as_ref().map(|m| format!("ap-{}", m.replace(':', ""))))
            .unwrap_or_else(|| d.address.replace(['.', ':', '/', '[', ']'], "-"));
        let listed = d.via != "sweep";
        // An AP a controller listed without an address is reached through
        // the controller.
        let controller = match listed {
            true => Some(
                state
                    .store
                    .aps()
                    .find_by_name_or_address(&d.via)
                    .await?
                    .ok_or_else(|| WebError::NotFound(format!("controller {}", d.via)))?,
            ),
            false => None,
        };
        let address = match (&controller, crate::store::aps::check_address(&d.address)) {
            (Some(c), Err(_)) => c.spec.address.clone(),
            _ => d.address.clone(),
        };
        let kind = match d.kind.as_deref() {
            Some("controller") if !listed => crate::store::aps::ApKind::Controller,
            _ => crate::store::aps::ApKind::Ap,
        };
        let spec = crate::store::aps::NewAp {
            name: name.clone(),
            address,
            kind,
            profile: d.profile.clone().unwrap_or_else(|| "generic".into()),
            mac: d.mac.clone(),
            model: d.model.clone(),
            serial: d.serial.clone(),
            controller: controller.map(|c| c.spec.name),
            snmp: match opt_field(&f.community) {
                Some(community) => crate::store::aps::SnmpSecret::V2c { community },
                None => crate::store::aps::SnmpSecret::None,
            },
            building: opt_field(&f.building),
            floor: opt_field(&f.floor),
            room: opt_field(&f.room),
            ..Default::default()
        };
        state.store.aps().add(&spec).await?;
        state.store.aps().forget_discovered_id(d.id).await?;
        record(
            &state,
            &c,
            "ap.adopt",
            &name,
            Outcome::Ok,
            json!({"after": {"address": d.address, "profile": spec.profile, "mac": d.mac}}),
        )
        .await
    }
    .await;
    let notice = match result {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e)?,
    };
    aps_page(&state, &c, &ApsQuery::default(), vec![notice]).await
}

/// `POST /aps/{name}/edit`: address, profile, place and (when given) a new
/// SNMP community; the rest of the inventory record stays.
pub async fn ap_edit(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<ApForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let ap = state
            .store
            .aps()
            .get(&name)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("AP {name}")))?;
        let before = ap.spec.clone();
        let mut spec = ap.spec;
        spec.name = opt_field(&f.name).unwrap_or(before.name.clone());
        spec.address = opt_field(&f.address).unwrap_or(before.address.clone());
        spec.profile = opt_field(&f.profile).unwrap_or(before.profile.clone());
        spec.building = opt_field(&f.building);
        spec.floor = opt_field(&f.floor);
        spec.room = opt_field(&f.room);
        if let Some(community) = opt_field(&f.community) {
            spec.snmp = crate::store::aps::SnmpSecret::V2c { community };
        }
        state.store.aps().update(&name, &spec).await?;
        record(
            &state,
            &c,
            "ap.edit",
            &name,
            Outcome::Ok,
            json!({
                "before": {"name": before.name, "address": before.address, "profile": before.profile, "building": before.building, "floor": before.floor, "room": before.room},
                "after": {"name": spec.name, "address": spec.address, "profile": spec.profile, "building": spec.building, "floor": spec.floor, "room": spec.room, "snmp_changed": !f.community.trim().is_empty()},
            }),
        )
        .await?;
        Ok::<String, WebError>(spec.name)
    }
    .await;
    match result {
        Ok(new_name) => {
            ap_detail_page(
                &state,
                &c,
                &new_name,
                &RangeQuery::default(),
                vec![Section::notice(t.saved)],
            )
            .await
        }
        Err(e) => {
            let notice = user_error(t, e)?;
            ap_detail_page(&state, &c, &name, &RangeQuery::default(), vec![notice]).await
        }
    }
}

fn status_cell(t: &super::i18n::Texts, status: &str) -> Cell {
    match status {
        "up" => Cell::tone(t.up, "ok"),
        "down" => Cell::tone(t.down, "bad"),
        _ => Cell::tone(t.unknown, "warn"),
    }
}

#[derive(Deserialize)]
pub struct ApForm {
    name: String,
    address: String,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    floor: String,
    #[serde(default)]
    room: String,
}

fn opt_field(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `controller` when the profile's devices list APs (the profile says; a
/// profile directory that does not load leaves `ap`).
fn kind_for_profile(config: &crate::config::Config, profile: &str) -> crate::store::aps::ApKind {
    let dir = &config.profiles.dir;
    let dir = (!dir.as_os_str().is_empty()).then_some(dir.as_path());
    match crate::profiles::Profiles::load(dir, None)
        .ok()
        .and_then(|p| p.get(profile).map(|x| x.snmp.role))
    {
        Some(crate::profiles::snmp::Role::Controller) => crate::store::aps::ApKind::Controller,
        _ => crate::store::aps::ApKind::Ap,
    }
}

pub async fn ap_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<ApForm>,
) -> PageResult {
    let t = c.lang.texts();
    // Empty or `auto` with a community: the first poll detects the vendor.
    let polled = opt_field(&f.community).is_some();
    let profile = match f.profile.trim() {
        "" | crate::profiles::AUTO_PROFILE if polled => crate::profiles::AUTO_PROFILE.to_string(),
        "" | crate::profiles::AUTO_PROFILE => crate::profiles::GENERIC_PROFILE.to_string(),
        p => p.to_string(),
    };
    let spec = crate::store::aps::NewAp {
        name: f.name.trim().to_string(),
        address: f.address.trim().to_string(),
        kind: kind_for_profile(&state.config, &profile),
        profile: profile.clone(),
        snmp: match opt_field(&f.community) {
            Some(community) => crate::store::aps::SnmpSecret::V2c { community },
            None => crate::store::aps::SnmpSecret::None,
        },
        building: opt_field(&f.building),
        floor: opt_field(&f.floor),
        room: opt_field(&f.room),
        ..Default::default()
    };
    let notice = match state.store.aps().add(&spec).await {
        Ok(ap) => {
            record(
                &state,
                &c,
                "ap.add",
                ap.name(),
                Outcome::Ok,
                json!({"after": {"address": spec.address, "profile": profile}}),
            )
            .await
            .page(&c)?;
            Section::notice(t.saved)
        }
        Err(e) => user_error(t, e.into())?,
    };
    aps_page(&state, &c, &ApsQuery::default(), vec![notice]).await
}

/// The period of an AP's charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartRange {
    Day,
    Week,
    Month,
}

impl ChartRange {
    pub fn parse(s: Option<&str>) -> ChartRange {
        match s {
            Some("7d") => ChartRange::Week,
            Some("30d") => ChartRange::Month,
            _ => ChartRange::Day,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChartRange::Day => "24h",
            ChartRange::Week => "7d",
            ChartRange::Month => "30d",
        }
    }

    fn label(self, t: &super::i18n::Texts) -> &'static str {
        match self {
            ChartRange::Day => t.chart_24h,
            ChartRange::Week => t.chart_7d,
            ChartRange::Month => t.chart_30d,
        }
    }

    fn ms(self) -> i64 {
        match self {
            ChartRange::Day => 86_400_000,
            ChartRange::Week => 7 * 86_400_000,
            ChartRange::Month => 30 * 86_400_000,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct RangeQuery {
    range: Option<String>,
}

/// `GET /aps/{name}/chart.json?range=24h|7d|30d`: the AP's clients (all
/// radios), busiest radio's utilization and lowest noise over the period,
/// at most 300 points (averaged per bucket, from the stored samples of
/// every resolution).
pub async fn ap_chart(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<axum::Json<super::overview::ChartData>, PageError> {
    use super::overview::{ChartData, ChartSeries};
    let ap = state
        .store
        .aps()
        .get(&name)
        .await
        .page(&c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("AP {name}")), c.lang))?;
    let range = ChartRange::parse(q.range.as_deref());
    let now = state.now_ms();
    let since = now - range.ms();
    let bucket = range.ms() / 300;
    let points = state.store.samples().radios(ap.id, since).await.page(&c)?;
    // Per sample time: sum of clients, max utilization, min noise over radios.
    let mut at: std::collections::BTreeMap<i64, (i64, Option<i64>, Option<i64>)> =
        Default::default();
    for p in &points {
        let e = at.entry(p.at_ms).or_insert((0, None, None));
        e.0 += p.sample.clients.unwrap_or(0);
        e.1 = e.1.max(p.sample.utilization);
        e.2 = match (e.2, p.sample.noise) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    // Then averaged per bucket.
    let mut buckets: std::collections::BTreeMap<i64, [(f64, u32); 3]> = Default::default();
    for (t, (clients, util, noise)) in at {
        let b = buckets
            .entry(t - t.rem_euclid(bucket.max(1)))
            .or_insert([(0.0, 0); 3]);
        b[0].0 += clients as f64;
        b[0].1 += 1;
        if let Some(u) = util {
            b[1].0 += u as f64;
            b[1].1 += 1;
        }
        if let Some(n) = noise {
            b[2].0 += n as f64;
            b[2].1 += 1;
        }
    }
    let avg = |(sum, n): (f64, u32)| (n > 0).then(|| (sum / f64::from(n) * 10.0).round() / 10.0);
    let t = c.lang.texts();
    Ok(axum::Json(ChartData {
        t: buckets.keys().map(|k| k / 1000).collect(),
        series: vec![
            ChartSeries {
                label: t.clients.into(),
                values: buckets.values().map(|b| avg(b[0])).collect(),
            },
            ChartSeries {
                label: format!("{} %", t.utilization),
                values: buckets.values().map(|b| avg(b[1])).collect(),
            },
            ChartSeries {
                label: format!("{} dBm", t.noise),
                values: buckets.values().map(|b| avg(b[2])).collect(),
            },
        ],
    }))
}

pub async fn ap_detail(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Query(q): Query<RangeQuery>,
) -> PageResult {
    ap_detail_page(&state, &c, &name, &q, Vec::new()).await
}

async fn ap_detail_page(
    state: &AdminState,
    c: &Caller,
    name: &str,
    q: &RangeQuery,
    notices: Vec<Section>,
) -> PageResult {
    let (state, c) = (state.clone(), c.clone());
    let t = c.lang.texts();
    let ap = state
        .store
        .aps()
        .get(name)
        .await
        .page(&c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("AP {name}")), c.lang))?;
    let mut sections = notices;
    sections.push(Section::Pairs {
        title: String::new(),
        rows: vec![
            (t.status.into(), ap.status.clone()),
            (t.address.into(), ap.spec.address.clone()),
            (t.profile.into(), ap.spec.profile.clone()),
            (
                t.model.into(),
                opt(&ap.polled_model.clone().or(ap.spec.model.clone())),
            ),
            (
                "Serial".into(),
                opt(&ap.polled_serial.clone().or(ap.spec.serial.clone())),
            ),
            (
                "Firmware".into(),
                opt(&ap.polled_firmware.clone().or(ap.spec.firmware.clone())),
            ),
            (t.mac.into(), opt(&ap.spec.mac)),
            (t.building.into(), opt(&ap.spec.building)),
            (t.floor.into(), opt(&ap.spec.floor)),
            (t.room.into(), opt(&ap.spec.room)),
            (
                t.clients.into(),
                ap.clients
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            (t.last_poll.into(), opt_time(ap.last_poll_ms)),
            ("sysDescr".into(), opt(&ap.sys_descr)),
            (t.reason.into(), opt(&ap.last_error)),
        ],
    });
    let radios = state.store.samples().latest_radios(ap.id).await.page(&c)?;
    let rows = radios
        .iter()
        .map(|r| {
            let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            Row::new(vec![
                Cell::text(&r.radio),
                Cell::text(n(r.channel)),
                Cell::text(n(r.tx_power)),
                Cell::text(n(r.noise)),
                Cell::text(
                    r.utilization
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::text(n(r.clients)),
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "radios",
        t.radios,
        &[
            t.name,
            t.channel,
            t.tx_power,
            t.noise,
            t.utilization,
            t.clients,
        ],
        rows,
        t.none,
    )));
    let range = ChartRange::parse(q.range.as_deref());
    sections.push(Section::Links(
        [ChartRange::Day, ChartRange::Week, ChartRange::Month]
            .iter()
            .map(|r| {
                (
                    format!("/aps/{}?range={}", urlenc(ap.name()), r.as_str()),
                    r.label(t).to_string(),
                )
            })
            .collect(),
    ));
    sections.push(Section::Chart {
        id: "chart-ap",
        title: format!("{} · {}", t.radios, range.label(t)),
        data: format!(
            "/aps/{}/chart.json?range={}",
            urlenc(ap.name()),
            range.as_str()
        ),
    });
    // Its clients: the latest sample of each MAC in the last 15 minutes.
    let mut seen = std::collections::HashSet::new();
    let clients: Vec<Row> = state
        .store
        .samples()
        .clients(ap.id, state.now_ms() - 900_000)
        .await
        .page(&c)?
        .into_iter()
        .filter(|(_, s)| seen.insert(s.mac.clone()))
        .take(500)
        .map(|(at, s)| {
            let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            Row::new(vec![
                Cell::text(opt(&s.mac)),
                Cell::text(opt(&s.username)),
                Cell::text(opt(&s.ip)),
                Cell::text(opt(&s.ssid)),
                Cell::text(n(s.rssi)),
                Cell::text(n(s.snr)),
                Cell::text(time(at)),
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "ap-clients",
        t.clients,
        &[t.mac, t.user, t.ip, t.ssid, "RSSI", "SNR", t.time],
        clients,
        t.none,
    )));
    // Its alerts and events.
    let mut happenings: Vec<(i64, String, String)> = state
        .store
        .alerts()
        .list(1000)
        .await
        .page(&c)?
        .into_iter()
        .filter(|a| a.subject == ap.name() || a.subject.starts_with(&format!("{}/", ap.name())))
        .map(|a| {
            (
                a.raised_ms,
                a.severity,
                format!("{}: {}", a.kind, a.message),
            )
        })
        .collect();
    happenings.extend(
        state
            .store
            .events()
            .list(1000)
            .await
            .page(&c)?
            .into_iter()
            .filter(|e| e.source == ap.name())
            .map(|e| (e.at_ms, e.severity, format!("{}: {}", e.kind, e.message))),
    );
    happenings.sort_by_key(|h| std::cmp::Reverse(h.0));
    sections.push(Section::Table(Table::new(
        "ap-events",
        t.events,
        &[t.time, t.severity, t.message],
        happenings
            .into_iter()
            .take(100)
            .map(|(at, sev, msg)| {
                Row::new(vec![Cell::text(time(at)), Cell::text(sev), Cell::text(msg)])
            })
            .collect(),
        t.none,
    )));
    if c.may(Permission::ManageNetwork) {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        sections.push(Section::Form(FormView::post(
            "ap-edit",
            t.edit,
            &format!("/aps/{}/edit", urlenc(ap.name())),
            vec![
                Field::new("text", "name", t.name, ap.name()).required(),
                Field::new("text", "address", t.address, &ap.spec.address).required(),
                Field::new("text", "profile", t.profile, &ap.spec.profile),
                Field::new("password", "community", t.community, "").hint(t.keep_if_empty),
                Field::new("text", "building", t.building, &v(&ap.spec.building)),
                Field::new("text", "floor", t.floor, &v(&ap.spec.floor)),
                Field::new("text", "room", t.room, &v(&ap.spec.room)),
            ],
            t.save,
        )));
    }
    if c.may(Permission::ManageNetwork) {
        sections.push(Section::Table(Table {
            rows: vec![Row {
                cells: vec![Cell::text(ap.name())],
                actions: vec![RowAction::danger(
                    t.remove,
                    format!("/aps/{}/remove", urlenc(ap.name())),
                    t.confirm_remove,
                )],
            }],
            has_actions: true,
            ..Table::new("ap-remove", "", &[t.name], Vec::new(), "")
        }));
    }
    Ok(render(&c, ap.name(), "/aps", sections))
}

pub async fn ap_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let removed = state.store.aps().remove(&name).await.page(&c)?;
    if !removed {
        return Err(PageError(WebError::NotFound(format!("AP {name}")), c.lang));
    }
    record(&state, &c, "ap.remove", &name, Outcome::Ok, json!({}))
        .await
        .page(&c)?;
    aps_page(
        &state,
        &c,
        &ApsQuery::default(),
        vec![Section::notice(t.done)],
    )
    .await
}

// --- Sessions --------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SessionsQuery {
    q: Option<String>,
    #[serde(default)]
    all: Option<String>,
    before: Option<i64>,
}

pub async fn sessions(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<SessionsQuery>,
) -> PageResult {
    sessions_page(&state, &c, &q, Vec::new()).await
}

async fn sessions_page(
    state: &AdminState,
    c: &Caller,
    q: &SessionsQuery,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let open_only = q.all.as_deref() != Some("1");
    let rows = state
        .store
        .search()
        .sessions(&SessionQuery {
            open_only,
            text: nonempty(&q.q),
            nas: None,
            before_id: q.before,
            limit: PAGE_ROWS,
        })
        .await
        .page(c)?;
    sections.push(Section::Form(FormView::filter(
        "session-filter",
        "/sessions",
        vec![
            Field::new(
                "text",
                "q",
                t.ts_user_or_mac,
                &q.q.clone().unwrap_or_default(),
            )
            .hint("user / MAC / IP"),
            Field::new("checkbox", "all", t.all, if open_only { "" } else { "1" }),
        ],
        t.search,
    )));
    let may_disconnect = c.may(Permission::Disconnect);
    let table_rows = rows
        .iter()
        .map(|s| {
            let mut row = Row::new(vec![
                Cell::link(opt(&s.username), format!("/sessions/{}", s.id)),
                Cell::text(opt(&s.calling_station)),
                Cell::text(opt(&s.framed_ip)),
                Cell::text(&s.nas_name),
                Cell::text(opt(&s.called_station)),
                Cell::text(time(s.started_ms)),
                Cell::text(duration_s(s.session_time)),
                Cell::text(bytes(s.input_octets + s.output_octets)),
                match s.stopped_ms {
                    None => Cell::tone(t.open_only, "ok"),
                    Some(ms) => Cell::text(time(ms)),
                },
            ]);
            if may_disconnect && s.stopped_ms.is_none() {
                row.actions.push(RowAction::danger(
                    t.disconnect,
                    format!("/sessions/{}/disconnect", s.id),
                    t.disconnect,
                ));
            }
            row
        })
        .collect();
    let mut table = Table::new(
        "sessions",
        "",
        &[
            t.user, t.mac, t.ip, t.nas, t.ap, t.started, t.duration, t.traffic, t.stopped,
        ],
        table_rows,
        t.none,
    );
    if rows.len() as i64 == PAGE_ROWS {
        if let Some(last) = rows.last() {
            table.next = Some(format!(
                "/sessions?q={}&all={}&before={}",
                urlenc(&q.q.clone().unwrap_or_default()),
                if open_only { "" } else { "1" },
                last.id
            ));
        }
    }
    if c.may(Permission::ReadLogs) {
        table.export = Some(format!(
            "/sessions.csv?q={}&all={}",
            urlenc(&q.q.clone().unwrap_or_default()),
            if open_only { "" } else { "1" }
        ));
    }
    sections.push(Section::Table(table));
    Ok(render(c, t.nav_sessions, "/sessions", sections))
}

pub async fn session_detail(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    session_detail_page(&state, &c, id, Vec::new()).await
}

async fn session_detail_page(
    state: &AdminState,
    c: &Caller,
    id: i64,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let s = state
        .store
        .search()
        .session(id)
        .await
        .page(c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("session {id}")), c.lang))?;
    sections.push(Section::Pairs {
        title: t.session_detail.into(),
        rows: vec![
            (t.user.into(), opt(&s.username)),
            (t.mac.into(), opt(&s.calling_station)),
            (t.ip.into(), opt(&s.framed_ip)),
            (t.nas.into(), format!("{} ({})", s.nas_name, s.nas_ip)),
            (t.ap.into(), opt(&s.called_station)),
            ("Acct-Session-Id".into(), s.session_id.clone()),
            (t.started.into(), time(s.started_ms)),
            (t.stopped.into(), opt_time(s.stopped_ms)),
            (t.duration.into(), duration_s(s.session_time)),
            (
                t.traffic.into(),
                format!("↓ {} ↑ {}", bytes(s.output_octets), bytes(s.input_octets)),
            ),
            (t.reason.into(), opt(&s.terminate_cause)),
        ],
    });
    if c.may(Permission::Disconnect) && s.stopped_ms.is_none() {
        sections.push(Section::Table(Table {
            rows: vec![Row {
                cells: vec![Cell::text(opt(&s.username))],
                actions: vec![
                    RowAction::danger(
                        t.disconnect,
                        format!("/sessions/{id}/disconnect"),
                        t.disconnect,
                    ),
                    RowAction::post(t.reauthorize, format!("/sessions/{id}/coa")),
                ],
            }],
            has_actions: true,
            ..Table::new("session-actions", "", &[t.user], Vec::new(), "")
        }));
    }
    Ok(render(c, t.session_detail, "/sessions", sections))
}

pub async fn session_disconnect(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    let answer = coa(&state, &c, id, crate::radius::coa::CoaKind::Disconnect).await?;
    session_detail_page(&state, &c, id, vec![answer]).await
}

pub async fn session_coa(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    let answer = coa(&state, &c, id, crate::radius::coa::CoaKind::Coa).await?;
    session_detail_page(&state, &c, id, vec![answer]).await
}

/// Sends a Disconnect or CoA for session `id`; the NAS's answer as a
/// notice (also audited).
pub async fn send_coa(
    state: &AdminState,
    c: &Caller,
    id: i64,
    kind: crate::radius::coa::CoaKind,
) -> Result<(bool, String), WebError> {
    use crate::radius::coa;
    let s = state
        .store
        .search()
        .session(id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("session {id}")))?;
    if s.stopped_ms.is_some() {
        return Err(WebError::Conflict(format!(
            "session {id} has already ended"
        )));
    }
    let settings = coa::CoaSettings {
        timeout: state.config.radius.coa_timeout,
        attempts: state.config.radius.coa_attempts,
    };
    let result = coa::for_session(&state.store, settings, &s, kind, &[]).await;
    let (ok, text) = match &result {
        Ok((nas, o)) => (
            *o == coa::CoaOutcome::Ack,
            format!("{nas}: {}", o.describe()),
        ),
        Err(e) => (false, e.to_string()),
    };
    let action = match kind {
        coa::CoaKind::Disconnect => "session.disconnect",
        coa::CoaKind::Coa => "session.coa",
    };
    record(
        state,
        c,
        action,
        &format!("{} {}", opt(&s.username), s.session_id),
        if ok { Outcome::Ok } else { Outcome::Failed },
        json!({"nas": s.nas_name, "answer": text}),
    )
    .await?;
    Ok((ok, text))
}

async fn coa(
    state: &AdminState,
    c: &Caller,
    id: i64,
    kind: crate::radius::coa::CoaKind,
) -> Result<Section, PageError> {
    let t = c.lang.texts();
    let (ok, text) = send_coa(state, c, id, kind).await.page(c)?;
    let text = format!("{}: {text}", t.nas_answer);
    Ok(if ok {
        Section::notice(text)
    } else {
        Section::error(text)
    })
}

// --- Troubleshooting ---------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct TroubleQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    mac: Option<String>,
    #[serde(default)]
    hours: Option<i64>,
}

/// One line of the troubleshooting timeline.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at_ms: i64,
    /// auth, portal, accounting-start, accounting-stop, alert, event
    pub kind: String,
    pub outcome: String,
    pub detail: String,
    /// What to do, for a failure Portico knows.
    pub advice: Option<String>,
}

/// Everything Portico knows around a user name or MAC in the last `hours`.
pub async fn timeline(
    state: &AdminState,
    lang: super::i18n::Lang,
    user: Option<String>,
    mac: Option<String>,
    hours: i64,
) -> Result<Vec<TimelineEntry>, WebError> {
    let now = state.now_ms();
    let since = now - hours.clamp(1, 24 * 31) * 3_600_000;
    let mac = mac
        .map(|m| {
            crate::domain::MacAddr::parse(&m)
                .map(|m| m.to_string())
                .map_err(|_| WebError::BadRequest(format!("{m:?} is not a MAC address")))
        })
        .transpose()?;
    let search = state.store.search();
    let mut out = Vec::new();
    let log = search
        .auth_log(&AuthLogQuery {
            since_ms: Some(since),
            username: user.clone(),
            mac: mac.clone(),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let mut aps_seen = std::collections::BTreeSet::new();
    for row in &log {
        let r = &row.record;
        if let Some(ap) = &r.ap {
            aps_seen.insert(ap.clone());
        }
        let kind = if r.method.starts_with("portal") {
            "portal"
        } else {
            "auth"
        };
        let failed = r.outcome == "reject";
        out.push(TimelineEntry {
            at_ms: r.at_ms,
            kind: kind.into(),
            outcome: r.outcome.clone(),
            detail: format!(
                "{} {} · {} · MAC {} · NAS {} · AP {}{}",
                r.method,
                r.username,
                r.reason,
                opt(&r.mac),
                r.nas_name,
                opt(&r.ap),
                r.ssid
                    .as_ref()
                    .map(|s| format!(" · SSID {s}"))
                    .unwrap_or_default()
            ),
            advice: failed
                .then(|| reasons::advice(&r.reason, lang).map(str::to_string))
                .flatten(),
        });
    }
    let text = user.clone().or(mac.clone());
    let sessions = search
        .sessions(&SessionQuery {
            open_only: false,
            text,
            nas: None,
            before_id: None,
            limit: 200,
        })
        .await?;
    for s in sessions.iter().filter(|s| s.updated_ms >= since) {
        if let Some(ap) = &s.called_station {
            aps_seen.insert(ap.clone());
        }
        out.push(TimelineEntry {
            at_ms: s.started_ms,
            kind: "accounting-start".into(),
            outcome: "start".into(),
            detail: format!(
                "{} · MAC {} · IP {} · NAS {} · AP {}",
                opt(&s.username),
                opt(&s.calling_station),
                opt(&s.framed_ip),
                s.nas_name,
                opt(&s.called_station)
            ),
            advice: None,
        });
        if let Some(stop) = s.stopped_ms {
            out.push(TimelineEntry {
                at_ms: stop,
                kind: "accounting-stop".into(),
                outcome: "stop".into(),
                detail: format!(
                    "{} · {} · {}",
                    opt(&s.username),
                    opt(&s.terminate_cause),
                    bytes(s.input_octets + s.output_octets)
                ),
                advice: None,
            });
        }
    }
    // The APs' alerts in the period (an AP down explains a lot).
    if !aps_seen.is_empty() {
        for a in state.store.alerts().list(500).await? {
            let relevant = aps_seen
                .iter()
                .any(|ap| a.subject.contains(ap.as_str()) || ap.contains(a.subject.as_str()));
            if relevant && a.raised_ms >= since {
                out.push(TimelineEntry {
                    at_ms: a.raised_ms,
                    kind: "alert".into(),
                    outcome: a.severity.clone(),
                    detail: format!("{} {}: {}", a.kind, a.subject, a.message),
                    advice: None,
                });
            }
        }
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    Ok(out)
}

pub async fn troubleshoot(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<TroubleQuery>,
) -> PageResult {
    let t = c.lang.texts();
    let hours = q.hours.unwrap_or(24);
    let given = nonempty(&q.q).or(nonempty(&q.user)).or(nonempty(&q.mac));
    let mut sections = vec![
        Section::notice(t.ts_prompt),
        Section::Form(FormView::filter(
            "ts",
            "/troubleshoot",
            vec![
                Field::new(
                    "text",
                    "q",
                    t.ts_user_or_mac,
                    &given.clone().unwrap_or_default(),
                )
                .required(),
                Field::new("number", "hours", t.ts_hours, &hours.to_string()),
            ],
            t.search,
        )),
    ];
    if let Some(g) = given {
        let (user, mac) = if nonempty(&q.mac).is_some() || crate::domain::MacAddr::parse(&g).is_ok()
        {
            (None, Some(g.clone()))
        } else {
            (Some(g.clone()), None)
        };
        let entries = timeline(&state, c.lang, user, mac, hours).await.page(&c)?;
        let rows: Vec<Row> = entries
            .iter()
            .map(|e| {
                let tone = match e.outcome.as_str() {
                    "accept" | "start" => "ok",
                    "reject" | "critical" | "major" => "bad",
                    _ => "warn",
                };
                Row::new(vec![
                    Cell::text(time(e.at_ms)),
                    Cell::text(&e.kind),
                    Cell::tone(&e.outcome, tone),
                    Cell::text(&e.detail),
                    Cell::text(e.advice.clone().unwrap_or_default()),
                ])
            })
            .collect();
        sections.push(Section::Table(Table::new(
            "timeline",
            &g,
            &[t.time, t.kind, t.outcome, t.detail, t.ts_what_to_do],
            rows,
            t.ts_nothing,
        )));
    }
    Ok(render(&c, t.nav_troubleshoot, "/troubleshoot", sections))
}

// --- Users -----------------------------------------------------------------------

pub async fn users(State(state): State<AdminState>, Extension(c): Extension<Caller>) -> PageResult {
    users_page(&state, &c, Vec::new()).await
}

async fn users_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let manage = c.may(Permission::ManageNetwork);
    let users = state.store.users().list().await.page(c)?;
    let rows = users
        .iter()
        .map(|u| {
            let mut row = Row::new(vec![
                Cell::text(&u.username),
                Cell::text(opt(&u.display_name)),
                Cell::text(u.groups.join(", ")),
                if u.enabled {
                    Cell::tone(t.enabled, "ok")
                } else {
                    Cell::tone(t.disabled, "bad")
                },
                Cell::text(opt_time(u.valid_until)),
            ]);
            if manage {
                row.actions.push(if u.enabled {
                    RowAction::danger(
                        t.disable,
                        format!("/users/{}/disable", urlenc(&u.username)),
                        t.disable,
                    )
                } else {
                    RowAction::post(t.enable, format!("/users/{}/enable", urlenc(&u.username)))
                });
            }
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "users",
        t.users,
        &[
            t.username,
            t.display_name,
            t.groups,
            t.status,
            t.valid_until,
        ],
        rows,
        t.none,
    )));
    let groups = state.store.groups().list().await.page(c)?;
    sections.push(Section::Table(Table::new(
        "groups",
        t.groups,
        &[
            t.name,
            t.vlan,
            t.session_timeout,
            t.method,
            t.reply_attributes,
        ],
        groups
            .iter()
            .map(|g| {
                Row::new(vec![
                    Cell::text(&g.name),
                    Cell::text(opt(&g.vlan)),
                    Cell::text(
                        g.session_timeout
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    Cell::text(if g.allowed_methods.is_empty() {
                        t.all.to_string()
                    } else {
                        g.allowed_methods.join(", ")
                    }),
                    Cell::text(
                        g.reply_attributes
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ])
                .with_action(manage.then(|| {
                    RowAction::danger(
                        t.remove,
                        format!("/groups/{}/remove", urlenc(&g.name)),
                        t.confirm_remove,
                    )
                }))
            })
            .collect(),
        t.none,
    )));
    let devices = state.store.devices().list().await.page(c)?;
    sections.push(Section::Table(Table::new(
        "devices",
        t.devices,
        &[t.mac, t.owner, t.description, t.groups],
        devices
            .iter()
            .map(|d| {
                Row::new(vec![
                    Cell::text(d.mac.to_string()),
                    Cell::text(opt(&d.owner)),
                    Cell::text(opt(&d.description)),
                    Cell::text(d.groups.join(", ")),
                ])
                .with_action(manage.then(|| {
                    RowAction::danger(
                        t.remove,
                        format!("/devices/{}/remove", d.mac),
                        t.confirm_remove,
                    )
                }))
            })
            .collect(),
        t.none,
    )));
    if manage {
        sections.push(Section::Form(FormView::post(
            "user-add",
            t.add,
            "/users",
            vec![
                Field::new("text", "username", t.username, "").required(),
                Field::new("text", "display_name", t.display_name, ""),
                Field::new("password", "password", t.password, "")
                    .required()
                    .autocomplete("new-password"),
                Field::new("text", "groups", t.groups, "").hint("a;b"),
            ],
            t.add,
        )));
        let mut import = FormView::post(
            "user-import",
            t.import_csv,
            "/users/import",
            vec![Field::new("file", "file", t.import_csv, "").hint(t.import_hint)],
            t.import_csv,
        );
        import.upload = true;
        sections.push(Section::Form(import));
        let names: Vec<(String, String)> = users
            .iter()
            .map(|u| (u.username.clone(), u.username.clone()))
            .collect();
        sections.push(Section::Form(FormView::post(
            "user-edit",
            t.edit,
            "/users/edit",
            vec![
                Field::select("username", t.username, "", names),
                Field::new("text", "groups", t.groups, "").hint("a;b"),
                Field::new("date", "valid_until", t.valid_until, ""),
                Field::new("password", "password", t.new_password, "").autocomplete("new-password"),
            ],
            t.save,
        )));
        sections.push(Section::Form(FormView::post(
            "group-save",
            t.groups,
            "/groups",
            vec![
                Field::new("text", "name", t.name, "").required(),
                Field::new("text", "vlan", t.vlan, ""),
                Field::new("number", "session_timeout", t.session_timeout, ""),
                Field::new("text", "methods", t.method, "")
                    .hint("pap;mschapv2;eap;mac (empty: all)"),
                Field::new("text", "reply", t.reply_attributes, "")
                    .hint("Aruba-User-Role=staff;Filter-Id=guests (empty: unchanged)"),
            ],
            t.save,
        )));
        sections.push(Section::Form(FormView::post(
            "device-add",
            t.devices,
            "/devices",
            vec![
                Field::new("text", "mac", t.mac, "").required(),
                Field::new("text", "owner", t.owner, ""),
                Field::new("text", "description", t.description, ""),
                Field::new("text", "groups", t.groups, "").hint("a;b"),
            ],
            t.add,
        )));
    }
    Ok(render(c, t.nav_users, "/users", sections))
}

#[derive(Deserialize)]
pub struct UserForm {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub groups: String,
}

/// A staff password's stored forms, hashed off the async threads.
async fn staff_credentials(
    state: &AdminState,
    password: &str,
) -> Result<(String, Option<[u8; 16]>), WebError> {
    let (pw, store_nt) = (password.to_string(), state.config.radius.store_nt_hash);
    tokio::task::spawn_blocking(move || crate::admin::import::staff_credentials(&pw, store_nt))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))
}

/// Creates a staff account (shared by the page and the API).
pub async fn create_user(state: &AdminState, c: &Caller, f: &UserForm) -> Result<(), WebError> {
    let username = crate::domain::validate_username(f.username.trim())
        .map_err(WebError::BadRequest)?
        .to_string();
    crate::credentials::check_new_password(&f.password)
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let groups = split_list(&f.groups);
    let (phc, nt) = staff_credentials(state, &f.password).await?;
    state
        .store
        .users()
        .add(&crate::store::users::NewUser {
            username: username.clone(),
            display_name: opt_field(&f.display_name),
            password_hash: Some(phc),
            nt_hash: nt,
            groups: groups.clone(),
            valid_until: None,
        })
        .await?;
    record(
        state,
        c,
        "user.add",
        &username,
        Outcome::Ok,
        json!({"after": {"groups": groups, "display_name": f.display_name}}),
    )
    .await
}

pub async fn user_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<UserForm>,
) -> PageResult {
    let t = c.lang.texts();
    let notice = match create_user(&state, &c, &f).await {
        Ok(()) => Section::notice(t.saved),
        Err(e @ (WebError::BadRequest(_) | WebError::Conflict(_) | WebError::Store(_)))
            if e.status() != StatusCode::INTERNAL_SERVER_ERROR =>
        {
            user_error(t, e)?
        }
        Err(e) => return Err(PageError(e, c.lang)),
    };
    users_page(&state, &c, vec![notice]).await
}

async fn set_user_enabled(state: &AdminState, c: &Caller, name: &str, enabled: bool) -> PageResult {
    let t = c.lang.texts();
    state
        .store
        .users()
        .set_enabled(name, enabled)
        .await
        .page(c)?;
    let action = if enabled {
        "user.enable"
    } else {
        "user.disable"
    };
    record(
        state,
        c,
        action,
        name,
        Outcome::Ok,
        json!({"after": {"enabled": enabled}}),
    )
    .await
    .page(c)?;
    users_page(state, c, vec![Section::notice(t.saved)]).await
}

pub async fn user_enable(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    set_user_enabled(&state, &c, &name, true).await
}

pub async fn user_disable(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    set_user_enabled(&state, &c, &name, false).await
}

/// `POST /users/import`: all lines or none, the bad lines named. The
/// upload box (admin.js) sends the file as the body (`text/csv`) and
/// shows the plain-text answer; without JavaScript the form posts
/// multipart and gets the users page with the outcome.
pub async fn users_import(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    req: axum::extract::Request,
) -> Response {
    use axum::extract::FromRequest;
    let t = c.lang.texts();
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let text = if multipart {
        match axum::extract::Multipart::from_request(req, &()).await {
            Ok(mut m) => {
                let mut text = None;
                while let Ok(Some(field)) = m.next_field().await {
                    if field.name() == Some("file") {
                        text = field.text().await.ok();
                        break;
                    }
                }
                text
            }
            Err(_) => None,
        }
    } else {
        axum::body::to_bytes(req.into_body(), super::MAX_BODY)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
    };
    let Some(text) = text else {
        let msg = format!("{}CSV (UTF-8)", t.err_input);
        return if multipart {
            users_page(&state, &c, vec![Section::error(msg)])
                .await
                .into_response()
        } else {
            (StatusCode::BAD_REQUEST, msg).into_response()
        };
    };
    let result =
        crate::admin::import::import_users(&state.store, state.config.radius.store_nt_hash, &text)
            .await;
    let (status, outcome, answer) = match result {
        Ok(n) => {
            let _ = record(
                &state,
                &c,
                "user.import",
                "-",
                Outcome::Ok,
                json!({"imported": n}),
            )
            .await;
            (StatusCode::OK, Ok(()), format!("{} {n}", t.imported))
        }
        Err(crate::admin::import::ImportError::Lines(lines)) => {
            let _ = record(
                &state,
                &c,
                "user.import",
                "-",
                Outcome::Failed,
                json!({"errors": lines.len()}),
            )
            .await;
            (StatusCode::BAD_REQUEST, Err(()), lines.join("\n"))
        }
        Err(e) => {
            tracing::error!(error = %e, "user import failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Err(()),
                t.err_internal.to_string(),
            )
        }
    };
    if multipart {
        let notice = match outcome {
            Ok(()) => Section::notice(answer),
            Err(()) => Section::error(answer),
        };
        return match users_page(&state, &c, vec![notice]).await {
            Ok(page) => (status, page).into_response(),
            Err(e) => e.into_response(),
        };
    }
    (status, answer).into_response()
}

// --- NAS ---------------------------------------------------------------------------

pub async fn nas(State(state): State<AdminState>, Extension(c): Extension<Caller>) -> PageResult {
    nas_page(&state, &c, Vec::new()).await
}

/// Per NAS, its Access-Requests of the last 24 hours (whole hours, every
/// node's counts added up in the store, flushed every few seconds).
pub async fn blast_stats(
    state: &AdminState,
) -> Result<std::collections::HashMap<String, crate::store::nas::RequestStats>, WebError> {
    let now = state.now_ms();
    let since = now - now.rem_euclid(3_600_000) - 23 * 3_600_000;
    Ok(state.store.nas().request_stats_since(since).await?)
}

async fn nas_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let manage = c.may(Permission::ManageNetwork);
    let list = state.store.nas().list().await.page(c)?;
    let stats = blast_stats(state).await.page(c)?;
    if list.iter().any(|n| !n.require_message_authenticator) {
        sections.insert(0, Section::error(t.blast_banner));
    }
    let rows = list
        .iter()
        .map(|n| {
            let st = stats.get(&n.name).copied().unwrap_or_default();
            let (share, count, last) = (st.share(), st.requests, st.last_ms);
            let mut row = Row::new(vec![
                Cell::text(&n.name),
                Cell::text(n.address.to_string()),
                Cell::text(&n.profile),
                Cell::text(n.coa_port.to_string()),
                if n.require_message_authenticator {
                    Cell::tone(t.require_ma, "ok")
                } else {
                    Cell::tone(t.blast_legacy, "bad")
                },
                Cell::text(match share {
                    Some(s) => format!("{s}% ({count})"),
                    None => "-".into(),
                }),
                Cell::text(if last > 0 { time(last) } else { "-".into() }),
            ]);
            if manage {
                row.actions.push(RowAction::danger(
                    t.rotate_secret,
                    format!("/nas/{}/rotate", urlenc(&n.name)),
                    t.rotate_secret,
                ));
            }
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "nas",
        t.blast_title,
        &[
            t.name,
            t.address,
            t.profile,
            t.coa_port,
            t.blast_legacy,
            t.blast_share,
            t.blast_last,
        ],
        rows,
        t.none,
    )));
    if manage {
        sections.push(Section::Form(FormView::post(
            "nas-add",
            t.add,
            "/nas",
            vec![
                Field::new("text", "name", t.name, "").required(),
                Field::new("text", "address", t.address, "")
                    .required()
                    .hint("192.0.2.10 / 10.1.0.0/16"),
                Field::new("text", "profile", t.profile, "generic"),
                Field::new("number", "coa_port", t.coa_port, "3799"),
                Field::new("checkbox", "legacy", t.blast_legacy, ""),
            ],
            t.add,
        )));
        let names: Vec<(String, String)> = list
            .iter()
            .map(|n| (n.name.clone(), n.name.clone()))
            .collect();
        sections.push(Section::Form(FormView::post(
            "nas-edit",
            t.edit,
            "/nas/edit",
            vec![
                Field::select("name", t.name, "", names),
                Field::new("text", "address", t.address, "").required(),
                Field::new("text", "profile", t.profile, "generic"),
                Field::new("number", "coa_port", t.coa_port, "3799"),
                Field::new("checkbox", "legacy", t.blast_legacy, ""),
            ],
            t.save,
        )));
    }
    Ok(render(c, t.nav_nas, "/nas", sections))
}

fn parse_nas_fields(f: &NasForm) -> Result<(ipnet::IpNet, u16, bool, String), WebError> {
    let address: ipnet::IpNet = f
        .address
        .trim()
        .parse()
        .or_else(|_| {
            f.address
                .trim()
                .parse::<std::net::IpAddr>()
                .map(ipnet::IpNet::from)
        })
        .map_err(|_| {
            WebError::BadRequest(format!("{:?} is not an address or prefix", f.address))
        })?;
    let coa_port = match f
        .coa_port
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => 3799,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| WebError::BadRequest(format!("{p:?} is not a port")))?,
    };
    let legacy = matches!(f.legacy.as_deref(), Some("1") | Some("true") | Some("on"));
    let profile = if f.profile.trim().is_empty() {
        "generic".to_string()
    } else {
        f.profile.trim().to_string()
    };
    Ok((address, coa_port, legacy, profile))
}

/// `POST /nas/edit`: address, profile, CoA port, legacy flag.
pub async fn nas_edit(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<NasForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let (address, coa_port, legacy, profile) = parse_nas_fields(&f)?;
        let before = state
            .store
            .nas()
            .get(f.name.trim())
            .await?
            .ok_or_else(|| WebError::NotFound(format!("NAS {}", f.name)))?;
        state
            .store
            .nas()
            .update(f.name.trim(), address, &profile, coa_port, !legacy)
            .await?;
        record(
            &state,
            &c,
            "nas.edit",
            f.name.trim(),
            Outcome::Ok,
            json!({
                "before": {"address": before.address.to_string(), "profile": before.profile, "coa_port": before.coa_port, "legacy": !before.require_message_authenticator},
                "after": {"address": address.to_string(), "profile": profile, "coa_port": coa_port, "legacy": legacy},
            }),
        )
        .await
    }
    .await;
    let notice = match result {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e)?,
    };
    nas_page(&state, &c, vec![notice]).await
}

#[derive(Deserialize)]
pub struct UserEditForm {
    username: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    password: String,
}

fn split_list(s: &str) -> Vec<String> {
    s.split([';', ','])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect()
}

/// `POST /users/edit`: groups, validity and (when given) a new password.
pub async fn user_edit(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<UserEditForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let name = f.username.trim();
        let before = state
            .store
            .users()
            .get(name)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("user {name}")))?;
        let groups = split_list(&f.groups);
        let valid_until = match f.valid_until.trim() {
            "" => None,
            d => Some(parse_day(d).ok_or_else(|| WebError::BadRequest(format!("{d:?} is not a date")))? + 86_400_000),
        };
        state.store.users().set_groups(name, &groups).await?;
        state.store.users().set_valid_until(name, valid_until).await?;
        let password_changed = !f.password.is_empty();
        if password_changed {
            crate::credentials::check_new_password(&f.password).map_err(|e| WebError::BadRequest(e.to_string()))?;
            let (phc, nt) = staff_credentials(&state, &f.password).await?;
            state.store.users().set_password(name, &phc, nt).await?;
        }
        record(
            &state,
            &c,
            "user.edit",
            name,
            Outcome::Ok,
            json!({
                "before": {"groups": before.groups, "valid_until": before.valid_until},
                "after": {"groups": groups, "valid_until": valid_until, "password_changed": password_changed},
            }),
        )
        .await
    }
    .await;
    let notice = match result {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e)?,
    };
    users_page(&state, &c, vec![notice]).await
}

#[derive(Deserialize)]
pub struct GroupForm {
    name: String,
    #[serde(default)]
    vlan: String,
    #[serde(default)]
    session_timeout: String,
    #[serde(default)]
    methods: String,
    /// `Name=Value;Name=Value`: extra reply attributes by dictionary name.
    #[serde(default)]
    reply: String,
}

/// `POST /groups`: creates a group or replaces its reply policy (VLAN,
/// session timeout, allowed methods; other attributes stay as they were).
pub async fn group_save(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<GroupForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let name = f.name.trim().to_string();
        let before = state.store.groups().get(&name).await?;
        let session_timeout = match f.session_timeout.trim() {
            "" => None,
            s => Some(
                s.parse::<u32>()
                    .map_err(|_| WebError::BadRequest(format!("session timeout {s:?}: seconds")))?,
            ),
        };
        let methods: Vec<String> = split_list(&f.methods).into_iter().map(|m| m.to_ascii_lowercase()).collect();
        for m in &methods {
            if !["pap", "chap", "mschapv2", "mac", "eap"].contains(&m.as_str()) {
                return Err(WebError::BadRequest(format!("method {m:?}: pap, chap, mschapv2, mac or eap")));
            }
        }
        let mut group = before.clone().unwrap_or(crate::store::groups::Group {
            name: name.clone(),
            vlan: None,
            session_timeout: None,
            idle_timeout: None,
            filter_id: None,
            class: None,
            reply_attributes: Vec::new(),
            allowed_methods: Vec::new(),
        });
        group.vlan = opt_field(&f.vlan);
        group.session_timeout = session_timeout;
        group.allowed_methods = methods;
        if !f.reply.trim().is_empty() {
            group.reply_attributes = f
                .reply
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                        .ok_or_else(|| WebError::BadRequest(format!("reply attribute {p:?}: Name=Value")))
                })
                .collect::<Result<_, _>>()?;
        }
        state.store.groups().upsert(&group).await?;
        record(
            &state,
            &c,
            "group.save",
            &name,
            Outcome::Ok,
            json!({
                "before": before.map(|b| json!({"vlan": b.vlan, "session_timeout": b.session_timeout, "methods": b.allowed_methods})),
                "after": {"vlan": group.vlan, "session_timeout": group.session_timeout, "methods": group.allowed_methods, "reply": group.reply_attributes},
            }),
        )
        .await
    }
    .await;
    let notice = match result {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e)?,
    };
    users_page(&state, &c, vec![notice]).await
}

#[derive(Deserialize)]
pub struct DeviceForm {
    mac: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    groups: String,
}

/// `POST /devices`: registers a device (MAC authentication).
pub async fn device_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<DeviceForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let mac = crate::domain::MacAddr::parse(f.mac.trim())
            .map_err(|_| WebError::BadRequest(format!("{:?} is not a MAC address", f.mac)))?;
        let groups = split_list(&f.groups);
        state
            .store
            .devices()
            .add(&crate::store::devices::Device {
                mac,
                owner: opt_field(&f.owner),
                description: opt_field(&f.description),
                groups: groups.clone(),
                created_at: 0,
            })
            .await?;
        record(
            &state,
            &c,
            "device.add",
            &mac.to_string(),
            Outcome::Ok,
            json!({"after": {"owner": f.owner, "groups": groups}}),
        )
        .await
    }
    .await;
    let notice = match result {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e)?,
    };
    users_page(&state, &c, vec![notice]).await
}

/// `POST /devices/{mac}/remove`.
pub async fn device_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(mac): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let mac = crate::domain::MacAddr::parse(&mac)
        .map_err(|_| PageError(WebError::NotFound(format!("device {mac}")), c.lang))?;
    if !state.store.devices().remove(mac).await.page(&c)? {
        return Err(PageError(
            WebError::NotFound(format!("device {mac}")),
            c.lang,
        ));
    }
    record(
        &state,
        &c,
        "device.remove",
        &mac.to_string(),
        Outcome::Ok,
        json!({}),
    )
    .await
    .page(&c)?;
    users_page(&state, &c, vec![Section::notice(t.done)]).await
}

/// `POST /groups/{name}/remove`.
pub async fn group_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    if !state.store.groups().remove(&name).await.page(&c)? {
        return Err(PageError(
            WebError::NotFound(format!("group {name}")),
            c.lang,
        ));
    }
    record(&state, &c, "group.remove", &name, Outcome::Ok, json!({}))
        .await
        .page(&c)?;
    users_page(&state, &c, vec![Section::notice(t.done)]).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NasForm {
    pub name: String,
    /// An address or prefix.
    pub address: String,
    #[serde(default)]
    pub profile: String,
    #[serde(default)]
    pub coa_port: Option<String>,
    /// "1": legacy (Message-Authenticator not required).
    #[serde(default)]
    pub legacy: Option<String>,
}

/// Adds a NAS with a generated secret (returned once).
pub async fn create_nas(state: &AdminState, c: &Caller, f: &NasForm) -> Result<String, WebError> {
    let (address, coa_port, legacy, profile) = parse_nas_fields(f)?;
    let secret = crate::admin::accounts::random_secret()[..32].to_string();
    state
        .store
        .nas()
        .add(&crate::store::nas::NewNas {
            name: f.name.trim().to_string(),
            address,
            secret: secret.clone(),
            profile: profile.clone(),
            coa_port,
            require_message_authenticator: !legacy,
        })
        .await?;
    record(
        state,
        c,
        "nas.add",
        f.name.trim(),
        Outcome::Ok,
        json!({"after": {"address": address.to_string(), "profile": profile, "coa_port": coa_port, "legacy": legacy}}),
    )
    .await?;
    Ok(secret)
}

pub async fn nas_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<NasForm>,
) -> PageResult {
    let t = c.lang.texts();
    let notice = match create_nas(&state, &c, &f).await {
        Ok(secret) => Section::Secret {
            label: t.new_secret_once.into(),
            value: secret,
        },
        Err(e) => user_error(t, e)?,
    };
    nas_page(&state, &c, vec![notice]).await
}

pub async fn nas_rotate(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let secret = crate::admin::accounts::random_secret()[..32].to_string();
    state
        .store
        .nas()
        .set_secret(&name, &secret)
        .await
        .page(&c)?;
    record(
        &state,
        &c,
        "nas.rotate-secret",
        &name,
        Outcome::Ok,
        json!({}),
    )
    .await
    .page(&c)?;
    nas_page(
        &state,
        &c,
        vec![Section::Secret {
            label: format!("{name}: {}", t.new_secret_once),
            value: secret,
        }],
    )
    .await
}

// --- Alerts ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct AlertsQuery {
    #[serde(default)]
    open: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

pub async fn alerts(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<AlertsQuery>,
) -> PageResult {
    alerts_page(&state, &c, &q, Vec::new()).await
}

async fn alerts_page(
    state: &AdminState,
    c: &Caller,
    q: &AlertsQuery,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let manage = c.may(Permission::ManageAlerts);
    let open_only = q.open.as_deref() == Some("1");
    let list = if open_only {
        state.store.alerts().open().await
    } else {
        state.store.alerts().list(500).await
    }
    .page(c)?;
    let filter = nonempty(&q.q).map(|s| s.to_lowercase());
    sections.push(Section::Form(FormView::filter(
        "alert-filter",
        "/alerts",
        vec![
            Field::new("text", "q", t.filter, &q.q.clone().unwrap_or_default()),
            Field::new(
                "checkbox",
                "open",
                t.open_only,
                if open_only { "1" } else { "" },
            ),
        ],
        t.filter,
    )));
    let rows = list
        .iter()
        .filter(|a| {
            filter.as_ref().is_none_or(|f| {
                format!("{} {} {} {}", a.kind, a.subject, a.message, a.severity)
                    .to_lowercase()
                    .contains(f.as_str())
            })
        })
        .map(|a| {
            let mut row = Row::new(vec![
                Cell::text(time(a.raised_ms)),
                Cell::tone(
                    &a.severity,
                    if a.severity == "info" {
                        "ok"
                    } else if a.severity == "warning" {
                        "warn"
                    } else {
                        "bad"
                    },
                ),
                Cell::text(format!("{} / {}", a.source, a.kind)),
                Cell::text(&a.subject),
                Cell::text(&a.message),
                Cell::text(opt_time(a.cleared_ms)),
                Cell::text(match (&a.acked_by, a.acked_ms) {
                    (Some(by), Some(at)) => format!("{by} {}", time(at)),
                    _ => "-".into(),
                }),
            ]);
            if manage && a.acked_ms.is_none() {
                row.actions.push(RowAction::post(
                    t.acknowledge,
                    format!("/alerts/{}/ack", a.id),
                ));
            }
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "alerts",
        t.alerts,
        &[
            t.raised,
            t.severity,
            t.kind,
            t.target,
            t.message,
            t.cleared,
            t.acknowledged,
        ],
        rows,
        t.none,
    )));
    let windows = state.store.alerts().windows(state.now_ms()).await.page(c)?;
    let wrows = windows
        .iter()
        .map(|w| {
            let mut row = Row::new(vec![
                Cell::text(&w.name),
                Cell::text(if w.aps.is_empty() {
                    t.all.to_string()
                } else {
                    w.aps.join(", ")
                }),
                Cell::text(time(w.starts_at)),
                Cell::text(time(w.ends_at)),
                Cell::text(&w.created_by),
            ]);
            if manage {
                row.actions.push(RowAction::danger(
                    t.remove,
                    format!("/maintenance/{}/remove", w.id),
                    t.confirm_remove,
                ));
            }
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "maintenance",
        t.maintenance,
        &[t.name, t.aps_list, t.starts, t.ends, t.actor],
        wrows,
        t.none,
    )));
    if manage {
        sections.push(Section::Form(FormView::post(
            "maintenance-add",
            t.maintenance,
            "/maintenance",
            vec![
                Field::new("text", "name", t.name, "").required(),
                Field::new("text", "aps", t.aps_list, "").hint(t.maintenance_hint),
                Field::new("datetime-local", "starts", t.starts, "")
                    .required()
                    .hint("UTC+8"),
                Field::new("datetime-local", "ends", t.ends, "").required(),
            ],
            t.add,
        )));
    }
    Ok(render(c, t.nav_alerts, "/alerts", sections))
}

pub async fn alert_ack(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    let t = c.lang.texts();
    let done = state
        .store
        .alerts()
        .ack(id, &c.username, state.now_ms())
        .await
        .page(&c)?;
    if !done && !state.store.alerts().exists(id).await.page(&c)? {
        return Err(PageError(WebError::NotFound(format!("alert {id}")), c.lang));
    }
    if done {
        record(
            &state,
            &c,
            "alert.ack",
            &id.to_string(),
            Outcome::Ok,
            json!({}),
        )
        .await
        .page(&c)?;
    }
    alerts_page(
        &state,
        &c,
        &AlertsQuery::default(),
        vec![Section::notice(t.done)],
    )
    .await
}

/// A `datetime-local` value in the building's time (UTC+8) as epoch ms.
pub fn parse_local_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()?;
    Some(t.and_utc().timestamp_millis() - 8 * 3_600_000)
}

#[derive(Deserialize)]
pub struct WindowForm {
    name: String,
    #[serde(default)]
    aps: String,
    starts: String,
    ends: String,
}

pub async fn maintenance_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<WindowForm>,
) -> PageResult {
    let t = c.lang.texts();
    let aps: Vec<String> = f
        .aps
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let notice = match (parse_local_time(&f.starts), parse_local_time(&f.ends)) {
        (Some(s), Some(e)) => {
            match state
                .store
                .alerts()
                .add_window(f.name.trim(), &aps, s, e, &c.username, state.now_ms())
                .await
            {
                Ok(id) => {
                    record(
                        &state,
                        &c,
                        "maintenance.add",
                        &id.to_string(),
                        Outcome::Ok,
                        json!({"name": f.name, "aps": aps, "starts_at": s, "ends_at": e}),
                    )
                    .await
                    .page(&c)?;
                    Section::notice(t.saved)
                }
                Err(e) => user_error(t, e.into())?,
            }
        }
        _ => Section::error(format!("{}{} / {}", t.err_bad_request, t.starts, t.ends)),
    };
    alerts_page(&state, &c, &AlertsQuery::default(), vec![notice]).await
}

pub async fn maintenance_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    let t = c.lang.texts();
    if !state.store.alerts().remove_window(id).await.page(&c)? {
        return Err(PageError(
            WebError::NotFound(format!("maintenance window {id}")),
            c.lang,
        ));
    }
    {
        record(
            &state,
            &c,
            "maintenance.remove",
            &id.to_string(),
            Outcome::Ok,
            json!({}),
        )
        .await
        .page(&c)?;
    }
    alerts_page(
        &state,
        &c,
        &AlertsQuery::default(),
        vec![Section::notice(t.done)],
    )
    .await
}

// --- Logs ------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
pub struct LogsQuery {
    pub user: Option<String>,
    pub mac: Option<String>,
    pub nas: Option<String>,
    pub outcome: Option<String>,
    pub method: Option<String>,
    /// YYYY-MM-DD (UTC+8), inclusive.
    pub since: Option<String>,
    /// YYYY-MM-DD (UTC+8), inclusive.
    pub until: Option<String>,
    pub before: Option<i64>,
}

/// A date (UTC+8) as the epoch ms of its start.
pub fn parse_day(s: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis() - 8 * 3_600_000)
}

impl LogsQuery {
    pub fn to_query(&self, limit: i64) -> Result<AuthLogQuery, WebError> {
        let day = |v: &Option<String>, name: &str| -> Result<Option<i64>, WebError> {
            match nonempty(v) {
                None => Ok(None),
                Some(d) => parse_day(&d).map(Some).ok_or_else(|| {
                    WebError::BadRequest(format!("{name}: {d:?} is not a date (YYYY-MM-DD)"))
                }),
            }
        };
        Ok(AuthLogQuery {
            since_ms: day(&self.since, "since")?,
            until_ms: day(&self.until, "until")?.map(|d| d + 86_400_000),
            username: nonempty(&self.user),
            mac: nonempty(&self.mac),
            nas: nonempty(&self.nas),
            outcome: nonempty(&self.outcome),
            method: nonempty(&self.method),
            before_id: self.before,
            limit,
        })
    }

    pub fn query_string(&self) -> String {
        let v = |o: &Option<String>| urlenc(&o.clone().unwrap_or_default());
        format!(
            "user={}&mac={}&nas={}&outcome={}&method={}&since={}&until={}",
            v(&self.user),
            v(&self.mac),
            v(&self.nas),
            v(&self.outcome),
            v(&self.method),
            v(&self.since),
            v(&self.until)
        )
    }
}

pub async fn logs(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<LogsQuery>,
) -> PageResult {
    let t = c.lang.texts();
    let query = q.to_query(PAGE_ROWS).page(&c)?;
    let rows = state.store.search().auth_log(&query).await.page(&c)?;
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut sections = vec![Section::Form(FormView::filter(
        "log-filter",
        "/logs",
        vec![
            Field::new("text", "user", t.user, &val(&q.user)),
            Field::new("text", "mac", t.mac, &val(&q.mac)),
            Field::new("text", "nas", t.nas, &val(&q.nas)),
            Field::select(
                "outcome",
                t.outcome,
                &val(&q.outcome),
                ["", "accept", "reject", "sign-out", "expired"]
                    .iter()
                    .map(|o| {
                        (
                            o.to_string(),
                            if o.is_empty() {
                                t.all.to_string()
                            } else {
                                o.to_string()
                            },
                        )
                    })
                    .collect(),
            ),
            Field::new("text", "method", t.method, &val(&q.method)).hint("pap, peap, portal*"),
            Field::new("date", "since", t.since, &val(&q.since)),
            Field::new("date", "until", t.until, &val(&q.until)),
        ],
        t.filter,
    ))];
    let table_rows = rows
        .iter()
        .map(|r| {
            let a = &r.record;
            Row::new(vec![
                Cell::text(time(a.at_ms)),
                Cell::text(&a.username),
                Cell::text(opt(&a.mac)),
                Cell::text(opt(&a.client_ip)),
                Cell::text(&a.nas_name),
                Cell::text(opt(&a.ap)),
                Cell::text(opt(&a.ssid)),
                Cell::text(&a.method),
                Cell::tone(
                    &a.outcome,
                    if a.outcome == "accept" {
                        "ok"
                    } else if a.outcome == "reject" {
                        "bad"
                    } else {
                        "warn"
                    },
                ),
                Cell::text(&a.reason),
            ])
        })
        .collect();
    let mut table = Table::new(
        "auth-log",
        t.auth_log,
        &[
            t.time, t.user, t.mac, t.ip, t.nas, t.ap, t.ssid, t.method, t.outcome, t.reason,
        ],
        table_rows,
        t.none,
    );
    let qs = q.query_string();
    if rows.len() as i64 == PAGE_ROWS {
        if let Some(last) = rows.last() {
            table.next = Some(format!("/logs?{qs}&before={}", last.id));
        }
    }
    table.export = Some(format!("/logs/auth-log.csv?{qs}"));
    sections.push(Section::Table(table));
    // Accounting: searched on the sessions page, exported here too.
    let mut links = vec![(
        "/sessions.csv?all=1".to_string(),
        format!("{} · {}", t.accounting, t.export_csv),
    )];
    if c.may(Permission::ReadSessions) {
        links.insert(0, ("/sessions?all=1".to_string(), t.accounting.to_string()));
    }
    sections.push(Section::Links(links));
    if c.may(Permission::ExportRealName) {
        sections.push(Section::notice(t.real_name_hint));
        let mut form = FormView::filter(
            "real-name",
            "/logs/real-name.csv",
            vec![
                Field::new("date", "since", t.since, &val(&q.since)).required(),
                Field::new("date", "until", t.until, &val(&q.until)).required(),
            ],
            t.real_name,
        );
        form.title = t.real_name.to_string();
        sections.push(Section::Form(form));
    }
    Ok(render(&c, t.nav_logs, "/logs", sections))
}

// --- Vouchers -----------------------------------------------------------------------

pub async fn vouchers(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    vouchers_page(&state, &c, Vec::new()).await
}

async fn vouchers_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let batches = state.store.vouchers().batches().await.page(c)?;
    let rows = batches
        .iter()
        .map(|b| {
            Row::new(vec![
                Cell::link(b.id.to_string(), format!("/vouchers/{}/print", b.id)),
                Cell::text(time(b.created_at)),
                Cell::text(duration_s(b.duration_s)),
                Cell::text(b.devices.to_string()),
                Cell::text(time(b.expires_at)),
                Cell::text(b.groups.join(", ")),
                Cell::text(&b.note),
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "batches",
        t.vouchers,
        &[
            t.batch,
            t.created,
            t.session_length,
            t.devices,
            t.expires,
            t.groups,
            t.description,
        ],
        rows,
        t.none,
    )));
    sections.push(Section::Form(FormView::post(
        "voucher-create",
        t.create_batch,
        "/vouchers",
        vec![
            Field::new("number", "count", t.count, "10").required(),
            Field::new("text", "duration", t.session_length, "4h").required(),
            Field::new("text", "valid", t.valid_for, "7d").required(),
            Field::new("number", "devices", t.devices, "1"),
            Field::new("text", "group", t.group, ""),
            Field::new("text", "note", t.description, ""),
        ],
        t.create_batch,
    )));
    Ok(render(c, t.nav_vouchers, "/vouchers", sections))
}

#[derive(Deserialize)]
pub struct VoucherForm {
    count: String,
    duration: String,
    valid: String,
    #[serde(default)]
    devices: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    note: String,
}

pub async fn voucher_create(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<VoucherForm>,
) -> PageResult {
    let t = c.lang.texts();
    let parsed = (|| -> Result<(usize, i64, i64, i64), String> {
        let count: usize = f
            .count
            .trim()
            .parse()
            .map_err(|_| format!("count {:?}", f.count))?;
        if !(1..=1000).contains(&count) {
            return Err("count must be 1 to 1000".into());
        }
        let d = humantime::parse_duration(f.duration.trim())
            .map_err(|e| format!("{}: {e}", t.session_length))?;
        let v = humantime::parse_duration(f.valid.trim())
            .map_err(|e| format!("{}: {e}", t.valid_for))?;
        let devices: i64 = if f.devices.trim().is_empty() {
            1
        } else {
            f.devices
                .trim()
                .parse()
                .map_err(|_| format!("devices {:?}", f.devices))?
        };
        if !(1..=100).contains(&devices) {
            return Err("devices must be 1 to 100".into());
        }
        let days = |d: std::time::Duration| d.as_secs() <= 400 * 86_400;
        if d.is_zero() || v.is_zero() || !days(d) || !days(v) {
            return Err("durations must be more than 0 and at most 400 days".into());
        }
        Ok((count, d.as_secs() as i64, v.as_millis() as i64, devices))
    })();
    let notice = match parsed {
        Err(e) => user_error(t, WebError::BadRequest(e.to_string()))?,
        Ok((count, duration_s, valid_ms, devices)) => {
            let codes: Vec<String> = (0..count)
                .map(|_| crate::portal::vouchers::generate_code())
                .collect();
            let batch = crate::store::vouchers::NewBatch {
                duration_s,
                devices,
                expires_at: state.now_ms() + valid_ms,
                note: f.note.trim().to_string(),
                // Only who may change the network picks the vouchers'
                // group (its VLAN and policy); others get the default.
                groups: opt_field(&f.group)
                    .filter(|_| c.may(Permission::ManageNetwork))
                    .into_iter()
                    .collect(),
            };
            match state
                .store
                .vouchers()
                .create_batch(&batch, &codes, state.now_ms())
                .await
            {
                Ok(b) => {
                    record(
                        &state,
                        &c,
                        "voucher.create",
                        &b.id.to_string(),
                        Outcome::Ok,
                        json!({"count": count, "duration_s": duration_s, "devices": devices}),
                    )
                    .await
                    .page(&c)?;
                    Section::notice(format!("{} {} · {} {}", t.batch, b.id, t.count, count))
                }
                Err(e) => user_error(t, e.into())?,
            }
        }
    };
    vouchers_page(&state, &c, vec![notice]).await
}

pub async fn voucher_print(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<i64>,
) -> PageResult {
    let t = c.lang.texts();
    let batch = state
        .store
        .vouchers()
        .batch(id)
        .await
        .page(&c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("batch {id}")), c.lang))?;
    let codes = state.store.vouchers().codes(id).await.page(&c)?;
    record(
        &state,
        &c,
        "voucher.print",
        &id.to_string(),
        Outcome::Ok,
        json!({"codes": codes.len()}),
    )
    .await
    .page(&c)?;
    let rows = codes
        .iter()
        .map(|v| {
            Row::new(vec![
                Cell::text(&v.code),
                Cell::text(duration_s(batch.duration_s)),
                Cell::text(time(batch.expires_at)),
                Cell::text(format!("{}/{}", v.devices_used, batch.devices)),
            ])
        })
        .collect();
    let sections = vec![Section::Table(Table::new(
        "codes",
        &format!("{} {id}", t.batch),
        &[t.vouchers, t.session_length, t.expires, t.devices],
        rows,
        t.none,
    ))];
    Ok(render(&c, t.print, "/vouchers", sections))
}

// --- Administrators ------------------------------------------------------------------

pub async fn admins(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    admins_page(&state, &c, Vec::new()).await
}

fn role_options(t: &'static super::i18n::Texts, separation: bool) -> Vec<(String, String)> {
    let mut roles = vec![
        AdminRole::System,
        AdminRole::Security,
        AdminRole::Audit,
        AdminRole::Operator,
    ];
    if !separation {
        roles.insert(0, AdminRole::Admin);
    }
    roles
        .into_iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                super::views::role_label(t, r).to_string(),
            )
        })
        .collect()
}

async fn admins_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let list = state.store.admins().list().await.page(c)?;
    let rows = list
        .iter()
        .map(|a| {
            let n = urlenc(&a.username);
            let mut actions = vec![
                RowAction::danger(
                    t.reset_password,
                    format!("/admins/{n}/reset-password"),
                    t.reset_password,
                ),
                RowAction::danger(
                    t.reset_totp,
                    format!("/admins/{n}/reset-totp"),
                    t.reset_totp,
                ),
            ];
            if a.username != c.username {
                actions.push(if a.disabled {
                    RowAction::post(t.enable, format!("/admins/{n}/enable"))
                } else {
                    RowAction::danger(t.disable, format!("/admins/{n}/disable"), t.disable)
                });
            }
            Row {
                cells: vec![
                    Cell::text(&a.username),
                    Cell::text(super::views::role_label(t, a.role)),
                    Cell::text(if a.totp_secret.is_some() { t.yes } else { t.no }),
                    if a.disabled {
                        Cell::tone(t.disabled, "bad")
                    } else {
                        Cell::tone(t.enabled, "ok")
                    },
                    Cell::text(opt_time(a.last_sign_in_at)),
                ],
                actions,
            }
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "admins",
        t.admins,
        &[t.username, t.role, t.totp, t.status, t.last_sign_in],
        rows,
        t.none,
    )));
    let tokens = state.store.admin_sessions().tokens(None).await.page(c)?;
    let trows = tokens
        .iter()
        .map(|k| Row {
            cells: vec![
                Cell::text(&k.username),
                Cell::text(&k.name),
                Cell::text(time(k.created_at)),
                Cell::text(opt_time(k.expires_at)),
                Cell::text(opt_time(k.last_used_at)),
                Cell::text(opt_time(k.revoked_at)),
            ],
            actions: if k.revoked_at.is_none() {
                vec![RowAction::danger(
                    t.revoke,
                    format!(
                        "/admins/{}/tokens/{}/revoke",
                        urlenc(&k.username),
                        urlenc(&k.name)
                    ),
                    t.revoke,
                )]
            } else {
                Vec::new()
            },
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "tokens",
        t.tokens,
        &[
            t.username,
            t.name,
            t.created,
            t.expires,
            t.last_sign_in,
            t.revoke,
        ],
        trows,
        t.none,
    )));
    let live = state
        .store
        .admin_sessions()
        .list(state.now_ms(), state.idle_ms())
        .await
        .page(c)?;
    sections.push(Section::Table(Table::new(
        "admin-sessions",
        t.sessions_live,
        &[t.username, t.status, t.origin, t.created, t.time],
        live.iter()
            .map(|s| {
                Row::new(vec![
                    Cell::text(&s.username),
                    Cell::text(s.stage.as_str()),
                    Cell::text(opt(&s.ip)),
                    Cell::text(time(s.created_at)),
                    Cell::text(time(s.last_seen_at)),
                ])
            })
            .collect(),
        t.none,
    )));
    sections.push(Section::Form(FormView::post(
        "admin-add",
        t.add,
        "/admins",
        vec![
            Field::new("text", "username", t.username, "").required(),
            Field::select(
                "role",
                t.role,
                "operator",
                role_options(t, state.config.admin.role_separation),
            ),
        ],
        t.add,
    )));
    let names: Vec<(String, String)> = list
        .iter()
        .map(|a| (a.username.clone(), a.username.clone()))
        .collect();
    sections.push(Section::Form(FormView::post(
        "admin-role",
        t.role,
        "/admins/-/role",
        vec![
            Field::select("username", t.username, "", names.clone()),
            Field::select(
                "role",
                t.role,
                "operator",
                role_options(t, state.config.admin.role_separation),
            ),
        ],
        t.save,
    )));
    Ok(render(c, t.nav_admins, "/admins", sections))
}

#[derive(Deserialize)]
pub struct AdminAddForm {
    username: String,
    role: String,
}

pub async fn admin_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<AdminAddForm>,
) -> PageResult {
    let t = c.lang.texts();
    let notice = match AdminRole::parse(&f.role) {
        Err(e) => user_error(t, WebError::BadRequest(e.to_string()))?,
        Ok(role) => {
            let password = temporary_password();
            match state
                .accounts
                .add(&c.actor(), f.username.trim(), role, &password)
                .await
            {
                Ok(()) => Section::Secret {
                    label: format!("{}: {}", f.username.trim(), t.temporary_password),
                    value: password,
                },
                Err(e) => user_error(t, e.into())?,
            }
        }
    };
    admins_page(&state, &c, vec![notice]).await
}

/// A temporary password that meets the administrator password rules.
fn temporary_password() -> String {
    let r = crate::admin::accounts::random_secret();
    format!("Tmp-{}-{}x", &r[..8].to_uppercase(), &r[8..20])
}

pub async fn admin_reset_password(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let password = temporary_password();
    state
        .accounts
        .set_password(&c.actor(), &name, &password, true)
        .await
        .page(&c)?;
    admins_page(
        &state,
        &c,
        vec![Section::Secret {
            label: format!("{name}: {}", t.temporary_password),
            value: password,
        }],
    )
    .await
}

pub async fn admin_reset_totp(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    state
        .accounts
        .reset_totp(&c.actor(), &name)
        .await
        .page(&c)?;
    admins_page(&state, &c, vec![Section::notice(t.done)]).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    username: String,
    role: String,
}

pub async fn admin_set_role(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<RoleForm>,
) -> PageResult {
    let t = c.lang.texts();
    let name = if name == "-" {
        f.username.clone()
    } else {
        name
    };
    let notice = match AdminRole::parse(&f.role) {
        Err(e) => user_error(t, WebError::BadRequest(e.to_string()))?,
        Ok(role) => match state.accounts.set_role(&c.actor(), &name, role).await {
            Ok(()) => Section::notice(t.saved),
            Err(e) => user_error(t, e.into())?,
        },
    };
    admins_page(&state, &c, vec![notice]).await
}

async fn set_admin_disabled(
    state: &AdminState,
    c: &Caller,
    name: &str,
    disabled: bool,
) -> PageResult {
    let t = c.lang.texts();
    let notice = match state
        .accounts
        .set_disabled(&c.actor(), name, disabled)
        .await
    {
        Ok(()) => Section::notice(t.saved),
        Err(e) => user_error(t, e.into())?,
    };
    admins_page(state, c, vec![notice]).await
}

pub async fn admin_enable(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    set_admin_disabled(&state, &c, &name, false).await
}

pub async fn admin_disable(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    set_admin_disabled(&state, &c, &name, true).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    #[serde(default)]
    expires: String,
}

/// The longest an API token made in the dashboard lives.
const TOKEN_MAX_DAYS: u64 = 365;

/// `GET /account`: the caller's own API tokens (every role).
pub async fn account(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    account_page(&state, &c, Vec::new()).await
}

async fn account_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let tokens = state
        .store
        .admin_sessions()
        .tokens(Some(&c.username))
        .await
        .page(c)?;
    let rows = tokens
        .iter()
        .map(|k| Row {
            cells: vec![
                Cell::text(&k.name),
                Cell::text(time(k.created_at)),
                Cell::text(opt_time(k.expires_at)),
                Cell::text(opt_time(k.last_used_at)),
                Cell::text(opt_time(k.revoked_at)),
            ],
            actions: if k.revoked_at.is_none() {
                vec![RowAction::danger(
                    t.revoke,
                    format!("/account/tokens/{}/revoke", urlenc(&k.name)),
                    t.revoke,
                )]
            } else {
                Vec::new()
            },
        })
        .collect();
    sections.push(Section::Pairs {
        title: String::new(),
        rows: vec![
            (t.username.into(), c.username.clone()),
            (t.role.into(), super::views::role_label(t, c.role).into()),
        ],
    });
    sections.push(Section::Table(Table::new(
        "my-tokens",
        t.tokens,
        &[t.name, t.created, t.expires, t.last_sign_in, t.revoke],
        rows,
        t.none,
    )));
    sections.push(Section::Form(FormView::post(
        "token-create",
        t.tokens,
        "/account/tokens",
        vec![
            Field::new("text", "name", t.name, "").required(),
            Field::new("text", "expires", t.expires, "90d")
                .required()
                .hint(t.token_expiry_hint),
        ],
        t.add,
    )));
    sections.push(Section::Links(vec![(
        "/api/docs".into(),
        t.api_docs.into(),
    )]));
    Ok(render(c, t.nav_account, "/account", sections))
}

/// `POST /account/tokens`: an API token for the caller only (a token for
/// someone else would let its maker act as them without their factors).
pub async fn account_token_create(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<TokenForm>,
) -> PageResult {
    let t = c.lang.texts();
    let now = state.now_ms();
    let expires = humantime::parse_duration(f.expires.trim())
        .map_err(|e| e.to_string())
        .and_then(|d| {
            if d.is_zero() || d.as_secs() > TOKEN_MAX_DAYS * 86_400 {
                Err(format!("{} {}", t.expires, t.token_expiry_hint))
            } else {
                Ok(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
            }
        });
    let notice = match expires {
        Err(e) => Section::error(format!("{}{e}", t.err_input)),
        Ok(expires_at) => match state
            .accounts
            .create_token(
                &c.actor(),
                &c.username,
                f.name.trim(),
                now,
                Some(expires_at),
            )
            .await
        {
            Ok((token, _)) => Section::Secret {
                label: format!("{}: {}", f.name.trim(), t.token_once),
                value: token,
            },
            Err(e) => user_error(t, e.into())?,
        },
    };
    account_page(&state, &c, vec![notice]).await
}

pub async fn account_token_revoke(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(token): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    state
        .accounts
        .revoke_token(&c.actor(), &c.username, &token, state.now_ms())
        .await
        .page(&c)?;
    account_page(&state, &c, vec![Section::notice(t.done)]).await
}

/// A refusal to show on the page (bad input, conflict, missing); an
/// internal failure stays an error page whose detail is only in the log.
fn user_error(t: &super::i18n::Texts, e: WebError) -> Result<Section, PageError> {
    if e.status() == StatusCode::INTERNAL_SERVER_ERROR {
        let lang = if std::ptr::eq(t, super::i18n::Lang::En.texts()) {
            super::i18n::Lang::En
        } else {
            super::i18n::Lang::Zh
        };
        return Err(PageError(e, lang));
    }
    Ok(Section::error(format!("{}{e}", t.err_input)))
}

pub async fn admin_token_revoke(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path((name, token)): Path<(String, String)>,
) -> PageResult {
    let t = c.lang.texts();
    state
        .accounts
        .revoke_token(&c.actor(), &name, &token, state.now_ms())
        .await
        .page(&c)?;
    admins_page(&state, &c, vec![Section::notice(t.done)]).await
}

// --- Audit ------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    before: Option<i64>,
    #[serde(default)]
    verify: Option<String>,
}

pub async fn audit(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<AuditPageQuery>,
) -> PageResult {
    let t = c.lang.texts();
    let mut sections = Vec::new();
    if q.verify.as_deref() == Some("1") {
        let report = state.store.audit().verify().await.page(&c)?;
        sections.push(match report.broken {
            None => Section::notice(format!("{} ({})", t.chain_ok, report.rows)),
            Some((seq, why)) => Section::error(format!("{} {seq} ({why})", t.chain_broken)),
        });
    }
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    sections.push(Section::Form(FormView::filter(
        "audit-filter",
        "/audit",
        vec![
            Field::new("text", "actor", t.actor, &val(&q.actor)),
            Field::new("text", "action", t.action, &val(&q.action))
                .hint("admin.*, session.disconnect"),
            Field::new("date", "since", t.since, &val(&q.since)),
        ],
        t.filter,
    )));
    let query = crate::store::audit::AuditQuery {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        since_ms: nonempty(&q.since).and_then(|d| parse_day(&d)),
        before_seq: q.before,
        limit: PAGE_ROWS,
        ..Default::default()
    };
    let rows = state.store.audit().search(&query).await.page(&c)?;
    let trows = rows
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::text(r.seq.to_string()),
                Cell::text(time(r.at_ms)),
                Cell::text(format!("{} ({})", r.actor, r.role)),
                Cell::text(&r.origin),
                Cell::text(&r.action),
                Cell::text(&r.target),
                Cell::tone(&r.outcome, if r.outcome == "ok" { "ok" } else { "bad" }),
                Cell::text(&r.summary),
            ])
        })
        .collect();
    let mut table = Table::new(
        "audit",
        t.audit,
        &[
            "#", t.time, t.actor, t.origin, t.action, t.target, t.outcome, t.summary,
        ],
        trows,
        t.none,
    );
    let qs = format!(
        "actor={}&action={}&since={}",
        urlenc(&val(&q.actor)),
        urlenc(&val(&q.action)),
        urlenc(&val(&q.since))
    );
    if rows.len() as i64 == PAGE_ROWS {
        if let Some(last) = rows.last() {
            table.next = Some(format!("/audit?{qs}&before={}", last.seq));
        }
    }
    table.export = Some(format!("/audit.csv?{qs}"));
    sections.push(Section::Table(table));
    sections.push(Section::Links(vec![(
        "/audit?verify=1".into(),
        t.verify_chain.into(),
    )]));
    Ok(render(&c, t.nav_audit, "/audit", sections))
}

// --- Settings ------------------------------------------------------------------------

/// The effective configuration as TOML with every secret masked.
pub fn masked_config(config: &crate::config::Config) -> String {
    fn mask(v: &mut toml::Value, key: &str) {
        const SECRET_WORDS: [&str; 7] = [
            "secret",
            "password",
            "token",
            "key",
            "community",
            "pass",
            "private",
        ];
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t.iter_mut() {
                    mask(v, k);
                }
            }
            toml::Value::Array(a) => {
                for v in a.iter_mut() {
                    mask(v, key);
                }
            }
            toml::Value::String(s) => {
                let k = key.to_ascii_lowercase();
                // A webhook's address (its path is often the credential)
                // and a URL's user info (postgres://user:pass@host).
                if k.contains("webhook") && !s.is_empty() {
                    *s = "********".into();
                    return;
                }
                if let Some((scheme, rest)) = s.split_once("://") {
                    if let Some((_, host)) = rest.rsplit_once('@') {
                        *s = format!("{scheme}://********@{host}");
                        return;
                    }
                }
                let path_like = k.ends_with("_file") || k.ends_with("_path") || k.contains("cert");
                if !s.is_empty() && !path_like && SECRET_WORDS.iter().any(|w| k.contains(w)) {
                    *s = "********".into();
                }
            }
            _ => {}
        }
    }
    let mut v = match toml::Value::try_from(config) {
        Ok(v) => v,
        Err(e) => return format!("# cannot show the configuration: {e}"),
    };
    mask(&mut v, "");
    toml::to_string_pretty(&v).unwrap_or_default()
}

pub async fn settings(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    let t = c.lang.texts();
    let sections = vec![
        Section::Code {
            title: t.settings.to_string(),
            text: masked_config(&state.config),
        },
        Section::Links(vec![("/api/docs".into(), t.api_docs.into())]),
    ];
    Ok(render(&c, t.nav_settings, "/settings", sections))
}
