//! RADIUS accounting: one row per session, kept idempotent under NAS
//! retransmission and reordering, plus an append-only copy of every request
//! (the legal log: who had which address when).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::batch::{AnyQuery, BatchConnection, BatchStatement};
use super::{Backend, Result, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcctStatus {
    Start,
    Interim,
    Stop,
    On,
    Off,
}

impl AcctStatus {
    /// The text stored in `accounting_records.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            AcctStatus::Start => "start",
            AcctStatus::Interim => "interim",
            AcctStatus::Stop => "stop",
            AcctStatus::On => "on",
            AcctStatus::Off => "off",
        }
    }

    /// Accounting-On/Off: about every session of the NAS, not one.
    fn closes_nas(self) -> bool {
        matches!(self, AcctStatus::On | AcctStatus::Off)
    }
}

#[derive(Clone, Debug)]
pub struct AcctRecord {
    pub nas_name: String,
    pub nas_ip: String,
    pub session_id: String,
    pub status: AcctStatus,
    pub username: Option<String>,
    /// Client MAC, canonical if parseable.
    pub calling_station: Option<String>,
    /// The AP.
    pub called_station: Option<String>,
    pub framed_ip: Option<String>,
    /// Including gigawords.
    pub input_octets: i64,
    pub output_octets: i64,
    pub input_packets: i64,
    pub output_packets: i64,
    /// Seconds (Acct-Session-Time).
    pub session_time: i64,
    pub terminate_cause: Option<String>,
    /// Event-Timestamp, or the receive time when absent.
    pub event_ms: i64,
    pub received_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcctSession {
    pub id: i64,
    pub nas_name: String,
    pub nas_ip: String,
    pub session_id: String,
    pub username: Option<String>,
    pub calling_station: Option<String>,
    pub called_station: Option<String>,
    pub framed_ip: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub stopped_ms: Option<i64>,
    pub input_octets: i64,
    pub output_octets: i64,
    pub input_packets: i64,
    pub output_packets: i64,
    pub session_time: i64,
    pub terminate_cause: Option<String>,
}

pub struct Accounting<'a> {
    store: &'a Store,
}

pub(super) const SESSION_COLS: &str =
    "id, nas_name, nas_ip, session_id, username, calling_station, \
    called_station, framed_ip, started_ms, updated_ms, stopped_ms, input_octets, output_octets, \
    input_packets, output_packets, session_time, terminate_cause";

/// Session upsert shared by every session status. Counters only grow (a
/// retransmitted older Interim must not roll them back, and a Start carries
/// zeros); identity fields are filled in when first known; the stop time
/// and cause are bound only for a Stop, whose own values win over an
/// earlier close (e.g. by Accounting-On), while any other record leaves
/// them alone (a late Interim does not reopen a stopped session). `CASE`
/// rather than MAX()/GREATEST(), which differ between SQLite and
/// PostgreSQL. One statement for all statuses keeps a batch at one upsert
/// per wave.
const UPSERT: &str = "INSERT INTO acct_sessions (nas_name, nas_ip, session_id, username, \
    calling_station, called_station, framed_ip, started_ms, updated_ms, input_octets, \
    output_octets, input_packets, output_packets, session_time, stopped_ms, terminate_cause, \
    interim_heard_ms) VALUES {rows} ON CONFLICT (nas_name, session_id) DO UPDATE SET \
    username = COALESCE(acct_sessions.username, excluded.username), \
    calling_station = COALESCE(acct_sessions.calling_station, excluded.calling_station), \
    called_station = COALESCE(acct_sessions.called_station, excluded.called_station), \
    framed_ip = COALESCE(acct_sessions.framed_ip, excluded.framed_ip), \
    started_ms = CASE WHEN excluded.started_ms < acct_sessions.started_ms \
        THEN excluded.started_ms ELSE acct_sessions.started_ms END, \
    updated_ms = CASE WHEN excluded.updated_ms > acct_sessions.updated_ms \
        THEN excluded.updated_ms ELSE acct_sessions.updated_ms END, \
    input_octets = CASE WHEN excluded.input_octets > acct_sessions.input_octets \
        THEN excluded.input_octets ELSE acct_sessions.input_octets END, \
    output_octets = CASE WHEN excluded.output_octets > acct_sessions.output_octets \
        THEN excluded.output_octets ELSE acct_sessions.output_octets END, \
    input_packets = CASE WHEN excluded.input_packets > acct_sessions.input_packets \
        THEN excluded.input_packets ELSE acct_sessions.input_packets END, \
    output_packets = CASE WHEN excluded.output_packets > acct_sessions.output_packets \
        THEN excluded.output_packets ELSE acct_sessions.output_packets END, \
    session_time = CASE WHEN excluded.session_time > acct_sessions.session_time \
        THEN excluded.session_time ELSE acct_sessions.session_time END, \
    stopped_ms = COALESCE(excluded.stopped_ms, acct_sessions.stopped_ms), \
    terminate_cause = COALESCE(excluded.terminate_cause, acct_sessions.terminate_cause), \
    interim_heard_ms = CASE WHEN excluded.interim_heard_ms IS NULL \
        THEN acct_sessions.interim_heard_ms \
        WHEN acct_sessions.interim_heard_ms IS NULL \
            OR excluded.interim_heard_ms > acct_sessions.interim_heard_ms \
        THEN excluded.interim_heard_ms ELSE acct_sessions.interim_heard_ms END";

