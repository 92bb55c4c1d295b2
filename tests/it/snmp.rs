//! SNMP monitoring against real peers: net-snmp's snmpd serving our fixture
//! tables (written from the public MIB definitions) for the generic and
//! Cisco AireOS profiles, v3 authPriv, snmptrap, the simulator, and
//! malformed replies from a fake agent. Every vendor profile is also polled
//! from recorded walks in `snmp_walks.rs`.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico::profiles::Profiles;
use portico::snmp::ber;
use portico::snmp::client::{
    AuthProtocol, Client, Credentials, PrivProtocol, RequestOptions, SnmpStats, V3User,
};
use portico::snmp::collect::PollResult;
use portico::snmp::oid::Oid;
use portico::snmp::scheduler::poll_device;
use portico::snmp::value::Value;

use crate::helpers::{backends, have_tool, repo_path, TestEnv};

const COMMUNITY: &str = "fixture-community";
const V3_USER: &str = "portico";
const V3_AUTH: &str = "auth-pass-123";
const V3_PRIV: &str = "priv-pass-123";

fn fixtures() -> PathBuf {
    repo_path("tests/fixtures/snmp")
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// snmpd on 127.0.0.1 with the fixture tables, v2c and a v3 authPriv user.
pub(crate) struct Snmpd {
    child: Child,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Snmpd {
    fn start(sys_object_id: &str) -> Option<Snmpd> {
        Snmpd::start_with(
            sys_object_id,
            &[
                (".1.3.6.1.4.1.14179", "cisco-wlc.walk"),
                (".1.3.6.1.4.1.14823", "aruba.walk"),
                (".1.3.6.1.4.1.2011", "huawei.walk"),
                (".1.2.840.10036", "generic.walk"),
            ],
        )
    }

    /// As `start`, serving each (subtree, walk file of tests/fixtures/snmp).
    pub(crate) fn start_with(sys_object_id: &str, walks: &[(&str, &str)]) -> Option<Snmpd> {
        if !Path::new("/usr/sbin/snmpd").exists() && !have_tool("snmpd") {
            return None;
        }
        let bin = if Path::new("/usr/sbin/snmpd").exists() {
            "/usr/sbin/snmpd".to_string()
        } else {
            "snmpd".to_string()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let f = fixtures();
        // pass_persist: one awk process per subtree answers from memory, so
        // a loaded machine does not fork per varbind.
        let pass = |prefix: &str, walk: &str| {
            format!(
                "pass_persist {prefix} /usr/bin/awk -f {} {}\n",
                f.join("pass_persist.awk").display(),
                f.join(walk).display()
            )
        };
        let passes: String = walks
            .iter()
            .map(|(prefix, walk)| pass(prefix, walk))
            .collect();
        let conf = format!(
            "rocommunity {COMMUNITY} 127.0.0.1\nsysName lobby-wlc\nsysObjectID {sys_object_id}\n\
             {passes}createUser {V3_USER} SHA-256 \"{V3_AUTH}\" AES \"{V3_PRIV}\"\nrouser {V3_USER} priv\n",
        );
        let conf_path = dir.path().join("snmpd.conf");
        std::fs::write(&conf_path, conf).expect("write snmpd.conf");
        let port = free_udp_port();
        let child = Command::new(&bin)
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf_path)
            .arg(format!("udp:127.0.0.1:{port}"))
            .env("SNMP_PERSISTENT_DIR", dir.path())
            .env("MIBS", "")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn snmpd");
        let mut d = Snmpd {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        };
        assert!(d.wait_ready(), "snmpd did not answer on {}", d.addr);
        Some(d)
    }

    /// Polls sysName until the agent answers (no fixed sleeps).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(100))).ok();
        let req = ber::message(
            1,
            COMMUNITY.as_bytes(),
            ber::PDU_GET,
            1,
            0,
            0,
            &[(Oid::parse("1.3.6.1.2.1.1.5.0").unwrap(), Value::Null)],
        );
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let _ = sock.send_to(&req, self.addr);
            let mut buf = [0u8; 1500];
            if sock.recv_from(&mut buf).is_ok() {
                return true;
            }
        }
        false
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn shipped() -> Profiles {
    Profiles::load_dir(&repo_path("ap-profiles")).unwrap_or_else(|e| panic!("{e}"))
}

fn opts() -> RequestOptions {
    RequestOptions {
        timeout: Duration::from_millis(1500),
        retries: 1,
        ..RequestOptions::default()
    }
}

pub(crate) fn v2c() -> Credentials {
    Credentials::V2c {
        community: COMMUNITY.into(),
    }
}

pub(crate) async fn poll(addr: SocketAddr, creds: &Credentials, profile: &str) -> PollResult {
    let profiles = shipped();
    let p = profiles.get(profile).expect("profile");
    poll_device(addr, creds, p, opts(), Arc::new(SnmpStats::default()))
        .await
        .unwrap_or_else(|e| panic!("polling {profile}: {e}"))
}

#[tokio::test]
async fn vendor_profiles_against_snmpd() {
    let Some(agent) = Snmpd::start(".1.3.6.1.4.1.9.1.1069") else {
        return;
    };
    let a = agent.addr;

    // Generic: MIB-II, IF-MIB (snmpd's own interfaces), IEEE 802.11 radios.
    let g = poll(a, &v2c(), "generic").await;
    assert_eq!(g.system.name.as_deref(), Some("lobby-wlc"));
    assert_eq!(g.system.object_id.as_deref(), Some("1.3.6.1.4.1.9.1.1069"));
    assert!(g.system.uptime_ticks.is_some());
    let chans: Vec<_> = g
        .radios
        .iter()
        .map(|r| (r.index.as_str(), r.channel, r.tx_power))
        .collect();
    // dot11CurrentTxPowerLevel is a level, not dBm: not read.
    assert_eq!(chans, [("2", Some(6), None), ("3", Some(36), None)]);
    assert!(
        g.interfaces
            .iter()
            .any(|i| i.descr.as_deref() == Some("lo")),
        "{:?}",
        g.interfaces
    );

    // Cisco AireOS: two APs, radios joined by MAC, a client with RSSI/SNR.
    let c = poll(a, &v2c(), "cisco-wlc").await;
    assert_eq!(c.aps.len(), 2);
    let lobby = &c.aps[0];
    assert_eq!(lobby.name.as_deref(), Some("ap-lobby"));
    assert_eq!(lobby.mac.as_deref(), Some("00:1a:0b:01:02:03"));
    assert_eq!(lobby.ip.as_deref(), Some("10.20.0.11"));
    assert_eq!(lobby.model.as_deref(), Some("AIR-AP2802I-H-K9"));
    assert_eq!(lobby.serial.as_deref(), Some("FCW2201A0AA"));
    assert_eq!(lobby.firmware.as_deref(), Some("8.10.185.0"));
    assert_eq!((lobby.up, c.aps[1].up), (Some(true), Some(false)));
    assert_eq!(c.radios.len(), 2);
    let r0 = &c.radios[0];
    assert!(r0.ap.matches(lobby), "{r0:?}");
    assert_eq!(
        (r0.channel, r0.tx_power, r0.clients, r0.utilization),
        // bsnAPIfPhyTxPowerLevel is a level 1-8, not dBm: not read.
        (Some(6), None, Some(5), Some(35))
    );
    assert_eq!(
        (c.radios[1].channel, c.radios[1].utilization),
        (Some(36), Some(12))
    );
    assert_eq!(c.clients.len(), 1);
    let cl = &c.clients[0];
    assert_eq!(cl.mac.as_deref(), Some("3c:22:fb:00:00:01"));
    assert_eq!(
        (cl.ip.as_deref(), cl.user.as_deref(), cl.ssid.as_deref()),
        (Some("10.30.0.57"), Some("alice"), Some("Staff"))
    );
    assert_eq!(cl.ap.as_deref(), Some("00:1a:0b:01:02:03"));
    assert_eq!((cl.rssi, cl.snr), (Some(-61), Some(30)));

    // The other vendors are polled from recorded walks through
    // `portico simulate --walk` (tests/it/snmp_walks.rs).
}

#[tokio::test]
async fn v3_auth_priv_against_snmpd() {
    let Some(agent) = Snmpd::start(".1.3.6.1.4.1.8072.3.2.10") else {
        return;
    };
    let user = |auth: &str| {
        Credentials::V3(V3User {
            user: V3_USER.into(),
            auth: Some((AuthProtocol::Sha256, auth.into())),
            privacy: Some((PrivProtocol::Aes128, V3_PRIV.into())),
        })
    };
    let g = poll(agent.addr, &user(V3_AUTH), "generic").await;
    assert_eq!(g.system.name.as_deref(), Some("lobby-wlc"));
    assert_eq!(g.radios.len(), 2);
    // A wrong password is an authentication failure, counted, not a hang.
    let stats = Arc::new(SnmpStats::default());
    let profiles = shipped();
    let err = poll_device(
        agent.addr,
        &user("wrong-password"),
        profiles.get("generic").unwrap(),
        RequestOptions {
            timeout: Duration::from_millis(300),
            retries: 0,
            ..RequestOptions::default()
        },
        stats.clone(),
    )
    .await
    .expect_err("wrong password must fail");
    let msg = err.to_string();
    assert!(msg.contains("SNMPv3") || msg.contains("no answer"), "{msg}");
}

/// A fake agent: answers the first request with garbage, the second with
/// a wrong request id, then correctly (with more varbinds than asked).
#[tokio::test]
async fn malformed_and_stale_replies_are_dropped_and_counted() {
    let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = agent.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        for n in 0..3 {
            let (len, from) = agent.recv_from(&mut buf).await.unwrap();
            let req = snmp2::Pdu::from_bytes(&buf[..len]).unwrap();
            let id = i64::from(req.req_id);
            let reply = match n {
                0 => vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01],
                1 => ber::message(1, b"public", ber::PDU_RESPONSE, id + 1000, 0, 0, &[]),
                _ => {
                    let many: Vec<(Oid, Value)> = (0..300)
                        .map(|i| {
                            (
                                Oid::parse(&format!("1.3.6.1.2.1.1.{}.0", i + 1)).unwrap(),
                                Value::Integer(i),
                            )
                        })
                        .collect();
                    ber::message(1, b"public", ber::PDU_RESPONSE, id, 0, 0, &many)
                }
            };
            agent.send_to(&reply, from).await.unwrap();
        }
    });
    let stats = Arc::new(SnmpStats::default());
    let mut client = Client::connect(
        addr,
        &Credentials::V2c {
            community: "public".into(),
        },
        RequestOptions {
            timeout: Duration::from_millis(500),
            retries: 2,
            ..RequestOptions::default()
        },
        stats.clone(),
    )
    .await
    .unwrap();
    let got = client
        .get(&[Oid::parse("1.3.6.1.2.1.1.1.0").unwrap()])
        .await
        .unwrap();
    assert_eq!(got.len(), 300);
    server.await.unwrap();
    assert_eq!(stats.malformed.get(), 1);
    assert_eq!(stats.stale.get(), 1);
    // No agent at all: a timeout after the retries, not a hang.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut c = Client::connect(
        silent.local_addr().unwrap(),
        &Credentials::V2c {
            community: "public".into(),
        },
        RequestOptions {
            timeout: Duration::from_millis(50),
            retries: 1,
            ..RequestOptions::default()
        },
        stats.clone(),
    )
    .await
    .unwrap();
    let t = Instant::now();
    let e = c
        .get(&[Oid::parse("1.3.6.1.2.1.1.1.0").unwrap()])
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

