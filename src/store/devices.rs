//! Devices registered for MAC authentication (printers, phones, ...).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{clean_groups, conflict_or, from_json, now_ms, to_json};
use super::{Result, Store, StoreError};
use crate::domain::MacAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub mac: MacAddr,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub groups: Vec<String>,
    /// Ignored by `add`, which stamps the current time.
    pub created_at: i64,
}

pub struct Devices<'a> {
    store: &'a Store,
}

const DEVICE_COLS: &str = "mac, owner, description, groups, created_at";

impl<'a> Devices<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Devices { store }
    }

    /// `Conflict` when the MAC is already registered. Groups are stored by
    /// name; unknown groups simply carry no policy.
    pub async fn add(&self, device: &Device) -> Result<()> {
        let groups = clean_groups(&device.groups)?;
        let mac = device.mac.to_string();
        sqlx::query(
            "INSERT INTO devices (mac, owner, description, groups, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&mac)
        .bind(&device.owner)
        .bind(&device.description)
        .bind(to_json(&groups)?)
        .bind(now_ms())
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("device {mac}")))?;
        Ok(())
    }

    pub async fn get(&self, mac: MacAddr) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLS} FROM devices WHERE mac = $1");
        sqlx::query(&sql)
            .bind(mac.to_string())
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// All devices ordered by MAC.
    pub async fn list(&self) -> Result<Vec<Device>> {
        let sql = format!("SELECT {DEVICE_COLS} FROM devices ORDER BY mac");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    pub async fn remove(&self, mac: MacAddr) -> Result<bool> {
        let n = sqlx::query("DELETE FROM devices WHERE mac = $1")
            .bind(mac.to_string())
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}

fn from_row(row: &AnyRow) -> Result<Device> {
    let mac: String = row.try_get("mac")?;
    Ok(Device {
        mac: MacAddr::parse(&mac)
            .map_err(|_| StoreError::Invalid(format!("stored device MAC {mac:?}")))?,
        owner: row.try_get("owner")?,
        description: row.try_get("description")?,
        groups: from_json(&row.try_get::<String, _>("groups")?, "device groups")?,
        created_at: row.try_get("created_at")?,
    })
}
