//! Alerts: one open row per (source, kind, subject), raised once and
//! cleared on recovery.

use serde::Serialize;
use sqlx::Row;

use super::rows::is_unique_violation;
use super::{Result, Store};

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
            "SELECT id, source, kind, subject, severity, message, raised_ms, cleared_ms FROM alerts {tail}"
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
