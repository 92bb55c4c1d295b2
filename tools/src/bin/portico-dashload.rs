//! portico-dashload: the dashboard benchmark.
//!
//! `fill` makes a large site in a Portico store (SQLite data directory or
//! PostgreSQL URL): APs with a week of samples, open sessions and a long
//! authentication log, written in multi-row inserts. `load` then plays
//! concurrent administrators against a running controller's pages and API
//! (bearer token, loopback only), bounded in time, and prints p50/p99 per
//! route; `export` times a streamed CSV export and the server's peak RSS.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use portico::store::radio_pack::{pack, PackedRadio};
use rand::{Rng, SeedableRng};
use sqlx::{Any, AnyPool};

/// Longest load run, whatever the options say.
const MAX_LOAD: Duration = Duration::from_secs(600);

#[derive(Parser, Debug)]
#[command(name = "portico-dashload", version)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Fills a store with a large site.
    Fill {
        /// Data directory (SQLite lives here unless --database is given).
        #[arg(long)]
        data_dir: PathBuf,
        /// PostgreSQL URL; empty: SQLite in the data directory.
        #[arg(long, default_value = "")]
        database: String,
        #[arg(long, default_value_t = 5_000)]
        aps: usize,
        #[arg(long, default_value_t = 50_000)]
        sessions: usize,
        #[arg(long, default_value_t = 10_000_000)]
        auth_log: usize,
        /// Days of samples and log.
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
    /// Concurrent administrators against pages and API routes.
    Load {
        /// Management listener, e.g. http://127.0.0.1:8443
        #[arg(long)]
        url: String,
        /// API token (`portico admin token create`), sent on every request.
        #[arg(long, env = "PORTICO_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 20)]
        admins: usize,
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        duration: Duration,
    },
    /// Times one CSV export of the auth log and reports rows/s.
    Export {
        #[arg(long)]
        url: String,
        #[arg(long, env = "PORTICO_TOKEN")]
        token: String,
        /// The export's filter (query string of /logs/auth-log.csv).
        #[arg(long, default_value = "")]
        query: String,
        /// The server's PID, for its peak RSS (VmHWM) before and after.
        #[arg(long)]
        pid: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    match args.cmd {
        Cmd::Fill {
            data_dir,
            database,
            aps,
            sessions,
            auth_log,
            days,
        } => fill(&data_dir, &database, aps, sessions, auth_log, days).await,
        Cmd::Load {
            url,
            token,
            admins,
            duration,
        } => load(&url, &token, admins, duration.min(MAX_LOAD)).await,
        Cmd::Export {
            url,
            token,
            query,
            pid,
        } => export(&url, &token, &query, pid).await,
    }
}

fn now_ms() -> i64 {
    portico::clock::now_ms()
}

// --- fill ----------------------------------------------------------------------

async fn fill(
    data_dir: &std::path::Path,
    database: &str,
    aps: usize,
    sessions: usize,
    auth_log: usize,
    days: i64,
) -> Result<()> {
    std::fs::create_dir_all(data_dir)?;
    // Migrations (and the data key) through the product's own store.
    portico::store::Store::open(database, data_dir, 2)
        .await
        .context("opening the store")?;
    sqlx::any::install_default_drivers();
    let url = if database.is_empty() {
        format!("sqlite://{}", data_dir.join("portico.db").display())
    } else {
        database.to_string()
    };
    let pool = sqlx::pool::PoolOptions::<Any>::new()
        .max_connections(1)
        .connect(&url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let sqlite = database.is_empty();
    POSTGRES.store(!sqlite, std::sync::atomic::Ordering::Relaxed);
    if sqlite {
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&pool)
            .await?;
        sqlx::query("PRAGMA synchronous=OFF").execute(&pool).await?;
    }
    let now = now_ms();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(42);
    let t = Instant::now();
    fill_aps(&pool, aps, now, &mut rng).await?;
    eprintln!("aps: {aps} in {:?}", t.elapsed());
    let t = Instant::now();
    let samples = fill_samples(&pool, aps, days, now, &mut rng).await?;
    eprintln!("AP and radio samples: {samples} in {:?}", t.elapsed());
    let t = Instant::now();
    fill_sessions(&pool, sessions, aps, now, &mut rng).await?;
    eprintln!("open sessions: {sessions} in {:?}", t.elapsed());
    let t = Instant::now();
    fill_auth_log(&pool, auth_log, aps, days, now, &mut rng).await?;
    eprintln!("auth log: {auth_log} in {:?}", t.elapsed());
    // Fresh statistics, as a long-running site has.
    sqlx::query("ANALYZE").execute(&pool).await?;
    println!("filled: {aps} APs, {samples} AP and radio samples, {sessions} open sessions, {auth_log} auth-log rows");
    Ok(())
}

fn ap_name(i: usize) -> String {
    format!("ap-{i:05}")
}

fn mac(i: u64) -> String {
    let b = i.to_be_bytes();
    format!("02-00-{:02X}-{:02X}-{:02X}-{:02X}", b[4], b[5], b[6], b[7])
}

/// A value of a generated row.
enum Val {
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Val {
        Val::B(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I(v)
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::T(v.to_string())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::T(v)
    }
}

/// A multi-row INSERT: `$n` placeholders for PostgreSQL, `?` for SQLite
/// (which looks `$n` names up one by one: slow with thousands per
/// statement). sqlx's QueryBuilder writes `?` for Any, which PostgreSQL
/// refuses.
struct Multi {
    sql: String,
    vals: Vec<Val>,
}

/// Whether the fill writes to PostgreSQL (set once, before any insert).
static POSTGRES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct RowValues<'a>(&'a mut Vec<Val>);

impl RowValues<'_> {
    fn push_bind(self, v: impl Into<Val>) -> Self {
        self.0.push(v.into());
        self
    }
}

