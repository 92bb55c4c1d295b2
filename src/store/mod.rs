//! Persistent state behind one cloneable [`Store`]: SQLite (embedded
//! default) or PostgreSQL (shared by several nodes), through sqlx's `Any`
//! driver so that one set of queries serves both. Every SQL statement of
//! the crate lives under this module.
//!
//! Portability rules the queries follow: `$N` placeholders; TEXT, BIGINT
//! (i64), BOOLEAN (an INTEGER 0/1 in SQLite, read through [`rows::get_bool`]),
//! BLOB/BYTEA; timestamps are i64 milliseconds since the Unix epoch (UTC);
//! `CASE` instead of `MAX(a, b)`/`GREATEST`, which differ between backends.

pub mod accounting;
pub mod admin_sessions;
pub mod admins;
pub mod alerts;
pub mod aps;
pub mod audit;
pub mod auth_log;
pub mod authorizations;
mod batch;
mod connect;
pub mod devices;
pub mod events;
pub mod floors;
pub mod groups;
pub mod lockouts;
pub mod nas;
pub mod oidc;
pub mod one_time;
pub mod portal_sessions;
pub mod presence;
pub mod radio_pack;
mod rows;
pub mod samples;
pub mod search;
pub mod secretbox;
pub mod sms_codes;
pub mod users;
pub mod vouchers;
pub mod wechat;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use sqlx::{Any, AnyPool, Row};

pub use accounting::{Accounting, AcctRecord, AcctSession, AcctStatus};
pub use admins::{Admin, Admins};
pub use auth_log::{AuthLog, AuthRecord};
pub use authorizations::{Authorization, Authorizations};
pub use devices::{Device, Devices};
pub use events::{Event, Events};
pub use groups::{Group, Groups};
pub use nas::{Nas, NasClients, NewNas};
pub use one_time::{OneTimeCredential, OneTimeCredentials};
pub use users::{NewUser, User, Users};

use secretbox::{Purpose, SecretBox};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("data key {path}: {reason}")]
    Key { path: String, reason: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Rows removed by [`Store::prune`], per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub auth_log: u64,
    pub sessions: u64,
    pub accounting_records: u64,
    pub events: u64,
}

type Tx = sqlx::Transaction<'static, Any>;

/// How the connection pool is set up.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// At least 1.
    pub max_connections: u32,
    /// Nice value given to SQLite's connection threads (Linux; 0 leaves
    /// them alone). Ignored for PostgreSQL.
    pub sqlite_thread_nice: i32,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    secrets: Arc<SecretBox>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("data_key", &self.secrets.path())
            .finish_non_exhaustive()
    }
}

/// Name of the data key file inside the data directory.
pub const DATA_KEY_FILE: &str = "data.key";
/// Name of the SQLite database file inside the data directory.
pub const SQLITE_FILE: &str = "portico.db";

/// Sealed with the data key at first open; lets a later open tell a wrong
/// key file at once instead of at the first decryption.
const KEY_CHECK_NAME: &str = "data_key_check";
const KEY_CHECK_PLAIN: &[u8] = b"portico data key check";

impl Store {
    /// `url` empty = SQLite at `data_dir/portico.db`; `sqlite://PATH` = SQLite
    /// at PATH (relative paths are taken inside `data_dir`); `postgres://` or
    /// `postgresql://` = PostgreSQL. Creates `data_dir` (mode 0700 on unix)
    /// and the data key file `data_dir/data.key` (32 random bytes, mode 0600)
    /// if missing; runs migrations.
    pub async fn open(url: &str, data_dir: &Path, max_connections: u32) -> Result<Store> {
        let settings = PoolSettings {
            max_connections,
            sqlite_thread_nice: 0,
        };
        Store::open_with(url, data_dir, settings).await
    }

