//! Coverage in the dashboard: the floors list, a floor's map (plan,
//! heatmap, walls, rooms, holes, APs, measured points) with its KPIs,
//! holes, rooms and suggested channel plan, the forms that place APs and
//! draw walls on it (a click on the map fills them, admin.js), and the
//! printable report (one page per floor) that `portico coverage report`
//! writes too.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::floors::{
    audit, calibrate_floor, coverage_of, floor_id, image_size, record_point, MAX_PLAN_BYTES,
};
use super::i18n::{Lang, Texts};
use super::views::{Cell, Field, Form as FormView, Frame, PageView, Row, Section, Table};
use super::{AdminState, Caller, PageError, WebError};
use crate::admin::roles::Permission;
use crate::config::CoverageConfig;
use crate::coverage::service::{self, Band, FloorCoverage, Hole, Kpi, Metric, Site};
use crate::store::floors::{AreaKind, Floor, FloorWall, NewFloor, Placement, SurveyPoint};
use crate::store::Store;

type PageResult = Result<Response, PageError>;

trait OrPage<T> {
    fn page(self, c: &Caller) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn page(self, c: &Caller) -> Result<T, PageError> {
        self.map_err(|e| PageError(e.into(), c.lang))
    }
}

/// Materials offered in the wall form.
const MATERIALS: [&str; 7] = [
    "drywall",
    "glass",
    "wood",
    "brick",
    "concrete",
    "metal",
    "elevator-shaft",
];

/// Text for SVG and HTML: `& < > " '` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// What a map shows.
pub struct MapLayers<'a> {
    pub floor: &'a Floor,
    pub plan_href: Option<String>,
    pub heat_href: Option<String>,
    /// APs on this floor.
    pub sites: Vec<&'a Site>,
    pub holes: &'a [Hole],
    /// Measured points with the model's value at each.
    pub points: &'a [(SurveyPoint, Option<f64>)],
    pub label: String,
}

