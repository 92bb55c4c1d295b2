//! Dashboard accounts.

use std::fmt;

use sqlx::Row;

use super::rows::{check_name, conflict_or, now_ms};
use super::{Result, Store, StoreError};

/// Roles the dashboard knows; the table refuses any other.
pub const ROLES: [&str; 3] = ["admin", "operator", "auditor"];

#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    pub username: String,
    pub password_hash: String,
    /// admin, operator or auditor.
    pub role: String,
    pub created_at: i64,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .finish()
    }
}

pub struct Admins<'a> {
    store: &'a Store,
}

impl<'a> Admins<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Admins { store }
    }

    /// `Conflict` when the username is taken; `Invalid` for an unknown role.
    pub async fn create(&self, username: &str, password_hash: &str, role: &str) -> Result<()> {
        let username = check_name("admin", username)?;
        if !ROLES.contains(&role) {
            return Err(StoreError::Invalid(format!(
                "role {role:?} (expected admin, operator or auditor)"
            )));
        }
        sqlx::query(
            "INSERT INTO admins (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role)
        .bind(now_ms())
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("admin {username}")))?;
        Ok(())
    }

    pub async fn get(&self, username: &str) -> Result<Option<Admin>> {
        sqlx::query(
            "SELECT username, password_hash, role, created_at FROM admins WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.store.pool)
        .await?
        .map(|r| {
            Ok(Admin {
                username: r.try_get("username")?,
                password_hash: r.try_get("password_hash")?,
                role: r.try_get("role")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM admins")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }

    /// `NotFound` for an unknown username.
    pub async fn set_password(&self, username: &str, password_hash: &str) -> Result<()> {
        let n = sqlx::query("UPDATE admins SET password_hash = $1 WHERE username = $2")
            .bind(password_hash)
            .bind(username)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("admin {username}")));
        }
        Ok(())
    }
}
