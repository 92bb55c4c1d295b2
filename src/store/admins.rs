//! Administrator accounts: password, role, TOTP and state. Sessions and
//! API tokens are in `admin_sessions`; what they did is in `audit`.

use std::fmt;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{check_name, conflict_or, get_bool, now_ms};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};
use crate::domain::AdminRole;

#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    pub username: String,
    pub password_hash: String,
    pub role: AdminRole,
    pub display_name: Option<String>,
    /// Enrolled TOTP secret (opened), if any.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted: a code works once.
    pub totp_last_step: Option<i64>,
    /// Set for new accounts and after a reset: the next sign-in sets a
    /// new password first.
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
    pub last_sign_in_at: Option<i64>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("role", &self.role)
            .field("totp_enrolled", &self.totp_secret.is_some())
            .field("must_change_password", &self.must_change_password)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

const COLS: &str = "username, password_hash, role, display_name, totp_secret_enc, totp_last_step, \
     must_change_password, disabled, created_at, updated_at, password_changed_at, last_sign_in_at";

pub struct Admins<'a> {
    store: &'a Store,
}

impl<'a> Admins<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Admins { store }
    }

    /// A new account that must set its password (and enrol TOTP) at its
    /// first sign-in. `Conflict` when the username is taken.
    pub async fn create(&self, username: &str, password_hash: &str, role: AdminRole) -> Result<()> {
        let username = check_name("admin", username)?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO admins (username, password_hash, role, must_change_password, disabled, \
             created_at, updated_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(true)
        .bind(false)
        .bind(now)
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("admin {username}")))?;
        Ok(())
    }

    pub async fn get(&self, username: &str) -> Result<Option<Admin>> {
        let sql = format!("SELECT {COLS} FROM admins WHERE username = $1");
        sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| self.decode(&r))
            .transpose()
    }

    pub async fn list(&self) -> Result<Vec<Admin>> {
        let sql = format!("SELECT {COLS} FROM admins ORDER BY username");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(|r| self.decode(r))
            .collect()
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM admins")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }

    /// Sets the password. `must_change` marks it as temporary (a reset by
    /// the security administrator), so the next sign-in replaces it.
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        must_change: bool,
    ) -> Result<()> {
        let now = now_ms();
        self.update(
            username,
            sqlx::query(
                "UPDATE admins SET password_hash = $1, must_change_password = $2, \
                 password_changed_at = $3, updated_at = $3 WHERE username = $4",
            )
            .bind(password_hash)
            .bind(must_change)
            .bind(now)
            .bind(username),
        )
        .await
    }

    pub async fn set_role(&self, username: &str, role: AdminRole) -> Result<()> {
        self.update(
            username,
            sqlx::query("UPDATE admins SET role = $1, updated_at = $2 WHERE username = $3")
                .bind(role.as_str())
                .bind(now_ms())
                .bind(username),
        )
        .await
    }

    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        self.update(
            username,
            sqlx::query("UPDATE admins SET disabled = $1, updated_at = $2 WHERE username = $3")
                .bind(disabled)
                .bind(now_ms())
                .bind(username),
        )
        .await
    }

    pub async fn set_display_name(&self, username: &str, name: Option<&str>) -> Result<()> {
        self.update(
            username,
            sqlx::query("UPDATE admins SET display_name = $1, updated_at = $2 WHERE username = $3")
                .bind(name)
                .bind(now_ms())
                .bind(username),
        )
        .await
    }

    /// Enrols a TOTP secret (sealed), with the step its first code used.
    pub async fn set_totp(&self, username: &str, secret: &[u8], step: i64) -> Result<()> {
        let sealed = self.store.secrets().seal(Purpose::TotpSecret, secret)?;
        self.update(
            username,
            sqlx::query(
                "UPDATE admins SET totp_secret_enc = $1, totp_last_step = $2, updated_at = $3 \
                 WHERE username = $4",
            )
            .bind(sealed)
            .bind(step)
            .bind(now_ms())
            .bind(username),
        )
        .await
    }

    /// Removes the TOTP secret: the next sign-in enrols a new one.
    pub async fn reset_totp(&self, username: &str) -> Result<()> {
        self.update(
            username,
            sqlx::query(
                "UPDATE admins SET totp_secret_enc = NULL, totp_last_step = NULL, updated_at = $1 \
                 WHERE username = $2",
            )
            .bind(now_ms())
            .bind(username),
        )
        .await
    }

    /// Accepts TOTP step `step` once: true only when it is later than the
    /// last one used (so of two racing sign-ins with one code, one wins).
    pub async fn use_totp_step(&self, username: &str, step: i64) -> Result<bool> {
        super::rows::use_totp_step(&self.store.pool, "admins", username, step).await
    }

    pub async fn signed_in(&self, username: &str, at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE admins SET last_sign_in_at = $1 WHERE username = $2")
            .bind(at_ms)
            .bind(username)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    async fn update<'q>(
        &self,
        username: &str,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<()> {
        let n = query.execute(&self.store.pool).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("admin {username}")));
        }
        Ok(())
    }

    fn decode(&self, r: &AnyRow) -> Result<Admin> {
        let role: String = r.try_get("role")?;
        let sealed: Option<Vec<u8>> = r.try_get("totp_secret_enc")?;
        let totp_secret = match sealed {
            Some(s) => Some(self.store.secrets().open(Purpose::TotpSecret, &s)?),
            None => None,
        };
        Ok(Admin {
            username: r.try_get("username")?,
            password_hash: r.try_get("password_hash")?,
            role: AdminRole::parse(&role)
                .map_err(|e| StoreError::Invalid(format!("stored admin role: {e}")))?,
            display_name: r.try_get("display_name")?,
            totp_secret,
            totp_last_step: r.try_get("totp_last_step")?,
            must_change_password: get_bool(r, "must_change_password")?,
            disabled: get_bool(r, "disabled")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            password_changed_at: r.try_get("password_changed_at")?,
            last_sign_in_at: r.try_get("last_sign_in_at")?,
        })
    }
}