/// The floor as SVG in metres (viewBox = the floor), for the dashboard
/// and the report. Every text is escaped here.
pub fn map_svg(m: &MapLayers) -> String {
    let f = m.floor;
    let (w, h) = (f.width_m, f.height_m);
    let unit = w.max(h) / 100.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="floormap" viewBox="0 0 {w} {h}" data-floor="{}" role="img" aria-label="{}">"#,
        f.id,
        escape(&m.label)
    );
    match &m.plan_href {
        Some(href) => {
            let _ = write!(
                s,
                r#"<image href="{}" x="0" y="0" width="{w}" height="{h}" preserveAspectRatio="none"/>"#,
                escape(href)
            );
        }
        None => {
            let _ = write!(
                s,
                r#"<rect class="plan-none" x="0" y="0" width="{w}" height="{h}"/>"#
            );
        }
    }
    if let Some(href) = &m.heat_href {
        let _ = write!(
            s,
            r#"<image class="heat" href="{}" x="0" y="0" width="{w}" height="{h}" preserveAspectRatio="none" opacity="0.7"/>"#,
            escape(href)
        );
    }
    let pts = |p: &[(f64, f64)]| {
        p.iter()
            .map(|(x, y)| format!("{x:.2},{y:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for a in &f.areas {
        let class = match a.kind {
            AreaKind::Outline => "outline",
            AreaKind::Excluded => "excluded",
            AreaKind::Room => "room",
        };
        let _ = write!(
            s,
            r#"<polygon class="{class}" points="{}" stroke-width="{:.3}"/>"#,
            pts(&a.points),
            unit * 0.15
        );
        if a.kind == AreaKind::Room {
            let n = a.points.len().max(1) as f64;
            let cx = a.points.iter().map(|p| p.0).sum::<f64>() / n;
            let cy = a.points.iter().map(|p| p.1).sum::<f64>() / n;
            let label = match a.seats {
                Some(seats) => format!("{} ({seats})", a.name),
                None => a.name.clone(),
            };
            let _ = write!(
                s,
                r#"<text class="room-label" x="{cx:.2}" y="{cy:.2}" font-size="{:.2}" text-anchor="middle" stroke-width="{:.3}">{}</text>"#,
                unit * 1.6,
                unit * 0.3,
                escape(&label)
            );
        }
    }
    for wall in &f.walls {
        let _ = write!(
            s,
            r#"<line class="wall wall-{}" x1="{:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke-width="{:.3}"/>"#,
            escape(&wall.material),
            wall.x1,
            wall.y1,
            wall.x2,
            wall.y2,
            unit * 0.35
        );
    }
    for hole in m.holes {
        let _ = write!(
            s,
            r#"<rect class="hole" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" stroke-width="{:.3}"><title>{:.0} m², {:.0} dBm</title></rect>"#,
            hole.min.0,
            hole.min.1,
            (hole.max.0 - hole.min.0).max(unit),
            (hole.max.1 - hole.min.1).max(unit),
            unit * 0.3,
            hole.area_m2,
            hole.worst_dbm
        );
    }
    for (p, predicted) in m.points {
        let model = predicted.map_or(String::new(), |v| format!(" / {v:.0} dBm"));
        let _ = write!(
            s,
            r#"<circle class="point" cx="{:.2}" cy="{:.2}" r="{:.2}" stroke-width="{:.3}"><title>{} {} GHz {:.0} dBm{}</title></circle>"#,
            p.x,
            p.y,
            unit * 0.6,
            unit * 0.15,
            escape(&p.ap),
            escape(&p.band),
            p.rssi_dbm,
            escape(&model)
        );
    }
    for site in &m.sites {
        let label = match site.clients {
            Some(c) => format!("{} ({c})", site.ap),
            None => site.ap.clone(),
        };
        let _ = write!(
            s,
            r#"<g class="ap {}"><circle cx="{:.2}" cy="{:.2}" r="{:.2}" stroke-width="{:.3}"/><text x="{:.2}" y="{:.2}" font-size="{:.2}" stroke-width="{:.3}">{}</text></g>"#,
            escape(&site.status),
            site.x,
            site.y,
            unit * 1.0,
            unit * 0.25,
            site.x + unit * 1.4,
            site.y + unit * 0.5,
            unit * 1.8,
            unit * 0.35,
            escape(&label)
        );
    }
    let _ = write!(
        s,
        r#"<circle class="clicked" cx="0" cy="0" r="{:.2}" stroke-width="{:.3}" visibility="hidden"/></svg>"#,
        unit * 1.2,
        unit * 0.3
    );
    s
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn kpi_row(label: &str, k: &Kpi) -> Vec<String> {
    vec![
        label.to_string(),
        format!("{:.0}", k.area_m2),
        pct(k.primary),
        pct(k.roaming),
        pct(k.snr),
        k.worst_contention.to_string(),
    ]
}

fn kpi_columns(t: &Texts) -> [&'static str; 6] {
    [
        t.cov_band,
        t.cov_area,
        t.cov_primary,
        t.cov_roaming,
        t.cov_snr_share,
        t.cov_worst_contention,
    ]
}

fn metric_label(t: &Texts, m: &str) -> &'static str {
    match m {
        "second" => t.cov_second,
        "snr" => t.cov_snr,
        "contention" => t.cov_contention,
        "ap" => t.cov_serving,
        _ => t.cov_signal,
    }
}

// --- Floors list --------------------------------------------------------------

pub async fn coverage_home(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    home_page(&state, &c, Vec::new()).await
}

async fn home_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let floors = state.store.floors().list().await.page(c)?;
    let mut rows = Vec::new();
    for f in &floors {
        let placed = state
            .store
            .floors()
            .placements_in_building(f.building_id)
            .await
            .page(c)?
            .iter()
            .filter(|p| p.placement.floor == f.id)
            .count();
        rows.push(Row::new(vec![
            Cell::text(&f.building),
            Cell::link(&f.name, format!("/coverage/{}", f.id)),
            Cell::text(f.level.to_string()),
            Cell::text(format!("{:.0} × {:.0}", f.width_m, f.height_m)),
            Cell::text(placed.to_string()),
        ]));
    }
    sections.push(Section::Table(Table::new(
        "floors",
        t.cov_floors,
        &[
            t.cov_building,
            t.cov_floor,
            t.cov_level,
            t.cov_size,
            t.cov_aps_placed,
        ],
        rows,
        t.cov_no_floors,
    )));
    if c.may(Permission::ManageNetwork) {
        sections.push(Section::Form(FormView::post(
            "floor-add",
            t.cov_add_floor,
            "/coverage",
            vec![
                Field::new("text", "building", t.cov_building, "").required(),
                Field::new("text", "name", t.cov_floor, "").required(),
                Field::new("number", "level", t.cov_level, "1").required(),
                Field::new("number", "width_m", t.cov_width, "40").required(),
                Field::new("number", "height_m", t.cov_height, "20").required(),
            ],
            t.cov_add_floor,
        )));
    }
    sections.push(Section::notice(t.cov_model));
    Ok(PageView::new(Frame::signed_in(c, t.nav_coverage, "/coverage"), sections).into_response())
}

#[derive(Deserialize)]
pub struct FloorForm {
    building: String,
    name: String,
    level: String,
    width_m: String,
    height_m: String,
}

fn number(what: &str, v: &str) -> Result<f64, WebError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| WebError::BadRequest(format!("{what}: {v:?} is not a number")))
}

/// The floor's page after a form: the outcome as a notice (an input
/// error shown on the page, an internal one as the error page).
async fn after_form<T>(
    state: &AdminState,
    c: &Caller,
    id: i64,
    result: Result<T, WebError>,
    done: &str,
) -> PageResult {
    let notice = match result {
        Ok(_) => Section::notice(done),
        Err(e) => input_error(c.lang.texts(), c, e)?,
    };
    floor_view(state, c, id, &MapQuery::default(), vec![notice]).await
}

fn input_error(t: &Texts, c: &Caller, e: WebError) -> Result<Section, PageError> {
    if e.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return Err(PageError(e, c.lang));
    }
    Ok(Section::error(format!("{}{e}", t.err_input)))
}

