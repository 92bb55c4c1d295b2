//! The `ap`, `discover`, `event` and `alert` commands. Secrets
//! (communities, v3 passwords) are read from standard input, never argv.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::read_stdin_lines;
use crate::app;
use crate::config::Config;
use crate::domain::{AuthProtocol, PrivProtocol};
use crate::profiles::snmp::Role;
use crate::profiles::{Profiles, AUTO_PROFILE, GENERIC_PROFILE};
use crate::snmp::client::SnmpStats;
use crate::snmp::collect;
use crate::snmp::discover::{self, SweepOptions};
use crate::store::aps::{Ap, ApKind, NewAp, SnmpSecret};
use crate::store::Store;

#[derive(Args, Debug, Default, Clone)]
pub struct ApFields {
    /// HOST or HOST:PORT of the SNMP agent (port 161 by default).
    #[arg(long)]
    pub address: Option<String>,
    /// Vendor profile (from ap-profiles/). Without it, `ap add` asks the
    /// device (sysObjectID, sysDescr) and picks the profile that matches.
    #[arg(long)]
    pub profile: Option<String>,
    /// `ap` or `controller`; the profile says which, this overrides it.
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub mac: Option<String>,
    /// The controller that manages this AP (its status then comes from there).
    #[arg(long)]
    pub controller: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub serial: Option<String>,
    #[arg(long)]
    pub firmware: Option<String>,
    #[arg(long)]
    pub building: Option<String>,
    #[arg(long)]
    pub floor: Option<String>,
    #[arg(long)]
    pub room: Option<String>,
    /// Position on the floor plan.
    #[arg(long)]
    pub x: Option<f64>,
    #[arg(long)]
    pub y: Option<f64>,
    /// Tag (repeatable; on edit, replaces the tags).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// SNMPv2c community, read from standard input.
    #[arg(long)]
    pub community_stdin: bool,
    /// SNMPv1 instead of v2c (with --community-stdin).
    #[arg(long)]
    pub v1: bool,
    /// SNMPv3 user; passwords from standard input (auth, then priv, one per line).
    #[arg(long)]
    pub v3_user: Option<String>,
    /// md5, sha1, sha224, sha256, sha384, sha512.
    #[arg(long, default_value = "sha256")]
    pub v3_auth: String,
    /// des, aes128, aes192, aes256, or none.
    #[arg(long, default_value = "aes128")]
    pub v3_priv: String,
    /// Not polled directly (inventory only, or through its controller).
    #[arg(long)]
    pub no_snmp: bool,
}

