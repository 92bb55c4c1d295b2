//! The dashboard's and API's read models: filtered, sorted, paged lists
//! over the inventory, sessions and logs, written so that each is one
//! index range (or a small table scan) however large the logs grow.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::accounting::{self, AcctSession};
use super::aps::{Ap, AP_COLS};
use super::auth_log::AuthRecord;
use super::{Result, Store};

/// Bind values collected while a WHERE clause is built.
#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause with numbered placeholders, and its values.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// Adds `clause`, in which each `?` becomes the next placeholder.
    fn add(&mut self, clause: &str, args: Vec<Arg>) {
        let mut out = String::new();
        let mut n = self.args.len();
        for c in clause.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        self.clauses.push(out);
        self.args.extend(args);
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The next placeholder number (for LIMIT/OFFSET after the filters).
    fn next(&self) -> usize {
        self.args.len() + 1
    }

    fn bind<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }
}

/// `%text%` for LIKE, with the wildcards in `text` taken literally.
fn contains(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Same as `contains`, lower-cased (compare with `LOWER(col)`).
fn contains_ci(text: &str) -> String {
    contains(&text.to_lowercase())
}

// --- Access points -------------------------------------------------------

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApSort {
    #[default]
    Name,
    Status,
    Clients,
    Building,
    LastPoll,
}

impl ApSort {
    pub fn parse(s: &str) -> ApSort {
        match s {
            "status" => ApSort::Status,
            "clients" => ApSort::Clients,
            "building" => ApSort::Building,
            "last_poll" => ApSort::LastPoll,
            _ => ApSort::Name,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApSort::Name => "name",
            ApSort::Status => "status",
            ApSort::Clients => "clients",
            ApSort::Building => "building",
            ApSort::LastPoll => "last_poll",
        }
    }

    fn order_by(self, desc: bool) -> String {
        let dir = if desc { "DESC" } else { "ASC" };
        // Name last, so every order is total and pages do not overlap.
        match self {
            ApSort::Name => format!("name {dir}"),
            ApSort::Status => format!("status {dir}, name"),
            ApSort::Clients => format!("COALESCE(clients, -1) {dir}, name"),
            ApSort::Building => {
                format!("COALESCE(building, '') {dir}, COALESCE(floor, '') {dir}, name")
            }
            ApSort::LastPoll => format!("COALESCE(last_poll_ms, 0) {dir}, name"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ApQuery {
    /// Matches name, address, MAC, model, serial, room (case-insensitive).
    pub text: Option<String>,
    pub building: Option<String>,
    pub floor: Option<String>,
    /// up, down or unknown.
    pub status: Option<String>,
    pub profile: Option<String>,
    pub sort: ApSort,
    pub desc: bool,
    pub offset: i64,
    pub limit: i64,
}

/// One page and the number of rows matching in all.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

/// The values of the list's filters, for its drop-downs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApFacets {
    pub buildings: Vec<String>,
    pub floors: Vec<String>,
    pub profiles: Vec<String>,
}

/// AP status counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApCounts {
    pub up: i64,
    pub down: i64,
    pub unknown: i64,
}

pub struct Search<'a> {
    store: &'a Store,
}

impl<'a> Search<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Search { store }
    }

    pub async fn aps(&self, q: &ApQuery) -> Result<Page<Ap>> {
        let mut f = Filter::default();
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let p = contains_ci(t);
            f.add(
                "(LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(address) LIKE ? ESCAPE '\\' \
                 OR LOWER(COALESCE(mac, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(model, '')) LIKE ? ESCAPE '\\' \
                 OR LOWER(COALESCE(serial, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(room, '')) LIKE ? ESCAPE '\\')",
                vec![Arg::Text(p); 6],
            );
        }
        for (col, v) in [
            ("building", &q.building),
            ("floor", &q.floor),
            ("status", &q.status),
            ("profile", &q.profile),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                f.add(&format!("{col} = ?"), vec![Arg::Text(v.to_string())]);
            }
        }
        let where_sql = f.where_sql();
        let n = f.next();
        let searching = q.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        // A text search scans every row anyway: the page and the total come
        // from that one scan (a window count). Without one, the count and
        // an index-ordered page that stops early are cheaper than sorting
        // the whole table for the window.
        let window = if searching {
            ", COUNT(*) OVER () AS total_rows"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {AP_COLS}{window} FROM aps {where_sql} ORDER BY {} LIMIT ${n} OFFSET ${}",
            q.sort.order_by(q.desc),
            n + 1
        );
        let found = f
            .bind(&sql)
            .bind(q.limit.clamp(1, 1000))
            .bind(q.offset.max(0))
            .fetch_all(&self.store.pool)
            .await?;
        let total: i64 = match found.first() {
            Some(r) if searching => r.try_get("total_rows")?,
            _ => f
                .bind(&format!("SELECT COUNT(*) AS n FROM aps {where_sql}"))
                .fetch_one(&self.store.pool)
                .await?
                .try_get("n")?,
        };
        let aps = self.store.aps();
        let rows = found
            .iter()
            .map(|r| aps.decode(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { rows, total })
    }

    pub async fn ap_facets(&self) -> Result<ApFacets> {
        let mut out = ApFacets::default();
        for (col, dest) in [
            ("building", &mut out.buildings),
            ("floor", &mut out.floors),
            ("profile", &mut out.profiles),
        ] {
            let sql = format!(
                "SELECT DISTINCT {col} AS v FROM aps WHERE {col} IS NOT NULL AND {col} <> '' ORDER BY {col}"
            );
            *dest = sqlx::query(&sql)
                .fetch_all(&self.store.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("v"))
                .collect::<std::result::Result<_, _>>()?;
        }
        Ok(out)
    }

    pub async fn ap_counts(&self) -> Result<ApCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM aps GROUP BY status")
            .fetch_all(&self.store.pool)
            .await?;
        let mut c = ApCounts::default();
        for r in rows {
            let status: String = r.try_get("status")?;
            let n: i64 = r.try_get("n")?;
            match status.as_str() {
                "up" => c.up = n,
                "down" => c.down = n,
                _ => c.unknown += n,
            }
        }
        Ok(c)
    }

    /// The `n` APs with the most clients (from their last poll).
    pub async fn top_aps_by_clients(&self, n: i64) -> Result<Vec<(String, i64)>> {
        sqlx::query(
            "SELECT name, clients FROM aps WHERE clients IS NOT NULL AND clients > 0 \
             ORDER BY clients DESC, name LIMIT $1",
        )
        .bind(n)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("clients")?)))
        .collect()
    }

    /// The `n` APs whose busiest radio had the highest channel utilization
    /// (percent) in raw samples since `since_ms`.
    pub async fn top_aps_by_utilization(
        &self,
        since_ms: i64,
        n: i64,
    ) -> Result<Vec<(String, i64)>> {
        sqlx::query(
            "SELECT a.name AS name, CAST(MAX(r.busiest) AS BIGINT) AS u FROM radio_polls r \
             JOIN aps a ON a.id = r.ap_id \
             WHERE r.resolution = 0 AND r.at_ms >= $1 AND r.busiest IS NOT NULL \
             GROUP BY a.name ORDER BY u DESC, a.name LIMIT $2",
        )
        .bind(since_ms)
        .bind(n)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get::<i64, _>("u")?)))
        .collect()
    }

    // --- Sessions --------------------------------------------------------

    /// Accounting sessions, newest first. `text` matches the user name
    /// (prefix), the client MAC (canonical, exact) or IP (exact).
    pub async fn sessions(&self, q: &SessionQuery) -> Result<Vec<AcctSession>> {
        let mut f = Filter::default();
        if q.open_only {
            f.add("stopped_ms IS NULL", vec![]);
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let mac = crate::domain::MacAddr::parse(t).ok().map(|m| m.to_string());
            let mut clause = "(username = ? OR framed_ip = ?".to_string();
            let mut args = vec![Arg::Text(t.to_string()), Arg::Text(t.to_string())];
            if let Some(m) = mac {
                clause.push_str(" OR calling_station = ?");
                args.push(Arg::Text(m));
            }
            clause.push(')');
            f.add(&clause, args);
        }
        if let Some(nas) = q.nas.as_deref().filter(|n| !n.is_empty()) {
            f.add("nas_name = ?", vec![Arg::Text(nas.to_string())]);
        }
        if let Some(before) = q.before_id {
            f.add("id < ?", vec![Arg::Int(before)]);
        }
        let sql = format!(
            "SELECT {cols} FROM acct_sessions {w} ORDER BY id DESC LIMIT ${n}",
            cols = accounting::SESSION_COLS,
            w = f.where_sql(),
            n = f.next()
        );
        f.bind(&sql)
            .bind(q.limit.clamp(1, 1000))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(accounting::from_row)
            .collect()
    }

    pub async fn session(&self, id: i64) -> Result<Option<AcctSession>> {
        let sql = format!(
            "SELECT {} FROM acct_sessions WHERE id = $1",
            accounting::SESSION_COLS
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| accounting::from_row(&r))
            .transpose()
    }

    pub async fn open_session_count(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM acct_sessions WHERE stopped_ms IS NULL")
                .fetch_one(&self.store.pool)
                .await?
                .try_get("n")?,
        )
    }

    // --- Auth log --------------------------------------------------------

    /// Auth log rows, newest first (by id), filtered.
    pub async fn auth_log(&self, q: &AuthLogQuery) -> Result<Vec<AuthLogRow>> {
        let f = auth_filter(q);
        let sql = format!(
            "SELECT {AUTH_COLS} FROM auth_log {w} ORDER BY id DESC LIMIT ${n}",
            w = f.where_sql(),
            n = f.next()
        );
        f.bind(&sql)
            .bind(q.limit.clamp(1, 10_000))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(auth_row)
            .collect()
    }

    /// Auth log rows oldest first with `id > after_id`, for exports that
    /// read in pages (flat memory whatever the size).
    pub async fn auth_log_after(
        &self,
        q: &AuthLogQuery,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<AuthLogRow>> {
        let mut q = q.clone();
        q.before_id = None;
        let mut f = auth_filter(&q);
        f.add("id > ?", vec![Arg::Int(after_id)]);
        let sql = format!(
            "SELECT {AUTH_COLS} FROM auth_log {w} ORDER BY id LIMIT ${n}",
            w = f.where_sql(),
            n = f.next()
        );
        f.bind(&sql)
            .bind(limit.clamp(1, 50_000))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(auth_row)
            .collect()
    }

    /// Clients over time: per `bucket_ms`, the sum over APs of each AP's
    /// average client count in that bucket (raw samples since `since_ms`).
    pub async fn clients_series(&self, since_ms: i64, bucket_ms: i64) -> Result<Vec<(i64, i64)>> {
        let bucket = bucket_ms.max(1);
        sqlx::query(
            "SELECT t, CAST(SUM(c) AS BIGINT) AS n FROM ( \
               SELECT (at_ms / $1) * $1 AS t, ap_id, CAST(AVG(clients) AS BIGINT) AS c \
               FROM ap_samples WHERE resolution = 0 AND at_ms >= $2 AND clients IS NOT NULL \
               GROUP BY (at_ms / $1) * $1, ap_id) per_ap \
             GROUP BY t ORDER BY t",
        )
        .bind(bucket)
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("t")?, r.try_get("n")?)))
        .collect()
    }

    /// Accepts and rejects (not portal sign-outs) since `since_ms`.
    pub async fn auth_outcomes_since(&self, since_ms: i64) -> Result<(i64, i64)> {
        let rows = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM auth_log WHERE at_ms >= $1 GROUP BY outcome",
        )
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?;
        let (mut ok, mut failed) = (0, 0);
        for r in rows {
            let outcome: String = r.try_get("outcome")?;
            let n: i64 = r.try_get("n")?;
            match outcome.as_str() {
                "accept" => ok += n,
                "reject" => failed += n,
                _ => {}
            }
        }
        Ok((ok, failed))
    }
}

