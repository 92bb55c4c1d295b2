//! The portal as an attacker meets it: redirects are claims. Each test is
//! one hole that a real deployment cannot ship with: a post-back to a
//! host that is no NAS, one-time credentials replayed from another device
//! or NAS, a browser that is not the device it signs in, password guessing
//! from rotating addresses and MACs, sign-ins missing from the legal log,
//! a CAPPORT URL that leads nowhere, metrics open to guests.

use std::collections::HashMap;

use crate::helpers::*;
use crate::portal::portal_env;
use crate::portal_support::*;

const VICTIM: &str = "02-00-00-00-0A-01";
const PASSWORD: &str = "correct horse battery";

fn landing_fields(r: &Resp) -> (String, String) {
    assert_eq!(r.status, 200, "{}", r.body);
    (
        input_value(&r.body, "csrf").expect("csrf field"),
        input_value(&r.body, "ctx").expect("ctx field"),
    )
}

fn staff_post(b: &mut Browser, profile: &str, csrf: &str, ctx: &str, password: &str) -> Resp {
    b.post(
        &format!("/portal/{profile}/staff"),
        &[
            ("csrf", csrf),
            ("ctx", ctx),
            ("username", "alice"),
            ("password", password),
        ],
    )
}

/// `portico auth-log export` as rows of column -> value.
pub fn auth_log(env: &TestEnv) -> Vec<HashMap<String, String>> {
    let out = env.cli_ok(&["auth-log", "export", "--since", "2020-01-01"], None);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn one_time_count(env: &TestEnv) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = env.open_store().await;
        let n = store.one_time().count().await.expect("count");
        store.close().await;
        n
    })
}

#[test]
fn a_post_back_to_a_host_that_is_no_nas_is_refused() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let before = one_time_count(&env);
    for (switch_url, code) in [
        ("https%3A%2F%2F192.0.2.1%2Flogin.html", "PT-301"),
        ("https%3A%2F%2Fevil.invalid%2Flogin.html", "PT-302"),
    ] {
        let r = b.get(&format!(
            "/portal/cisco-wlc?switch_url={switch_url}&client_mac={}&wlan=Office",
            pct(VICTIM)
        ));
        assert_eq!(r.status, 403, "{switch_url}: {}", r.body);
        assert!(r.body.contains(code), "{switch_url}: {}", r.body);
        assert!(
            !r.body.contains("name=\"password\""),
            "no sign-in form is offered"
        );
        assert!(r.body.contains("id=\"action\""), "a way to try again");
    }
    assert_eq!(one_time_count(&env), before, "nothing was issued");
    assert!(server.log().contains("is no configured NAS"));

    // A host the admin named is the explicit extension.
    let mut env2 = portal_env(&Db::Sqlite);
    env2.set("PORTICO_PORTAL__ALLOWED_LOGIN_HOSTS", "[\"192.0.2.1\"]");
    let server2 = env2.start();
    let r = Browser::new(server2.http).get(&format!(
        "/portal/cisco-wlc?switch_url=https%3A%2F%2F192.0.2.1%2Flogin.html&client_mac={}",
        pct(VICTIM)
    ));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn one_time_credentials_replayed_with_another_mac_or_from_another_nas_are_rejected() {
    let env = TestEnv::new(&Db::Sqlite);
    // The controller the client is behind, and everything else on loopback.
    for (name, net) in [("wlc-a", "127.0.0.1/32"), ("wlc-b", "127.0.0.0/8")] {
        env.cli_ok(
            &[
                "nas",
                "add",
                name,
                "--address",
                net,
                "--profile",
                "cisco-wlc",
                "--secret-stdin",
            ],
            Some(&format!("{SECRET}\n")),
        );
    }
    env.add_user("alice", PASSWORD, &["staff"]);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&b.get(&format!(
        "/portal/cisco-wlc?switch_url=http%3A%2F%2F127.0.0.1%3A9%2Flogin.html&client_mac={}&wlan=Office",
        pct(VICTIM)
    )));
    let r = staff_post(&mut b, "cisco-wlc", &csrf, &ctx, PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    let user = input_value(&r.body, "username").expect("one-time username");
    let pass = input_value(&r.body, "password").expect("one-time password");

    // Seen on the way to the AP and replayed: from another NAS ...
    let other_nas = pap_auth_from(server.auth, "127.0.0.5", &user, &pass, VICTIM);
    assert!(!accepted(&other_nas), "another NAS");
    // ... or by another device through the right one.
    let other_mac = pap_auth(server.auth, &user, &pass, "02-00-00-00-0B-02");
    assert!(!accepted(&other_mac), "another client MAC");
    let no_mac = pap_request(3, &user, &pass, SECRET, &[]).0;
    assert!(
        RawClient::new(server.auth)
            .exchange(&no_mac)
            .and_then(|r| r.first().copied())
            == Some(3),
        "no Calling-Station-Id at all"
    );
    // The refusals did not use them up: the real AP's request still works.
    let genuine = pap_auth(server.auth, &user, &pass, VICTIM);
    assert!(accepted(&genuine), "the device through its NAS");

    server.wait_for("the reasons in the auth log", || {
        let rows = auth_log(&env);
        let reasons: Vec<&str> = rows
            .iter()
            .filter(|r| r["username"] == user)
            .map(|r| r["reason"].as_str())
            .collect();
        reasons.iter().any(|r| r.contains("another NAS"))
            && reasons.iter().any(|r| r.contains("another client MAC"))
            && reasons.len() >= 4
    });
}

