//! Captive portal over the wire: landing routes per vendor profile, staff
//! sign-in with each handoff, vouchers, CAPPORT, refusals that store
//! nothing.

use crate::helpers::*;
use crate::portal_support::*;

const MAC: &str = "AA-BB-CC-00-11-22";
const LAUNCHER: &str = r#"[{ name = "会议系统", name_en = "Meetings", icon = "M", url = "https://meet.example/", groups = ["staff"] }, { name = "访客指南", name_en = "Visitor guide", url = "https://guide.example/" }]"#;

pub fn portal_env(db: &Db) -> TestEnv {
    let mut env = TestEnv::new(db);
    env.set("PORTICO_PORTAL__LAUNCHER", LAUNCHER);
    env.set("PORTICO_PORTAL__CONFIRM_TIMEOUT", "3s");
    // The SNMP trap receiver's default port would collide between servers.
    env.set("PORTICO_SNMP__TRAP_LISTEN", "127.0.0.1:0");
    env.add_loopback_nas("ap-test", &[]);
    env.add_user("alice", "correct horse battery", &["staff"]);
    env
}

fn landing(b: &mut Browser, path: &str) -> (String, String) {
    let r = b.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let csrf = input_value(&r.body, "csrf").expect("csrf field");
    let ctx = input_value(&r.body, "ctx").expect("ctx field");
    (csrf, ctx)
}

/// Active authorizations in the server's store (from a sync test).
fn authorizations(env: &TestEnv) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = env.open_store().await;
        let n = store
            .authorizations()
            .list_active(portico::clock::now_ms())
            .await
            .unwrap()
            .len();
        store.close().await;
        n
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landing_routes_understand_each_vendor_and_refuse_bad_input() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    // The AP reported the client's address: what UniFi's redirect lacks.
    acct_start_at(server.acct, MAC, "pre-auth-0", "127.0.0.1");
    let mut b = Browser::new(server.http);
    let cases = [
        "/portal/cisco-wlc?switch_url=https%3A%2F%2F127.0.0.2%2Flogin.html&ap_mac=00%3A11%3A22%3A33%3A44%3A55&client_mac=aa%3Abb%3Acc%3A00%3A11%3A22&wlan=Office&redirect=www.example.com%2F",
        "/portal/aruba?cmd=login&mac=aa%3Abb%3Acc%3A00%3A11%3A22&essid=Office&ip=127.0.0.1&apname=ap1&switchip=127.0.0.3&url=http%3A%2F%2Fexample.com%2F",
        "/portal/huawei?user-mac=aabbcc001122&user-ip=127.0.0.1&ap-mac=001122334455&ssid=Office&redirect-url=http%3A%2F%2Fexample.com%2F",
        "/portal/ruckus?sip=127.0.0.4&mac=00%3A11%3A22%3A33%3A44%3A55&client_mac=aa%3Abb%3Acc%3A00%3A11%3A22&uip=10.0.0.9&ssid=Office&url=http%3A%2F%2Fexample.com%2F",
        "/portal/unifi?ap=00%3A11%3A22%3A33%3A44%3A55&id=aa%3Abb%3Acc%3A00%3A11%3A22&t=1700000000&url=http%3A%2F%2Fexample.com%2F&ssid=Office",
        "/portal/omada?clientMac=AA-BB-CC-00-11-22&clientIp=127.0.0.1&apMac=00-11-22-33-44-55&ssidName=Office&radioId=1&redirectUrl=http%3A%2F%2Fexample.com%2F",
        "/portal/mikrotik?mac=AA%3ABB%3ACC%3A00%3A11%3A22&ip=10.0.0.9&link-login-only=http%3A%2F%2F127.0.0.5%2Flogin&link-orig=http%3A%2F%2Fexample.com%2F&chap-id=%5C001&chap-challenge=%5C123%5C045abc",
        "/portal/coova?res=notyet&uamip=127.0.0.6&uamport=3990&challenge=00112233445566778899aabbccddeeff&called=00-11-22-33-44-55&mac=AA-BB-CC-00-11-22&ip=10.1.0.9&userurl=http%3A%2F%2Fexample.com%2F",
        "/portal/generic?client_mac=aabbcc001122&url=http%3A%2F%2Fexample.com%2F",
    ];
    for path in cases {
        let r = b.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body.contains("name=\"csrf\""), "{path}");
        let cookie = r.header("set-cookie").unwrap_or("");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(r.header("content-security-policy").is_some());
    }
    // Chinese by default, English on request.
    let zh = request(server.http, "GET", cases[4], &[], None);
    assert!(
        zh.body.contains("lang=\"zh-CN\"") && zh.body.contains("登录"),
        "{}",
        zh.body
    );
    assert!(b.get(cases[4]).body.contains("lang=\"en\""));

    // Refusals say what to do, give a code for the helpdesk, and offer a
    // button to try again (a sign-in window has no back button).
    for (path, status, needle) in [
        (
            "/portal/nope?client_mac=aabbcc001122",
            404,
            "Unknown access point",
        ),
        ("/portal/unifi?ap=x", 400, "PT-101"),
        ("/portal/unifi?id=not-a-mac", 400, "PT-102"),
        ("/portal/cisco-wlc?client_mac=aabbcc001122", 400, "PT-103"),
        (
            "/portal/coova?mac=aabbcc001122&uamip=127.0.0.6&uamport=3990&challenge=zz",
            400,
            "PT-102",
        ),
        ("/portal/unifi?id=%FF%FE", 400, "PT-102"),
    ] {
        let r = b.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(r.body.contains(needle), "{path}: {}", r.body);
        assert!(r.body.contains("id=\"action\""), "{path}: no retry button");
        assert!(
            !r.body.contains("parameter"),
            "{path}: diagnostics stay in the log"
        );
    }
    // An unusable original URL is dropped: sign-in goes on without it.
    let long = format!("http%3A%2F%2Fexample.com%2F{}", "a".repeat(2500));
    for url in [
        "javascript%3Aalert(1)",
        "http%3A%2F%2Fx%2F%22onload%3D",
        long.as_str(),
    ] {
        let path = format!("/portal/unifi?id=aabbcc001122&url={url}");
        let r = b.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body.contains("name=\"csrf\"") && !r.body.contains("javascript"));
    }
}

