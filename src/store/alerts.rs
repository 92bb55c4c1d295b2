//! Alerts: one open row per (source, kind, subject), raised once and
//! cleared on recovery.

use serde::Serialize;
use sqlx::Row;

use super::rows::is_unique_violation;
use super::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
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

/// A time when alerts for some APs (none listed: all) are not raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub id: i64,
    pub name: String,
    pub aps: Vec<String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub created_at: i64,
}

pub struct Alerts<'a> {
    store: &'a Store,
}

impl<'a> Alerts<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Alerts { store }
    }

    /// Opens an alert; false when the same one is already open.
    pub async fn raise(
        &self,
        source: &str,
        kind: &str,
        subject: &str,
        severity: &str,
        message: &str,
        at_ms: i64,
    ) -> Result<bool> {
        if self.silenced(subject, at_ms).await? {
            tracing::debug!(
                source,
                kind,
                subject,
                "alert not raised: maintenance window"
            );
            return Ok(false);
        }
        let r = sqlx::query(
            "INSERT INTO alerts (source, kind, subject, severity, message, raised_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(source)
        .bind(kind)
        .bind(subject)
        .bind(severity)
        .bind(message)
        .bind(at_ms)
        .execute(&self.store.pool)
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Clears the open alert; false when none was open.
    pub async fn clear(&self, source: &str, kind: &str, subject: &str, at_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE alerts SET cleared_ms = $1 WHERE source = $2 AND kind = $3 AND subject = $4 \
             AND cleared_ms IS NULL",
        )
        .bind(at_ms)
        .bind(source)
        .bind(kind)
        .bind(subject)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Open alerts, newest first.
    pub async fn open(&self) -> Result<Vec<Alert>> {
        self.query(
            "WHERE cleared_ms IS NULL ORDER BY raised_ms DESC, id DESC",
            None,
        )
        .await
    }

    pub async fn exists(&self, id: i64) -> Result<bool> {
        Ok(sqlx::query("SELECT id FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .is_some())
    }

    /// Marks an alert as seen by `by`; false when there is no such alert.
    pub async fn ack(&self, id: i64, by: &str, at_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE alerts SET acked_ms = $1, acked_by = $2 WHERE id = $3 AND acked_ms IS NULL",
        )
        .bind(at_ms)
        .bind(by)
        .bind(id)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Whether a maintenance window covers `subject` (an AP name) now.
    pub async fn silenced(&self, subject: &str, at_ms: i64) -> Result<bool> {
        Ok(self.windows(at_ms).await?.iter().any(|w| {
            w.starts_at <= at_ms && (w.aps.is_empty() || w.aps.iter().any(|a| a == subject))
        }))
    }

    /// Maintenance windows not yet over at `now_ms`, soonest first.
    pub async fn windows(&self, now_ms: i64) -> Result<Vec<MaintenanceWindow>> {
        sqlx::query(
            "SELECT id, name, aps, starts_at, ends_at, created_by, created_at \
             FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at, id",
        )
        .bind(now_ms)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            let aps: String = r.try_get("aps")?;
            Ok(MaintenanceWindow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                aps: serde_json::from_str(&aps)
                    .map_err(|e| StoreError::Invalid(format!("maintenance window APs: {e}")))?,
                starts_at: r.try_get("starts_at")?,
                ends_at: r.try_get("ends_at")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
    }

    pub async fn add_window(
        &self,
        name: &str,
        aps: &[String],
        starts_at: i64,
        ends_at: i64,
        by: &str,
        now_ms: i64,
    ) -> Result<i64> {
        if ends_at <= starts_at {
            return Err(StoreError::Invalid(
                "a maintenance window must end after it starts".into(),
            ));
        }
        let aps = serde_json::to_string(aps).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO maintenance_windows (name, aps, starts_at, ends_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(aps)
        .bind(starts_at)
        .bind(ends_at)
        .bind(by)
        .bind(now_ms)
        .fetch_one(&self.store.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    pub async fn remove_window(&self, id: i64) -> Result<bool> {
        let n = sqlx::query("DELETE FROM maintenance_windows WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// All alerts, newest first, at most `limit`.
    pub async fn list(&self, limit: i64) -> Result<Vec<Alert>> {
        self.query(
            "ORDER BY raised_ms DESC, id DESC LIMIT $1",
            Some(limit.max(0)),
        )
        .await
    }

    async fn query(&self, tail: &str, limit: Option<i64>) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT id, source, kind, subject, severity, message, raised_ms, cleared_ms, acked_ms, \
             acked_by FROM alerts {tail}"
        );
        let mut q = sqlx::query(&sql);
        if let Some(l) = limit {
            q = q.bind(l);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Alert {
                    id: r.try_get("id")?,
                    source: r.try_get("source")?,
                    kind: r.try_get("kind")?,
                    subject: r.try_get("subject")?,
                    severity: r.try_get("severity")?,
                    message: r.try_get("message")?,
                    raised_ms: r.try_get("raised_ms")?,
                    cleared_ms: r.try_get("cleared_ms")?,
                    acked_ms: r.try_get("acked_ms")?,
                    acked_by: r.try_get("acked_by")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::both;

    #[tokio::test]
    async fn raised_once_cleared_once() {
        both(|h| async move {
            let a = h.store.alerts();
            assert!(a
                .raise("ap1", "ap-down", "ap1", "critical", "AP ap1 is down", 1)
                .await
                .unwrap());
            assert!(!a
                .raise("ap1", "ap-down", "ap1", "critical", "again", 2)
                .await
                .unwrap());
            assert_eq!(a.open().await.unwrap().len(), 1);
            assert!(a.clear("ap1", "ap-down", "ap1", 3).await.unwrap());
            assert!(!a.clear("ap1", "ap-down", "ap1", 4).await.unwrap());
            assert!(a.open().await.unwrap().is_empty());
            // A new episode opens a new row.
            assert!(a
                .raise("ap1", "ap-down", "ap1", "critical", "down again", 5)
                .await
                .unwrap());
            let all = a.list(10).await.unwrap();
            assert_eq!(all.len(), 2);
            assert_eq!(all[1].cleared_ms, Some(3));
        })
        .await;
    }
}