#[derive(Subcommand, Debug)]
pub enum ApCmd {
    /// Add an AP or controller.
    Add {
        name: String,
        #[command(flatten)]
        fields: Box<ApFields>,
    },
    /// Change fields of an AP (only those given).
    Edit {
        name: String,
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        fields: Box<ApFields>,
    },
    Remove {
        name: String,
    },
    /// The inventory with status, last poll and polled identity.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One AP with its latest radio and client samples.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Import from CSV (header row; see `ap export`). Any bad row imports nothing.
    Import {
        file: PathBuf,
    },
    /// Export as CSV. Credentials are left out unless --with-secrets.
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
        #[arg(long)]
        with_secrets: bool,
    },
    /// Devices found by `discover` or listed by controllers, not yet adopted.
    Discovered {
        #[arg(long)]
        json: bool,
    },
    /// Take a discovered device into the inventory with what was learned
    /// (profile, kind, MAC, model, serial, its controller).
    Adopt {
        /// The device's number (`ap discovered`) or address.
        target: String,
        /// The name in the inventory (default: the device's own name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: Box<ApFields>,
    },
    /// What a profile reads from a recorded walk (`snmpwalk -On` output or
    /// `.snmprec`): detected profile, APs, radios, VAPs, clients.
    Test {
        /// The walk file.
        #[arg(long)]
        walk: PathBuf,
        /// The profile to use (default: detected from the walk).
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// Network to sweep, e.g. 10.1.2.0/24 (at most a /16).
    pub cidr: String,
    #[arg(long, default_value_t = 161)]
    pub port: u16,
    /// Probes per second.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// v2c community to try, from standard input.
    #[arg(long)]
    pub community_stdin: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum EventCmd {
    /// Newest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertCmd {
    List {
        /// Only alerts not yet cleared.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

/// Credentials named by the flags, with secrets from standard input.
fn secret_from(f: &ApFields) -> Result<Option<SnmpSecret>> {
    let chosen =
        usize::from(f.community_stdin) + usize::from(f.v3_user.is_some()) + usize::from(f.no_snmp);
    if chosen > 1 {
        bail!("give only one of --community-stdin, --v3-user and --no-snmp");
    }
    if f.no_snmp {
        return Ok(Some(SnmpSecret::None));
    }
    if f.community_stdin {
        let c = read_stdin_lines(1, "community")?.remove(0);
        if c.is_empty() {
            bail!("the community on standard input is empty");
        }
        return Ok(Some(if f.v1 {
            SnmpSecret::V1 { community: c }
        } else {
            SnmpSecret::V2c { community: c }
        }));
    }
    if let Some(user) = &f.v3_user {
        let auth = AuthProtocol::parse(&f.v3_auth)
            .with_context(|| format!("--v3-auth {:?} is not a known protocol", f.v3_auth))?;
        let privacy =
            if f.v3_priv == "none" {
                None
            } else {
                Some(PrivProtocol::parse(&f.v3_priv).with_context(|| {
                    format!("--v3-priv {:?} is not a known protocol", f.v3_priv)
                })?)
            };
        let lines = read_stdin_lines(if privacy.is_some() { 2 } else { 1 }, "SNMPv3 passwords")?;
        for l in &lines {
            if l.len() < 8 {
                bail!("SNMPv3 passwords must be at least 8 characters (RFC 3414)");
            }
        }
        return Ok(Some(SnmpSecret::V3 {
            user: user.clone(),
            auth_protocol: Some(auth.name().into()),
            auth_password: lines.first().cloned(),
            priv_protocol: privacy.map(|p| p.name().to_string()),
            priv_password: lines.get(1).cloned(),
        }));
    }
    Ok(None)
}

fn apply(spec: &mut NewAp, f: &ApFields) -> Result<()> {
    let set = |slot: &mut Option<String>, v: &Option<String>| {
        if let Some(v) = v {
            *slot = (!v.is_empty()).then(|| v.clone());
        }
    };
    if let Some(a) = &f.address {
        spec.address = a.clone();
    }
    if let Some(p) = &f.profile {
        spec.profile = p.clone();
    }
    if let Some(k) = &f.kind {
        spec.kind =
            ApKind::parse(k).with_context(|| format!("--kind {k:?} must be ap or controller"))?;
    }
    set(&mut spec.mac, &f.mac);
    set(&mut spec.controller, &f.controller);
    set(&mut spec.model, &f.model);
    set(&mut spec.serial, &f.serial);
    set(&mut spec.firmware, &f.firmware);
    set(&mut spec.building, &f.building);
    set(&mut spec.floor, &f.floor);
    set(&mut spec.room, &f.room);
    if f.x.is_some() {
        spec.x = f.x;
    }
    if f.y.is_some() {
        spec.y = f.y;
    }
    if !f.tags.is_empty() {
        spec.tags = f.tags.clone();
    }
    if let Some(n) = &f.notes {
        spec.notes = n.clone();
    }
    if let Some(s) = secret_from(f)? {
        spec.snmp = s;
    }
    Ok(())
}

/// Asks a device what it is and picks the profile: Ok(None) when it
/// answered and no profile matches, Err when it did not answer.
async fn detect_device(
    profiles: &Profiles,
    spec: &NewAp,
) -> std::result::Result<Option<(String, String)>, String> {
    let addr = crate::snmp::scheduler::resolve(&spec.address)
        .await
        .ok_or_else(|| format!("cannot resolve {}", spec.address))?;
    let creds = crate::snmp::credentials_of(&spec.snmp).ok_or("no SNMP credentials")?;
    let opts = crate::snmp::client::RequestOptions {
        timeout: std::time::Duration::from_millis(1500),
        retries: 1,
        ..Default::default()
    };
    let mut client =
        crate::snmp::client::Client::connect(addr, &creds, opts, Arc::new(SnmpStats::default()))
            .await
            .map_err(|e| e.to_string())?;
    let oids: Vec<crate::snmp::oid::Oid> = [collect::SYS_OBJECT_ID, collect::SYS_DESCR]
        .iter()
        .filter_map(|o| crate::snmp::oid::Oid::parse(o).ok())
        .collect();
    let got = client.get(&oids).await.map_err(|e| e.to_string())?;
    let sys = collect::decode_system(&Default::default(), &got);
    Ok(
        collect::detect(profiles, sys.object_id.as_deref(), sys.descr.as_deref())
            .map(|(p, why)| (p.name.clone(), why)),
    )
}

/// `controller` when the profile's devices list APs, else `ap`.
fn kind_of(profiles: &Profiles, profile: &str) -> ApKind {
    match profiles.get(profile).map(|p| p.snmp.role) {
        Some(Role::Controller) => ApKind::Controller,
        _ => ApKind::Ap,
    }
}

fn check_profile(config: &Config, spec: &NewAp) -> Result<()> {
    let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if spec.profile != AUTO_PROFILE && profiles.get(&spec.profile).is_none() {
        bail!(
            "unknown profile {:?}; known: {}",
            spec.profile,
            profiles.names().join(", ")
        );
    }
    Ok(())
}

fn fmt_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn ap_json(a: &Ap) -> serde_json::Value {
    let s = &a.spec;
    serde_json::json!({
        "name": s.name, "kind": s.kind.as_str(), "address": s.address, "profile": s.profile,
        "mac": s.mac, "controller": s.controller, "model": s.model, "serial": s.serial,
        "firmware": s.firmware, "building": s.building, "floor": s.floor, "room": s.room,
        "x": s.x, "y": s.y, "tags": s.tags, "notes": s.notes, "snmp_version": s.snmp.version(),
        "status": a.status, "failures": a.failures,
        "last_poll": fmt_ms(a.last_poll_ms), "last_poll_ms": a.last_poll_ms,
        "last_ok_ms": a.last_ok_ms, "last_error": a.last_error,
        "polled": {
            "sys_name": a.sys_name, "sys_descr": a.sys_descr, "sys_object_id": a.sys_object_id,
            "uptime_s": a.uptime_ticks.map(|t| t / 100), "model": a.polled_model,
            "serial": a.polled_serial, "firmware": a.polled_firmware, "clients": a.clients,
        },
    })
}

pub async fn ap_cmd(store: &Store, config: &Config, cmd: ApCmd) -> Result<()> {
    match cmd {
        ApCmd::Add { name, fields } => {
            let Some(address) = fields.address.clone() else {
                bail!("give the agent's address with --address HOST[:PORT]");
            };
            let mut spec = NewAp {
                name: name.clone(),
                address,
                profile: GENERIC_PROFILE.into(),
                ..NewAp::default()
            };
            apply(&mut spec, &fields)?;
            if spec.snmp == SnmpSecret::None && !fields.no_snmp {
                bail!("give SNMP credentials: --community-stdin, --v3-user USER (passwords on stdin), or --no-snmp");
            }
            let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
            if fields.profile.is_none() && spec.snmp != SnmpSecret::None {
                match detect_device(&profiles, &spec).await {
                    Ok(Some((p, why))) => {
                        println!("detected profile {p} ({why})");
                        spec.profile = p;
                    }
                    Ok(None) => println!("no profile matches this device; using generic"),
                    Err(e) => {
                        println!(
                            "cannot reach {} now ({e}); the profile is detected on the first poll",
                            spec.address
                        );
                        spec.profile = AUTO_PROFILE.into();
                    }
                }
            }
            if fields.kind.is_none() {
                spec.kind = kind_of(&profiles, &spec.profile);
            }
            check_profile(config, &spec)?;
            let ap = store
                .aps()
                .add(&spec)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "added {} {} ({}, {})",
                ap.spec.kind.as_str(),
                ap.spec.name,
                ap.spec.address,
                ap.spec.snmp.version()
            );
        }
        ApCmd::Edit {
            name,
            rename,
            fields,
        } => {
            let Some(ap) = store.aps().get(&name).await? else {
                bail!("no AP {name}");
            };
            let mut spec = ap.spec.clone();
            apply(&mut spec, &fields)?;
            if let Some(n) = rename {
                spec.name = n;
            }
            check_profile(config, &spec)?;
            let ap = store
                .aps()
                .update(&name, &spec)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("updated {}", ap.spec.name);
        }
        ApCmd::Remove { name } => {
            if !store.aps().remove(&name).await? {
                bail!("no AP {name}");
            }
            println!("removed {name}");
        }
        ApCmd::List { json } => {
            let list = store.aps().list().await?;
            if json {
                let rows: Vec<_> = list.iter().map(ap_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<20} {:<10} {:<22} {:<12} {:<8} {:<20} {:<20} {:<16}",
                    "NAME",
                    "KIND",
                    "ADDRESS",
                    "PROFILE",
                    "STATUS",
                    "LAST POLL",
                    "SYSNAME",
                    "FIRMWARE"
                );
                for a in list {
                    println!(
                        "{:<20} {:<10} {:<22} {:<12} {:<8} {:<20} {:<20} {:<16}",
                        a.spec.name,
                        a.spec.kind.as_str(),
                        a.spec.address,
                        a.spec.profile,
                        a.status,
                        fmt_ms(a.last_poll_ms),
                        a.sys_name.clone().unwrap_or_default(),
                        a.polled_firmware
                            .clone()
                            .or(a.spec.firmware.clone())
                            .unwrap_or_default()
                    );
                }
            }
        }
        ApCmd::Show { name, json } => {
            let Some(ap) = store.aps().get(&name).await? else {
                bail!("no AP {name}");
            };
            let radios = store.samples().latest_radios(ap.id).await?;
            let since = ap.last_ok_ms.unwrap_or(0);
            let mut clients = store.samples().clients(ap.id, since).await?;
            // The latest poll's clients only (a poll may land between the
            // two reads).
            if let Some(newest) = clients.iter().map(|(at, _)| *at).max() {
                clients.retain(|(at, _)| *at == newest);
            }
            let vaps: serde_json::Value = ap
                .vaps
                .as_deref()
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or(serde_json::Value::Null);
            if !json {
                print!("{}", show_text(&ap, &radios, &vaps, &clients));
                return Ok(());
            }
            let mut v = ap_json(&ap);
            v["radios"] = serde_json::json!(radios
                .iter()
                .map(|r| serde_json::json!({
                    "radio": r.radio, "channel": r.channel, "tx_power": r.tx_power,
                    "noise": r.noise, "utilization": r.utilization, "clients": r.clients,
                }))
                .collect::<Vec<_>>());
            v["vaps"] = vaps;
            v["clients"] = serde_json::json!(clients
                .iter()
                .map(|(at, c)| serde_json::json!({
                    "at_ms": at, "mac": c.mac, "ip": c.ip, "user": c.username, "ap": c.ap,
                    "ssid": c.ssid, "rssi": c.rssi, "snr": c.snr,
                }))
                .collect::<Vec<_>>());
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ApCmd::Adopt {
            target,
            name,
            fields,
        } => adopt(store, config, &target, name, &fields).await?,
        ApCmd::Test { .. } => bail!("`ap test` runs without the store (see cli::walks)"),
        ApCmd::Import { file } => import(store, config, &file).await?,
        ApCmd::Export {
            output,
            with_secrets,
        } => export(store, output.as_deref(), with_secrets).await?,
        ApCmd::Discovered { json } => {
            let list = store.aps().discovered().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<5} {:<24} {:<14} {:<12} {:<18} {:<20} MODEL",
                    "ID", "ADDRESS", "VIA", "PROFILE", "MAC", "NAME"
                );
                for d in list {
                    println!(
                        "{:<5} {:<24} {:<14} {:<12} {:<18} {:<20} {}",
                        d.id,
                        d.address,
                        d.via,
                        d.profile.unwrap_or_default(),
                        d.mac.unwrap_or_default(),
                        d.sys_name.unwrap_or_default(),
                        d.model.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// A value or `unknown` (never 0 for a value nobody could read).
pub fn or_unknown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

fn show_text(
    ap: &Ap,
    radios: &[crate::store::samples::RadioSample],
    vaps: &serde_json::Value,
    clients: &[(i64, crate::store::samples::ClientSample)],
) -> String {
    use std::fmt::Write;
    let s = &ap.spec;
    let mut out = String::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "{} ({}, profile {})",
        s.name,
        s.kind.as_str(),
        s.profile
    );
    let _ = writeln!(
        out,
        "  status     {} (last poll {})",
        ap.status,
        fmt_ms(ap.last_poll_ms)
    );
    if let Some(e) = &ap.last_error {
        let _ = writeln!(out, "  last error {e}");
    }
    let _ = writeln!(out, "  address    {}", s.address);
    if let Some(c) = &s.controller {
        let _ = writeln!(out, "  controller {c}");
    }
    let _ = writeln!(out, "  mac        {}", text(&s.mac));
    let _ = writeln!(
        out,
        "  model      {}",
        text(&ap.polled_model.clone().or(s.model.clone()))
    );
    let _ = writeln!(
        out,
        "  serial     {}",
        text(&ap.polled_serial.clone().or(s.serial.clone()))
    );
    let _ = writeln!(
        out,
        "  firmware   {}",
        text(&ap.polled_firmware.clone().or(s.firmware.clone()))
    );
    let _ = writeln!(
        out,
        "  uptime     {}",
        or_unknown(ap.uptime_ticks.map(|t| format!("{} s", t / 100)))
    );
    let _ = writeln!(out, "  clients    {}", or_unknown(ap.clients));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<28} {:>7} {:>8} {:>9} {:>7} {:>8}",
        "RADIO", "CHANNEL", "TX dBm", "NOISE dBm", "UTIL %", "CLIENTS"
    );
    for r in radios {
        let _ = writeln!(
            out,
            "{:<28} {:>7} {:>8} {:>9} {:>7} {:>8}",
            r.radio,
            or_unknown(r.channel),
            or_unknown(r.tx_power),
            or_unknown(r.noise),
            or_unknown(r.utilization),
            or_unknown(r.clients)
        );
    }
    if radios.is_empty() {
        let _ = writeln!(out, "(no radio samples)");
    }
    if let Some(list) = vaps.as_array() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<20} {:<8} {:<24} {:<18} {:>8}",
            "AP", "RADIO", "SSID", "BSSID", "CLIENTS"
        );
        for v in list {
            let t = |k: &str| match &v[k] {
                serde_json::Value::Null => "-".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let clients = if v["clients"].is_null() {
                "unknown".to_string()
            } else {
                t("clients")
            };
            let _ = writeln!(
                out,
                "{:<20} {:<8} {:<24} {:<18} {:>8}",
                t("ap"),
                t("radio"),
                t("ssid"),
                t("bssid"),
                clients
            );
        }
    }
    if !clients.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<18} {:<15} {:<16} {:<20} {:>5} {:>5}",
            "CLIENT", "IP", "USER", "SSID", "RSSI", "SNR"
        );
        for (_, c) in clients {
            let _ = writeln!(
                out,
                "{:<18} {:<15} {:<16} {:<20} {:>5} {:>5}",
                text(&c.mac),
                text(&c.ip),
                text(&c.username),
                text(&c.ssid),
                or_unknown(c.rssi),
                or_unknown(c.snr)
            );
        }
    }
    out
}

