//! The walk tools: `portico ap test --walk FILE` (what a profile reads
//! from a recorded walk) and `portico simulate --walk FILE...` (walks
//! served as SNMP v2c agents on loopback). Neither opens the store.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::aps::or_unknown;
use crate::app;
use crate::config::Config;
use crate::profiles::snmp::SnmpProfile;
use crate::profiles::Profiles;
use crate::snmp::collect::{self, PollResult};
use crate::snmp::walkfile::{self, WalkAgent};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Walk files (`snmpwalk -On` output or `.snmprec`); each is served on
    /// its own port with the file name without extension as community.
    #[arg(long = "walk", required = true, num_args = 1..)]
    pub walks: Vec<PathBuf>,
    /// Loopback address to serve on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// First UDP port (the others follow); 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
}

/// Everything `ap test` found, as printed with `--json`.
#[derive(serde::Serialize)]
struct Report {
    walk: String,
    values: usize,
    skipped_lines: Vec<(usize, String)>,
    profile: String,
    detected_by: String,
    result: PollResult,
    total_clients: Option<i64>,
    ap_clients: Vec<Option<i64>>,
    radio_labels: Vec<String>,
    unconfirmed: Vec<(String, String)>,
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn unconfirmed(p: &SnmpProfile) -> Vec<(String, String)> {
    p.fields()
        .into_iter()
        .filter_map(|(name, f)| f.unconfirmed.clone().map(|why| (name, why)))
        .collect()
}

/// Reads a walk and polls it through a profile (given or detected).
pub async fn test_walk(
    profiles: &Profiles,
    path: &Path,
    profile: Option<&str>,
) -> Result<(String, String, walkfile::Walk, PollResult)> {
    let walk = walkfile::read_file(path)?;
    let mut agent = WalkAgent { view: &walk.view };
    let (p, why) = match profile {
        Some(name) => match profiles.get(name) {
            Some(p) => (p, "given with --profile".to_string()),
            None => bail!(
                "unknown profile {name:?}; known: {}",
                profiles.names().join(", ")
            ),
        },
        None => {
            let sys = collect::poll(
                &mut agent,
                &SnmpProfile {
                    interfaces: false,
                    ..SnmpProfile::default()
                },
            )
            .await?
            .system;
            match collect::detect(profiles, sys.object_id.as_deref(), sys.descr.as_deref()) {
                Some((p, why)) => (p, why),
                None => match profiles.get(crate::profiles::GENERIC_PROFILE) {
                    Some(p) => (p, "no profile matches; generic".to_string()),
                    None => bail!("no profile matches and there is no generic profile"),
                },
            }
        }
    };
    let result = collect::poll(&mut agent, &p.snmp).await?;
    Ok((p.name.clone(), why, walk, result))
}

pub async fn ap_test(
    config: &Config,
    walk: &Path,
    profile: Option<&str>,
    json: bool,
) -> Result<()> {
    let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (name, why, w, r) = test_walk(&profiles, walk, profile).await?;
    let snmp = profiles
        .get(&name)
        .map(|p| p.snmp.clone())
        .unwrap_or_default();
    let report = Report {
        walk: file_name(walk),
        values: w.view.len(),
        skipped_lines: w.skipped.clone(),
        profile: name,
        detected_by: why,
        total_clients: r.total_clients(),
        ap_clients: r.aps.iter().map(|a| r.clients_of_ap(a)).collect(),
        radio_labels: r.radios.iter().map(|x| r.radio_label(x)).collect(),
        unconfirmed: unconfirmed(&snmp),
        result: r,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report_text(&report));
    }
    Ok(())
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "unknown".into())
}

