//! Coverage end to end on both backends: floors and DXF walls through the
//! CLI, then the exact API over the wire (floors, walls, areas, placement,
//! coverage JSON checked against the formula by hand, the PNG, KPIs and
//! holes, rooms, channel plan, measured points and calibration), the
//! printed report from the CLI, and the audit trail. Attacker's input
//! first: every malformed body is a clear 4xx, never a 5xx.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{have_tool, in_ci, on_each_backend, repo_path, TestEnv, TestServer};

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &TestServer, token: &str) -> Api {
        Api {
            base: format!("http://{}", server.admin),
            token: token.trim().to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String, Vec<u8>) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.http.post(&url),
            "PUT" => self.http.put(&url),
            _ => self.http.get(&url),
        }
        .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ct, r.bytes().await.expect("body").to_vec())
    }

    async fn json(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, bytes) = self.send(method, path, body).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, v)
    }
}

/// The model by hand: `tx − (20·log10(f) + N·log10(d) − 28) − walls`.
fn by_hand(tx: f64, f_mhz: f64, n: f64, d: f64, walls_db: f64) -> f64 {
    tx - (20.0 * f_mhz.log10() + n * d.max(1.0).log10() - 28.0) - walls_db
}

#[test]
fn floors_walls_placements_and_coverage_over_the_api_on_both_backends() {
    on_each_backend(|db| async move { run(&db).await });
}

