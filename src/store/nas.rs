//! RADIUS clients (access points, controllers): address or prefix, shared
//! secret (encrypted at rest), AP profile and CoA settings.

use std::fmt;

use ipnet::IpNet;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{check_name, conflict_or, get_bool, now_ms};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};

#[derive(Clone, PartialEq, Eq)]
pub struct NewNas {
    pub name: String,
    pub address: IpNet,
    pub secret: String,
    pub profile: String,
    pub coa_port: u16,
    pub require_message_authenticator: bool,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Nas {
    pub id: i64,
    pub name: String,
    pub address: IpNet,
    /// Decrypted.
    pub secret: String,
    pub profile: String,
    pub coa_port: u16,
    pub require_message_authenticator: bool,
    pub created_at: i64,
}

// Debug hides the shared secret so that it never reaches a log.
impl fmt::Debug for NewNas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewNas")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("secret", &"***")
            .field("profile", &self.profile)
            .field("coa_port", &self.coa_port)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .finish()
    }
}

impl fmt::Debug for Nas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nas")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("secret", &"***")
            .field("profile", &self.profile)
            .field("coa_port", &self.coa_port)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .field("created_at", &self.created_at)
            .finish()
    }
}

pub struct NasClients<'a> {
    store: &'a Store,
}

const NAS_COLS: &str =
    "id, name, address, secret_enc, profile, coa_port, require_message_authenticator, created_at";

/// Access-Requests of one NAS over a period, and how many carried a valid
/// Message-Authenticator (the BlastRADIUS view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub requests: i64,
    pub with_ma: i64,
    pub last_ms: i64,
}

impl RequestStats {
    /// Percent with a valid Message-Authenticator, one decimal; `None`
    /// without requests.
    pub fn share(&self) -> Option<f64> {
        (self.requests > 0)
            .then(|| (self.with_ma as f64 * 1000.0 / self.requests as f64).round() / 10.0)
    }
}