#[test]
fn staff_radius_mac_handoff_confirm_capport_launcher_and_sign_out() {
    for db in backends() {
        let env = portal_env(&db);
        let server = env.start();
        let mut b = Browser::new(server.http);
        let path = format!(
            "/portal/generic?ap_mac=00%3A11%3A22%3A33%3A44%3A55&client_mac={}&client_ip=127.0.0.1&url=http%3A%2F%2Fexample.com%2F&ssid=Office",
            pct(MAC)
        );
        let (csrf, ctx) = landing(&mut b, &path);

        // CAPPORT before sign-in: captive.
        let api = b.get("/capport/api");
        assert_eq!(api.status, 200);
        assert_eq!(api.header("content-type"), Some("application/captive+json"));
        assert!(api.body.contains("\"captive\":true"), "{}", api.body);
        assert!(api.body.contains("/portal/start"), "{}", api.body);

        // Refusals store nothing.
        let r = b.post(
            "/portal/generic/staff",
            &[
                ("ctx", &ctx),
                ("username", "alice"),
                ("password", "correct horse battery"),
            ],
        );
        assert_eq!(r.status, 403, "missing CSRF: {}", r.body);
        let r = b.post(
            "/portal/generic/staff",
            &[
                ("csrf", &csrf),
                ("ctx", &ctx),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        );
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("Wrong username or password"), "{}", r.body);
        let r = b.post(
            "/portal/generic/staff",
            &[
                ("csrf", &csrf),
                ("ctx", "00.00"),
                ("username", "alice"),
                ("password", "correct horse battery"),
            ],
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            authorizations(&env),
            0,
            "[{}] refused sign-ins stored nothing",
            db.name()
        );
        assert!(!accepted(&mac_auth(server.auth, MAC)));

        let r = b.post(
            "/portal/generic/staff",
            &[
                ("csrf", &csrf),
                ("ctx", &ctx),
                ("username", "alice"),
                ("password", "correct horse battery"),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/portal/status"));
        assert!(b.cookies.contains_key("portico_session"));

        // The AP's MAC authentication is now accepted for the time left.
        let reply = mac_auth(server.auth, MAC);
        assert!(accepted(&reply), "[{}] MAC auth after sign-in", db.name());
        let timeout = session_timeout(&reply).expect("Session-Timeout");
        assert!((28_700..=28_800).contains(&timeout), "{timeout}");

        // Waiting until the AP reports the client online.
        let w = b.get("/portal/status");
        assert_eq!(w.status, 200);
        assert!(w.body.contains("http-equiv=\"refresh\""), "{}", w.body);
        acct_start(server.acct, MAC, "sess-1");
        server.wait_for("accounting start confirmed", || {
            b.get("/portal/status").header("location") == Some("/portal/launcher")
        });

        let l = b.get("/portal/launcher");
        assert_eq!(l.status, 200, "{}", l.body);
        assert!(
            l.body.contains("alice")
                && l.body.contains("Meetings")
                && l.body.contains("Visitor guide"),
            "{}",
            l.body
        );
        assert!(l.body.contains("id=\"time-left\">7:59:"), "{}", l.body);

        let csrf2 = input_value(&l.body, "csrf").unwrap();
        let out = b.post("/portal/logout", &[("csrf", &csrf2)]);
        assert_eq!(out.status, 200, "{}", out.body);
        assert!(
            !accepted(&mac_auth(server.auth, MAC)),
            "revoked on sign-out"
        );
        assert_eq!(b.get("/portal/launcher").status, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capport_reports_the_session_of_the_client_address() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing(
        &mut b,
        &format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.1",
            pct(MAC)
        ),
    );
    let r = b.post(
        "/portal/generic/staff",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("username", "alice"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let api = b.get("/capport/api");
    assert!(api.body.contains("\"captive\":false"), "{}", api.body);
    assert!(
        api.body.contains("\"seconds-remaining\":28"),
        "{}",
        api.body
    );
    assert!(
        api.body.contains("\"can-extend-session\":false"),
        "{}",
        api.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_handoff_gives_one_time_credentials_accepted_once() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing(
        &mut b,
        &format!("/portal/cisco-wlc?switch_url=http%3A%2F%2F127.0.0.2%2Flogin.html&client_mac={}&wlan=Office&redirect=example.com", pct(MAC)),
    );
    let r = b.post(
        "/portal/cisco-wlc/staff",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("username", "alice"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        form_action(&r.body, "handoff").as_deref(),
        Some("http://127.0.0.2/login.html")
    );
    let user = input_value(&r.body, "username").unwrap();
    let pass = input_value(&r.body, "password").unwrap();
    assert_eq!(input_value(&r.body, "buttonClicked").as_deref(), Some("4"));
    assert!(input_value(&r.body, "redirect_url")
        .unwrap()
        .ends_with("/portal/status"));
    // Not confirmed until the AP has really logged the client in.
    let waiting = b.get("/portal/status");
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    let first = pap_auth(server.auth, &user, &pass, MAC);
    assert!(accepted(&first), "one-time credentials accepted");
    // Then the status page sends the person on to the launcher (the
    // authentication log is written in batches: poll with a deadline).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = b.get("/portal/status");
        if s.status == 303 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status page never confirmed: {} {}",
            s.status,
            s.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(session_timeout(&first).is_some_and(|t| t > 28_000));
    assert!(
        !accepted(&pap_auth(server.auth, &user, &pass, MAC)),
        "and only once"
    );
    assert!(!accepted(&pap_auth(server.auth, &user, "wrong", MAC)));
}

#[test]
fn vouchers_from_the_cli_sign_in_and_expire() {
    let env = portal_env(&Db::Sqlite);
    let out = env.cli_ok(
        &[
            "voucher",
            "create",
            "--count",
            "2",
            "--duration",
            "2h",
            "--devices",
            "1",
            "--note",
            "lobby",
            "--group",
            "visitors",
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let code = v["codes"][0].as_str().unwrap().to_string();
    let batch = v["batch"].as_i64().unwrap();
    let list = env.cli_ok(&["voucher", "list"], None);
    assert!(list.contains("lobby"), "{list}");
    let sheet = env.cli_ok(
        &[
            "voucher",
            "print",
            &batch.to_string(),
            "--lang",
            "en",
            "--ssid",
            "RD-Guest",
        ],
        None,
    );
    assert!(sheet.contains(&code) && sheet.contains("<html"), "{sheet}");
    // The building's time, the network to join, and how.
    assert!(
        sheet.contains("RD-Guest") && sheet.contains("How to use"),
        "{sheet}"
    );
    assert!(!sheet.contains("UTC"), "{sheet}");
    let zh = env.cli_ok(&["voucher", "print", &batch.to_string()], None);
    assert!(zh.contains("使用方法") && zh.contains("2 小时"), "{zh}");
    let expired = env.cli_ok(
        &[
            "voucher",
            "create",
            "--count",
            "1",
            "--valid-for",
            "1s",
            "--json",
        ],
        None,
    );
    let expired: serde_json::Value = serde_json::from_str(expired.trim()).unwrap();
    let expired_code = expired["codes"][0].as_str().unwrap().to_string();

    let server = env.start();
    let mut b = Browser::new(server.http);
    let landing_path = |mac: &str| {
        format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.1",
            pct(mac)
        )
    };
    let (csrf, ctx) = landing(&mut b, &landing_path(MAC));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = b.post(
        "/portal/generic/voucher",
        &[("csrf", &csrf), ("ctx", &ctx), ("code", &expired_code)],
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("invalid or has expired"), "{}", r.body);
    let r = b.post(
        "/portal/generic/voucher",
        &[("csrf", &csrf), ("ctx", &ctx), ("code", "ABCD-EFGH-JKMN")],
    );
    assert_eq!(r.status, 401);
    assert_eq!(authorizations(&env), 0);

    let r = b.post(
        "/portal/generic/voucher",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("code", &code.to_lowercase().replace('-', " ")),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let reply = mac_auth(server.auth, MAC);
    assert!(accepted(&reply));
    assert!(session_timeout(&reply).is_some_and(|t| (7_000..=7_200).contains(&t)));
    // A second device may not use a one-device voucher.
    let mut other = Browser::new(server.http);
    let (csrf, ctx) = landing(&mut other, &landing_path("AA-BB-CC-00-11-99"));
    let r = other.post(
        "/portal/generic/voucher",
        &[("csrf", &csrf), ("ctx", &ctx), ("code", &code)],
    );
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_device() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing(
        &mut b,
        &format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.1",
            pct(MAC)
        ),
    );
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let r = b.post(
            "/portal/generic/voucher",
            &[("csrf", &csrf), ("ctx", &ctx), ("code", "ABCD-EFGH-JKMN")],
        );
        statuses.push(r.status);
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10], 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn radius_mac_sign_in_asks_the_ap_to_reauthenticate_and_sign_out_disconnects() {
    // The AP's RFC 5176 port.
    let ap = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ap.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok();
    let port = ap.local_addr().unwrap().port().to_string();
    let mut env = TestEnv::new(&Db::Sqlite);
    env.set("PORTICO_SNMP__TRAP_LISTEN", "127.0.0.1:0");
    env.add_loopback_nas("ap-unifi", &["--profile", "unifi", "--coa-port", &port]);
    env.add_user("alice", "correct horse battery", &["staff"]);
    let server = env.start();
    // The AP accounts for the client before sign-in (guest pre-authentication),
    // with its address: the proof that the browser below is that client.
    acct_start_at(server.acct, MAC, "pre-auth-1", "127.0.0.1");
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing(&mut b, &format!("/portal/unifi?id={}", pct(MAC)));
    let r = b.post(
        "/portal/unifi/staff",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("username", "alice"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let recv = |want: u8| -> Vec<u8> {
        let mut buf = [0u8; 4096];
        loop {
            let (n, _) = ap.recv_from(&mut buf).expect("request from Portico");
            if buf[0] == want {
                return buf[..n].to_vec();
            }
        }
    };
    let coa = recv(43);
    assert_eq!(
        portico::radius::wire::find_attribute(&coa, 31),
        Some(&b"aa:bb:cc:00:11:22"[..]),
        "CoA-Request names the client (as accounting stored it)"
    );
    let l = b.get("/portal/launcher");
    let csrf2 = input_value(&l.body, "csrf").unwrap();
    assert_eq!(b.post("/portal/logout", &[("csrf", &csrf2)]).status, 200);
    let dm = recv(40);
    assert_eq!(
        portico::radius::wire::find_attribute(&dm, 44),
        Some(&b"pre-auth-1"[..])
    );
}
