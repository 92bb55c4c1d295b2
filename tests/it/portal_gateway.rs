//! Gateway mode inside network namespaces the test creates: client ->
//! gateway (Portico, nftables) -> upstream web server. Needs root, `ip`,
//! `nft`, `curl` and `python3`; skips with a reason otherwise.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::helpers::*;

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Three namespaces: client, gateway, upstream; removed on drop.
struct Lab {
    client: String,
    gw: String,
    wan: String,
    children: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.gw, &self.wan] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

impl Lab {
    fn new() -> Lab {
        let tag = format!("{:06x}", rand::random::<u32>() & 0xffffff);
        let lab = Lab {
            client: format!("pcl{tag}"),
            gw: format!("pgw{tag}"),
            wan: format!("pwn{tag}"),
            children: Vec::new(),
        };
        for ns in [&lab.client, &lab.gw, &lab.wan] {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        let (c, g, w) = (&lab.client, &lab.gw, &lab.wan);
        sh(&[
            "ip", "link", "add", "vc0", "netns", c, "type", "veth", "peer", "name", "vg0", "netns",
            g,
        ]);
        sh(&[
            "ip", "link", "add", "vw0", "netns", g, "type", "veth", "peer", "name", "vu0", "netns",
            w,
        ]);
        for (ns, dev, addr) in [
            (c, "vc0", "10.77.0.2/24"),
            (g, "vg0", "10.77.0.1/24"),
            (g, "vw0", "10.78.0.1/24"),
            (w, "vu0", "10.78.0.2/24"),
        ] {
            sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        sh(&["ip", "-n", c, "route", "add", "default", "via", "10.77.0.1"]);
        sh(&[
            "ip",
            "-n",
            w,
            "route",
            "add",
            "10.77.0.0/24",
            "via",
            "10.78.0.1",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            g,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        lab
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).args(args);
        cmd
    }

    /// curl from the client: (status, redirect URL, body).
    fn curl(&self, args: &[&str]) -> (u16, String, String) {
        let body_file = tempfile::NamedTempFile::new().unwrap();
        let mut all = vec!["curl", "-s", "-m", "5", "-o"];
        let path = body_file.path().display().to_string();
        all.push(&path);
        all.extend(["-w", "%{http_code} %{redirect_url}"]);
        all.extend(args);
        let out = self.exec(&self.client, &all).output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (code, redirect) = text.split_once(' ').unwrap_or((&text, ""));
        (
            code.parse().unwrap_or(0),
            redirect.to_string(),
            std::fs::read_to_string(body_file.path()).unwrap_or_default(),
        )
    }
}

fn value(html: &str, name: &str) -> String {
    crate::portal_support::input_value(html, name).unwrap_or_default()
}

#[test]
fn gateway_mode_in_network_namespaces() {
    if !is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "gateway test needs root in CI"
        );
        eprintln!("skipping: gateway mode test needs root");
        return;
    }
    for tool in ["ip", "nft", "curl", "python3"] {
        if !have_tool(tool) {
            return;
        }
    }
    let mut lab = Lab::new();
    // The upstream web server.
    let web = lab
        .exec(
            &lab.wan,
            &["python3", "-m", "http.server", "80", "--bind", "10.78.0.2"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("http.server");
    lab.children.push(web);

    // Portico inside the gateway namespace.
    let env = TestEnv::new(&Db::Sqlite);
    env.add_user("alice", "correct horse battery", &["staff"]);
    let data = env.dir.path().join("data");
    let table = format!("portico{}", &lab.gw[3..]);
    let mut cmd = lab.exec(&lab.gw, &[portico_bin().to_str().unwrap(), "serve"]);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_DATA_DIR", &data)
        .env("PORTICO_HTTP__LISTEN", "10.77.0.1:8080")
        .env("PORTICO_ADMIN__LISTEN", "127.0.0.1:0")
        .env("PORTICO_RADIUS__AUTH_LISTEN", "127.0.0.1:0")
        .env("PORTICO_RADIUS__ACCT_LISTEN", "127.0.0.1:0")
        .env("PORTICO_SNMP__TRAP_LISTEN", "127.0.0.1:0")
        .env("PORTICO_PROFILES__DIR", repo_path("ap-profiles"))
        .env("PORTICO_PORTAL__PUBLIC_URL", "http://10.77.0.1:8080")
        .env("PORTICO_PORTAL__GATEWAY__ENABLED", "true")
        .env("PORTICO_PORTAL__GATEWAY__INTERFACE", "vg0")
        .env("PORTICO_PORTAL__GATEWAY__NFT_TABLE", &table)
        .env("PORTICO_PORTAL__GATEWAY__PORTAL_PORT", "8080")
        .env("PORTICO_LOG", "info")
        .current_dir(env.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = cmd.spawn().expect("portico serve in the gateway namespace");
    let stdout = server.stdout.take().unwrap();
    lab.children.push(server);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("portico reports its listeners");
        if let Some(rest) = line.strip_prefix("listening http ") {
            let addr: SocketAddr = rest.trim().parse().unwrap();
            assert_eq!(addr.port(), 8080);
            break;
        }
    }
    // The rules are installed as the server starts its tasks, which may be
    // just after it reports its listeners: poll for them.
    let list_rules = || {
        String::from_utf8_lossy(
            &lab.exec(&lab.gw, &["nft", "list", "table", "inet", &table])
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned()
    };
    let rules_deadline = Instant::now() + Duration::from_secs(10);
    let mut rules = list_rules();
    while !rules.contains("redirect to :8080") && Instant::now() < rules_deadline {
        std::thread::sleep(Duration::from_millis(50));
        rules = list_rules();
    }
    assert!(rules.contains("redirect to :8080"), "{rules}");

    // Before sign-in: HTTP anywhere lands on the portal, nothing else gets out.
    let (code, redirect, _) = lab.curl(&["http://10.78.0.2/news"]);
    assert_eq!(code, 302, "redirected to the portal");
    assert!(
        redirect.starts_with("http://10.77.0.1:8080/portal/gateway?url="),
        "{redirect}"
    );
    assert!(redirect.contains("10.78.0.2%2Fnews"), "{redirect}");
    let (code, _, _) = lab.curl(&["-m", "2", "http://10.78.0.2:81/"]);
    assert_eq!(code, 0, "other traffic dropped");

    // Sign in: the MAC comes from the gateway's neighbour table.
    let jar = tempfile::NamedTempFile::new().unwrap();
    let jar_path = jar.path().display().to_string();
    let (code, _, html) = lab.curl(&["-c", &jar_path, "-b", &jar_path, &redirect]);
    assert_eq!(code, 200, "{html}");
    let form = format!(
        "csrf={}&ctx={}&username=alice&password=correct%20horse%20battery",
        value(&html, "csrf"),
        value(&html, "ctx")
    );
    let (code, _, body) = lab.curl(&[
        "-c",
        &jar_path,
        "-b",
        &jar_path,
        "--data",
        &form,
        "http://10.77.0.1:8080/portal/gateway/staff",
    ]);
    assert_eq!(code, 303, "{body}");
    let set = String::from_utf8_lossy(
        &lab.exec(
            &lab.gw,
            &["nft", "list", "set", "inet", &table, "allowed_mac"],
        )
        .output()
        .unwrap()
        .stdout,
    )
    .into_owned();
    assert!(
        set.contains("timeout"),
        "client MAC added with a timeout: {set}"
    );

    // Out: the upstream answers directly.
    let (code, _, _) = lab.curl(&["http://10.78.0.2/"]);
    assert_eq!(code, 200, "signed-in client reaches the upstream");

    // Sign out: removed from the set, redirected again.
    let (_, _, launcher) = lab.curl(&[
        "-c",
        &jar_path,
        "-b",
        &jar_path,
        "http://10.77.0.1:8080/portal/launcher",
    ]);
    let (code, _, body) = lab.curl(&[
        "-c",
        &jar_path,
        "-b",
        &jar_path,
        "--data",
        &format!("csrf={}", value(&launcher, "csrf")),
        "http://10.77.0.1:8080/portal/logout",
    ]);
    assert_eq!(code, 200, "{body}");
    let (code, _, _) = lab.curl(&["http://10.78.0.2/"]);
    assert_eq!(code, 302, "signed out: back to the portal");
}
