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
    pub nas_name: Option<String>,
    pub nas_ip: Option<String>,
    pub original_url: Option<String>,
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
    /// sign-out, expired or revoked, once ended.
    pub end_reason: Option<String>,
    /// The NAS that holds the client, where known.
    pub nas_name: Option<String>,
    pub nas_ip: Option<String>,
    /// The page the person asked for before sign-in.
    pub original_url: Option<String>,
}

impl PortalSession {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now_ms
    }
}

pub struct PortalSessions<'a> {
    store: &'a Store,
}

pub(super) const COLS: &str = "id, mac, ip, identity, method, phone, groups, profile, ssid, ap_mac, \
                    authorization_id, created_at, expires_at, ended_at, end_reason, nas_name, nas_ip, \
                    original_url";

impl<'a> PortalSessions<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        PortalSessions { store }
    }

    pub async fn create(&self, s: &NewPortalSession) -> Result<PortalSession> {
        self.create_logged(s, &[]).await
    }

    /// Stores the session and its rows of the authentication log in one
    /// transaction: a sign-in is never without its log row.
    pub async fn create_logged(
        &self,
        s: &NewPortalSession,
        log: &[super::AuthRecord],
    ) -> Result<PortalSession> {
        if s.token_hash.is_empty() {
            return Err(StoreError::Invalid("portal session token is empty".into()));
        }
        let groups = clean_groups(&s.groups)?;
        let sql = format!(
            "INSERT INTO portal_sessions (token_hash, mac, ip, identity, method, phone, groups, \
             profile, ssid, ap_mac, authorization_id, created_at, expires_at, nas_name, nas_ip, \
             original_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16) RETURNING {COLS}"
        );
        let mut tx = self.store.begin_write().await?;
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
            .bind(&s.nas_name)
            .bind(&s.nas_ip)
            .bind(&s.original_url)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| super::rows::conflict_or(e, || "portal session token".into()))?;
        let session = from_row(&row)?;
        super::auth_log::insert_in(&mut tx, self.store.backend, log).await?;
        tx.commit().await?;
        Ok(session)
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

    /// Ends the session (`reason`: sign-out, revoked); false if it had
    /// ended.
    pub async fn end(&self, id: i64, now_ms: i64, reason: &str) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1, end_reason = $2 \
             WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(now_ms)
        .bind(reason)
        .bind(id)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Ends (as `expired`, at their expiry time) up to `limit` sessions
    /// whose time ran out, and returns them: each becomes one row of the
    /// legal log. One statement, so two nodes never both take a session.
    pub async fn expire_due(&self, now_ms: i64, limit: i64) -> Result<Vec<PortalSession>> {
        let sql = format!(
            "UPDATE portal_sessions SET ended_at = expires_at, end_reason = 'expired' \
             WHERE id IN (SELECT id FROM portal_sessions \
             WHERE ended_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2) \
             AND ended_at IS NULL RETURNING {COLS}"
        );
        let mut out: Vec<PortalSession> = sqlx::query(&sql)
            .bind(now_ms)
            .bind(limit.max(0))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<_>>()?;
        out.sort_by_key(|s| (s.expires_at, s.id));
        Ok(out)
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

pub(super) fn from_row(row: &AnyRow) -> Result<PortalSession> {
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
        end_reason: row.try_get("end_reason")?,
        nas_name: row.try_get("nas_name")?,
        nas_ip: row.try_get("nas_ip")?,
        original_url: row.try_get("original_url")?,
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
            nas_name: Some("ap-1".into()),
            nas_ip: Some("10.0.0.2".into()),
            original_url: None,
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
            assert!(s.end(a.id, 6_000, "sign-out").await.unwrap());
            assert!(!s.end(a.id, 6_000, "sign-out").await.unwrap());
            let ended = s.by_token("t1").await.unwrap().unwrap();
            assert_eq!(ended.end_reason.as_deref(), Some("sign-out"));
            assert!(s.active_by_mac(a.mac, 6_001).await.unwrap().is_none());
            assert_eq!(s.count().await.unwrap(), 1);
            assert_eq!(s.purge(6_000).await.unwrap(), 0);
            assert_eq!(s.purge(10_001).await.unwrap(), 1);
        })
        .await;
    }

    #[tokio::test]
    async fn a_session_and_its_log_row_are_stored_together_or_not_at_all() {
        both(|h| async move {
            let row = crate::store::AuthRecord {
                at_ms: 1_000,
                username: "alice".into(),
                mac: Some("aa:bb:cc:00:00:01".into()),
                nas_name: "ap-1".into(),
                nas_ip: "10.0.0.2".into(),
                ap: None,
                method: "portal-staff".into(),
                outcome: "accept".into(),
                reason: "ok".into(),
                client_ip: Some("10.0.0.5".into()),
                ssid: Some("Office".into()),
            };
            let s = h.store.portal_sessions();
            let n = new_session("t1", "aa:bb:cc:00:00:01", "10.0.0.5", 10_000);
            s.create_logged(&n, std::slice::from_ref(&row))
                .await
                .unwrap();
            let logged = h.store.auth_log().since(0).await.unwrap();
            assert_eq!(logged.len(), 1);
            assert_eq!(logged[0], row);
            // The same token again: refused, and no second log row.
            assert!(s.create_logged(&n, &[row]).await.is_err());
            assert_eq!(h.store.auth_log().count().await.unwrap(), 1);
            assert_eq!(s.count().await.unwrap(), 1);
        })
        .await;
    }

    #[tokio::test]
    async fn expiry_is_taken_once_in_order_and_bounded() {
        both(|h| async move {
            let s = h.store.portal_sessions();
            for (i, exp) in [30_000, 10_000, 20_000, 90_000].iter().enumerate() {
                s.create(&new_session(
                    &format!("t{i}"),
                    "aa:bb:cc:00:00:01",
                    "10.0.0.5",
                    *exp,
                ))
                .await
                .unwrap();
            }
            let ended = s
                .create(&new_session("t9", "aa:bb:cc:00:00:02", "10.0.0.6", 15_000))
                .await
                .unwrap();
            s.end(ended.id, 12_000, "sign-out").await.unwrap();
            let first = s.expire_due(50_000, 2).await.unwrap();
            let at: Vec<i64> = first.iter().map(|x| x.expires_at).collect();
            assert_eq!(at, [10_000, 20_000]);
            assert!(first
                .iter()
                .all(|x| x.ended_at == Some(x.expires_at)
                    && x.end_reason.as_deref() == Some("expired")));
            let rest = s.expire_due(50_000, 10).await.unwrap();
            assert_eq!(rest.len(), 1, "the signed-out and the live one stay");
            assert!(s.expire_due(50_000, 10).await.unwrap().is_empty());
        })
        .await;
    }
}
