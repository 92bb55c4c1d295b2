//! Trap and Inform decoding (v1, v2c, v3 through the codec crate) and the
//! receiver: a UDP socket whose packets become events when they come from
//! a known AP or controller, and are counted and dropped otherwise.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use snmp2::{v3, MessageType, Pdu};

/// The codec's SNMPv3 USM user (for trap users).
pub use snmp2::v3::Security as V3Security;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::ber;
use super::client::SnmpStats;
use super::events::{EventRecord, EventSink};
use super::oid::Oid;
use super::value::Value;
use crate::profiles::Profiles;

/// snmpTrapOID.0 and sysUpTime.0 (RFC 3416 section 4.2.6).
pub const SNMP_TRAP_OID: &str = "1.3.6.1.6.3.1.1.4.1.0";
pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
/// snmpTraps: coldStart .1, warmStart .2, linkDown .3, linkUp .4,
/// authenticationFailure .5 (RFC 3418 / RFC 2863).
pub const SNMP_TRAPS: &str = "1.3.6.1.6.3.1.1.5";
/// Varbinds kept per trap; the rest is ignored.
pub const MAX_VARBINDS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrapError {
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("not a trap or inform: {0}")]
    NotATrap(String),
    #[error("SNMPv3 message from no configured user (or bad keys): {0}")]
    Auth(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    pub version: &'static str,
    pub community: Option<Vec<u8>>,
    pub user: Option<String>,
    /// snmpTrapOID (v1 traps mapped as RFC 3584 section 3.1 says).
    pub trap_oid: Oid,
    pub uptime: Option<u32>,
    /// The varbinds after sysUpTime and snmpTrapOID.
    pub varbinds: Vec<(Oid, Value)>,
    /// Set for v2c Informs, which want a Response with this id.
    pub inform_request_id: Option<i32>,
}

fn std_oid(s: &str) -> Oid {
    Oid::parse(s).unwrap_or_default()
}

/// Decodes one datagram. `users` are the v3 users traps may come from
/// (keys are localised with the sender's engine id from the packet).
pub fn decode(bytes: &[u8], users: &[v3::Security]) -> Result<Trap, TrapError> {
    decode_with(bytes, users, &mut Vec::new())
}

/// Localised v3 keys kept per sender engine, at most this many.
pub const MAX_LEARNED: usize = 256;

/// As [`decode`], trying `learned` first: users whose keys are already
/// localised for a sender's engine, so a known sender costs no RFC 3414
/// password-to-key derivation (about a megabyte of hashing). A user that
/// verifies a trap from a new engine is added to `learned`.
pub fn decode_with(
    bytes: &[u8],
    users: &[v3::Security],
    learned: &mut Vec<v3::Security>,
) -> Result<Trap, TrapError> {
    match Pdu::from_bytes(bytes) {
        Ok(pdu) => from_pdu(&pdu, "v?", None),
        Err(snmp2::Error::AuthFailure(v3::AuthErrorKind::SecurityNotProvided)) => {
            let mut last = String::from("no SNMPv3 trap users configured");
            // The codec writes into the packet while checking it, so each
            // attempt gets a fresh copy.
            for known in learned.iter() {
                let copy = bytes.to_vec();
                let mut s = known.clone();
                let user = String::from_utf8_lossy(s.username()).into_owned();
                if let Ok(pdu) = Pdu::from_bytes_with_security(&copy, Some(&mut s)) {
                    return from_pdu(&pdu, "v3", Some(user));
                }
            }
            for sec in users {
                let copy = bytes.to_vec();
                // Boots preset to 1 so that senders reporting boots 0 still verify.
                let mut s = sec.clone().with_engine_boots_and_time(1, 0);
                let user = String::from_utf8_lossy(s.username()).into_owned();
                let outcome = match Pdu::from_bytes_with_security(&copy, Some(&mut s)) {
                    Ok(pdu) => Ok(from_pdu(&pdu, "v3", Some(user))),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(trap) => {
                        if trap.is_ok() && learned.len() < MAX_LEARNED {
                            learned.push(s);
                        }
                        return trap;
                    }
                    Err(e) => last = e,
                }
            }
            Err(TrapError::Auth(last))
        }
        Err(e) => Err(TrapError::Malformed(e.to_string())),
    }
}

