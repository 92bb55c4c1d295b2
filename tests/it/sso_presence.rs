//! Wi-Fi presence for meeting check-in, on both backends: a staff member
//! who turned it on in the launcher appears in the room after radclient's
//! Accounting-Start from the room's AP and is gone after the Stop; one
//! who did not never appears; the answer names people, never addresses;
//! every query is an audit row; the token must carry `presence:read`.

use serde_json::Value;

use crate::helpers::{have_tool, on_each_backend, radclient, Db, SECRET};
use crate::portal_support::{input_value, Browser};
use crate::sso_flow::{bearer_get, client_secret, post, provider_env, staff_portal_session};

#[test]
fn presence_follows_accounting_and_consent_on_both_backends() {
    if !have_tool("radclient") {
        return;
    }
    on_each_backend(|db| async move { tokio::task::block_in_place(|| run(&db)) });
}

fn accounting(server: std::net::SocketAddr, status: &str, user: &str, device: &str, session: &str) {
    let attrs = format!(
        "Acct-Status-Type = {status}\nUser-Name = \"{user}\"\nAcct-Session-Id = \"{session}\"\n\
         Calling-Station-Id = \"{device}\"\nCalled-Station-Id = \"AA-BB-CC-00-03-01:Staff\"\n\
         NAS-IP-Address = 127.0.0.1\n"
    );
    let r = radclient(server, "acct", SECRET, &attrs);
    assert!(r.got("Accounting-Response"), "{}", r.output);
}

