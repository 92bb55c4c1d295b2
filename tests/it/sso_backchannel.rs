//! Back-Channel Logout over the wire, on both backends: an app that
//! registered a back-channel URI (a fake started here) receives a signed
//! logout token when a person signs out at the provider with an ID token
//! hint, when an administrator disables the account and when it is
//! removed (both from the CLI while the server runs), and when an account
//! reaches its valid_until; the person's tokens
//! at the told apps are dead; a bare logout link tells no app; an app that
//! answers 503 keeps its notice queued for a retry; only HTTPS (or
//! loopback) URIs are accepted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post as route_post;
use axum::Router;
use serde_json::Value;

use crate::helpers::{on_each_backend, Db};
use crate::portal_support::Browser;
use crate::sso_flow::{
    authorize_path, challenge, exchange_public, param, provider_env, sign_in, userinfo, VERIFIER,
};

/// What the fake app received: (path, content type, body).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

async fn told(State(r): State<Received>, headers: HeaderMap, body: String) -> StatusCode {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    r.lock().expect("lock").push(("/bcl".into(), ct, body));
    StatusCode::OK
}

async fn down(State(r): State<Received>, body: String) -> StatusCode {
    r.lock()
        .expect("lock")
        .push(("/down".into(), String::new(), body));
    StatusCode::SERVICE_UNAVAILABLE
}

/// The fake app's back channel: `/bcl` answers 200, `/down` 503.
fn start_fake() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/bcl", route_post(told))
        .route("/down", route_post(down))
        .with_state(received.clone());
    let base = tokio::runtime::Handle::current().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake app");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    (base, received)
}

#[test]
fn apps_are_told_of_sign_outs_by_back_channel_on_both_backends() {
    on_each_backend(|db| async move { tokio::task::block_in_place(|| run(&db)) });
}

