//! Fleet simulator: one SNMP agent per simulated AP on loopback, each
//! answering with a vendor profile's tables (the column OIDs come from the
//! profile itself) and values that drift over time.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use portico::profiles::snmp::{Field, IndexPart, PartKind, Role, SnmpProfile, Source};
use portico::profiles::Profile;
use portico::snmp::collect::{IF_COLUMNS, SYS_DESCR, SYS_NAME, SYS_OBJECT_ID, SYS_UPTIME};
use portico::snmp::oid::Oid;
use portico::snmp::value::Value;

use crate::agent::{respond, MibView};

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub count: usize,
    pub ip: IpAddr,
    /// First agent's port; agent i listens on `base_port + i` (0: any port).
    pub base_port: u16,
    pub community: String,
    pub radios: u32,
    pub clients_per_radio: u32,
    /// APs in each simulated controller's table (controller profiles).
    pub aps_per_controller: u32,
    /// How often values change.
    pub period: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            count: 1,
            ip: IpAddr::from([127, 0, 0, 1]),
            base_port: 0,
            community: "public".into(),
            radios: 2,
            clients_per_radio: 3,
            aps_per_controller: 4,
            period: Duration::from_secs(10),
        }
    }
}

/// A small deterministic mixer, so that each AP and moment gets its own
/// stable numbers without a random generator.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn pick(seed: u64, n: u64) -> u64 {
    mix(seed) % n.max(1)
}

fn o(s: &str) -> Oid {
    Oid::parse(s).unwrap_or_default()
}

fn mac_arcs(ap: u64, salt: u32) -> Vec<u32> {
    let m = mix(ap.wrapping_add(u64::from(salt) << 32));
    vec![
        0x02,
        0x50,
        ((m >> 8) & 0xff) as u32,
        ((m >> 16) & 0xff) as u32,
        ((ap >> 8) & 0xff) as u32,
        (ap & 0xff) as u32,
    ]
}

fn mac_bytes(arcs: &[u32]) -> Vec<u8> {
    arcs.iter().map(|a| (*a & 0xff) as u8).collect()
}

const CHANNELS_24: [i64; 3] = [1, 6, 11];
const CHANNELS_5: [i64; 6] = [36, 44, 52, 100, 149, 157];

fn oid_of(f: &Option<Field>) -> Option<&Oid> {
    f.as_ref().and_then(Field::column_oid)
}

fn is_whole_index(f: &Option<Field>) -> bool {
    matches!(
        f,
        Some(Field {
            source: Source::Index(None),
            ..
        })
    )
}

/// A row index built from a profile's index parts: MACs from `mac`, the
/// first integer part `first_int`, later ones `other_int`, strings as
/// their length and characters.
fn index_of(parts: &[IndexPart], mac: &[u32], first_int: u32, other_int: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut ints = 0;
    for p in parts {
        match p.kind {
            PartKind::Mac => out.extend_from_slice(mac),
            PartKind::LMac => {
                out.push(6);
                out.extend_from_slice(mac);
            }
            PartKind::Int => {
                out.push(if ints == 0 { first_int } else { other_int });
                ints += 1;
            }
            PartKind::Ip => out.extend_from_slice(&[10, 0, 0, first_int % 250]),
            PartKind::String | PartKind::Implied | PartKind::Rest => {
                let text = format!("sim{first_int}");
                if p.kind == PartKind::String {
                    out.push(text.len() as u32);
                }
                out.extend(text.bytes().map(u32::from));
            }
        }
    }
    out
}

