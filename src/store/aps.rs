//! AP and WLAN-controller inventory: identity, location, SNMP credentials
//! (sealed with the data key), and the latest poll state. Devices found by
//! discovery wait in `discovered` until adopted.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{check_name, conflict_or, from_json, now_ms, to_json};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};
use crate::domain::MacAddr;

/// SNMP credentials as stored (sealed). Passwords never leave the store
/// except to the poller.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "version", rename_all = "lowercase")]
pub enum SnmpSecret {
    /// Not polled (inventory only).
    #[default]
    None,
    V1 {
        community: String,
    },
    V2c {
        community: String,
    },
    V3 {
        user: String,
        #[serde(default)]
        auth_protocol: Option<String>,
        #[serde(default)]
        auth_password: Option<String>,
        #[serde(default)]
        priv_protocol: Option<String>,
        #[serde(default)]
        priv_password: Option<String>,
    },
}

impl SnmpSecret {
    pub fn version(&self) -> &'static str {
        match self {
            SnmpSecret::None => "none",
            SnmpSecret::V1 { .. } => "v1",
            SnmpSecret::V2c { .. } => "v2c",
            SnmpSecret::V3 { .. } => "v3",
        }
    }

    /// The community for v1/v2c (traps must carry it).
    pub fn community(&self) -> Option<&str> {
        match self {
            SnmpSecret::V1 { community } | SnmpSecret::V2c { community } => Some(community),
            _ => None,
        }
    }
}

impl fmt::Debug for SnmpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnmpSecret::V3 {
                user,
                auth_protocol,
                priv_protocol,
                ..
            } => write!(
                f,
                "V3(user={user}, auth={auth_protocol:?}, priv={priv_protocol:?}, ***)"
            ),
            other => write!(f, "{}(***)", other.version()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApKind {
    #[default]
    Ap,
    Controller,
}

impl ApKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApKind::Ap => "ap",
            ApKind::Controller => "controller",
        }
    }
    pub fn parse(s: &str) -> Option<ApKind> {
        match s {
            "ap" => Some(ApKind::Ap),
            "controller" => Some(ApKind::Controller),
            _ => None,
        }
    }
}

/// What an admin gives (add, edit, import).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NewAp {
    pub name: String,
    pub kind: ApKind,
    pub mac: Option<String>,
    /// `HOST` or `HOST:PORT` (SNMP port, default 161).
    pub address: String,
    pub profile: String,
    /// The controller that manages it, for APs a controller enumerated.
    pub controller: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub room: Option<String>,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub snmp: SnmpSecret,
    pub tags: Vec<String>,
    pub notes: String,
}

/// An inventory row with its latest poll state.
#[derive(Clone, Debug, PartialEq)]
pub struct Ap {
    pub id: i64,
    pub spec: NewAp,
    /// `unknown`, `up` or `down`.
    pub status: String,
    /// Failed poll cycles in a row.
    pub failures: i64,
    pub last_poll_ms: Option<i64>,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    pub sys_name: Option<String>,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub uptime_ticks: Option<i64>,
    pub polled_model: Option<String>,
    pub polled_serial: Option<String>,
    pub polled_firmware: Option<String>,
    pub clients: Option<i64>,
    /// The SSIDs it served at its last poll (JSON list), if known.
    pub vaps: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Ap {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// The result of one poll, for the inventory row.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PollUpdate {
    pub ap_id: i64,
    pub at_ms: i64,
    pub ok: bool,
    pub status: String,
    pub failures: i64,
    pub error: Option<String>,
    pub sys_name: Option<String>,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub uptime_ticks: Option<i64>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub clients: Option<i64>,
    /// The SSIDs it serves (JSON list), where the profile reads them.
    pub vaps: Option<String>,
}

/// A device found by a sweep or in a controller's AP table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discovered {
    /// The row's number (0 before it is stored); `ap adopt ID` takes it.
    pub id: i64,
    pub address: String,
    /// `sweep` or the controller's name.
    pub via: String,
    pub profile: Option<String>,
    /// `ap` or `controller`, as the profile says.
    pub kind: Option<String>,
    pub mac: Option<String>,
    pub serial: Option<String>,
    pub sys_name: Option<String>,
    pub sys_descr: Option<String>,
    pub sys_object_id: Option<String>,
    pub model: Option<String>,
    pub seen_ms: i64,
}