pub async fn floor_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<FloorForm>,
) -> PageResult {
    let t = c.lang.texts();
    let result = async {
        let new = NewFloor {
            building: f.building.trim().to_string(),
            name: f.name.trim().to_string(),
            level: number("level", &f.level)? as i64,
            width_m: number("width_m", &f.width_m)?,
            height_m: number("height_m", &f.height_m)?,
            storey_height_m: 3.5,
        };
        let floor = state.store.floors().add(&new).await?;
        audit(
            &state,
            &c,
            "floor.add",
            &format!("{}/{}", floor.building, floor.name),
            json!({"id": floor.id}),
        )
        .await?;
        Ok::<_, WebError>(floor)
    }
    .await;
    match result {
        Ok(floor) => {
            Ok(axum::response::Redirect::to(&format!("/coverage/{}", floor.id)).into_response())
        }
        Err(e) => {
            let notice = input_error(t, &c, e)?;
            home_page(&state, &c, vec![notice]).await
        }
    }
}

// --- One floor ------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct MapQuery {
    band: Option<String>,
    metric: Option<String>,
}

pub async fn floor_page(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<MapQuery>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    floor_view(&state, &c, id, &q, Vec::new()).await
}

async fn floor_view(
    state: &AdminState,
    c: &Caller,
    id: i64,
    q: &MapQuery,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let band_s = q.band.clone().unwrap_or_else(|| "5".into());
    let metric_s = q.metric.clone().unwrap_or_else(|| "rssi".into());
    let band = Band::parse(&band_s).unwrap_or(Band::B5g);
    let metric_s = if Metric::parse(&metric_s).is_some() {
        metric_s
    } else {
        "rssi".to_string()
    };
    let cov = coverage_of(state, id).await.page(c)?;
    let floor = &cov.model.floor;
    let points: Vec<(SurveyPoint, Option<f64>)> = state
        .store
        .floors()
        .points(id)
        .await
        .page(c)?
        .into_iter()
        .map(|p| {
            let predicted = service::predicted_at(&cov.model, &p.ap, &p.band, (p.x, p.y));
            (p, predicted)
        })
        .collect();
    let holes = cov.holes(band);
    let has_plan = floor.plan_type.is_some();
    let label = format!(
        "{} / {} · {} GHz · {}",
        floor.building,
        floor.name,
        service::band_label(band),
        metric_label(t, &metric_s)
    );
    let svg = map_svg(&MapLayers {
        floor,
        plan_href: has_plan.then(|| format!("/coverage/{id}/plan")),
        heat_href: Some(format!(
            "/coverage/{id}/heatmap.png?band={}&metric={}&v={}",
            service::band_label(band),
            metric_s,
            floor.updated_at
        )),
        sites: cov.model.sites.iter().filter(|s| s.floor == id).collect(),
        holes: &holes,
        points: &points,
        label: label.clone(),
    });
    sections.push(Section::Form(FormView::filter(
        "map-filter",
        &format!("/coverage/{id}"),
        vec![
            Field::select(
                "band",
                t.cov_band,
                service::band_label(band),
                vec![
                    ("2.4".into(), "2.4 GHz".into()),
                    ("5".into(), "5 GHz".into()),
                    ("6".into(), "6 GHz".into()),
                ],
            ),
            Field::select(
                "metric",
                t.cov_metric,
                &metric_s,
                ["rssi", "second", "snr", "contention", "ap"]
                    .iter()
                    .map(|m| ((*m).to_string(), metric_label(t, m).to_string()))
                    .collect(),
            ),
        ],
        t.cov_show,
    )));
    sections.push(Section::FloorMap { title: label, svg });
    sections.push(Section::Links(vec![
        (format!("/coverage/{id}/report"), t.cov_report.to_string()),
        (
            format!(
                "/coverage/{id}/channel-plan.csv?band={}",
                service::band_label(band)
            ),
            format!("{} (CSV)", t.cov_channel_plan),
        ),
    ]));
    let kpis: Vec<Row> = cov
        .bands_present()
        .into_iter()
        .map(|b| {
            Row::new(
                kpi_row(&format!("{} GHz", service::band_label(b)), &cov.kpi(b))
                    .into_iter()
                    .map(Cell::text)
                    .collect(),
            )
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "kpi",
        t.cov_kpi,
        &kpi_columns(t),
        kpis,
        t.none,
    )));
    let hole_rows: Vec<Row> = holes
        .iter()
        .map(|h| {
            Row::new(vec![
                Cell::text(format!("{:.0}", h.area_m2)),
                Cell::text(format!("{:.1}, {:.1}", h.centroid.0, h.centroid.1)),
                Cell::tone(format!("{:.0} dBm", h.worst_dbm), "bad"),
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "holes",
        t.cov_holes,
        &[t.cov_area, t.cov_centre, t.cov_worst],
        hole_rows,
        t.none,
    )));
    let rooms: Vec<Row> = cov
        .rooms()
        .into_iter()
        .map(|r| {
            let k = r
                .bands
                .get(service::band_label(band))
                .copied()
                .unwrap_or_default();
            Row::new(vec![
                Cell::text(&r.name),
                Cell::text(r.seats.map_or("-".into(), |s| s.to_string())),
                Cell::text(r.aps.join(", ")),
                Cell::text(pct(k.primary)),
                match &r.hint {
                    Some(h) => Cell::tone(h, "warn"),
                    None => Cell::text("-"),
                },
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "rooms",
        t.cov_rooms,
        &[t.name, t.cov_seats, t.nav_aps, t.cov_primary, t.cov_hint],
        rooms,
        t.none,
    )));
    let region = state.config.coverage.region.clone();
    let plan = tokio::task::block_in_place(|| cov.channel_plan(band, 20, false, &region));
    if let Ok(plan) = plan {
        let rows: Vec<Row> = plan
            .channels
            .entries
            .iter()
            .map(|e| {
                let p = plan.power.iter().find(|p| p.ap == e.ap);
                let suggested = p.map_or("-".into(), |p| format!("{:.0}", p.suggested_dbm));
                let power_changed = p.is_some_and(|p| p.current_dbm != Some(p.suggested_dbm));
                Row::new(vec![
                    Cell::text(&e.ap),
                    Cell::text(e.current_channel.map_or("-".into(), |c| c.to_string())),
                    if e.changed {
                        Cell::tone(e.channel.to_string(), "warn")
                    } else {
                        Cell::text(e.channel.to_string())
                    },
                    Cell::text(
                        p.and_then(|p| p.current_dbm)
                            .map_or("-".into(), |v| format!("{v:.0}")),
                    ),
                    if power_changed {
                        Cell::tone(suggested, "warn")
                    } else {
                        Cell::text(suggested)
                    },
                ])
            })
            .collect();
        let title = format!(
            "{} · {} GHz · {} {} → {} · {} {} → {}",
            t.cov_channel_plan,
            service::band_label(band),
            t.cov_primary,
            pct(plan.kpi_before.primary),
            pct(plan.kpi_after.primary),
            t.cov_worst_contention,
            plan.kpi_before.worst_contention,
            plan.kpi_after.worst_contention
        );
        sections.push(Section::Table(Table::new(
            "channel-plan",
            &title,
            &[
                "AP",
                &format!("{} {}", t.cov_current, t.cov_channel),
                &format!("{} {}", t.cov_suggested, t.cov_channel),
                &format!("{} {}", t.cov_current, t.cov_power),
                &format!("{} {}", t.cov_suggested, t.cov_power),
            ],
            rows,
            t.none,
        )));
    }
    let point_rows: Vec<Row> = points
        .iter()
        .rev()
        .take(50)
        .map(|(p, predicted)| {
            Row::new(vec![
                Cell::text(format!("{:.1}, {:.1}", p.x, p.y)),
                Cell::text(&p.ap),
                Cell::text(format!("{} GHz", p.band)),
                Cell::text(format!("{:.0} dBm", p.rssi_dbm)),
                Cell::text(predicted.map_or("-".into(), |v| format!("{v:.0} dBm"))),
                Cell::text(&p.source),
            ])
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "points",
        t.cov_points,
        &[
            t.cov_centre,
            "AP",
            t.cov_band,
            t.cov_signal,
            t.cov_predicted,
            t.cov_survey,
        ],
        point_rows,
        t.none,
    )));
    if c.may(Permission::ManageNetwork) {
        let aps = state.store.aps().list().await.page(c)?;
        let names: Vec<(String, String)> = aps
            .iter()
            .map(|a| (a.spec.name.clone(), a.spec.name.clone()))
            .collect();
        sections.push(Section::Form(FormView::post(
            "place-ap",
            t.cov_place_ap,
            &format!("/coverage/{id}/place"),
            vec![
                Field::select("ap", "AP", "", names.clone()),
                Field::new("text", "x", "x (m)", "")
                    .required()
                    .hint(t.cov_place_hint),
                Field::new("text", "y", "y (m)", "").required(),
                Field::new("text", "z", t.cov_mount_height, "2.8"),
            ],
            t.cov_place_ap,
        )));
        sections.push(Section::Form(FormView::post(
            "add-wall",
            t.cov_add_wall,
            &format!("/coverage/{id}/wall"),
            vec![
                Field::new("text", "x1", "x1 (m)", "")
                    .required()
                    .hint(t.cov_wall_hint),
                Field::new("text", "y1", "y1 (m)", "").required(),
                Field::new("text", "x2", "x2 (m)", "").required(),
                Field::new("text", "y2", "y2 (m)", "").required(),
                Field::select(
                    "material",
                    t.cov_material,
                    "drywall",
                    MATERIALS
                        .iter()
                        .map(|m| ((*m).to_string(), (*m).to_string()))
                        .collect(),
                ),
            ],
            t.cov_add_wall,
        )));
        sections.push(Section::Form(FormView::post(
            "survey",
            t.cov_survey,
            &format!("/coverage/{id}/points"),
            vec![
                Field::new("text", "x", "x (m)", "")
                    .required()
                    .hint(t.cov_place_hint),
                Field::new("text", "y", "y (m)", "").required(),
                Field::select("ap", "AP", "", names.clone()),
                Field::select(
                    "band",
                    t.cov_band,
                    "5",
                    vec![
                        ("2.4".into(), "2.4 GHz".into()),
                        ("5".into(), "5 GHz".into()),
                        ("6".into(), "6 GHz".into()),
                    ],
                ),
                Field::new("number", "rssi_dbm", t.cov_signal, "").required(),
            ],
            t.cov_points,
        )));
        sections.push(Section::Form(FormView::post(
            "add-area",
            t.cov_add_area,
            &format!("/coverage/{id}/area"),
            vec![
                Field::select(
                    "kind",
                    t.cov_area_kind,
                    "room",
                    vec![
                        ("room".into(), t.cov_kind_room.into()),
                        ("excluded".into(), t.cov_kind_excluded.into()),
                        ("outline".into(), t.cov_kind_outline.into()),
                    ],
                ),
                Field::new("text", "name", t.name, ""),
                Field::new("number", "seats", t.cov_seats, ""),
                Field::new("text", "points", t.cov_corners, "")
                    .required()
                    .hint(t.cov_corners_hint),
            ],
            t.cov_add_area,
        )));
        if !floor.areas.is_empty() {
            sections.push(Section::Form(FormView::post(
                "area-undo",
                "",
                &format!("/coverage/{id}/area/undo"),
                Vec::new(),
                t.cov_remove_last_area,
            )));
        }
        if !floor.walls.is_empty() {
            sections.push(Section::Form(FormView::post(
                "wall-undo",
                "",
                &format!("/coverage/{id}/wall/undo"),
                Vec::new(),
                t.cov_remove_last_wall,
            )));
        }
        let mut upload = FormView::post(
            "plan-upload",
            t.cov_upload_plan,
            &format!("/coverage/{id}/plan"),
            vec![
                Field::new(
                    "file",
                    "file",
                    t.cov_plan_image,
                    "image/png,image/jpeg,image/svg+xml,.svg",
                ),
                Field::new("text", "scale", t.cov_scale, ""),
            ],
            t.cov_upload_plan,
        );
        upload.upload = true;
        sections.push(Section::Form(upload));
        sections.push(Section::Form(FormView::post(
            "calibrate",
            "",
            &format!("/coverage/{id}/calibrate"),
            Vec::new(),
            t.cov_calibrate,
        )));
    }
    Ok(PageView::new(
        Frame::signed_in(
            c,
            &format!("{} · {}", t.nav_coverage, floor.name),
            "/coverage",
        ),
        sections,
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct PlaceForm {
    ap: String,
    x: String,
    y: String,
    #[serde(default)]
    z: String,
}

pub async fn place(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Form(f): Form<PlaceForm>,
) -> PageResult {
    let t = c.lang.texts();
    let id = floor_id(&id).page(&c)?;
    let result = async {
        let p = Placement {
            floor: id,
            x: number("x", &f.x)?,
            y: number("y", &f.y)?,
            z: if f.z.trim().is_empty() {
                2.8
            } else {
                number("z", &f.z)?
            },
            antenna_gain_dbi: 0.0,
            tx_power_dbm: Default::default(),
        };
        state.store.floors().place(&f.ap, &p).await?;
        audit(
            &state,
            &c,
            "ap.place",
            &f.ap,
            json!({"floor": id, "x": p.x, "y": p.y, "z": p.z}),
        )
        .await
    }
    .await;
    after_form(
        &state,
        &c,
        id,
        result,
        &format!("{} {}", t.cov_place_ap, f.ap),
    )
    .await
}

#[derive(Deserialize)]
pub struct WallForm {
    x1: String,
    y1: String,
    x2: String,
    y2: String,
    material: String,
}

pub async fn add_wall(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Form(f): Form<WallForm>,
) -> PageResult {
    let t = c.lang.texts();
    let id = floor_id(&id).page(&c)?;
    let result = async {
        let floor = state
            .store
            .floors()
            .get(id)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("floor {id}")))?;
        let mut walls = floor.walls.clone();
        walls.push(FloorWall {
            x1: number("x1", &f.x1)?,
            y1: number("y1", &f.y1)?,
            x2: number("x2", &f.x2)?,
            y2: number("y2", &f.y2)?,
            material: f.material.clone(),
            loss_db: None,
        });
        service::check_materials(&walls, &floor.materials)?;
        state.store.floors().set_walls(id, &walls).await?;
        audit(
            &state,
            &c,
            "floor.walls",
            &format!("{}/{}", floor.building, floor.name),
            json!({"walls": walls.len()}),
        )
        .await
    }
    .await;
    after_form(&state, &c, id, result, t.cov_add_wall).await
}

#[derive(Deserialize)]
pub struct AreaForm {
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    seats: String,
    points: String,
}

/// `x,y x,y ...` (metres) as points.
pub fn parse_points(text: &str) -> Result<Vec<(f64, f64)>, WebError> {
    text.split_whitespace()
        .map(|pair| {
            let (x, y) = pair
                .split_once(',')
                .ok_or_else(|| WebError::BadRequest(format!("corner {pair:?}: give x,y")))?;
            Ok((number("x", x)?, number("y", y)?))
        })
        .collect()
}

pub async fn add_area(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Form(f): Form<AreaForm>,
) -> PageResult {
    let t = c.lang.texts();
    let id = floor_id(&id).page(&c)?;
    let result = async {
        let floor = state
            .store
            .floors()
            .get(id)
            .await?
            .ok_or_else(|| WebError::NotFound(format!("floor {id}")))?;
        let kind = match f.kind.as_str() {
            "room" => AreaKind::Room,
            "excluded" => AreaKind::Excluded,
            "outline" => AreaKind::Outline,
            other => return Err(WebError::BadRequest(format!("kind {other:?}"))),
        };
        let seats = match f.seats.trim() {
            "" => None,
            s => Some(
                s.parse::<u32>()
                    .map_err(|_| WebError::BadRequest(format!("seats {s:?}")))?,
            ),
        };
        let mut areas = floor.areas.clone();
        // One outline per floor: a new one replaces the old.
        if kind == AreaKind::Outline {
            areas.retain(|a| a.kind != AreaKind::Outline);
        }
        areas.push(crate::store::floors::Area {
            kind,
            name: f.name.trim().to_string(),
            seats,
            points: parse_points(&f.points)?,
        });
        state.store.floors().set_areas(id, &areas).await?;
        audit(
            &state,
            &c,
            "floor.areas",
            &format!("{}/{}", floor.building, floor.name),
            json!({"areas": areas.len()}),
        )
        .await
    }
    .await;
    after_form(&state, &c, id, result, t.cov_add_area).await
}

/// What "remove the last" takes off a floor.
#[derive(Clone, Copy)]
enum Last {
    Wall,
    Area,
}

/// Removes the floor's last wall or area, audited.
async fn remove_last(state: &AdminState, c: &Caller, id: &str, what: Last) -> PageResult {
    let t = c.lang.texts();
    let id = floor_id(id).page(c)?;
    let floor = state
        .store
        .floors()
        .get(id)
        .await
        .page(c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("floor {id}")), c.lang))?;
    let target = format!("{}/{}", floor.building, floor.name);
    let (action, left, notice) = match what {
        Last::Wall => {
            let mut walls = floor.walls.clone();
            walls.pop();
            state.store.floors().set_walls(id, &walls).await.page(c)?;
            (
                "floor.walls",
                json!({"walls": walls.len()}),
                t.cov_remove_last_wall,
            )
        }
        Last::Area => {
            let mut areas = floor.areas.clone();
            areas.pop();
            state.store.floors().set_areas(id, &areas).await.page(c)?;
            (
                "floor.areas",
                json!({"areas": areas.len()}),
                t.cov_remove_last_area,
            )
        }
    };
    audit(state, c, action, &target, left).await.page(c)?;
    floor_view(
        state,
        c,
        id,
        &MapQuery::default(),
        vec![Section::notice(notice)],
    )
    .await
}

