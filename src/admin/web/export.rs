//! CSV exports, streamed: rows are read in keyset pages and written as
//! they come, so a million rows take the memory of one page.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;

use super::pages::{parse_day, LogsQuery};
use super::{AdminState, Caller, PageError, WebError};
use crate::admin::audit::Outcome;
use crate::csv_line::csv_line;
use crate::store::search::{AuthLogQuery, AuthLogRow};

/// Rows read per store round trip.
const PAGE: i64 = 5_000;

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn attachment(name: &str, body: Body) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

/// Streams auth-log rows of `query` (oldest first) through `line`; rows
/// for which `line` answers `None` are skipped.
fn stream_auth_log(
    state: AdminState,
    query: AuthLogQuery,
    header_line: String,
    line: fn(&AuthLogRow) -> Option<String>,
) -> Body {
    struct Cursor {
        state: AdminState,
        query: AuthLogQuery,
        after: i64,
        header: Option<String>,
        done: bool,
    }
    let start = Cursor {
        state,
        query,
        after: 0,
        header: Some(header_line),
        done: false,
    };
    let stream = futures_util::stream::unfold(start, move |mut c| async move {
        if let Some(h) = c.header.take() {
            return Some((Ok::<Bytes, std::io::Error>(Bytes::from(h)), c));
        }
        if c.done {
            return None;
        }
        let rows = match c
            .state
            .store
            .search()
            .auth_log_after(&c.query, c.after, PAGE)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "CSV export stopped");
                return Some((
                    Err(std::io::Error::other(e.to_string())),
                    Cursor { done: true, ..c },
                ));
            }
        };
        if rows.is_empty() {
            return None;
        }
        c.done = (rows.len() as i64) < PAGE;
        c.after = rows.last().map(|r| r.id).unwrap_or(c.after);
        let mut chunk = String::with_capacity(rows.len() * 120);
        for r in &rows {
            if let Some(l) = line(r) {
                chunk.push_str(&l);
            }
        }
        Some((Ok(Bytes::from(chunk)), c))
    });
    Body::from_stream(stream)
}

/// `GET /logs/auth-log.csv?<the log page's filter>`.
pub async fn auth_log_csv(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<LogsQuery>,
) -> Result<Response, PageError> {
    let mut query = q.to_query(PAGE).map_err(|e| PageError(e, c.lang))?;
    query.before_id = None;
    state
        .audit()
        .record(
            &c.actor(),
            "auth-log.export",
            "-",
            Outcome::Ok,
            json!({"filter": q.query_string()}),
        )
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let header = csv_line(&[
        "time",
        "username",
        "mac",
        "client_ip",
        "nas",
        "nas_ip",
        "ap",
        "ssid",
        "method",
        "outcome",
        "reason",
    ]);
    let body = stream_auth_log(state, query, header, |r| {
        let a = &r.record;
        Some(csv_line(&[
            &iso(a.at_ms),
            &a.username,
            a.mac.as_deref().unwrap_or(""),
            a.client_ip.as_deref().unwrap_or(""),
            &a.nas_name,
            &a.nas_ip,
            a.ap.as_deref().unwrap_or(""),
            a.ssid.as_deref().unwrap_or(""),
            &a.method,
            &a.outcome,
            &a.reason,
        ]))
    });
    Ok(attachment("portico-auth-log.csv", body))
}

/// The kind and value of an identity as the legal log writes it.
fn identity(username: &str) -> (&'static str, &str) {
    for (prefix, kind) in [
        ("phone:", "phone"),
        ("voucher:", "voucher"),
        ("wechat:", "wechat"),
        ("wecom:", "wecom"),
    ] {
        if let Some(v) = username.strip_prefix(prefix) {
            return (kind, v);
        }
    }
    ("account", username)
}

#[derive(serde::Deserialize)]
pub struct Period {
    since: String,
    until: String,
}

