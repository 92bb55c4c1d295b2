//! Test harness: the real `portico` binary on port-0 listeners with its own
//! data directory (and its own PostgreSQL database for the PostgreSQL half),
//! driven over the wire and through its CLI.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portico::radius::wire;

pub const SECRET: &str = "testing123-secret";

/// Which store the server under test uses.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite,
    Postgres(String),
}

impl Db {
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// SQLite always; PostgreSQL when PORTICO_TEST_DATABASE_URL is set, each
/// call in a fresh database of its own. Without the URL the PostgreSQL half
/// is skipped with a printed reason (and fails in CI).
pub fn backends() -> Vec<Db> {
    let mut out = vec![Db::Sqlite];
    match std::env::var("PORTICO_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => out.push(Db::Postgres(fresh_pg_database(&base))),
        _ => {
            if in_ci() {
                panic!(
                    "PORTICO_TEST_DATABASE_URL is not set but CI is: the PostgreSQL half must run"
                );
            }
            eprintln!("skipping PostgreSQL half: PORTICO_TEST_DATABASE_URL not set");
        }
    }
    out
}

/// Runs an async test body once per backend ([`backends`]), each on a
/// fresh two-thread runtime.
pub fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in backends() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(body(db));
    }
}

fn fresh_pg_database(base: &str) -> String {
    use rand::Rng;
    let name = format!("portico_it_{:016x}", rand::thread_rng().gen::<u64>());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .expect("connect to PORTICO_TEST_DATABASE_URL");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
    });
    match base.rfind('/') {
        Some(i) if !base[..i].ends_with('/') => format!("{}/{name}", &base[..i]),
        _ => format!("{}/{name}", base.trim_end_matches('/')),
    }
}

/// True if `tool` is on PATH. Missing: skip with a reason, or fail in CI.
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if in_ci() {
            panic!("{tool} is required in CI (.ci/run installs it)");
        }
        eprintln!("skipping: {tool} not installed");
    }
    found
}

pub fn portico_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_portico"))
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A data directory and config (environment) shared by the server and CLI.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub db: Db,
    env: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new(db: &Db) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = vec![
            (
                "PORTICO_DATA_DIR".to_string(),
                dir.path().join("data").display().to_string(),
            ),
            ("PORTICO_HTTP__LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTICO_ADMIN__LISTEN".into(), "127.0.0.1:0".into()),
            // Plain HTTP on loopback; the HTTPS default has its own test.
            ("PORTICO_ADMIN__TLS".into(), "false".into()),
            ("PORTICO_RADIUS__AUTH_LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTICO_RADIUS__ACCT_LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTICO_RADIUS__REFRESH_INTERVAL".into(), "100ms".into()),
            ("PORTICO_RADIUS__COA_TIMEOUT".into(), "300ms".into()),
            // Each server its own trap port (the default 1162 is shared).
            ("PORTICO_SNMP__TRAP_LISTEN".into(), "127.0.0.1:0".into()),
            (
                "PORTICO_PROFILES__DIR".into(),
                repo_path("ap-profiles").display().to_string(),
            ),
            ("PORTICO_LOG".into(), "info,portico=debug".into()),
        ];
        if let Db::Postgres(url) = db {
            env.push(("PORTICO_DATABASE__URL".into(), url.clone()));
        }
        TestEnv {
            dir,
            db: db.clone(),
            env,
        }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(portico_bin());
        cmd.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// Runs `portico <args>` with `stdin`; returns the output.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn portico");
        if let Some(mut pipe) = child.stdin.take() {
            if let Some(text) = stdin {
                let _ = pipe.write_all(text.as_bytes());
            }
        }
        child.wait_with_output().expect("wait portico")
    }

    /// Like `cli` but panics with the output unless it succeeded.
    pub fn cli_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli(args, stdin);
        assert!(
            out.status.success(),
            "portico {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// NAS for loopback with the test secret.
    pub fn add_loopback_nas(&self, name: &str, extra: &[&str]) {
        let mut args = vec![
            "nas",
            "add",
            name,
            "--address",
            "127.0.0.0/8",
            "--secret-stdin",
        ];
        args.extend_from_slice(extra);
        self.cli_ok(&args, Some(&format!("{SECRET}\n")));
    }

    pub fn add_user(&self, name: &str, password: &str, groups: &[&str]) {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        for g in groups {
            args.push("--group");
            args.push(g);
        }
        self.cli_ok(&args, Some(&format!("{password}\n")));
    }

    pub fn start(&self) -> TestServer {
        TestServer::start(self, &[])
    }

    /// Like `start`, and also waits for the named extra listeners
    /// (e.g. `snmp-trap`); see `TestServer::listener`.
    pub fn start_with(&self, extra: &[&str]) -> TestServer {
        TestServer::start(self, extra)
    }

    pub async fn open_store(&self) -> portico::store::Store {
        let url = match &self.db {
            Db::Sqlite => String::new(),
            Db::Postgres(u) => u.clone(),
        };
        portico::store::Store::open(&url, &self.dir.path().join("data"), 2)
            .await
            .expect("open store")
    }
}

pub struct TestServer {
    child: Child,
    pub http: SocketAddr,
    /// The management listener (dashboard, API, /metrics).
    pub admin: SocketAddr,
    pub auth: SocketAddr,
    pub acct: SocketAddr,
    /// `(name, password)` of every account the first start made.
    pub admin_accounts: Vec<(String, String)>,
    log: PathBuf,
    /// Every `listening NAME ADDR` line read before start returned.
    listeners: Vec<(String, SocketAddr)>,
}