impl<'a> NasClients<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        NasClients { store }
    }

    /// Adds one node's counts to the NAS's hour (every node adds its own).
    pub async fn add_request_stats(&self, nas: &str, hour_ms: i64, s: RequestStats) -> Result<()> {
        let greatest = match self.store.backend {
            super::Backend::Sqlite => "MAX",
            super::Backend::Postgres => "GREATEST",
        };
        sqlx::query(&format!(
            "INSERT INTO nas_request_stats (nas_name, hour_ms, requests, with_ma, last_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (nas_name, hour_ms) DO UPDATE SET \
             requests = nas_request_stats.requests + excluded.requests, \
             with_ma = nas_request_stats.with_ma + excluded.with_ma, \
             last_ms = {greatest}(nas_request_stats.last_ms, excluded.last_ms)"
        ))
        .bind(nas)
        .bind(hour_ms)
        .bind(s.requests)
        .bind(s.with_ma)
        .bind(s.last_ms)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Per NAS, the counts of the hours starting at or after `since_ms`.
    pub async fn request_stats_since(
        &self,
        since_ms: i64,
    ) -> Result<std::collections::HashMap<String, RequestStats>> {
        let rows = sqlx::query(
            "SELECT nas_name, CAST(SUM(requests) AS BIGINT) AS r, CAST(SUM(with_ma) AS BIGINT) AS m, \
             MAX(last_ms) AS l FROM nas_request_stats WHERE hour_ms >= $1 GROUP BY nas_name",
        )
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("nas_name")?,
                    RequestStats {
                        requests: r.try_get("r")?,
                        with_ma: r.try_get("m")?,
                        last_ms: r.try_get("l")?,
                    },
                ))
            })
            .collect()
    }

    /// Removes hours before `before_ms`.
    pub async fn prune_request_stats(&self, before_ms: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM nas_request_stats WHERE hour_ms < $1")
                .bind(before_ms)
                .execute(&self.store.pool)
                .await?
                .rows_affected(),
        )
    }

    /// `Conflict` when the name is taken.
    pub async fn add(&self, nas: &NewNas) -> Result<Nas> {
        let name = check_name("NAS", &nas.name)?;
        check_secret(&nas.secret)?;
        let sealed = self
            .store
            .secrets()
            .seal(Purpose::NasSecret, nas.secret.as_bytes())?;
        let sql = format!(
            "INSERT INTO nas (name, address, secret_enc, profile, coa_port, \
             require_message_authenticator, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {NAS_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(nas.address.to_string())
            .bind(sealed)
            .bind(&nas.profile)
            .bind(i64::from(nas.coa_port))
            .bind(nas.require_message_authenticator)
            .bind(now_ms())
            .fetch_one(&self.store.pool)
            .await
            .map_err(|e| conflict_or(e, || format!("NAS {name}")))?;
        self.decode_row(&row)
    }

    /// Changes a NAS's address, profile, CoA port and legacy flag (the
    /// secret has its own call). `NotFound` for an unknown name.
    pub async fn update(
        &self,
        name: &str,
        address: IpNet,
        profile: &str,
        coa_port: u16,
        require_message_authenticator: bool,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE nas SET address = $1, profile = $2, coa_port = $3, \
             require_message_authenticator = $4 WHERE name = $5",
        )
        .bind(address.to_string())
        .bind(profile)
        .bind(i64::from(coa_port))
        .bind(require_message_authenticator)
        .bind(name)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("NAS {name}")));
        }
        Ok(())
    }

    /// All NAS clients ordered by name.
    pub async fn list(&self) -> Result<Vec<Nas>> {
        let sql = format!("SELECT {NAS_COLS} FROM nas ORDER BY name");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(|r| self.decode_row(r))
            .collect()
    }

    pub async fn get(&self, name: &str) -> Result<Option<Nas>> {
        let sql = format!("SELECT {NAS_COLS} FROM nas WHERE name = $1");
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| self.decode_row(&r))
            .transpose()
    }

    pub async fn remove(&self, name: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM nas WHERE name = $1")
            .bind(name)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// `NotFound` for an unknown name.
    pub async fn set_secret(&self, name: &str, secret: &str) -> Result<()> {
        check_secret(secret)?;
        let sealed = self
            .store
            .secrets()
            .seal(Purpose::NasSecret, secret.as_bytes())?;
        let n = sqlx::query("UPDATE nas SET secret_enc = $1 WHERE name = $2")
            .bind(sealed)
            .bind(name)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("NAS {name}")));
        }
        Ok(())
    }

    fn decode_row(&self, row: &AnyRow) -> Result<Nas> {
        let name: String = row.try_get("name")?;
        let address: String = row.try_get("address")?;
        let address = address
            .parse::<IpNet>()
            .map_err(|_| StoreError::Invalid(format!("stored address of NAS {name}: {address}")))?;
        let plain = self.store.secrets().open(
            Purpose::NasSecret,
            &row.try_get::<Vec<u8>, _>("secret_enc")?,
        )?;
        let secret = String::from_utf8(plain).map_err(|_| {
            StoreError::Invalid(format!("stored secret of NAS {name} is not UTF-8"))
        })?;
        let coa_port: i64 = row.try_get("coa_port")?;
        Ok(Nas {
            id: row.try_get("id")?,
            address,
            secret,
            profile: row.try_get("profile")?,
            coa_port: u16::try_from(coa_port).map_err(|_| {
                StoreError::Invalid(format!("stored CoA port of NAS {name}: {coa_port}"))
            })?,
            require_message_authenticator: get_bool(row, "require_message_authenticator")?,
            created_at: row.try_get("created_at")?,
            name,
        })
    }
}

/// RADIUS shared secrets must not be empty (RFC 2865 section 3).
fn check_secret(secret: &str) -> Result<()> {
    if secret.is_empty() {
        return Err(StoreError::Invalid("NAS shared secret is empty".into()));
    }
    Ok(())
}