/// `ap adopt`: a discovered device into the inventory.
async fn adopt(
    store: &Store,
    config: &Config,
    target: &str,
    name: Option<String>,
    fields: &ApFields,
) -> Result<()> {
    let Some(d) = store.aps().find_discovered(target).await? else {
        bail!("no discovered device {target:?}; see `portico ap discovered`");
    };
    let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = name
        .or_else(|| d.sys_name.clone().filter(|n| !n.trim().is_empty()))
        .or_else(|| d.mac.as_ref().map(|m| format!("ap-{}", m.replace(':', ""))))
        .unwrap_or_else(|| d.address.clone());
    let mut spec = NewAp {
        name: name.trim().to_string(),
        profile: d.profile.clone().unwrap_or_else(|| GENERIC_PROFILE.into()),
        mac: d.mac.clone(),
        model: d.model.clone(),
        serial: d.serial.clone(),
        ..NewAp::default()
    };
    spec.kind = match d.kind.as_deref() {
        Some(k) => ApKind::parse(k).unwrap_or(ApKind::Ap),
        None => kind_of(&profiles, &spec.profile),
    };
    if d.via == "sweep" {
        spec.address = d.address.clone();
    } else {
        // Listed by a controller: polled through it, at the address it gave.
        let Some(controller) = store.aps().find_by_name_or_address(&d.via).await? else {
            bail!(
                "the controller {} that listed {target} is not in the inventory: adopt or add it first",
                d.via
            );
        };
        spec.controller = Some(controller.spec.name.clone());
        spec.kind = ApKind::Ap;
        spec.address = if crate::store::aps::check_address(&d.address).is_ok() {
            d.address.clone()
        } else {
            controller.spec.address.clone()
        };
    }
    apply(&mut spec, fields)?;
    if d.via == "sweep" && spec.snmp == SnmpSecret::None && !fields.no_snmp {
        bail!("give SNMP credentials (the sweep's community is not kept): --community-stdin, --v3-user USER, or --no-snmp");
    }
    check_profile(config, &spec)?;
    let ap = store
        .aps()
        .add(&spec)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.aps().forget_discovered_id(d.id).await?;
    println!(
        "adopted {} {} ({}, profile {}{})",
        ap.spec.kind.as_str(),
        ap.spec.name,
        ap.spec.address,
        ap.spec.profile,
        ap.spec
            .controller
            .as_ref()
            .map(|c| format!(", through controller {c}"))
            .unwrap_or_default()
    );
    Ok(())
}