impl TestServer {
    fn start(env: &TestEnv, extra: &[&str]) -> TestServer {
        let log = env.dir.path().join(format!(
            "server-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut child = env
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn portico serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining so the server never blocks on stdout.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut http, mut auth, mut acct) = (None, None, None);
        let mut admin = None;
        let mut admin_accounts = Vec::new();
        let mut listeners: Vec<(String, SocketAddr)> = Vec::new();
        let missing_extra =
            |l: &Vec<(String, SocketAddr)>| extra.iter().any(|x| !l.iter().any(|(n, _)| n == x));
        while http.is_none()
            || admin.is_none()
            || auth.is_none()
            || acct.is_none()
            || missing_extra(&listeners)
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "server did not report its listeners; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            };
            if let Some(rest) = line.strip_prefix("listening ") {
                let mut parts = rest.split_whitespace();
                let name = parts.next().unwrap_or("");
                let addr: SocketAddr = parts
                    .next()
                    .unwrap_or("")
                    .parse()
                    .expect("listener address");
                listeners.push((name.to_string(), addr));
                match name {
                    "http" => http = Some(addr),
                    "admin" => admin = Some(addr),
                    "radius-auth" => auth = Some(addr),
                    "radius-acct" => acct = Some(addr),
                    _ => {}
                }
            } else if let Some(i) = line.find("with password: ") {
                let password = line[i + "with password: ".len()..].trim().to_string();
                let name = line.split('\'').nth(1).unwrap_or_default().to_string();
                admin_accounts.push((name, password));
            }
        }
        TestServer {
            child,
            http: http.expect("http"),
            admin: admin.expect("admin"),
            auth: auth.expect("auth"),
            acct: acct.expect("acct"),
            admin_accounts,
            log,
            listeners,
        }
    }

    /// The address of a listener named in the server's `listening` lines
    /// (those read before start returned; see `TestEnv::start_with`).
    pub fn listener(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET over plain HTTP/1.1; returns (status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.http, path)
    }

    /// GET on the management listener (plain HTTP in tests).
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin, path)
    }

    /// Value of a metric line that starts with `prefix` (labels included).
    pub fn metric(&self, prefix: &str) -> f64 {
        let (_, body) = self.admin_get("/metrics");
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls until `cond` holds or the deadline passes.
    pub fn wait_for(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; server log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("TEST_LOG").is_some() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- server log (last lines) ---");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = crate::portal_support::request(addr, "GET", path, &[], None);
    (r.status, r.body)
}

/// Result of one radclient run.
pub struct RadclientResult {
    pub output: String,
}

impl RadclientResult {
    pub fn got(&self, code: &str) -> bool {
        self.output.contains(&format!("Received {code}"))
    }
}

/// `radclient -x` with the attribute list on stdin.
pub fn radclient(
    server: SocketAddr,
    command: &str,
    secret: &str,
    attributes: &str,
) -> RadclientResult {
    let mut child = Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "1"])
        .arg(server.to_string())
        .arg(command)
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn radclient");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(attributes.as_bytes());
    }
    let out = child.wait_with_output().expect("radclient output");
    RadclientResult {
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// A raw UDP RADIUS client for what radclient cannot do (malformed
/// packets, exact retransmissions).
pub struct RawClient {
    pub socket: UdpSocket,
    pub server: SocketAddr,
}

impl RawClient {
    pub fn new(server: SocketAddr) -> RawClient {
        Self::bound(server, "127.0.0.1")
    }

    /// A client on another loopback address (another NAS, as far as the
    /// server can tell).
    pub fn bound(server: SocketAddr, ip: &str) -> RawClient {
        let socket = UdpSocket::bind((ip, 0)).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(700)))
            .ok();
        RawClient { socket, server }
    }

    pub fn send(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.server).expect("send");
    }

    pub fn recv(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        match self.socket.recv_from(&mut buf) {
            Ok((n, _)) => Some(buf[..n].to_vec()),
            Err(_) => None,
        }
    }

    pub fn exchange(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.send(bytes);
        self.recv()
    }
}

/// An Access-Request with PAP and Message-Authenticator, and its authenticator.
pub fn pap_request(
    id: u8,
    user: &str,
    password: &str,
    secret: &str,
    extra: &[(u8, &[u8])],
) -> (Vec<u8>, [u8; 16]) {
    let auth = wire::random_authenticator();
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 1, user.as_bytes()).unwrap();
    let hidden =
        wire::encrypt_user_password(password.as_bytes(), secret.as_bytes(), &auth).unwrap();
    wire::push_attribute(&mut attrs, 2, &hidden).unwrap();
    for (t, v) in extra {
        wire::push_attribute(&mut attrs, *t, v).unwrap();
    }
    (
        wire::encode_request(1, id, &auth, &attrs, secret.as_bytes()).unwrap(),
        auth,
    )
}

/// An Accounting-Request (authenticator computed).
pub fn acct_request(
    id: u8,
    status: u32,
    session: &str,
    user: &str,
    secret: &str,
    extra: &[(u8, &[u8])],
) -> Vec<u8> {
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 40, &status.to_be_bytes()).unwrap();
    wire::push_attribute(&mut attrs, 44, session.as_bytes()).unwrap();
    wire::push_attribute(&mut attrs, 1, user.as_bytes()).unwrap();
    wire::push_attribute(&mut attrs, 4, &[127, 0, 0, 1]).unwrap();
    for (t, v) in extra {
        wire::push_attribute(&mut attrs, *t, v).unwrap();
    }
    wire::encode_request(4, id, &[0u8; 16], &attrs, secret.as_bytes()).unwrap()
}
