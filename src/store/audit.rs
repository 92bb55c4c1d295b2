//! The audit trail: one row per change, sign-in and token use, append-only
//! and chained. Each row's `hash` is an HMAC (key derived from the data
//! key, outside the database) over its fields and the previous row's hash,
//! so a row changed, removed or inserted in the database alone shows up in
//! [`AuditLog::verify`]. The tables refuse UPDATE always and DELETE except
//! inside [`AuditLog::prune`], which leaves a row saying what it removed
//! and the hash the remaining chain starts from.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::from_json;
use super::{Backend, Result, Store, StoreError, Tx};

/// What happened, before it is numbered and chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Account name, or the OS user for the CLI.
    pub actor: String,
    /// The actor's role (`cli` for the command line, `-` when unknown,
    /// e.g. a failed sign-in with an unknown name).
    pub role: String,
    /// Client IP address, or `cli`.
    pub origin: String,
    /// Dotted verb, e.g. `user.create`, `admin.sign-in`.
    pub action: String,
    /// What it acted on (a name, MAC, id), or "".
    pub target: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// JSON: before/after of changed fields, never secrets.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub summary: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub rows: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The first row that does not check out, and why.
    pub broken: Option<(i64, String)>,
}

/// Filters of the audit page and API. `before_seq` is the cursor.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub actor: Option<String>,
    /// Matches the action exactly or as a prefix before a dot
    /// (`user` matches `user.create`).
    pub action: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// What [`AuditLog::prune`] records in its own row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PruneMark {
    pub through_seq: i64,
    pub anchor: String,
    pub rows: u64,
}

const COLS: &str =
    "seq, at_ms, actor, role, origin, action, target, outcome, summary, prev_hash, hash";
pub const PRUNE_ACTION: &str = "audit.prune";

pub struct AuditLog<'a> {
    store: &'a Store,
}

/// The bytes the MAC covers: every field, length-prefixed so that no two
/// different rows share an encoding.
fn chained_bytes(seq: i64, e: &AuditEntry, prev_hash: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + e.summary.len());
    let seq = seq.to_string();
    let at = e.at_ms.to_string();
    for field in [
        seq.as_str(),
        at.as_str(),
        &e.actor,
        &e.role,
        &e.origin,
        &e.action,
        &e.target,
        &e.outcome,
        &e.summary,
        prev_hash,
    ] {
        out.extend_from_slice(field.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(field.as_bytes());
        out.push(b'\n');
    }
    out
}

