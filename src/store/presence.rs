//! Wi-Fi presence for meeting check-in (issue 15): who opted in, the
//! rooms set by hand on APs (`aps.room`), and the raw association facts
//! (open accounting sessions, recent SNMP client rows). Which of these
//! count, and for whom, is decided in `sso::presence`.

use sqlx::Row;

use super::{Result, Store};

/// One device's association with an AP, as a fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    /// The account the session carries (802.1X username or a MAC).
    pub username: Option<String>,
    /// The device's MAC as the NAS sent it.
    pub device: Option<String>,
    /// The AP (the accounting session's Called-Station-Id, or the AP's id
    /// for an SNMP row, as `ap:<id>`).
    pub ap: Option<String>,
    /// First seen (session start, or sample time).
    pub since_ms: i64,
    /// For an accounting session, when Portico last heard an interim
    /// update (its own clock; None before the first one); None for SNMP
    /// rows.
    pub interim_ms: Option<i64>,
}

pub struct Presence<'a> {
    store: &'a Store,
}

impl<'a> Presence<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Presence { store }
    }

    pub async fn opt_in(&self, username: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO presence_consents (username, granted_at) VALUES ($1, $2) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(at_ms)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn opt_out(&self, username: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM presence_consents WHERE username = $1")
            .bind(username)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// When the person opted in, if they did.
    pub async fn opted_in(&self, username: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query("SELECT granted_at FROM presence_consents WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.store.pool)
                .await?
                .map(|r| r.try_get("granted_at"))
                .transpose()?,
        )
    }

    /// Puts APs in a room by hand (`portico room add`); the count changed.
    pub async fn set_room(&self, room: &str, aps: &[String]) -> Result<u64> {
        let mut tx = self.store.begin_write().await?;
        let mut n = 0;
        for ap in aps {
            n += sqlx::query("UPDATE aps SET room = $1 WHERE name = $2")
                .bind(room)
                .bind(ap)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        if n as usize != aps.len() {
            tx.rollback().await?;
            return Err(super::StoreError::NotFound(format!(
                "AP in {}",
                aps.join(", ")
            )));
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Takes every AP out of a room; how many were in it.
    pub async fn clear_room(&self, room: &str) -> Result<u64> {
        Ok(sqlx::query("UPDATE aps SET room = NULL WHERE room = $1")
            .bind(room)
            .execute(&self.store.pool)
            .await?
            .rows_affected())
    }

    /// Rooms set by hand: (room, AP id, AP name, AP MAC), by room.
    pub async fn hand_rooms(&self) -> Result<Vec<(String, i64, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT room, id, name, mac FROM aps WHERE room IS NOT NULL AND room <> '' \
             ORDER BY room, name",
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("room")?,
                    r.try_get("id")?,
                    r.try_get("name")?,
                    r.try_get("mac")?,
                ))
            })
            .collect()
    }

    /// Accounting sessions open now, or (with `since_ms`) started since
    /// then whether open or not.
    pub async fn sessions(&self, started_since_ms: Option<i64>) -> Result<Vec<Association>> {
        let rows = match started_since_ms {
            None => {
                sqlx::query(
                    "SELECT username, calling_station, called_station, started_ms, \
                     interim_heard_ms FROM acct_sessions WHERE stopped_ms IS NULL",
                )
                .fetch_all(&self.store.pool)
                .await?
            }
            Some(t) => {
                sqlx::query(
                    "SELECT username, calling_station, called_station, started_ms, \
                     interim_heard_ms FROM acct_sessions WHERE started_ms >= $1",
                )
                .bind(t)
                .fetch_all(&self.store.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(Association {
                    username: r.try_get("username")?,
                    device: r.try_get("calling_station")?,
                    ap: r.try_get("called_station")?,
                    since_ms: r.try_get("started_ms")?,
                    interim_ms: r.try_get("interim_heard_ms")?,
                })
            })
            .collect()
    }

    /// Client rows SNMP polls saw since `since_ms` (the newest per device
    /// and AP), with the AP as `ap:<id>`.
    pub async fn polled_clients(&self, since_ms: i64) -> Result<Vec<Association>> {
        let rows = sqlx::query(
            "SELECT ap_id, mac, username, MIN(at_ms) AS first_ms FROM client_samples \
             WHERE at_ms >= $1 AND mac IS NOT NULL GROUP BY ap_id, mac, username",
        )
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Association {
                    username: r.try_get("username")?,
                    device: r.try_get("mac")?,
                    ap: Some(format!("ap:{}", r.try_get::<i64, _>("ap_id")?)),
                    since_ms: r.try_get("first_ms")?,
                    interim_ms: None,
                })
            })
            .collect()
    }

    /// The staff member an active portal session gives a device, if any.
    pub async fn portal_identity(&self, mac: &str, now_ms: i64) -> Result<Option<String>> {
        Ok(sqlx::query(
            "SELECT identity FROM portal_sessions WHERE mac = $1 \
             AND (method IN ('staff', 'wecom') OR (method = 'wechat' AND identity NOT LIKE 'wechat:%')) \
             AND ended_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(mac)
        .bind(now_ms)
        .fetch_optional(&self.store.pool)
        .await?
        .map(|r| r.try_get("identity"))
        .transpose()?)
    }
}
