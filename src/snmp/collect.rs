//! Profile-driven collection: which OIDs to ask for, and how the answers
//! become normalised observations (pure functions, tested without a
//! network). [`poll`] is the one async step; it drives anything that can
//! GET and walk (an [`Agent`]): the SNMP client, or a recorded walk.
//!
//! `None` means unknown everywhere: a value the device did not give, or a
//! count nobody can read, is never shown as 0.

use std::collections::BTreeMap;

use serde::Serialize;

use super::client::{Client, SnmpError};
use super::oid::{index_key, Oid};
use super::value::{mac_from_arcs, Value};
use crate::profiles::snmp::{ApJoin, Field, IndexPart, Parse, PartKind, Role, SnmpProfile, Source};
use crate::profiles::{Profile, Profiles};

/// MIB-II system group scalars.
pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
/// IF-MIB columns: ifDescr, ifOperStatus, ifInOctets, ifOutOctets,
/// ifHCInOctets, ifHCOutOctets.
pub const IF_COLUMNS: [&str; 6] = [
    "1.3.6.1.2.1.2.2.1.2",
    "1.3.6.1.2.1.2.2.1.8",
    "1.3.6.1.2.1.2.2.1.10",
    "1.3.6.1.2.1.2.2.1.16",
    "1.3.6.1.2.1.31.1.1.1.6",
    "1.3.6.1.2.1.31.1.1.1.10",
];
/// NET-SNMP-EXTEND-MIB nsExtendOutLine (index: name as a length-prefixed
/// string, then the line number) and nsExtendOutput1Line (index: name).
pub const NS_EXTEND_OUT_LINE: &str = "1.3.6.1.4.1.8072.1.3.2.4.1.2";
pub const NS_EXTEND_OUTPUT_1LINE: &str = "1.3.6.1.4.1.8072.1.3.2.3.1.1";

fn std_oid(s: &str) -> Oid {
    Oid::parse(s).unwrap_or_default()
}

/// What can answer a poll: a live agent or a recorded walk.
#[allow(async_fn_in_trait)]
pub trait Agent {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError>;
    /// Each column's rows as (index arcs after the column, value).
    async fn walk(&mut self, columns: &[Oid]) -> Result<Vec<Vec<(Vec<u32>, Value)>>, SnmpError>;
}

impl Agent for Client {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        Client::get(self, oids).await
    }
    async fn walk(&mut self, columns: &[Oid]) -> Result<Vec<Vec<(Vec<u32>, Value)>>, SnmpError> {
        Client::walk(self, columns).await
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SystemInfo {
    pub descr: Option<String>,
    pub object_id: Option<String>,
    pub name: Option<String>,
    /// sysUpTime in hundredths of a second.
    pub uptime_ticks: Option<u32>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    /// A controller-wide station count, where the device has one.
    pub clients: Option<i64>,
}

/// One AP in a controller's AP table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApRow {
    /// The row index, which radio rows may refer to.
    pub index: String,
    pub name: Option<String>,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub status_raw: Option<i64>,
    /// `status_raw` read through the profile's `up_values`; None: the
    /// controller gives no status.
    pub up: Option<bool>,
    /// The station count the controller gives for this AP.
    pub clients: Option<i64>,
}

/// How a row names the AP it belongs to (any of these may match).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApRef {
    /// The AP table's row index (leading index arcs).
    pub index: Option<String>,
    pub mac: Option<String>,
    pub name: Option<String>,
}

impl ApRef {
    fn is_set(&self) -> bool {
        self.index.is_some() || self.mac.is_some() || self.name.is_some()
    }

    pub fn matches(&self, ap: &ApRow) -> bool {
        (self.index.is_some() && self.index.as_deref() == Some(ap.index.as_str()))
            || (self.mac.is_some() && self.mac == ap.mac)
            || (self.name.is_some() && self.name == ap.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RadioRow {
    /// The AP this radio belongs to (controllers).
    pub ap: ApRef,
    pub index: String,
    /// The radio's number or name on its AP.
    pub radio: String,
    /// `2.4GHz`, `5GHz`, or what the device calls it.
    pub band: Option<String>,
    pub channel: Option<i64>,
    /// dBm.
    pub tx_power: Option<i64>,
    /// dBm.
    pub noise: Option<i64>,
    /// Percent.
    pub utilization: Option<i64>,
    pub clients: Option<i64>,
    pub ssid: Option<String>,
}

/// One SSID on one radio (a VAP / BSS).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VapRow {
    pub ap: ApRef,
    pub index: String,
    pub radio: Option<String>,
    pub ssid: Option<String>,
    pub bssid: Option<String>,
    pub clients: Option<i64>,
    pub channel: Option<i64>,
}

/// A WLAN's station count (devices without a per-client table).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WlanRow {
    pub index: String,
    pub ssid: Option<String>,
    pub clients: Option<i64>,
}

/// An AP hearing another (a controller's RRM neighbour list).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NeighbourRow {
    /// The reporting AP.
    pub ap: ApRef,
    /// The heard AP's radio MAC or BSSID.
    pub neighbour: Option<String>,
    /// dBm.
    pub rssi: Option<i64>,
    pub channel: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientRow {
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub user: Option<String>,
    /// The AP as the device names it (MAC, BSSID or name).
    pub ap: Option<String>,
    pub ssid: Option<String>,
    pub rssi: Option<i64>,
    pub snr: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IfRow {
    pub index: String,
    pub descr: Option<String>,
    pub up: Option<bool>,
    pub in_octets: Option<u64>,
    pub out_octets: Option<u64>,
}

/// Everything one poll of one device found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PollResult {
    pub system: SystemInfo,
    pub aps: Vec<ApRow>,
    pub radios: Vec<RadioRow>,
    pub vaps: Vec<VapRow>,
    pub wlans: Vec<WlanRow>,
    pub clients: Vec<ClientRow>,
    /// Whether the profile has a client table and it was read (an empty
    /// list then means no clients, not unknown).
    pub client_table_read: bool,
    /// RRM neighbour reports (controllers that have the table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<NeighbourRow>,
    pub interfaces: Vec<IfRow>,
    /// Rows whose index did not fit the profile's index parts (dropped).
    pub dropped_rows: u64,
}

/// Rows of walked columns joined on their index: index -> one value per
/// column (None where that column has no row).
pub type Joined = BTreeMap<Vec<u32>, Vec<Option<Value>>>;

pub fn join(walked: Vec<Vec<(Vec<u32>, Value)>>) -> Joined {
    let n = walked.len();
    let mut out: Joined = BTreeMap::new();
    for (c, rows) in walked.into_iter().enumerate() {
        for (idx, v) in rows {
            let slot = out.entry(idx).or_insert_with(|| vec![None; n]);
            if let Some(cell) = slot.get_mut(c) {
                *cell = Some(v);
            }
        }
    }
    out
}

// --- Index parts -------------------------------------------------------

/// One decoded part of a row index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartValue {
    Int(u32),
    Mac(String),
    Ip(String),
    Text(String),
    Rest(String),
}

