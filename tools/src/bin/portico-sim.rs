//! portico-sim: a fleet of simulated SNMP agents on loopback, each serving
//! a vendor profile's tables with values that change, and optionally
//! RADIUS accounting for their simulated clients. For demos without
//! hardware and for the polling benchmark (`benches/snmp/run.sh`).

#![forbid(unsafe_code)]

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use portico::app;
use portico::cli::read_stdin_lines;
use portico::config::Config;
use portico::store::aps::{ApKind, NewAp, SnmpSecret};
use portico_tools::simulator::{self, SimConfig};
use tokio_util::sync::CancellationToken;

/// Serves simulated SNMP agents on loopback, one per AP, with the tables
/// of a vendor profile and values that change (demo and benchmarks).
#[derive(Parser, Debug)]
#[command(name = "portico-sim", version)]
pub struct SimulateArgs {
    /// Config file (TOML) of the controller whose inventory `--register` fills.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Simulated APs (one SNMP agent each).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Vendor profile whose tables the agents serve.
    #[arg(long, default_value = "generic")]
    pub profile: String,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// First agent's UDP port; the others follow (0: any free ports).
    #[arg(long, default_value_t = 16100)]
    pub base_port: u16,
    #[arg(long, default_value = "public")]
    pub community: String,
    #[arg(long, default_value_t = 2)]
    pub radios: u32,
    #[arg(long, default_value_t = 3)]
    pub clients_per_radio: u32,
    /// Add the agents to the inventory (names sim-0001, ...), replacing earlier ones.
    #[arg(long)]
    pub register: bool,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Also send RADIUS accounting (Start, Interim-Update, Stop) for the
    /// simulated clients to this server, e.g. 127.0.0.1:1813; the shared
    /// secret is read from standard input.
    #[arg(long)]
    pub radius_acct: Option<std::net::SocketAddr>,
    /// Interim-Update interval for the simulated sessions.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub acct_interval: std::time::Duration,
}

async fn simulate(config: &Config, args: SimulateArgs) -> Result<()> {
    let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(profile) = profiles.get(&args.profile).cloned() else {
        bail!(
            "unknown profile {:?}; known: {}",
            args.profile,
            profiles.names().join(", ")
        );
    };
    let cfg = SimConfig {
        count: args.count,
        ip: args.bind,
        base_port: args.base_port,
        community: args.community.clone(),
        radios: args.radios,
        clients_per_radio: args.clients_per_radio,
        ..SimConfig::default()
    };
    if !(args.bind.is_loopback()) {
        bail!("the simulator binds loopback addresses only");
    }
    let acct_secret = match args.radius_acct {
        Some(a) if !a.ip().is_loopback() => bail!("--radius-acct must be a loopback address"),
        Some(_) => Some(read_stdin_lines(1, "RADIUS shared secret")?.remove(0)),
        None => None,
    };
    let sockets = simulator::bind(&cfg)
        .await
        .context("binding the simulated agents")?;
    let addrs: Vec<std::net::SocketAddr> =
        sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
    if args.register {
        let store = app::open_store(config).await?;
        let mut specs = Vec::with_capacity(addrs.len());
        for (i, a) in addrs.iter().enumerate() {
            let name = format!("sim-{:04}", i + 1);
            let _ = store.aps().remove(&name).await;
            specs.push(NewAp {
                name,
                kind: if profile.snmp.role == portico::profiles::snmp::Role::Controller {
                    ApKind::Controller
                } else {
                    ApKind::Ap
                },
                address: a.to_string(),
                profile: profile.name.clone(),
                snmp: SnmpSecret::V2c {
                    community: args.community.clone(),
                },
                tags: vec!["simulated".into()],
                ..NewAp::default()
            });
        }
        store
            .aps()
            .add_many(&specs)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("registered {} simulated APs (sim-0001 ..)", specs.len());
    }
    match (addrs.first(), addrs.last()) {
        (Some(first), Some(last)) => println!(
            "simulating {} {} agent(s) on {} .. {} (community on the command line is a test value)",
            addrs.len(),
            profile.name,
            first,
            last
        ),
        _ => println!("no agents"),
    }
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    let duration = args.duration;
    tokio::spawn(async move {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        trigger.cancel();
    });
    let acct = match (args.radius_acct, acct_secret) {
        (Some(target), Some(secret)) => {
            let per_ap = args.radios * args.clients_per_radio;
            let sessions: Vec<portico_tools::sim_acct::SimSession> = (0..addrs.len())
                .flat_map(|ap| {
                    (0..per_ap)
                        .map(move |client| portico_tools::sim_acct::SimSession { ap, client })
                })
                .collect();
            println!(
                "sending RADIUS accounting for {} simulated clients to {target}",
                sessions.len()
            );
            Some(tokio::spawn(portico_tools::sim_acct::run(
                target,
                secret.into_bytes(),
                sessions,
                args.acct_interval,
                500,
                stop.clone(),
            )))
        }
        _ => None,
    };
    simulator::run(Arc::new(profile), cfg, sockets, stop).await;
    if let Some(task) = acct {
        if let Ok(Ok(stats)) = task.await {
            println!(
                "RADIUS accounting: {} sent, {} answered",
                stats.sent.load(std::sync::atomic::Ordering::Relaxed),
                stats.answered.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = SimulateArgs::parse();
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("PORTICO_CONFIG").map(Into::into));
    let config =
        Config::load(path.as_deref(), std::env::vars()).map_err(|e| anyhow::anyhow!("{e}"))?;
    simulate(&config, args).await
}
