//! User accounts: password hash (argon2id PHC string, made by the caller),
//! optional NT hash for MS-CHAPv2 (encrypted at rest) and group membership.

use std::collections::HashMap;
use std::fmt;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows::{clean_groups, conflict_or, get_bool, now_ms};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};

#[derive(Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub nt_hash: Option<[u8; 16]>,
    pub groups: Vec<String>,
    pub valid_until: Option<i64>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    /// Decrypted.
    pub nt_hash: Option<[u8; 16]>,
    pub enabled: bool,
    pub valid_until: Option<i64>,
    pub groups: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

// Debug hides the hashes so that they never reach a log.
impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("nt_hash", &self.nt_hash.map(|_| "***"))
            .field("groups", &self.groups)
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

impl User {
    /// An enabled account within its validity period.
    pub fn usable(&self, now_ms: i64) -> bool {
        self.enabled && self.valid_until.is_none_or(|t| t > now_ms)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("nt_hash", &self.nt_hash.map(|_| "***"))
            .field("enabled", &self.enabled)
            .field("valid_until", &self.valid_until)
            .field("groups", &self.groups)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

pub struct Users<'a> {
    store: &'a Store,
}

const USER_COLS: &str = "id, username, display_name, password_hash, nt_hash_enc, enabled, \
                         valid_until, created_at, updated_at";

impl<'a> Users<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Users { store }
    }

    /// Adds one user. `Conflict` on a duplicate username; groups that do
    /// not exist yet are created with no policy.
    pub async fn add(&self, user: &NewUser) -> Result<User> {
        let mut tx = self.store.begin_write().await?;
        let username = self.insert(&mut tx, user).await?;
        tx.commit().await?;
        self.get(&username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {username}")))
    }

    /// Adds all users in one transaction: all or nothing.
    pub async fn import(&self, users: &[NewUser]) -> Result<usize> {
        let mut tx = self.store.begin_write().await?;
        for user in users {
            self.insert(&mut tx, user).await?;
        }
        tx.commit().await?;
        Ok(users.len())
    }

    async fn insert(&self, conn: &mut AnyConnection, user: &NewUser) -> Result<String> {
        let username = crate::domain::validate_username(&user.username)
            .map_err(StoreError::Invalid)?
            .to_string();
        let groups = clean_groups(&user.groups)?;
        let nt = self.seal_nt(user.nt_hash)?;
        let now = now_ms();
        let id: i64 = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, nt_hash_enc, enabled, \
             valid_until, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING id",
        )
        .bind(&username)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(nt)
        .bind(true)
        .bind(user.valid_until)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| conflict_or(e, || format!("user {username}")))?
        .try_get("id")?;
        link_groups(conn, id, &groups).await?;
        Ok(username)
    }

    pub async fn get(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.store.pool)
            .await?
        else {
            return Ok(None);
        };
        let groups: Vec<String> = sqlx::query(
            "SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
             WHERE ug.user_id = $1 ORDER BY g.name",
        )
        .bind(row.try_get::<i64, _>("id")?)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("name"))
        .collect::<std::result::Result<_, _>>()?;
        Ok(Some(self.decode_row(&row, groups)?))
    }

    /// All users ordered by username.
    pub async fn list(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(&self.store.pool).await?;
        let mut memberships: HashMap<i64, Vec<String>> = HashMap::new();
        for r in sqlx::query(
            "SELECT ug.user_id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
             ORDER BY g.name",
        )
        .fetch_all(&self.store.pool)
        .await?
        {
            memberships
                .entry(r.try_get("user_id")?)
                .or_default()
                .push(r.try_get("name")?);
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                self.decode_row(row, memberships.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// Replaces the password hash and the NT hash (`None` removes a stored
    /// NT hash: it is kept only for accounts that use MS-CHAPv2).
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        nt_hash: Option<[u8; 16]>,
    ) -> Result<()> {
        let nt = self.seal_nt(nt_hash)?;
        let n = sqlx::query(
            "UPDATE users SET password_hash = $1, nt_hash_enc = $2, updated_at = $3 \
             WHERE username = $4",
        )
        .bind(password_hash)
        .bind(nt)
        .bind(now_ms())
        .bind(username)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        found(n, username)
    }

    /// Sets (or with `None` removes) the staff member's TOTP secret, sealed.
    pub async fn set_totp(&self, username: &str, secret: Option<&[u8]>) -> Result<()> {
        let sealed = secret
            .map(|s| self.store.secrets().seal(Purpose::UserTotp, s))
            .transpose()?;
        let n = sqlx::query(
            "UPDATE users SET totp_secret_enc = $1, updated_at = $2 WHERE username = $3",
        )
        .bind(sealed)
        .bind(now_ms())
        .bind(username)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        found(n, username)
    }

    /// Sets (or with `None` removes) the staff member's mobile number.
    pub async fn set_phone(&self, username: &str, phone: Option<&str>) -> Result<()> {
        let n = sqlx::query("UPDATE users SET phone = $1, updated_at = $2 WHERE username = $3")
            .bind(phone)
            .bind(now_ms())
            .bind(username)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        found(n, username)
    }

    pub async fn phone(&self, username: &str) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT phone FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| r.try_get::<Option<String>, _>("phone"))
            .transpose()?
            .flatten())
    }

    /// Records a TOTP step as used; false when it (or a later one) was
    /// used before: a code works once, across restarts and nodes.
    pub async fn use_totp_step(&self, username: &str, step: i64) -> Result<bool> {
        super::rows::use_totp_step(&self.store.pool, "users", username, step).await
    }

    /// The staff member's TOTP secret, if enrolled.
    pub async fn totp(&self, username: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT totp_secret_enc FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.store.pool)
            .await?;
        match row.map(|r| r.try_get::<Option<Vec<u8>>, _>("totp_secret_enc")) {
            Some(Ok(Some(sealed))) => {
                Ok(Some(self.store.secrets().open(Purpose::UserTotp, &sealed)?))
            }
            Some(Err(e)) => Err(e.into()),
            _ => Ok(None),
        }
    }

    /// Enables or disables the account. Disabling ends its sign-ins in
    /// the same transaction: provider sessions go, tokens are revoked and
    /// apps with a back-channel URI are queued a logout notice.
    pub async fn set_enabled(&self, username: &str, enabled: bool) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE users SET enabled = $1, updated_at = $2 WHERE username = $3 \
             RETURNING id, created_at",
        )
        .bind(enabled)
        .bind(now)
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {username}")))?;
        if !enabled {
            end_sign_ins(&mut tx, username, &row, "disabled", now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the user's groups; missing groups are created with no policy.
    pub async fn set_groups(&self, username: &str, groups: &[String]) -> Result<()> {
        let groups = clean_groups(groups)?;
        let mut tx = self.store.begin_write().await?;
        let id: i64 =
            sqlx::query("UPDATE users SET updated_at = $1 WHERE username = $2 RETURNING id")
                .bind(now_ms())
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("user {username}")))?
                .try_get("id")?;
        sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        link_groups(&mut tx, id, &groups).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_valid_until(&self, username: &str, valid_until: Option<i64>) -> Result<()> {
        let n =
            sqlx::query("UPDATE users SET valid_until = $1, updated_at = $2 WHERE username = $3")
                .bind(valid_until)
                .bind(now_ms())
                .bind(username)
                .execute(&self.store.pool)
                .await?
                .rows_affected();
        found(n, username)
    }

    pub async fn clear_nt_hash(&self, username: &str) -> Result<()> {
        let n =
            sqlx::query("UPDATE users SET nt_hash_enc = NULL, updated_at = $1 WHERE username = $2")
                .bind(now_ms())
                .bind(username)
                .execute(&self.store.pool)
                .await?
                .rows_affected();
        found(n, username)
    }

    /// Removes the account (false if there was none) and, in the same
    /// transaction, its memberships and everything
    /// keyed by its name that would otherwise pass to a later account of
    /// the same name: provider sessions and consents, presence opt-in,
    /// WeChat/WeCom bindings; its tokens are revoked.
    pub async fn remove(&self, username: &str) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        let row = sqlx::query("DELETE FROM users WHERE username = $1 RETURNING id, created_at")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = &row {
            for sql in [
                "DELETE FROM oidc_consents WHERE username = $1",
                "DELETE FROM presence_consents WHERE username = $1",
                "DELETE FROM wechat_links WHERE username = $1",
            ] {
                sqlx::query(sql).bind(username).execute(&mut *tx).await?;
            }
            end_sign_ins(&mut tx, username, row, "removed", now_ms()).await?;
        }
        tx.commit().await?;
        Ok(row.is_some())
    }

    /// Accounts past their `valid_until` that still hold live provider
    /// tokens: their sign-ins end as on disable (logout notices queued,
    /// sessions and tokens ended), each in its own transaction that checks
    /// the account is still expired. How many accounts.
    pub async fn end_expired_sign_ins(&self, now: i64) -> Result<u64> {
        let names: Vec<String> = sqlx::query(
            "SELECT username FROM users WHERE valid_until IS NOT NULL AND valid_until <= $1 \
             AND EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.subject = users.username \
             AND t.revoked_at IS NULL AND t.expires_at > $2) ORDER BY username LIMIT 100",
        )
        .bind(now)
        .bind(now)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| r.try_get("username"))
        .collect::<std::result::Result<_, _>>()?;
        let mut n = 0;
        for username in names {
            let mut tx = self.store.begin_write().await?;
            let row = sqlx::query(
                "SELECT id, created_at FROM users WHERE username = $1 \
                 AND valid_until IS NOT NULL AND valid_until <= $2",
            )
            .bind(&username)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                end_sign_ins(&mut tx, &username, &row, "expired", now).await?;
                n += 1;
            }
            tx.commit().await?;
        }
        Ok(n)
    }

    fn seal_nt(&self, nt: Option<[u8; 16]>) -> Result<Option<Vec<u8>>> {
        nt.map(|h| self.store.secrets().seal(Purpose::NtHash, &h))
            .transpose()
    }

    fn decode_row(&self, row: &AnyRow, groups: Vec<String>) -> Result<User> {
        let username: String = row.try_get("username")?;
        let nt_hash = match row.try_get::<Option<Vec<u8>>, _>("nt_hash_enc")? {
            None => None,
            Some(sealed) => {
                let plain = self.store.secrets().open(Purpose::NtHash, &sealed)?;
                Some(<[u8; 16]>::try_from(plain.as_slice()).map_err(|_| {
                    StoreError::Invalid(format!("stored NT hash of {username} is not 16 bytes"))
                })?)
            }
        };
        Ok(User {
            id: row.try_get("id")?,
            display_name: row.try_get("display_name")?,
            password_hash: row.try_get("password_hash")?,
            nt_hash,
            enabled: get_bool(row, "enabled")?,
            valid_until: row.try_get("valid_until")?,
            groups,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            username,
        })
    }
}

/// Ends every sign-in of an account being disabled or removed (`row`:
/// its id and created_at): logout notices queued for the apps told by
/// back channel, provider sessions gone, every token and its family
/// revoked.
async fn end_sign_ins(
    tx: &mut super::Tx,
    username: &str,
    row: &AnyRow,
    reason: &str,
    now: i64,
) -> Result<()> {
    let subject = super::oidc::subject_of(row.try_get("id")?, row.try_get("created_at")?);
    super::oidc::queue_logout_notices(tx, username, &subject, reason, now).await?;
    sqlx::query("DELETE FROM oidc_sessions WHERE username = $1")
        .bind(username)
        .execute(&mut **tx)
        .await?;
    super::oidc::revoke_tokens_of(tx, username, "TRUE", now).await
}

fn found(rows: u64, username: &str) -> Result<()> {
    if rows == 0 {
        Err(StoreError::NotFound(format!("user {username}")))
    } else {
        Ok(())
    }
}

/// Creates missing groups (no policy) and links them to the user.
async fn link_groups(conn: &mut AnyConnection, user_id: i64, groups: &[String]) -> Result<()> {
    for g in groups {
        sqlx::query("INSERT INTO groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(g)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
             ON CONFLICT (user_id, group_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(g)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
