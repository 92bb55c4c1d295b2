//! Portal sessions: a device signed in through the captive portal. The
//! browser holds a random token (cookie); the table keeps its SHA-256 so a
//! copy of the database gives no usable cookies.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{clean_groups, from_json, to_json};
use super::{Result, Store, StoreError};
use crate::domain::MacAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPortalSession {
    pub token_hash: String,
    pub mac: MacAddr,
    pub ip: Option<String>,
    pub identity: String,
    pub method: String,
    pub phone: Option<String>,
    pub groups: Vec<String>,
    pub profile: String,
    pub ssid: Option<String>,
    pub ap_mac: Option<String>,
    pub authorization_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalSession {
    pub id: i64,
    pub mac: MacAddr,
    pub ip: Option<String>,
    pub identity: String,
    pub method: String,
    pub phone: Option<String>,
    pub groups: Vec<String>,
    pub profile: String,
    pub ssid: Option<String>,
    pub ap_mac: Option<String>,
    pub authorization_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl PortalSession {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now_ms
    }
}

pub struct PortalSessions<'a> {
    store: &'a Store,
}

const COLS: &str = "id, mac, ip, identity, method, phone, groups, profile, ssid, ap_mac, \
                    authorization_id, created_at, expires_at, ended_at";

impl<'a> PortalSessions<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        PortalSessions { store }
    }

    pub async fn create(&self, s: &NewPortalSession) -> Result<PortalSession> {
        if s.token_hash.is_empty() {
            return Err(StoreError::Invalid("portal session token is empty".into()));
        }
        let groups = clean_groups(&s.groups)?;
        let sql = format!(
            "INSERT INTO portal_sessions (token_hash, mac, ip, identity, method, phone, groups, \
             profile, ssid, ap_mac, authorization_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(&s.token_hash)
            .bind(s.mac.to_string())
            .bind(&s.ip)
            .bind(&s.identity)
            .bind(&s.method)
            .bind(&s.phone)
            .bind(to_json(&groups)?)
            .bind(&s.profile)
            .bind(&s.ssid)
            .bind(&s.ap_mac)
            .bind(s.authorization_id)
            .bind(s.created_at)
            .bind(s.expires_at)
            .fetch_one(&self.store.pool)
            .await
            .map_err(|e| super::rows::conflict_or(e, || "portal session token".into()))?;
        from_row(&row)
    }

    /// The session behind a cookie token hash, ended or expired included.
    pub async fn by_token(&self, token_hash: &str) -> Result<Option<PortalSession>> {
        let sql = format!("SELECT {COLS} FROM portal_sessions WHERE token_hash = $1");
        sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// The newest active session of a client address (RFC 8908 API).
    pub async fn active_by_ip(&self, ip: &str, now_ms: i64) -> Result<Option<PortalSession>> {
        let sql = format!(
            "SELECT {COLS} FROM portal_sessions \
             WHERE ip = $1 AND ended_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(ip)
            .bind(now_ms)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// The newest active session of a device.
    pub async fn active_by_mac(&self, mac: MacAddr, now_ms: i64) -> Result<Option<PortalSession>> {
        let sql = format!(
            "SELECT {COLS} FROM portal_sessions \
             WHERE mac = $1 AND ended_at IS NULL AND expires_at > $2 \
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

    /// Ends the session (sign-out or revocation); false if it had ended.
    pub async fn end(&self, id: i64, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Sessions that expired (not ended) since `since_ms`: the gateway
    /// removes them from its sets.
    pub async fn expired_between(&self, since_ms: i64, now_ms: i64) -> Result<Vec<PortalSession>> {
        let sql = format!(
            "SELECT {COLS} FROM portal_sessions \
             WHERE ended_at IS NULL AND expires_at > $1 AND expires_at <= $2 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(since_ms)
            .bind(now_ms)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Active sessions, soonest expiry first.
    pub async fn list_active(&self, now_ms: i64) -> Result<Vec<PortalSession>> {
        let sql = format!(
            "SELECT {COLS} FROM portal_sessions \
             WHERE ended_at IS NULL AND expires_at > $1 ORDER BY expires_at, id"
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Deletes sessions that ended or expired before `before_ms` (kept
    /// until then as the record of who used which device and number).
    pub async fn purge(&self, before_ms: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM portal_sessions WHERE expires_at < $1 OR ended_at < $1")
                .bind(before_ms)
                .execute(&self.store.pool)
                .await?
                .rows_affected(),
        )
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM portal_sessions")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }
}

fn from_row(row: &AnyRow) -> Result<PortalSession> {
    let mac: String = row.try_get("mac")?;
    Ok(PortalSession {
        id: row.try_get("id")?,
        mac: MacAddr::parse(&mac)
            .map_err(|_| StoreError::Invalid(format!("stored portal session MAC {mac:?}")))?,
        ip: row.try_get("ip")?,
        identity: row.try_get("identity")?,
        method: row.try_get("method")?,
        phone: row.try_get("phone")?,
        groups: from_json(
            &row.try_get::<String, _>("groups")?,
            "portal session groups",
        )?,
        profile: row.try_get("profile")?,
        ssid: row.try_get("ssid")?,
        ap_mac: row.try_get("ap_mac")?,
        authorization_id: row.try_get("authorization_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        ended_at: row.try_get("ended_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::both;

    fn new_session(token: &str, mac: &str, ip: &str, expires_at: i64) -> NewPortalSession {
        NewPortalSession {
            token_hash: token.into(),
            mac: MacAddr::parse(mac).unwrap(),
            ip: Some(ip.into()),
            identity: "alice".into(),
            method: "staff".into(),
            phone: None,
            groups: vec!["staff".into()],
            profile: "unifi".into(),
            ssid: Some("Office".into()),
            ap_mac: None,
            authorization_id: Some(1),
            created_at: 1_000,
            expires_at,
        }
    }

    #[tokio::test]
    async fn create_find_end() {
        both(|h| async move {
            let s = h.store.portal_sessions();
            let a = s
                .create(&new_session("t1", "aa:bb:cc:00:00:01", "10.0.0.5", 10_000))
                .await
                .unwrap();
            assert!(matches!(
                s.create(&new_session("t1", "aa:bb:cc:00:00:02", "10.0.0.6", 10_000))
                    .await,
                Err(StoreError::Conflict(_))
            ));
            assert_eq!(s.by_token("t1").await.unwrap().unwrap().id, a.id);
            assert!(s.by_token("nope").await.unwrap().is_none());
            let by_ip = s.active_by_ip("10.0.0.5", 5_000).await.unwrap().unwrap();
            assert_eq!(by_ip.groups, ["staff"]);
            assert!(s.active_by_ip("10.0.0.5", 10_000).await.unwrap().is_none());
            assert_eq!(
                s.expired_between(5_000, 10_000).await.unwrap().len(),
                1,
                "expiry is seen once"
            );
            assert!(s.end(a.id, 6_000).await.unwrap());
            assert!(!s.end(a.id, 6_000).await.unwrap());
            assert!(s.active_by_mac(a.mac, 6_001).await.unwrap().is_none());
            assert_eq!(s.count().await.unwrap(), 1);
            assert_eq!(s.purge(6_000).await.unwrap(), 0);
            assert_eq!(s.purge(10_001).await.unwrap(), 1);
        })
        .await;
    }
}
