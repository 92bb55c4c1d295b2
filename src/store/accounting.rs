//! RADIUS accounting: one row per session, kept idempotent under NAS
//! retransmission and reordering, plus an append-only copy of every request
//! (the legal log: who had which address when).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Result, Store};

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

const SESSION_COLS: &str = "id, nas_name, nas_ip, session_id, username, calling_station, \
    called_station, framed_ip, started_ms, updated_ms, stopped_ms, input_octets, output_octets, \
    input_packets, output_packets, session_time, terminate_cause";

/// Session upsert shared by the three session statuses. `$15` is the
/// stopped time (NULL unless Stop). Counters only grow (a retransmitted
/// older Interim must not roll them back); identity fields are filled in
/// when first known. `CASE` rather than MAX()/GREATEST(), which differ
/// between SQLite and PostgreSQL.
const UPSERT_INSERT: &str = "INSERT INTO acct_sessions (nas_name, nas_ip, session_id, username, \
    calling_station, called_station, framed_ip, started_ms, updated_ms, input_octets, \
    output_octets, input_packets, output_packets, session_time, stopped_ms, terminate_cause)";

const UPSERT_CONFLICT: &str = "ON CONFLICT (nas_name, session_id) DO UPDATE SET \
    username = COALESCE(acct_sessions.username, excluded.username), \
    calling_station = COALESCE(acct_sessions.calling_station, excluded.calling_station), \
    called_station = COALESCE(acct_sessions.called_station, excluded.called_station), \
    framed_ip = COALESCE(acct_sessions.framed_ip, excluded.framed_ip), \
    started_ms = CASE WHEN excluded.started_ms < acct_sessions.started_ms \
        THEN excluded.started_ms ELSE acct_sessions.started_ms END";

const UPSERT_COUNTERS: &str = ", \
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
        THEN excluded.session_time ELSE acct_sessions.session_time END";

/// A Stop's own time and cause win over an earlier close (e.g. by
/// Accounting-On), and a retransmitted Stop writes the same values again.
const UPSERT_STOP: &str = ", stopped_ms = excluded.stopped_ms, \
    terminate_cause = COALESCE(excluded.terminate_cause, acct_sessions.terminate_cause)";