impl PartValue {
    fn text(&self) -> String {
        match self {
            PartValue::Int(n) => n.to_string(),
            PartValue::Mac(s) | PartValue::Ip(s) | PartValue::Text(s) | PartValue::Rest(s) => {
                s.clone()
            }
        }
    }
}

/// Decoded index parts with the arcs each took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub values: Vec<(String, PartValue, std::ops::Range<usize>)>,
}

impl Parts {
    fn get(&self, name: &str) -> Option<&(String, PartValue, std::ops::Range<usize>)> {
        self.values.iter().find(|(n, _, _)| n == name)
    }
}

fn arcs_text(arcs: &[u32]) -> Option<String> {
    let bytes: Option<Vec<u8>> = arcs.iter().map(|a| u8::try_from(*a).ok()).collect();
    let bytes = bytes?;
    match String::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => Some(s),
        Ok(s) => Some(hex::encode(s.as_bytes())),
        Err(e) => Some(hex::encode(e.as_bytes())),
    }
}

/// Splits a row index into the profile's named parts; None when the
/// index does not fit (the row is dropped and counted).
pub fn parse_index(spec: &[IndexPart], idx: &[u32]) -> Option<Parts> {
    let mut at = 0usize;
    let mut parts = Parts::default();
    for p in spec {
        let rest = idx.get(at..)?;
        let (value, used) = match p.kind {
            PartKind::Int => (PartValue::Int(*rest.first()?), 1),
            PartKind::Mac => (PartValue::Mac(mac_from_arcs(rest.get(..6)?)?), 6),
            PartKind::LMac if rest.first() == Some(&6) => {
                (PartValue::Mac(mac_from_arcs(rest.get(1..7)?)?), 7)
            }
            PartKind::LMac => return None,
            PartKind::Ip => {
                let a: Option<Vec<u8>> = rest
                    .get(..4)?
                    .iter()
                    .map(|x| u8::try_from(*x).ok())
                    .collect();
                let a: [u8; 4] = a?.try_into().ok()?;
                (PartValue::Ip(std::net::Ipv4Addr::from(a).to_string()), 4)
            }
            PartKind::String => {
                let n = usize::try_from(*rest.first()?).ok()?;
                (PartValue::Text(arcs_text(rest.get(1..1 + n)?)?), 1 + n)
            }
            PartKind::Implied => (PartValue::Text(arcs_text(rest)?), rest.len()),
            PartKind::Rest => (PartValue::Rest(index_key(rest)), rest.len()),
        };
        parts.values.push((p.name.clone(), value, at..at + used));
        at += used;
    }
    if !spec.is_empty() && at != idx.len() {
        return None;
    }
    Some(parts)
}

// --- Values --------------------------------------------------------------

/// A value as found, before the field's conversions.
enum Raw<'a> {
    Value(&'a Value),
    Part(&'a PartValue),
    /// An extend output line, or the whole index.
    Text(String),
    Arcs(&'a [u32]),
}

/// The first decimal number in a text (`116E`, `-92 dBm`, `5.5`).
pub fn first_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let start = b.iter().position(u8::is_ascii_digit)?;
    let mut s = start;
    if s > 0 && b.get(s - 1) == Some(&b'-') {
        s -= 1;
    }
    let mut end = start;
    let mut dot = false;
    while let Some(c) = b.get(end) {
        if c.is_ascii_digit() {
            end += 1;
        } else if *c == b'.' && !dot && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            dot = true;
            end += 1;
        } else {
            break;
        }
    }
    text.get(s..end)?.parse().ok()
}

/// The 802.11 channel of a centre frequency in MHz (GHz accepted).
pub fn mhz_to_channel(freq: f64) -> Option<i64> {
    let mhz = if freq < 100.0 { freq * 1000.0 } else { freq };
    #[allow(clippy::cast_possible_truncation)]
    let f = mhz.round() as i64;
    match f {
        2484 => Some(14),
        2412..=2472 => Some((f - 2407) / 5),
        5955..=7115 => Some((f - 5950) / 5),
        5000..=5925 => Some((f - 5000) / 5),
        _ => None,
    }
}

impl Raw<'_> {
    fn text(&self) -> Option<String> {
        match self {
            Raw::Value(v) => v.as_text(),
            Raw::Part(p) => Some(p.text()),
            Raw::Text(t) => Some(t.trim().to_string()),
            Raw::Arcs(a) => Some(index_key(a)),
        }
        .filter(|t| !t.is_empty())
    }

    fn int(&self, f: &Field) -> Option<i64> {
        let number = match (f.parse, self) {
            (Some(Parse::MhzChannel), r) => {
                let text = r.text()?;
                let n = first_number(&text)?;
                let ch = mhz_to_channel(n)?;
                return f.convert(ch as f64);
            }
            (Some(Parse::Number), r) => first_number(&r.text()?)?,
            (None, Raw::Value(Value::Integer(i))) => *i as f64,
            (None, Raw::Value(Value::Unsigned(n))) => *n as f64,
            (None, Raw::Value(Value::Timeticks(t))) => f64::from(*t),
            (None, Raw::Value(v)) => v.as_text()?.trim().parse::<f64>().ok()?,
            (None, Raw::Part(PartValue::Int(n))) => f64::from(*n),
            (None, r) => r.text()?.parse::<f64>().ok()?,
        };
        f.convert(number)
    }

    fn mac(&self) -> Option<String> {
        match self {
            Raw::Value(v) => v.as_mac(),
            Raw::Part(PartValue::Mac(m)) => Some(m.clone()),
            Raw::Arcs(a) => a
                .len()
                .checked_sub(6)
                .and_then(|s| a.get(s..))
                .and_then(mac_from_arcs),
            other => {
                let t = other.text()?;
                crate::domain::MacAddr::parse(&t)
                    .ok()
                    .map(|m| m.to_string())
            }
        }
    }

    /// An address; 0.0.0.0 (what devices send for "none yet") is unknown.
    fn ip(&self) -> Option<String> {
        match self {
            Raw::Value(v) => v.as_ip(),
            Raw::Part(PartValue::Ip(ip)) => Some(ip.clone()),
            other => other
                .text()?
                .parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| ip.to_string()),
        }
        .filter(|ip| ip != "0.0.0.0" && ip != "::")
    }

    /// Text, or a MAC where the value is six raw bytes that are not
    /// printable text (APs named by MAC; "lobby1" stays a name).
    fn name(&self) -> Option<String> {
        match self {
            Raw::Value(v @ Value::OctetString(b))
                if b.len() == 6 && !b.iter().all(|c| (0x20..=0x7e).contains(c)) =>
            {
                v.as_mac().or_else(|| self.text())
            }
            _ => self.text(),
        }
    }
}