/// The logout tokens `/bcl` received so far, as sent.
fn raw_logout_tokens(received: &Received) -> Vec<String> {
    received
        .lock()
        .expect("lock")
        .iter()
        .filter(|(path, _, _)| path == "/bcl")
        .filter_map(|(_, _, body)| {
            form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "logout_token")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// The logout tokens `/bcl` received so far, verified against the JWKS.
fn logout_tokens(received: &Received, keys: &[Value]) -> Vec<Value> {
    received
        .lock()
        .expect("lock")
        .iter()
        .filter(|(path, _, _)| path == "/bcl")
        .map(|(_, ct, body)| {
            assert_eq!(ct, "application/x-www-form-urlencoded");
            let token = form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "logout_token")
                .map(|(_, v)| v.into_owned())
                .expect("logout_token in the body");
            portico::sso::jwt::verify(&token, keys).expect("a logout token we can verify")
        })
        .collect()
}

/// Waits (bounded) until `/bcl` has received `n` tokens.
fn wait_for_tokens(received: &Received, keys: &[Value], n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = logout_tokens(received, keys);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(db: &Db) {
    let which = db.name();
    let (env, issuer) = provider_env(db);
    env.add_user("zhang", "Zhang-pass-2026", &["staff"]);
    env.add_user("li", "Li-pass-2026!", &["staff"]);
    env.add_user("wang", "Wang-pass-2026", &["staff"]);
    let (fake, received) = start_fake();
    let rp = "http://127.0.0.1:9/cb";
    let bye = "http://127.0.0.1:9/bye";
    let add = |name: &str, bcl: Option<String>| {
        let mut args = vec![
            "oidc".to_string(),
            "client".into(),
            "add".into(),
            name.into(),
            "--redirect-uri".into(),
            rp.into(),
            "--public".into(),
            "--post-logout-redirect-uri".into(),
            bye.into(),
        ];
        if let Some(uri) = bcl {
            args.extend(["--backchannel-logout-uri".into(), uri]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.cli(&args, None)
    };
    assert!(add("meeting", Some(format!("{fake}/bcl"))).status.success());
    assert!(add("drafting", Some(format!("{fake}/down")))
        .status
        .success());
    assert!(add("plain", None).status.success());
    // Logout tokens go only over HTTPS, or to loopback.
    let refused = add("bad", Some("http://apps.example.cn/bcl".into()));
    assert!(!refused.status.success(), "{which}");
    let listed = env.cli_ok(&["oidc", "client", "list", "--json"], None);
    assert!(
        listed.contains(&format!("\"backchannel_logout_uri\": \"{fake}/bcl\"")),
        "{which}: {listed}"
    );

    let server = env.start();
    let addr = server.http;
    let (status, disco) = server.http_get("/oidc/.well-known/openid-configuration");
    assert_eq!(status, 200);
    let disco: Value = serde_json::from_str(&disco).expect("discovery");
    assert_eq!(disco["backchannel_logout_supported"], true, "{which}");
    let (_, jwks) = server.http_get("/oidc/jwks");
    let jwks: Value = serde_json::from_str(&jwks).expect("jwks");
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();

    // Signs in (once per browser) and gets tokens at an app.
    let ch = challenge(VERIFIER);
    let tokens_at = |b: &mut Browser, client: &str, user: &str, password: &str| -> Value {
        let path = authorize_path(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", rp),
            ("scope", "openid profile"),
            ("state", "st"),
            ("nonce", "n"),
            ("code_challenge", &ch),
            ("code_challenge_method", "S256"),
        ]);
        let mut r = b.get(&path);
        if r.status == 200 {
            r = sign_in(b, &r, user, password, None);
        }
        let code = param(r.header("location").unwrap_or(""), "code").expect("code");
        let (status, t) = exchange_public(addr, client, &code, rp, Some(VERIFIER));
        assert_eq!(status, 200, "{which}: {t}");
        t
    };
    // Straight back with a code when signed in, the sign-in page if not.
    let plain_path = authorize_path(&[
        ("response_type", "code"),
        ("client_id", "plain"),
        ("redirect_uri", rp),
        ("scope", "openid"),
        ("code_challenge", &ch),
        ("code_challenge_method", "S256"),
    ]);
    let access = |t: &Value| t["access_token"].as_str().unwrap_or("").to_string();
    let sub_of = |t: &Value| -> String {
        let claims =
            portico::sso::jwt::verify(t["id_token"].as_str().unwrap_or(""), &keys).expect("id");
        claims["sub"].as_str().unwrap_or("").to_string()
    };

    // li signs out with a bare link (no hint): the provider session ends,
    // no app is told, li's tokens stay.
    let mut li_browser = Browser::new(addr);
    let li_meeting = tokens_at(&mut li_browser, "meeting", "li", "Li-pass-2026!");
    let li_sub = sub_of(&li_meeting);
    assert_eq!(li_browser.get("/oidc/logout").status, 200, "{which}");

    // zhang signs out from the meeting app with its ID token: the meeting
    // app and the drafting app are told; the app without a back channel
    // keeps its tokens.
    let mut b = Browser::new(addr);
    let meeting = tokens_at(&mut b, "meeting", "zhang", "Zhang-pass-2026");
    // zhang is signed in on a second computer too.
    let mut elsewhere = Browser::new(addr);
    tokens_at(&mut elsewhere, "plain", "zhang", "Zhang-pass-2026");
    let drafting = tokens_at(&mut b, "drafting", "zhang", "Zhang-pass-2026");
    let plain = tokens_at(&mut b, "plain", "zhang", "Zhang-pass-2026");
    let sub = sub_of(&meeting);
    let logout = format!(
        "/oidc/logout?{}",
        crate::portal_support::encode_form(&[
            ("id_token_hint", meeting["id_token"].as_str().unwrap_or("")),
            ("post_logout_redirect_uri", bye),
            ("state", "bye-1"),
        ])
    );
    let r = b.get(&logout);
    assert_eq!(r.status, 303, "{which}: {}", r.body);
    let got = wait_for_tokens(&received, &keys, 1);
    assert_eq!(got.len(), 1, "{which}: {got:?}\n{}", server.log());
    let t = &got[0];
    assert_eq!(t["iss"], issuer.as_str(), "{which}");
    assert_eq!(t["aud"], "meeting", "{which}");
    assert_eq!(t["sub"], sub.as_str(), "{which}");
    assert!(
        t["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(),
        "{which}: {t}"
    );
    assert!(t.get("nonce").is_none(), "{which}: never a nonce: {t}");
    assert!(t["jti"].as_str().is_some_and(|j| j.len() >= 16), "{which}");
    assert_eq!(
        t["exp"].as_i64().unwrap_or(0) - t["iat"].as_i64().unwrap_or(0),
        120
    );
    let raw = raw_logout_tokens(&received);
    let header = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw[0].split('.').next().unwrap_or(""),
    )
    .expect("header");
    let header: Value = serde_json::from_slice(&header).expect("header json");
    assert_eq!(header["typ"], "logout+jwt", "{which}: explicit typing");
    // A logout token is never taken as an ID token hint.
    let hinted_by_logout_token = format!(
        "/oidc/logout?{}",
        crate::portal_support::encode_form(&[("id_token_hint", raw[0].as_str())])
    );
    assert_eq!(b.get(&hinted_by_logout_token).status, 400, "{which}");
    // Signed out in every browser: the second computer signs in again.
    let again_elsewhere = elsewhere.get(&plain_path);
    assert_eq!(again_elsewhere.status, 200, "{which}: the sign-in page");
    assert_ne!(t["sub"], li_sub.as_str(), "{which}: li was not told of");
    assert_eq!(userinfo(addr, &access(&meeting)).0, 401, "{which}");
    assert_eq!(userinfo(addr, &access(&drafting)).0, 401, "{which}");
    assert_eq!(userinfo(addr, &access(&plain)).0, 200, "{which}");
    assert_eq!(userinfo(addr, &access(&li_meeting)).0, 200, "{which}");

    // The drafting app answered 503: its notice waits for a retry.
    let deadline = Instant::now() + Duration::from_secs(15);
    let waiting = loop {
        let n = tokio::runtime::Handle::current().block_on(async {
            let store = env.open_store().await;
            let due = store
                .oidc()
                .due_logout_notices(i64::MAX / 4, 10)
                .await
                .expect("notices");
            store.close().await;
            due
        });
        if n.iter().any(|x| x.attempts > 0) || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        waiting
            .iter()
            .map(|n| (n.client.as_str(), n.subject.as_str(), n.attempts))
            .collect::<Vec<_>>(),
        [("drafting", sub.as_str(), 1)],
        "{which}"
    );
    assert!(
        received
            .lock()
            .expect("lock")
            .iter()
            .any(|(path, _, _)| path == "/down"),
        "{which}"
    );

    // li's account disabled from the CLI while the server runs: the app
    // is told within a few seconds, li's tokens are dead.
    env.cli_ok(&["user", "disable", "li"], None);
    let got = wait_for_tokens(&received, &keys, 2);
    assert_eq!(got.len(), 2, "{which}: {got:?}\n{}", server.log());
    assert_eq!(got[1]["sub"], li_sub.as_str(), "{which}");
    assert_eq!(userinfo(addr, &access(&li_meeting)).0, 401, "{which}");

    // An ID token from an earlier sign-in, replayed in a link, signs out
    // only that browser: no app is told, the other sign-in stays.
    let mut first = Browser::new(addr);
    let old = tokens_at(&mut first, "meeting", "wang", "Wang-pass-2026");
    std::thread::sleep(Duration::from_millis(1_100));
    let mut second = Browser::new(addr);
    tokens_at(&mut second, "plain", "wang", "Wang-pass-2026");
    let replay = format!(
        "/oidc/logout?{}",
        crate::portal_support::encode_form(&[(
            "id_token_hint",
            old["id_token"].as_str().unwrap_or("")
        )])
    );
    assert_eq!(second.get(&replay).status, 200, "{which}");
    let pending_for_wang = tokio::runtime::Handle::current().block_on(async {
        let store = env.open_store().await;
        let due = store
            .oidc()
            .due_logout_notices(i64::MAX / 4, 50)
            .await
            .expect("notices");
        store.close().await;
        due.iter().filter(|n| n.username == "wang").count()
    });
    assert_eq!(pending_for_wang, 0, "{which}: nobody told");
    let still = first.get(&plain_path);
    assert_eq!(still.status, 303, "{which}: the first sign-in stays");

    // An account reaching its valid_until: told within seconds.
    let until = chrono::Utc::now() + chrono::Duration::seconds(4);
    let out = env.cli(
        &[
            "user",
            "add",
            "temp",
            "--password-stdin",
            "--group",
            "staff",
            "--valid-until",
            &until.to_rfc3339(),
        ],
        Some("Temp-pass-2026\n"),
    );
    assert!(out.status.success(), "{which}: {out:?}");
    let mut temp_browser = Browser::new(addr);
    let temp = tokens_at(&mut temp_browser, "meeting", "temp", "Temp-pass-2026");
    let temp_sub = sub_of(&temp);
    let got = wait_for_tokens(&received, &keys, 3);
    assert_eq!(got.len(), 3, "{which}: {got:?}\n{}", server.log());
    assert_eq!(got[2]["sub"], temp_sub.as_str(), "{which}");
    assert!(
        chrono::Utc::now() >= until,
        "{which}: told only once expired"
    );
    assert_eq!(userinfo(addr, &access(&temp)).0, 401, "{which}");

    // zhang signs in again and is then removed: told with the same sub.
    let again = tokens_at(&mut b, "meeting", "zhang", "Zhang-pass-2026");
    assert_eq!(sub_of(&again), sub, "{which}: a stable subject");
    env.cli_ok(&["user", "remove", "zhang"], None);
    let got = wait_for_tokens(&received, &keys, 4);
    assert_eq!(got.len(), 4, "{which}: {got:?}\n{}", server.log());
    assert_eq!(got[3]["sub"], sub.as_str(), "{which}");
    assert_eq!(userinfo(addr, &access(&again)).0, 401, "{which}");
    drop(server);
}