pub async fn undo_area(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    remove_last(&state, &c, &id, Last::Area).await
}

pub async fn undo_wall(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    remove_last(&state, &c, &id, Last::Wall).await
}

pub async fn calibrate(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    let (fits, _) = calibrate_floor(&state, &c, id).await.page(&c)?;
    let lines: Vec<String> = fits
        .iter()
        .map(|(band, fit)| {
            let factors: Vec<String> = fit
                .factors
                .iter()
                .map(|(m, f)| format!(", {m} × {f:.2}"))
                .collect();
            format!(
                "{band} GHz: N {:.1} ({} points){}, RMS error {:.1} dB → {:.1} dB",
                fit.n,
                fit.points,
                factors.concat(),
                fit.rmse_before_db,
                fit.rmse_after_db
            )
        })
        .collect();
    let notice = if lines.is_empty() {
        Section::error("no band has 3 measured points yet")
    } else {
        Section::notice(lines.join("; "))
    };
    floor_view(&state, &c, id, &MapQuery::default(), vec![notice]).await
}

#[derive(Deserialize, Default)]
pub struct PlanUploadQuery {
    scale: Option<String>,
}

/// `POST /coverage/{id}/plan`: the image as the body (admin.js) or a
/// multipart form; PNG and JPEG are kept as they are, SVG is rasterised.
pub async fn upload_plan(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<PlanUploadQuery>,
    req: axum::extract::Request,
) -> Response {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut scale = q.scale.clone();
    let body: Option<Vec<u8>> = if multipart {
        match axum::extract::Multipart::from_request(req, &()).await {
            Ok(mut m) => {
                let mut file = None;
                while let Ok(Some(field)) = m.next_field().await {
                    match field.name() {
                        Some("file") => file = field.bytes().await.ok().map(|b| b.to_vec()),
                        Some("scale") => scale = field.text().await.ok(),
                        _ => {}
                    }
                }
                file
            }
            Err(_) => None,
        }
    } else {
        axum::body::to_bytes(req.into_body(), MAX_PLAN_BYTES + 1)
            .await
            .ok()
            .map(|b| b.to_vec())
    };
    let result = async {
        let id = floor_id(&id)?;
        let body = body.ok_or_else(|| WebError::BadRequest("no image in the request".into()))?;
        let scale = match scale.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(number("scale", s)?),
            None => None,
        };
        let f = store_plan(&state, &c, id, &body, scale).await?;
        Ok::<_, WebError>(format!(
            "{}: {:.1} × {:.1} m",
            f.name, f.width_m, f.height_m
        ))
    }
    .await;
    match (result, multipart) {
        (Ok(text), false) => (StatusCode::OK, text).into_response(),
        (Err(e), false) => (e.status(), e.to_string()).into_response(),
        (Ok(text), true) => match floor_id(&id) {
            Ok(id) => floor_view(
                &state,
                &c,
                id,
                &MapQuery::default(),
                vec![Section::notice(text)],
            )
            .await
            .unwrap_or_else(IntoResponse::into_response),
            Err(e) => PageError(e, c.lang).into_response(),
        },
        (Err(e), true) => PageError(e, c.lang).into_response(),
    }
}