pub const CSV_HEADER: [&str; 23] = [
    "name",
    "kind",
    "address",
    "profile",
    "mac",
    "controller",
    "model",
    "serial",
    "firmware",
    "building",
    "floor",
    "room",
    "x",
    "y",
    "tags",
    "notes",
    "snmp_version",
    "community",
    "v3_user",
    "v3_auth_protocol",
    "v3_auth_password",
    "v3_priv_protocol",
    "v3_priv_password",
];

/// Parses an import file; every bad row is named (line and reason).
pub fn parse_csv(text: &str) -> std::result::Result<Vec<NewAp>, Vec<String>> {
    crate::csv_import::read(text, &CSV_HEADER, &["name", "address"], "name", |row| {
        let ap = row_to_ap(&|col| row.get(col))?;
        Ok((ap.name.clone(), ap))
    })
}

fn row_to_ap(get: &dyn Fn(&str) -> Option<String>) -> std::result::Result<NewAp, String> {
    let name = get("name").ok_or("name is empty")?;
    let address = get("address").ok_or("address is empty")?;
    crate::store::aps::check_address(&address).map_err(|e| e.to_string())?;
    let kind = match get("kind") {
        None => ApKind::Ap,
        Some(k) => ApKind::parse(&k).ok_or(format!("kind {k:?} must be ap or controller"))?,
    };
    if let Some(m) = get("mac") {
        crate::domain::MacAddr::parse(&m).map_err(|_| format!("mac {m:?} is not a MAC address"))?;
    }
    let num = |col: &str| -> std::result::Result<Option<f64>, String> {
        match get(col) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or(format!("{col} {v:?} is not a number")),
        }
    };
    let snmp = match get("snmp_version").as_deref() {
        None if get("community").is_some() => SnmpSecret::V2c {
            community: get("community").unwrap_or_default(),
        },
        None | Some("none") => SnmpSecret::None,
        Some(v @ ("v1" | "v2c")) => {
            let community =
                get("community").ok_or(format!("snmp_version {v} needs a community"))?;
            if v == "v1" {
                SnmpSecret::V1 { community }
            } else {
                SnmpSecret::V2c { community }
            }
        }
        Some("v3") => {
            let user = get("v3_user").ok_or("snmp_version v3 needs v3_user")?;
            let auth_protocol = get("v3_auth_protocol");
            if let Some(p) = &auth_protocol {
                AuthProtocol::parse(p).ok_or(format!("v3_auth_protocol {p:?} is unknown"))?;
            }
            let priv_protocol = get("v3_priv_protocol");
            if let Some(p) = &priv_protocol {
                PrivProtocol::parse(p).ok_or(format!("v3_priv_protocol {p:?} is unknown"))?;
            }
            SnmpSecret::V3 {
                user,
                auth_password: get("v3_auth_password"),
                priv_password: get("v3_priv_password"),
                auth_protocol,
                priv_protocol,
            }
        }
        Some(other) => {
            return Err(format!(
                "snmp_version {other:?} must be v1, v2c, v3 or none"
            ))
        }
    };
    Ok(NewAp {
        name,
        kind,
        mac: get("mac"),
        address,
        profile: get("profile").unwrap_or_else(|| "generic".into()),
        controller: get("controller"),
        model: get("model"),
        serial: get("serial"),
        firmware: get("firmware"),
        building: get("building"),
        floor: get("floor"),
        room: get("room"),
        x: num("x")?,
        y: num("y")?,
        snmp,
        tags: get("tags")
            .map(|t| {
                t.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        notes: get("notes").unwrap_or_default(),
    })
}

async fn import(store: &Store, config: &Config, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = match parse_csv(&text) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            bail!("{} bad row(s); nothing imported", errors.len());
        }
    };
    let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut bad = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if profiles.get(&r.profile).is_none() {
            bad.push(format!(
                "{}: line {}: unknown profile {:?}",
                file.display(),
                i + 2,
                r.profile
            ));
        }
    }
    if !bad.is_empty() {
        for b in &bad {
            eprintln!("{b}");
        }
        bail!("{} bad row(s); nothing imported", bad.len());
    }
    match store.aps().add_many(&rows).await {
        Ok(n) => println!("imported {n} APs"),
        Err(e) => {
            // Row numbers from the store count data rows; lines add the header.
            bail!(
                "{}: {e} (data row number; line = row + 1); nothing imported",
                file.display()
            )
        }
    }
    Ok(())
}

