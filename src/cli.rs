//! Command line: argument parsing and the admin commands. Everything here
//! is thin: it reads input, calls the store and services, and prints.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

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
    Ap(crate::snmp::cli::ApCmd),
    /// Sweep a network for SNMP agents and list them for adoption.
    Discover(crate::snmp::cli::DiscoverArgs),
    /// Operational events (AP up/down, traps, alerts).
    #[command(subcommand)]
    Event(crate::snmp::cli::EventCmd),
    /// Monitoring alerts.
    #[command(subcommand)]
    Alert(crate::snmp::cli::AlertCmd),
    /// Serve simulated SNMP agents on loopback (demo and benchmarks).
    Simulate(crate::snmp::cli::SimulateArgs),
    /// Visitor vouchers for the captive portal.
    #[command(subcommand)]
    Voucher(crate::portal::cli::VoucherCmd),
    /// WeChat/WeCom identities linked to staff accounts (portal sign-in).
    #[command(subcommand)]
    Wechat(crate::portal::cli::WechatCmd),
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user; the password is read from standard input.
    Add {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        /// Group membership (repeat for several).
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Do not keep the NT hash (MS-CHAPv2/PEAP will not work for this user).
        #[arg(long)]
        no_nt_hash: bool,
        /// Account expiry, YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Set a new password, read from standard input.
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        no_nt_hash: bool,
    },
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Lift a lock after too many wrong passwords (portal and dashboard).
    Unlock {
        username: String,
    },
    Remove {
        username: String,
    },
    /// Replace the user's groups.
    SetGroups {
        username: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Import users from CSV: header row, columns username,password and
    /// optionally groups (`;`-separated) and display_name. A file with any
    /// bad row imports nothing.
    Import {
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct GroupPolicy {
    /// VLAN id or name (Tunnel-Private-Group-Id).
    #[arg(long)]
    vlan: Option<String>,
    /// Session-Timeout in seconds.
    #[arg(long)]
    session_timeout: Option<u32>,
    /// Idle-Timeout in seconds.
    #[arg(long)]
    idle_timeout: Option<u32>,
    #[arg(long)]
    filter_id: Option<String>,
    #[arg(long)]
    class: Option<String>,
    /// Extra reply attribute by dictionary name, e.g. Aruba-User-Role=staff (repeatable).
    #[arg(long = "reply")]
    reply: Vec<String>,
    /// Allowed methods (pap, mschapv2, chap, mac, eap); default all.
    #[arg(long = "method")]
    methods: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Create or replace a group's policy.
    Set {
        name: String,
        #[command(flatten)]
        policy: GroupPolicy,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum NasCmd {
    /// Add a NAS; the shared secret is read from standard input.
    Add {
        name: String,
        /// IP address or CIDR the NAS sends from.
        #[arg(long)]
        address: String,
        #[arg(long)]
        secret_stdin: bool,
        /// Vendor profile from ap-profiles/.
        #[arg(long, default_value = "generic")]
        profile: String,
        #[arg(long, default_value_t = 3799)]
        coa_port: u16,
        /// Accept Access-Requests without Message-Authenticator from this
        /// NAS (old firmware only; weakens protection against CVE-2024-3596).
        #[arg(long)]
        legacy_no_message_authenticator: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    Add {
        mac: String,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        mac: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    List {
        /// Only sessions not yet stopped.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send a Disconnect-Request (or CoA-Request) for a session to its NAS.
    Disconnect {
        /// Acct-Session-Id.
        session_id: String,
        /// NAS name, needed when several NASes use the same session id.
        #[arg(long)]
        nas: Option<String>,
        /// Send CoA-Request (re-authenticate) instead of Disconnect-Request.
        #[arg(long)]
        coa: bool,
    },
    /// Export sessions started since DATE as CSV.
    Export {
        #[arg(long)]
        since: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuthLogCmd {
    /// Export authentication results since DATE as CSV.
    Export {
        #[arg(long)]
        since: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
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

/// Reads one line (the secret) from standard input, without its newline.
fn read_secret_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading {what} from standard input"))?;
    let secret = line.trim_end_matches(['\n', '\r']).to_string();
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
            crate::portal::cli::voucher_cmd(&app::open_store(&config).await?, &config, cmd).await
        }
        Command::Wechat(cmd) => {
            crate::portal::cli::wechat_cmd(&app::open_store(&config).await?, cmd).await
        }
        Command::Ap(cmd) => {
            crate::snmp::cli::ap_cmd(&app::open_store(&config).await?, &config, cmd).await
        }
        Command::Discover(args) => {
            crate::snmp::cli::discover_cmd(&app::open_store(&config).await?, &config, args).await
        }
        Command::Event(cmd) => {
            crate::snmp::cli::event_cmd(&app::open_store(&config).await?, cmd).await
        }
        Command::Alert(cmd) => {
            crate::snmp::cli::alert_cmd(&app::open_store(&config).await?, cmd).await
        }
        Command::Simulate(args) => crate::snmp::cli::simulate_cmd(&config, args).await,
        Command::AuthLog(AuthLogCmd::Export { since, output }) => {
            let store = app::open_store(&config).await?;
            let rows = store.auth_log().since(parse_date(&since)?).await?;
            let mut w = csv_writer(output.as_deref())?;
            // New columns go at the end: scripts read the first nine by place.
            w.write_record([
                "time",
                "username",
                "mac",
                "nas",
                "nas_ip",
                "ap",
                "method",
                "outcome",
                "reason",
                "client_ip",
                "ssid",
            ])?;
            for r in rows {
                w.write_record([
                    fmt_ms(r.at_ms),
                    r.username,
                    r.mac.unwrap_or_default(),
                    r.nas_name,
                    r.nas_ip,
                    r.ap.unwrap_or_default(),
                    r.method,
                    r.outcome,
                    r.reason,
                    r.client_ip.unwrap_or_default(),
                    r.ssid.unwrap_or_default(),
                ])?;
            }
            w.flush()?;
            Ok(())
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

fn nt_hash_for(config: &Config, no_nt_hash: bool, password: &str) -> Option<[u8; 16]> {
    (config.radius.store_nt_hash && !no_nt_hash).then(|| mschap::nt_password_hash(password))
}

async fn user_cmd(store: &Store, config: &Config, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            username,
            password_stdin,
            groups,
            display_name,
            no_nt_hash,
            valid_until,
        } => {
            let username = validate_username(&username)
                .map_err(anyhow::Error::msg)?
                .to_string();
            let (password_hash, nt_hash) = if password_stdin {
                let pw = read_secret_line("password")?;
                credentials::check_new_password(&pw)?;
                let nt = nt_hash_for(config, no_nt_hash, &pw);
                (Some(hash_blocking(pw).await?), nt)
            } else {
                (None, None)
            };
            let valid_until = valid_until.as_deref().map(parse_date).transpose()?;
            store
                .users()
                .add(&NewUser {
                    username: username.clone(),
                    display_name,
                    password_hash,
                    nt_hash,
                    groups,
                    valid_until,
                })
                .await
                .map_err(conflict_context)?;
            println!("added user {username}");
        }
        UserCmd::Passwd {
            username,
            password_stdin,
            no_nt_hash,
        } => {
            if !password_stdin {
                bail!("give the new password on standard input with --password-stdin");
            }
            let pw = read_secret_line("password")?;
            credentials::check_new_password(&pw)?;
            let nt = nt_hash_for(config, no_nt_hash, &pw);
            let hash = hash_blocking(pw).await?;
            store.users().set_password(&username, &hash, nt).await?;
            println!("password changed for {username}");
        }
        UserCmd::Disable { username } => {
            store.users().set_enabled(&username, false).await?;
            println!("disabled {username}");
        }
        UserCmd::Enable { username } => {
            store.users().set_enabled(&username, true).await?;
            println!("enabled {username}");
        }
        UserCmd::Unlock { username } => {
            if store.lockouts().unlock(&username).await? {
                println!("unlocked {username}");
            } else {
                println!("{username} had no wrong passwords on record");
            }
        }
        UserCmd::Remove { username } => {
            if !store.users().remove(&username).await? {
                bail!("no user {username}");
            }
            println!("removed {username}");
        }
        UserCmd::SetGroups { username, groups } => {
            store.users().set_groups(&username, &groups).await?;
            println!("{username}: groups {}", groups.join(", "));
        }
        UserCmd::List { json } => {
            let users = store.users().list().await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "username": u.username,
                            "display_name": u.display_name,
                            "enabled": u.enabled,
                            "groups": u.groups,
                            "valid_until": u.valid_until.map(fmt_ms),
                            "has_password": u.password_hash.is_some(),
                            "has_nt_hash": u.nt_hash.is_some(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<24} {:<8} {:<8} {:<24} VALID-UNTIL",
                    "USERNAME", "ENABLED", "NT-HASH", "GROUPS"
                );
                for u in users {
                    println!(
                        "{:<24} {:<8} {:<8} {:<24} {}",
                        u.username,
                        if u.enabled { "yes" } else { "no" },
                        if u.nt_hash.is_some() { "yes" } else { "no" },
                        u.groups.join(";"),
                        fmt_opt_ms(u.valid_until)
                    );
                }
            }
        }
        UserCmd::Import { file } => import_users(store, config, &file).await?,
    }
    Ok(())
}

/// One CSV row, checked but not yet hashed.
#[derive(Debug, PartialEq)]
pub struct ImportRow {
    pub line: u64,
    pub username: String,
    pub password: String,
    pub groups: Vec<String>,
    pub display_name: Option<String>,
}

/// Parses and checks the whole file; every bad row is reported by line.
pub fn parse_user_csv(text: &str) -> std::result::Result<Vec<ImportRow>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![format!("line 1: cannot read header: {e}")]),
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(ucol), Some(pcol)) = (col("username"), col("password")) else {
        return Err(vec![
            "line 1: header must name the columns username and password".into(),
        ]);
    };
    let known = ["username", "password", "groups", "display_name"];
    let mut errors: Vec<String> = headers
        .iter()
        .filter(|h| !known.iter().any(|k| k.eq_ignore_ascii_case(h)))
        .map(|h| {
            format!(
                "line 1: unknown column {h:?} (allowed: {})",
                known.join(", ")
            )
        })
        .collect();
    let (gcol, dcol) = (col("groups"), col("display_name"));
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |c: usize| record.get(c).unwrap_or("").to_string();
        let username = get(ucol);
        let password = get(pcol);
        let mut bad = |why: String| errors.push(format!("line {line}: {why}"));
        match validate_username(&username) {
            Err(why) => bad(why),
            Ok(u) if !seen.insert(u.to_string()) => bad(format!("username {u:?} appears twice")),
            Ok(_) => {}
        }
        if let Err(e) = credentials::check_new_password(&password) {
            bad(e.to_string());
        }
        let groups: Vec<String> = gcol
            .map(|c| {
                get(c)
                    .split(';')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let display_name = dcol.map(get).filter(|d| !d.is_empty());
        rows.push(ImportRow {
            line,
            username: username.trim().to_string(),
            password,
            groups,
            display_name,
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

async fn import_users(store: &Store, config: &Config, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = match parse_user_csv(&text) {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            bail!("{} error(s); nothing imported", errors.len());
        }
    };
    let mut existing = Vec::new();
    for r in &rows {
        if store.users().get(&r.username).await?.is_some() {
            existing.push(format!(
                "{}: line {}: user {} already exists",
                file.display(),
                r.line,
                r.username
            ));
        }
    }
    if !existing.is_empty() {
        for e in &existing {
            eprintln!("{e}");
        }
        bail!("{} error(s); nothing imported", existing.len());
    }
    // argon2id is slow by design: hash on every core.
    let store_nt = config.radius.store_nt_hash;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let new_users =
        tokio::task::spawn_blocking(move || hash_rows(rows, store_nt, threads)).await??;
    let n = store.users().import(&new_users).await?;
    println!("imported {n} users");
    Ok(())
}

fn hash_rows(rows: Vec<ImportRow>, store_nt: bool, threads: usize) -> Result<Vec<NewUser>> {
    let chunk = rows.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<Result<Vec<NewUser>>> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| {
                            Ok(NewUser {
                                username: r.username.clone(),
                                display_name: r.display_name.clone(),
                                password_hash: Some(
                                    credentials::hash_password(&r.password)
                                        .map_err(|e| anyhow::anyhow!("line {}: {e}", r.line))?,
                                ),
                                nt_hash: store_nt.then(|| mschap::nt_password_hash(&r.password)),
                                groups: r.groups.clone(),
                                valid_until: None,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("hashing thread failed")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(rows.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

fn parse_reply_pairs(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("--reply {p:?}: expected ATTRIBUTE=VALUE"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

async fn group_cmd(store: &Store, cmd: GroupCmd) -> Result<()> {
    match cmd {
        GroupCmd::Set { name, policy } => {
            let methods: Vec<String> = policy
                .methods
                .iter()
                .map(|m| m.to_ascii_lowercase())
                .collect();
            for m in &methods {
                if !["pap", "chap", "mschapv2", "mac", "eap"].contains(&m.as_str()) {
                    bail!("unknown method {m:?} (pap, chap, mschapv2, mac, eap)");
                }
            }
            let group = Group {
                name: name.clone(),
                vlan: policy.vlan,
                session_timeout: policy.session_timeout,
                idle_timeout: policy.idle_timeout,
                filter_id: policy.filter_id,
                class: policy.class,
                reply_attributes: parse_reply_pairs(&policy.reply)?,
                allowed_methods: methods,
            };
            store.groups().upsert(&group).await?;
            println!("group {name} saved");
        }
        GroupCmd::List { json } => {
            let groups = store.groups().list().await?;
            if json {
                let rows: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "name": g.name, "vlan": g.vlan, "session_timeout": g.session_timeout,
                            "idle_timeout": g.idle_timeout, "filter_id": g.filter_id, "class": g.class,
                            "reply": g.reply_attributes, "methods": g.allowed_methods,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<20} {:<8} {:<10} {:<10} {:<16} CLASS",
                    "GROUP", "VLAN", "SESSION", "IDLE", "FILTER-ID"
                );
                for g in groups {
                    println!(
                        "{:<20} {:<8} {:<10} {:<10} {:<16} {}",
                        g.name,
                        g.vlan.unwrap_or_default(),
                        g.session_timeout.map(|t| t.to_string()).unwrap_or_default(),
                        g.idle_timeout.map(|t| t.to_string()).unwrap_or_default(),
                        g.filter_id.unwrap_or_default(),
                        g.class.unwrap_or_default()
                    );
                }
            }
        }
        GroupCmd::Remove { name } => {
            if !store.groups().remove(&name).await? {
                bail!("no group {name}");
            }
            println!("removed group {name}");
        }
    }
    Ok(())
}

async fn nas_cmd(store: &Store, config: &Config, cmd: NasCmd) -> Result<()> {
    match cmd {
        NasCmd::Add {
            name,
            address,
            secret_stdin,
            profile,
            coa_port,
            legacy_no_message_authenticator,
        } => {
            if !secret_stdin {
                bail!("give the shared secret on standard input with --secret-stdin");
            }
            let address: ipnet::IpNet = address
                .parse()
                .or_else(|_| address.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("--address {address:?} is not an IP address or CIDR"))?;
            let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
            if profiles.get(&profile).is_none() {
                bail!(
                    "unknown profile {profile:?}; known: {}",
                    profiles.names().join(", ")
                );
            }
            let secret = read_secret_line("shared secret")?;
            if secret.len() < 8 {
                eprintln!("warning: a shared secret shorter than 8 characters is easy to guess");
            }
            store
                .nas()
                .add(&NewNas {
                    name: name.clone(),
                    address,
                    secret,
                    profile,
                    coa_port,
                    require_message_authenticator: !legacy_no_message_authenticator,
                })
                .await
                .map_err(conflict_context)?;
            println!("added NAS {name} ({address})");
        }
        NasCmd::List { json } => {
            let list = store.nas().list().await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|n| {
                        serde_json::json!({
                            "name": n.name, "address": n.address.to_string(), "profile": n.profile,
                            "coa_port": n.coa_port,
                            "require_message_authenticator": n.require_message_authenticator,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<20} {:<20} {:<14} {:<8} MSG-AUTH",
                    "NAS", "ADDRESS", "PROFILE", "COA"
                );
                for n in list {
                    println!(
                        "{:<20} {:<20} {:<14} {:<8} {}",
                        n.name,
                        n.address.to_string(),
                        n.profile,
                        n.coa_port,
                        if n.require_message_authenticator {
                            "required"
                        } else {
                            "legacy"
                        }
                    );
                }
            }
        }
        NasCmd::Remove { name } => {
            if !store.nas().remove(&name).await? {
                bail!("no NAS {name}");
            }
            println!("removed NAS {name}");
        }
    }
    Ok(())
}

async fn device_cmd(store: &Store, cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::Add {
            mac,
            owner,
            description,
            groups,
        } => {
            let mac = MacAddr::parse(&mac)?;
            store
                .devices()
                .add(&Device {
                    mac,
                    owner,
                    description,
                    groups,
                    created_at: now_ms(),
                })
                .await
                .map_err(conflict_context)?;
            println!("registered {mac}");
        }
        DeviceCmd::List { json } => {
            let list = store.devices().list().await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|d| serde_json::json!({"mac": d.mac.to_string(), "owner": d.owner, "description": d.description, "groups": d.groups}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<18} {:<20} {:<20} DESCRIPTION", "MAC", "OWNER", "GROUPS");
                for d in list {
                    println!(
                        "{:<18} {:<20} {:<20} {}",
                        d.mac.to_string(),
                        d.owner.unwrap_or_default(),
                        d.groups.join(";"),
                        d.description.unwrap_or_default()
                    );
                }
            }
        }
        DeviceCmd::Remove { mac } => {
            let mac = MacAddr::parse(&mac)?;
            if !store.devices().remove(mac).await? {
                bail!("no device {mac}");
            }
            println!("removed {mac}");
        }
    }
    Ok(())
}

async fn session_cmd(store: &Store, config: &Config, cmd: SessionCmd) -> Result<()> {
    match cmd {
        SessionCmd::List { open, limit, json } => {
            let list = store.accounting().list(open, limit).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "nas": s.nas_name, "nas_ip": s.nas_ip, "session_id": s.session_id,
                            "username": s.username, "mac": s.calling_station, "ap": s.called_station,
                            "framed_ip": s.framed_ip, "started": fmt_ms(s.started_ms),
                            "updated": fmt_ms(s.updated_ms), "stopped": s.stopped_ms.map(fmt_ms),
                            "input_octets": s.input_octets, "output_octets": s.output_octets,
                            "session_time": s.session_time, "terminate_cause": s.terminate_cause,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<14} {:<20} {:<16} {:<18} {:<20} {:>12} {:>12} STOPPED",
                    "NAS", "SESSION", "USER", "MAC", "STARTED", "IN", "OUT"
                );
                for s in list {
                    println!(
                        "{:<14} {:<20} {:<16} {:<18} {:<20} {:>12} {:>12} {}",
                        s.nas_name,
                        s.session_id,
                        s.username.unwrap_or_default(),
                        s.calling_station.unwrap_or_default(),
                        fmt_ms(s.started_ms),
                        s.input_octets,
                        s.output_octets,
                        fmt_opt_ms(s.stopped_ms)
                    );
                }
            }
        }
        SessionCmd::Disconnect {
            session_id,
            nas,
            coa,
        } => {
            let kind = if coa {
                coa::CoaKind::Coa
            } else {
                coa::CoaKind::Disconnect
            };
            let (nas_row, outcome) =
                disconnect(store, config, &session_id, nas.as_deref(), kind).await?;
            match outcome {
                coa::CoaOutcome::Ack => println!("{} acknowledged by {nas_row}", kind.name()),
                other => bail!("{} refused by {nas_row}: {}", kind.name(), other.describe()),
            }
        }
        SessionCmd::Export { since, output } => {
            let rows = store.accounting().since(parse_date(&since)?).await?;
            let mut w = csv_writer(output.as_deref())?;
            w.write_record([
                "started",
                "stopped",
                "nas",
                "nas_ip",
                "session_id",
                "username",
                "mac",
                "ap",
                "framed_ip",
                "input_octets",
                "output_octets",
                "session_time",
                "terminate_cause",
            ])?;
            for s in rows {
                w.write_record([
                    fmt_ms(s.started_ms),
                    fmt_opt_ms(s.stopped_ms),
                    s.nas_name,
                    s.nas_ip,
                    s.session_id,
                    s.username.unwrap_or_default(),
                    s.calling_station.unwrap_or_default(),
                    s.called_station.unwrap_or_default(),
                    s.framed_ip.unwrap_or_default(),
                    s.input_octets.to_string(),
                    s.output_octets.to_string(),
                    s.session_time.to_string(),
                    s.terminate_cause.unwrap_or_default(),
                ])?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

/// Sends Disconnect/CoA for a stored session to its NAS and records the
/// outcome as an event. Returns the NAS name and the outcome.
pub async fn disconnect(
    store: &Store,
    config: &Config,
    session_id: &str,
    nas: Option<&str>,
    kind: coa::CoaKind,
) -> Result<(String, coa::CoaOutcome)> {
    let candidates = store
        .accounting()
        .open_by_session_id(session_id, nas)
        .await?;
    let session = match candidates.as_slice() {
        [] => bail!(
            "no open session {session_id:?}{}",
            nas.map(|n| format!(" on {n}")).unwrap_or_default()
        ),
        [one] => one,
        _ => bail!("session id {session_id:?} is open on several NASes; name one with --nas"),
    };
    let settings = coa::CoaSettings {
        timeout: config.radius.coa_timeout,
        attempts: config.radius.coa_attempts,
    };
    Ok(coa::for_session(store, settings, session, kind, &[]).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_good_file() {
        let rows = parse_user_csv(
            "username,password,groups,display_name\nalice,pw1,staff;wifi,Alice Li\nbob,pw2,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].groups, vec!["staff", "wifi"]);
        assert_eq!(rows[0].display_name.as_deref(), Some("Alice Li"));
        assert_eq!(rows[1].groups, Vec::<String>::new());
    }

    #[test]
    fn csv_bad_rows_named_by_line() {
        let errs =
            parse_user_csv("username,password\nalice,pw\n,nopw\nalice,again\nbob,\n").unwrap_err();
        let all = errs.join("\n");
        assert!(all.contains("line 3"), "{all}");
        assert!(all.contains("line 4") && all.contains("twice"), "{all}");
        assert!(all.contains("line 5"), "{all}");
        assert!(!all.contains("line 2"), "{all}");
    }

    #[test]
    fn csv_bad_header_and_ragged_rows() {
        assert!(parse_user_csv("user,pass\na,b\n").is_err());
        assert!(parse_user_csv("username,password,shoe\na,b,c\n").unwrap_err()[0].contains("shoe"));
        assert!(parse_user_csv("username,password\na,b,c\n").is_err());
        assert!(parse_user_csv("").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_date("yesterday").is_err());
    }
}