fn from_pdu(pdu: &Pdu<'_>, v: &'static str, user: Option<String>) -> Result<Trap, TrapError> {
    let version = match (v, pdu.version()) {
        ("v3", _) => "v3",
        (_, Ok(snmp2::Version::V1)) => "v1",
        (_, Ok(snmp2::Version::V2C)) => "v2c",
        (_, Ok(snmp2::Version::V3)) => "v3",
        (_, Err(e)) => return Err(TrapError::Malformed(e.to_string())),
    };
    let community = (version != "v3").then(|| pdu.community.to_vec());
    let mut all: Vec<(Oid, Value)> = Vec::new();
    for (name, val) in pdu.varbinds.clone().take(MAX_VARBINDS + 2) {
        let o = Oid::from_wire(&name)
            .ok_or_else(|| TrapError::Malformed("OID arc too large".into()))?;
        all.push((o, Value::from_wire(&val)));
    }
    match pdu.message_type {
        MessageType::TrapV1 => {
            let info = pdu
                .v1_trap_info
                .as_ref()
                .ok_or_else(|| TrapError::Malformed("v1 trap without header".into()))?;
            let trap_oid = match info.generic_trap {
                g @ 0..=5 => std_oid(SNMP_TRAPS).child(&[u32::try_from(g + 1).unwrap_or(1)]),
                6 => {
                    let ent = Oid::from_wire(&info.enterprise)
                        .ok_or_else(|| TrapError::Malformed("enterprise OID".into()))?;
                    let specific = u32::try_from(info.specific_trap)
                        .map_err(|_| TrapError::Malformed("specific-trap out of range".into()))?;
                    ent.child(&[0, specific])
                }
                g => return Err(TrapError::Malformed(format!("generic-trap {g}"))),
            };
            all.truncate(MAX_VARBINDS);
            Ok(Trap {
                version,
                community,
                user,
                trap_oid,
                uptime: Some(info.timestamp),
                varbinds: all,
                inform_request_id: None,
            })
        }
        MessageType::Trap | MessageType::InformRequest => {
            let uptime_oid = std_oid(SYS_UPTIME);
            let trap_oid_oid = std_oid(SNMP_TRAP_OID);
            let uptime = all
                .iter()
                .find(|(o, _)| *o == uptime_oid)
                .and_then(|(_, v)| match v {
                    Value::Timeticks(t) => Some(*t),
                    _ => None,
                });
            let trap_oid = all
                .iter()
                .find(|(o, _)| *o == trap_oid_oid)
                .and_then(|(_, v)| match v {
                    Value::ObjectId(o) => Some(o.clone()),
                    _ => None,
                })
                .ok_or_else(|| TrapError::Malformed("no snmpTrapOID.0 varbind".into()))?;
            let mut rest: Vec<(Oid, Value)> = all
                .into_iter()
                .filter(|(o, _)| *o != uptime_oid && *o != trap_oid_oid)
                .collect();
            rest.truncate(MAX_VARBINDS);
            Ok(Trap {
                version,
                community,
                user,
                trap_oid,
                uptime,
                varbinds: rest,
                inform_request_id: (pdu.message_type == MessageType::InformRequest)
                    .then_some(pdu.req_id),
            })
        }
        other => Err(TrapError::NotATrap(format!("{other:?}"))),
    }
}

/// Standard names for the generic traps.
pub fn standard_name(oid: &Oid) -> Option<&'static str> {
    let idx = oid.suffix(&std_oid(SNMP_TRAPS))?;
    Some(match idx {
        [1] => "coldStart",
        [2] => "warmStart",
        [3] => "linkDown",
        [4] => "linkUp",
        [5] => "authenticationFailure",
        _ => return None,
    })
}

/// A known sender: an AP or controller in the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub profile: String,
    /// v1/v2c community it polls with; traps must carry the same.
    pub community: Option<String>,
}

/// Address -> inventory entry, replaced whole by the scheduler.
#[derive(Debug, Default)]
pub struct Sources {
    map: RwLock<HashMap<IpAddr, Source>>,
}

impl Sources {
    pub fn replace(&self, map: HashMap<IpAddr, Source>) {
        if let Ok(mut g) = self.map.write() {
            *g = map;
        }
    }

    pub fn get(&self, ip: &IpAddr) -> Option<Source> {
        let ip = canonical(*ip);
        self.map.read().ok()?.get(&ip).cloned()
    }
}

/// IPv4-mapped IPv6 senders (on a dual-stack socket) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What the receiver does with one datagram (pure; the loop does the I/O).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An event, and an Inform acknowledgement to send back if any.
    Accept(Box<EventRecord>, Option<Vec<u8>>),
    Drop(&'static str),
}