async fn export(store: &Store, output: Option<&Path>, with_secrets: bool) -> Result<()> {
    let sink: Box<dyn std::io::Write> = match output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout()),
    };
    let mut w = csv::Writer::from_writer(sink);
    w.write_record(CSV_HEADER)?;
    for a in store.aps().list().await? {
        let s = a.spec;
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let (community, user, ap, apw, pp, ppw) = match &s.snmp {
            SnmpSecret::V1 { community } | SnmpSecret::V2c { community } => (
                community.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            SnmpSecret::V3 {
                user,
                auth_protocol,
                auth_password,
                priv_protocol,
                priv_password,
            } => (
                String::new(),
                user.clone(),
                o(auth_protocol),
                o(auth_password),
                o(priv_protocol),
                o(priv_password),
            ),
            SnmpSecret::None => Default::default(),
        };
        let hide = |v: String| if with_secrets { v } else { String::new() };
        w.write_record([
            s.name.clone(),
            s.kind.as_str().into(),
            s.address.clone(),
            s.profile.clone(),
            o(&s.mac),
            o(&s.controller),
            o(&s.model),
            o(&s.serial),
            o(&s.firmware),
            o(&s.building),
            o(&s.floor),
            o(&s.room),
            f(s.x),
            f(s.y),
            s.tags.join(";"),
            s.notes.clone(),
            s.snmp.version().into(),
            hide(community),
            user,
            ap,
            hide(apw),
            pp,
            hide(ppw),
        ])?;
    }
    w.flush()?;
    Ok(())
}