/// One row being decoded: its index, parts, walked cells or extend lines.
struct Row<'a> {
    idx: &'a [u32],
    parts: Parts,
    cols: &'a [Oid],
    cells: &'a [Option<Value>],
    extends: Option<(&'a Extends, &'a str)>,
}

impl Row<'_> {
    fn raw(&self, f: &Option<Field>) -> Option<Raw<'_>> {
        let f = f.as_ref()?;
        match &f.source {
            Source::Column(o) => {
                let at = self.cols.iter().position(|c| c == o)?;
                self.cells
                    .get(at)?
                    .as_ref()
                    .filter(|v| v.is_present())
                    .map(Raw::Value)
            }
            Source::Index(None) => Some(Raw::Arcs(self.idx)),
            Source::Index(Some(part)) => self.parts.get(part).map(|(_, v, _)| Raw::Part(v)),
            Source::Extend(template) => {
                let (ext, iface) = self.extends?;
                let name = template.replace("{if}", iface);
                ext.first_line(&name).map(|l| Raw::Text(l.to_string()))
            }
        }
    }
    fn text(&self, f: &Option<Field>) -> Option<String> {
        self.raw(f)?.text()
    }
    fn name(&self, f: &Option<Field>) -> Option<String> {
        self.raw(f)?.name()
    }
    fn int(&self, f: &Option<Field>) -> Option<i64> {
        self.raw(f)?.int(f.as_ref()?)
    }
    fn mac(&self, f: &Option<Field>) -> Option<String> {
        self.raw(f)?.mac()
    }
    fn ip(&self, f: &Option<Field>) -> Option<String> {
        self.raw(f)?.ip()
    }

    fn ap_ref(&self, j: &ApJoin) -> ApRef {
        let by_part = j.ap_index.as_ref().and_then(|p| {
            let (_, _, r) = self.parts.get(p)?;
            self.idx.get(r.clone()).map(index_key)
        });
        ApRef {
            index: by_part.or_else(|| {
                (j.ap_index_arcs > 0)
                    .then(|| self.idx.get(..j.ap_index_arcs).map(index_key))
                    .flatten()
            }),
            mac: self.mac(&j.ap_mac),
            name: self.name(&j.ap_name),
        }
    }

    /// The index without the arcs that name the AP (the radio's number on
    /// its AP when the profile has no radio column).
    fn local_index(&self, j: &ApJoin) -> String {
        let mut skip: Vec<std::ops::Range<usize>> = Vec::new();
        if j.ap_index_arcs > 0 {
            skip.push(0..j.ap_index_arcs.min(self.idx.len()));
        }
        let mut names: Vec<&str> = [&j.ap_mac, &j.ap_name]
            .into_iter()
            .flatten()
            .filter_map(|f| match &f.source {
                Source::Index(Some(part)) => Some(part.as_str()),
                _ => None,
            })
            .collect();
        names.extend(j.ap_index.as_deref());
        for part in names {
            if let Some((_, _, r)) = self.parts.get(part) {
                skip.push(r.clone());
            }
        }
        let kept: Vec<u32> = self
            .idx
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.iter().any(|r| r.contains(i)))
            .map(|(_, a)| *a)
            .collect();
        if kept.is_empty() {
            index_key(self.idx)
        } else {
            index_key(&kept)
        }
    }
}

/// The column OIDs a table's fields read, each once.
fn columns(fields: &[&Option<Field>]) -> Vec<Oid> {
    let mut out: Vec<Oid> = Vec::new();
    for f in fields.iter().copied().flatten() {
        if let Some(o) = f.column_oid() {
            if !out.contains(o) {
                out.push(o.clone());
            }
        }
    }
    out
}

/// Calls `each` for every row of a walked table whose index fits.
fn rows<'a, T>(
    joined: &'a Joined,
    cols: &'a [Oid],
    index: &[IndexPart],
    dropped: &mut u64,
    mut each: impl FnMut(&Row<'a>) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(joined.len());
    for (idx, cells) in joined {
        let Some(parts) = parse_index(index, idx) else {
            *dropped += 1;
            continue;
        };
        let row = Row {
            idx,
            parts,
            cols,
            cells,
            extends: None,
        };
        out.push(each(&row));
    }
    out
}

/// The band a channel number is in (2.4 GHz channels 1-14, 5 GHz 32-177).
pub fn band_of_channel(channel: Option<i64>) -> Option<String> {
    match channel? {
        1..=14 => Some("2.4GHz".into()),
        32..=177 => Some("5GHz".into()),
        _ => None,
    }
}

// --- Tables ------------------------------------------------------------

pub fn ap_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.ap_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