async fn run(db: &crate::helpers::Db) {
    let mut env = TestEnv::new(db);
    env.set("PORTICO_COVERAGE__ALERT_INTERVAL", "300ms");
    let which = db.name();

    // --- CLI: a floor, walls from an architect's DXF -------------------------
    let out = env.cli_ok(
        &[
            "floor",
            "add",
            "F3",
            "--building",
            "Main",
            "--level",
            "3",
            "--width",
            "20",
            "--height",
            "10",
        ],
        None,
    );
    assert!(out.contains("floor F3 added"), "{which}: {out}");
    let dxf = repo_path("tests/fixtures/dxf/floor.dxf")
        .display()
        .to_string();
    let layers = env.cli_ok(&["floor", "import-dxf", "Main/F3", &dxf], None);
    assert!(
        layers.contains("A-WALL") && layers.contains("6 segments"),
        "{which}: {layers}"
    );
    let imported = env.cli_ok(
        &[
            "floor",
            "import-dxf",
            "F3",
            &dxf,
            "--layer",
            "A-WALL",
            "--material",
            "concrete",
        ],
        None,
    );
    assert!(imported.contains("imported 6 walls"), "{which}: {imported}");
    let list: Value =
        serde_json::from_str(&env.cli_ok(&["floor", "list", "--json"], None)).expect("json");
    let walls = list[0]["walls"].as_array().expect("walls");
    assert_eq!(walls.len(), 6, "{which}");
    // The drawing's interior wall (13,3)-(13,13) mm·1000, y flipped and
    // moved to the extent's top-left: x = 8, y from 10 to 0.
    assert!(
        walls
            .iter()
            .any(|w| w["x1"] == 8.0 && w["x2"] == 8.0 && w["material"] == "concrete"),
        "{which}: {walls:?}"
    );
    // A garbage drawing is a clear error; the walls stay.
    let garbage = env.dir.path().join("bad.dxf");
    std::fs::write(
        &garbage,
        "0\nSECTION\n2\nENTITIES\n0\nLINE\n10\nnot-a-number\n",
    )
    .expect("write");
    let bad = env.cli(
        &[
            "floor",
            "import-dxf",
            "F3",
            garbage.to_str().unwrap_or(""),
            "--layer",
            "0",
        ],
        None,
    );
    assert!(!bad.status.success(), "{which}: garbage DXF must fail");
    for ap in ["ap-west", "ap-east"] {
        env.cli_ok(
            &[
                "ap",
                "add",
                ap,
                "--address",
                "127.0.0.1:9",
                "--profile",
                "generic",
                "--no-snmp",
            ],
            None,
        );
    }

    let server = tokio::task::block_in_place(|| env.start());
    let admin = server
        .admin_accounts
        .iter()
        .find(|(n, _)| n == "sysadmin")
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| server.admin_accounts[0].0.clone());
    let token = env.cli_ok(
        &[
            "admin", "token", "create", "--admin", &admin, "--name", "coverage",
        ],
        None,
    );
    let api = Api::new(&server, &token);

    // --- POST /api/v1/floors ----------------------------------------------------
    let (status, f4) = api
        .json("POST", "/api/v1/floors", Some(json!({"building": "Main", "name": "F4", "level": 4, "width_m": 40, "height_m": 20})))
        .await;
    assert_eq!(status, 201, "{which}: {f4}");
    assert!(f4["id"].as_i64().is_some(), "{which}: {f4}");
    // Attacker's bodies: a clear 4xx each.
    for bad in [
        json!({"building": "Main", "name": "F4", "level": 4, "width_m": 40, "height_m": 20}),
        json!({"building": "Main", "name": "X", "level": 4, "width_m": -1, "height_m": 20}),
        json!({"building": "", "name": "X", "level": 4, "width_m": 10, "height_m": 20}),
        json!({"building": "Main", "name": "a/b", "level": 4, "width_m": 10, "height_m": 20}),
        json!({"building": "Main", "name": "Y", "level": 4, "width_m": 1e9, "height_m": 20}),
        json!({"name": "Z"}),
        json!([1, 2]),
    ] {
        let (status, body) = api.json("POST", "/api/v1/floors", Some(bad.clone())).await;
        assert!(
            (400..500).contains(&status),
            "{which}: {bad} -> {status} {body}"
        );
    }
    let floor = list[0]["id"].as_i64().expect("id");

    // --- PUT walls ----------------------------------------------------------------
    let path = format!("/api/v1/floors/{floor}/walls");
    let (status, body) = api
        .json(
            "PUT",
            &path,
            Some(json!([{"x1": 10, "y1": 0, "x2": 10, "y2": 10, "material": "concrete"}])),
        )
        .await;
    assert_eq!(status, 200, "{which}: {body}");
    assert_eq!(body["walls"].as_array().map(Vec::len), Some(1));
    for bad in [
        json!([{"x1": 10, "y1": 0, "x2": 10, "y2": 10, "material": "cheese"}]),
        json!([{"x1": 10, "y1": 0, "x2": 10, "y2": 10, "material": "custom"}]),
        json!([{"x1": 1e6, "y1": 0, "x2": 10, "y2": 10}]),
        json!([{"x1": 10, "y1": 0, "x2": 10, "y2": 10, "material": "custom", "loss_db": [1, 2, 500]}]),
        json!({"x1": 1}),
    ] {
        let (status, body) = api.json("PUT", &path, Some(bad.clone())).await;
        assert!(
            (400..500).contains(&status),
            "{which}: {bad} -> {status} {body}"
        );
    }
    let (status, _) = api
        .json("PUT", "/api/v1/floors/999999/walls", Some(json!([])))
        .await;
    assert_eq!(status, 404, "{which}");
    let (status, _) = api.json("GET", "/api/v1/floors/nope", None).await;
    assert_eq!(status, 404, "{which}");

    // --- A plan: SVG is rasterised, its size over the scale sets the floor's.
    let f5 = f4["id"].as_i64().expect("id");
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400"><rect x="10" y="10" width="780" height="380" fill="none" stroke="black"/></svg>"#;
    let r = api
        .http
        .put(format!(
            "{}/api/v1/floors/{f5}/plan?scale_px_per_m=20",
            api.base
        ))
        .bearer_auth(&api.token)
        .body(svg)
        .send()
        .await
        .expect("plan");
    assert_eq!(r.status().as_u16(), 200, "{which}");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (body["width_m"].as_f64(), body["height_m"].as_f64()),
        (Some(40.0), Some(20.0)),
        "{which}: {body}"
    );
    let (status, ct, png) = api
        .send("GET", &format!("/api/v1/floors/{f5}/plan"), None)
        .await;
    assert_eq!((status, ct.as_str()), (200, "image/png"), "{which}");
    assert!(png.starts_with(b"\x89PNG"), "{which}");
    for bad in [&b"GIF89a"[..], b"<svg", b""] {
        let r = api
            .http
            .put(format!("{}/api/v1/floors/{f5}/plan", api.base))
            .bearer_auth(&api.token)
            .body(bad.to_vec())
            .send()
            .await
            .expect("plan");
        assert_eq!(r.status().as_u16(), 400, "{which}: {bad:?}");
    }

    // --- PUT placement --------------------------------------------------------------
    let placement = json!({"floor": floor, "x": 4, "y": 5, "z": 1.0, "antenna_gain_dbi": 0, "tx_power_dbm": {"2.4": 17, "5": 20}});
    let (status, body) = api
        .json(
            "PUT",
            "/api/v1/aps/ap-west/placement",
            Some(placement.clone()),
        )
        .await;
    assert_eq!(status, 200, "{which}: {body}");
    let (status, _) = api
        .json("PUT", "/api/v1/aps/no-such-ap/placement", Some(placement))
        .await;
    assert_eq!(status, 404, "{which}");
    for bad in [
        json!({"floor": floor, "x": 400, "y": 5}),
        json!({"floor": floor, "x": 4, "y": 5, "tx_power_dbm": {"7": 20}}),
        json!({"floor": floor, "x": 4, "y": 5, "tx_power_dbm": {"5": 99}}),
        json!({"floor": 999999, "x": 4, "y": 5}),
    ] {
        let (status, body) = api
            .json("PUT", "/api/v1/aps/ap-west/placement", Some(bad.clone()))
            .await;
        assert!(
            (400..500).contains(&status),
            "{which}: {bad} -> {status} {body}"
        );
    }
    let (status, got) = api
        .json("GET", &format!("/api/v1/floors/{floor}"), None)
        .await;
    assert_eq!(status, 200, "{which}: {got}");
    assert_eq!(got["aps"][0]["ap"], "ap-west", "{which}: {got}");
    assert_eq!(
        got["aps"][0]["radios"]["5"]["power_from"], "placement",
        "{which}: {got}"
    );

    // --- GET coverage: the formula by hand --------------------------------------------
    let (status, cov) = api
        .json(
            "GET",
            &format!("/api/v1/floors/{floor}/coverage?band=5&metric=rssi"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{which}: {cov}");
    assert_eq!(cov["band"], "5");
    assert_eq!(cov["resolution_m"], 0.5);
    assert_eq!(
        (cov["width"].as_u64(), cov["height"].as_u64()),
        (Some(40), Some(20))
    );
    assert_eq!(cov["origin"], json!([0.0, 0.0]));
    let values = cov["values"].as_array().expect("values");
    assert_eq!(values.len(), 800);
    let at = |i: usize, j: usize| values[j * 40 + i].as_f64();
    // Cell (12, 10) is centred at (6.25, 5.25): 2.264 m from the AP, same height.
    let near = by_hand(
        20.0,
        5180.0,
        31.0,
        (2.25f64.powi(2) + 0.25f64.powi(2)).sqrt(),
        0.0,
    );
    assert!(
        (at(12, 10).expect("value") - near).abs() <= 0.01,
        "{which}: {:?} vs {near}",
        at(12, 10)
    );
    // Cell (30, 10) at (15.25, 5.25) is behind the concrete wall at x = 10.
    let behind = by_hand(
        20.0,
        5180.0,
        31.0,
        (11.25f64.powi(2) + 0.25f64.powi(2)).sqrt(),
        15.0,
    );
    assert!(
        (at(30, 10).expect("value") - behind).abs() <= 0.01,
        "{which}: {:?} vs {behind}",
        at(30, 10)
    );
    // The building's own concrete (17 dB at 5 GHz) replaces the table's.
    let (status, body) = api
        .json(
            "PUT",
            "/api/v1/buildings/Main/materials",
            Some(json!({"concrete": [14, 17, 19]})),
        )
        .await;
    assert_eq!(status, 200, "{which}: {body}");
    let (_, cov2) = api
        .json(
            "GET",
            &format!("/api/v1/floors/{floor}/coverage?band=5"),
            None,
        )
        .await;
    let behind2 = cov2["values"][10 * 40 + 30].as_f64().expect("value");
    assert!(
        (behind2 - (behind - 2.0)).abs() <= 0.01,
        "{which}: {behind2} vs {behind}"
    );
    for bad in [
        json!({"concrete": [14, 17]}),
        json!({"concrete": [14, 17, 900]}),
        json!({"": [1, 2, 3]}),
    ] {
        let (status, body) = api
            .json("PUT", "/api/v1/buildings/Main/materials", Some(bad.clone()))
            .await;
        assert!(
            (400..500).contains(&status),
            "{which}: {bad} -> {status} {body}"
        );
    }
    let (status, _) = api
        .json(
            "PUT",
            "/api/v1/buildings/Nowhere/materials",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404, "{which}");
    let table = env.cli_ok(
        &["floor", "materials", "Main", "--set", "glass-low-e=6,9,10"],
        None,
    );
    assert!(
        table.contains("glass-low-e") && table.contains("concrete") && table.contains("Main"),
        "{which}: {table}"
    );
    let (status, body) = api
        .json("PUT", &format!("/api/v1/floors/{floor}/walls"), Some(json!([{"x1": 10, "y1": 0, "x2": 10, "y2": 10, "material": "concrete"}, {"x1": 0, "y1": 0.2, "x2": 2, "y2": 0.2, "material": "glass-low-e"}])))
        .await;
    assert_eq!(
        status, 200,
        "{which}: the building's own material is known: {body}"
    );
    for (q, code) in [
        ("band=7", 400),
        ("metric=loud", 400),
        ("band=2.4&metric=snr", 200),
    ] {
        let (status, body) = api
            .json("GET", &format!("/api/v1/floors/{floor}/coverage?{q}"), None)
            .await;
        assert_eq!(status, code, "{which}: {q}: {body}");
    }
    let (status, ct, png) = api
        .send(
            "GET",
            &format!("/api/v1/floors/{floor}/coverage.png?band=5&metric=rssi"),
            None,
        )
        .await;
    assert_eq!((status, ct.as_str()), (200, "image/png"), "{which}");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{which}");
    assert_eq!(
        &png[16..24],
        &[0, 0, 0, 40, 0, 0, 0, 20],
        "{which}: one pixel per cell"
    );

    // --- Areas: outline, a meeting room, holes ------------------------------------------
    let areas = json!([
        {"kind": "outline", "points": [[0, 0], [20, 0], [20, 10], [0, 10]]},
        {"kind": "excluded", "points": [[0, 0], [2, 0], [2, 2], [0, 2]]},
        {"kind": "room", "name": "Meeting A", "seats": 40, "points": [[12, 1], [19, 1], [19, 9], [12, 9]]}
    ]);
    let (status, body) = api
        .json("PUT", &format!("/api/v1/floors/{floor}/areas"), Some(areas))
        .await;
    assert_eq!(status, 200, "{which}: {body}");
    let (_, cov) = api
        .json(
            "GET",
            &format!("/api/v1/floors/{floor}/coverage?band=5"),
            None,
        )
        .await;
    assert!(
        cov["values"][0].is_null(),
        "{which}: the excluded corner has no value"
    );
    let shown = env.cli_ok(&["floor", "areas", "Main/F3"], None);
    assert!(
        shown.contains("Meeting A") && shown.contains("\"seats\": 40"),
        "{which}: {shown}"
    );
    let bad_file = env.dir.path().join("areas.json");
    std::fs::write(&bad_file, "[{\"kind\": \"room\", \"points\": [[1, 1]]}]").expect("write");
    let bad = env.cli(
        &[
            "floor",
            "areas",
            "Main/F3",
            "--file",
            bad_file.to_str().unwrap_or(""),
        ],
        None,
    );
    assert!(!bad.status.success(), "{which}: a room needs three corners");
    std::fs::write(&bad_file, "not json").expect("write");
    let bad = env.cli(
        &[
            "floor",
            "areas",
            "Main/F3",
            "--file",
            bad_file.to_str().unwrap_or(""),
        ],
        None,
    );
    assert!(!bad.status.success(), "{which}: not JSON");
    assert!(
        env.cli_ok(&["floor", "areas", "Main/F3"], None)
            .contains("Meeting A"),
        "{which}: unchanged"
    );
    let (status, kpi) = api
        .json("GET", &format!("/api/v1/floors/{floor}/kpi"), None)
        .await;
    assert_eq!(status, 200, "{which}: {kpi}");
    let holes = kpi["bands"]["5"]["holes"].as_array().expect("holes");
    // Behind the concrete wall, 6 m and more from one AP: below −67 dBm.
    assert!(!holes.is_empty(), "{which}: {kpi}");
    assert!(
        holes
            .iter()
            .all(|h| h["centroid"][0].as_f64().unwrap_or(0.0) > 10.0),
        "{which}: {holes:?}"
    );
    let primary = kpi["bands"]["5"]["kpi"]["primary"]
        .as_f64()
        .expect("primary");
    assert!(primary > 0.3 && primary < 0.8, "{which}: {primary}");
    let room = &kpi["rooms"][0];
    assert_eq!(room["name"], "Meeting A");
    assert!(
        room["hint"]
            .as_str()
            .is_some_and(|h| h.contains("40 seats")),
        "{which}: {room}"
    );

    // The hole is an alert with its place...
    let hole_alerts = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|x| x["kind"] == "coverage-hole")
                    .filter_map(|x| x["subject"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut open = Vec::new();
    for _ in 0..50 {
        let (_, alerts) = api.json("GET", "/api/v1/alerts?open=true", None).await;
        open = hole_alerts(&alerts);
        // Both bands' alerts are raised in one pass but written one by one.
        if open.iter().any(|s| s.starts_with("Main/F3 5 GHz near (")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        open.iter().any(|s| s.starts_with("Main/F3 5 GHz near (")),
        "{which}: hole alerts {open:?}"
    );

    // --- Channel plan ---------------------------------------------------------------------
    let (status, body) = api
        .json(
            "PUT",
            "/api/v1/aps/ap-east/placement",
            Some(json!({"floor": floor, "x": 16, "y": 5})),
        )
        .await;
    assert_eq!(status, 200, "{which}: {body}");
    // ... and clears once a second AP covers the far side.
    let mut still = open.clone();
    for _ in 0..50 {
        let (_, alerts) = api.json("GET", "/api/v1/alerts?open=true", None).await;
        still = hole_alerts(&alerts);
        if still.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(still.is_empty(), "{which}: hole alerts left open {still:?}");
    let (status, plan) = api
        .json(
            "GET",
            &format!("/api/v1/floors/{floor}/channel-plan?band=5"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{which}: {plan}");
    assert_eq!(
        plan["channels"]["entries"].as_array().map(Vec::len),
        Some(2),
        "{which}: {plan}"
    );
    assert!(
        plan["kpi_after"]["primary"].as_f64().is_some(),
        "{which}: {plan}"
    );
    let (status, ct, csv) = api
        .send(
            "GET",
            &format!("/api/v1/floors/{floor}/channel-plan?band=2.4&format=csv"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{which}");
    assert!(ct.starts_with("text/csv"), "{which}: {ct}");
    let csv = String::from_utf8_lossy(&csv);
    assert!(
        csv.starts_with("ap,band,current_channel,suggested_channel,width_mhz,changed"),
        "{which}: {csv}"
    );
    let (status, _) = api
        .json(
            "GET",
            &format!("/api/v1/floors/{floor}/channel-plan?width=30"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{which}");

    // --- Measured points and calibration: N = 35 comes back -----------------------------
    let true_n = 35.0;
    for (x, y) in [
        (1.0, 5.0),
        (6.0, 5.0),
        (8.0, 2.0),
        (9.0, 8.0),
        (5.0, 9.5),
        (3.0, 3.0),
    ] {
        let d = ((x - 4.0f64).powi(2) + (y - 5.0f64).powi(2)).sqrt();
        let rssi = by_hand(20.0, 5180.0, true_n, d, 0.0);
        let (status, body) = api
            .json(
                "POST",
                &format!("/api/v1/floors/{floor}/points"),
                Some(json!({"x": x, "y": y, "band": "5", "ap": "ap-west", "rssi_dbm": rssi})),
            )
            .await;
        assert_eq!(status, 201, "{which}: {body}");
    }
    let (status, body) = api
        .json(
            "POST",
            &format!("/api/v1/floors/{floor}/points"),
            Some(json!({"x": 1, "y": 1, "band": "9", "ap": "ap-west", "rssi_dbm": -50})),
        )
        .await;
    assert_eq!(status, 400, "{which}: {body}");
    let (status, cal) = api
        .json("POST", &format!("/api/v1/floors/{floor}/calibrate"), None)
        .await;
    assert_eq!(status, 200, "{which}: {cal}");
    let n = cal["fits"]["5"]["n"].as_f64().expect("fitted n");
    assert!((n - true_n).abs() < 0.2, "{which}: {cal}");
    assert!(
        cal["fits"]["5"]["rmse_after_db"].as_f64().unwrap_or(99.0) < 0.1,
        "{which}: {cal}"
    );
    let (_, got) = api
        .json("GET", &format!("/api/v1/floors/{floor}"), None)
        .await;
    assert_eq!(got["calibration"]["5"], 35.0, "{which}: {got}");

    // --- The printed report from the CLI ---------------------------------------------------
    let report = env.dir.path().join("report.html");
    let out = env.cli_ok(
        &[
            "coverage",
            "report",
            "--floor",
            "Main/F3",
            "--output",
            report.to_str().unwrap_or(""),
        ],
        None,
    );
    assert!(out.contains("1 floor"), "{which}: {out}");
    let html = std::fs::read_to_string(&report).expect("report");
    for needle in [
        "Main / F3",
        "<svg class=\"floormap\"",
        "data:image/png;base64,",
        "覆盖指标",
        "Meeting A",
        "@media print",
    ] {
        assert!(html.contains(needle), "{which}: report lacks {needle}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{which}: the report is self-contained"
    );
    if which == "sqlite" {
        print_report(&report);
    }

    // --- Every change is in the audit trail --------------------------------------------------
    let trail = env.cli_ok(&["audit", "export"], None);
    for action in [
        "floor.add",
        "floor.import-dxf",
        "floor.walls",
        "floor.areas",
        "ap.place",
        "floor.point",
        "floor.calibrate",
        "coverage.report",
    ] {
        assert!(trail.contains(action), "{which}: audit lacks {action}");
    }
    drop(server);
}

/// A staff phone on the Wi-Fi taps where it stands on the survey page;
/// the AP (a simulated MikroTik, polled over SNMP) reports that phone's
/// signal in its client table, and the tap becomes a measured point.
#[test]
fn survey_tap_records_the_phone_signal_its_ap_reports() {
    on_each_backend(|db| async move { survey(&db).await });
}

async fn survey(db: &crate::helpers::Db) {
    use portico::domain::MacAddr;
    use portico::store::portal_sessions::NewPortalSession;

    let which = db.name();
    let sim = crate::snmp_walks::Simulator::start(
        &[repo_path("tests/fixtures/walks/mikrotik.walk")],
        None,
    );
    let (community, addr) = sim.agents[0].clone();
    let mut env = TestEnv::new(db);
    env.set("PORTICO_SNMP__POLL_INTERVAL", "500ms");
    env.cli_ok(
        &[
            "floor",
            "add",
            "F2",
            "--building",
            "Main",
            "--level",
            "2",
            "--width",
            "30",
            "--height",
            "15",
        ],
        None,
    );
    env.cli_ok(
        &[
            "ap",
            "add",
            "ap-survey",
            "--address",
            &addr.to_string(),
            "--profile",
            "mikrotik",
            "--community-stdin",
        ],
        Some(&format!("{community}\n")),
    );
    env.cli_ok(
        &["floor", "place", "F2", "ap-survey", "--x", "5", "--y", "5"],
        None,
    );
    let server = tokio::task::block_in_place(|| env.start());
    let store = env.open_store().await;
    let floor = store
        .floors()
        .find("Main/F2")
        .await
        .expect("find")
        .expect("floor")
        .id;

    // The walk's registration table holds f4:0f:24:11:22:33 at −55 dBm.
    let phone = "f4:0f:24:11:22:33";
    let mut seen = None;
    for _ in 0..100 {
        seen = store
            .samples()
            .client_by_mac(phone, 0)
            .await
            .expect("client");
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "{which}: the poller never stored the phone: {}",
            server.log()
        )
    });
    assert_eq!(
        (seen.ap.as_str(), seen.rssi),
        ("ap-survey", Some(-55)),
        "{which}"
    );

    // Sessions: a staff phone, and a visitor.
    let session = |token: &str, mac: &str, method: &str| NewPortalSession {
        token_hash: portico::portal::tokens::hash_token(token),
        mac: MacAddr::parse(mac).expect("mac"),
        ip: Some("127.0.0.1".into()),
        identity: format!("{method}-person"),
        method: method.into(),
        phone: None,
        groups: vec!["staff".into()],
        profile: "default".into(),
        ssid: None,
        ap_mac: None,
        authorization_id: None,
        created_at: 1,
        expires_at: i64::MAX / 2,
        nas_name: None,
        nas_ip: None,
        original_url: None,
    };
    let staff_token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let visitor_token = "0f0e0d0c0b0a09080706050403020100";
    store
        .portal_sessions()
        .create(&session(staff_token, phone, "staff"))
        .await
        .expect("staff session");
    store
        .portal_sessions()
        .create(&session(visitor_token, "02:00:00:00:00:99", "voucher"))
        .await
        .expect("visitor session");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = format!("http://{}", server.http);
    let page_url = format!("{base}/portal/survey/{floor}");
    // No session: 401; a visitor: 403.
    let r = http.get(&page_url).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 401, "{which}");
    let r = http
        .get(&page_url)
        .header("cookie", format!("portico_session={visitor_token}"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 403, "{which}");

    // The staff phone gets the page, with its CSRF cookie and token.
    let r = http
        .get(&page_url)
        .header("cookie", format!("portico_session={staff_token}"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200, "{which}");
    let csrf_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("portico_csrf="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .expect("csrf cookie");
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"survey-map\""), "{which}: {html}");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf token")
        .to_string();
    let plan = http
        .get(format!("{page_url}/plan"))
        .header("cookie", format!("portico_session={staff_token}"))
        .send()
        .await
        .expect("plan");
    assert_eq!(plan.status().as_u16(), 200, "{which}");
    let cookies = format!("portico_session={staff_token}; portico_csrf={csrf_cookie}");

    // A forged tap (no token) is refused; the real one is recorded.
    let r = http
        .post(&page_url)
        .header("cookie", &cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("at.x=170&at.y=85")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 403, "{which}");
    // 340 px wide plan of a 30 m floor: (170, 85) px is (15, 7.5) m.
    let r = http
        .post(&page_url)
        .header("cookie", &cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&at.x=170&at.y=85"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200, "{which}");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("ap-survey") && html.contains("-55 dBm"),
        "{which}: {html}"
    );
    let points = store.floors().points(floor).await.expect("points");
    assert_eq!(points.len(), 1, "{which}");
    let p = &points[0];
    assert_eq!(
        (p.ap.as_str(), p.rssi_dbm, p.source.as_str()),
        ("ap-survey", -55.0, "survey"),
        "{which}"
    );
    assert!(
        (p.x - 15.0).abs() < 1e-9 && (p.y - 7.5).abs() < 1e-9,
        "{which}: {p:?}"
    );
    assert_eq!(p.taken_by.as_deref(), Some("staff-person"), "{which}");
    // Garbage coordinates are a clear answer, not a point.
    let r = http
        .post(&page_url)
        .header("cookie", &cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&at.x=NaN&at.y=-4"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200, "{which}");
    assert_eq!(
        store.floors().points(floor).await.expect("points").len(),
        1,
        "{which}"
    );
    drop(server);
    drop(sim);
}

/// The report printed by headless Chromium (print-to-PDF, as a browser's
/// Print does) and its pages rendered to PNG with pdftoppm, kept under
/// target/test-artifacts/coverage/.
fn print_report(report: &std::path::Path) {
    if !have_tool("chromium") || !have_tool("pdftoppm") {
        assert!(
            !in_ci(),
            "CI must have chromium and pdftoppm (poppler-utils)"
        );
        eprintln!("skipping the printed report: chromium or pdftoppm missing");
        return;
    }
    let dir = repo_path("target/test-artifacts/coverage");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let pdf = dir.join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    for old in std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok) {
        if old.file_name().to_string_lossy().starts_with("report-page") {
            let _ = std::fs::remove_file(old.path());
        }
    }
    let profile = tempfile::tempdir().expect("profile");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .expect("chromium");
    assert!(
        pdf.exists(),
        "no PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&pdf).expect("pdf");
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let prefix = dir.join("report-page");
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm");
    assert!(status.success(), "pdftoppm");
    let pages: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("report-page"))
        .collect();
    // One floor, one page (the print stylesheet breaks per floor).
    assert_eq!(pages.len(), 1, "pages: {pages:?}");
}

/// A controller's RRM list (a simulated AireOS WLC polled over SNMP):
/// each AP hears the others; with the APs placed, calibration fits N to
/// those AP-to-AP signals.
#[test]
fn neighbour_reports_from_a_polled_controller_calibrate_the_floor() {
    on_each_backend(|db| async move { neighbours(&db).await });
}

async fn neighbours(db: &crate::helpers::Db) {
    let which = db.name();
    let sim = crate::snmp_walks::Simulator::start(
        &[repo_path("tests/fixtures/walks/cisco-wlc.walk")],
        None,
    );
    let (community, addr) = sim.agents[0].clone();
    let mut env = TestEnv::new(db);
    env.set("PORTICO_SNMP__POLL_INTERVAL", "500ms");
    env.cli_ok(
        &[
            "ap",
            "add",
            "wlc",
            "--address",
            &addr.to_string(),
            "--profile",
            "cisco-wlc",
            "--community-stdin",
        ],
        Some(&format!("{community}\n")),
    );
    env.cli_ok(
        &[
            "floor",
            "add",
            "F1",
            "--building",
            "HQ",
            "--level",
            "1",
            "--width",
            "40",
            "--height",
            "20",
        ],
        None,
    );
    for (name, mac, x) in [
        ("ap-lobby", "70:db:98:1a:2b:00", "5"),
        ("ap-atrium", "f4:db:e6:3c:4d:10", "20"),
        ("ap-store", "00:27:e3:11:22:30", "35"),
    ] {
        env.cli_ok(
            &[
                "ap",
                "add",
                name,
                "--address",
                "127.0.0.1:9",
                "--profile",
                "generic",
                "--mac",
                mac,
                "--no-snmp",
            ],
            None,
        );
        env.cli_ok(&["floor", "place", "F1", name, "--x", x, "--y", "10"], None);
    }
    let server = tokio::task::block_in_place(|| env.start());
    let store = env.open_store().await;
    let mut got = Vec::new();
    for _ in 0..100 {
        got = store.samples().neighbours(0).await.expect("neighbours");
        if got.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got.len(), 5, "{which}: {got:?}\n{}", server.log());
    let lobby_hears_atrium = got
        .iter()
        .find(|n| {
            n.reporter == "70:db:98:1a:2b:00" && n.neighbour == "f4:db:e6:3c:4d:10" && n.band == "5"
        })
        .expect("lobby hears atrium at 5 GHz");
    assert_eq!(
        (lobby_hears_atrium.rssi, lobby_hears_atrium.channel),
        (-58, Some(36)),
        "{which}"
    );

    let admin = server
        .admin_accounts
        .iter()
        .find(|(n, _)| n == "sysadmin")
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| server.admin_accounts[0].0.clone());
    let token = env.cli_ok(
        &[
            "admin", "token", "create", "--admin", &admin, "--name", "rrm",
        ],
        None,
    );
    let api = Api::new(&server, &token);
    let floor = store
        .floors()
        .find("HQ/F1")
        .await
        .expect("find")
        .expect("floor")
        .id;
    let (status, cal) = api
        .json("POST", &format!("/api/v1/floors/{floor}/calibrate"), None)
        .await;
    assert_eq!(status, 200, "{which}: {cal}");
    // 5 GHz: lobby<->atrium and lobby<->store, four reports; 2.4 GHz has
    // one, too few to fit.
    assert_eq!(cal["fits"]["5"]["points"], 4, "{which}: {cal}");
    assert!(cal["fits"].get("2.4").is_none(), "{which}: {cal}");
    let n = cal["fits"]["5"]["n"].as_f64().expect("n");
    assert!((20.0..60.0).contains(&n), "{which}: {cal}");
    assert!(
        cal["fits"]["5"]["rmse_after_db"].as_f64() <= cal["fits"]["5"]["rmse_before_db"].as_f64(),
        "{which}: {cal}"
    );
    store.close().await;
    drop(server);
    drop(sim);
}