const RAW_INSERT: &str = "INSERT INTO accounting_records (received_ms, event_ms, nas_name, \
    nas_ip, session_id, status, username, calling_station, called_station, framed_ip, \
    input_octets, output_octets, input_packets, output_packets, session_time, \
    terminate_cause) VALUES {rows}";

impl<'a> Accounting<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Accounting { store }
    }

    /// Applies the whole batch in ONE transaction (the server answers each
    /// Accounting-Request only after this returns Ok).
    pub async fn apply_batch(&self, records: &[AcctRecord]) -> Result<()> {
        self.writer().apply_batch(records).await
    }

    /// A writer that keeps one connection across batches: its page cache
    /// stays warm (a pooled connection other writers used since starts
    /// cold) and the accounting statements stay prepared on it.
    pub fn writer(&self) -> AcctWriter {
        AcctWriter {
            conn: BatchConnection::new(self.store),
        }
    }

    pub async fn get(&self, nas_name: &str, session_id: &str) -> Result<Option<AcctSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions WHERE nas_name = $1 AND session_id = $2"
        );
        sqlx::query(&sql)
            .bind(nas_name)
            .bind(session_id)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// Newest sessions first, at most `limit`; only those not stopped when
    /// `open_only`.
    pub async fn list(&self, open_only: bool, limit: i64) -> Result<Vec<AcctSession>> {
        let filter = if open_only {
            "WHERE stopped_ms IS NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions {filter} \
             ORDER BY started_ms DESC, id DESC LIMIT $1"
        );
        sqlx::query(&sql)
            .bind(limit.max(0))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Whether an open session for this client MAC (canonical form) started
    /// at or after `since_ms`: the portal's proof that the AP let it in.
    /// One indexed range read, so a page polling it stays cheap.
    pub async fn open_session_for_mac_since(&self, mac: &str, since_ms: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS hit FROM acct_sessions WHERE started_ms >= $1 \
             AND calling_station = $2 AND stopped_ms IS NULL LIMIT 1",
        )
        .bind(since_ms)
        .bind(mac)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Open sessions of this client MAC (canonical form) started at or
    /// after `since_ms`, newest first, at most 16: which NAS holds the
    /// client and the address it reported (Framed-IP-Address). A range
    /// read of the start-time index.
    pub async fn open_sessions_for_mac(
        &self,
        mac: &str,
        since_ms: i64,
    ) -> Result<Vec<AcctSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions WHERE started_ms >= $1 \
             AND calling_station = $2 AND stopped_ms IS NULL \
             ORDER BY started_ms DESC, id DESC LIMIT 16"
        );
        sqlx::query(&sql)
            .bind(since_ms)
            .bind(mac)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Open sessions with this Acct-Session-Id (on any NAS, or on `nas`).
    pub async fn open_by_session_id(
        &self,
        session_id: &str,
        nas: Option<&str>,
    ) -> Result<Vec<AcctSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions WHERE session_id = $1 \
             AND stopped_ms IS NULL AND ($2 = '' OR nas_name = $3) ORDER BY id LIMIT 16"
        );
        let nas = nas.unwrap_or("");
        sqlx::query(&sql)
            .bind(session_id)
            .bind(nas)
            .bind(nas)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// The newest open session started at or after `since_ms` whose
    /// client reported this address: who is asking, by its IP (the
    /// captive portal API and its landing page).
    pub async fn open_session_for_ip(
        &self,
        ip: &str,
        since_ms: i64,
    ) -> Result<Option<AcctSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions WHERE started_ms >= $1 \
             AND framed_ip = $2 AND stopped_ms IS NULL AND calling_station IS NOT NULL \
             ORDER BY started_ms DESC, id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(since_ms)
            .bind(ip)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// Sessions active at or after `since_ms` (started since, or stopped or
    /// last updated since), ordered by start: for CSV export.
    pub async fn since(&self, since_ms: i64) -> Result<Vec<AcctSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM acct_sessions \
             WHERE started_ms >= $1 OR updated_ms >= $1 OR stopped_ms >= $1 \
             ORDER BY started_ms, id"
        );
        sqlx::query(&sql)
            .bind(since_ms)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Number of raw records in the append-only log.
    pub async fn count_records(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounting_records")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }
}

