//! Command line: argument parsing and the admin commands. Everything here
//! is thin: it reads input, calls the store and services, and prints.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

mod admins;
mod aps;
mod coverage;
mod oidc;
pub mod walks;

mod network;
mod portal;
mod sessions;
mod users;

pub use admins::{AdminCmd, AuditCmd, TokenCmd};
pub use aps::{AlertCmd, ApCmd, DiscoverArgs, EventCmd};
use network::{device_cmd, nas_cmd};
pub use network::{DeviceCmd, NasCmd};
pub use portal::{VoucherCmd, WechatCmd};
use sessions::session_cmd;
pub use sessions::{disconnect, AuthLogCmd, SessionCmd};
use users::{group_cmd, user_cmd};
pub use users::{GroupCmd, GroupPolicy, UserCmd};

use crate::admin::audit::{Actor, Auditor, Outcome};
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
    /// Floors: plans, walls (by hand or from DXF), AP placements.
    #[command(subcommand)]
    Floor(coverage::FloorCmd),
    /// Coverage predictions: the printable report.
    #[command(subcommand)]
    Coverage(coverage::CoverageCmd),
    /// The OpenID Connect provider: clients (the building's apps) and keys.
    #[command(subcommand)]
    Oidc(oidc::OidcCmd),
    /// Rooms for Wi-Fi presence (meeting check-in): APs named by room.
    #[command(subcommand)]
    Room(oidc::RoomCmd),
    /// Sweep a network for SNMP agents and list them for adoption.
    Discover(aps::DiscoverArgs),
    /// Serve recorded walks as SNMP v2c agents on loopback (community =
    /// file name without extension), to run the poller against them.
    Simulate(walks::SimulateArgs),
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
    /// Dashboard administrators, their roles and API tokens.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// The audit trail: verify its chain, export it.
    #[command(subcommand)]
    Audit(AuditCmd),
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

/// Runs a command. `argv` is the command line as given (for the audit row
/// of a command that changes something; secrets never come on it).
pub async fn run(cli: Cli, config: Config, argv: Vec<String>) -> Result<()> {
    match cli.command {
        Command::Serve => return serve(config).await,
        Command::CheckConfig => {
            let profiles = app::load_profiles(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "configuration ok ({}); profiles: {}",
                config_path(&cli)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "defaults".into()),
                profiles.names().join(", ")
            );
            return Ok(());
        }
        Command::SampleConfig => {
            print!("{}", Config::sample());
            return Ok(());
        }
        Command::Simulate(args) => return walks::simulate(args).await,
        Command::Ap(aps::ApCmd::Test {
            walk,
            profile,
            json,
        }) => return walks::ap_test(&config, &walk, profile.as_deref(), json).await,
        _ => {}
    }
    let store = app::open_store(&config).await?;
    let metrics = crate::metrics::Metrics::new();
    let auditor = app::auditor(&config, &store, &metrics);
    let audited = audited_command(&argv);
    let result = dispatch(&store, &config, &auditor, cli.command).await;
    if let Some((action, target)) = audited {
        let (outcome, error) = match &result {
            Ok(()) => (Outcome::Ok, None),
            Err(e) => (Outcome::Failed, Some(format!("{e:#}"))),
        };
        let summary = serde_json::json!({"argv": argv.get(1..).unwrap_or(&[]), "error": error});
        auditor
            .record(&Actor::cli(), &action, &target, outcome, summary)
            .await
            .context("writing the audit row")?;
    }
    auditor.flush().await;
    result
}

/// Subcommands that only read (and the admin commands, which write their
/// own, more precise rows).
const READ_ONLY: &[&str] = &["list", "show", "verify", "status"];

/// `(action, target)` of a command that changes something or exports
/// personal data: the subcommand names joined by dots, and the first
/// positional argument. `None` for read-only commands.
fn audited_command(argv: &[String]) -> Option<(String, String)> {
    use clap::CommandFactory;
    let matches = Cli::command().try_get_matches_from(argv).ok()?;
    let mut names = Vec::new();
    let mut command = Cli::command();
    let mut m = &matches;
    let mut target = String::new();
    while let Some((name, sub)) = m.subcommand() {
        names.push(name.to_string());
        command = command.find_subcommand(name)?.clone();
        if let Some(first) = command.get_positionals().next() {
            if let Ok(Some(v)) = sub.try_get_raw(first.get_id().as_str()) {
                target = v
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        m = sub;
    }
    let leaf = names.last()?;
    if names.first().is_some_and(|n| n == "admin") || READ_ONLY.contains(&leaf.as_str()) {
        return None;
    }
    Some((names.join("."), target))
}

async fn dispatch(
    store: &Store,
    config: &Config,
    auditor: &Auditor,
    command: Command,
) -> Result<()> {
    match command {
        Command::Serve | Command::CheckConfig | Command::SampleConfig | Command::Simulate(_) => {
            Ok(())
        }
        Command::User(cmd) => user_cmd(store, config, cmd).await,
        Command::Group(cmd) => group_cmd(store, cmd).await,
        Command::Nas(cmd) => nas_cmd(store, config, cmd).await,
        Command::Device(cmd) => device_cmd(store, cmd).await,
        Command::Session(cmd) => session_cmd(store, config, cmd).await,
        Command::Voucher(cmd) => portal::voucher_cmd(store, config, cmd).await,
        Command::Wechat(cmd) => portal::wechat_cmd(store, cmd).await,
        Command::Ap(cmd) => aps::ap_cmd(store, config, cmd).await,
        Command::Floor(cmd) => coverage::floor_cmd(store, cmd).await,
        Command::Oidc(cmd) => oidc::oidc_cmd(store, cmd).await,
        Command::Room(cmd) => oidc::room_cmd(store, cmd).await,
        Command::Coverage(cmd) => coverage::coverage_cmd(store, config, cmd).await,
        Command::Discover(args) => aps::discover_cmd(store, config, args).await,
        Command::Event(cmd) => aps::event_cmd(store, cmd).await,
        Command::Alert(cmd) => aps::alert_cmd(store, cmd).await,
        Command::AuthLog(cmd) => sessions::auth_log_cmd(store, cmd).await,
        Command::Admin(cmd) => admins::admin_cmd(store, config, auditor, cmd).await,
        Command::Audit(cmd) => admins::audit_cmd(store, cmd).await,
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
    for created in &app.initial_admins {
        writeln!(
            out,
            "created dashboard account '{}' with password: {}",
            created.username, created.password
        )?;
    }
    if !app.initial_admins.is_empty() {
        let roles: Vec<String> = app
            .initial_admins
            .iter()
            .map(|c| format!("{} = {}", c.username, c.role))
            .collect();
        writeln!(
            out,
            "(shown once; store them now. Roles: {}. Each sets a new password and a TOTP app at the first sign-in.)",
            roles.join(", ")
        )?;
    }
    for (name, addr) in app.listeners() {
        writeln!(out, "listening {name} {addr}")?;
    }
    if let Some(url) = app.dashboard_url() {
        writeln!(out, "dashboard {url} (API documentation at {url}api/docs)")?;
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