impl<'a> AuditLog<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        AuditLog { store }
    }

    /// Numbers, chains and stores one entry.
    pub async fn append(&self, entry: &AuditEntry) -> Result<AuditRow> {
        let mut tx = self.store.begin_write().await?;
        let row = self.append_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn append_in(&self, tx: &mut Tx, e: &AuditEntry) -> Result<AuditRow> {
        // The head row serializes writers on both backends (SQLite's write
        // transaction already does; PostgreSQL needs the row lock).
        let lock = match self.store.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let head = sqlx::query(&format!(
            "SELECT seq, hash FROM audit_head WHERE id = 1{lock}"
        ))
        .fetch_one(&mut **tx)
        .await?;
        let prev_seq: i64 = head.try_get("seq")?;
        let prev_hash: String = head.try_get("hash")?;
        let seq = prev_seq + 1;
        let hash = self
            .store
            .secrets()
            .audit_mac(&chained_bytes(seq, e, &prev_hash));
        sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, role, origin, action, target, outcome, \
             summary, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(seq)
        .bind(e.at_ms)
        .bind(&e.actor)
        .bind(&e.role)
        .bind(&e.origin)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.outcome)
        .bind(&e.summary)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        Ok(AuditRow {
            seq,
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            role: e.role.clone(),
            origin: e.origin.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.clone(),
            summary: e.summary.clone(),
            prev_hash,
            hash,
        })
    }

    /// Newest first, filtered; at most `limit` (1..=1000) rows.
    pub async fn search(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut sql = format!("SELECT {COLS} FROM audit_log WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if q.since_ms.is_some() {
            sql.push_str(&format!(" AND at_ms >= ${}", next()));
        }
        if q.until_ms.is_some() {
            sql.push_str(&format!(" AND at_ms < ${}", next()));
        }
        if q.actor.is_some() {
            sql.push_str(&format!(" AND actor = ${}", next()));
        }
        if q.action.is_some() {
            let (a, b) = (next(), next());
            sql.push_str(&format!(
                " AND (action = ${a} OR action LIKE ${b} ESCAPE '\\')"
            ));
        }
        if q.before_seq.is_some() {
            sql.push_str(&format!(" AND seq < ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", next()));
        let mut query = sqlx::query(&sql);
        if let Some(v) = q.since_ms {
            query = query.bind(v);
        }
        if let Some(v) = q.until_ms {
            query = query.bind(v);
        }
        if let Some(v) = &q.actor {
            query = query.bind(v.clone());
        }
        if let Some(v) = &q.action {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query = query.bind(v.clone()).bind(format!("{escaped}.%"));
        }
        if let Some(v) = q.before_seq {
            query = query.bind(v);
        }
        query = query.bind(q.limit.clamp(1, 1000));
        query
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(row_from)
            .collect()
    }

    /// Rows with `seq > after_seq` and `at_ms >= since_ms`, oldest first,
    /// at most `limit`: the export and verification read in pages of this.
    pub async fn page(&self, after_seq: i64, since_ms: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {COLS} FROM audit_log WHERE seq > $1 AND at_ms >= $2 ORDER BY seq LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(after_seq)
            .bind(since_ms)
            .bind(limit)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(row_from)
            .collect()
    }

    /// Checks every row: consecutive numbers, each row's `prev_hash` the
    /// hash of the one before, each hash the MAC of the row, the head at
    /// the last row, and rows before the first one removed only by a
    /// recorded prune. Reads in pages, so memory stays flat.
    pub async fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            rows: 0,
            first_seq: None,
            last_seq: None,
            broken: None,
        };
        let mut prev: Option<(i64, String)> = None;
        let mut anchors: Vec<PruneMark> = Vec::new();
        let mut first_prev_hash = String::new();
        let secrets = self.store.secrets();
        'pages: loop {
            let after = prev.as_ref().map_or(0, |(s, _)| *s);
            let rows = self.page(after, i64::MIN, 5_000).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                report.rows += 1;
                match &prev {
                    None => {
                        report.first_seq = Some(r.seq);
                        first_prev_hash = r.prev_hash.clone();
                        if r.seq == 1 && !r.prev_hash.is_empty() {
                            report.broken =
                                Some((r.seq, "the first row names a row before it".into()));
                            break 'pages;
                        }
                    }
                    Some((seq, hash)) => {
                        if r.seq != seq + 1 {
                            report.broken = Some((
                                seq + 1,
                                format!("rows {} to {} are missing", seq + 1, r.seq - 1),
                            ));
                            break 'pages;
                        }
                        if &r.prev_hash != hash {
                            report.broken =
                                Some((r.seq, "its link to the row before does not match".into()));
                            break 'pages;
                        }
                    }
                }
                let entry = AuditEntry {
                    at_ms: r.at_ms,
                    actor: r.actor.clone(),
                    role: r.role.clone(),
                    origin: r.origin.clone(),
                    action: r.action.clone(),
                    target: r.target.clone(),
                    outcome: r.outcome.clone(),
                    summary: r.summary.clone(),
                };
                let expected = secrets.audit_mac(&chained_bytes(r.seq, &entry, &r.prev_hash));
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    expected.as_bytes(),
                    r.hash.as_bytes(),
                )) {
                    report.broken = Some((r.seq, "its contents were changed".into()));
                    break 'pages;
                }
                if r.action == PRUNE_ACTION {
                    if let Ok(mark) = from_json::<PruneMark>(&r.summary, "prune mark") {
                        anchors.push(mark);
                    }
                }
                prev = Some((r.seq, r.hash));
            }
        }
        report.last_seq = prev.as_ref().map(|(s, _)| *s);
        if report.broken.is_some() {
            return Ok(report);
        }
        if let Some(first) = report.first_seq.filter(|s| *s > 1) {
            let recorded = anchors
                .iter()
                .any(|m| m.through_seq == first - 1 && m.anchor == first_prev_hash);
            if !recorded {
                report.broken = Some((
                    first - 1,
                    format!(
                        "rows up to {} were removed without a recorded prune",
                        first - 1
                    ),
                ));
                return Ok(report);
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.store.pool)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let (last_seq, last_hash) = prev.unwrap_or((0, String::new()));
        if head_seq != last_seq || head_hash != last_hash {
            report.broken = Some((
                last_seq + 1,
                format!("the trail ends at row {last_seq} but was written up to row {head_seq}"),
            ));
        }
        Ok(report)
    }

    /// Removes rows older than `before_ms` and records it in a row written
    /// by `entry` (its summary is replaced by the prune mark). Returns the
    /// number of rows removed (0: nothing was old enough, nothing written).
    pub async fn prune(&self, before_ms: i64, entry: &AuditEntry) -> Result<u64> {
        let mut tx = self.store.begin_write().await?;
        let last_old = sqlx::query(
            "SELECT seq, hash FROM audit_log WHERE at_ms < $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(before_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(last_old) = last_old else {
            return Ok(0);
        };
        let through_seq: i64 = last_old.try_get("seq")?;
        let anchor: String = last_old.try_get("hash")?;
        let set_pruning =
            |on: bool| sqlx::query("UPDATE audit_head SET pruning = $1 WHERE id = 1").bind(on);
        set_pruning(true).execute(&mut *tx).await?;
        let rows = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
            .bind(through_seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        set_pruning(false).execute(&mut *tx).await?;
        let mark = PruneMark {
            through_seq,
            anchor,
            rows,
        };
        let mut entry = entry.clone();
        entry.action = PRUNE_ACTION.to_string();
        entry.summary = serde_json::to_string(&mark)
            .map_err(|e| StoreError::Invalid(format!("prune mark: {e}")))?;
        self.append_in(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

fn row_from(r: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        role: r.try_get("role")?,
        origin: r.try_get("origin")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        outcome: r.try_get("outcome")?,
        summary: r.try_get("summary")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}