pub async fn discover_cmd(store: &Store, config: &Config, args: DiscoverArgs) -> Result<()> {
    if !args.community_stdin {
        bail!("give the community to try on standard input with --community-stdin");
    }
    let community = read_stdin_lines(1, "community")?.remove(0);
    let net: ipnet::IpNet = args
        .cidr
        .parse()
        .or_else(|_| {
            args.cidr
                .parse::<std::net::IpAddr>()
                .map(ipnet::IpNet::from)
        })
        .with_context(|| format!("{:?} is not a CIDR", args.cidr))?;
    let profiles = Arc::new(app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?);
    let opts = SweepOptions {
        port: args.port,
        rate: args.rate.max(1),
        ..SweepOptions::default()
    };
    let creds = crate::snmp::client::Credentials::V2c { community };
    let found = discover::sweep(
        &net,
        &creds,
        profiles,
        &opts,
        Arc::new(SnmpStats::default()),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for d in &found {
        store.aps().upsert_discovered(d).await?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        for d in &found {
            println!(
                "{} {} profile={} name={} via={}",
                d.address,
                d.sys_object_id.clone().unwrap_or_default(),
                d.profile.clone().unwrap_or_else(|| "-".into()),
                d.sys_name.clone().unwrap_or_default(),
                d.via
            );
        }
        println!(
            "{} device(s) found; see `portico ap discovered`",
            found.len()
        );
    }
    Ok(())
}

pub async fn event_cmd(store: &Store, cmd: EventCmd) -> Result<()> {
    match cmd {
        EventCmd::List { limit, json } => {
            let list = store.events().list(limit).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id, "at_ms": e.at_ms, "time": fmt_ms(Some(e.at_ms)), "kind": e.kind,
                            "source": e.source, "severity": e.severity, "message": e.message,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for e in list {
                    println!(
                        "{} {:<8} {:<14} {:<16} {}",
                        fmt_ms(Some(e.at_ms)),
                        e.severity,
                        e.kind,
                        e.source,
                        e.message
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn alert_cmd(store: &Store, cmd: AlertCmd) -> Result<()> {
    match cmd {
        AlertCmd::List { open, limit, json } => {
            let list = if open {
                store.alerts().open().await?
            } else {
                store.alerts().list(limit).await?
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for a in list {
                    println!(
                        "{} {:<8} {:<18} {:<24} {} {}",
                        fmt_ms(Some(a.raised_ms)),
                        a.severity,
                        a.kind,
                        a.subject,
                        if a.cleared_ms.is_some() {
                            "cleared"
                        } else {
                            "OPEN"
                        },
                        a.message
                    );
                }
            }
        }
    }
    Ok(())
}
