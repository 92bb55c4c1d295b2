//! Operational events (NAS unknown, AP down, trap received, ...).

use sqlx::Row;

use super::{Result, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at_ms: i64,
    pub kind: String,
    pub source: String,
    pub severity: String,
    pub message: String,
}

pub struct Events<'a> {
    store: &'a Store,
}

impl<'a> Events<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Events { store }
    }

    /// Returns the new event's id.
    pub async fn record(
        &self,
        kind: &str,
        source: &str,
        severity: &str,
        message: &str,
        at_ms: i64,
    ) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO events (at_ms, kind, source, severity, message) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(at_ms)
        .bind(kind)
        .bind(source)
        .bind(severity)
        .bind(message)
        .fetch_one(&self.store.pool)
        .await?
        .try_get("id")?)
    }

    /// Newest first, at most `limit`.
    pub async fn list(&self, limit: i64) -> Result<Vec<Event>> {
        sqlx::query(
            "SELECT id, at_ms, kind, source, severity, message FROM events \
             ORDER BY at_ms DESC, id DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Event {
                id: r.try_get("id")?,
                at_ms: r.try_get("at_ms")?,
                kind: r.try_get("kind")?,
                source: r.try_get("source")?,
                severity: r.try_get("severity")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
    }
}
