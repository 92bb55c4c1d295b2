//! Monitoring samples: per AP (up, uptime, clients), per radio, per
//! interface, and per client. Raw samples are kept `raw_ms` (48 h by
//! default), then averaged into 5-minute rows kept `five_min_ms` (30 days),
//! then hourly rows kept `hourly_ms` (a year).

use std::collections::BTreeMap;

use sqlx::Row;

use super::aps::{record_poll_in, PollUpdate};
use super::radio_pack::{pack, unpack, PackedRadio};
use super::{Result, Store, StoreError};

pub const RAW: i64 = 0;
pub const FIVE_MIN: i64 = 300_000;
pub const HOURLY: i64 = 3_600_000;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RadioSample {
    pub radio: String,
    pub channel: Option<i64>,
    pub tx_power: Option<i64>,
    pub noise: Option<i64>,
    pub utilization: Option<i64>,
    pub clients: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IfSample {
    pub if_index: String,
    pub up: Option<bool>,
    pub in_octets: Option<i64>,
    pub out_octets: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClientSample {
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub username: Option<String>,
    pub ap: Option<String>,
    pub ssid: Option<String>,
    pub rssi: Option<i64>,
    pub snr: Option<i64>,
}

/// Where a client was last seen (see [`Samples::client_by_mac`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSeen {
    pub at_ms: i64,
    pub ap: String,
    pub rssi: Option<i64>,
    pub band: Option<&'static str>,
}

/// Everything one poll of one AP stores.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PollRecord {
    pub update: PollUpdate,
    pub uptime_s: Option<i64>,
    pub radios: Vec<RadioSample>,
    pub interfaces: Vec<IfSample>,
    pub clients: Vec<ClientSample>,
    pub neighbours: Vec<NeighbourSample>,
}

/// One AP hearing another, as a controller's RRM list reports it: kept
/// newest only, per (reporter, heard AP, band).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NeighbourSample {
    /// The reporting AP: its MAC, else its name.
    pub reporter: String,
    /// The heard AP's radio MAC (or BSSID).
    pub neighbour: String,
    /// `2.4`, `5` or `6`.
    pub band: String,
    pub channel: Option<i64>,
    /// dBm.
    pub rssi: i64,
    pub at_ms: i64,
}

/// How long each resolution is kept (milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleRetention {
    pub raw_ms: i64,
    pub five_min_ms: i64,
    pub hourly_ms: i64,
}

impl Default for SampleRetention {
    fn default() -> Self {
        SampleRetention {
            raw_ms: 48 * 3_600_000,
            five_min_ms: 30 * 86_400_000,
            hourly_ms: 365 * 86_400_000,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DownsampleReport {
    pub rolled_up: u64,
    pub deleted: u64,
}

/// A stored radio sample with its time and resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RadioPoint {
    pub at_ms: i64,
    pub resolution: i64,
    pub sample: RadioSample,
}

pub struct Samples<'a> {
    store: &'a Store,
}

/// (table, key columns, averaged columns) of the tables that roll up in
/// SQL. Radio samples (packed) roll up in [`rollup_radios`].
const ROLLUPS: [(&str, &str, &str); 2] = [
    ("ap_samples", "ap_id", "up, uptime_s, clients"),
    ("if_samples", "ap_id, if_index", "up, in_octets, out_octets"),
];

/// `radio_polls.resolution` is in minutes (0, 5, 60) to fit a SMALLINT.
fn res_minutes(resolution_ms: i64) -> i64 {
    resolution_ms / 60_000
}

fn unpack_row(data: &[u8]) -> Result<Vec<PackedRadio>> {
    unpack(data).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// The average of the known values, rounded; None when none is known.
fn average(values: &[Option<i64>]) -> Option<i64> {
    let known: Vec<i64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    let sum: f64 = known.iter().map(|v| *v as f64).sum();
    #[allow(clippy::cast_possible_truncation)]
    Some((sum / known.len() as f64).round() as i64)
}

/// Averages packed rows per radio slot.
fn average_rows(rows: &[Vec<PackedRadio>]) -> Vec<PackedRadio> {
    let mut by_slot: BTreeMap<u32, Vec<PackedRadio>> = BTreeMap::new();
    for r in rows.iter().flatten() {
        by_slot.entry(r.slot).or_default().push(*r);
    }
    by_slot
        .into_iter()
        .map(|(slot, list)| {
            let avg = |f: fn(&PackedRadio) -> Option<i64>| {
                average(&list.iter().map(f).collect::<Vec<_>>())
            };
            PackedRadio {
                slot,
                channel: avg(|r| r.channel),
                tx_power: avg(|r| r.tx_power),
                noise: avg(|r| r.noise),
                utilization: avg(|r| r.utilization),
                clients: avg(|r| r.clients),
            }
        })
        .collect()
}

/// The highest plausible utilization (a device's nonsense value must not
/// fail the SMALLINT column and with it the whole batch).
fn busiest(radios: &[PackedRadio]) -> Option<i64> {
    radios
        .iter()
        .filter_map(|r| r.utilization)
        .filter(|u| (0..=1000).contains(u))
        .max()
}

impl<'a> Samples<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Samples { store }
    }