#[derive(Clone, Debug, Default)]
pub struct SessionQuery {
    pub open_only: bool,
    pub text: Option<String>,
    pub nas: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Clone, Debug, Default)]
pub struct AuthLogQuery {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Exact user name.
    pub username: Option<String>,
    /// Client MAC (any spelling).
    pub mac: Option<String>,
    pub nas: Option<String>,
    /// accept, reject, sign-out, expired.
    pub outcome: Option<String>,
    /// Exact method, or a prefix ending in `*` (`portal*`).
    pub method: Option<String>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthLogRow {
    pub id: i64,
    pub record: AuthRecord,
}

const AUTH_COLS: &str =
    "id, at_ms, username, mac, nas_name, nas_ip, ap, method, outcome, reason, client_ip, ssid";

fn auth_filter(q: &AuthLogQuery) -> Filter {
    let mut f = Filter::default();
    if let Some(v) = q.since_ms {
        f.add("at_ms >= ?", vec![Arg::Int(v)]);
    }
    if let Some(v) = q.until_ms {
        f.add("at_ms < ?", vec![Arg::Int(v)]);
    }
    if let Some(v) = q.username.as_deref().filter(|v| !v.is_empty()) {
        f.add("username = ?", vec![Arg::Text(v.to_string())]);
    }
    if let Some(v) = q.mac.as_deref().filter(|v| !v.is_empty()) {
        let mac = crate::domain::MacAddr::parse(v)
            .map(|m| m.to_string())
            .unwrap_or_else(|_| v.to_string());
        f.add("mac = ?", vec![Arg::Text(mac)]);
    }
    if let Some(v) = q.nas.as_deref().filter(|v| !v.is_empty()) {
        f.add("nas_name = ?", vec![Arg::Text(v.to_string())]);
    }
    if let Some(v) = q.outcome.as_deref().filter(|v| !v.is_empty()) {
        f.add("outcome = ?", vec![Arg::Text(v.to_string())]);
    }
    if let Some(v) = q.method.as_deref().filter(|v| !v.is_empty()) {
        match v.strip_suffix('*') {
            Some(prefix) => {
                let escaped = prefix
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                f.add(
                    "method LIKE ? ESCAPE '\\'",
                    vec![Arg::Text(format!("{escaped}%"))],
                );
            }
            None => f.add("method = ?", vec![Arg::Text(v.to_string())]),
        }
    }
    if let Some(v) = q.before_id {
        f.add("id < ?", vec![Arg::Int(v)]);
    }
    f
}

fn auth_row(r: &AnyRow) -> Result<AuthLogRow> {
    Ok(AuthLogRow {
        id: r.try_get("id")?,
        record: AuthRecord {
            at_ms: r.try_get("at_ms")?,
            username: r.try_get("username")?,
            mac: r.try_get("mac")?,
            nas_name: r.try_get("nas_name")?,
            nas_ip: r.try_get("nas_ip")?,
            ap: r.try_get("ap")?,
            method: r.try_get("method")?,
            outcome: r.try_get("outcome")?,
            reason: r.try_get("reason")?,
            client_ip: r.try_get("client_ip")?,
            ssid: r.try_get("ssid")?,
        },
    })
}