/// The MIB view of simulated device `n` at moment `step`.
pub fn build_view(
    profile: &Profile,
    cfg: &SimConfig,
    n: u64,
    step: u64,
    uptime_ticks: u32,
) -> MibView {
    let p: &SnmpProfile = &profile.snmp;
    let mut v = MibView::new();
    let object_id = profile
        .matching
        .sys_object_id_prefixes
        .first()
        .map(|s| o(s).child(&[1]))
        .unwrap_or_else(|| o("1.3.6.1.4.1.8072.3.2.10"));
    v.insert(
        o(SYS_DESCR),
        Value::OctetString(
            format!("Portico simulated {} device", profile.display_name).into_bytes(),
        ),
    );
    v.insert(o(SYS_OBJECT_ID), Value::ObjectId(object_id));
    v.insert(o(SYS_UPTIME), Value::Timeticks(uptime_ticks));
    v.insert(
        o(SYS_NAME),
        Value::OctetString(format!("sim-{}-{n}", profile.name).into_bytes()),
    );
    for (col, val) in [
        (&p.model, "SIM-AP-1"),
        (&p.serial, "SIM0000"),
        (&p.firmware, "1.0.0"),
    ] {
        if let Some(c) = oid_of(col) {
            v.insert(c.clone(), Value::OctetString(val.as_bytes().to_vec()));
        }
    }
    if p.interfaces {
        let ifs = ["eth0", "wlan0", "wlan1"];
        for (i, name) in ifs.iter().enumerate() {
            let idx = [u32::try_from(i + 1).unwrap_or(1)];
            let bytes =
                mix(n * 7 + i as u64).wrapping_rem(1 << 20) + step * 150_000 * (i as u64 + 1);
            let cols: [Value; 6] = [
                Value::OctetString(name.as_bytes().to_vec()),
                Value::Integer(1),
                Value::Unsigned(bytes & 0xffff_ffff),
                Value::Unsigned((bytes / 2) & 0xffff_ffff),
                Value::Unsigned(bytes),
                Value::Unsigned(bytes / 2),
            ];
            for (c, val) in IF_COLUMNS.iter().zip(cols) {
                v.insert(o(c).child(&idx), val);
            }
        }
    }
    // The APs this device represents: itself, or a controller's table.
    let aps: Vec<Vec<u32>> = match (p.role, &p.ap_table) {
        (Role::Controller, Some(t)) => (0..cfg.aps_per_controller)
            .map(|k| {
                let ap_no = n * 1000 + u64::from(k);
                if !t.index.is_empty() {
                    index_of(&t.index, &mac_arcs(ap_no, 0), k + 1, 0)
                } else if is_whole_index(&t.mac)
                    || p.radio_table
                        .as_ref()
                        .is_some_and(|r| r.join.ap_index_arcs == 6)
                {
                    mac_arcs(ap_no, 0)
                } else {
                    vec![k + 1]
                }
            })
            .collect(),
        _ => vec![vec![]],
    };
    if let (Role::Controller, Some(t)) = (p.role, &p.ap_table) {
        for (k, idx) in aps.iter().enumerate() {
            let name = format!("sim-{n}-ap{k}");
            let up_value = t.up_values.first().copied().unwrap_or(1);
            let cols: [(&Option<Field>, Value); 6] = [
                (&t.name, Value::OctetString(name.into_bytes())),
                (
                    &t.ip,
                    Value::IpAddress([10, 99, (n % 250) as u8, (k % 250) as u8 + 1]),
                ),
                (&t.model, Value::OctetString(b"SIM-LAP".to_vec())),
                (
                    &t.serial,
                    Value::OctetString(format!("SIM{n:05}{k:02}").into_bytes()),
                ),
                (&t.firmware, Value::OctetString(b"8.10.0".to_vec())),
                (&t.status, Value::Integer(up_value)),
            ];
            for (col, val) in cols {
                if let Some(c) = oid_of(col) {
                    v.insert(c.child(idx), val);
                }
            }
            if let Some(c) = oid_of(&t.mac) {
                let arcs = mac_arcs(n * 1000 + k as u64, 0);
                v.insert(c.child(idx), Value::OctetString(mac_bytes(&arcs)));
            }
        }
    }
    if let Some(r) = &p.radio_table {
        for (k, ap_idx) in aps.iter().enumerate() {
            for radio in 0..cfg.radios {
                let seed = n.wrapping_mul(1_000_003) ^ ((k as u64) << 20) ^ u64::from(radio);
                let number = if p.role == Role::Controller {
                    radio
                } else {
                    radio + 1
                };
                let idx = if r.index.is_empty() {
                    let mut idx = ap_idx.clone();
                    idx.push(number);
                    idx
                } else {
                    index_of(
                        &r.index,
                        &mac_arcs(n * 1000 + k as u64, 0),
                        number,
                        k as u32 + 1,
                    )
                };
                let channel = if radio % 2 == 0 {
                    CHANNELS_24[pick(seed, 3) as usize]
                } else {
                    CHANNELS_5[pick(seed, 6) as usize]
                };
                let util = 5 + pick(seed ^ step.wrapping_mul(31), 70) as i64;
                let clients = i64::from(cfg.clients_per_radio) + pick(seed ^ step, 3) as i64;
                let noise = -95 + pick(seed ^ (step / 3), 8) as i64;
                let cols: [(&Option<Field>, Value); 6] = [
                    (
                        &r.join.ap_name,
                        Value::OctetString(format!("sim-{n}-ap{k}").into_bytes()),
                    ),
                    (&r.channel, Value::Integer(channel)),
                    (
                        &r.tx_power,
                        Value::Integer(if radio % 2 == 0 { 17 } else { 20 }),
                    ),
                    (&r.noise, Value::Integer(noise)),
                    (&r.utilization, Value::Integer(util)),
                    (
                        &r.clients,
                        Value::Unsigned(u64::try_from(clients).unwrap_or(0)),
                    ),
                ];
                for (col, val) in cols {
                    if let Some(c) = oid_of(col) {
                        v.insert(c.child(&idx), val);
                    }
                }
            }
        }
    }
    if let Some(c) = &p.client_table {
        let total = cfg.clients_per_radio * cfg.radios * u32::try_from(aps.len()).unwrap_or(1);
        for i in 0..total {
            let arcs = mac_arcs(n * 100_000 + u64::from(i), 1);
            let idx = if !c.index.is_empty() {
                index_of(&c.index, &arcs, i + 1, 1)
            } else if is_whole_index(&c.mac) {
                arcs.clone()
            } else {
                vec![i + 1]
            };
            let rssi = -40 - pick(u64::from(i) ^ n ^ step, 45) as i64;
            let cols: [(&Option<Field>, Value); 6] = [
                (
                    &c.ip,
                    Value::IpAddress([10, 100, (i / 250) as u8, (i % 250) as u8 + 1]),
                ),
                (&c.user, Value::OctetString(format!("user{i}").into_bytes())),
                (&c.ap, Value::OctetString(mac_bytes(&mac_arcs(n * 1000, 0)))),
                (&c.ssid, Value::OctetString(b"Staff".to_vec())),
                (&c.rssi, Value::Integer(rssi)),
                (&c.snr, Value::Integer(rssi + 95)),
            ];
            for (col, val) in cols {
                if let Some(col) = oid_of(col) {
                    v.insert(col.child(&idx), val);
                }
            }
            if let Some(m) = oid_of(&c.mac) {
                v.insert(m.child(&idx), Value::OctetString(mac_bytes(&arcs)));
            }
        }
    }
    v
}