/// Keeps a plan image: PNG or JPEG as sent, SVG rasterised to PNG.
/// `scale` (pixels per metre of the image) sets the floor's size.
pub async fn store_plan(
    state: &AdminState,
    c: &Caller,
    id: i64,
    body: &[u8],
    scale: Option<f64>,
) -> Result<Floor, WebError> {
    if body.len() > MAX_PLAN_BYTES {
        return Err(WebError::BadRequest(format!(
            "the plan image is over {MAX_PLAN_BYTES} bytes"
        )));
    }
    let (image, mime, w, h) = match image_size(body) {
        Some((mime, w, h)) => (body.to_vec(), mime, w, h),
        None => {
            // Rendering is CPU work: off the async threads.
            let svg = body.to_vec();
            let (png, w, h) = tokio::task::spawn_blocking(move || service::rasterise_svg(&svg))
                .await
                .map_err(|e| WebError::Internal(format!("plan: {e}")))?
                .map_err(WebError::from)?;
            (png, "image/png", w, h)
        }
    };
    let size = match scale {
        Some(s) if s > 0.0 => Some((f64::from(w) / s, f64::from(h) / s)),
        Some(_) => return Err(WebError::BadRequest("scale must be above 0".into())),
        None => None,
    };
    let f = state
        .store
        .floors()
        .set_plan(id, &image, mime, size)
        .await?;
    audit(
        state,
        c,
        "floor.plan",
        &format!("{}/{}", f.building, f.name),
        json!({"type": mime, "width_px": w, "height_px": h}),
    )
    .await?;
    Ok(f)
}