impl Multi {
    fn new(head: &str) -> Multi {
        Multi {
            sql: format!("{head} VALUES "),
            vals: Vec::new(),
        }
    }

    fn push_values<I>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        mut f: impl FnMut(RowValues<'_>, I),
    ) {
        let mut first = true;
        for item in items {
            let start = self.vals.len();
            f(RowValues(&mut self.vals), item);
            let n = self.vals.len() - start;
            if !first {
                self.sql.push(',');
            }
            first = false;
            self.sql.push('(');
            for k in 0..n {
                if k > 0 {
                    self.sql.push(',');
                }
                if POSTGRES.load(std::sync::atomic::Ordering::Relaxed) {
                    self.sql.push_str(&format!("${}", start + k + 1));
                } else {
                    self.sql.push('?');
                }
            }
            self.sql.push(')');
        }
    }

    fn build(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for v in &self.vals {
            q = match v {
                Val::I(i) => q.bind(*i),
                Val::T(t) => q.bind(t.as_str()),
                Val::B(b) => q.bind(b.clone()),
            };
        }
        q
    }
}

/// Rows per multi-row INSERT (bound parameters stay under both backends'
/// limits).
const BATCH: usize = 1_000;

async fn fill_aps(pool: &AnyPool, n: usize, now: i64, rng: &mut impl Rng) -> Result<()> {
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let mut q = Multi::new(
            "INSERT INTO aps (name, kind, mac, address, profile, building, floor, room, \
             snmp_version, status, clients, last_poll_ms, last_ok_ms, polled_model, created_at, updated_at) ",
        );
        q.push_values(chunk, |b, i| {
            let i = *i;
            let up = rng.gen_range(0..100) < 97;
            b.push_bind(ap_name(i))
                .push_bind("ap")
                .push_bind(mac(0xA0_0000 + i as u64))
                .push_bind(format!(
                    "10.{}.{}.{}",
                    20 + i / 65_000,
                    (i / 250) % 250,
                    i % 250 + 1
                ))
                .push_bind(["aruba", "huawei", "unifi", "ruckus"][i % 4])
                .push_bind(format!("B{}", i % 5 + 1))
                .push_bind(format!("{}", (i / 5) % 20 + 1))
                .push_bind(format!("R{}", i % 50 + 100))
                .push_bind("none")
                .push_bind(if up { "up" } else { "down" })
                .push_bind(if up { rng.gen_range(0..60i64) } else { 0 })
                .push_bind(now - 30_000)
                .push_bind(now - 30_000)
                .push_bind("AP-515")
                .push_bind(now)
                .push_bind(now);
        });
        q.build().execute(pool).await?;
    }
    Ok(())
}

