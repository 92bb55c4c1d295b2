//! Profile-driven collection: which OIDs to ask for, and how the answers
//! become normalised observations (pure functions, tested without a
//! network). [`poll`] is the one async step that drives a [`Client`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::client::{Client, SnmpError};
use super::oid::{index_key, Oid};
use super::value::{mac_from_arcs, Value};
use crate::profiles::snmp::{Column, Role, SnmpProfile};
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

fn std_oid(s: &str) -> Oid {
    Oid::parse(s).unwrap_or_default()
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
}

/// One AP in a controller's AP table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApRow {
    /// The row index, which radio rows refer to.
    pub index: String,
    pub name: Option<String>,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub status_raw: Option<i64>,
    /// `status_raw` read through the profile's `up_values`.
    pub up: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RadioRow {
    /// The AP row it belongs to (controllers), from the leading index arcs.
    pub ap_index: Option<String>,
    /// The AP's name, where the radio table has a column for it.
    pub ap_name: Option<String>,
    pub index: String,
    pub channel: Option<i64>,
    pub tx_power: Option<i64>,
    /// dBm.
    pub noise: Option<i64>,
    /// Percent.
    pub utilization: Option<i64>,
    pub clients: Option<i64>,
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
    pub clients: Vec<ClientRow>,
    pub interfaces: Vec<IfRow>,
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

/// The columns of a logical table: the profile's optional OIDs, numbered
/// so that values can be found again after the walk.
struct Cols {
    oids: Vec<Oid>,
}

impl Cols {
    fn new() -> Cols {
        Cols { oids: Vec::new() }
    }
    fn add(&mut self, o: &Option<Oid>) -> Option<usize> {
        o.as_ref().map(|o| {
            self.oids.push(o.clone());
            self.oids.len() - 1
        })
    }
}

fn cell(row: &[Option<Value>], at: Option<usize>) -> Option<&Value> {
    row.get(at?)?.as_ref().filter(|v| v.is_present())
}

fn text(row: &[Option<Value>], at: Option<usize>) -> Option<String> {
    cell(row, at)?.as_text().filter(|t| !t.is_empty())
}

fn int(row: &[Option<Value>], at: Option<usize>) -> Option<i64> {
    cell(row, at)?.as_i64()
}

/// Plans and then decodes the AP table of a controller.
pub struct ApTablePlan {
    cols: Vec<Oid>,
    name: Option<usize>,
    mac: Option<usize>,
    mac_index: bool,
    ip: Option<usize>,
    model: Option<usize>,
    serial: Option<usize>,
    firmware: Option<usize>,
    status: Option<usize>,
    up_values: Vec<i64>,
}

impl ApTablePlan {
    pub fn new(p: &SnmpProfile) -> Option<ApTablePlan> {
        let t = p.ap_table.as_ref()?;
        let mut c = Cols::new();
        let name = c.add(&t.name);
        let (mac, mac_index) = match &t.mac {
            Some(Column::Oid(o)) => (c.add(&Some(o.clone())), false),
            Some(Column::Index) => (None, true),
            None => (None, false),
        };
        let ip = c.add(&t.ip);
        let model = c.add(&t.model);
        let serial = c.add(&t.serial);
        let firmware = c.add(&t.firmware);
        let status = c.add(&t.status);
        Some(ApTablePlan {
            cols: c.oids,
            name,
            mac,
            mac_index,
            ip,
            model,
            serial,
            firmware,
            status,
            up_values: t.up_values.clone(),
        })
    }

    pub fn columns(&self) -> &[Oid] {
        &self.cols
    }

    pub fn decode(&self, joined: &Joined) -> Vec<ApRow> {
        joined
            .iter()
            .map(|(idx, row)| {
                let status_raw = int(row, self.status);
                ApRow {
                    index: index_key(idx),
                    name: text(row, self.name),
                    mac: if self.mac_index {
                        mac_from_arcs(idx)
                    } else {
                        cell(row, self.mac).and_then(Value::as_mac)
                    },
                    ip: cell(row, self.ip).and_then(Value::as_ip),
                    model: text(row, self.model),
                    serial: text(row, self.serial),
                    firmware: text(row, self.firmware),
                    up: status_raw.map(|s| self.up_values.contains(&s)),
                    status_raw,
                }
            })
            .collect()
    }
}

pub struct RadioPlan {
    cols: Vec<Oid>,
    channel: Option<usize>,
    tx_power: Option<usize>,
    noise: Option<usize>,
    utilization: Option<usize>,
    clients: Option<usize>,
    ap_name: Option<usize>,
    ap_arcs: usize,
}

impl RadioPlan {
    pub fn new(p: &SnmpProfile) -> Option<RadioPlan> {
        let t = p.radio_table.as_ref()?;
        let mut c = Cols::new();
        let channel = c.add(&t.channel);
        let tx_power = c.add(&t.tx_power);
        let noise = c.add(&t.noise);
        let utilization = c.add(&t.utilization);
        let clients = c.add(&t.clients);
        let ap_name = c.add(&t.ap_name);
        Some(RadioPlan {
            cols: c.oids,
            channel,
            tx_power,
            noise,
            utilization,
            clients,
            ap_name,
            ap_arcs: if p.role == Role::Controller {
                t.ap_index_arcs
            } else {
                0
            },
        })
    }

    pub fn columns(&self) -> &[Oid] {
        &self.cols
    }

    pub fn decode(&self, joined: &Joined) -> Vec<RadioRow> {
        joined
            .iter()
            .map(|(idx, row)| RadioRow {
                ap_index: (self.ap_arcs > 0)
                    .then(|| idx.get(..self.ap_arcs).map(index_key))
                    .flatten(),
                ap_name: text(row, self.ap_name),
                index: index_key(idx),
                channel: int(row, self.channel),
                tx_power: int(row, self.tx_power),
                noise: int(row, self.noise),
                utilization: int(row, self.utilization),
                clients: int(row, self.clients),
            })
            .collect()
    }
}

pub struct ClientPlan {
    cols: Vec<Oid>,
    mac: Option<usize>,
    mac_index: bool,
    ip: Option<usize>,
    user: Option<usize>,
    ap: Option<usize>,
    ssid: Option<usize>,
    rssi: Option<usize>,
    snr: Option<usize>,
}

impl ClientPlan {
    pub fn new(p: &SnmpProfile) -> Option<ClientPlan> {
        let t = p.client_table.as_ref()?;
        let mut c = Cols::new();
        let (mac, mac_index) = match &t.mac {
            Some(Column::Oid(o)) => (c.add(&Some(o.clone())), false),
            Some(Column::Index) => (None, true),
            None => (None, false),
        };
        let ip = c.add(&t.ip);
        let user = c.add(&t.user);
        let ap = c.add(&t.ap);
        let ssid = c.add(&t.ssid);
        let rssi = c.add(&t.rssi);
        let snr = c.add(&t.snr);
        Some(ClientPlan {
            cols: c.oids,
            mac,
            mac_index,
            ip,
            user,
            ap,
            ssid,
            rssi,
            snr,
        })
    }

    pub fn columns(&self) -> &[Oid] {
        &self.cols
    }

    pub fn decode(&self, joined: &Joined) -> Vec<ClientRow> {
        joined
            .iter()
            .map(|(idx, row)| ClientRow {
                mac: if self.mac_index {
                    // Tables indexed by MAC may put it last (after an AP id).
                    idx.len()
                        .checked_sub(6)
                        .and_then(|s| idx.get(s..))
                        .and_then(mac_from_arcs)
                } else {
                    cell(row, self.mac).and_then(Value::as_mac)
                },
                ip: cell(row, self.ip).and_then(Value::as_ip),
                user: text(row, self.user),
                ap: cell(row, self.ap).and_then(|v| v.as_mac().or_else(|| v.as_text())),
                ssid: text(row, self.ssid),
                rssi: int(row, self.rssi),
                snr: int(row, self.snr),
            })
            .collect()
    }
}

pub fn if_columns() -> Vec<Oid> {
    IF_COLUMNS.iter().map(|s| std_oid(s)).collect()
}

pub fn decode_interfaces(joined: &Joined) -> Vec<IfRow> {
    joined
        .iter()
        .map(|(idx, row)| {
            let hc_in = cell(row, Some(4)).and_then(Value::as_u64);
            let hc_out = cell(row, Some(5)).and_then(Value::as_u64);
            IfRow {
                index: index_key(idx),
                descr: text(row, Some(0)),
                // ifOperStatus up(1).
                up: int(row, Some(1)).map(|s| s == 1),
                in_octets: hc_in.or_else(|| cell(row, Some(2)).and_then(Value::as_u64)),
                out_octets: hc_out.or_else(|| cell(row, Some(3)).and_then(Value::as_u64)),
            }
        })
        .collect()
}

/// The system scalars to GET: MIB-II plus the profile's model, serial and
/// firmware OIDs.
pub fn system_oids(p: &SnmpProfile) -> Vec<Oid> {
    let mut v: Vec<Oid> = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME]
        .iter()
        .map(|s| std_oid(s))
        .collect();
    for o in [&p.model, &p.serial, &p.firmware].into_iter().flatten() {
        v.push(o.clone());
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
    let t = |o: &Option<Oid>| o.as_ref().and_then(&find).and_then(Value::as_text);
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
    }
}