#[test]
fn a_browser_that_is_not_the_device_does_not_authorize_it() {
    for db in backends() {
        let env = portal_env(&db);
        let server = env.start();
        // The link names another device and another address.
        let mut attacker = Browser::new(server.http);
        let r = attacker.get(&format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.9",
            pct(VICTIM)
        ));
        assert_eq!(r.status, 403, "[{}] {}", db.name(), r.body);
        assert!(r.body.contains("PT-311"), "{}", r.body);

        // The link names the attacker's own address, but the NAS reported
        // where the device really is: refused at sign-in.
        acct_start_at(server.acct, VICTIM, "victim-pre", "127.0.0.9");
        let (csrf, ctx) = landing_fields(&attacker.get(&format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.1",
            pct(VICTIM)
        )));
        let r = staff_post(&mut attacker, "generic", &csrf, &ctx, PASSWORD);
        assert_eq!(r.status, 403, "[{}] {}", db.name(), r.body);
        assert!(r.body.contains("PT-311"), "{}", r.body);

        // A form sealed for the device, posted from another browser.
        let mut device = Browser::from_ip(server.http, "127.0.0.9");
        let (csrf, ctx) = landing_fields(&device.get(&format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.9",
            pct(VICTIM)
        )));
        attacker.cookies = device.cookies.clone();
        let r = staff_post(&mut attacker, "generic", &csrf, &ctx, PASSWORD);
        assert_eq!(r.status, 403, "[{}] {}", db.name(), r.body);
        assert!(
            !accepted(&mac_auth(server.auth, VICTIM)),
            "[{}] the device was not let in",
            db.name()
        );
        let refused = auth_log(&env);
        assert!(
            refused.iter().any(|r| r["method"] == "portal-staff"
                && r["outcome"] == "reject"
                && r["client_ip"] == "127.0.0.1"),
            "{refused:?}"
        );

        // The device itself signs in.
        let r = staff_post(&mut device, "generic", &csrf, &ctx, PASSWORD);
        assert_eq!(r.status, 303, "[{}] {}", db.name(), r.body);
        assert!(accepted(&mac_auth(server.auth, VICTIM)));
    }
}

#[test]
fn a_profile_without_client_address_is_refused_when_strict_and_allowed_when_off() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let path = format!("/portal/unifi?id={}&ssid=Office", pct(VICTIM));
    let r = Browser::new(server.http).get(&path);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("PT-312"), "{}", r.body);

    let mut off = portal_env(&Db::Sqlite);
    off.set("PORTICO_PORTAL__CLIENT_CHECK", "off");
    let server = off.start();
    assert!(server.log().contains("portal.client_check = \"off\""));
    let r = Browser::new(server.http).get(&path);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn forty_guesses_from_forty_sources_and_forty_macs_lock_the_account() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut statuses = Vec::new();
    for i in 10..50 {
        let ip = format!("127.0.0.{i}");
        let mac = format!("02-00-00-00-01-{i:02}");
        let mut b = Browser::from_ip(server.http, &ip);
        let (csrf, ctx) =
            landing_fields(&b.get(&format!("/portal/generic?client_mac={mac}&client_ip={ip}")));
        let r = staff_post(&mut b, "generic", &csrf, &ctx, "not-the-password");
        statuses.push((r.status, r.body.contains("PT-202")));
    }
    // The tenth wrong password locks the account; the rest meet the lock.
    assert!(statuses[..9].iter().all(|s| s.0 == 401), "{statuses:?}");
    assert!(
        statuses[9..].iter().all(|s| *s == (429, true)),
        "{statuses:?}"
    );

    // The right password from yet another address and device: still locked.
    let mut b = Browser::from_ip(server.http, "127.0.0.77");
    let (csrf, ctx) =
        landing_fields(&b.get("/portal/generic?client_mac=02-00-00-00-01-77&client_ip=127.0.0.77"));
    let r = staff_post(&mut b, "generic", &csrf, &ctx, PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("locked"), "{}", r.body);

    // The lock is an event; RADIUS is never locked.
    let events = env.cli_ok(&["event", "list", "--json"], None);
    assert!(
        events.contains("account-locked") && events.contains("alice"),
        "{events}"
    );
    assert!(accepted(&pap_auth(
        server.auth,
        "alice",
        PASSWORD,
        "02-00-00-00-01-78"
    )));

    // An administrator lifts it.
    env.cli_ok(&["user", "unlock", "alice"], None);
    let r = staff_post(&mut b, "generic", &csrf, &ctx, PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
}