fn report_text(rep: &Report) -> String {
    let r = &rep.result;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "walk      {} ({} values, {} lines skipped)",
        rep.walk,
        rep.values,
        rep.skipped_lines.len()
    );
    for (line, why) in rep.skipped_lines.iter().take(10) {
        let _ = writeln!(o, "  skipped line {line}: {why}");
    }
    let _ = writeln!(o, "profile   {} ({})", rep.profile, rep.detected_by);
    let s = &r.system;
    let _ = writeln!(o, "device    {} | {}", text(&s.name), text(&s.object_id));
    let _ = writeln!(o, "model     {}", text(&s.model));
    let _ = writeln!(o, "serial    {}", text(&s.serial));
    let _ = writeln!(o, "firmware  {}", text(&s.firmware));
    let _ = writeln!(o, "clients   {}", or_unknown(rep.total_clients));
    if !r.aps.is_empty() {
        let _ = writeln!(o, "\nAPs ({})", r.aps.len());
        let _ = writeln!(
            o,
            "  {:<20} {:<17} {:<15} {:<14} {:<14} {:<8} {:>7}",
            "NAME", "MAC", "IP", "MODEL", "SERIAL", "STATUS", "CLIENTS"
        );
        for (a, clients) in r.aps.iter().zip(&rep.ap_clients) {
            let status = match (a.up, a.status_raw) {
                (Some(true), Some(raw)) => format!("up({raw})"),
                (Some(false), Some(raw)) => format!("down({raw})"),
                _ => "unknown".into(),
            };
            let _ = writeln!(
                o,
                "  {:<20} {:<17} {:<15} {:<14} {:<14} {:<8} {:>7}",
                text(&a.name),
                text(&a.mac),
                text(&a.ip),
                text(&a.model),
                text(&a.serial),
                status,
                or_unknown(*clients)
            );
        }
    }
    if !r.radios.is_empty() {
        let _ = writeln!(o, "\nradios ({})", r.radios.len());
        let _ = writeln!(
            o,
            "  {:<28} {:<7} {:>7} {:>6} {:>9} {:>6} {:>7}",
            "RADIO", "BAND", "CHANNEL", "TX dBm", "NOISE dBm", "UTIL %", "CLIENTS"
        );
        for (x, label) in r.radios.iter().zip(&rep.radio_labels) {
            let _ = writeln!(
                o,
                "  {:<28} {:<7} {:>7} {:>6} {:>9} {:>6} {:>7}",
                label,
                text(&x.band),
                or_unknown(x.channel),
                or_unknown(x.tx_power),
                or_unknown(x.noise),
                or_unknown(x.utilization),
                or_unknown(x.clients)
            );
        }
    }
    if !r.vaps.is_empty() {
        let _ = writeln!(o, "\nVAPs ({})", r.vaps.len());
        let _ = writeln!(
            o,
            "  {:<20} {:<6} {:<24} {:<17} {:>7}",
            "AP", "RADIO", "SSID", "BSSID", "CLIENTS"
        );
        for v in &r.vaps {
            let _ = writeln!(
                o,
                "  {:<20} {:<6} {:<24} {:<17} {:>7}",
                r.ap_label(&v.ap).unwrap_or_else(|| "-".into()),
                text(&v.radio),
                text(&v.ssid),
                text(&v.bssid),
                or_unknown(v.clients)
            );
        }
    }
    if !r.wlans.is_empty() {
        let _ = writeln!(o, "\nWLANs ({})", r.wlans.len());
        for w in &r.wlans {
            let _ = writeln!(
                o,
                "  {:<32} clients {}",
                text(&w.ssid),
                or_unknown(w.clients)
            );
        }
    }
    if r.client_table_read {
        let _ = writeln!(o, "\nclients ({})", r.clients.len());
        let _ = writeln!(
            o,
            "  {:<17} {:<15} {:<14} {:<20} {:<18} {:>5} {:>5}",
            "MAC", "IP", "USER", "AP", "SSID", "RSSI", "SNR"
        );
        for c in &r.clients {
            let _ = writeln!(
                o,
                "  {:<17} {:<15} {:<14} {:<20} {:<18} {:>5} {:>5}",
                text(&c.mac),
                text(&c.ip),
                text(&c.user),
                text(&c.ap),
                text(&c.ssid),
                or_unknown(c.rssi),
                or_unknown(c.snr)
            );
        }
    }
    if !r.neighbours.is_empty() {
        let _ = writeln!(o, "\nneighbours ({})", r.neighbours.len());
        let _ = writeln!(
            o,
            "  {:<20} {:<17} {:>7} {:>5}",
            "AP", "HEARS", "CHANNEL", "RSSI"
        );
        for n in &r.neighbours {
            let ap = r
                .aps
                .iter()
                .find(|a| n.ap.matches(a))
                .and_then(|a| a.name.clone().or(a.mac.clone()))
                .or(n.ap.mac.clone())
                .unwrap_or_else(|| "?".into());
            let _ = writeln!(
                o,
                "  {:<20} {:<17} {:>7} {:>5}",
                ap,
                text(&n.neighbour),
                or_unknown(n.channel),
                or_unknown(n.rssi)
            );
        }
    }
    if !r.interfaces.is_empty() {
        let _ = writeln!(o, "\ninterfaces {}", r.interfaces.len());
    }
    if r.dropped_rows > 0 {
        let _ = writeln!(
            o,
            "\ndropped   {} rows whose index did not fit the profile",
            r.dropped_rows
        );
    }
    if !rep.unconfirmed.is_empty() {
        let _ = writeln!(o, "\nunconfirmed OIDs in this profile");
        for (field, why) in &rep.unconfirmed {
            let _ = writeln!(o, "  {field}: {why}");
        }
    }
    o
}

fn is_loopback(ip: &std::net::IpAddr) -> bool {
    ip.is_loopback()
}

pub async fn simulate(args: SimulateArgs) -> Result<()> {
    if !is_loopback(&args.bind) {
        bail!(
            "--bind {} is not a loopback address: recorded walks are served on loopback only",
            args.bind
        );
    }
    let mut agents = Vec::new();
    let mut out = std::io::stdout();
    for (i, path) in args.walks.iter().enumerate() {
        let walk = walkfile::read_file(path)?;
        for (line, why) in walk.skipped.iter().take(5) {
            eprintln!("{}: skipped line {line}: {why}", path.display());
        }
        let community = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let port = if args.port == 0 {
            0
        } else {
            args.port
                .checked_add(u16::try_from(i).unwrap_or(u16::MAX))
                .context("port out of range")?
        };
        let sock = tokio::net::UdpSocket::bind((args.bind, port))
            .await
            .with_context(|| format!("binding {}:{port}", args.bind))?;
        let addr = sock.local_addr()?;
        writeln!(
            out,
            "serving {} on {addr} (community {community}, {} values)",
            file_name(path),
            walk.view.len()
        )?;
        agents.push((Arc::new(sock), community.into_bytes(), walk.view));
    }
    writeln!(out, "ready")?;
    out.flush()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let serve = tokio::spawn(walkfile::serve(agents, stop.clone()));
    match args.duration {
        Some(d) => {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    stop.cancel();
    let _ = serve.await;
    Ok(())
}
