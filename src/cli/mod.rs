//! Command line: argument parsing and the admin commands. Everything here
//! is thin: it reads input, calls the store and services, and prints.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod aps;
mod csv_import;
mod network;
mod portal;
mod sessions;
mod users;

pub use aps::{AlertCmd, ApCmd, DiscoverArgs, EventCmd};
use network::{device_cmd, nas_cmd};
pub use network::{DeviceCmd, NasCmd};
pub use portal::{VoucherCmd, WechatCmd};
use sessions::session_cmd;
pub use sessions::{disconnect, AuthLogCmd, SessionCmd};
use users::{group_cmd, user_cmd};
pub use users::{parse_user_csv, GroupCmd, GroupPolicy, ImportRow, UserCmd};

use crate::app::{self, Application};
use crate::clock::now_ms;
use crate::config::Config;
use crate::credentials;
use crate::domain::{validate_username, MacAddr};
use crate::radius::coa;
use crate::radius::mschap;
use crate::store::devices::Device;
use crate::store::groups::Group;
use crate::store::nas::NewNas;
use crate::store::users::NewUser;
use crate::store::{Store, StoreError};

#[derive(Parser, Debug)]
#[command(
    name = "portico",
    version,
    about = "Wireless network controller and captive portal"
)]
pub struct Cli {
    /// Config file (TOML). Default: $PORTICO_CONFIG, else ./portico.toml if present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller: RADIUS, HTTP and background tasks.
    Serve,
    /// Validate the configuration (and vendor profiles) and exit.
    CheckConfig,
    /// Print the sample configuration with every default.
    SampleConfig,
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Groups and their reply policy (VLAN, timeouts, Filter-Id, Class).
    #[command(subcommand)]
    Group(GroupCmd),
    /// RADIUS clients: access points and WLAN controllers.
    #[command(subcommand)]
    Nas(NasCmd),
    /// Registered devices allowed by MAC authentication.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Accounting sessions.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Authentication log.
    #[command(subcommand, name = "auth-log")]
    AuthLog(AuthLogCmd),
    /// Access points and WLAN controllers (inventory, SNMP credentials).
    #[command(subcommand)]
    Ap(aps::ApCmd),
    /// Sweep a network for SNMP agents and list them for adoption.
    Discover(aps::DiscoverArgs),
    /// Operational events (AP up/down, traps, alerts).
    #[command(subcommand)]
    Event(aps::EventCmd),
    /// Monitoring alerts.
    #[command(subcommand)]
    Alert(aps::AlertCmd),
    /// Visitor vouchers for the captive portal.
    #[command(subcommand)]
    Voucher(portal::VoucherCmd),
    /// WeChat/WeCom identities linked to staff accounts (portal sign-in).
    #[command(subcommand)]
    Wechat(portal::WechatCmd),
}

/// The config file: --config, $PORTICO_CONFIG, or ./portico.toml if present.
pub fn config_path(cli: &Cli) -> Option<PathBuf> {
    cli.config
        .clone()
        .or_else(|| std::env::var_os("PORTICO_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let p = PathBuf::from("portico.toml");
            p.exists().then_some(p)
        })
}

pub fn load_config(cli: &Cli) -> Result<Config> {
    let path = config_path(cli);
    Config::load(path.as_deref(), std::env::vars()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads `n` lines from standard input, each without its line ending.
/// Secrets come this way so they never show in `ps` or shell history.
pub fn read_stdin_lines(n: usize, what: &str) -> Result<Vec<String>> {
    let stdin = std::io::stdin();
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .with_context(|| format!("reading {what} from standard input"))?;
        lines.push(line.trim_end_matches(['\n', '\r']).to_string());
    }
    Ok(lines)
}

/// Reads one non-empty line (the secret) from standard input.
fn read_secret_line(what: &str) -> Result<String> {
    let secret = read_stdin_lines(1, what)?.remove(0);
    if secret.is_empty() {
        bail!("{what} on standard input is empty");
    }
    Ok(secret)
}

/// YYYY-MM-DD (UTC midnight) or RFC 3339, to epoch milliseconds.
pub fn parse_date(s: &str) -> Result<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_millis());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date (YYYY-MM-DD or RFC 3339)"))?;
    let dt = d.and_hms_opt(0, 0, 0).context("invalid date")?.and_utc();
    Ok(dt.timestamp_millis())
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn fmt_opt_ms(ms: Option<i64>) -> String {
    ms.map(fmt_ms).unwrap_or_default()
}

async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn conflict_context(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Runs a non-serve command against the store named by the config.
pub async fn run(cli: Cli, config: Config) -> Result<()> {
    match cli.command {
        Command::Serve => serve(config).await,
        Command::CheckConfig => {
            let profiles = app::load_profiles(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "configuration ok ({}); profiles: {}",
                config_path(&cli)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "defaults".into()),
                profiles.names().join(", ")
            );
            Ok(())
        }
        Command::SampleConfig => {
            print!("{}", Config::sample());
            Ok(())
        }
        Command::User(cmd) => {
            let store = app::open_store(&config).await?;
            user_cmd(&store, &config, cmd).await
        }
        Command::Group(cmd) => group_cmd(&app::open_store(&config).await?, cmd).await,
        Command::Nas(cmd) => nas_cmd(&app::open_store(&config).await?, &config, cmd).await,
        Command::Device(cmd) => device_cmd(&app::open_store(&config).await?, cmd).await,
        Command::Session(cmd) => session_cmd(&app::open_store(&config).await?, &config, cmd).await,
        Command::Voucher(cmd) => {
            portal::voucher_cmd(&app::open_store(&config).await?, &config, cmd).await
        }
        Command::Wechat(cmd) => portal::wechat_cmd(&app::open_store(&config).await?, cmd).await,
        Command::Ap(cmd) => aps::ap_cmd(&app::open_store(&config).await?, &config, cmd).await,
        Command::Discover(args) => {
            aps::discover_cmd(&app::open_store(&config).await?, &config, args).await
        }
        Command::Event(cmd) => aps::event_cmd(&app::open_store(&config).await?, cmd).await,
        Command::Alert(cmd) => aps::alert_cmd(&app::open_store(&config).await?, cmd).await,
        Command::AuthLog(cmd) => {
            sessions::auth_log_cmd(&app::open_store(&config).await?, cmd).await
        }
    }
}

fn csv_writer(output: Option<&Path>) -> Result<csv::Writer<Box<dyn Write>>> {
    let sink: Box<dyn Write> = match output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout()),
    };
    Ok(csv::Writer::from_writer(sink))
}

async fn serve(config: Config) -> Result<()> {
    let app = Application::build(config).await?;
    let mut out = std::io::stdout().lock();
    if let Some(pw) = &app.initial_admin_password {
        writeln!(
            out,
            "created dashboard account '{}' with password: {pw}\n(shown once; store it now)",
            app::INITIAL_ADMIN
        )?;
    }
    for (name, addr) in app.listeners() {
        writeln!(out, "listening {name} {addr}")?;
    }
    out.flush()?;
    drop(out);
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        trigger.cancel();
    });
    app.run_until_stopped(shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