pub async fn plan_image(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    let (bytes, mime) = state
        .store
        .floors()
        .plan(id)
        .await
        .page(&c)?
        .ok_or_else(|| PageError(WebError::NotFound(format!("plan of floor {id}")), c.lang))?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

pub async fn heatmap(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<MapQuery>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    let band = Band::parse(q.band.as_deref().unwrap_or("5")).unwrap_or(Band::B5g);
    let metric = Metric::parse(q.metric.as_deref().unwrap_or("rssi")).unwrap_or(Metric::Rssi);
    let cov = coverage_of(&state, id).await.page(&c)?;
    let png = service::heatmap_png(&cov, band, metric)
        .map_err(WebError::from)
        .page(&c)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

pub async fn channel_plan_csv(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<MapQuery>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    let band = Band::parse(q.band.as_deref().unwrap_or("5")).unwrap_or(Band::B5g);
    let cov = coverage_of(&state, id).await.page(&c)?;
    let region = state.config.coverage.region.clone();
    let plan = tokio::task::spawn_blocking(move || cov.channel_plan(band, 20, false, &region))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))
        .page(&c)?
        .map_err(WebError::from)
        .page(&c)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"channel-plan-{id}.csv\""),
            ),
        ],
        plan.csv,
    )
        .into_response())
}