    /// [`Store::open`] with every pool setting.
    pub async fn open_with(url: &str, data_dir: &Path, settings: PoolSettings) -> Result<Store> {
        connect::create_data_dir(data_dir)?;
        let target = connect::Target::parse(url, data_dir)?;
        let backend = target.backend();
        let pool = connect::open_pool(&target, settings).await?;
        // The Migrator works through the Any pool on both backends (the
        // PostgreSQL one takes an advisory lock, so nodes starting together
        // migrate once). Edits to a migration file trigger a rebuild; a NEW
        // file does not until this file is touched (no build script here).
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        let secrets = load_data_key(&pool, &data_dir.join(DATA_KEY_FILE)).await?;
        let store = Store {
            pool,
            backend,
            secrets: Arc::new(secrets),
        };
        samples::convert_legacy_radio_samples(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool; waits for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Monotonic counter bumped (by triggers, in the same transaction as the
    /// change) by every change to users, groups, user_groups, nas, devices,
    /// authorizations and one_time_credentials. Poll it to refresh caches.
    pub async fn change_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT seq FROM change_seq WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("seq")?)
    }

    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }
    pub fn nas(&self) -> NasClients<'_> {
        NasClients::new(self)
    }
    pub fn devices(&self) -> Devices<'_> {
        Devices::new(self)
    }
    pub fn authorizations(&self) -> Authorizations<'_> {
        Authorizations::new(self)
    }
    pub fn one_time(&self) -> OneTimeCredentials<'_> {
        OneTimeCredentials::new(self)
    }
    pub fn accounting(&self) -> Accounting<'_> {
        Accounting::new(self)
    }
    pub fn auth_log(&self) -> AuthLog<'_> {
        AuthLog::new(self)
    }
    pub fn events(&self) -> Events<'_> {
        Events::new(self)
    }
    pub fn lockouts(&self) -> lockouts::AccountLockouts<'_> {
        lockouts::AccountLockouts::new(self)
    }
    pub fn admin_sessions(&self) -> admin_sessions::AdminSessions<'_> {
        admin_sessions::AdminSessions::new(self)
    }
    pub fn search(&self) -> search::Search<'_> {
        search::Search::new(self)
    }
    pub fn audit(&self) -> audit::AuditLog<'_> {
        audit::AuditLog::new(self)
    }
    pub fn admins(&self) -> Admins<'_> {
        Admins::new(self)
    }
    pub fn aps(&self) -> aps::Aps<'_> {
        aps::Aps::new(self)
    }
    pub fn samples(&self) -> samples::Samples<'_> {
        samples::Samples::new(self)
    }
    pub fn oidc(&self) -> oidc::Oidc<'_> {
        oidc::Oidc::new(self)
    }
    pub fn presence(&self) -> presence::Presence<'_> {
        presence::Presence::new(self)
    }
    pub fn floors(&self) -> floors::Floors<'_> {
        floors::Floors::new(self)
    }
    pub fn alerts(&self) -> alerts::Alerts<'_> {
        alerts::Alerts::new(self)
    }
    pub fn portal_sessions(&self) -> portal_sessions::PortalSessions<'_> {
        portal_sessions::PortalSessions::new(self)
    }
    pub fn vouchers(&self) -> vouchers::Vouchers<'_> {
        vouchers::Vouchers::new(self)
    }
    pub fn sms_codes(&self) -> sms_codes::SmsCodes<'_> {
        sms_codes::SmsCodes::new(self)
    }
    pub fn wechat_links(&self) -> wechat::WechatLinks<'_> {
        wechat::WechatLinks::new(self)
    }
    pub fn tickets(&self) -> wechat::Tickets<'_> {
        wechat::Tickets::new(self)
    }

    /// Deletes auth_log rows, raw accounting records, stopped accounting
    /// sessions and events older than `before_ms` in one transaction. Open
    /// sessions are kept whatever their age.
    pub async fn prune(&self, before_ms: i64) -> Result<PruneReport> {
        let mut tx = self.begin_write().await?;
        let auth_log = sqlx::query("DELETE FROM auth_log WHERE at_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let sessions = sqlx::query(
            "DELETE FROM acct_sessions WHERE stopped_ms IS NOT NULL AND stopped_ms < $1",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let accounting_records =
            sqlx::query("DELETE FROM accounting_records WHERE received_ms < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let events = sqlx::query("DELETE FROM events WHERE at_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(PruneReport {
            auth_log,
            sessions,
            accounting_records,
            events,
        })
    }

    /// Starts a transaction that will write. SQLite takes the write lock at
    /// once (`BEGIN IMMEDIATE`) so that it waits on `busy_timeout` instead of
    /// failing with SQLITE_BUSY when a read lock cannot be upgraded.
    async fn begin_write(&self) -> Result<Tx> {
        let stmt = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        Ok(self.pool.begin_with(stmt).await?)
    }

    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}

/// Loads the data key, creating it only when the database holds nothing
/// sealed with an earlier key, then checks it against the stored key check.
async fn load_data_key(pool: &AnyPool, path: &Path) -> Result<SecretBox> {
    let key = match secretbox::read_key(path)? {
        Some(key) => key,
        None => {
            if has_key_check(pool).await? {
                if has_sealed_data(pool).await? {
                    return Err(secretbox::key_error(
                        path,
                        "missing, but the database holds secrets encrypted with a data key; \
                         restore the key file (nodes sharing a database need the same file)",
                    ));
                }
                // Nothing is sealed yet, so a new key loses nothing.
                sqlx::query("DELETE FROM store_meta WHERE name = $1")
                    .bind(KEY_CHECK_NAME)
                    .execute(pool)
                    .await?;
            }
            secretbox::create_key(path)?
        }
    };
    let sb = SecretBox::from_key(&key, path);
    let check = sb.seal(Purpose::KeyCheck, KEY_CHECK_PLAIN)?;
    // Keeps the first writer's value when several nodes open at once.
    sqlx::query(
        "INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(KEY_CHECK_NAME)
    .bind(check)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT value FROM store_meta WHERE name = $1")
        .bind(KEY_CHECK_NAME)
        .fetch_one(pool)
        .await?;
    let stored: Vec<u8> = row.try_get("value")?;
    match sb.open(Purpose::KeyCheck, &stored) {
        Ok(plain) if plain == KEY_CHECK_PLAIN => Ok(sb),
        _ => Err(secretbox::key_error(
            path,
            "does not match the key this database's secrets were encrypted with",
        )),
    }
}

async fn has_key_check(pool: &AnyPool) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM store_meta WHERE name = $1")
        .bind(KEY_CHECK_NAME)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

async fn has_sealed_data(pool: &AnyPool) -> Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users WHERE nt_hash_enc IS NOT NULL) \
              + (SELECT COUNT(*) FROM nas) \
              + (SELECT COUNT(*) FROM one_time_credentials) \
              + (SELECT COUNT(*) FROM aps WHERE snmp_secret_enc IS NOT NULL) AS n",
    )
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    Ok(n > 0)
}