/// Polls one device as its profile says.
pub async fn poll(client: &mut Client, p: &SnmpProfile) -> Result<PollResult, SnmpError> {
    let got = client.get(&system_oids(p)).await?;
    let mut result = PollResult {
        system: decode_system(p, &got),
        ..PollResult::default()
    };
    if let Some(plan) = ApTablePlan::new(p).filter(|x| !x.columns().is_empty()) {
        let walked = client.walk(plan.columns()).await?;
        result.aps = plan.decode(&join(walked));
    }
    if let Some(plan) = RadioPlan::new(p).filter(|x| !x.columns().is_empty()) {
        let walked = client.walk(plan.columns()).await?;
        result.radios = plan.decode(&join(walked));
    }
    if let Some(plan) = ClientPlan::new(p).filter(|x| !x.columns().is_empty()) {
        let walked = client.walk(plan.columns()).await?;
        result.clients = plan.decode(&join(walked));
    }
    if p.interfaces {
        let walked = client.walk(&if_columns()).await?;
        result.interfaces = decode_interfaces(&join(walked));
    }
    Ok(result)
}

/// Picks the profile for a device: the longest matching sysObjectID
/// prefix, else a sysDescr pattern (case-insensitive substring), else none.
pub fn match_profile<'a>(
    profiles: &'a Profiles,
    sys_object_id: Option<&str>,
    sys_descr: Option<&str>,
) -> Option<&'a Profile> {
    let mut best: Option<(&Profile, usize)> = None;
    if let Some(oid) = sys_object_id.and_then(|s| Oid::parse(s).ok()) {
        for p in profiles.iter() {
            for prefix in &p.matching.sys_object_id_prefixes {
                let Ok(pre) = Oid::parse(prefix) else {
                    continue;
                };
                if oid.starts_with(&pre) && best.is_none_or(|(_, l)| pre.len() > l) {
                    best = Some((p, pre.len()));
                }
            }
        }
    }
    if let Some((p, _)) = best {
        return Some(p);
    }
    let descr = sys_descr?.to_ascii_lowercase();
    profiles.iter().find(|p| {
        p.matching
            .sys_descr_pattern
            .as_ref()
            .is_some_and(|pat| descr.contains(&pat.to_ascii_lowercase()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::snmp::{ApTable, RadioTable};

    fn o(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    #[test]
    fn joins_columns_on_index_and_decodes_controller_tables() {
        let p = SnmpProfile {
            role: Role::Controller,
            ap_table: Some(ApTable {
                name: Some(o("1.9.1.3")),
                mac: Some(Column::Index),
                status: Some(o("1.9.1.6")),
                up_values: vec![1],
                ..ApTable::default()
            }),
            radio_table: Some(RadioTable {
                channel: Some(o("1.9.2.4")),
                clients: Some(o("1.9.2.15")),
                ap_index_arcs: 6,
                ..RadioTable::default()
            }),
            ..SnmpProfile::default()
        };
        let mac = vec![0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e];
        let plan = ApTablePlan::new(&p).unwrap();
        assert_eq!(plan.columns().len(), 2);
        let walked = vec![
            vec![(mac.clone(), Value::OctetString(b"ap-1".to_vec()))],
            vec![(mac.clone(), Value::Integer(2))],
        ];
        let aps = plan.decode(&join(walked));
        assert_eq!(aps.len(), 1);
        assert_eq!(aps[0].name.as_deref(), Some("ap-1"));
        assert_eq!(aps[0].mac.as_deref(), Some("00:1a:2b:3c:4d:5e"));
        assert_eq!(aps[0].up, Some(false));
        let radio = RadioPlan::new(&p).unwrap();
        let mut r0 = mac.clone();
        r0.push(0);
        let mut r1 = mac.clone();
        r1.push(1);
        let walked = vec![
            vec![
                (r0.clone(), Value::Integer(6)),
                (r1.clone(), Value::Integer(36)),
            ],
            vec![(r1.clone(), Value::Unsigned(12)), (vec![9], Value::NoSuch)],
        ];
        let radios = radio.decode(&join(walked));
        assert_eq!(radios.len(), 3);
        assert_eq!(radios[0].ap_index.as_deref(), Some("0.26.43.60.77.94"));
        assert_eq!((radios[0].channel, radios[0].clients), (Some(6), None));
        assert_eq!((radios[1].channel, radios[1].clients), (Some(36), Some(12)));
        // A row shorter than the AP part of the index has no AP.
        assert_eq!(radios[2].ap_index, None);
    }

    #[test]
    fn system_and_interfaces() {
        let p = SnmpProfile::default();
        let got = vec![
            (o(SYS_DESCR), Value::OctetString(b"Linux ap".to_vec())),
            (
                o(SYS_OBJECT_ID),
                Value::ObjectId(o("1.3.6.1.4.1.8072.3.2.10")),
            ),
            (o(SYS_UPTIME), Value::Timeticks(1234)),
            (o(SYS_NAME), Value::NoSuch),
        ];
        let s = decode_system(&p, &got);
        assert_eq!(s.descr.as_deref(), Some("Linux ap"));
        assert_eq!(s.object_id.as_deref(), Some("1.3.6.1.4.1.8072.3.2.10"));
        assert_eq!(s.uptime_ticks, Some(1234));
        assert_eq!(s.name, None);
        let walked = vec![
            vec![(vec![1], Value::OctetString(b"lo".to_vec()))],
            vec![(vec![1], Value::Integer(1))],
            vec![(vec![1], Value::Unsigned(10))],
            vec![(vec![1], Value::Unsigned(20))],
            vec![(vec![1], Value::Unsigned(1 << 40))],
            vec![],
        ];
        let ifs = decode_interfaces(&join(walked));
        assert_eq!(ifs[0].in_octets, Some(1 << 40));
        assert_eq!(ifs[0].out_octets, Some(20));
        assert_eq!(ifs[0].up, Some(true));
    }
}
