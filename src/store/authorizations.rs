//! Access granted by the portal to a device MAC until an expiry; the AP's
//! MAC-auth request is then accepted for the remaining time.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{clean_groups, from_json, now_ms, to_json};
use super::{Result, Store, StoreError};
use crate::domain::MacAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub id: i64,
    pub mac: MacAddr,
    pub identity: String,
    pub method: String,
    pub groups: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub struct Authorizations<'a> {
    store: &'a Store,
}

const AUTH_COLS: &str = "id, mac, identity, method, groups, created_at, expires_at, revoked_at";

impl<'a> Authorizations<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Authorizations { store }
    }

    pub async fn grant(
        &self,
        mac: MacAddr,
        identity: &str,
        method: &str,
        groups: &[String],
        expires_at: i64,
    ) -> Result<Authorization> {
        let groups = clean_groups(groups)?;
        let sql = format!(
            "INSERT INTO authorizations (mac, identity, method, groups, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {AUTH_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(mac.to_string())
            .bind(identity)
            .bind(method)
            .bind(to_json(&groups)?)
            .bind(now_ms())
            .bind(expires_at)
            .fetch_one(&self.store.pool)
            .await?;
        from_row(&row)
    }

    /// The latest unrevoked grant for the MAC that expires after `now_ms`.
    pub async fn active(&self, mac: MacAddr, now_ms: i64) -> Result<Option<Authorization>> {
        let sql = format!(
            "SELECT {AUTH_COLS} FROM authorizations \
             WHERE mac = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(mac.to_string())
            .bind(now_ms)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// Revokes every still-active grant for the MAC; returns how many.
    pub async fn revoke(&self, mac: MacAddr, now_ms: i64) -> Result<usize> {
        let n = sqlx::query(
            "UPDATE authorizations SET revoked_at = $1 \
             WHERE mac = $2 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now_ms)
        .bind(mac.to_string())
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// All unrevoked, unexpired grants, soonest expiry first.
    pub async fn list_active(&self, now_ms: i64) -> Result<Vec<Authorization>> {
        let sql = format!(
            "SELECT {AUTH_COLS} FROM authorizations \
             WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY expires_at, id"
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}

fn from_row(row: &AnyRow) -> Result<Authorization> {
    let mac: String = row.try_get("mac")?;
    Ok(Authorization {
        id: row.try_get("id")?,
        mac: MacAddr::parse(&mac)
            .map_err(|_| StoreError::Invalid(format!("stored authorization MAC {mac:?}")))?,
        identity: row.try_get("identity")?,
        method: row.try_get("method")?,
        groups: from_json(&row.try_get::<String, _>("groups")?, "authorization groups")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