/// A week of per-AP samples: 5-minute raw samples for the last day, hourly
/// before; radio samples (two radios) raw for the last hour.
async fn fill_samples(
    pool: &AnyPool,
    aps: usize,
    days: i64,
    now: i64,
    rng: &mut impl Rng,
) -> Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar::<Any, i64>("SELECT id FROM aps ORDER BY id")
        .fetch_all(pool)
        .await?;
    // (ap_id, at_ms, resolution, clients)
    let mut rows: Vec<(i64, i64, i64, i64)> = Vec::new();
    let mut total = 0;
    for id in ids.iter().take(aps) {
        for step in 0..288 {
            rows.push((*id, now - step * 300_000, 0, rng.gen_range(0..60)));
        }
        for hour in 24..(days * 24) {
            rows.push((*id, now - hour * 3_600_000, 1, rng.gen_range(0..60)));
        }
        if rows.len() >= 50_000 {
            total += rows.len();
            insert_samples(pool, &rows).await?;
            rows.clear();
        }
    }
    total += rows.len();
    insert_samples(pool, &rows).await?;
    // Two radios per AP, packed one row per AP per sample (as the poller stores them).
    let mut slots = Vec::new();
    let mut polls = Vec::new();
    for id in ids.iter().take(aps) {
        slots.push((*id, 0i64, "2.4"));
        slots.push((*id, 1i64, "5"));
        for step in 0..12 {
            let (u24, u5) = (rng.gen_range(1..95i64), rng.gen_range(1..95i64));
            let data = pack(&[
                PackedRadio {
                    slot: 0,
                    channel: Some(6),
                    utilization: Some(u24),
                    clients: Some(u24 / 3),
                    ..PackedRadio::default()
                },
                PackedRadio {
                    slot: 1,
                    channel: Some(36),
                    utilization: Some(u5),
                    clients: Some(u5 / 3),
                    ..PackedRadio::default()
                },
            ]);
            polls.push((*id, now - step * 300_000, u24.max(u5), data));
        }
    }
    for chunk in slots.chunks(BATCH) {
        let mut q = Multi::new("INSERT INTO ap_radios (ap_id, slot, name) ");
        q.push_values(chunk, |b, (id, slot, name)| {
            b.push_bind(*id).push_bind(*slot).push_bind(*name);
        });
        q.build().execute(pool).await?;
    }
    for chunk in polls.chunks(BATCH) {
        let mut q =
            Multi::new("INSERT INTO radio_polls (ap_id, at_ms, resolution, busiest, data) ");
        q.push_values(chunk, |b, (id, at, busiest, data)| {
            b.push_bind(*id)
                .push_bind(*at)
                .push_bind(0i64)
                .push_bind(*busiest)
                .push_bind(data.clone());
        });
        q.build().execute(pool).await?;
    }
    let radios = polls.len() * 2;
    Ok(total + radios)
}