// --- The printable report ----------------------------------------------------------

pub struct ReportTable {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub empty: String,
}

pub struct ReportPage {
    pub title: String,
    pub subtitle: String,
    pub svg: String,
    pub tables: Vec<ReportTable>,
}

#[derive(Template)]
#[template(path = "admin/coverage_report.html")]
pub struct ReportView {
    pub lang: &'static str,
    pub title: String,
    /// Set for a file written by the CLI (no server to fetch it from).
    pub inline_css: Option<String>,
    pub pages: Vec<ReportPage>,
    pub generated: String,
}

const REPORT_CSS: &str = include_str!("../../../portal-templates/admin/static/report.css");
const MAP_CSS: &str = include_str!("../../../portal-templates/admin/static/floormap.css");

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// One floor's report page: map (5 GHz signal, holes, APs), KPIs, holes,
/// rooms, and the suggested 5 GHz and 2.4 GHz plans.
fn report_page(
    t: &Texts,
    cov: &FloorCoverage,
    plan: Option<(Vec<u8>, String)>,
    region: &str,
) -> Result<ReportPage, WebError> {
    let floor = &cov.model.floor;
    let bands = cov.bands_present();
    let band = if bands.contains(&Band::B5g) {
        Band::B5g
    } else {
        bands.first().copied().unwrap_or(Band::B5g)
    };
    let holes = cov.holes(band);
    let heat = service::heatmap_png(cov, band, Metric::Rssi).map_err(WebError::from)?;
    let svg = map_svg(&MapLayers {
        floor,
        plan_href: plan.map(|(bytes, mime)| data_uri(&mime, &bytes)),
        heat_href: Some(data_uri("image/png", &heat)),
        sites: cov
            .model
            .sites
            .iter()
            .filter(|s| s.floor == floor.id)
            .collect(),
        holes: &holes,
        points: &[],
        label: format!("{} / {}", floor.building, floor.name),
    });
    let mut tables = vec![ReportTable {
        title: t.cov_kpi.into(),
        columns: kpi_columns(t).iter().map(|c| c.to_string()).collect(),
        rows: bands
            .iter()
            .map(|b| kpi_row(&format!("{} GHz", service::band_label(*b)), &cov.kpi(*b)))
            .collect(),
        empty: t.none.into(),
    }];
    let mut hole_rows = Vec::new();
    for b in &bands {
        for h in cov.holes(*b) {
            hole_rows.push(vec![
                format!("{} GHz", service::band_label(*b)),
                format!("{:.0}", h.area_m2),
                format!("{:.1}, {:.1}", h.centroid.0, h.centroid.1),
                format!("{:.0} dBm", h.worst_dbm),
            ]);
        }
    }
    tables.push(ReportTable {
        title: t.cov_holes.into(),
        columns: vec![
            t.cov_band.into(),
            t.cov_area.into(),
            t.cov_centre.into(),
            t.cov_worst.into(),
        ],
        rows: hole_rows,
        empty: t.none.into(),
    });
    tables.push(ReportTable {
        title: t.cov_rooms.into(),
        columns: vec![
            t.name.into(),
            t.cov_seats.into(),
            t.nav_aps.into(),
            t.cov_primary.into(),
            t.cov_hint.into(),
        ],
        rows: cov
            .rooms()
            .into_iter()
            .map(|r| {
                let k = r
                    .bands
                    .get(service::band_label(band))
                    .copied()
                    .unwrap_or_default();
                vec![
                    r.name.clone(),
                    r.seats.map_or("-".into(), |s| s.to_string()),
                    r.aps.join(", "),
                    pct(k.primary),
                    r.hint.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect(),
        empty: t.none.into(),
    });
    for b in [Band::B5g, Band::B2g4] {
        if !bands.contains(&b) {
            continue;
        }
        let Ok(plan) = cov.channel_plan(b, 20, false, region) else {
            continue;
        };
        let rows = plan
            .channels
            .entries
            .iter()
            .map(|e| {
                let p = plan.power.iter().find(|p| p.ap == e.ap);
                vec![
                    e.ap.clone(),
                    e.current_channel.map_or("-".into(), |c| c.to_string()),
                    format!("{}{}", e.channel, if e.changed { " *" } else { "" }),
                    p.and_then(|p| p.current_dbm)
                        .map_or("-".into(), |v| format!("{v:.0}")),
                    p.map_or("-".into(), |p| format!("{:.0}", p.suggested_dbm)),
                ]
            })
            .collect();
        tables.push(ReportTable {
            title: format!(
                "{} · {} GHz ({}: {} → {}, {} {} → {})",
                t.cov_channel_plan,
                service::band_label(b),
                t.cov_primary,
                pct(plan.kpi_before.primary),
                pct(plan.kpi_after.primary),
                t.cov_worst_contention,
                plan.kpi_before.worst_contention,
                plan.kpi_after.worst_contention
            ),
            columns: vec![
                "AP".into(),
                format!("{} {}", t.cov_current, t.cov_channel),
                format!("{} {}", t.cov_suggested, t.cov_channel),
                format!("{} {}", t.cov_current, t.cov_power),
                format!("{} {}", t.cov_suggested, t.cov_power),
            ],
            rows,
            empty: t.none.into(),
        });
    }
    Ok(ReportPage {
        title: format!("{} / {}", floor.building, floor.name),
        subtitle: format!(
            "{} {} · {:.0} × {:.0} m · {} {} m · {} GHz {}",
            t.cov_level,
            floor.level,
            floor.width_m,
            floor.height_m,
            "grid",
            cov.model.grid.resolution_m,
            service::band_label(band),
            t.cov_signal
        ),
        svg,
        tables,
    })
}

/// The printable report of some floors (HTML, one page per floor).
pub async fn report_html(
    store: &Store,
    cfg: &CoverageConfig,
    lang: Lang,
    floors: &[i64],
    inline_css: bool,
) -> Result<String, WebError> {
    let t = lang.texts();
    let mut pages = Vec::new();
    for id in floors {
        let model = service::load(store, cfg, *id).await?;
        if model.grid.cells() > super::floors::MAX_CELLS {
            return Err(WebError::BadRequest(format!(
                "floor {id} is too large for coverage.resolution"
            )));
        }
        let plan = store.floors().plan(*id).await?;
        let region = cfg.region.clone();
        let page = tokio::task::spawn_blocking(move || {
            let cov = service::compute(model);
            report_page(t, &cov, plan, &region)
        })
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
        pages.push(page);
    }
    let view = ReportView {
        lang: lang.tag(),
        title: format!("{} · {}", t.product, t.cov_report),
        inline_css: inline_css.then(|| format!("{MAP_CSS}\n{REPORT_CSS}")),
        pages,
        generated: super::views::time(crate::clock::now_ms()),
    };
    view.render()
        .map_err(|e| WebError::Internal(format!("report template: {e}")))
}

pub async fn report(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> PageResult {
    let id = floor_id(&id).page(&c)?;
    let html = report_html(&state.store, &state.config.coverage, c.lang, &[id], false)
        .await
        .page(&c)?;
    Ok(Html(html).into_response())
}

// --- Survey from the dashboard (an admin walking with a laptop) -------------------

#[derive(Deserialize)]
pub struct SurveyForm {
    x: String,
    y: String,
    ap: String,
    band: String,
    rssi_dbm: String,
}

pub async fn add_point(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Form(f): Form<SurveyForm>,
) -> PageResult {
    let t = c.lang.texts();
    let id = floor_id(&id).page(&c)?;
    let result = async {
        let at = (number("x", &f.x)?, number("y", &f.y)?);
        let rssi = number("rssi_dbm", &f.rssi_dbm)?;
        record_point(&state, &c, id, at, &f.band, &f.ap, rssi, "survey").await
    }
    .await;
    after_form(&state, &c, id, result, t.cov_points).await
}