fn json(env: &TestEnv, args: &[&str]) -> serde_json::Value {
    let out = env.cli_ok(args, None);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn snmptrap(target: SocketAddr, args: &[&str]) {
    let out = Command::new("snmptrap")
        .env("MIBS", "")
        .args(args)
        .arg(format!("127.0.0.1:{}", target.port()))
        .args(["", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2"])
        .output()
        .expect("run snmptrap");
    assert!(
        out.status.success(),
        "snmptrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `portico serve` polls an snmpd-backed AP, receives traps, and marks the
/// AP down (event and alert) once the agent is gone.
#[test]
fn serve_polls_traps_and_reachability() {
    if !have_tool("snmptrap") {
        return;
    }
    for db in backends() {
        let Some(mut agent) = Snmpd::start(".1.3.6.1.4.1.8072.3.2.10") else {
            return;
        };
        let mut env = TestEnv::new(&db);
        for (k, v) in [
            ("PORTICO_SNMP__POLL_INTERVAL", "400ms"),
            ("PORTICO_SNMP__REFRESH_INTERVAL", "200ms"),
            ("PORTICO_SNMP__TIMEOUT", "1s"),
            ("PORTICO_SNMP__RETRIES", "0"),
            ("PORTICO_SNMP__DOWN_AFTER", "2"),
            ("PORTICO_SNMP__REACHABILITY", "snmp"),
            ("PORTICO_SNMP__TRAP_LISTEN", "127.0.0.1:0"),
        ] {
            env.set(k, v);
        }
        // v3 trap user from the config file in the working directory.
        std::fs::write(
            env.dir.path().join("portico.toml"),
            format!(
                "[[snmp.trap_users]]\nuser = \"{V3_USER}\"\nauth_protocol = \"sha256\"\nauth_password = \"{V3_AUTH}\"\n\
                 priv_protocol = \"aes128\"\npriv_password = \"{V3_PRIV}\"\n"
            ),
        )
        .unwrap();
        let addr = agent.addr.to_string();
        env.cli_ok(
            &[
                "ap",
                "add",
                "lobby",
                "--address",
                &addr,
                "--profile",
                "generic",
                "--community-stdin",
                "--building",
                "Main",
                "--floor",
                "1",
            ],
            Some(&format!("{COMMUNITY}\n")),
        );
        // A controller, and one of its APs adopted: its status and radios
        // come from the controller's tables; the other AP waits as discovered.
        env.cli_ok(
            &[
                "ap",
                "add",
                "wlc",
                "--address",
                &addr,
                "--profile",
                "cisco-wlc",
                "--kind",
                "controller",
                "--community-stdin",
            ],
            Some(&format!("{COMMUNITY}\n")),
        );
        env.cli_ok(
            &[
                "ap",
                "add",
                "ap-lobby",
                "--address",
                "10.20.0.11",
                "--profile",
                "cisco-wlc",
                "--controller",
                "wlc",
                "--mac",
                "00:1a:0b:01:02:03",
                "--no-snmp",
            ],
            None,
        );
        // Credentials never on argv: without stdin flags the add is refused.
        let refused = env.cli(&["ap", "add", "x", "--address", "127.0.0.1"], None);
        assert!(!refused.status.success());
        let server = env.start_with(&["snmp-trap"]);
        let trap_addr = server.listener("snmp-trap").expect("snmp-trap listener");
        server.wait_for("AP up with polled identity", || {
            let v = json(&env, &["ap", "show", "lobby", "--json"]);
            v["status"] == "up" && v["polled"]["sys_name"] == "lobby-wlc"
        });
        let show = json(&env, &["ap", "show", "lobby", "--json"]);
        let chans: Vec<i64> = show["radios"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["channel"].as_i64())
            .collect();
        assert_eq!(chans, [6, 36], "{show}");
        assert_eq!(show["building"], "Main");
        server.wait_for("adopted AP up through its controller", || {
            let v = json(&env, &["ap", "show", "ap-lobby", "--json"]);
            v["status"] == "up"
                && v["polled"]["firmware"] == "8.10.185.0"
                && v["radios"].as_array().is_some_and(|r| r.len() == 2)
        });
        let lobby = json(&env, &["ap", "show", "ap-lobby", "--json"]);
        let util: Vec<i64> = lobby["radios"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["utilization"].as_i64())
            .collect();
        assert_eq!(util, [35, 12], "{lobby}");
        assert_eq!(lobby["polled"]["model"], "AIR-AP2802I-H-K9");
        let pending = json(&env, &["ap", "discovered", "--json"]);
        assert!(
            pending
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["address"] == "10.20.0.12" && d["via"] == "wlc"),
            "{pending}"
        );

        // Traps: v2c linkDown, v3 authPriv linkDown, and an unknown sender.
        snmptrap(trap_addr, &["-v2c", "-c", COMMUNITY]);
        snmptrap(
            trap_addr,
            &[
                "-v3",
                "-l",
                "authPriv",
                "-u",
                V3_USER,
                "-a",
                "SHA-256",
                "-A",
                V3_AUTH,
                "-x",
                "AES",
                "-X",
                V3_PRIV,
                "-e",
                "0x80001f8880c0ffee01",
            ],
        );
        let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
        let pkt = ber::message(
            1,
            COMMUNITY.as_bytes(),
            ber::PDU_TRAP_V2,
            9,
            0,
            0,
            &[(
                Oid::parse("1.3.6.1.6.3.1.1.4.1.0").unwrap(),
                Value::ObjectId(Oid::parse("1.3.6.1.6.3.1.1.5.1").unwrap()),
            )],
        );
        stranger.send_to(&pkt, trap_addr).unwrap();
        stranger
            .send_to(&[0x30, 0x03, 0x02, 0x01], trap_addr)
            .unwrap();
        server.wait_for("two trap events", || {
            let ev = json(&env, &["event", "list", "--json"]);
            let traps: Vec<&serde_json::Value> = ev
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "trap")
                .collect();
            traps.len() == 2
                && traps.iter().all(|e| {
                    e["source"] == "lobby"
                        && e["message"].as_str().unwrap_or("").starts_with("linkDown")
                })
        });
        server.wait_for("trap counters", || {
            let (_, body) = server.admin_get("/metrics/snmp");
            body.contains("portico_snmp_traps_unknown_source_total 2")
                && body.contains("portico_snmp_traps_received_total 2")
        });

        // The agent goes away: down after two failed cycles, event and alert.
        agent.stop();
        server.wait_for("AP down", || {
            json(&env, &["ap", "show", "lobby", "--json"])["status"] == "down"
        });
        let ev = json(&env, &["event", "list", "--json"]);
        assert!(
            ev.as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "ap-down" && e["source"] == "lobby"),
            "{ev}"
        );
        let alerts = json(&env, &["alert", "list", "--open", "--json"]);
        assert!(
            alerts
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == "ap-down"),
            "{alerts}"
        );
        drop(server);
    }
}

#[test]
fn ap_csv_import_export_and_discovery() {
    let env = TestEnv::new(&crate::helpers::Db::Sqlite);
    let dir = env.dir.path();
    let good = "name,address,profile,kind,mac,building,floor,x,y,tags,snmp_version,community\n\
                ap-1,10.0.0.1,generic,ap,00:11:22:33:44:55,Main,2,1.5,2.5,lobby;east,v2c,pub1\n\
                wlc-1,10.0.0.2:1161,cisco-wlc,controller,,,,,,,v2c,pub2\n";
    std::fs::write(dir.join("good.csv"), good).unwrap();
    let bad = "name,address,profile,mac,snmp_version,community\n\
               ap-9,10.0.0.9,generic,,v2c,x\n\
               ap-10,not an address,generic,,v2c,x\n\
               ap-11,10.0.0.11,generic,zz:zz,v2c,x\n\
               ap-12,10.0.0.12,generic,,v7,x\n";
    std::fs::write(dir.join("bad.csv"), bad).unwrap();
    let out = env.cli(&["ap", "import", "bad.csv"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for line in ["line 3:", "line 4:", "line 5:"] {
        assert!(err.contains(line), "{err}");
    }
    assert!(!err.contains("line 2:"), "{err}");
    assert_eq!(
        json(&env, &["ap", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing half-imported"
    );
    env.cli_ok(&["ap", "import", "good.csv"], None);
    let list = json(&env, &["ap", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["tags"], serde_json::json!(["lobby", "east"]));
    assert_eq!(list[1]["kind"], "controller");
    // The same file again: a conflict, nothing added.
    assert!(!env
        .cli(&["ap", "import", "good.csv"], None)
        .status
        .success());
    let plain = env.cli_ok(&["ap", "export"], None);
    assert!(
        !plain.contains("pub1"),
        "secrets stay out by default: {plain}"
    );
    let full = env.cli_ok(&["ap", "export", "--with-secrets"], None);
    assert!(full.contains("pub1"));
    env.cli_ok(
        &[
            "ap", "edit", "ap-1", "--room", "201", "--rename", "ap-lobby",
        ],
        None,
    );
    let list = json(&env, &["ap", "list", "--json"]);
    assert_eq!(
        (list[0]["name"].as_str(), list[0]["room"].as_str()),
        (Some("ap-lobby"), Some("201"))
    );
    env.cli_ok(&["ap", "remove", "wlc-1"], None);

    // Discovery: sweep 127.0.0.1/32 on snmpd's port; the controller's APs
    // are listed too.
    let Some(agent) = Snmpd::start(".1.3.6.1.4.1.9.1.1069") else {
        return;
    };
    let port = agent.addr.port().to_string();
    env.cli_ok(
        &[
            "discover",
            "127.0.0.1/32",
            "--port",
            &port,
            "--community-stdin",
        ],
        Some(&format!("{COMMUNITY}\n")),
    );
    let found = json(&env, &["ap", "discovered", "--json"]);
    let arr = found.as_array().unwrap();
    assert!(
        arr.iter()
            .any(|d| d["sys_name"] == "lobby-wlc" && d["profile"] == "cisco-wlc"),
        "{found}"
    );
    assert!(
        arr.iter()
            .any(|d| d["sys_name"] == "ap-hall" && d["address"] == "10.20.0.12"),
        "{found}"
    );
}

/// The fuzz target's seed corpus (captured from net-snmp's snmptrap), on
/// stable: each seed decodes to what was sent, and mutations of them
/// (truncations, byte flips) are errors, never panics.
#[test]
fn trap_seed_corpus_and_mutations() {
    use portico::config::{Secret, SnmpTrapUser};
    use portico::snmp::trap::{decode, standard_name};
    let user = SnmpTrapUser {
        user: "fuzz".into(),
        auth_protocol: "sha256".into(),
        auth_password: Secret("fuzz-auth-pass".into()),
        priv_protocol: "aes128".into(),
        priv_password: Secret("fuzz-priv-pass".into()),
    };
    let users: Vec<_> = portico::snmp::service::trap_security(&user)
        .into_iter()
        .collect();
    assert_eq!(users.len(), 1);
    let dir = repo_path("fuzz/corpus-seed/snmp_trap");
    let expect = [
        ("v2c-linkdown", "v2c", "1.3.6.1.6.3.1.1.5.3"),
        ("v1-coldstart", "v1", "1.3.6.1.6.3.1.1.5.1"),
        ("v1-enterprise", "v1", "1.3.6.1.4.1.14179.2.6.3.0.8"),
        ("v3-authpriv", "v3", "1.3.6.1.6.3.1.1.5.4"),
    ];
    let mut seeds = Vec::new();
    for (name, version, oid) in expect {
        let bytes = std::fs::read(dir.join(name)).expect("seed");
        let t = decode(&bytes, &users).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (t.version, t.trap_oid.to_string().as_str()),
            (version, oid),
            "{name}"
        );
        seeds.push(bytes);
    }
    // Once verified, the sender's localised keys are reused.
    let mut learned = Vec::new();
    portico::snmp::trap::decode_with(&seeds[3], &users, &mut learned).unwrap();
    assert_eq!(learned.len(), 1);
    let again = portico::snmp::trap::decode_with(&seeds[3], &users, &mut learned).unwrap();
    assert_eq!((again.user.as_deref(), learned.len()), (Some("fuzz"), 1));
    let t = decode(&seeds[3], &users).unwrap();
    assert_eq!(
        (t.user.as_deref(), standard_name(&t.trap_oid)),
        (Some("fuzz"), Some("linkUp"))
    );
    // Without the user, a v3 trap is refused, not guessed.
    assert!(decode(&seeds[3], &[]).is_err());
    let started = Instant::now();
    for seed in &seeds {
        for n in 0..seed.len() {
            let _ = decode(&seed[..n], &users);
        }
        for i in 0..seed.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut m = seed.clone();
                m[i] ^= mask;
                let _ = decode(&m, &users);
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}
