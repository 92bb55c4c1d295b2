//! Dashboard sessions and API tokens. Both are random secrets held by the
//! client; the store keeps only their SHA-256, so a copy of the database
//! opens no session.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{check_name, conflict_or};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};

/// How far a sign-in got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Password right; the TOTP code is next.
    Totp,
    /// Password right on a first sign-in or after a reset: set a new
    /// password (and enrol TOTP) next.
    Setup,
    /// Fully signed in.
    Ready,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Totp => "totp",
            Stage::Setup => "setup",
            Stage::Ready => "ready",
        }
    }

    fn parse(s: &str) -> Result<Stage> {
        match s {
            "totp" => Ok(Stage::Totp),
            "setup" => Ok(Stage::Setup),
            "ready" => Ok(Stage::Ready),
            other => Err(StoreError::Invalid(format!(
                "stored session stage {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSession {
    pub id_hash: String,
    pub username: String,
    pub stage: Stage,
    pub csrf: String,
    /// A TOTP secret shown for enrolment, not yet confirmed (opened).
    pub pending_totp: Option<Vec<u8>>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute end (`admin.session_lifetime` after creation).
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewAdminSession<'a> {
    pub id_hash: &'a str,
    pub username: &'a str,
    pub stage: Stage,
    pub csrf: &'a str,
    pub now_ms: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminToken {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const SESSION_COLS: &str = "id_hash, username, stage, csrf, pending_totp_enc, created_at, \
     last_seen_at, expires_at, ip, user_agent";
const TOKEN_COLS: &str = "id, username, name, created_at, expires_at, last_used_at, revoked_at";

pub struct AdminSessions<'a> {
    store: &'a Store,
}

impl<'a> AdminSessions<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        AdminSessions { store }
    }

    pub async fn create(&self, s: &NewAdminSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO admin_sessions (id_hash, username, stage, csrf, created_at, last_seen_at, \
             expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
        )
        .bind(s.id_hash)
        .bind(s.username)
        .bind(s.stage.as_str())
        .bind(s.csrf)
        .bind(s.now_ms)
        .bind(s.expires_at)
        .bind(s.ip)
        .bind(s.user_agent)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// The live session, without counting this as use (a page's own
    /// background stream must not keep an unattended session alive).
    pub async fn peek(
        &self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
    ) -> Result<Option<AdminSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM admin_sessions WHERE id_hash = $1 \
             AND expires_at > $2 AND last_seen_at > $3"
        );
        sqlx::query(&sql)
            .bind(id_hash)
            .bind(now_ms)
            .bind(now_ms.saturating_sub(idle_ms))
            .fetch_optional(&self.store.pool)
            .await?
            .map(|row| self.session_from_row(&row))
            .transpose()
    }

    /// The session if it is neither past its absolute end nor idle for
    /// longer than `idle_ms`; a live one has its last-seen time moved to
    /// `now_ms` (written at most every few seconds, to spare the store).
    pub async fn touch(
        &self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
    ) -> Result<Option<AdminSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM admin_sessions WHERE id_hash = $1 \
             AND expires_at > $2 AND last_seen_at > $3"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id_hash)
            .bind(now_ms)
            .bind(now_ms.saturating_sub(idle_ms))
            .fetch_optional(&self.store.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut session = self.session_from_row(&row)?;
        if now_ms.saturating_sub(session.last_seen_at) >= 5_000 {
            sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now_ms)
                .bind(id_hash)
                .execute(&self.store.pool)
                .await?;
            session.last_seen_at = now_ms;
        }
        Ok(Some(session))
    }

    /// Moves a session to `stage`, replacing its id (a new cookie after
    /// each step, so an id seen before sign-in is worth nothing after).
    pub async fn advance(&self, old_hash: &str, new_hash: &str, stage: Stage) -> Result<()> {
        let n = sqlx::query(
            "UPDATE admin_sessions SET id_hash = $1, stage = $2, pending_totp_enc = NULL \
             WHERE id_hash = $3",
        )
        .bind(new_hash)
        .bind(stage.as_str())
        .bind(old_hash)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("admin session".into()));
        }
        Ok(())
    }

    pub async fn set_pending_totp(&self, id_hash: &str, secret: &[u8]) -> Result<()> {
        let sealed = self.store.secrets().seal(Purpose::TotpSecret, secret)?;
        sqlx::query("UPDATE admin_sessions SET pending_totp_enc = $1 WHERE id_hash = $2")
            .bind(sealed)
            .bind(id_hash)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    pub async fn delete(&self, id_hash: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM admin_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.store.pool)
            .await?
            .rows_affected()
            == 1)
    }

    /// Ends every session of an account (disabled, password or role
    /// changed); returns how many.
    pub async fn delete_for(&self, username: &str) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM admin_sessions WHERE username = $1")
                .bind(username)
                .execute(&self.store.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Removes sessions that ended (absolute end, or idle past `idle_ms`).
    pub async fn prune(&self, now_ms: i64, idle_ms: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now_ms)
                .bind(now_ms.saturating_sub(idle_ms))
                .execute(&self.store.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Live sessions, newest first (the Administrators page).
    pub async fn list(&self, now_ms: i64, idle_ms: i64) -> Result<Vec<AdminSession>> {
        let sql = format!(
            "SELECT {SESSION_COLS} FROM admin_sessions WHERE expires_at > $1 AND last_seen_at > $2 \
             ORDER BY last_seen_at DESC"
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .bind(now_ms.saturating_sub(idle_ms))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(|r| self.session_from_row(r))
            .collect()
    }

    // --- API tokens ---

    /// `Conflict` when the admin already has a token of that name.
    pub async fn create_token(
        &self,
        username: &str,
        name: &str,
        token_hash: &str,
        now_ms: i64,
        expires_at: Option<i64>,
    ) -> Result<AdminToken> {
        let name = check_name("token", name)?;
        let row = sqlx::query(
            "INSERT INTO admin_tokens (username, name, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(name)
        .bind(token_hash)
        .bind(now_ms)
        .bind(expires_at)
        .fetch_one(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("token {name} of {username}")))?;
        Ok(AdminToken {
            id: row.try_get("id")?,
            username: username.to_string(),
            name: name.to_string(),
            created_at: now_ms,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// The token with this hash if it is neither revoked nor expired;
    /// records its use (at most once a minute).
    pub async fn use_token(&self, token_hash: &str, now_ms: i64) -> Result<Option<AdminToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&self.store.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut token = token_from_row(&row)?;
        if token
            .last_used_at
            .is_none_or(|t| now_ms.saturating_sub(t) >= 60_000)
        {
            sqlx::query("UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(token.id)
                .execute(&self.store.pool)
                .await?;
            token.last_used_at = Some(now_ms);
        }
        Ok(Some(token))
    }

    pub async fn tokens(&self, username: Option<&str>) -> Result<Vec<AdminToken>> {
        let rows = match username {
            Some(u) => {
                let sql = format!(
                    "SELECT {TOKEN_COLS} FROM admin_tokens WHERE username = $1 ORDER BY name"
                );
                sqlx::query(&sql)
                    .bind(u)
                    .fetch_all(&self.store.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {TOKEN_COLS} FROM admin_tokens ORDER BY username, name");
                sqlx::query(&sql).fetch_all(&self.store.pool).await?
            }
        };
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes every live token of `username` (after a password or TOTP
    /// reset); returns how many.
    pub async fn revoke_all_tokens(&self, username: &str, now_ms: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE admin_tokens SET revoked_at = $1 WHERE username = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(username)
        .execute(&self.store.pool)
        .await?
        .rows_affected())
    }

    /// Revokes the named token of `username`; `NotFound` if there is no
    /// such live token.
    pub async fn revoke_token(&self, username: &str, name: &str, now_ms: i64) -> Result<()> {
        let n = sqlx::query(
            "UPDATE admin_tokens SET revoked_at = $1 WHERE username = $2 AND name = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(username)
        .bind(name)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "live token {name} of {username}"
            )));
        }
        Ok(())
    }

    fn session_from_row(&self, r: &AnyRow) -> Result<AdminSession> {
        let stage: String = r.try_get("stage")?;
        let sealed: Option<Vec<u8>> = r.try_get("pending_totp_enc")?;
        Ok(AdminSession {
            id_hash: r.try_get("id_hash")?,
            username: r.try_get("username")?,
            stage: Stage::parse(&stage)?,
            csrf: r.try_get("csrf")?,
            pending_totp: match sealed {
                Some(s) => Some(self.store.secrets().open(Purpose::TotpSecret, &s)?),
                None => None,
            },
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            expires_at: r.try_get("expires_at")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    }
}

fn token_from_row(r: &AnyRow) -> Result<AdminToken> {
    Ok(AdminToken {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}