async fn insert_samples(pool: &AnyPool, rows: &[(i64, i64, i64, i64)]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in rows.chunks(BATCH) {
        let mut q = Multi::new("INSERT INTO ap_samples (ap_id, at_ms, resolution, up, clients) ");
        q.push_values(chunk, |b, (id, at, res, c)| {
            b.push_bind(*id)
                .push_bind(*at)
                .push_bind(*res)
                .push_bind(1i64)
                .push_bind(*c);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn fill_sessions(
    pool: &AnyPool,
    n: usize,
    aps: usize,
    now: i64,
    rng: &mut impl Rng,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let mut q = Multi::new(
            "INSERT INTO acct_sessions (nas_name, nas_ip, session_id, username, calling_station, \
             called_station, framed_ip, started_ms, updated_ms, input_octets, output_octets, session_time) ",
        );
        q.push_values(chunk, |b, i| {
            let i = *i;
            let started = now - rng.gen_range(60_000..8 * 3_600_000i64);
            b.push_bind(format!("nas-{}", i % 20))
                .push_bind(format!("10.0.0.{}", i % 20 + 1))
                .push_bind(format!("S{i:08X}"))
                .push_bind(format!("user{}", i % 20_000))
                .push_bind(mac(i as u64))
                .push_bind(ap_name(i % aps.max(1)))
                .push_bind(format!(
                    "172.{}.{}.{}",
                    16 + i / 65_000,
                    (i / 250) % 250,
                    i % 250 + 1
                ))
                .push_bind(started)
                .push_bind(now - 60_000)
                .push_bind(rng.gen_range(0..1_000_000_000i64))
                .push_bind(rng.gen_range(0..1_000_000_000i64))
                .push_bind((now - started) / 1000);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn fill_auth_log(
    pool: &AnyPool,
    n: usize,
    aps: usize,
    days: i64,
    now: i64,
    rng: &mut impl Rng,
) -> Result<()> {
    let span = days * 86_400_000;
    let start = now - span;
    let per_tx = 100_000;
    let mut done = 0;
    let t = Instant::now();
    while done < n {
        let count = per_tx.min(n - done);
        let mut tx = pool.begin().await?;
        let rows: Vec<usize> = (done..done + count).collect();
        for chunk in rows.chunks(BATCH) {
            let mut q = Multi::new(
                "INSERT INTO auth_log (at_ms, username, mac, nas_name, nas_ip, ap, method, outcome, reason, client_ip, ssid) ",
            );
            q.push_values(chunk, |b, i| {
                let i = *i;
                // Oldest first, as the log grows.
                let at = start + (i as i64) * span / n as i64;
                let ok = rng.gen_range(0..100) < 93;
                let user = i % 20_000;
                b.push_bind(at)
                    .push_bind(format!("user{user}"))
                    .push_bind(mac(user as u64))
                    .push_bind(format!("nas-{}", i % 20))
                    .push_bind(format!("10.0.0.{}", i % 20 + 1))
                    .push_bind(ap_name(i % aps.max(1)))
                    .push_bind(["peap", "pap", "portal-staff", "mac"][i % 4])
                    .push_bind(if ok { "accept" } else { "reject" })
                    .push_bind(if ok { "" } else { "wrong password" })
                    .push_bind(format!("172.16.{}.{}", (user / 250) % 250, user % 250 + 1))
                    .push_bind("staff");
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        done += count;
        if done % 1_000_000 == 0 {
            eprintln!(
                "  auth log {done} ({:.0} rows/s)",
                done as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

// --- load ----------------------------------------------------------------------------

/// (label, path, target p99 ms) of every route the benchmark plays.
const ROUTES: &[(&str, &str, u64)] = &[
    ("overview page", "/", 50),
    ("overview API", "/api/v1/overview", 50),
    ("APs page", "/aps", 100),
    ("APs page, search", "/aps?q=ap-001", 100),
    (
        "APs page, filter",
        "/aps?building=B2&floor=7&status=up",
        100,
    ),
    ("APs API", "/api/v1/aps?limit=100", 100),
    ("AP API", "/api/v1/aps/ap-00123", 100),
    ("sessions page", "/sessions", 100),
    ("sessions page, search", "/sessions?q=user123", 100),
    ("sessions API", "/api/v1/sessions?open=true&limit=100", 100),
    ("auth log page", "/logs", 100),
    ("auth log page, user", "/logs?user=user4242", 100),
    ("auth log API", "/api/v1/auth-log?limit=100", 100),
    (
        "auth log API, rejects",
        "/api/v1/auth-log?outcome=reject&limit=100",
        100,
    ),
    ("alerts page", "/alerts", 100),
    ("NAS page", "/nas", 100),
    ("audit page", "/audit", 100),
    ("audit API", "/api/v1/audit?limit=100", 100),
    ("timeline page", "/troubleshoot?q=user4242", 200),
    ("timeline API", "/api/v1/troubleshoot?user=user777", 200),
    (
        "timeline API, MAC",
        "/api/v1/troubleshoot?mac=02-00-00-00-10-00",
        200,
    ),
];

async fn load(url: &str, token: &str, admins: usize, duration: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(admins)
        .timeout(Duration::from_secs(30))
        .build()?;
    let auth = format!("Bearer {token}");
    // Every route answers before the clock starts (and warms caches).
    for (label, path, _) in ROUTES {
        let r = client
            .get(format!("{url}{path}"))
            .header("authorization", &auth)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{label} {path}: {}", r.status());
        }
        let _ = r.bytes().await?;
    }
    let deadline = Instant::now() + duration;
    let samples: Arc<std::sync::Mutex<Vec<Vec<u64>>>> =
        Arc::new(std::sync::Mutex::new(vec![Vec::new(); ROUTES.len()]));
    let mut tasks = Vec::new();
    for a in 0..admins {
        let client = client.clone();
        let auth = auth.clone();
        let url = url.to_string();
        let samples = samples.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = vec![Vec::new(); ROUTES.len()];
            let mut k = a;
            while Instant::now() < deadline {
                let (_, path, _) = ROUTES[k % ROUTES.len()];
                k += 1;
                let t = Instant::now();
                let Ok(r) = client
                    .get(format!("{url}{path}"))
                    .header("authorization", &auth)
                    .send()
                    .await
                else {
                    continue;
                };
                let ok = r.status().is_success();
                let _ = r.bytes().await;
                if ok {
                    mine[(k - 1) % ROUTES.len()].push(t.elapsed().as_micros() as u64);
                }
            }
            if let Ok(mut all) = samples.lock() {
                for (i, v) in mine.into_iter().enumerate() {
                    all[i].extend(v);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut all = samples
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    println!("| route | requests | p50 ms | p99 ms | target p99 ms | |");
    println!("|---|---:|---:|---:|---:|---|");
    for (i, (label, path, target)) in ROUTES.iter().enumerate() {
        let v = &mut all[i];
        v.sort_unstable();
        let pct = |p: f64| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
            v[idx] as f64 / 1000.0
        };
        let p99 = pct(0.99);
        println!(
            "| {label} (`{path}`) | {} | {:.1} | {:.1} | {target} | {} |",
            v.len(),
            pct(0.5),
            p99,
            if p99 <= *target as f64 { "ok" } else { "OVER" }
        );
    }
    Ok(())
}

// --- export ----------------------------------------------------------------------------

/// A `/proc/PID/status` figure in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn export(url: &str, token: &str, query: &str, pid: Option<u32>) -> Result<()> {
    let before = pid.and_then(|p| proc_status_kib(p, "VmRSS:"));
    let t = Instant::now();
    let mut r = reqwest::Client::new()
        .get(format!("{url}/logs/auth-log.csv?{query}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("export: {}", r.status());
    }
    let (mut bytes, mut lines) = (0u64, 0u64);
    let mut max_rss = before.unwrap_or(0);
    while let Some(chunk) = r.chunk().await? {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if let Some(rss) = pid.and_then(|p| proc_status_kib(p, "VmRSS:")) {
            max_rss = max_rss.max(rss);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    println!(
        "export: {rows} rows, {:.1} MiB in {secs:.2} s = {:.0} rows/s",
        bytes as f64 / 1_048_576.0,
        rows as f64 / secs
    );
    if let Some(pid) = pid {
        println!(
            "server RSS: {} MiB before, {} MiB at most during the export; peak RSS of the run (VmHWM) {} MiB",
            before.unwrap_or(0) / 1024,
            max_rss / 1024,
            proc_status_kib(pid, "VmHWM:").unwrap_or(0) / 1024
        );
    }
    Ok(())
}