/// See [`Accounting::writer`].
pub struct AcctWriter {
    conn: BatchConnection,
}

impl AcctWriter {
    /// Applies the whole batch in ONE transaction (on SQLite one round
    /// trip to the database thread: see [`BatchConnection`]).
    pub async fn apply_batch(&mut self, records: &[AcctRecord]) -> Result<()> {
        self.conn.write(&plan(records)).await
    }
}

/// One statement of a batch's transaction.
enum Step<'r> {
    /// Rows of the append-only log.
    Raw(&'r [AcctRecord]),
    /// Session rows, each for a different session.
    Upsert(Vec<&'r AcctRecord>),
    /// Accounting-On/Off.
    CloseNas(&'r AcctRecord),
}

/// The statements for a batch, in order: the raw rows, then the sessions.
/// Accounting-On/Off closes every open session of its NAS, so it is a
/// barrier: what came before it is applied first, what follows after.
/// Between barriers the records go in waves: within a wave each session
/// appears once, so a wave is one multi-row upsert (PostgreSQL refuses a
/// row twice in one ON CONFLICT statement); a session's later records fall
/// into later waves, which keeps their order.
fn plan(records: &[AcctRecord]) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = super::rows::statement_chunks(records)
        .map(Step::Raw)
        .collect();
    for segment in records.split_inclusive(|r| r.status.closes_nas()) {
        let (sessions, barrier) = match segment.split_last() {
            Some((last, before)) if last.status.closes_nas() => (before, Some(last)),
            _ => (segment, None),
        };
        for wave in waves(sessions) {
            steps.extend(super::rows::statement_chunks(&wave).map(|c| Step::Upsert(c.to_vec())));
        }
        steps.extend(barrier.map(Step::CloseNas));
    }
    steps
}

fn waves(records: &[AcctRecord]) -> Vec<Vec<&AcctRecord>> {
    let mut waves: Vec<Vec<&AcctRecord>> = Vec::new();
    let mut seen: std::collections::HashMap<(&str, &str), usize> =
        std::collections::HashMap::with_capacity(records.len());
    for r in records {
        let wave = seen
            .entry((r.nas_name.as_str(), r.session_id.as_str()))
            .or_insert(0);
        if waves.len() <= *wave {
            waves.push(Vec::new());
        }
        waves[*wave].push(r);
        *wave += 1;
    }
    waves
}

impl BatchStatement for Step<'_> {
    fn sql(&self, backend: Backend) -> String {
        let rows = |n, cols| super::rows::values_placeholders(backend, n, cols);
        match self {
            Step::Raw(chunk) => RAW_INSERT.replace("{rows}", &rows(chunk.len(), 16)),
            Step::Upsert(chunk) => UPSERT.replace("{rows}", &rows(chunk.len(), 17)),
            Step::CloseNas(_) => match backend {
                Backend::Sqlite => super::rows::positional(CLOSE_NAS),
                Backend::Postgres => CLOSE_NAS.to_string(),
            },
        }
    }

    fn rows(&self) -> usize {
        match self {
            Step::Raw(chunk) => chunk.len(),
            Step::Upsert(chunk) => chunk.len(),
            Step::CloseNas(_) => 1,
        }
    }

    fn bind<'q>(&'q self, mut q: AnyQuery<'q>) -> AnyQuery<'q> {
        match self {
            Step::Raw(chunk) => {
                for r in *chunk {
                    q = q
                        .bind(r.received_ms)
                        .bind(r.event_ms)
                        .bind(r.nas_name.as_str())
                        .bind(r.nas_ip.as_str())
                        .bind(r.session_id.as_str())
                        .bind(r.status.as_str())
                        .bind(r.username.as_deref())
                        .bind(r.calling_station.as_deref())
                        .bind(r.called_station.as_deref())
                        .bind(r.framed_ip.as_deref())
                        .bind(r.input_octets)
                        .bind(r.output_octets)
                        .bind(r.input_packets)
                        .bind(r.output_packets)
                        .bind(r.session_time)
                        .bind(r.terminate_cause.as_deref());
                }
                q
            }
            Step::Upsert(chunk) => chunk.iter().fold(q, |q, r| bind_session(q, r)),
            // Positional on SQLite (its `?` numbering runs across the
            // fused statements), so every use of the time is bound.
            Step::CloseNas(r) => q
                .bind(r.event_ms)
                .bind(r.event_ms)
                .bind(r.event_ms)
                .bind(r.nas_name.as_str())
                .bind(r.event_ms),
        }
    }
}