fn names(v: &Value) -> Vec<String> {
    v["people"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["username"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn run(db: &Db) {
    let which = db.name();
    let (mut env, _issuer) = provider_env(db);
    env.set("PORTICO_SSO__PRESENCE_IDLE", "5s");
    env.add_loopback_nas("ap-nas", &[]);
    env.add_user("zhang", "Zhang-pass-2026", &["staff"]);
    env.cli_ok(&["user", "add", "li", "--display-name", "李娜"], None);
    env.cli_ok(
        &[
            "ap",
            "add",
            "ap-301",
            "--address",
            "127.0.0.1",
            "--mac",
            "aa:bb:cc:00:03:01",
            "--no-snmp",
        ],
        None,
    );
    let out = env.cli_ok(&["room", "add", "会议室301", "--aps", "ap-301"], None);
    assert!(out.contains("1 AP"), "{which}: {out}");
    let out = env.cli_ok(&["room", "list"], None);
    assert!(out.contains("会议室301\tap-301"), "{which}: {out}");
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "meeting-svc",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "presence:read",
        ],
        None,
    );
    let secret = client_secret(&out);
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "no-presence",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "openid groups",
        ],
        None,
    );
    let other_secret = client_secret(&out);
    let server = env.start();
    let addr = server.http;

    // zhang turns presence on in the launcher (a staff portal session).
    let token = "cd".repeat(16);
    staff_portal_session(&env, &token, "02:00:00:00:00:07", "zhang");
    let mut b = Browser::new(addr);
    b.cookies.insert("portico_session".into(), token.clone());
    let page = b.get("/portal/launcher");
    assert_eq!(page.status, 200, "{which}");
    assert!(
        page.body.contains("data-on=\"0\""),
        "{which}: off by default"
    );
    let csrf = input_value(&page.body, "csrf").expect("csrf");
    let r = b.post("/portal/presence", &[("csrf", "forged"), ("on", "1")]);
    assert_eq!(r.status, 403, "{which}");
    let r = b.post("/portal/presence", &[("csrf", &csrf), ("on", "1")]);
    assert_eq!(r.status, 303, "{which}: {}", r.body);
    assert!(
        b.get("/portal/launcher").body.contains("data-on=\"1\""),
        "{which}"
    );

    // The meeting service's token.
    let (status, tok) = post(
        addr,
        "/oidc/token",
        Some(("meeting-svc", &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "presence:read"),
        ],
    );
    assert_eq!(status, 200, "{which}: {tok}");
    let access = tok["access_token"].as_str().expect("token").to_string();
    let room = "/api/v1/presence/rooms/%E4%BC%9A%E8%AE%AE%E5%AE%A4301";
    let (status, v) = bearer_get(addr, room, &access);
    assert_eq!(status, 200, "{which}: {v}");
    assert!(names(&v).is_empty(), "{which}: nobody yet: {v}");

    // Both arrive (802.1X: User-Name is the account); li never opted in.
    accounting(
        server.acct,
        "Start",
        "zhang",
        "02-00-00-00-00-07",
        "s-zhang",
    );
    accounting(server.acct, "Start", "li", "02-00-00-00-00-08", "s-li");
    let (_, v) = bearer_get(addr, room, &access);
    assert_eq!(names(&v), ["zhang"], "{which}: only who opted in: {v}");
    let text = v.to_string();
    assert!(
        !text.contains("02-00-00") && !text.contains("02:00:00") && !text.contains("127.0.0.1"),
        "{which}: no addresses: {text}"
    );
    assert!(
        v["people"][0]["since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{which}: {v}"
    );
    // Arrivals since an hour ago: zhang's first-seen time.
    let hour_ago = portico::clock::now_ms() - 3_600_000;
    let (status, arr) = bearer_get(addr, &format!("{room}/arrivals?since={hour_ago}"), &access);
    assert_eq!(status, 200, "{which}: {arr}");
    assert_eq!(names(&arr), ["zhang"], "{which}");
    assert!(arr["people"][0]["first_seen"].is_string());
    let (status, _) = bearer_get(addr, &format!("{room}/arrivals"), &access);
    assert_eq!(status, 400, "{which}: since is required");
    let (status, _) = bearer_get(addr, &format!("{room}/arrivals?since=0"), &access);
    assert_eq!(status, 400, "{which}: at most a day back");

    // Stop: gone from "now", still an arrival.
    accounting(server.acct, "Stop", "zhang", "02-00-00-00-00-07", "s-zhang");
    let (_, v) = bearer_get(addr, room, &access);
    assert!(names(&v).is_empty(), "{which}: left: {v}");
    let (_, arr) = bearer_get(addr, &format!("{room}/arrivals?since={hour_ago}"), &access);
    assert_eq!(names(&arr), ["zhang"], "{which}");

    // Turned off in the launcher: never answered, even while there.
    accounting(
        server.acct,
        "Start",
        "zhang",
        "02-00-00-00-00-07",
        "s-zhang-2",
    );
    assert_eq!(
        names(&bearer_get(addr, room, &access).1),
        ["zhang"],
        "{which}"
    );
    let r = b.post("/portal/presence", &[("csrf", &csrf), ("on", "0")]);
    assert_eq!(r.status, 303, "{which}");
    assert!(
        names(&bearer_get(addr, room, &access).1).is_empty(),
        "{which}: off at once"
    );

    // On again while still in the room (session s-zhang-2 began before):
    // nothing from before the new opt-in is told, "since" and "first_seen"
    // alike.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let opted_at = portico::clock::now_ms() / 1000 * 1000;
    let r = b.post("/portal/presence", &[("csrf", &csrf), ("on", "1")]);
    assert_eq!(r.status, 303, "{which}");
    let seconds = |v: &Value, key: &str| -> i64 {
        v["people"][0][key]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    };
    let (_, v) = bearer_get(addr, room, &access);
    assert_eq!(names(&v), ["zhang"], "{which}");
    assert!(
        seconds(&v, "since") >= opted_at,
        "{which}: {v} vs {opted_at}"
    );
    let (_, arr) = bearer_get(addr, &format!("{room}/arrivals?since={hour_ago}"), &access);
    assert_eq!(names(&arr), ["zhang"], "{which}");
    assert!(
        seconds(&arr, "first_seen") >= opted_at,
        "{which}: {arr} vs {opted_at}"
    );

    // A NAS that sends interim updates and then goes quiet (a lost Stop):
    // here until sso.presence_idle (5 s here) after the last update; the
    // session without interim updates (s-zhang-2) is closed first.
    accounting(
        server.acct,
        "Stop",
        "zhang",
        "02-00-00-00-00-07",
        "s-zhang-2",
    );
    accounting(
        server.acct,
        "Start",
        "zhang",
        "02-00-00-00-00-07",
        "s-zhang-3",
    );
    let interim = || {
        accounting(
            server.acct,
            "Interim-Update",
            "zhang",
            "02-00-00-00-00-07",
            "s-zhang-3",
        )
    };
    let here = || names(&bearer_get(addr, room, &access).1);
    let quiet = || std::thread::sleep(std::time::Duration::from_millis(5_500));
    // No interim yet: counted until Stop, however long it is quiet.
    quiet();
    assert_eq!(here(), ["zhang"], "{which}: a NAS without interim updates");
    interim();
    assert_eq!(here(), ["zhang"], "{which}");
    quiet();
    assert!(here().is_empty(), "{which}: quiet past presence_idle");
    interim();
    assert_eq!(here(), ["zhang"], "{which}: heard from again");
    let r = b.post("/portal/presence", &[("csrf", &csrf), ("on", "0")]);
    assert_eq!(r.status, 303, "{which}");

    // Refusals: no token, a token without the scope, an unknown room.
    assert_eq!(bearer_get(addr, room, "nope").0, 401, "{which}");
    let (_, other) = post(
        addr,
        "/oidc/token",
        Some(("no-presence", &other_secret)),
        &[("grant_type", "client_credentials"), ("scope", "groups")],
    );
    let other = other["access_token"].as_str().expect("token").to_string();
    assert_eq!(bearer_get(addr, room, &other).0, 403, "{which}: scope");
    assert_eq!(
        bearer_get(addr, "/api/v1/presence/rooms/nowhere", &access).0,
        404,
        "{which}"
    );

    // Every query is an audit row: client, room, how many answered.
    let out = env.cli_ok(&["audit", "export"], None);
    let queries = out.matches("presence.query").count();
    let arrivals = out.matches("presence.arrivals").count();
    assert_eq!((queries, arrivals), (10, 3), "{which}: {out}");
    assert!(
        out.contains("meeting-svc") && out.contains("answered\"\":1"),
        "{which}: {out}"
    );
    assert!(
        out.contains("presence.opt-in") && out.contains("presence.opt-out"),
        "{which}"
    );
    drop(server);
}
