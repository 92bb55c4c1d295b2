//! Groups carry the authorization policy (VLAN, timeouts, extra reply
//! attributes, allowed methods) that users and devices inherit.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{check_name, from_json, to_json};
use super::{Result, Store, StoreError};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub vlan: Option<String>,
    pub session_timeout: Option<u32>,
    pub idle_timeout: Option<u32>,
    pub filter_id: Option<String>,
    pub class: Option<String>,
    /// Vendor or extra reply attributes by dictionary name, stored as JSON.
    pub reply_attributes: Vec<(String, String)>,
    /// Empty = all methods.
    pub allowed_methods: Vec<String>,
}

pub struct Groups<'a> {
    store: &'a Store,
}

const GROUP_COLS: &str = "name, vlan, session_timeout, idle_timeout, filter_id, class, \
                          reply_attributes, allowed_methods";

impl<'a> Groups<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Groups { store }
    }

    /// Creates the group or replaces its whole policy.
    pub async fn upsert(&self, group: &Group) -> Result<()> {
        let name = check_name("group", &group.name)?;
        sqlx::query(
            "INSERT INTO groups (name, vlan, session_timeout, idle_timeout, filter_id, class, \
             reply_attributes, allowed_methods) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET vlan = excluded.vlan, \
             session_timeout = excluded.session_timeout, idle_timeout = excluded.idle_timeout, \
             filter_id = excluded.filter_id, class = excluded.class, \
             reply_attributes = excluded.reply_attributes, \
             allowed_methods = excluded.allowed_methods",
        )
        .bind(name)
        .bind(&group.vlan)
        .bind(group.session_timeout.map(i64::from))
        .bind(group.idle_timeout.map(i64::from))
        .bind(&group.filter_id)
        .bind(&group.class)
        .bind(to_json(&group.reply_attributes)?)
        .bind(to_json(&group.allowed_methods)?)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn get(&self, name: &str) -> Result<Option<Group>> {
        let sql = format!("SELECT {GROUP_COLS} FROM groups WHERE name = $1");
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()
    }

    /// All groups ordered by name.
    pub async fn list(&self) -> Result<Vec<Group>> {
        let sql = format!("SELECT {GROUP_COLS} FROM groups ORDER BY name");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Removes the group and its memberships; false if there was none.
    pub async fn remove(&self, name: &str) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        // Explicit rather than relying on ON DELETE CASCADE alone.
        sqlx::query(
            "DELETE FROM user_groups WHERE group_id IN (SELECT id FROM groups WHERE name = $1)",
        )
        .bind(name)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("DELETE FROM groups WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Usernames of the group's members, sorted; empty for an unknown group.
    pub async fn members(&self, name: &str) -> Result<Vec<String>> {
        sqlx::query(
            "SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id \
             JOIN groups g ON g.id = ug.group_id WHERE g.name = $1 ORDER BY u.username",
        )
        .bind(name)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("username")?))
        .collect()
    }
}

fn timeout(row: &AnyRow, col: &str) -> Result<Option<u32>> {
    row.try_get::<Option<i64>, _>(col)?
        .map(|v| u32::try_from(v).map_err(|_| StoreError::Invalid(format!("stored {col} {v}"))))
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<Group> {
    let name: String = row.try_get("name")?;
    Ok(Group {
        vlan: row.try_get("vlan")?,
        session_timeout: timeout(row, "session_timeout")?,
        idle_timeout: timeout(row, "idle_timeout")?,
        filter_id: row.try_get("filter_id")?,
        class: row.try_get("class")?,
        reply_attributes: from_json(
            &row.try_get::<String, _>("reply_attributes")?,
            "reply_attributes",
        )?,
        allowed_methods: from_json(
            &row.try_get::<String, _>("allowed_methods")?,
            "allowed_methods",
        )?,
        name,
    })
}