pub fn decode_aps(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<ApRow> {
    let Some(t) = &p.ap_table else {
        return Vec::new();
    };
    let cols = ap_columns(p);
    rows(joined, &cols, &t.index, dropped, |r| {
        let status_raw = r.int(&t.status);
        ApRow {
            index: index_key(r.idx),
            name: r.text(&t.name),
            mac: r.mac(&t.mac),
            ip: r.ip(&t.ip),
            model: r.text(&t.model),
            serial: r.text(&t.serial),
            firmware: r.text(&t.firmware),
            up: status_raw.map(|s| t.up_values.contains(&s)),
            status_raw,
            clients: r.int(&t.clients),
        }
    })
}

pub fn radio_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.radio_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

fn radio_row(p: &SnmpProfile, r: &Row<'_>) -> Option<RadioRow> {
    let t = p.radio_table.as_ref()?;
    let join = if p.role == Role::Controller {
        t.join.clone()
    } else {
        ApJoin::default()
    };
    let channel = r.int(&t.channel);
    Some(RadioRow {
        ap: r.ap_ref(&join),
        index: index_key(r.idx),
        radio: r
            .text(&t.radio)
            .or_else(|| r.extends.map(|(_, iface)| iface.to_string()))
            .unwrap_or_else(|| r.local_index(&join)),
        band: r.text(&t.band).or_else(|| band_of_channel(channel)),
        channel,
        tx_power: r.int(&t.tx_power),
        noise: r.int(&t.noise),
        utilization: r.int(&t.utilization),
        clients: r.int(&t.clients),
        ssid: r.text(&t.ssid),
    })
}

pub fn decode_radios(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<RadioRow> {
    let Some(t) = &p.radio_table else {
        return Vec::new();
    };
    let cols = radio_columns(p);
    rows(joined, &cols, &t.index, dropped, |r| radio_row(p, r))
        .into_iter()
        .flatten()
        .collect()
}

pub fn vap_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.vap_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

pub fn decode_vaps(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<VapRow> {
    let Some(t) = &p.vap_table else {
        return Vec::new();
    };
    let cols = vap_columns(p);
    let join = if p.role == Role::Controller {
        t.join.clone()
    } else {
        ApJoin::default()
    };
    rows(joined, &cols, &t.index, dropped, |r| VapRow {
        ap: r.ap_ref(&join),
        index: index_key(r.idx),
        radio: r.text(&t.radio),
        ssid: r.text(&t.ssid),
        bssid: r.mac(&t.bssid),
        clients: r.int(&t.clients),
        channel: r.int(&t.channel),
    })
}

pub fn wlan_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.wlan_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

pub fn decode_wlans(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<WlanRow> {
    let Some(t) = &p.wlan_table else {
        return Vec::new();
    };
    let cols = wlan_columns(p);
    rows(joined, &cols, &t.index, dropped, |r| WlanRow {
        index: index_key(r.idx),
        ssid: r.text(&t.ssid),
        clients: r.int(&t.clients),
    })
}

pub fn neighbour_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.neighbour_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

pub fn decode_neighbours(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<NeighbourRow> {
    let Some(t) = &p.neighbour_table else {
        return Vec::new();
    };
    let cols = neighbour_columns(p);
    rows(joined, &cols, &t.index, dropped, |r| NeighbourRow {
        ap: r.ap_ref(&t.join),
        neighbour: r.mac(&t.neighbour),
        rssi: r.int(&t.rssi),
        channel: r.int(&t.channel),
    })
}

pub fn client_columns(p: &SnmpProfile) -> Vec<Oid> {
    p.client_table
        .as_ref()
        .map_or_else(Vec::new, |t| columns(&t.named_fields().map(|(_, f)| f)))
}

pub fn decode_clients(p: &SnmpProfile, joined: &Joined, dropped: &mut u64) -> Vec<ClientRow> {
    let Some(t) = &p.client_table else {
        return Vec::new();
    };
    let cols = client_columns(p);
    rows(joined, &cols, &t.index, dropped, |r| ClientRow {
        mac: r.mac(&t.mac),
        ip: r.ip(&t.ip),
        user: r.text(&t.user),
        ap: r.name(&t.ap),
        ssid: r.text(&t.ssid),
        rssi: r.int(&t.rssi),
        snr: r.int(&t.snr),
    })
}

// --- NET-SNMP extend -----------------------------------------------------

/// `extend` outputs by name: their lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extends {
    pub lines: BTreeMap<String, Vec<String>>,
}

impl Extends {
    /// From walks of nsExtendOutLine and nsExtendOutput1Line.
    pub fn from_walks(
        out_lines: &[(Vec<u32>, Value)],
        first_lines: &[(Vec<u32>, Value)],
        dropped: &mut u64,
    ) -> Extends {
        let name_spec = [IndexPart {
            name: "name".into(),
            kind: PartKind::String,
        }];
        let line_spec = [
            name_spec[0].clone(),
            IndexPart {
                name: "line".into(),
                kind: PartKind::Int,
            },
        ];
        let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (idx, v) in out_lines {
            let Some(p) = parse_index(&line_spec, idx) else {
                *dropped += 1;
                continue;
            };
            if let Some((_, PartValue::Text(name), _)) = p.values.first() {
                let text = v.as_text().unwrap_or_default();
                lines.entry(name.clone()).or_default().push(text);
            }
        }
        for (idx, v) in first_lines {
            let Some(p) = parse_index(&name_spec, idx) else {
                *dropped += 1;
                continue;
            };
            if let Some((_, PartValue::Text(name), _)) = p.values.first() {
                lines
                    .entry(name.clone())
                    .or_insert_with(|| vec![v.as_text().unwrap_or_default()]);
            }
        }
        Extends { lines }
    }

    pub fn first_line(&self, name: &str) -> Option<&str> {
        self.lines
            .get(name)?
            .first()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The interfaces an extend-based radio table covers: the lines of
    /// `list` (first word of each, `wlan0,label` accepted), else every
    /// `{if}` a field template finds among the extend names.
    pub fn interfaces(&self, list: Option<&str>, templates: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(lines) = list.and_then(|l| self.lines.get(l)) {
            for l in lines {
                let word = l
                    .split([',', ' ', '\t'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                if !word.is_empty() && !out.contains(&word) {
                    out.push(word);
                }
            }
            return out;
        }
        for t in templates {
            let Some((pre, post)) = t.split_once("{if}") else {
                continue;
            };
            for name in self.lines.keys() {
                if let Some(mid) = name.strip_prefix(pre).and_then(|m| m.strip_suffix(post)) {
                    if !mid.is_empty() && !out.iter().any(|x| x == mid) {
                        out.push(mid.to_string());
                    }
                }
            }
        }
        out.sort();
        out
    }
}

fn extend_templates(p: &SnmpProfile) -> Vec<&str> {
    let Some(t) = &p.radio_table else {
        return Vec::new();
    };
    t.named_fields()
        .into_iter()
        .filter_map(|(_, f)| match &f.as_ref()?.source {
            Source::Extend(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Radios from `extend` outputs, one per wireless interface.
pub fn decode_extend_radios(p: &SnmpProfile, ext: &Extends) -> Vec<RadioRow> {
    let Some(t) = &p.radio_table else {
        return Vec::new();
    };
    ext.interfaces(t.extend_list.as_deref(), &extend_templates(p))
        .iter()
        .filter_map(|iface| {
            let row = Row {
                idx: &[],
                parts: Parts::default(),
                cols: &[],
                cells: &[],
                extends: Some((ext, iface.as_str())),
            };
            radio_row(p, &row).map(|mut r| {
                r.index = iface.clone();
                r
            })
        })
        .collect()
}

pub fn if_columns() -> Vec<Oid> {
    IF_COLUMNS.iter().map(|s| std_oid(s)).collect()
}

fn cell(row: &[Option<Value>], at: usize) -> Option<&Value> {
    row.get(at)?.as_ref().filter(|v| v.is_present())
}

pub fn decode_interfaces(joined: &Joined) -> Vec<IfRow> {
    joined
        .iter()
        .map(|(idx, row)| {
            let hc_in = cell(row, 4).and_then(Value::as_u64);
            let hc_out = cell(row, 5).and_then(Value::as_u64);
            IfRow {
                index: index_key(idx),
                descr: cell(row, 0)
                    .and_then(Value::as_text)
                    .filter(|t| !t.is_empty()),
                // ifOperStatus up(1).
                up: cell(row, 1).and_then(Value::as_i64).map(|s| s == 1),
                in_octets: hc_in.or_else(|| cell(row, 2).and_then(Value::as_u64)),
                out_octets: hc_out.or_else(|| cell(row, 3).and_then(Value::as_u64)),
            }
        })
        .collect()
}

/// The system scalars to GET: MIB-II plus the profile's scalars.
pub fn system_oids(p: &SnmpProfile) -> Vec<Oid> {
    let mut v: Vec<Oid> = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME]
        .iter()
        .map(|s| std_oid(s))
        .collect();
    for f in [&p.model, &p.serial, &p.firmware, &p.clients]
        .into_iter()
        .flatten()
    {
        if let Some(o) = f.column_oid() {
            v.push(o.clone());
        }
    }
    v
}

pub fn decode_system(p: &SnmpProfile, got: &[(Oid, Value)]) -> SystemInfo {
    let find = |want: &Oid| -> Option<&Value> {
        got.iter()
            .find(|(o, _)| o == want)
            .map(|(_, v)| v)
            .filter(|v| v.is_present())
    };
    let value_of = |f: &Option<Field>| -> Option<Value> {
        f.as_ref()
            .and_then(Field::column_oid)
            .and_then(&find)
            .cloned()
    };
    let t = |f: &Option<Field>| {
        value_of(f)
            .and_then(|v| v.as_text())
            .filter(|s| !s.is_empty())
    };
    SystemInfo {
        descr: find(&std_oid(SYS_DESCR)).and_then(Value::as_text),
        object_id: find(&std_oid(SYS_OBJECT_ID)).and_then(|v| match v {
            Value::ObjectId(o) => Some(o.to_string()),
            _ => None,
        }),
        name: find(&std_oid(SYS_NAME)).and_then(Value::as_text),
        uptime_ticks: find(&std_oid(SYS_UPTIME)).and_then(|v| match v {
            Value::Timeticks(t) => Some(*t),
            other => other.as_u64().and_then(|n| u32::try_from(n).ok()),
        }),
        model: t(&p.model),
        serial: t(&p.serial),
        firmware: t(&p.firmware),
        clients: match (&p.clients, value_of(&p.clients)) {
            (Some(f), Some(v)) => Raw::Value(&v).int(f),
            _ => None,
        },
    }
}

/// Polls one device as its profile says.
pub async fn poll<A: Agent>(agent: &mut A, p: &SnmpProfile) -> Result<PollResult, SnmpError> {
    let got = agent.get(&system_oids(p)).await?;
    let mut r = PollResult {
        system: decode_system(p, &got),
        ..PollResult::default()
    };
    let mut dropped = 0u64;
    let cols = ap_columns(p);
    if !cols.is_empty() {
        r.aps = decode_aps(p, &join(agent.walk(&cols).await?), &mut dropped);
    }
    let templates = extend_templates(p);
    if !templates.is_empty() {
        let mut w = agent
            .walk(&[std_oid(NS_EXTEND_OUT_LINE), std_oid(NS_EXTEND_OUTPUT_1LINE)])
            .await?;
        let first = w.pop().unwrap_or_default();
        let lines = w.pop().unwrap_or_default();
        let ext = Extends::from_walks(&lines, &first, &mut dropped);
        r.radios = decode_extend_radios(p, &ext);
    } else {
        let cols = radio_columns(p);
        if !cols.is_empty() {
            r.radios = decode_radios(p, &join(agent.walk(&cols).await?), &mut dropped);
        }
    }
    let cols = vap_columns(p);
    if !cols.is_empty() {
        r.vaps = decode_vaps(p, &join(agent.walk(&cols).await?), &mut dropped);
    }
    let cols = wlan_columns(p);
    if !cols.is_empty() {
        r.wlans = decode_wlans(p, &join(agent.walk(&cols).await?), &mut dropped);
    }
    let cols = client_columns(p);
    if !cols.is_empty() {
        r.clients = decode_clients(p, &join(agent.walk(&cols).await?), &mut dropped);
        r.client_table_read = true;
    }
    let cols = neighbour_columns(p);
    if !cols.is_empty() {
        r.neighbours = decode_neighbours(p, &join(agent.walk(&cols).await?), &mut dropped);
    }
    if p.interfaces {
        r.interfaces = decode_interfaces(&join(agent.walk(&if_columns()).await?));
    }
    r.dropped_rows = dropped;
    Ok(r)
}

/// `ap-` and eight hex digits of a row index (FNV-1a): stable across
/// polls, short, and not mistaken for an OID.
pub fn index_tag(index: &str) -> String {
    let h = index.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("ap-{h:08x}")
}

/// The sum of the known values; None when none is known.
fn sum_known(values: impl Iterator<Item = Option<i64>>) -> Option<i64> {
    values
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0i64).saturating_add(v)))
}

impl PollResult {
    /// The AP row a radio or VAP belongs to.
    pub fn ap_of(&self, r: &ApRef) -> Option<&ApRow> {
        if !r.is_set() {
            return None;
        }
        self.aps.iter().find(|a| r.matches(a))
    }

    /// How an AP is named to people: its name, else its MAC, else the
    /// controller's row index.
    /// (Never OID arcs: an AP known by nothing else gets a short stable
    /// tag of its index.)
    pub fn ap_label(&self, r: &ApRef) -> Option<String> {
        match self.ap_of(r) {
            Some(a) => Some(
                a.name
                    .clone()
                    .or_else(|| a.mac.clone())
                    .or_else(|| a.serial.clone())
                    .or_else(|| a.ip.clone())
                    .unwrap_or_else(|| index_tag(&a.index)),
            ),
            None => r
                .name
                .clone()
                .or_else(|| r.mac.clone())
                .or_else(|| r.index.as_deref().map(index_tag)),
        }
    }

    /// A radio's name: `AP/radio` on a controller, `radio` on an AP.
    pub fn radio_label(&self, r: &RadioRow) -> String {
        match self.ap_label(&r.ap) {
            Some(ap) => format!("{ap}/{}", r.radio),
            None => r.radio.clone(),
        }
    }

    /// Clients on one managed AP; None when the controller does not say.
    pub fn clients_of_ap(&self, ap: &ApRow) -> Option<i64> {
        if ap.clients.is_some() {
            return ap.clients;
        }
        let radios = sum_known(
            self.radios
                .iter()
                .filter(|x| x.ap.matches(ap))
                .map(|x| x.clients),
        );
        if radios.is_some() {
            return radios;
        }
        let vaps = sum_known(
            self.vaps
                .iter()
                .filter(|x| x.ap.matches(ap))
                .map(|x| x.clients),
        );
        if vaps.is_some() {
            return vaps;
        }
        if self.client_table_read {
            let n = self
                .clients
                .iter()
                .filter(|c| c.ap.is_some() && (c.ap == ap.mac || c.ap == ap.name))
                .count();
            if n > 0 || self.clients.iter().any(|c| c.ap.is_some()) {
                return i64::try_from(n).ok();
            }
        }
        None
    }

    /// Clients on the whole device; None when it cannot be read.
    pub fn total_clients(&self) -> Option<i64> {
        if self.system.clients.is_some() {
            return self.system.clients;
        }
        // A client table with rows counts; an empty one is 0 only when no
        // radio, VAP, WLAN or AP count says otherwise (some agents answer
        // an unsupported table with nothing).
        if self.client_table_read && !self.clients.is_empty() {
            return i64::try_from(self.clients.len()).ok();
        }
        sum_known(self.radios.iter().map(|x| x.clients))
            .or_else(|| sum_known(self.vaps.iter().map(|x| x.clients)))
            .or_else(|| sum_known(self.wlans.iter().map(|x| x.clients)))
            .or_else(|| sum_known(self.aps.iter().map(|x| x.clients)))
            .or_else(|| self.client_table_read.then_some(0))
    }
}

/// Why a profile was picked for a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub profile: String,
    pub reason: String,
}

/// Picks the profile for a device: the longest matching sysObjectID
/// prefix, else a sysDescr pattern (case-insensitive substring), else none.
pub fn match_profile<'a>(
    profiles: &'a Profiles,
    sys_object_id: Option<&str>,
    sys_descr: Option<&str>,
) -> Option<&'a Profile> {
    detect(profiles, sys_object_id, sys_descr).map(|(p, _)| p)
}

/// [`match_profile`] with the reason, for people.
pub fn detect<'a>(
    profiles: &'a Profiles,
    sys_object_id: Option<&str>,
    sys_descr: Option<&str>,
) -> Option<(&'a Profile, String)> {
    let mut best: Option<(&Profile, usize, String)> = None;
    if let Some(oid) = sys_object_id.and_then(|s| Oid::parse(s).ok()) {
        for p in profiles.iter() {
            for prefix in &p.matching.sys_object_id_prefixes {
                let Ok(pre) = Oid::parse(prefix) else {
                    continue;
                };
                if oid.starts_with(&pre) && best.as_ref().is_none_or(|(_, l, _)| pre.len() > *l) {
                    best = Some((p, pre.len(), format!("sysObjectID {oid} is under {pre}")));
                }
            }
        }
    }
    if let Some((p, _, why)) = best {
        return Some((p, why));
    }
    let descr = sys_descr?;
    let lower = descr.to_ascii_lowercase();
    profiles
        .iter()
        .find(|p| {
            p.matching
                .sys_descr_pattern
                .as_ref()
                .is_some_and(|pat| lower.contains(&pat.to_ascii_lowercase()))
        })
        .map(|p| {
            let pat = p.matching.sys_descr_pattern.clone().unwrap_or_default();
            (p, format!("sysDescr contains {pat:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::snmp::{validate, RawSnmp};

    fn o(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn profile(toml_text: &str) -> SnmpProfile {
        let raw: RawSnmp = toml::from_str(toml_text).unwrap();
        validate(raw).unwrap_or_else(|e| panic!("{}", e.reason))
    }

    fn s(t: &str) -> Value {
        Value::OctetString(t.as_bytes().to_vec())
    }

    #[test]
    fn index_parts_decode_or_drop_the_row() {
        let spec = |kinds: &[(&str, PartKind)]| -> Vec<IndexPart> {
            kinds
                .iter()
                .map(|(n, k)| IndexPart {
                    name: (*n).into(),
                    kind: *k,
                })
                .collect()
        };
        let p = parse_index(
            &spec(&[("ap", PartKind::Mac), ("radio", PartKind::Int)]),
            &[0, 11, 134, 1, 2, 3, 2],
        )
        .unwrap();
        assert_eq!(p.values[0].1, PartValue::Mac("00:0b:86:01:02:03".into()));
        assert_eq!(p.values[1].1, PartValue::Int(2));
        assert_eq!(p.values[1].2, 6..7);
        // Length-prefixed MAC and string, IP, implied string, rest.
        let p = parse_index(
            &spec(&[
                ("ap", PartKind::LMac),
                ("id", PartKind::String),
                ("ip", PartKind::Ip),
                ("name", PartKind::Implied),
            ]),
            &[6, 0, 1, 2, 3, 4, 5, 2, 65, 66, 10, 0, 0, 1, 120, 121],
        )
        .unwrap();
        let v: Vec<String> = p.values.iter().map(|x| x.1.text()).collect();
        assert_eq!(v, ["00:01:02:03:04:05", "AB", "10.0.0.1", "xy"]);
        // Too short, too long, a byte out of range, a wrong length arc: dropped.
        let mac_radio = spec(&[("ap", PartKind::Mac), ("radio", PartKind::Int)]);
        assert!(parse_index(&mac_radio, &[0, 1, 2, 3, 4, 5]).is_none());
        assert!(parse_index(&mac_radio, &[0, 1, 2, 3, 4, 5, 1, 9]).is_none());
        assert!(parse_index(&mac_radio, &[0, 1, 2, 3, 4, 256, 1]).is_none());
        assert!(parse_index(&spec(&[("ap", PartKind::LMac)]), &[5, 0, 1, 2, 3, 4, 5]).is_none());
        assert!(parse_index(&spec(&[("s", PartKind::String)]), &[9, 65]).is_none());
        // No parts: any index fits.
        assert!(parse_index(&[], &[1, 2, 3]).is_some());
    }

    #[test]
    fn scale_sign_negate_offset_and_string_parsing() {
        let p = profile(
            r#"
            [radio_table]
            tx_power = { oid = "1.9.1.1", scale = 0.5 }
            noise = { oid = "1.9.1.2", signed = 8 }
            utilization = { oid = "1.9.1.3", scale = 0.1 }
            channel = { oid = "1.9.1.4", parse = "number" }
            clients = { oid = "1.9.1.5", signed = 32 }
            band = "1.9.1.6"
            "#,
        );
        // In the order radio_columns() asks: band, channel, tx_power,
        // noise, utilization, clients.
        let walked = vec![
            vec![(vec![2], s("5GHz"))],
            vec![(vec![1], s("116E")), (vec![2], s("36(+1)"))],
            vec![(vec![1], Value::Integer(35)), (vec![2], Value::Integer(-4))],
            vec![
                (vec![1], Value::Unsigned(164)),
                (vec![2], Value::Integer(-95)),
            ],
            vec![
                (vec![1], Value::Unsigned(415)),
                (vec![2], Value::Integer(0)),
            ],
            vec![
                (vec![1], Value::Unsigned(4_294_967_295)),
                (vec![2], Value::Unsigned(3)),
            ],
        ];
        let mut dropped = 0;
        let r = decode_radios(&p, &join(walked), &mut dropped);
        assert_eq!(r.len(), 2);
        // 35 half-dBm is 17.5 dBm: rounded half away from zero.
        assert_eq!(r[0].tx_power, Some(18));
        assert_eq!(r[1].tx_power, Some(-2));
        assert_eq!((r[0].noise, r[1].noise), (Some(-92), Some(-95)));
        assert_eq!((r[0].utilization, r[1].utilization), (Some(42), Some(0)));
        assert_eq!((r[0].channel, r[1].channel), (Some(116), Some(36)));
        assert_eq!((r[0].clients, r[1].clients), (Some(-1), Some(3)));
        // Band from the channel where the device gives none.
        assert_eq!(r[0].band.as_deref(), Some("5GHz"));
        assert_eq!(r[1].band.as_deref(), Some("5GHz"));
        // A channel sent as text without parse stays unknown, not 0.
        let plain = profile("[radio_table]\nchannel = \"1.9.1.4\"\n");
        let r = decode_radios(
            &plain,
            &join(vec![vec![(vec![1], s("116E"))]]),
            &mut dropped,
        );
        assert_eq!(r[0].channel, None);
        let negate = profile("[radio_table]\nnoise = { oid = \"1.9.1.2\", negate = true }\n");
        let r = decode_radios(
            &negate,
            &join(vec![vec![
                (vec![1], Value::Integer(92)),
                (vec![2], Value::Integer(-90)),
            ]]),
            &mut dropped,
        );
        assert_eq!((r[0].noise, r[1].noise), (Some(-92), Some(-90)));
        let marked = profile(
            "[radio_table]\ntx_power = { oid = \"1.9.1.1\", unknown_values = [255, 2147483647] }\n",
        );
        let r = decode_radios(
            &marked,
            &join(vec![vec![
                (vec![1], Value::Integer(255)),
                (vec![2], Value::Integer(20)),
            ]]),
            &mut dropped,
        );
        assert_eq!((r[0].tx_power, r[1].tx_power), (None, Some(20)));
        // A six-letter AP name is a name; six raw bytes are a MAC.
        let c = profile("[client_table]\nap = \"1.9.4.2\"\n");
        let rows = decode_clients(
            &c,
            &join(vec![vec![
                (vec![1], s("lobby1")),
                (vec![2], Value::OctetString(vec![0, 0x0b, 0x86, 1, 2, 3])),
            ]]),
            &mut dropped,
        );
        assert_eq!(rows[0].ap.as_deref(), Some("lobby1"));
        assert_eq!(rows[1].ap.as_deref(), Some("00:0b:86:01:02:03"));
        let off = profile("[radio_table]\nnoise = { oid = \"1.9.1.2\", offset = -256 }\n");
        let r = decode_radios(
            &off,
            &join(vec![vec![(vec![1], Value::Integer(161))]]),
            &mut dropped,
        );
        assert_eq!(r[0].noise, Some(-95));
        assert_eq!(first_number("ch 6, 20MHz"), Some(6.0));
        assert_eq!(first_number("-92 dBm"), Some(-92.0));
        assert_eq!(first_number("none"), None);
        assert_eq!(mhz_to_channel(2437.0), Some(6));
        assert_eq!(mhz_to_channel(2.484), Some(14));
        assert_eq!(mhz_to_channel(5180.0), Some(36));
        assert_eq!(mhz_to_channel(5955.0), Some(1));
        assert_eq!(mhz_to_channel(900.0), None);
    }

    #[test]
    fn controller_rows_join_by_index_parts_and_are_named_by_ap() {
        let p = profile(
            r#"
            role = "controller"
            [ap_table]
            index = ["ap:mac"]
            mac = "index:ap"
            name = "1.9.1.3"
            [radio_table]
            index = ["ap:mac", "radio:int"]
            ap_mac = "index:ap"
            channel = "1.9.2.4"
            clients = "1.9.2.7"
            [vap_table]
            index = ["ap:mac", "radio:int", "wlan:int"]
            ap_mac = "index:ap"
            radio = "index:radio"
            ssid = "1.9.3.2"
            clients = "1.9.3.5"
            [client_table]
            index = ["mac:mac"]
            mac = "index:mac"
            ap = "1.9.4.2"
            "#,
        );
        let ap1 = vec![0, 11, 134, 0, 0, 1];
        let ap2 = vec![0, 11, 134, 0, 0, 2];
        let with = |base: &[u32], more: &[u32]| [base, more].concat();
        let mut dropped = 0;
        let aps = decode_aps(
            &p,
            &join(vec![vec![
                (ap1.clone(), s("lobby")),
                (ap2.clone(), s("hall")),
                (vec![1, 2], s("bad index")),
            ]]),
            &mut dropped,
        );
        assert_eq!(dropped, 1);
        let radios = decode_radios(
            &p,
            &join(vec![
                vec![
                    (with(&ap1, &[1]), Value::Integer(6)),
                    (with(&ap1, &[2]), Value::Integer(36)),
                    (with(&ap2, &[1]), Value::Integer(11)),
                ],
                vec![
                    (with(&ap1, &[1]), Value::Unsigned(4)),
                    (with(&ap2, &[1]), Value::Unsigned(0)),
                ],
            ]),
            &mut dropped,
        );
        let vaps = decode_vaps(
            &p,
            &join(vec![
                vec![(with(&ap1, &[2, 1]), s("Staff"))],
                vec![(with(&ap1, &[2, 1]), Value::Unsigned(5))],
            ]),
            &mut dropped,
        );
        let r = PollResult {
            aps,
            radios,
            vaps,
            ..PollResult::default()
        };
        let labels: Vec<String> = r.radios.iter().map(|x| r.radio_label(x)).collect();
        assert_eq!(labels, ["lobby/1", "lobby/2", "hall/1"]);
        assert_eq!(r.ap_label(&r.vaps[0].ap).as_deref(), Some("lobby"));
        assert_eq!(r.vaps[0].radio.as_deref(), Some("2"));
        // lobby: radio clients 4 + unknown = 4; hall: 0 is a real 0.
        assert_eq!(r.clients_of_ap(&r.aps[0]), Some(4));
        assert_eq!(r.clients_of_ap(&r.aps[1]), Some(0));
        assert_eq!(r.total_clients(), Some(4));
        // Unknown stays unknown: no radio clients, no client table.
        let bare = PollResult {
            aps: r.aps.clone(),
            ..PollResult::default()
        };
        assert_eq!(bare.clients_of_ap(&bare.aps[0]), None);
        assert_eq!(bare.total_clients(), None);
        // A client table that was read and is empty is a real 0.
        let empty = PollResult {
            client_table_read: true,
            ..PollResult::default()
        };
        assert_eq!(empty.total_clients(), Some(0));
    }

    #[test]
    fn neighbour_reports_join_their_ap_and_keep_the_heard_mac() {
        let p = profile(
            r#"
            role = "controller"
            [ap_table]
            index = ["ap:mac"]
            mac = "index:ap"
            name = "1.9.1.3"
            [neighbour_table]
            index = ["ap:mac", "slot:int", "heard:mac"]
            ap_mac = "index:ap"
            neighbour = "index:heard"
            rssi = "1.9.5.3"
            channel = "1.9.5.26"
            "#,
        );
        let ap1 = vec![0, 11, 134, 0, 0, 1];
        let ap2 = vec![0, 11, 134, 0, 0, 2];
        let mut dropped = 0;
        let aps = decode_aps(
            &p,
            &join(vec![vec![
                (ap1.clone(), s("lobby")),
                (ap2.clone(), s("hall")),
            ]]),
            &mut dropped,
        );
        let idx = |a: &[u32], slot: u32, b: &[u32]| [a, &[slot], b].concat();
        let rows = decode_neighbours(
            &p,
            &join(vec![
                vec![
                    (idx(&ap1, 1, &ap2), Value::Integer(-58)),
                    (idx(&ap2, 1, &ap1), Value::Integer(-61)),
                    (vec![0, 11, 134], Value::Integer(-40)),
                ],
                vec![(idx(&ap1, 1, &ap2), Value::Integer(36))],
            ]),
            &mut dropped,
        );
        assert_eq!(dropped, 1, "a short index is dropped and counted");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].neighbour.as_deref(), Some("00:0b:86:00:00:02"));
        assert_eq!((rows[0].rssi, rows[0].channel), (Some(-58), Some(36)));
        assert_eq!((rows[1].rssi, rows[1].channel), (Some(-61), None));
        assert!(rows[0].ap.matches(&aps[0]) && rows[1].ap.matches(&aps[1]));
        // A neighbour table needs the heard AP and the signal.
        let raw: RawSnmp = toml::from_str(
            "[neighbour_table]\nindex = [\"a:mac\"]\nap_mac = \"index:a\"\nrssi = \"1.9.5.3\"\n",
        )
        .unwrap();
        assert!(validate(raw).is_err());
        let raw: RawSnmp = toml::from_str("[neighbour_table]\nindex = [\"a:mac\"]\nneighbour = \"index:a\"\nrssi = \"1.9.5.3\"\nssid = \"1.9\"\n").unwrap();
        assert!(validate(raw).is_err(), "ssid is not a neighbour field");
    }

    #[test]
    fn extend_outputs_become_radios() {
        let p = profile(
            r#"
            [radio_table]
            extend_list = "interfaces"
            clients = "extend:clients-{if}"
            channel = { extend = "frequency-{if}", parse = "mhz-channel" }
            noise = "extend:noise-floor-{if}"
            "#,
        );
        let name_arcs = |n: &str| -> Vec<u32> {
            let mut v = vec![u32::try_from(n.len()).unwrap()];
            v.extend(n.bytes().map(u32::from));
            v
        };
        let line = |n: &str, i: u32, t: &str| {
            let mut idx = name_arcs(n);
            idx.push(i);
            (idx, s(t))
        };
        let lines = vec![
            line("interfaces", 1, "wlan0,2.4GHz"),
            line("interfaces", 2, "wlan1"),
            line("clients-wlan0", 1, "3"),
            line("frequency-wlan0", 1, "2437"),
            line("frequency-wlan1", 1, "5180"),
            line("noise-floor-wlan0", 1, "-92"),
            (vec![40, 1], s("broken index")),
        ];
        let first = vec![(name_arcs("clients-wlan1"), s("0"))];
        let mut dropped = 0;
        let ext = Extends::from_walks(&lines, &first, &mut dropped);
        assert_eq!(dropped, 1);
        let r = decode_extend_radios(&p, &ext);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].radio.as_str(), r[0].channel, r[0].clients, r[0].noise),
            ("wlan0", Some(6), Some(3), Some(-92))
        );
        // An empty noise line (no clients) is unknown, not 0.
        assert_eq!(
            (r[1].radio.as_str(), r[1].channel, r[1].clients, r[1].noise),
            ("wlan1", Some(36), Some(0), None)
        );
        // Without the list extend, the templates find the interfaces.
        let mut no_list = ext.clone();
        no_list.lines.remove("interfaces");
        let names: Vec<String> = decode_extend_radios(&p, &no_list)
            .into_iter()
            .map(|x| x.radio)
            .collect();
        assert_eq!(names, ["wlan0", "wlan1"]);
    }

    #[test]
    fn every_shipped_sys_object_id_arc_detects_its_own_profile() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ap-profiles");
        let profiles = Profiles::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        let mut checked = 0;
        for p in profiles.iter() {
            for prefix in &p.matching.sys_object_id_prefixes {
                // A device under the arc (one more arc) and the arc itself.
                for oid in [format!("{prefix}.77"), prefix.clone()] {
                    let (got, why) = detect(&profiles, Some(&oid), None)
                        .unwrap_or_else(|| panic!("{oid} detects nothing"));
                    assert_eq!(got.name, p.name, "{oid}: {why}");
                    checked += 1;
                }
            }
            if let Some(pattern) = &p.matching.sys_descr_pattern {
                // A sysDescr alone (an unknown sysObjectID) finds it too.
                let descr = format!("Device: {pattern} 1.0");
                let got = detect(&profiles, Some("1.3.6.1.4.1.99999.1"), Some(&descr))
                    .map(|x| x.0.name.clone());
                assert_eq!(got.as_deref(), Some(p.name.as_str()), "{descr}");
            }
        }
        assert!(checked >= 30, "{checked}");
        // No vendor claims a generic net-snmp agent or nothing at all.
        assert!(detect(
            &profiles,
            Some("1.3.6.1.4.1.8072.3.2.10"),
            Some("Linux host 6.1")
        )
        .is_none());
        assert!(detect(&profiles, None, None).is_none());
    }

    #[test]
    fn system_scalars_and_interfaces() {
        let p = profile("clients = \"1.9.0.5.0\"\nmodel = \"1.9.0.1.0\"\n");
        let got = vec![
            (o(SYS_DESCR), s("Linux ap")),
            (
                o(SYS_OBJECT_ID),
                Value::ObjectId(o("1.3.6.1.4.1.8072.3.2.10")),
            ),
            (o(SYS_UPTIME), Value::Timeticks(1234)),
            (o(SYS_NAME), Value::NoSuch),
            (o("1.9.0.5.0"), Value::Unsigned(17)),
            (o("1.9.0.1.0"), s("")),
        ];
        let sys = decode_system(&p, &got);
        assert_eq!(sys.descr.as_deref(), Some("Linux ap"));
        assert_eq!(sys.uptime_ticks, Some(1234));
        assert_eq!((sys.name, sys.model, sys.clients), (None, None, Some(17)));
        let walked = vec![
            vec![(vec![1], s("lo"))],
            vec![(vec![1], Value::Integer(1))],
            vec![(vec![1], Value::Unsigned(10))],
            vec![(vec![1], Value::Unsigned(20))],
            vec![(vec![1], Value::Unsigned(1 << 40))],
            vec![],
        ];
        let ifs = decode_interfaces(&join(walked));
        assert_eq!(
            (ifs[0].in_octets, ifs[0].out_octets, ifs[0].up),
            (Some(1 << 40), Some(20), Some(true))
        );
    }
}