impl Discovered {
    /// What makes it one device: its MAC, else its sysObjectID and serial,
    /// else the address it answered on.
    pub fn device_key(&self) -> String {
        if let Some(m) = &self.mac {
            return format!("mac:{m}");
        }
        if let Some(s) = &self.serial {
            let kind = self.sys_object_id.as_deref().unwrap_or(&self.via);
            return format!("serial:{kind}:{s}");
        }
        format!("addr:{}", self.address)
    }
}

/// Checks `HOST` or `HOST:PORT` (IPv6 as `[addr]:port` or a bare address).
pub fn check_address(address: &str) -> Result<()> {
    let a = address.trim();
    let bad = || StoreError::Invalid(format!("address {address:?} is not HOST or HOST:PORT"));
    if a.is_empty() || a.len() > 253 || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    if a.parse::<std::net::IpAddr>().is_ok() || a.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = match a.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (a, None),
    };
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(bad()),
        }
    }
    let host_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn clean(spec: &NewAp) -> Result<NewAp> {
    let mut s = spec.clone();
    s.name = check_name("AP", &spec.name)?.to_string();
    check_address(&s.address)?;
    s.address = s.address.trim().to_string();
    if s.profile.trim().is_empty() {
        return Err(StoreError::Invalid(format!(
            "AP {}: profile is empty",
            s.name
        )));
    }
    s.mac = match spec.mac.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(
            MacAddr::parse(m)
                .map_err(|_| {
                    StoreError::Invalid(format!("AP {}: MAC {m:?} is not a MAC address", s.name))
                })?
                .to_string(),
        ),
    };
    for (what, v) in [("x", s.x), ("y", s.y)] {
        if v.is_some_and(|f| !f.is_finite()) {
            return Err(StoreError::Invalid(format!(
                "AP {}: {what} is not a number",
                s.name
            )));
        }
    }
    let mut tags: Vec<String> = Vec::new();
    for t in &spec.tags {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        if t.len() > 64 || t.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!(
                "AP {}: tag {t:?} is not valid",
                s.name
            )));
        }
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    s.tags = tags;
    if let SnmpSecret::V3 { user, .. } = &s.snmp {
        if user.is_empty() {
            return Err(StoreError::Invalid(format!(
                "AP {}: SNMPv3 user is empty",
                s.name
            )));
        }
    }
    if let Some(c) = s.snmp.community() {
        if c.is_empty() {
            return Err(StoreError::Invalid(format!(
                "AP {}: SNMP community is empty",
                s.name
            )));
        }
    }
    Ok(s)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds $1..$18, the inventory fields in the order both INSERT and
/// UPDATE name them.
fn bind_inventory<'q>(
    q: AnyQuery<'q>,
    s: &'q NewAp,
    sealed: Option<Vec<u8>>,
    tags: &'q str,
) -> AnyQuery<'q> {
    q.bind(&s.name)
        .bind(s.kind.as_str())
        .bind(&s.mac)
        .bind(&s.address)
        .bind(&s.profile)
        .bind(&s.controller)
        .bind(&s.model)
        .bind(&s.serial)
        .bind(&s.firmware)
        .bind(&s.building)
        .bind(&s.floor)
        .bind(&s.room)
        .bind(s.x)
        .bind(s.y)
        .bind(s.snmp.version())
        .bind(sealed)
        .bind(tags)
        .bind(&s.notes)
}

pub(super) const AP_COLS: &str =
    "id, name, kind, mac, address, profile, controller, model, serial, firmware, \
     building, floor, room, x, y, snmp_version, snmp_secret_enc, tags, notes, status, failures, \
     last_poll_ms, last_ok_ms, last_error, sys_name, sys_descr, sys_object_id, uptime_ticks, \
     polled_model, polled_serial, polled_firmware, clients, vaps, created_at, updated_at";

pub struct Aps<'a> {
    store: &'a Store,
}