/// The 17 values of one session row for [`UPSERT`].
fn bind_session<'q>(q: AnyQuery<'q>, r: &'q AcctRecord) -> AnyQuery<'q> {
    let stop = r.status == AcctStatus::Stop;
    let (started_ms, counters) = match r.status {
        // A Start leaves counters alone (they only grow from zero).
        AcctStatus::Start => (r.event_ms, [0; 5]),
        // Rows first seen mid-session: the start is event time minus the
        // session time so far.
        _ => (
            r.event_ms
                .saturating_sub(r.session_time.max(0).saturating_mul(1000)),
            [
                r.input_octets,
                r.output_octets,
                r.input_packets,
                r.output_packets,
                r.session_time,
            ],
        ),
    };
    let [input_octets, output_octets, input_packets, output_packets, session_time] = counters;
    q.bind(r.nas_name.as_str())
        .bind(r.nas_ip.as_str())
        .bind(r.session_id.as_str())
        .bind(r.username.as_deref())
        .bind(r.calling_station.as_deref())
        .bind(r.called_station.as_deref())
        .bind(r.framed_ip.as_deref())
        .bind(started_ms)
        .bind(r.event_ms)
        .bind(input_octets)
        .bind(output_octets)
        .bind(input_packets)
        .bind(output_packets)
        .bind(session_time)
        .bind(stop.then_some(r.event_ms))
        .bind(if stop {
            r.terminate_cause.as_deref()
        } else {
            None
        })
        // Our clock, for presence: the NAS's may be wrong.
        .bind((r.status == AcctStatus::Interim).then_some(r.received_ms))
}

/// Accounting-On/Off: the NAS lost (or is about to lose) every session, so
/// close those still open. Sessions that started after the event are kept,
/// so that a late retransmission of an old Accounting-On cannot close them.
const CLOSE_NAS: &str = "UPDATE acct_sessions SET stopped_ms = $1, \
    terminate_cause = COALESCE(terminate_cause, 'NAS-Reboot'), \
    updated_ms = CASE WHEN updated_ms > $2 THEN updated_ms ELSE $3 END \
    WHERE nas_name = $4 AND stopped_ms IS NULL AND started_ms <= $5";

pub(super) fn from_row(row: &AnyRow) -> Result<AcctSession> {
    Ok(AcctSession {
        id: row.try_get("id")?,
        nas_name: row.try_get("nas_name")?,
        nas_ip: row.try_get("nas_ip")?,
        session_id: row.try_get("session_id")?,
        username: row.try_get("username")?,
        calling_station: row.try_get("calling_station")?,
        called_station: row.try_get("called_station")?,
        framed_ip: row.try_get("framed_ip")?,
        started_ms: row.try_get("started_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        stopped_ms: row.try_get("stopped_ms")?,
        input_octets: row.try_get("input_octets")?,
        output_octets: row.try_get("output_octets")?,
        input_packets: row.try_get("input_packets")?,
        output_packets: row.try_get("output_packets")?,
        session_time: row.try_get("session_time")?,
        terminate_cause: row.try_get("terminate_cause")?,
    })
}