/// `GET /logs/real-name.csv?since=DAY&until=DAY`: every network access in
/// the period with its real-name identity (account, phone, voucher,
/// WeChat openid), MAC, IP, AP, SSID and times: the inspection package.
pub async fn real_name_csv(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(p): Query<Period>,
) -> Result<Response, PageError> {
    let (Some(since), Some(until)) = (parse_day(&p.since), parse_day(&p.until)) else {
        return Err(PageError(
            WebError::BadRequest("since and until: dates as YYYY-MM-DD".into()),
            c.lang,
        ));
    };
    state
        .audit()
        .record(
            &c.actor(),
            "real-name.export",
            &format!("{}..{}", p.since, p.until),
            Outcome::Ok,
            json!({}),
        )
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let query = AuthLogQuery {
        since_ms: Some(since),
        until_ms: Some(until + 86_400_000),
        limit: PAGE,
        ..Default::default()
    };
    let header = csv_line(&[
        "time",
        "event",
        "identity_kind",
        "identity",
        "mac",
        "ip",
        "nas",
        "ap",
        "ssid",
        "method",
    ]);
    let body = stream_auth_log(state, query, header, |r| {
        let a = &r.record;
        let event = match a.outcome.as_str() {
            "accept" => "sign-in",
            "sign-out" => "sign-out",
            "expired" => "expired",
            _ => return None,
        };
        let (kind, id) = identity(&a.username);
        Some(csv_line(&[
            &iso(a.at_ms),
            event,
            kind,
            id,
            a.mac.as_deref().unwrap_or(""),
            a.client_ip.as_deref().unwrap_or(""),
            &a.nas_name,
            a.ap.as_deref().unwrap_or(""),
            a.ssid.as_deref().unwrap_or(""),
            &a.method,
        ]))
    });
    Ok(attachment(
        &format!(
            "portico-real-name-{}-{}.csv",
            p.since.trim(),
            p.until.trim()
        ),
        body,
    ))
}

/// The columns of an accounting-session export (dashboard and CLI).
pub const SESSION_CSV_HEADER: [&str; 13] = [
    "started",
    "stopped",
    "nas",
    "nas_ip",
    "session_id",
    "username",
    "mac",
    "ap",
    "framed_ip",
    "input_octets",
    "output_octets",
    "session_time",
    "terminate_cause",
];

/// One session as the export's fields, times written by `time`.
pub fn session_csv_fields(
    s: &crate::store::accounting::AcctSession,
    time: fn(i64) -> String,
) -> [String; 13] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        time(s.started_ms),
        s.stopped_ms.map(time).unwrap_or_default(),
        s.nas_name.clone(),
        s.nas_ip.clone(),
        s.session_id.clone(),
        text(&s.username),
        text(&s.calling_station),
        text(&s.called_station),
        text(&s.framed_ip),
        s.input_octets.to_string(),
        s.output_octets.to_string(),
        s.session_time.to_string(),
        text(&s.terminate_cause),
    ]
}

#[derive(serde::Deserialize, Default)]
pub struct SessionsExport {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    all: Option<String>,
}