#[test]
fn every_portal_sign_in_sign_out_and_expiry_is_in_the_auth_log() {
    let mut env = portal_env(&Db::Sqlite);
    env.set("PORTICO_PORTAL__CLICK_THROUGH_SSIDS", "[\"Guest\"]");
    env.set("PORTICO_PORTAL__CLICK_THROUGH_SESSION", "1s");
    env.set("PORTICO_PORTAL__EXPIRY_CHECK", "200ms");
    let out = env.cli_ok(&["voucher", "create", "--count", "1", "--json"], None);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let code = v["codes"][0].as_str().unwrap().to_string();
    let server = env.start();
    let landing_path = |mac: &str, ssid: &str| {
        format!(
            "/portal/generic?client_mac={}&client_ip=127.0.0.1&ssid={ssid}&ap_mac=00-11-22-33-44-55",
            pct(mac)
        )
    };

    let mut staff = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&staff.get(&landing_path("02-00-00-00-0C-01", "Office")));
    assert_eq!(
        staff_post(&mut staff, "generic", &csrf, &ctx, "wrong").status,
        401
    );
    assert_eq!(
        staff_post(&mut staff, "generic", &csrf, &ctx, PASSWORD).status,
        303
    );
    let l = staff.get("/portal/launcher");
    let csrf2 = input_value(&l.body, "csrf").unwrap();
    assert_eq!(
        staff.post("/portal/logout", &[("csrf", &csrf2)]).status,
        200
    );

    let mut visitor = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&visitor.get(&landing_path("02-00-00-00-0C-02", "Office")));
    let r = visitor.post(
        "/portal/generic/voucher",
        &[("csrf", &csrf), ("ctx", &ctx), ("code", &code)],
    );
    assert_eq!(r.status, 303, "{}", r.body);

    let mut guest = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&guest.get(&landing_path("02-00-00-00-0C-03", "Guest")));
    let r = guest.post("/portal/generic/accept", &[("csrf", &csrf), ("ctx", &ctx)]);
    assert_eq!(r.status, 303, "{}", r.body);

    let find = |rows: &[HashMap<String, String>], method: &str, outcome: &str| {
        rows.iter()
            .find(|r| r["method"] == method && r["outcome"] == outcome)
            .cloned()
    };
    server.wait_for("the click-through session's expiry row", || {
        find(&auth_log(&env), "portal-click", "expired").is_some()
    });
    let rows = auth_log(&env);
    let ok = find(&rows, "portal-staff", "accept").expect("staff sign-in row");
    assert_eq!(ok["username"], "alice");
    assert_eq!(ok["mac"], "02:00:00:00:0c:01");
    assert_eq!(ok["client_ip"], "127.0.0.1");
    assert_eq!(ok["ssid"], "Office");
    assert_eq!(ok["ap"], "00:11:22:33:44:55");
    let bad = find(&rows, "portal-staff", "reject").expect("refused attempt row");
    assert!(bad["reason"].contains("wrong"), "{bad:?}");
    assert!(
        find(&rows, "portal-staff", "sign-out").is_some(),
        "{rows:?}"
    );
    let v = find(&rows, "portal-voucher", "accept").expect("voucher row");
    assert_eq!(v["username"], format!("voucher:{code}"));
    assert_eq!(v["mac"], "02:00:00:00:0c:02");
    let c = find(&rows, "portal-click", "accept").expect("click-through row");
    assert_eq!(c["ssid"], "Guest");
    let e = find(&rows, "portal-click", "expired").unwrap();
    assert_eq!(e["mac"], "02:00:00:00:0c:03");
}