    /// Stores a batch of polls (inventory state and samples) in one
    /// transaction.
    pub async fn record(&self, batch: &[PollRecord]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin_write().await?;
        for p in batch {
            let u = &p.update;
            record_poll_in(&mut tx, u).await?;
            sqlx::query(
                "INSERT INTO ap_samples (ap_id, at_ms, resolution, up, uptime_s, clients) \
                 VALUES ($1, $2, 0, $3, $4, $5)",
            )
            .bind(u.ap_id)
            .bind(u.at_ms)
            .bind(i64::from(u.ok))
            .bind(p.uptime_s)
            .bind(u.clients)
            .execute(&mut *tx)
            .await?;
            if !p.radios.is_empty() {
                insert_radio_samples(&mut tx, u.ap_id, u.at_ms, RAW, &p.radios).await?;
            }
            for i in &p.interfaces {
                sqlx::query(
                    "INSERT INTO if_samples (ap_id, if_index, at_ms, resolution, up, in_octets, out_octets) \
                     VALUES ($1, $2, $3, 0, $4, $5, $6)",
                )
                .bind(u.ap_id)
                .bind(&i.if_index)
                .bind(u.at_ms)
                .bind(i.up.map(i64::from))
                .bind(i.in_octets)
                .bind(i.out_octets)
                .execute(&mut *tx)
                .await?;
            }
            for c in &p.clients {
                sqlx::query(
                    "INSERT INTO client_samples (ap_id, at_ms, mac, ip, username, ap, ssid, rssi, snr) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(u.ap_id)
                .bind(u.at_ms)
                .bind(&c.mac)
                .bind(&c.ip)
                .bind(&c.username)
                .bind(&c.ap)
                .bind(&c.ssid)
                .bind(c.rssi)
                .bind(c.snr)
                .execute(&mut *tx)
                .await?;
            }
            for n in &p.neighbours {
                sqlx::query(
                    "INSERT INTO ap_neighbours (reporter, neighbour, band, channel, rssi, at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reporter, neighbour, band) \
                     DO UPDATE SET channel = excluded.channel, rssi = excluded.rssi, \
                     at_ms = excluded.at_ms",
                )
                .bind(&n.reporter)
                .bind(&n.neighbour)
                .bind(&n.band)
                .bind(n.channel)
                .bind(n.rssi)
                .bind(u.at_ms)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The neighbour reports heard since `since_ms` (newest per reporter,
    /// heard AP and band).
    pub async fn neighbours(&self, since_ms: i64) -> Result<Vec<NeighbourSample>> {
        sqlx::query(
            "SELECT reporter, neighbour, band, channel, rssi, at_ms FROM ap_neighbours \
             WHERE at_ms >= $1 ORDER BY reporter, neighbour, band",
        )
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(NeighbourSample {
                reporter: r.try_get("reporter")?,
                neighbour: r.try_get("neighbour")?,
                band: r.try_get("band")?,
                channel: r.try_get("channel")?,
                rssi: r.try_get("rssi")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .collect()
    }

    /// The names of an AP's radio slots.
    async fn radio_names(&self, ap_id: i64) -> Result<BTreeMap<u32, String>> {
        let mut out = BTreeMap::new();
        for r in sqlx::query("SELECT slot, name FROM ap_radios WHERE ap_id = $1")
            .bind(ap_id)
            .fetch_all(&self.store.pool)
            .await?
        {
            let slot: i64 = r.try_get("slot")?;
            out.insert(u32::try_from(slot).unwrap_or(u32::MAX), r.try_get("name")?);
        }
        Ok(out)
    }

    /// Radio samples of one AP since `since_ms`, oldest first.
    pub async fn radios(&self, ap_id: i64, since_ms: i64) -> Result<Vec<RadioPoint>> {
        let names = self.radio_names(ap_id).await?;
        let rows = sqlx::query(
            "SELECT at_ms, CAST(resolution AS BIGINT) * 60000 AS resolution, data FROM radio_polls \
             WHERE ap_id = $1 AND at_ms >= $2 ORDER BY at_ms",
        )
        .bind(ap_id)
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let at_ms: i64 = r.try_get("at_ms")?;
            let resolution: i64 = r.try_get("resolution")?;
            let data: Vec<u8> = r.try_get("data")?;
            let mut points: Vec<RadioPoint> = unpack_row(&data)?
                .into_iter()
                .map(|p| RadioPoint {
                    at_ms,
                    resolution,
                    sample: sample_of(&names, &p),
                })
                .collect();
            points.sort_by(|a, b| a.sample.radio.cmp(&b.sample.radio));
            out.extend(points);
        }
        Ok(out)
    }

    /// The newest raw sample of each radio of one AP.
    pub async fn latest_radios(&self, ap_id: i64) -> Result<Vec<RadioSample>> {
        let Some(row) = sqlx::query(
            "SELECT data FROM radio_polls WHERE ap_id = $1 AND resolution = 0 \
             ORDER BY at_ms DESC LIMIT 1",
        )
        .bind(ap_id)
        .fetch_optional(&self.store.pool)
        .await?
        else {
            return Ok(Vec::new());
        };
        let names = self.radio_names(ap_id).await?;
        let data: Vec<u8> = row.try_get("data")?;
        let mut out: Vec<RadioSample> = unpack_row(&data)?
            .iter()
            .map(|p| sample_of(&names, p))
            .collect();
        out.sort_by(|a, b| a.radio.cmp(&b.radio));
        Ok(out)
    }

    /// Bytes the radio samples take on disk (tables and their indexes):
    /// `dbstat` on SQLite, `pg_total_relation_size` on PostgreSQL. For the
    /// storage benchmark and `portico` operators sizing disks.
    pub async fn radio_storage_bytes(&self) -> Result<i64> {
        let sql = match self.store.backend() {
            super::Backend::Sqlite => {
                "SELECT CAST(COALESCE(SUM(pgsize), 0) AS BIGINT) AS b FROM dbstat WHERE name IN \
                 (SELECT name FROM sqlite_master WHERE tbl_name IN ('radio_polls', 'ap_radios'))"
            }
            super::Backend::Postgres => {
                "SELECT CAST(pg_total_relation_size('radio_polls') + pg_total_relation_size('ap_radios') \
                 AS BIGINT) AS b"
            }
        };
        let row = sqlx::query(sql).fetch_one(&self.store.pool).await?;
        Ok(row.try_get("b")?)
    }

    /// Where a client was last seen since `since_ms`: the AP serving it
    /// (the AP the controller's row names when that is in the inventory,
    /// else the polled device), its signal, and the band (the AP's 5 GHz
    /// radio if it has one: client tables do not say).
    pub async fn client_by_mac(&self, mac: &str, since_ms: i64) -> Result<Option<ClientSeen>> {
        let row = sqlx::query(
            "SELECT c.at_ms, c.ap AS named_ap, c.rssi, a.id AS ap_id, a.name AS polled \
             FROM client_samples c JOIN aps a ON a.id = c.ap_id \
             WHERE c.mac = $1 AND c.at_ms >= $2 ORDER BY c.at_ms DESC LIMIT 1",
        )
        .bind(mac.to_ascii_lowercase())
        .bind(since_ms)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let named: Option<String> = row.try_get("named_ap")?;
        let polled: String = row.try_get("polled")?;
        let mut ap_id: i64 = row.try_get("ap_id")?;
        let mut ap = polled;
        if let Some(n) = named.filter(|n| !n.is_empty()) {
            if let Some(found) = self.store.aps().get(&n).await? {
                ap_id = found.id;
                ap = found.spec.name.clone();
            }
        }
        let radios = self.latest_radios(ap_id).await?;
        let has = |lo: i64, hi: i64| {
            radios
                .iter()
                .any(|r| r.channel.is_some_and(|c| (lo..=hi).contains(&c)))
        };
        let band = if has(32, 177) {
            Some("5")
        } else if has(1, 14) {
            Some("2.4")
        } else {
            None
        };
        Ok(Some(ClientSeen {
            at_ms: row.try_get("at_ms")?,
            ap,
            rssi: row.try_get("rssi")?,
            band,
        }))
    }

    /// Client samples since `since_ms`, newest first.
    pub async fn clients(&self, ap_id: i64, since_ms: i64) -> Result<Vec<(i64, ClientSample)>> {
        sqlx::query(
            "SELECT at_ms, mac, ip, username, ap, ssid, rssi, snr FROM client_samples \
             WHERE ap_id = $1 AND at_ms >= $2 ORDER BY at_ms DESC, mac",
        )
        .bind(ap_id)
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("at_ms")?,
                ClientSample {
                    mac: r.try_get("mac")?,
                    ip: r.try_get("ip")?,
                    username: r.try_get("username")?,
                    ap: r.try_get("ap")?,
                    ssid: r.try_get("ssid")?,
                    rssi: r.try_get("rssi")?,
                    snr: r.try_get("snr")?,
                },
            ))
        })
        .collect()
    }

    /// Rolls raw samples older than `raw_ms` into 5-minute averages and
    /// those older than `five_min_ms` into hourly ones; drops what is past
    /// `hourly_ms`, and raw client samples past `raw_ms`. Buckets are whole
    /// intervals, so running it again changes nothing.
    pub async fn downsample(
        &self,
        now_ms: i64,
        keep: &SampleRetention,
    ) -> Result<DownsampleReport> {
        let mut report = DownsampleReport::default();
        let mut tx = self.store.begin_write().await?;
        for (from, to, age) in [
            (RAW, FIVE_MIN, keep.raw_ms),
            (FIVE_MIN, HOURLY, keep.five_min_ms),
        ] {
            // Only whole buckets that lie entirely before the cut-off.
            let cut = (now_ms - age).div_euclid(to) * to;
            for (table, keys, vals) in ROLLUPS {
                let avgs: Vec<String> = vals
                    .split(", ")
                    .map(|c| format!("CAST(AVG({c}) AS BIGINT)"))
                    .collect();
                let sql = format!(
                    "INSERT INTO {table} ({keys}, at_ms, resolution, {vals}) \
                     SELECT {keys}, (at_ms / {to}) * {to}, {to}, {avgs} FROM {table} \
                     WHERE resolution = {from} AND at_ms < $1 GROUP BY {keys}, (at_ms / {to}) * {to}",
                    avgs = avgs.join(", ")
                );
                report.rolled_up += sqlx::query(&sql)
                    .bind(cut)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                report.deleted += sqlx::query(&format!(
                    "DELETE FROM {table} WHERE resolution = {from} AND at_ms < $1"
                ))
                .bind(cut)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            let (rolled, deleted) = rollup_radios(&mut tx, from, to, cut).await?;
            report.rolled_up += rolled;
            report.deleted += deleted;
        }
        report.deleted += sqlx::query(&format!(
            "DELETE FROM radio_polls WHERE resolution = {} AND at_ms < $1",
            res_minutes(HOURLY)
        ))
        .bind(now_ms - keep.hourly_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        for (table, _, _) in ROLLUPS {
            report.deleted += sqlx::query(&format!(
                "DELETE FROM {table} WHERE resolution = {HOURLY} AND at_ms < $1"
            ))
            .bind(now_ms - keep.hourly_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        report.deleted += sqlx::query("DELETE FROM client_samples WHERE at_ms < $1")
            .bind(now_ms - keep.raw_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(report)
    }
}

/// Packs the per-radio rows of the layout before issue 13
/// (`radio_samples_legacy`, left by migration 0006) into `radio_polls`,
/// one AP at a time, then drops that table. Returns the rows converted;
/// does nothing when there is no such table.
pub(super) async fn convert_legacy_radio_samples(store: &Store) -> Result<u64> {
    let exists = match store.backend() {
        super::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'radio_samples_legacy'"
        }
        super::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_name = 'radio_samples_legacy' AND table_schema = current_schema()"
        }
    };
    let n: i64 = sqlx::query(exists)
        .fetch_one(&store.pool)
        .await?
        .try_get("n")?;
    if n == 0 {
        return Ok(0);
    }
    let aps: Vec<i64> = sqlx::query("SELECT DISTINCT ap_id FROM radio_samples_legacy")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|r| r.try_get("ap_id"))
        .collect::<std::result::Result<_, _>>()?;
    let mut converted = 0u64;
    for ap_id in aps {
        let mut tx = store.begin_write().await?;
        let rows = sqlx::query(
            "SELECT radio, at_ms, resolution, channel, tx_power, noise, utilization, clients \
             FROM radio_samples_legacy WHERE ap_id = $1 ORDER BY resolution, at_ms, radio",
        )
        .bind(ap_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut groups: BTreeMap<(i64, i64), Vec<RadioSample>> = BTreeMap::new();
        for r in &rows {
            groups
                .entry((r.try_get("resolution")?, r.try_get("at_ms")?))
                .or_default()
                .push(RadioSample {
                    radio: r.try_get("radio")?,
                    channel: r.try_get("channel")?,
                    tx_power: r.try_get("tx_power")?,
                    noise: r.try_get("noise")?,
                    utilization: r.try_get("utilization")?,
                    clients: r.try_get("clients")?,
                });
        }
        for ((resolution, at_ms), radios) in &groups {
            insert_radio_samples(&mut tx, ap_id, *at_ms, *resolution, radios).await?;
        }
        sqlx::query("DELETE FROM radio_samples_legacy WHERE ap_id = $1")
            .bind(ap_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        converted += rows.len() as u64;
    }
    // IF EXISTS: another node of a cluster may have finished first.
    sqlx::query("DROP TABLE IF EXISTS radio_samples_legacy")
        .execute(&store.pool)
        .await?;
    if converted > 0 {
        tracing::info!(rows = converted, "radio samples packed into the new layout");
    }
    Ok(converted)
}

fn sample_of(names: &BTreeMap<u32, String>, p: &PackedRadio) -> RadioSample {
    RadioSample {
        radio: names
            .get(&p.slot)
            .cloned()
            .unwrap_or_else(|| format!("radio-{}", p.slot)),
        channel: p.channel,
        tx_power: p.tx_power,
        noise: p.noise,
        utilization: p.utilization,
        clients: p.clients,
    }
}

/// The slot of each radio name of an AP, numbering new names.
async fn radio_slots(tx: &mut super::Tx, ap_id: i64, radios: &[RadioSample]) -> Result<Vec<u32>> {
    let mut known: BTreeMap<String, u32> = BTreeMap::new();
    for r in sqlx::query("SELECT slot, name FROM ap_radios WHERE ap_id = $1")
        .bind(ap_id)
        .fetch_all(&mut **tx)
        .await?
    {
        let slot: i64 = r.try_get("slot")?;
        known.insert(r.try_get("name")?, u32::try_from(slot).unwrap_or(u32::MAX));
    }
    let mut out = Vec::with_capacity(radios.len());
    for r in radios {
        let slot = match known.get(&r.radio) {
            Some(s) => *s,
            None => {
                let next = known
                    .values()
                    .copied()
                    .max()
                    .map_or(0, |m| m.saturating_add(1));
                sqlx::query("INSERT INTO ap_radios (ap_id, slot, name) VALUES ($1, $2, $3)")
                    .bind(ap_id)
                    .bind(i64::from(next))
                    .bind(&r.radio)
                    .execute(&mut **tx)
                    .await?;
                known.insert(r.radio.clone(), next);
                next
            }
        };
        out.push(slot);
    }
    Ok(out)
}

/// One AP's radio samples at one moment: slots for their names, packed.
async fn insert_radio_samples(
    tx: &mut super::Tx,
    ap_id: i64,
    at_ms: i64,
    resolution: i64,
    radios: &[RadioSample],
) -> Result<()> {
    let slots = radio_slots(tx, ap_id, radios).await?;
    let packed: Vec<PackedRadio> = radios
        .iter()
        .zip(slots)
        .map(|(r, slot)| PackedRadio {
            slot,
            channel: r.channel,
            tx_power: r.tx_power,
            noise: r.noise,
            utilization: r.utilization,
            clients: r.clients,
        })
        .collect();
    insert_radio_poll(tx, ap_id, at_ms, resolution, &packed).await
}

async fn insert_radio_poll(
    tx: &mut super::Tx,
    ap_id: i64,
    at_ms: i64,
    resolution: i64,
    radios: &[PackedRadio],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO radio_polls (ap_id, at_ms, resolution, busiest, data) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (ap_id, resolution, at_ms) DO UPDATE SET busiest = excluded.busiest, data = excluded.data",
    )
    .bind(ap_id)
    .bind(at_ms)
    .bind(res_minutes(resolution))
    .bind(busiest(radios))
    .bind(pack(radios))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Averages packed radio rows of resolution `from` before `cut` into
/// buckets of `to`; returns (rows written, rows deleted).
async fn rollup_radios(tx: &mut super::Tx, from: i64, to: i64, cut: i64) -> Result<(u64, u64)> {
    let rows = sqlx::query(
        "SELECT CAST(ap_id AS BIGINT) AS ap_id, at_ms, data FROM radio_polls \
         WHERE resolution = $1 AND at_ms < $2 \
         ORDER BY ap_id, at_ms",
    )
    .bind(res_minutes(from))
    .bind(cut)
    .fetch_all(&mut **tx)
    .await?;
    let mut buckets: BTreeMap<(i64, i64), Vec<Vec<PackedRadio>>> = BTreeMap::new();
    for r in &rows {
        let ap_id: i64 = r.try_get("ap_id")?;
        let at_ms: i64 = r.try_get("at_ms")?;
        let data: Vec<u8> = r.try_get("data")?;
        // A row that cannot be read is left out of the average, and goes.
        let Ok(radios) = unpack(&data) else {
            tracing::warn!(ap_id, at_ms, "unreadable packed radio samples dropped");
            continue;
        };
        buckets
            .entry((ap_id, at_ms.div_euclid(to) * to))
            .or_default()
            .push(radios);
    }
    let mut written = 0u64;
    for ((ap_id, at_ms), list) in &buckets {
        insert_radio_poll(tx, *ap_id, *at_ms, to, &average_rows(list)).await?;
        written += 1;
    }
    let deleted = sqlx::query("DELETE FROM radio_polls WHERE resolution = $1 AND at_ms < $2")
        .bind(res_minutes(from))
        .bind(cut)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok((written, deleted))
}

#[cfg(test)]
mod tests {
    use super::super::aps::{NewAp, SnmpSecret};
    use super::super::tests::both;
    use super::*;

    fn radio(name: &str, util: i64) -> RadioSample {
        RadioSample {
            radio: name.into(),
            channel: Some(36),
            tx_power: Some(17),
            noise: Some(-92),
            utilization: Some(util),
            clients: Some(4),
        }
    }

    #[tokio::test]
    async fn legacy_radio_rows_are_packed_not_lost() {
        both(|h| async move {
            let ap = h
                .store
                .aps()
                .add(&NewAp {
                    name: "old".into(),
                    address: "192.0.2.9".into(),
                    profile: "generic".into(),
                    snmp: SnmpSecret::None,
                    ..NewAp::default()
                })
                .await
                .unwrap();
            // The table as migration 0006 leaves it on an upgraded store.
            sqlx::query(
                "CREATE TABLE radio_samples_legacy (ap_id BIGINT NOT NULL, radio TEXT NOT NULL, \
                 at_ms BIGINT NOT NULL, resolution BIGINT NOT NULL, channel BIGINT, tx_power BIGINT, \
                 noise BIGINT, utilization BIGINT, clients BIGINT)",
            )
            .execute(&h.store.pool)
            .await
            .unwrap();
            for (radio, at, res, util) in [("1", 1000, RAW, 10), ("2", 1000, RAW, 20), ("1", 3_600_000, HOURLY, 30)] {
                sqlx::query(
                    "INSERT INTO radio_samples_legacy VALUES ($1, $2, $3, $4, 36, 17, -92, $5, NULL)",
                )
                .bind(ap.id)
                .bind(radio)
                .bind(at as i64)
                .bind(res)
                .bind(util as i64)
                .execute(&h.store.pool)
                .await
                .unwrap();
            }
            assert_eq!(convert_legacy_radio_samples(&h.store).await.unwrap(), 3);
            let pts = h.store.samples().radios(ap.id, 0).await.unwrap();
            type Row = (i64, i64, String, Option<i64>, Option<i64>);
            let got: Vec<Row> = pts
                .iter()
                .map(|p| (p.at_ms, p.resolution, p.sample.radio.clone(), p.sample.utilization, p.sample.clients))
                .collect();
            assert_eq!(
                got,
                [
                    (1000, RAW, "1".to_string(), Some(10), None),
                    (1000, RAW, "2".to_string(), Some(20), None),
                    (3_600_000, HOURLY, "1".to_string(), Some(30), None)
                ]
            );
            // Gone, and a second start does nothing.
            assert_eq!(convert_legacy_radio_samples(&h.store).await.unwrap(), 0);
        })
        .await;
    }

    #[tokio::test]
    async fn record_query_and_downsample() {
        both(|h| async move {
            let ap = h
                .store
                .aps()
                .add(&NewAp {
                    name: "ap".into(),
                    address: "192.0.2.1".into(),
                    profile: "generic".into(),
                    snmp: SnmpSecret::V2c {
                        community: "c".into(),
                    },
                    ..NewAp::default()
                })
                .await
                .unwrap();
            let hour = HOURLY;
            // Twelve polls a minute apart in one 5-minute bucket and the next.
            let base = 100 * hour;
            let mut batch = Vec::new();
            for i in 0..10i64 {
                batch.push(PollRecord {
                    update: PollUpdate {
                        ap_id: ap.id,
                        at_ms: base + i * 60_000,
                        ok: true,
                        status: "up".into(),
                        clients: Some(8),
                        ..PollUpdate::default()
                    },
                    uptime_s: Some(i),
                    radios: vec![radio("1", 10 * i)],
                    interfaces: vec![IfSample {
                        if_index: "1".into(),
                        up: Some(true),
                        in_octets: Some(1000 * i),
                        out_octets: Some(1),
                    }],
                    clients: vec![ClientSample {
                        mac: Some("00:00:00:00:00:01".into()),
                        rssi: Some(-60),
                        ..ClientSample::default()
                    }],
                    neighbours: vec![NeighbourSample {
                        reporter: "00:00:00:00:00:0a".into(),
                        neighbour: "00:00:00:00:00:0b".into(),
                        band: "5".into(),
                        channel: Some(36),
                        rssi: -60 - i,
                        at_ms: 0,
                    }],
                });
            }
            h.store.samples().record(&batch).await.unwrap();
            // One neighbour row, the newest report's.
            let heard = h.store.samples().neighbours(0).await.unwrap();
            assert_eq!(heard.len(), 1);
            assert_eq!((heard[0].rssi, heard[0].at_ms), (-69, base + 9 * 60_000));
            assert!(h
                .store
                .samples()
                .neighbours(base + 10 * 60_000)
                .await
                .unwrap()
                .is_empty());
            let latest = h.store.samples().latest_radios(ap.id).await.unwrap();
            assert_eq!(latest, [radio("1", 90)]);
            assert_eq!(
                h.store.aps().get("ap").await.unwrap().unwrap().clients,
                Some(8)
            );
            assert_eq!(h.store.samples().clients(ap.id, 0).await.unwrap().len(), 10);
            // Two days later: raw rolls into two 5-minute rows.
            let keep = SampleRetention::default();
            let now = base + keep.raw_ms + 10 * 60_000;
            let r = h.store.samples().downsample(now, &keep).await.unwrap();
            assert!(r.rolled_up >= 2, "{r:?}");
            let pts = h.store.samples().radios(ap.id, 0).await.unwrap();
            assert_eq!(pts.len(), 2, "{pts:?}");
            assert!(pts.iter().all(|p| p.resolution == FIVE_MIN));
            // Minutes 0-4 average 20, minutes 5-9 average 70.
            assert_eq!(pts[0].sample.utilization, Some(20));
            assert_eq!(pts[1].sample.utilization, Some(70));
            assert_eq!(pts[0].sample.channel, Some(36));
            assert!(h
                .store
                .samples()
                .clients(ap.id, 0)
                .await
                .unwrap()
                .is_empty());
            // Again: nothing changes.
            let again = h.store.samples().downsample(now, &keep).await.unwrap();
            assert_eq!(again.rolled_up, 0);
            // Past 30 days: hourly; past a year: gone.
            let later = base + keep.five_min_ms + 2 * hour;
            h.store.samples().downsample(later, &keep).await.unwrap();
            let pts = h.store.samples().radios(ap.id, 0).await.unwrap();
            assert_eq!(pts.len(), 1);
            assert_eq!(
                (pts[0].resolution, pts[0].sample.utilization),
                (HOURLY, Some(45))
            );
            h.store
                .samples()
                .downsample(base + keep.hourly_ms + 2 * hour, &keep)
                .await
                .unwrap();
            assert!(h.store.samples().radios(ap.id, 0).await.unwrap().is_empty());
        })
        .await;
    }
}