impl<'a> Aps<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Aps { store }
    }

    fn seal(&self, secret: &SnmpSecret) -> Result<Option<Vec<u8>>> {
        if *secret == SnmpSecret::None {
            return Ok(None);
        }
        let json = to_json(secret)?;
        // The data key's NAS-secret purpose: both are device credentials.
        Ok(Some(
            self.store
                .secrets()
                .seal(Purpose::NasSecret, json.as_bytes())?,
        ))
    }

    async fn insert(&self, tx: &mut super::Tx, spec: &NewAp) -> Result<i64> {
        let s = clean(spec)?;
        let sealed = self.seal(&s.snmp)?;
        let now = now_ms();
        let tags = to_json(&s.tags)?;
        let row = bind_inventory(sqlx::query(
            "INSERT INTO aps (name, kind, mac, address, profile, controller, model, serial, firmware, \
             building, floor, room, x, y, snmp_version, snmp_secret_enc, tags, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             RETURNING id",
        ), &s, sealed, &tags)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| conflict_or(e, || format!("AP {} (or its MAC)", s.name)))?;
        Ok(row.try_get("id")?)
    }

    /// `Conflict` when the name or MAC is taken.
    pub async fn add(&self, spec: &NewAp) -> Result<Ap> {
        let mut tx = self.store.begin_write().await?;
        self.insert(&mut tx, spec).await?;
        tx.commit().await?;
        self.get(spec.name.trim())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("AP {}", spec.name)))
    }

    /// All or nothing: the first bad row's error, with its position.
    pub async fn add_many(&self, specs: &[NewAp]) -> Result<usize> {
        let mut tx = self.store.begin_write().await?;
        for (i, spec) in specs.iter().enumerate() {
            if let Err(e) = self.insert(&mut tx, spec).await {
                return Err(match e {
                    StoreError::Conflict(w) => StoreError::Conflict(format!("row {}: {w}", i + 1)),
                    StoreError::Invalid(w) => StoreError::Invalid(format!("row {}: {w}", i + 1)),
                    other => other,
                });
            }
        }
        tx.commit().await?;
        Ok(specs.len())
    }

    /// Replaces the inventory fields of `name` (poll state is kept).
    pub async fn update(&self, name: &str, spec: &NewAp) -> Result<Ap> {
        let s = clean(spec)?;
        let sealed = self.seal(&s.snmp)?;
        let tags = to_json(&s.tags)?;
        let n = bind_inventory(sqlx::query(
            "UPDATE aps SET name = $1, kind = $2, mac = $3, address = $4, profile = $5, controller = $6, \
             model = $7, serial = $8, firmware = $9, building = $10, floor = $11, room = $12, x = $13, \
             y = $14, snmp_version = $15, snmp_secret_enc = $16, tags = $17, notes = $18, updated_at = $19 \
             WHERE name = $20",
        ), &s, sealed, &tags)
        .bind(now_ms())
        .bind(name)
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("AP {} (or its MAC)", s.name)))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("AP {name}")));
        }
        self.get(&s.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("AP {}", s.name)))
    }

    pub async fn remove(&self, name: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM aps WHERE name = $1")
            .bind(name)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn get(&self, name: &str) -> Result<Option<Ap>> {
        let sql = format!("SELECT {AP_COLS} FROM aps WHERE name = $1");
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| self.decode(&r))
            .transpose()
    }

    /// Ordered by name.
    pub async fn list(&self) -> Result<Vec<Ap>> {
        let sql = format!("SELECT {AP_COLS} FROM aps ORDER BY name");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(|r| self.decode(r))
            .collect()
    }

    /// Writes a batch of poll results in one transaction.
    pub async fn record_polls(&self, updates: &[PollUpdate]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin_write().await?;
        for u in updates {
            record_poll_in(&mut tx, u).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn upsert_discovered(&self, d: &Discovered) -> Result<()> {
        sqlx::query(
            "INSERT INTO discovered_devices (device_key, address, via, profile, kind, mac, serial, sys_name, \
             sys_descr, sys_object_id, model, seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (device_key) DO UPDATE SET address = excluded.address, via = excluded.via, \
             profile = excluded.profile, kind = excluded.kind, mac = excluded.mac, serial = excluded.serial, \
             sys_name = excluded.sys_name, sys_descr = excluded.sys_descr, \
             sys_object_id = excluded.sys_object_id, model = excluded.model, seen_ms = excluded.seen_ms",
        )
        .bind(d.device_key())
        .bind(&d.address)
        .bind(&d.via)
        .bind(&d.profile)
        .bind(&d.kind)
        .bind(&d.mac)
        .bind(&d.serial)
        .bind(&d.sys_name)
        .bind(&d.sys_descr)
        .bind(&d.sys_object_id)
        .bind(&d.model)
        .bind(d.seen_ms)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Pending discoveries (those not yet in the inventory), by address.
    pub async fn discovered(&self) -> Result<Vec<Discovered>> {
        sqlx::query(
            "SELECT id, address, via, profile, kind, mac, serial, sys_name, sys_descr, sys_object_id, model, seen_ms \
             FROM discovered_devices d WHERE NOT EXISTS (SELECT 1 FROM aps a WHERE a.address = d.address \
             OR (d.mac IS NOT NULL AND a.mac = d.mac) \
             OR (d.serial IS NOT NULL AND (a.serial = d.serial OR a.polled_serial = d.serial))) \
             ORDER BY address, id",
        )
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Discovered {
                id: r.try_get("id")?,
                address: r.try_get("address")?,
                via: r.try_get("via")?,
                profile: r.try_get("profile")?,
                kind: r.try_get("kind")?,
                mac: r.try_get("mac")?,
                serial: r.try_get("serial")?,
                sys_name: r.try_get("sys_name")?,
                sys_descr: r.try_get("sys_descr")?,
                sys_object_id: r.try_get("sys_object_id")?,
                model: r.try_get("model")?,
                seen_ms: r.try_get("seen_ms")?,
            })
        })
        .collect()
    }

    /// The AP named `key`, else the one at address `key` (a sweep names a
    /// controller by the address it answered on).
    pub async fn find_by_name_or_address(&self, key: &str) -> Result<Option<Ap>> {
        if let Some(ap) = self.get(key).await? {
            return Ok(Some(ap));
        }
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|a| a.spec.address == key || a.spec.address.strip_suffix(":161") == Some(key)))
    }

    /// A pending discovery by its number or its address (the newest seen
    /// when several devices answered on one address).
    pub async fn find_discovered(&self, id_or_address: &str) -> Result<Option<Discovered>> {
        let list = self.discovered().await?;
        let by_id = id_or_address
            .parse::<i64>()
            .ok()
            .and_then(|id| list.iter().find(|d| d.id == id));
        Ok(by_id
            .or_else(|| {
                list.iter()
                    .filter(|d| d.address == id_or_address)
                    .max_by_key(|d| d.seen_ms)
            })
            .cloned())
    }

    pub async fn forget_discovered(&self, address: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM discovered_devices WHERE address = $1")
            .bind(address)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn forget_discovered_id(&self, id: i64) -> Result<bool> {
        let n = sqlx::query("DELETE FROM discovered_devices WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Sets the profile (and kind) found by detection on the first poll,
    /// only while the AP still waits for one (`auto`); true if it did.
    pub async fn set_detected_profile(&self, id: i64, profile: &str, kind: ApKind) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE aps SET profile = $1, kind = $2 WHERE id = $3 AND profile = 'auto'",
        )
        .bind(profile)
        .bind(kind.as_str())
        .bind(id)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub(super) fn decode(&self, r: &AnyRow) -> Result<Ap> {
        let name: String = r.try_get("name")?;
        let kind: String = r.try_get("kind")?;
        let sealed: Option<Vec<u8>> = r.try_get("snmp_secret_enc")?;
        let snmp = match sealed {
            None => SnmpSecret::None,
            Some(b) => {
                let plain = self.store.secrets().open(Purpose::NasSecret, &b)?;
                let text = String::from_utf8(plain).map_err(|_| {
                    StoreError::Invalid(format!("stored SNMP credentials of AP {name}"))
                })?;
                from_json(&text, "SNMP credentials")?
            }
        };
        let tags: String = r.try_get("tags")?;
        Ok(Ap {
            id: r.try_get("id")?,
            spec: NewAp {
                kind: ApKind::parse(&kind).ok_or_else(|| {
                    StoreError::Invalid(format!("stored kind of AP {name}: {kind}"))
                })?,
                mac: r.try_get("mac")?,
                address: r.try_get("address")?,
                profile: r.try_get("profile")?,
                controller: r.try_get("controller")?,
                model: r.try_get("model")?,
                serial: r.try_get("serial")?,
                firmware: r.try_get("firmware")?,
                building: r.try_get("building")?,
                floor: r.try_get("floor")?,
                room: r.try_get("room")?,
                x: r.try_get("x")?,
                y: r.try_get("y")?,
                snmp,
                tags: from_json(&tags, "AP tags")?,
                notes: r.try_get("notes")?,
                name,
            },
            status: r.try_get("status")?,
            failures: r.try_get("failures")?,
            last_poll_ms: r.try_get("last_poll_ms")?,
            last_ok_ms: r.try_get("last_ok_ms")?,
            last_error: r.try_get("last_error")?,
            sys_name: r.try_get("sys_name")?,
            sys_descr: r.try_get("sys_descr")?,
            sys_object_id: r.try_get("sys_object_id")?,
            uptime_ticks: r.try_get("uptime_ticks")?,
            polled_model: r.try_get("polled_model")?,
            polled_serial: r.try_get("polled_serial")?,
            polled_firmware: r.try_get("polled_firmware")?,
            vaps: r.try_get("vaps")?,
            clients: r.try_get("clients")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

pub(super) async fn record_poll_in(tx: &mut super::Tx, u: &PollUpdate) -> Result<()> {
    if u.ok {
        sqlx::query(
            "UPDATE aps SET status = $1, failures = 0, last_poll_ms = $2, last_ok_ms = $2, last_error = NULL, \
             sys_name = $3, sys_descr = $4, sys_object_id = $5, uptime_ticks = $6, polled_model = $7, \
             polled_serial = $8, polled_firmware = $9, clients = $10, vaps = $11 WHERE id = $12",
        )
        .bind(&u.status)
        .bind(u.at_ms)
        .bind(&u.sys_name)
        .bind(&u.sys_descr)
        .bind(&u.sys_object_id)
        .bind(u.uptime_ticks)
        .bind(&u.model)
        .bind(&u.serial)
        .bind(&u.firmware)
        .bind(u.clients)
        .bind(&u.vaps)
        .bind(u.ap_id)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE aps SET status = $1, failures = $2, last_poll_ms = $3, last_error = $4 WHERE id = $5",
        )
        .bind(&u.status)
        .bind(u.failures)
        .bind(u.at_ms)
        .bind(&u.error)
        .bind(u.ap_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{both, raw_blob};
    use super::*;

    fn spec(name: &str) -> NewAp {
        NewAp {
            name: name.into(),
            address: "192.0.2.10:1161".into(),
            profile: "generic".into(),
            mac: Some("00-1A-2B-3C-4D-5E".into()),
            building: Some("Main".into()),
            floor: Some("3".into()),
            x: Some(12.5),
            y: Some(4.0),
            snmp: SnmpSecret::V2c {
                community: "s3cret-community".into(),
            },
            tags: vec!["lobby".into(), " ".into(), "lobby".into()],
            ..NewAp::default()
        }
    }

    #[tokio::test]
    async fn inventory_round_trip_with_sealed_credentials() {
        both(|h| async move {
            let aps = h.store.aps();
            let a = aps.add(&spec("ap-1")).await.unwrap();
            assert_eq!(a.spec.mac.as_deref(), Some("00:1a:2b:3c:4d:5e"));
            assert_eq!(a.spec.tags, ["lobby"]);
            assert_eq!(a.status, "unknown");
            assert_eq!(a.spec.snmp.community(), Some("s3cret-community"));
            let blob = raw_blob(&h.store, "SELECT snmp_secret_enc FROM aps").await;
            assert!(
                !blob.windows(6).any(|w| w == b"s3cret"),
                "credentials are sealed"
            );
            assert!(matches!(
                aps.add(&spec("ap-1")).await,
                Err(StoreError::Conflict(_))
            ));
            let mut other = spec("ap-2");
            other.mac = Some("00:1a:2b:3c:4d:5e".into());
            assert!(matches!(
                aps.add(&other).await,
                Err(StoreError::Conflict(_))
            ));
            let mut bad = spec("ap-3");
            bad.address = "not an address".into();
            assert!(matches!(aps.add(&bad).await, Err(StoreError::Invalid(_))));
            // Edit keeps poll state, rename works.
            aps.record_polls(&[PollUpdate {
                ap_id: a.id,
                at_ms: 1000,
                ok: true,
                status: "up".into(),
                sys_name: Some("lobby".into()),
                ..PollUpdate::default()
            }])
            .await
            .unwrap();
            let mut s = a.spec.clone();
            s.name = "ap-lobby".into();
            s.snmp = SnmpSecret::V3 {
                user: "u".into(),
                auth_protocol: Some("sha256".into()),
                auth_password: Some("authpass1".into()),
                priv_protocol: Some("aes128".into()),
                priv_password: Some("privpass1".into()),
            };
            let e = aps.update("ap-1", &s).await.unwrap();
            assert_eq!(
                (e.status.as_str(), e.sys_name.as_deref()),
                ("up", Some("lobby"))
            );
            assert_eq!(e.spec.snmp.version(), "v3");
            assert!(aps.get("ap-1").await.unwrap().is_none());
            // All or nothing.
            let mut fourth = spec("ap-4");
            fourth.mac = None;
            let err = aps.add_many(&[fourth, spec("ap-lobby")]).await.unwrap_err();
            assert!(err.to_string().contains("row 2"), "{err}");
            assert_eq!(aps.list().await.unwrap().len(), 1);
            assert!(aps.remove("ap-lobby").await.unwrap());
            assert!(!aps.remove("ap-lobby").await.unwrap());
        })
        .await;
    }

    #[tokio::test]
    async fn discovered_until_adopted() {
        both(|h| async move {
            let aps = h.store.aps();
            let d = Discovered {
                id: 0,
                address: "192.0.2.10:1161".into(),
                via: "sweep".into(),
                profile: Some("generic".into()),
                kind: Some("ap".into()),
                mac: None,
                serial: None,
                sys_name: Some("x".into()),
                sys_descr: None,
                sys_object_id: None,
                model: None,
                seen_ms: 1,
            };
            aps.upsert_discovered(&d).await.unwrap();
            aps.upsert_discovered(&Discovered {
                seen_ms: 2,
                ..d.clone()
            })
            .await
            .unwrap();
            let list = aps.discovered().await.unwrap();
            assert_eq!((list.len(), list[0].seen_ms), (1, 2));
            // Keyed by device: one MAC seen at two addresses is one row;
            // two devices behind one address are two.
            let by_mac = Discovered {
                address: "10.0.0.5".into(),
                via: "ctl".into(),
                mac: Some("00:0b:86:00:00:01".into()),
                ..d.clone()
            };
            aps.upsert_discovered(&by_mac).await.unwrap();
            aps.upsert_discovered(&Discovered {
                address: "10.0.0.6".into(),
                ..by_mac.clone()
            })
            .await
            .unwrap();
            aps.upsert_discovered(&Discovered {
                address: "10.0.0.6".into(),
                mac: Some("00:0b:86:00:00:02".into()),
                ..by_mac.clone()
            })
            .await
            .unwrap();
            let list = aps.discovered().await.unwrap();
            assert_eq!(list.len(), 3, "{list:?}");
            let one = list
                .iter()
                .find(|x| x.mac.as_deref() == Some("00:0b:86:00:00:01"))
                .unwrap();
            assert_eq!(one.address, "10.0.0.6");
            let found = aps
                .find_discovered(&one.id.to_string())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found.mac, one.mac);
            assert!(aps.find_discovered("10.0.0.6").await.unwrap().is_some());
            assert!(aps.forget_discovered_id(one.id).await.unwrap());
            assert_eq!(aps.discovered().await.unwrap().len(), 2);
            aps.add(&spec("ap-1")).await.unwrap();
            assert_eq!(aps.discovered().await.unwrap().len(), 1);
        })
        .await;
    }
}
