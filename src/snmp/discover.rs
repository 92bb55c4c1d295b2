//! Discovery: sweep a CIDR at a bounded rate with SNMP GET of sysObjectID,
//! sysDescr and sysName, match the answers against the profiles, and list
//! them as discovered-pending. Controllers found also list their APs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::Semaphore;

use super::client::{Client, Credentials, RequestOptions, SnmpStats};
use super::collect::{self, SYS_DESCR, SYS_NAME, SYS_OBJECT_ID};
use super::oid::Oid;
use super::value::Value;
use crate::profiles::snmp::Role;
use crate::profiles::Profiles;
use crate::store::aps::Discovered;

/// Hosts swept at most (a /16).
pub const MAX_HOSTS: usize = 65_536;

#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub port: u16,
    /// Probes started per second.
    pub rate: u32,
    pub concurrency: usize,
    pub request: RequestOptions,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            port: 161,
            rate: 100,
            concurrency: 64,
            request: RequestOptions {
                timeout: Duration::from_millis(800),
                retries: 1,
                ..RequestOptions::default()
            },
        }
    }
}

/// The hosts of a network (all of them for /31, /32 and IPv6 /127+).
pub fn hosts(net: &IpNet) -> Result<Vec<IpAddr>, String> {
    let list: Vec<IpAddr> = match net {
        IpNet::V4(n) => {
            if n.prefix_len() < 16 {
                return Err(format!("{net} is larger than a /16"));
            }
            n.hosts().map(IpAddr::V4).collect()
        }
        IpNet::V6(n) => {
            if n.prefix_len() < 112 {
                return Err(format!("{net} is larger than a /112"));
            }
            n.hosts().map(IpAddr::V6).collect()
        }
    };
    if list.len() > MAX_HOSTS {
        return Err(format!("{net} has more than {MAX_HOSTS} hosts"));
    }
    Ok(list)
}

/// Probes one address; Some when an agent answered.
pub async fn probe(
    addr: SocketAddr,
    creds: &Credentials,
    profiles: &Profiles,
    opts: RequestOptions,
    stats: Arc<SnmpStats>,
) -> Option<Vec<Discovered>> {
    let mut client = Client::connect(addr, creds, opts, stats).await.ok()?;
    let oids: Vec<Oid> = [SYS_OBJECT_ID, SYS_DESCR, SYS_NAME]
        .iter()
        .filter_map(|s| Oid::parse(s).ok())
        .collect();
    let got = client.get(&oids).await.ok()?;
    let value = |i: usize| got.get(i).map(|(_, v)| v).filter(|v| v.is_present());
    let object_id = value(0).and_then(|v| match v {
        Value::ObjectId(o) => Some(o.to_string()),
        _ => None,
    });
    let descr = value(1).and_then(Value::as_text);
    let name = value(2).and_then(Value::as_text);
    let profile = collect::match_profile(profiles, object_id.as_deref(), descr.as_deref());
    let now = crate::clock::now_ms();
    let address = if addr.port() == 161 {
        addr.ip().to_string()
    } else {
        addr.to_string()
    };
    // The profile's own model and serial scalars make the device known by
    // serial, not only by the address it answered on.
    let identity = match profile {
        Some(p) => match client.get(&collect::system_oids(&p.snmp)).await {
            Ok(got) => collect::decode_system(&p.snmp, &got),
            Err(_) => collect::SystemInfo::default(),
        },
        None => collect::SystemInfo::default(),
    };
    let kind_of = |p: &crate::profiles::Profile| {
        match p.snmp.role {
            Role::Controller => "controller",
            Role::Ap => "ap",
        }
        .to_string()
    };
    let mut out = vec![Discovered {
        id: 0,
        address: address.clone(),
        via: "sweep".into(),
        profile: profile.map(|p| p.name.clone()),
        kind: profile.map(kind_of),
        mac: None,
        serial: identity.serial,
        sys_name: name,
        sys_descr: descr,
        sys_object_id: object_id,
        model: identity.model,
        seen_ms: now,
    }];
    if let Some(p) = profile.filter(|p| p.snmp.role == Role::Controller) {
        let cols = collect::ap_columns(&p.snmp);
        if !cols.is_empty() {
            if let Ok(walked) = client.walk(&cols).await {
                let mut dropped = 0;
                for row in collect::decode_aps(&p.snmp, &collect::join(walked), &mut dropped) {
                    out.push(Discovered {
                        id: 0,
                        kind: Some("ap".into()),
                        serial: row.serial.clone(),
                        address: row
                            .ip
                            .clone()
                            .unwrap_or_else(|| format!("{address}/{}", row.index)),
                        via: address.clone(),
                        profile: Some(p.name.clone()),
                        mac: row.mac,
                        sys_name: row.name,
                        sys_descr: None,
                        sys_object_id: None,
                        model: row.model,
                        seen_ms: now,
                    });
                }
            }
        }
    }
    Some(out)
}

/// Sweeps `net`; returns what answered (controllers' APs included).
pub async fn sweep(
    net: &IpNet,
    creds: &Credentials,
    profiles: Arc<Profiles>,
    opts: &SweepOptions,
    stats: Arc<SnmpStats>,
) -> Result<Vec<Discovered>, String> {
    let list = hosts(net)?;
    let sem = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let gap = Duration::from_secs(1) / opts.rate.max(1);
    let mut tick = tokio::time::interval(gap);
    let mut tasks = Vec::with_capacity(list.len());
    for ip in list {
        tick.tick().await;
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let (creds, profiles, stats, req) =
            (creds.clone(), profiles.clone(), stats.clone(), opts.request);
        let addr = SocketAddr::new(ip, opts.port);
        tasks.push(tokio::spawn(async move {
            let r = probe(addr, &creds, &profiles, req, stats).await;
            drop(permit);
            r
        }));
    }
    let mut found = Vec::new();
    for t in tasks {
        if let Ok(Some(mut d)) = t.await {
            found.append(&mut d);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_are_bounded() {
        assert_eq!(hosts(&"10.0.0.0/30".parse().unwrap()).unwrap().len(), 2);
        assert_eq!(hosts(&"127.0.0.1/32".parse().unwrap()).unwrap().len(), 1);
        assert!(hosts(&"10.0.0.0/8".parse().unwrap()).is_err());
        assert_eq!(
            hosts(&"10.0.0.0/16".parse().unwrap()).unwrap().len(),
            65_534
        );
    }
}