/// `GET /sessions.csv?q=&all=1`: the accounting sessions of the sessions
/// page's filter (user, MAC or IP; open only unless `all=1`), newest
/// first, streamed in keyset pages.
pub async fn sessions_csv(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<SessionsExport>,
) -> Result<Response, PageError> {
    use crate::store::search::SessionQuery;
    state
        .audit()
        .record(
            &c.actor(),
            "sessions.export",
            "-",
            Outcome::Ok,
            json!({"q": q.q, "all": q.all}),
        )
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let query = SessionQuery {
        open_only: q.all.as_deref() != Some("1"),
        text: q.q.filter(|t| !t.trim().is_empty()),
        nas: None,
        before_id: None,
        limit: 1000,
    };
    let header = csv_line(&SESSION_CSV_HEADER);
    let start = (state, query, Some(header), false);
    let stream =
        futures_util::stream::unfold(start, |(state, mut query, header, done)| async move {
            if let Some(h) = header {
                return Some((
                    Ok::<Bytes, std::io::Error>(Bytes::from(h)),
                    (state, query, None, done),
                ));
            }
            if done {
                return None;
            }
            let rows = match state.store.search().sessions(&query).await {
                Ok(r) => r,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e.to_string())),
                        (state, query, None, true),
                    ))
                }
            };
            if rows.is_empty() {
                return None;
            }
            let done = (rows.len() as i64) < query.limit;
            query.before_id = rows.last().map(|s| s.id);
            let mut chunk = String::new();
            for s in &rows {
                let fields = session_csv_fields(s, iso);
                chunk.push_str(&csv_line(&fields.each_ref().map(String::as_str)));
            }
            Some((Ok(Bytes::from(chunk)), (state, query, None, done)))
        });
    Ok(attachment(
        "portico-sessions.csv",
        Body::from_stream(stream),
    ))
}

#[derive(serde::Deserialize, Default)]
pub struct AuditExport {
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
}

/// `GET /audit.csv`: the audit trail (of the filter), oldest first.
pub async fn audit_csv(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<AuditExport>,
) -> Result<Response, PageError> {
    let since = q
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(parse_day)
        .unwrap_or(0);
    state
        .audit()
        .record(&c.actor(), "audit.export", "-", Outcome::Ok, json!({}))
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let actor = q.actor.filter(|s| !s.is_empty());
    let action = q.action.filter(|s| !s.is_empty());
    struct Cursor {
        state: AdminState,
        after: i64,
        header: bool,
        done: bool,
        actor: Option<String>,
        action: Option<String>,
        since: i64,
    }
    let start = Cursor {
        state,
        after: 0,
        header: true,
        done: false,
        actor,
        action,
        since,
    };
    let stream = futures_util::stream::unfold(start, |mut c| async move {
        if c.header {
            c.header = false;
            let h = csv_line(&[
                "seq", "time", "actor", "role", "origin", "action", "target", "outcome", "summary",
                "hash",
            ]);
            return Some((Ok::<Bytes, std::io::Error>(Bytes::from(h)), c));
        }
        if c.done {
            return None;
        }
        let rows = match c.state.store.audit().page(c.after, c.since, PAGE).await {
            Ok(r) => r,
            Err(e) => {
                return Some((
                    Err(std::io::Error::other(e.to_string())),
                    Cursor { done: true, ..c },
                ))
            }
        };
        if rows.is_empty() {
            return None;
        }
        c.done = (rows.len() as i64) < PAGE;
        c.after = rows.last().map(|r| r.seq).unwrap_or(c.after);
        let mut chunk = String::new();
        for r in rows.iter().filter(|r| {
            c.actor.as_ref().is_none_or(|a| &r.actor == a)
                && c.action
                    .as_ref()
                    .is_none_or(|a| r.action == *a || r.action.starts_with(&format!("{a}.")))
        }) {
            chunk.push_str(&csv_line(&[
                &r.seq.to_string(),
                &iso(r.at_ms),
                &r.actor,
                &r.role,
                &r.origin,
                &r.action,
                &r.target,
                &r.outcome,
                &r.summary,
                &r.hash,
            ]));
        }
        Some((Ok(Bytes::from(chunk)), c))
    });
    Ok(attachment("portico-audit.csv", Body::from_stream(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(
            csv_line(&["a", "b,c", "say \"hi\""]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\n"
        );
        assert_eq!(
            csv_line(&["=cmd|' /C calc'!A0", "-5"]),
            "'=cmd|' /C calc'!A0,-5\n"
        );
    }

    #[test]
    fn identities_by_kind() {
        assert_eq!(identity("phone:13800138000"), ("phone", "13800138000"));
        assert_eq!(identity("voucher:ABCD"), ("voucher", "ABCD"));
        assert_eq!(identity("alice"), ("account", "alice"));
    }
}