/// Binds every agent's socket; returns their addresses.
pub async fn bind(cfg: &SimConfig) -> std::io::Result<Vec<Arc<UdpSocket>>> {
    let mut out = Vec::with_capacity(cfg.count);
    for i in 0..cfg.count {
        let port = if cfg.base_port == 0 {
            0
        } else {
            cfg.base_port
                .checked_add(u16::try_from(i).unwrap_or(u16::MAX))
                .ok_or_else(|| std::io::Error::other("too many agents for the port range"))?
        };
        out.push(Arc::new(
            UdpSocket::bind(SocketAddr::new(cfg.ip, port)).await?,
        ));
    }
    Ok(out)
}

/// Serves the agents until `stop`.
pub async fn run(
    profile: Arc<Profile>,
    cfg: SimConfig,
    sockets: Vec<Arc<UdpSocket>>,
    stop: CancellationToken,
) {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(sockets.len());
    for (n, sock) in sockets.into_iter().enumerate() {
        let (profile, cfg, stop) = (profile.clone(), cfg.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let n = n as u64;
            let mut buf = vec![0u8; 65_535];
            let mut cached: Option<(u64, MibView)> = None;
            loop {
                let (len, from) = tokio::select! {
                    _ = stop.cancelled() => return,
                    r = sock.recv_from(&mut buf) => match r { Ok(x) => x, Err(_) => continue },
                };
                let elapsed = started.elapsed();
                let step = elapsed.as_millis() as u64 / cfg.period.as_millis().max(1) as u64;
                let fresh = !matches!(&cached, Some((s, _)) if *s == step);
                if fresh {
                    let ticks = u32::try_from(elapsed.as_millis() / 10)
                        .unwrap_or(u32::MAX)
                        .wrapping_add((n as u32) * 997);
                    cached = Some((step, build_view(&profile, &cfg, n, step, ticks)));
                }
                let Some((_, view)) = &cached else { continue };
                let Some(req) = buf.get(..len) else { continue };
                if let Some(resp) = respond(view, cfg.community.as_bytes(), req) {
                    let _ = sock.send_to(&resp, from).await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
