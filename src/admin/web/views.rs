//! What the dashboard's pages are made of. Every page is one frame (menu,
//! language switch, sign-out) around a list of sections: notices, figure
//! tiles, tables with row actions, forms, key/value lists and charts. One
//! template (`admin/page.html`) renders them all, so every page has the
//! same markup, the same accessibility and the same CSP-clean assets.

use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::i18n::{Lang, Texts};
use super::Caller;
use crate::admin::roles::Permission;
use crate::domain::AdminRole;

/// The menu: path, text, the permission that shows it.
pub fn menu(t: &'static Texts) -> [(&'static str, &'static str, Permission); 14] {
    [
        ("/", t.nav_overview, Permission::Overview),
        ("/aps", t.nav_aps, Permission::ReadInventory),
        ("/coverage", t.nav_coverage, Permission::ReadInventory),
        ("/sessions", t.nav_sessions, Permission::ReadSessions),
        (
            "/troubleshoot",
            t.nav_troubleshoot,
            Permission::ReadSessions,
        ),
        ("/users", t.nav_users, Permission::ReadInventory),
        ("/nas", t.nav_nas, Permission::ReadInventory),
        ("/sso", t.nav_sso, Permission::ManageNetwork),
        ("/alerts", t.nav_alerts, Permission::ReadAlerts),
        ("/logs", t.nav_logs, Permission::ReadLogs),
        ("/vouchers", t.nav_vouchers, Permission::CreateVouchers),
        ("/admins", t.nav_admins, Permission::ManageAdmins),
        ("/audit", t.nav_audit, Permission::ReadAudit),
        ("/settings", t.nav_settings, Permission::ReadSettings),
    ]
}

pub fn role_label(t: &'static Texts, role: AdminRole) -> &'static str {
    match role {
        AdminRole::Admin => t.role_admin,
        AdminRole::System => t.role_system,
        AdminRole::Security => t.role_security,
        AdminRole::Audit => t.role_audit,
        AdminRole::Operator => t.role_operator,
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// The frame around every page.
pub struct Frame {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub title: String,
    /// Signed in: name, role text, CSRF token, menu.
    pub user: Option<String>,
    pub role: &'static str,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    /// Where the language switch returns to.
    pub back: String,
}

impl Frame {
    /// The frame for a signed-in administrator on the page at `active`.
    pub fn signed_in(caller: &Caller, title: &str, active: &str) -> Frame {
        let t = caller.lang.texts();
        let nav = menu(t)
            .into_iter()
            .filter(|(_, _, p)| caller.may(*p))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                active: href == active,
            })
            .collect();
        Frame {
            lang: caller.lang.tag(),
            t,
            title: title.to_string(),
            user: Some(caller.username.clone()),
            role: role_label(t, caller.role),
            csrf: caller.csrf.clone().unwrap_or_default(),
            nav,
            back: active.to_string(),
        }
    }

    /// The frame of the sign-in pages (no menu).
    pub fn public(lang: Lang, title: &str) -> Frame {
        Frame {
            lang: lang.tag(),
            t: lang.texts(),
            title: title.to_string(),
            user: None,
            role: "",
            csrf: String::new(),
            nav: Vec::new(),
            back: "/login".into(),
        }
    }
}

/// One figure tile; `id` lets the overview's events update it.
pub struct Stat {
    pub id: &'static str,
    pub label: String,
    pub value: String,
}

/// A table cell: text, optionally a link, optionally a tone (`ok`,
/// `bad`, `warn`) shown as a coloured badge.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub tone: Option<&'static str>,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            href: None,
            tone: None,
        }
    }

    pub fn link(s: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            href: Some(href.into()),
            tone: None,
        }
    }

    pub fn tone(s: impl Into<String>, tone: &'static str) -> Cell {
        Cell {
            text: s.into(),
            href: None,
            tone: Some(tone),
        }
    }
}

/// A button on a table row: a POST form with the CSRF token.
pub struct RowAction {
    pub label: String,
    pub action: String,
    /// Asked before sending (by admin.js).
    pub confirm: Option<String>,
    pub danger: bool,
    /// Extra hidden fields.
    pub fields: Vec<(String, String)>,
}