pub fn handle(
    bytes: &[u8],
    from: SocketAddr,
    sources: &Sources,
    profiles: &Profiles,
    users: &[v3::Security],
    now_ms: i64,
) -> Outcome {
    handle_with(
        bytes,
        from,
        sources,
        profiles,
        users,
        &mut Vec::new(),
        now_ms,
    )
}

/// As [`handle`], with the receiver's cache of localised v3 keys.
pub fn handle_with(
    bytes: &[u8],
    from: SocketAddr,
    sources: &Sources,
    profiles: &Profiles,
    users: &[v3::Security],
    learned: &mut Vec<v3::Security>,
    now_ms: i64,
) -> Outcome {
    let Some(src) = sources.get(&from.ip()) else {
        return Outcome::Drop("unknown_source");
    };
    let trap = match decode_with(bytes, users, learned) {
        Ok(t) => t,
        Err(TrapError::Auth(_)) => return Outcome::Drop("auth"),
        Err(_) => return Outcome::Drop("malformed"),
    };
    if let Some(c) = &trap.community {
        if src.community.as_deref().map(str::as_bytes) != Some(c.as_slice()) {
            return Outcome::Drop("auth");
        }
    }
    let vendor = profiles
        .get(&src.profile)
        .and_then(|p| p.snmp.trap(&trap.trap_oid));
    let (name, severity) = match (standard_name(&trap.trap_oid), vendor) {
        (Some(n), _) => (
            n.to_string(),
            match n {
                "linkDown" | "authenticationFailure" => "warning",
                _ => "info",
            }
            .to_string(),
        ),
        (None, Some(def)) => (def.name.clone(), def.severity.clone()),
        (None, None) => (trap.trap_oid.to_string(), "info".to_string()),
    };
    let details: Vec<String> = trap
        .varbinds
        .iter()
        .take(8)
        .filter_map(|(o, v)| v.as_text().map(|t| format!("{o}={t}")))
        .collect();
    let mut message = format!(
        "{name} trap ({}) from {} ({})",
        trap.trap_oid, src.name, trap.version
    );
    if !details.is_empty() {
        message.push_str(": ");
        message.push_str(&details.join(", "));
    }
    let ack = match (trap.inform_request_id, &trap.community) {
        (Some(id), Some(c)) => {
            // The Response repeats the Inform's varbinds (RFC 3416 4.2.7).
            let mut list = Vec::with_capacity(trap.varbinds.len() + 2);
            if let Some(t) = trap.uptime {
                list.push((std_oid(SYS_UPTIME), Value::Timeticks(t)));
            }
            list.push((
                std_oid(SNMP_TRAP_OID),
                Value::ObjectId(trap.trap_oid.clone()),
            ));
            list.extend(trap.varbinds.iter().cloned());
            Some(ber::message(
                1,
                c,
                ber::PDU_RESPONSE,
                i64::from(id),
                0,
                0,
                &list,
            ))
        }
        _ => None,
    };
    Outcome::Accept(
        Box::new(EventRecord {
            at_ms: now_ms,
            kind: "trap".into(),
            source: src.name,
            severity,
            message,
        }),
        ack,
    )
}

pub struct TrapReceiver {
    pub socket: Arc<UdpSocket>,
    pub sources: Arc<Sources>,
    pub profiles: Arc<Profiles>,
    pub users: Vec<v3::Security>,
    pub stats: Arc<SnmpStats>,
    pub events: EventSink,
}

