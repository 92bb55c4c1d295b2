//! Every vendor profile against a recorded walk of its devices
//! (`tests/fixtures/walks/NAME.walk`, written from the vendor's MIB):
//!
//! - `portico ap test --walk` prints what the golden file says
//!   (`PORTICO_BLESS=1` rewrites the goldens after a deliberate change);
//! - `portico simulate --walk` serves every walk on loopback, `ap add`
//!   without `--profile` detects each vendor, `serve` polls them, and the
//!   stored values are checked row by row against `NAME.expect.json`;
//! - a controller's listed AP is adopted with `ap adopt` and gets its own
//!   radios; an AP added while unreachable gets its profile on first poll.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{backends, portico_bin, repo_path, TestEnv};

fn walk_files() -> Vec<PathBuf> {
    let dir = repo_path("tests/fixtures/walks");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "walk" || x == "snmprec"))
        .collect();
    out.sort();
    out
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn ap_test_walk_matches_the_golden_output_for_every_profile() {
    let env = TestEnv::new(&backends()[0]);
    let bless = std::env::var_os("PORTICO_BLESS").is_some();
    let files = walk_files();
    assert!(files.len() >= 15, "walk fixtures: {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let name = stem(f);
        let path = f.display().to_string();
        let text = env.cli_ok(&["ap", "test", "--walk", &path], None);
        let golden = f.with_extension("golden");
        if bless {
            std::fs::write(&golden, &text).unwrap_or_else(|e| panic!("{e}"));
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        if text != want {
            failures.push(format!(
                "{name}: output differs from {}:\n{text}",
                golden.display()
            ));
        }
        // Detection: each fixture's sysObjectID (or sysDescr) picks its profile.
        let json: Value =
            serde_json::from_str(&env.cli_ok(&["ap", "test", "--walk", &path, "--json"], None))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        if json["profile"] != name.as_str() {
            failures.push(format!(
                "{name}: detected {} ({})",
                json["profile"], json["detected_by"]
            ));
        }
        // Nothing in a fixture is dropped: every row fits its profile.
        if json["result"]["dropped_rows"] != 0 || json["skipped_lines"] != serde_json::json!([]) {
            failures.push(format!(
                "{name}: dropped {} rows, skipped {}",
                json["result"]["dropped_rows"], json["skipped_lines"]
            ));
        }
        // No radio, VAP or AP is named by raw OID arcs.
        for label in json["radio_labels"].as_array().into_iter().flatten() {
            let l = label.as_str().unwrap_or("");
            if l.split('/')
                .next()
                .is_some_and(|ap| ap.split('.').count() >= 4)
            {
                failures.push(format!("{name}: radio named by index arcs: {l}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // A named profile overrides detection; an unknown one is an error.
    let first = files[0].display().to_string();
    let forced: Value = serde_json::from_str(&env.cli_ok(
        &[
            "ap",
            "test",
            "--walk",
            &first,
            "--profile",
            "generic",
            "--json",
        ],
        None,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forced["profile"], "generic");
    assert_eq!(forced["detected_by"], "given with --profile");
    let bad = env.cli(&["ap", "test", "--walk", &first, "--profile", "nope"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown profile"));
    let junk = env.dir.path().join("junk.walk");
    std::fs::write(&junk, "not a walk\n\u{0}\u{1}binary\n").unwrap_or_else(|e| panic!("{e}"));
    let bad = env.cli(&["ap", "test", "--walk", &junk.display().to_string()], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no readable walk line"));
}

/// `portico simulate --walk ...` running; its agents' addresses by community.
pub(crate) struct Simulator {
    child: Child,
    pub(crate) agents: Vec<(String, SocketAddr)>,
}

impl Simulator {
    pub(crate) fn start(files: &[PathBuf], port: Option<u16>) -> Simulator {
        let mut cmd = Command::new(portico_bin());
        // No PORTICO_* from the test's environment (the config rejects
        // keys it does not know, like PORTICO_TEST_DATABASE_URL).
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.arg("simulate");
        for f in files {
            cmd.arg("--walk").arg(f);
        }
        if let Some(p) = port {
            cmd.arg("--port").arg(p.to_string());
        }
        cmd.args(["--duration", "300s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn portico simulate");
        let out = child.stdout.take().expect("stdout");
        let mut agents = Vec::new();
        for line in BufReader::new(out).lines() {
            let line = line.expect("simulate output");
            if line == "ready" {
                break;
            }
            // serving NAME.walk on 127.0.0.1:PORT (community NAME, N values)
            let mut words = line.split_whitespace();
            let addr = words.nth(3).and_then(|a| a.parse().ok()).expect("address");
            let community = words
                .nth(1)
                .map(|c| c.trim_end_matches(',').to_string())
                .expect("community");
            agents.push((community, addr));
        }
        assert_eq!(
            agents.len(),
            files.len(),
            "simulate did not serve every walk"
        );
        Simulator { child, agents }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn show(env: &TestEnv, name: &str) -> Value {
    serde_json::from_str(&env.cli_ok(&["ap", "show", name, "--json"], None))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The keys of `want` compared with the same keys of `got`.
fn same_keys(what: &str, got: &Value, want: &Value, failures: &mut Vec<String>) {
    let (Some(w), Some(g)) = (want.as_array(), got.as_array()) else {
        failures.push(format!("{what}: expected a list, got {got}"));
        return;
    };
    if w.len() != g.len() {
        failures.push(format!(
            "{what}: {} rows, expected {}:\n got {got}\nwant {want}",
            g.len(),
            w.len()
        ));
        return;
    }
    for (i, (wr, gr)) in w.iter().zip(g).enumerate() {
        for (k, v) in wr.as_object().into_iter().flatten() {
            if &gr[k] != v {
                failures.push(format!("{what}[{i}].{k}: got {}, expected {v}", gr[k]));
            }
        }
    }
}

fn sorted_by(list: &Value, key: &str) -> Value {
    let mut v: Vec<Value> = list.as_array().cloned().unwrap_or_default();
    // Unknown (null) first, then by text: as Rust orders Option<String>.
    let k = |x: &Value| match &x[key] {
        Value::Null => (0, String::new()),
        Value::String(s) => (1, s.clone()),
        other => (1, other.to_string()),
    };
    v.sort_by_key(k);
    Value::Array(v)
}

#[test]
fn walks_replayed_through_simulate_are_detected_polled_and_stored_row_by_row() {
    let files: Vec<PathBuf> = walk_files()
        .into_iter()
        .filter(|f| f.with_extension("expect.json").exists())
        .collect();
    assert!(files.len() >= 15, "fixtures with expectations: {files:?}");
    for db in backends() {
        let sim = Simulator::start(&files, None);
        let mut env = TestEnv::new(&db);
        for (k, v) in [
            ("PORTICO_SNMP__POLL_INTERVAL", "500ms"),
            ("PORTICO_SNMP__REFRESH_INTERVAL", "200ms"),
            ("PORTICO_SNMP__TIMEOUT", "1s"),
            ("PORTICO_SNMP__RETRIES", "1"),
            ("PORTICO_SNMP__REACHABILITY", "snmp"),
        ] {
            env.set(k, v);
        }
        for (community, addr) in &sim.agents {
            let out = env.cli_ok(
                &[
                    "ap",
                    "add",
                    community,
                    "--address",
                    &addr.to_string(),
                    "--community-stdin",
                ],
                Some(&format!("{community}\n")),
            );
            // The generic walk matches no vendor: generic by default.
            assert!(
                out.contains(&format!("detected profile {community} ("))
                    || (community == "generic" && out.contains("no profile matches")),
                "{community}: {out}"
            );
        }
        // Added while nothing answers: detected on the first poll.
        let late_port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("port");
            s.local_addr().expect("addr").port()
        };
        // A standalone AP's walk (a controller's would list the same APs
        // as its twin).
        let late_src = files
            .iter()
            .find(|f| {
                std::fs::read_to_string(f.with_extension("expect.json"))
                    .is_ok_and(|t| t.contains("\"kind\": \"ap\""))
            })
            .unwrap_or(&files[0])
            .clone();
        let late_profile = stem(&late_src);
        let out = env.cli_ok(
            &[
                "ap",
                "add",
                "late",
                "--address",
                &format!("127.0.0.1:{late_port}"),
                "--community-stdin",
            ],
            Some("late\n"),
        );
        assert!(out.contains("detected on the first poll"), "{out}");
        assert_eq!(show(&env, "late")["profile"], "auto");
        let late_walk = env.dir.path().join("late.walk");
        std::fs::copy(&late_src, &late_walk).expect("copy walk");
        let _late = Simulator::start(&[late_walk], Some(late_port));

        let server = env.start();
        let names: Vec<String> = sim.agents.iter().map(|(c, _)| c.clone()).collect();
        server.wait_for("every walk polled twice", || {
            names
                .iter()
                .chain(std::iter::once(&"late".to_string()))
                .all(|n| {
                    let v = show(&env, n);
                    v["last_ok_ms"].as_i64().is_some() && v["profile"] != "auto"
                })
        });
        // One more interval so every stored row is from a complete poll.
        std::thread::sleep(Duration::from_millis(1200));

        let discovered: Value =
            serde_json::from_str(&env.cli_ok(&["ap", "discovered", "--json"], None))
                .expect("discovered json");
        let mut failures = Vec::new();
        let (_, metrics) = server.admin_get("/metrics");
        for f in &files {
            let name = stem(f);
            let want: Value = serde_json::from_str(
                &std::fs::read_to_string(f.with_extension("expect.json")).expect("expect.json"),
            )
            .unwrap_or_else(|e| panic!("{name}.expect.json: {e}"));
            let got = show(&env, &name);
            for key in ["profile", "kind"] {
                if got[key] != want[key] {
                    failures.push(format!("{name}: {key} {} expected {}", got[key], want[key]));
                }
            }
            if got["polled"]["clients"] != want["clients"] {
                failures.push(format!(
                    "{name}: clients {} expected {}",
                    got["polled"]["clients"], want["clients"]
                ));
            }
            same_keys(
                &format!("{name} radios"),
                &got["radios"],
                &want["radios"],
                &mut failures,
            );
            // /metrics: clients per AP, absent (not 0) when unknown.
            let series = format!("portico_ap_clients{{ap=\"{name}\"}} ");
            let line = metrics.lines().find(|l| l.starts_with(&series));
            match (want["clients"].as_i64(), line) {
                (Some(n), Some(l)) if l == format!("{series}{n}") => {}
                (None, None) => {}
                (want, got) => failures.push(format!(
                    "{name}: /metrics {got:?}, expected clients {want:?}"
                )),
            }
            if want.get("vaps").is_some() {
                same_keys(
                    &format!("{name} vaps"),
                    &got["vaps"],
                    &want["vaps"],
                    &mut failures,
                );
            }
            if let Some(rows) = want.get("client_rows") {
                same_keys(
                    &format!("{name} clients"),
                    &sorted_by(&got["clients"], "mac"),
                    rows,
                    &mut failures,
                );
            }
            if let Some(rows) = want.get("discovered") {
                let mine: Vec<Value> = discovered
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["via"] == name.as_str())
                    .cloned()
                    .collect();
                same_keys(
                    &format!("{name} discovered"),
                    &sorted_by(&Value::Array(mine), "sys_name"),
                    rows,
                    &mut failures,
                );
            }
        }
        let late = show(&env, "late");
        if late["profile"] != late_profile.as_str() {
            failures.push(format!(
                "late: profile {} expected {late_profile}",
                late["profile"]
            ));
        }
        assert!(
            failures.is_empty(),
            "{}:\n{}",
            db.name(),
            failures.join("\n")
        );

        // Adopt one AP a controller listed: it gets the controller's view of
        // its radios (named by number only) and its status from there.
        let controller_ap = discovered
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["via"] == "aruba")
            .cloned()
            .expect("the aruba controller lists APs");
        let ap_name = controller_ap["sys_name"]
            .as_str()
            .expect("name")
            .to_string();
        let out = env.cli_ok(&["ap", "adopt", &controller_ap["id"].to_string()], None);
        assert!(
            out.contains(&format!("adopted ap {ap_name} "))
                && out.contains("through controller aruba"),
            "{out}"
        );
        let want_radios: Vec<Value> = show(&env, "aruba")["radios"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let label = r["radio"].as_str()?;
                let local = label.strip_prefix(&format!("{ap_name}/"))?;
                let mut r = r.clone();
                r["radio"] = Value::String(local.to_string());
                Some(r)
            })
            .collect();
        assert!(!want_radios.is_empty());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = show(&env, &ap_name);
            // Radios and status are written by separate steps of a poll:
            // wait for both.
            let status_known = ["up", "down"].contains(&v["status"].as_str().unwrap_or(""));
            if v["radios"].as_array().is_some_and(|r| !r.is_empty()) && status_known {
                assert_eq!(v["controller"], "aruba");
                assert_eq!(v["kind"], "ap");
                let mut f = Vec::new();
                same_keys(
                    "adopted radios",
                    &v["radios"],
                    &Value::Array(want_radios.clone()),
                    &mut f,
                );
                assert!(f.is_empty(), "{}", f.join("\n"));
                break;
            }
            assert!(Instant::now() < deadline, "adopted AP never polled: {v}");
            std::thread::sleep(Duration::from_millis(300));
        }
        // Adopted devices leave the discovered list; adopting twice fails.
        let again = env.cli(&["ap", "adopt", &controller_ap["id"].to_string()], None);
        assert!(!again.status.success());
        // The table form of `ap show` names radios, never OID arcs.
        let table = env.cli_ok(&["ap", "show", "aruba"], None);
        assert!(
            table.contains("RADIO") && table.contains(&format!("{ap_name}/")),
            "{table}"
        );
        drop(server);
    }
}

#[test]
fn simulate_refuses_non_loopback_and_unreadable_walks() {
    let env = TestEnv::new(&backends()[0]);
    let out = env.cli(
        &["simulate", "--walk", "x.walk", "--bind", "192.0.2.1"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loopback"),
        "{out:?}"
    );
    let out = env.cli(&["simulate", "--walk", "/nonexistent/x.walk"], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.walk"),
        "{out:?}"
    );
}