impl RowAction {
    pub fn post(label: &str, action: String) -> RowAction {
        RowAction {
            label: label.to_string(),
            action,
            confirm: None,
            danger: false,
            fields: Vec::new(),
        }
    }

    pub fn danger(label: &str, action: String, confirm: &str) -> RowAction {
        RowAction {
            label: label.to_string(),
            action,
            confirm: Some(confirm.to_string()),
            danger: true,
            fields: Vec::new(),
        }
    }
}

pub struct Row {
    pub cells: Vec<Cell>,
    pub actions: Vec<RowAction>,
}

impl Row {
    pub fn new(cells: Vec<Cell>) -> Row {
        Row {
            cells,
            actions: Vec::new(),
        }
    }

    pub fn with_action(mut self, action: Option<RowAction>) -> Row {
        self.actions.extend(action);
        self
    }
}

pub struct Table {
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    pub empty: String,
    /// "rows shown of total" line.
    pub summary: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// A CSV export of the same filter.
    pub export: Option<String>,
    pub has_actions: bool,
}

impl Table {
    pub fn new(id: &str, title: &str, columns: &[&str], rows: Vec<Row>, empty: &str) -> Table {
        let has_actions = rows.iter().any(|r| !r.actions.is_empty());
        Table {
            id: id.to_string(),
            title: title.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            empty: empty.to_string(),
            summary: None,
            prev: None,
            next: None,
            export: None,
            has_actions,
        }
    }
}

/// A form field.
pub struct Field {
    pub name: String,
    pub label: String,
    /// text, password, number, select, checkbox, textarea, date,
    /// datetime-local, hidden, file
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub autocomplete: &'static str,
    pub hint: Option<String>,
}

impl Field {
    pub fn new(kind: &'static str, name: &str, label: &str, value: &str) -> Field {
        Field {
            name: name.to_string(),
            label: label.to_string(),
            kind,
            value: value.to_string(),
            options: Vec::new(),
            required: false,
            autocomplete: "off",
            hint: None,
        }
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn autocomplete(mut self, a: &'static str) -> Field {
        self.autocomplete = a;
        self
    }

    pub fn hint(mut self, h: &str) -> Field {
        self.hint = Some(h.to_string());
        self
    }

    pub fn select(name: &str, label: &str, value: &str, options: Vec<(String, String)>) -> Field {
        Field {
            options,
            ..Field::new("select", name, label, value)
        }
    }
}

pub struct Form {
    pub id: String,
    pub title: String,
    pub action: String,
    /// get (filters) or post (changes, with the CSRF token).
    pub method: &'static str,
    pub fields: Vec<Field>,
    pub submit: String,
    /// A filter bar (inline) rather than a card.
    pub inline: bool,
    /// Upload with progress through admin.js (CSV import).
    pub upload: bool,
}

impl Form {
    pub fn post(id: &str, title: &str, action: &str, fields: Vec<Field>, submit: &str) -> Form {
        Form {
            id: id.to_string(),
            title: title.to_string(),
            action: action.to_string(),
            method: "post",
            fields,
            submit: submit.to_string(),
            inline: false,
            upload: false,
        }
    }

