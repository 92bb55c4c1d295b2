//! One-time credentials for CHAP and portal post-back: the server must hold
//! the clear secret to verify CHAP, so it is encrypted at rest.

use std::fmt;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::conflict_or;
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};

#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCredential {
    pub username: String,
    pub secret: String,
    pub identity: String,
    pub expires_at: i64,
    pub uses_left: i64,
    /// The client MAC (canonical) the credential was issued for; a request
    /// with another Calling-Station-Id is refused. None: not bound.
    pub mac: Option<String>,
    /// The NAS the credential was issued for; a request from another NAS
    /// is refused. None: any configured NAS.
    pub nas_name: Option<String>,
}

impl fmt::Debug for OneTimeCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeCredential")
            .field("username", &self.username)
            .field("secret", &"***")
            .field("identity", &self.identity)
            .field("expires_at", &self.expires_at)
            .field("uses_left", &self.uses_left)
            .field("mac", &self.mac)
            .field("nas_name", &self.nas_name)
            .finish()
    }
}

pub struct OneTimeCredentials<'a> {
    store: &'a Store,
}

impl<'a> OneTimeCredentials<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        OneTimeCredentials { store }
    }

    /// `Conflict` when a credential with that username exists (even an
    /// expired one not yet purged).
    pub async fn create(&self, cred: &OneTimeCredential) -> Result<()> {
        if cred.username.is_empty() {
            return Err(StoreError::Invalid(
                "one-time credential username is empty".into(),
            ));
        }
        let sealed = self
            .store
            .secrets()
            .seal(Purpose::OneTimeSecret, cred.secret.as_bytes())?;
        sqlx::query(
            "INSERT INTO one_time_credentials (username, secret_enc, identity, expires_at, \
             uses_left, mac, nas_name) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&cred.username)
        .bind(sealed)
        .bind(&cred.identity)
        .bind(cred.expires_at)
        .bind(cred.uses_left)
        .bind(cred.mac.as_deref())
        .bind(cred.nas_name.as_deref())
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("one-time credential {}", cred.username)))?;
        Ok(())
    }

    /// The credential as stored, expired or used up included: the caller
    /// checks, and `consume` enforces.
    pub async fn get(&self, username: &str) -> Result<Option<OneTimeCredential>> {
        sqlx::query(
            "SELECT username, secret_enc, identity, expires_at, uses_left, mac, nas_name \
             FROM one_time_credentials WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.store.pool)
        .await?
        .map(|r| self.decode_row(&r))
        .transpose()
    }

    /// Atomically takes one use if any is left and the credential has not
    /// expired; true if it did. One statement, so two concurrent callers
    /// can never both take the last use.
    pub async fn consume(&self, username: &str, now_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE one_time_credentials SET uses_left = uses_left - 1 \
             WHERE username = $1 AND uses_left > 0 AND expires_at > $2",
        )
        .bind(username)
        .bind(now_ms)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// How many are stored (expired and used-up ones included).
    pub async fn count(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM one_time_credentials")
                .fetch_one(&self.store.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Deletes expired and used-up credentials; returns how many.
    pub async fn purge_expired(&self, now_ms: i64) -> Result<u64> {
        Ok(
            sqlx::query(
                "DELETE FROM one_time_credentials WHERE expires_at <= $1 OR uses_left <= 0",
            )
            .bind(now_ms)
            .execute(&self.store.pool)
            .await?
            .rows_affected(),
        )
    }

    fn decode_row(&self, row: &AnyRow) -> Result<OneTimeCredential> {
        let username: String = row.try_get("username")?;
        let plain = self.store.secrets().open(
            Purpose::OneTimeSecret,
            &row.try_get::<Vec<u8>, _>("secret_enc")?,
        )?;
        let secret = String::from_utf8(plain).map_err(|_| {
            StoreError::Invalid(format!("stored secret of {username} is not UTF-8"))
        })?;
        Ok(OneTimeCredential {
            secret,
            identity: row.try_get("identity")?,
            expires_at: row.try_get("expires_at")?,
            uses_left: row.try_get("uses_left")?,
            mac: row.try_get("mac")?,
            nas_name: row.try_get("nas_name")?,
            username,
        })
    }
}
