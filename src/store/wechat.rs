//! WeChat and WeCom for the portal: identities linked to staff accounts,
//! and the one-time tickets behind QR codes (the waiting device polls,
//! the phone completes). Only a ticket's SHA-256 is stored.

use sqlx::Row;

use super::rows::conflict_or;
use super::{Result, Store, StoreError};

pub struct WechatLinks<'a> {
    store: &'a Store,
}

fn check_kind(kind: &str) -> Result<()> {
    if matches!(kind, "wechat" | "wecom") {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "link kind {kind:?}: expected wechat or wecom"
        )))
    }
}

impl<'a> WechatLinks<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        WechatLinks { store }
    }

    /// Links an openid (wechat) or userid (wecom) to a staff username.
    pub async fn link(
        &self,
        kind: &str,
        external_id: &str,
        username: &str,
        now_ms: i64,
    ) -> Result<()> {
        check_kind(kind)?;
        if external_id.trim().is_empty() {
            return Err(StoreError::Invalid("external id is empty".into()));
        }
        sqlx::query(
            "INSERT INTO wechat_links (kind, external_id, username, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(kind)
        .bind(external_id)
        .bind(username)
        .bind(now_ms)
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("{kind} link {external_id}")))?;
        Ok(())
    }

    pub async fn username(&self, kind: &str, external_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT username FROM wechat_links WHERE kind = $1 AND external_id = $2")
                .bind(kind)
                .bind(external_id)
                .fetch_optional(&self.store.pool)
                .await?
                .map(|r| r.try_get::<String, _>("username"))
                .transpose()?,
        )
    }

    /// Every link: (kind, external id, username, linked at), by username.
    pub async fn all(&self) -> Result<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, external_id, username, created_at FROM wechat_links \
             ORDER BY username, kind, external_id",
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    r.try_get("external_id")?,
                    r.try_get("username")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    /// A staff member's links: (kind, external id, linked at).
    pub async fn links_of(&self, username: &str) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, external_id, created_at FROM wechat_links WHERE username = $1 \
             ORDER BY kind, external_id",
        )
        .bind(username)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    r.try_get("external_id")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    pub async fn unlink(&self, kind: &str, external_id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM wechat_links WHERE kind = $1 AND external_id = $2")
            .bind(kind)
            .bind(external_id)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub context: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub identity: Option<String>,
    pub method: Option<String>,
    pub completed_at: Option<i64>,
}

pub struct Tickets<'a> {
    store: &'a Store,
}

impl<'a> Tickets<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Tickets { store }
    }

    pub async fn create(
        &self,
        ticket_hash: &str,
        context: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_tickets (ticket_hash, context, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_hash)
        .bind(context)
        .bind(now_ms)
        .bind(expires_at)
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || "ticket".into()))?;
        Ok(())
    }

    pub async fn get(&self, ticket_hash: &str) -> Result<Option<Ticket>> {
        let Some(r) = sqlx::query(
            "SELECT context, created_at, expires_at, opened_at, identity, method, completed_at \
             FROM portal_tickets WHERE ticket_hash = $1",
        )
        .bind(ticket_hash)
        .fetch_optional(&self.store.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(Ticket {
            context: r.try_get("context")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            consumed_at: r.try_get("opened_at")?,
            identity: r.try_get("identity")?,
            method: r.try_get("method")?,
            completed_at: r.try_get("completed_at")?,
        }))
    }

    /// Records who signed in; only once, only before expiry.
    pub async fn complete(
        &self,
        ticket_hash: &str,
        identity: &str,
        method: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE portal_tickets SET identity = $1, method = $2, completed_at = $3 \
             WHERE ticket_hash = $4 AND completed_at IS NULL AND expires_at > $3",
        )
        .bind(identity)
        .bind(method)
        .bind(now_ms)
        .bind(ticket_hash)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Deletes tickets that expired before `before_ms`; returns how many.
    pub async fn purge(&self, before_ms: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM portal_tickets WHERE expires_at < $1")
                .bind(before_ms)
                .execute(&self.store.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Takes a completed ticket for the waiting device; true once.
    pub async fn consume(&self, ticket_hash: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE portal_tickets SET opened_at = $1 \
             WHERE ticket_hash = $2 AND completed_at IS NOT NULL AND opened_at IS NULL",
        )
        .bind(now_ms)
        .bind(ticket_hash)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::both;
    use crate::store::StoreError;

    #[tokio::test]
    async fn links_and_tickets() {
        both(|h| async move {
            let l = h.store.wechat_links();
            l.link("wechat", "o-1", "alice", 1).await.unwrap();
            assert!(matches!(
                l.link("wechat", "o-1", "bob", 1).await,
                Err(StoreError::Conflict(_))
            ));
            assert!(matches!(
                l.link("qq", "x", "bob", 1).await,
                Err(StoreError::Invalid(_))
            ));
            assert_eq!(
                l.username("wechat", "o-1").await.unwrap().as_deref(),
                Some("alice")
            );
            assert_eq!(l.username("wecom", "o-1").await.unwrap(), None);
            assert!(l.unlink("wechat", "o-1").await.unwrap());

            let t = h.store.tickets();
            t.create("h", "{}", 1_000, 10_000).await.unwrap();
            assert!(!t.consume("h", 2_000).await.unwrap(), "not completed yet");
            assert!(t.complete("h", "alice", "wechat", 2_000).await.unwrap());
            assert!(
                !t.complete("h", "bob", "wechat", 2_000).await.unwrap(),
                "once"
            );
            assert!(t.consume("h", 3_000).await.unwrap());
            assert!(!t.consume("h", 3_000).await.unwrap(), "once");
            let got = t.get("h").await.unwrap().unwrap();
            assert_eq!(got.identity.as_deref(), Some("alice"));
            t.create("late", "{}", 1_000, 2_000).await.unwrap();
            assert!(
                !t.complete("late", "alice", "wechat", 2_000).await.unwrap(),
                "expired"
            );
        })
        .await;
    }
}