impl<'a> Accounting<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Accounting { store }
    }

    /// Applies the whole batch in ONE transaction (the server answers each
    /// Accounting-Request only after this returns Ok).
    pub async fn apply_batch(&self, records: &[AcctRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin_write().await?;
        let backend = self.store.backend();
        insert_raw(&mut tx, backend, records).await?;
        // Accounting-On/Off closes every open session of its NAS, so it is
        // a barrier: what came before it is applied first, what follows after.
        let mut rest = records;
        loop {
            let barrier = rest
                .iter()
                .position(|r| matches!(r.status, AcctStatus::On | AcctStatus::Off));
            match barrier {
                Some(i) => {
                    apply_sessions(&mut tx, backend, &rest[..i]).await?;
                    close_nas(&mut tx, &rest[i]).await?;
                    rest = &rest[i + 1..];
                }
                None => {
                    apply_sessions(&mut tx, backend, rest).await?;
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(())
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

async fn insert_raw(
    conn: &mut AnyConnection,
    backend: super::Backend,
    records: &[AcctRecord],
) -> Result<()> {
    // 16 columns x 32 rows: under every backend's bound-parameter limit.
    for chunk in super::rows::statement_chunks(records) {
        let sql = format!(
            "INSERT INTO accounting_records (received_ms, event_ms, nas_name, nas_ip, session_id, \
             status, username, calling_station, called_station, framed_ip, input_octets, \
             output_octets, input_packets, output_packets, session_time, terminate_cause) \
             VALUES {}",
            super::rows::values_placeholders(backend, chunk.len(), 16)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
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
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Session rows for records without On/Off among them, in waves: within a
/// wave each session appears once, so the wave's records can go by status
/// into one multi-row statement each (PostgreSQL refuses a row twice in one
/// ON CONFLICT statement); a session's later records fall into later waves,
/// which keeps their order. A batch of 64 mixed records then costs three
/// statements instead of one per change of status.
async fn apply_sessions(
    conn: &mut AnyConnection,
    backend: super::Backend,
    records: &[AcctRecord],
) -> Result<()> {
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
    for wave in &waves {
        for status in [AcctStatus::Start, AcctStatus::Interim, AcctStatus::Stop] {
            let run: Vec<&AcctRecord> = wave
                .iter()
                .copied()
                .filter(|r| r.status == status)
                .collect();
            upsert_sessions(&mut *conn, backend, &run).await?;
        }
    }
    Ok(())
}

/// Multi-row upserts for records of the same status (Start, Interim or
/// Stop), each for a different session.
async fn upsert_sessions(
    conn: &mut AnyConnection,
    backend: super::Backend,
    run: &[&AcctRecord],
) -> Result<()> {
    for chunk in super::rows::statement_chunks(run) {
        upsert_chunk(&mut *conn, backend, chunk).await?;
    }
    Ok(())
}

async fn upsert_chunk(
    conn: &mut AnyConnection,
    backend: super::Backend,
    run: &[&AcctRecord],
) -> Result<()> {
    let Some(first) = run.first() else {
        return Ok(());
    };
    let tail = match first.status {
        // Start twice (retransmission) leaves the counters alone.
        AcctStatus::Start => String::new(),
        AcctStatus::Interim => UPSERT_COUNTERS.to_string(),
        // A Stop for an unknown session creates the row: no data lost.
        AcctStatus::Stop => format!("{UPSERT_COUNTERS}{UPSERT_STOP}"),
        AcctStatus::On | AcctStatus::Off => return Ok(()),
    };
    let sql = format!(
        "{UPSERT_INSERT} VALUES {} {UPSERT_CONFLICT}{tail}",
        super::rows::values_placeholders(backend, run.len(), 16)
    );
    let mut q = sqlx::query(&sql);
    for r in run {
        let started_ms = match r.status {
            AcctStatus::Start => r.event_ms,
            // Rows first seen mid-session: the start is event time minus the
            // session time so far.
            _ => r
                .event_ms
                .saturating_sub(r.session_time.max(0).saturating_mul(1000)),
        };
        let stopped_ms = (r.status == AcctStatus::Stop).then_some(r.event_ms);
        let terminate_cause = if r.status == AcctStatus::Stop {
            r.terminate_cause.as_deref()
        } else {
            None
        };
        q = q
            .bind(r.nas_name.as_str())
            .bind(r.nas_ip.as_str())
            .bind(r.session_id.as_str())
            .bind(r.username.as_deref())
            .bind(r.calling_station.as_deref())
            .bind(r.called_station.as_deref())
            .bind(r.framed_ip.as_deref())
            .bind(started_ms)
            .bind(r.event_ms)
            .bind(r.input_octets)
            .bind(r.output_octets)
            .bind(r.input_packets)
            .bind(r.output_packets)
            .bind(r.session_time)
            .bind(stopped_ms)
            .bind(terminate_cause);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Accounting-On/Off: the NAS lost (or is about to lose) every session, so
/// close those still open. Sessions that started after the event are kept,
/// so that a late retransmission of an old Accounting-On cannot close them.
async fn close_nas(conn: &mut AnyConnection, r: &AcctRecord) -> Result<()> {
    sqlx::query(
        "UPDATE acct_sessions SET stopped_ms = $1, \
         terminate_cause = COALESCE(terminate_cause, 'NAS-Reboot'), \
         updated_ms = CASE WHEN updated_ms > $1 THEN updated_ms ELSE $1 END \
         WHERE nas_name = $2 AND stopped_ms IS NULL AND started_ms <= $1",
    )
    .bind(r.event_ms)
    .bind(&r.nas_name)
    .execute(conn)
    .await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<AcctSession> {
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