    pub fn filter(id: &str, action: &str, fields: Vec<Field>, submit: &str) -> Form {
        Form {
            id: id.to_string(),
            title: String::new(),
            action: action.to_string(),
            method: "get",
            fields,
            submit: submit.to_string(),
            inline: true,
            upload: false,
        }
    }
}

pub enum Section {
    Notice {
        text: String,
        error: bool,
    },
    /// A value shown once (new secret, token, password).
    Secret {
        label: String,
        value: String,
    },
    Stats(Vec<Stat>),
    Table(Table),
    Form(Form),
    Pairs {
        title: String,
        rows: Vec<(String, String)>,
    },
    /// The overview's 24 h clients chart (drawn by admin.js with uPlot).
    Chart {
        id: &'static str,
        title: String,
        data: String,
    },
    /// TOTP enrolment: the QR code (an SVG data URI) and the key.
    Qr {
        image: String,
        key: String,
        hint: String,
    },
    /// A preformatted block (settings).
    Code {
        title: String,
        text: String,
    },
    /// Links (e.g. the API docs).
    Links(Vec<(String, String)>),
    /// A floor map: SVG made by `coverage_views::map_svg` (every text in
    /// it escaped there).
    FloorMap {
        title: String,
        svg: String,
    },
}

impl Section {
    pub fn notice(text: impl Into<String>) -> Section {
        Section::Notice {
            text: text.into(),
            error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Section {
        Section::Notice {
            text: text.into(),
            error: true,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/page.html")]
pub struct PageView {
    pub frame: Frame,
    pub sections: Vec<Section>,
    /// The overview page subscribes to its events.
    pub live: bool,
    /// Some section is a chart (the page loads uPlot).
    pub charts: bool,
}

impl PageView {
    pub fn new(frame: Frame, sections: Vec<Section>) -> PageView {
        let charts = sections.iter().any(|s| matches!(s, Section::Chart { .. }));
        PageView {
            frame,
            sections,
            live: false,
            charts,
        }
    }

    pub fn respond(&self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "dashboard template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "template error\n").into_response()
            }
        }
    }
}

impl IntoResponse for PageView {
    fn into_response(self) -> Response {
        self.respond(StatusCode::OK)
    }
}

/// A page saying what went wrong (for a page request).
pub fn error_page(lang: Lang, status: StatusCode, detail: &str) -> Response {
    let t = lang.texts();
    let title = match status {
        StatusCode::FORBIDDEN => t.err_forbidden,
        StatusCode::NOT_FOUND => t.err_not_found,
        StatusCode::INTERNAL_SERVER_ERROR => t.err_internal,
        _ => t.err_bad_request,
    };
    let text = if status == StatusCode::INTERNAL_SERVER_ERROR {
        title.to_string()
    } else {
        format!("{title} {detail}")
    };
    let mut frame = Frame::public(lang, title);
    frame.nav = vec![NavItem {
        href: "/",
        label: t.nav_overview,
        active: false,
    }];
    PageView::new(frame, vec![Section::error(text)]).respond(status)
}

// --- Assets ------------------------------------------------------------------

/// The dashboard's own and vendored files, compiled in (no CDN, no build
/// step).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "report.css",
        "text/css",
        include_bytes!("../../../portal-templates/admin/static/report.css"),
    ),
    (
        "floormap.css",
        "text/css",
        include_bytes!("../../../portal-templates/admin/static/floormap.css"),
    ),
    (
        "admin.css",
        "text/css",
        include_bytes!("../../../portal-templates/admin/static/admin.css"),
    ),
    (
        "admin.js",
        "text/javascript",
        include_bytes!("../../../portal-templates/admin/static/admin.js"),
    ),
    (
        "swagger-init.js",
        "text/javascript",
        include_bytes!("../../../portal-templates/admin/static/swagger-init.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript",
        include_bytes!("../../../portal-templates/admin/vendor/htmx.min.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript",
        include_bytes!("../../../portal-templates/admin/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css",
        include_bytes!("../../../portal-templates/admin/vendor/uPlot.min.css"),
    ),
    (
        "swagger-ui-bundle.js",
        "text/javascript",
        include_bytes!("../../../portal-templates/admin/vendor/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css",
        include_bytes!("../../../portal-templates/admin/vendor/swagger-ui.css"),
    ),
];

/// `GET /static/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=3600"),
                ),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

#[derive(Template)]
#[template(path = "admin/swagger.html")]
struct SwaggerView;

/// `GET /api/docs`: Swagger UI on the generated OpenAPI document.
pub async fn swagger_page() -> Response {
    match SwaggerView.render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "template error\n").into_response(),
    }
}

// --- Formatting ----------------------------------------------------------------

/// A time as the dashboard shows it (UTC+8, the building's zone, to the
/// second).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            (t + chrono::Duration::hours(8))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

pub fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_else(|| "-".into())
}

pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{} B", n as i64)
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn duration_s(s: i64) -> String {
    let s = s.max(0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