#[test]
fn capport_user_portal_url_works_for_the_asking_client() {
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let api = b.get("/capport/api");
    assert_eq!(api.status, 200);
    assert_eq!(api.header("content-type"), Some("application/captive+json"));
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(json["captive"], true);
    let url = json["user-portal-url"].as_str().expect("user-portal-url");
    let path = &url[url.find("/portal").expect("portal path")..];
    assert_eq!(path, "/portal/start");

    // Nothing known of this address yet: a page that says what to do.
    let r = b.get(path);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"action\""), "{}", r.body);

    // Once the AP reports the device's address, the same URL is its landing.
    acct_start_at(server.acct, VICTIM, "capport-pre", "127.0.0.1");
    let (csrf, ctx) = landing_fields(&b.get(path));
    assert_eq!(
        staff_post(&mut b, "generic", &csrf, &ctx, PASSWORD).status,
        303
    );
    let api = b.get("/capport/api");
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(json["captive"], false, "{}", api.body);
    assert!(json["seconds-remaining"].as_i64().unwrap_or(0) > 28_000);

    // Another address on the same network is still captive.
    let other = Browser::from_ip(server.http, "127.0.0.3").get("/capport/api");
    assert!(other.body.contains("\"captive\":true"), "{}", other.body);
}

#[test]
fn metrics_answer_only_on_the_management_listener() {
    let mut env = TestEnv::new(&Db::Sqlite);
    env.set("PORTICO_ADMIN__METRICS_TOKEN", "t0ken-for-prometheus");
    let server = env.start();
    assert_eq!(server.http_get("/metrics").0, 404);
    assert_eq!(server.http_get("/metrics/snmp").0, 404);
    assert_eq!(server.http_get("/healthz").0, 200);
    assert_eq!(server.admin_get("/metrics").0, 401);
    let r = request(
        server.admin,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer t0ken-for-prometheus".to_string())],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("portico_radius"), "{}", r.body);
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let path = format!(
        "/portal/generic?client_mac={}&client_ip=127.0.0.9",
        pct(VICTIM)
    );
    let forwarded = [("X-Forwarded-For", "127.0.0.9".to_string())];
    // From anyone: the header is the client's own claim, and ignored.
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let r = request(server.http, "GET", &path, &forwarded, None);
    assert_eq!(r.status, 403, "{}", r.body);
    // From the reverse proxy the admin named: it says who the client is.
    let mut env = portal_env(&Db::Sqlite);
    env.set("PORTICO_PORTAL__TRUSTED_PROXIES", "[\"127.0.0.1/32\"]");
    let server = env.start();
    let r = request(server.http, "GET", &path, &forwarded, None);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn the_launcher_greets_staff_by_display_name() {
    let env = portal_env(&Db::Sqlite);
    env.cli_ok(
        &[
            "user",
            "add",
            "lizhi",
            "--password-stdin",
            "--display-name",
            "李志",
        ],
        Some("lis-password\n"),
    );
    let server = env.start();
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&b.get(&format!(
        "/portal/generic?client_mac={}&client_ip=127.0.0.1",
        pct(VICTIM)
    )));
    let r = b.post(
        "/portal/generic/staff",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("username", "lizhi"),
            ("password", "lis-password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    acct_start(server.acct, VICTIM, "launcher-1");
    server.wait_for("confirmation", || {
        b.get("/portal/status").header("location") == Some("/portal/launcher")
    });
    let l = b.get("/portal/launcher");
    assert!(
        l.body.contains("李志") && !l.body.contains("lizhi"),
        "{}",
        l.body
    );
}

#[test]
fn wrong_pap_passwords_count_toward_the_lock_but_never_lock_radius() {
    let mut env = portal_env(&Db::Sqlite);
    env.set("PORTICO_PORTAL__ACCOUNT_LOCKOUT__FAILURES", "3");
    let server = env.start();
    for _ in 0..3 {
        assert!(!accepted(&pap_auth(server.auth, "alice", "guess", VICTIM)));
    }
    server.wait_for("the lock event", || {
        let events = env.cli_ok(&["event", "list", "--json"], None);
        events.contains("account-locked") && events.contains("through radius")
    });
    // RADIUS still takes the right password; the portal does not.
    assert!(accepted(&pap_auth(server.auth, "alice", PASSWORD, VICTIM)));
    let mut b = Browser::new(server.http);
    let (csrf, ctx) = landing_fields(&b.get(&format!(
        "/portal/generic?client_mac={}&client_ip=127.0.0.1",
        pct(VICTIM)
    )));
    assert_eq!(
        staff_post(&mut b, "generic", &csrf, &ctx, PASSWORD).status,
        429
    );
}