impl TrapReceiver {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut buf = vec![0u8; 65_535];
        let mut learned: Vec<v3::Security> = Vec::new();
        let mut last_unknown_log = std::time::Instant::now() - std::time::Duration::from_secs(60);
        loop {
            let (n, from) = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!(error = %e, "trap socket receive error");
                        continue;
                    }
                },
            };
            let Some(bytes) = buf.get(..n) else { continue };
            let now = crate::clock::now_ms();
            match handle_with(
                bytes,
                from,
                &self.sources,
                &self.profiles,
                &self.users,
                &mut learned,
                now,
            ) {
                Outcome::Accept(ev, ack) => {
                    self.stats.traps_received.inc();
                    if !self.events.emit(*ev) {
                        self.stats.traps_dropped.inc();
                    }
                    if let Some(ack) = ack {
                        let _ = self.socket.send_to(&ack, from).await;
                    }
                }
                Outcome::Drop(reason) => {
                    let counter = match reason {
                        "unknown_source" => &self.stats.traps_unknown_source,
                        _ => &self.stats.traps_malformed,
                    };
                    counter.inc();
                    if last_unknown_log.elapsed().as_secs() >= 10 {
                        last_unknown_log = std::time::Instant::now();
                        tracing::warn!(from = %from, reason, "dropped SNMP trap (rate-limited log)");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn v2_trap(tag: u8, community: &[u8], trap: &str) -> Vec<u8> {
        ber::message(
            1,
            community,
            tag,
            42,
            0,
            0,
            &[
                (o(SYS_UPTIME), Value::Timeticks(100)),
                (o(SNMP_TRAP_OID), Value::ObjectId(o(trap))),
                (o("1.3.6.1.2.1.2.2.1.1.3"), Value::Integer(3)),
            ],
        )
    }

    #[test]
    fn decodes_v2c_traps_and_informs() {
        let t = decode(
            &v2_trap(ber::PDU_TRAP_V2, b"public", "1.3.6.1.6.3.1.1.5.3"),
            &[],
        )
        .unwrap();
        assert_eq!(t.version, "v2c");
        assert_eq!(standard_name(&t.trap_oid), Some("linkDown"));
        assert_eq!(t.uptime, Some(100));
        assert_eq!(t.varbinds.len(), 1);
        assert_eq!(t.inform_request_id, None);
        let i = decode(
            &v2_trap(ber::PDU_INFORM, b"public", "1.3.6.1.6.3.1.1.5.1"),
            &[],
        )
        .unwrap();
        assert_eq!(i.inform_request_id, Some(42));
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        let good = v2_trap(ber::PDU_TRAP_V2, b"public", "1.3.6.1.6.3.1.1.5.1");
        // Every truncation, and every single-byte corruption.
        for n in 0..good.len() {
            let _ = decode(&good[..n], &[]);
        }
        for i in 0..good.len() {
            for b in [0u8, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = decode(&bad, &[]);
            }
        }
        // Huge length, no snmpTrapOID, a GET instead of a trap.
        assert!(decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 2, 1, 1], &[]).is_err());
        let no_oid = ber::message(1, b"p", ber::PDU_TRAP_V2, 1, 0, 0, &[]);
        assert!(matches!(decode(&no_oid, &[]), Err(TrapError::Malformed(_))));
        let get = ber::message(1, b"p", ber::PDU_GET, 1, 0, 0, &[]);
        assert!(matches!(decode(&get, &[]), Err(TrapError::NotATrap(_))));
        // Many varbinds are cut.
        let many: Vec<(Oid, Value)> =
            std::iter::once((o(SNMP_TRAP_OID), Value::ObjectId(o("1.3.6.1.6.3.1.1.5.1"))))
                .chain((0..500).map(|i| (o(&format!("1.3.6.1.9.{i}")), Value::Integer(i))))
                .collect();
        let big = ber::message(1, b"p", ber::PDU_TRAP_V2, 1, 0, 0, &many);
        assert_eq!(decode(&big, &[]).unwrap().varbinds.len(), MAX_VARBINDS);
    }

    #[test]
    fn unknown_sources_and_wrong_communities_are_dropped() {
        let sources = Sources::default();
        let ap: SocketAddr = "192.0.2.10:5000".parse().unwrap();
        sources.replace(HashMap::from([(
            ap.ip(),
            Source {
                name: "ap-1".into(),
                profile: "generic".into(),
                community: Some("public".into()),
            },
        )]));
        let profiles = Profiles::builtin_generic();
        let pkt = v2_trap(ber::PDU_INFORM, b"public", "1.3.6.1.6.3.1.1.5.1");
        let other: SocketAddr = "192.0.2.11:5000".parse().unwrap();
        assert_eq!(
            handle(&pkt, other, &sources, &profiles, &[], 0),
            Outcome::Drop("unknown_source")
        );
        let wrong = v2_trap(ber::PDU_TRAP_V2, b"guess", "1.3.6.1.6.3.1.1.5.1");
        assert_eq!(
            handle(&wrong, ap, &sources, &profiles, &[], 0),
            Outcome::Drop("auth")
        );
        match handle(&pkt, ap, &sources, &profiles, &[], 5) {
            Outcome::Accept(ev, Some(ack)) => {
                assert_eq!((ev.kind.as_str(), ev.source.as_str()), ("trap", "ap-1"));
                assert!(ev.message.starts_with("coldStart trap"), "{}", ev.message);
                let resp = Pdu::from_bytes(&ack).unwrap();
                assert_eq!(
                    (resp.message_type, resp.req_id),
                    (MessageType::Response, 42)
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
