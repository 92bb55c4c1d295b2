//! The provider's authorization code flow over the wire, on both
//! backends, with the OpenID Foundation's basic negative cases: exact
//! redirect URIs, PKCE (missing, wrong, plain), a code used twice (its
//! tokens revoked), an expired code, refresh rotation with family
//! revocation on reuse, nonce carried, a tampered ID token refused, the
//! audience kept at introspection, consent (deny, allow, remembered,
//! withdrawn), two-factor clients, the Wi-Fi portal session as sign-in,
//! `prompt=none`, and RP-initiated logout with exact
//! `post_logout_redirect_uri`.

use std::net::SocketAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{on_each_backend, Db, TestEnv, TestServer};
pub use crate::portal_e2e::free_port;
use crate::portal_support::{encode_form, input_value, request_from, Browser, Resp};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The secret `portico oidc client add` prints once.
pub fn client_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("client secret (shown once): "))
        .expect("the secret, shown once")
        .to_string()
}

/// A server whose issuer is its own portal listener's URL.
pub fn provider_env(db: &Db) -> (TestEnv, String) {
    let port = free_port();
    let mut env = TestEnv::new(db);
    env.set("PORTICO_HTTP__LISTEN", &format!("127.0.0.1:{port}"));
    let issuer = format!("http://127.0.0.1:{port}/oidc");
    env.set("PORTICO_SSO__ISSUER", &issuer);
    (env, issuer)
}

pub fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `error` the redirect of a response carries back to the client.
pub fn redirect_error(r: &Resp) -> Option<String> {
    param(r.header("location").unwrap_or(""), "error")
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `/oidc/authorize?...` for the pairs.
pub fn authorize_path(pairs: &[(&str, &str)]) -> String {
    format!("/oidc/authorize?{}", encode_form(pairs))
}

/// Signs in on the provider's form; the response (a redirect or a page).
pub fn sign_in(
    b: &mut Browser,
    page: &Resp,
    user: &str,
    password: &str,
    otp: Option<&str>,
) -> Resp {
    let csrf = input_value(&page.body, "csrf").expect("csrf on the sign-in page");
    let request = input_value(&page.body, "request").expect("request on the sign-in page");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("username", user),
        ("password", password),
    ];
    if let Some(o) = otp {
        fields.push(("otp", o));
    }
    b.post("/oidc/signin", &fields)
}

/// Allows on the consent page.
pub fn allow(b: &mut Browser, page: &Resp) -> Resp {
    let csrf = input_value(&page.body, "csrf").expect("csrf on the consent page");
    let request = input_value(&page.body, "request").expect("request on the consent page");
    b.post(
        "/oidc/consent",
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("decision", "allow"),
        ],
    )
}

/// A POST to the token (or another) endpoint; JSON back.
pub fn post(
    addr: SocketAddr,
    path: &str,
    basic: Option<(&str, &str)>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut headers = Vec::new();
    if let Some((id, secret)) = basic {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!("{}:{}", enc(id), enc(secret));
        headers.push((
            "Authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
        ));
    }
    let r = request_from(
        addr,
        None,
        "POST",
        path,
        &headers,
        Some(&encode_form(fields)),
    );
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// A public client's code exchange (PKCE verifier if given).
pub fn exchange_public(
    addr: SocketAddr,
    client: &str,
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut f = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", client),
    ];
    if let Some(v) = verifier {
        f.push(("code_verifier", v));
    }
    post(addr, "/oidc/token", None, &f)
}

pub fn userinfo(addr: SocketAddr, access: &str) -> (u16, Value) {
    bearer_get(addr, "/oidc/userinfo", access)
}

/// A GET with `Authorization: Bearer`; JSON back.
pub fn bearer_get(addr: SocketAddr, path: &str, token: &str) -> (u16, Value) {
    let r = request_from(
        addr,
        None,
        "GET",
        path,
        &[("Authorization", format!("Bearer {token}"))],
        None,
    );
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// A staff member's active Wi-Fi portal session with cookie `token`,
/// written straight into the store (the portal's own sign-in has its own
/// tests).
pub fn staff_portal_session(env: &TestEnv, token: &str, mac: &str, username: &str) {
    tokio::runtime::Handle::current().block_on(async {
        let store = env.open_store().await;
        store
            .portal_sessions()
            .create(&portico::store::portal_sessions::NewPortalSession {
                token_hash: portico::portal::tokens::hash_token(token),
                mac: portico::domain::MacAddr::parse(mac).expect("mac"),
                ip: Some("127.0.0.1".into()),
                identity: username.into(),
                method: "staff".into(),
                phone: None,
                groups: vec!["staff".into()],
                profile: "default".into(),
                ssid: None,
                ap_mac: None,
                authorization_id: None,
                created_at: portico::clock::now_ms(),
                expires_at: i64::MAX / 2,
                nas_name: None,
                nas_ip: None,
                original_url: None,
            })
            .await
            .expect("portal session");
        store.close().await;
    });
}

fn jwks(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.http_get("/oidc/jwks");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("jwks json");
    v["keys"].as_array().cloned().unwrap_or_default()
}

#[test]
fn code_flow_and_its_refusals_on_both_backends() {
    on_each_backend(|db| async move { tokio::task::block_in_place(|| run(&db)) });
}

fn run(db: &Db) {
    let which = db.name();
    let (mut env, issuer) = provider_env(db);
    env.set("PORTICO_SSO__CODE_TTL", "2s");
    env.add_user("zhang", "Zhang-pass-2026", &["staff", "drafting"]);
    env.cli_ok(&["user", "set-phone", "zhang", "+8613800138000"], None);
    env.add_user("li", "Li-pass-2026!", &["staff"]);
    let rp = "http://127.0.0.1:9/cb";
    let bye = "http://127.0.0.1:9/bye";
    // A public app (PKCE), a confidential one asking for more than the
    // name, one requiring two factors, one taking the portal session.
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "drafting",
            "--redirect-uri",
            rp,
            "--public",
            "--scope",
            "openid profile groups",
        ],
        None,
    );
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "meeting",
            "--redirect-uri",
            rp,
            "--scope",
            "openid profile groups phone presence:read",
            "--post-logout-redirect-uri",
            bye,
        ],
        None,
    );
    let secret = client_secret(&out);
    let out = env.cli_ok(
        &["oidc", "client", "add", "other", "--redirect-uri", rp],
        None,
    );
    let other_secret = client_secret(&out);
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "secure",
            "--redirect-uri",
            rp,
            "--public",
            "--require-2fa",
        ],
        None,
    );
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "wifi-ok",
            "--redirect-uri",
            rp,
            "--public",
            "--allow-portal-session",
            "--id-token-alg",
            "RS256",
        ],
        None,
    );
    let server = env.start();
    let addr = server.http;
    let ch = challenge(VERIFIER);
    let base_pairs = |client: &'static str| {
        vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", rp),
            ("scope", "openid profile groups"),
            ("state", "st-1"),
            ("nonce", "nonce-1"),
            ("code_challenge_method", "S256"),
        ]
    };
    let mut b = Browser::new(addr);

    // --- refusals before any redirect: unknown client, wrong or extended
    // redirect URI: a page, never a redirect to the given URI.
    for (k, v) in [
        ("client_id", "nobody"),
        ("redirect_uri", "http://127.0.0.1:9/cb/extra"),
        ("redirect_uri", "http://127.0.0.1:9/cb?x=1"),
        ("redirect_uri", "http://evil.example.com/cb"),
    ] {
        let mut p = base_pairs("drafting");
        p.retain(|(key, _)| *key != k);
        p.push((k, v));
        p.push(("code_challenge", &ch));
        let r = b.get(&authorize_path(&p));
        assert_eq!(r.status, 400, "{which}: {k}={v}: {}", r.body);
        assert!(r.header("location").is_none(), "{which}: {k}={v}");
    }
    // Public client without PKCE, or with `plain`: back with an error.
    let r = b.get(&authorize_path(&base_pairs("drafting")));
    assert_eq!(r.status, 303, "{which}");
    let loc = r.header("location").expect("location").to_string();
    assert!(loc.starts_with(rp), "{which}: {loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));
    let mut p = base_pairs("drafting");
    p.retain(|(k, _)| *k != "code_challenge_method");
    p.push(("code_challenge_method", "plain"));
    p.push(("code_challenge", VERIFIER));
    let r = b.get(&authorize_path(&p));
    assert_eq!(
        redirect_error(&r).as_deref(),
        Some("invalid_request"),
        "{which}"
    );
    // No openid, a scope not the client's: invalid_scope.
    let mut p = base_pairs("drafting");
    p.retain(|(k, _)| *k != "scope");
    p.push(("scope", "openid phone"));
    p.push(("code_challenge", &ch));
    let r = b.get(&authorize_path(&p));
    assert_eq!(
        redirect_error(&r).as_deref(),
        Some("invalid_scope"),
        "{which}"
    );
    // prompt=none with nobody signed in.
    let mut p = base_pairs("drafting");
    p.push(("code_challenge", &ch));
    p.push(("prompt", "none"));
    let r = b.get(&authorize_path(&p));
    assert_eq!(
        redirect_error(&r).as_deref(),
        Some("login_required"),
        "{which}"
    );

    // --- malformed input: a clear refusal, never a panic ---------------
    let mut p = base_pairs("drafting");
    p.push(("code_challenge", &ch));
    p.push(("state", "again"));
    let r = b.get(&authorize_path(&p));
    assert_eq!(r.status, 400, "{which}: a parameter twice");
    for junk in [
        "/oidc/authorize",
        "/oidc/authorize?%ff%fe=%00&client_id=%c3%28",
        "/oidc/authorize?client_id=drafting&redirect_uri=%zz",
    ] {
        assert_eq!(b.get(junk).status, 400, "{which}: {junk}");
    }
    let long_state = "s".repeat(600);
    let mut p = base_pairs("drafting");
    p.retain(|(k, _)| *k != "state");
    p.push(("state", &long_state));
    p.push(("code_challenge", &ch));
    assert_eq!(
        b.get(&authorize_path(&p)).status,
        400,
        "{which}: state too long"
    );
    let mut p = base_pairs("drafting");
    p.push(("code_challenge", "short"));
    let r = b.get(&authorize_path(&p));
    assert_eq!(
        redirect_error(&r).as_deref(),
        Some("invalid_request"),
        "{which}: malformed challenge"
    );
    let (status, body) = post(addr, "/oidc/token", None, &[]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{which}"
    );
    let (status, body) = post(
        addr,
        "/oidc/token",
        None,
        &[
            ("client_id", "drafting"),
            ("grant_type", "authorization_code"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}"
    );
    let (status, body) = post(
        addr,
        "/oidc/token",
        None,
        &[("client_id", "drafting"), ("grant_type", "password")],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{which}"
    );
    let (status, _) = post(
        addr,
        "/oidc/token",
        None,
        &[("client_id", "drafting"), ("x", &"y".repeat(20_000))],
    );
    assert_eq!(status, 413, "{which}: body limit");
    let r = request_from(
        addr,
        None,
        "POST",
        "/oidc/token",
        &[("Authorization", "Basic !!!".into())],
        Some("grant_type=client_credentials"),
    );
    assert_eq!(r.status, 401, "{which}: garbage Basic");
    assert_eq!(userinfo(addr, "").0, 401, "{which}");
    assert_eq!(
        b.get("/oidc/logout?id_token_hint=a.b.c").status,
        400,
        "{which}"
    );
    assert_eq!(
        b.get("/oidc/logout?client_id=nobody").status,
        400,
        "{which}"
    );

    // --- the public client's flow ------------------------------------
    let mut p = base_pairs("drafting");
    p.push(("code_challenge", &ch));
    let path = authorize_path(&p);
    let page = b.get(&path);
    assert_eq!(page.status, 200, "{which}: {}", page.body);
    assert!(page.body.contains("id=\"sso-signin\""), "{which}");
    let r = sign_in(&mut b, &page, "zhang", "wrong-password", None);
    assert_eq!(r.status, 401, "{which}");
    let consent = sign_in(&mut b, &page, "zhang", "Zhang-pass-2026", None);
    assert_eq!(consent.status, 200, "{which}: groups need consent");
    assert!(consent.body.contains("id=\"consent-scopes\""), "{which}");
    let r = allow(&mut b, &consent);
    assert_eq!(r.status, 303, "{which}: {}", r.body);
    let loc = r.header("location").expect("location").to_string();
    assert_eq!(param(&loc, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(issuer.as_str()));
    let code = param(&loc, "code").expect("code");
    let exchange = |code: &str, verifier: Option<&str>, redirect: &str| {
        exchange_public(addr, "drafting", code, redirect, verifier)
    };
    // Wrong redirect URI, missing or wrong verifier: refused, and the
    // code is then spent (a code works once, whatever happened).
    let (status, body) = exchange(&code, None, rp);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}: {body}"
    );
    let page = b.get(&path);
    assert_eq!(
        page.status, 303,
        "{which}: signed in now, straight back with a code"
    );
    let code = param(page.header("location").unwrap_or(""), "code").expect("code");
    let (status, body) = exchange(&code, Some("x".repeat(43).as_str()), rp);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}: wrong verifier"
    );
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let (status, _) = exchange(&code, Some(VERIFIER), "http://127.0.0.1:9/other");
    assert_eq!(status, 400, "{which}: redirect_uri differs");
    // The good exchange.
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let (status, tokens) = exchange(&code, Some(VERIFIER), rp);
    assert_eq!(status, 200, "{which}: {tokens}");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let claims = portico::sso::jwt::verify(id_token, &jwks(&server)).expect("id token verifies");
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], "drafting");
    assert_eq!(claims["nonce"], "nonce-1", "{which}: nonce carried");
    assert_eq!(claims["preferred_username"], "zhang");
    assert_eq!(claims["groups"], serde_json::json!(["drafting", "staff"]));
    assert!(claims.get("phone_number").is_none());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    let sub = claims["sub"].as_str().expect("sub").to_string();
    assert!(!sub.contains("zhang"), "{which}: sub is not the username");
    // A tampered ID token does not verify; alg none does not exist.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    payload["preferred_username"] = "li".into();
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert!(
        portico::sso::jwt::verify(&parts.join("."), &jwks(&server)).is_err(),
        "{which}"
    );
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    assert!(
        portico::sso::jwt::verify(&format!("{none_header}.{}.", parts[1]), &jwks(&server)).is_err()
    );
    // Userinfo.
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let (status, info) = userinfo(addr, &access);
    assert_eq!(status, 200, "{which}: {info}");
    assert_eq!(
        (info["sub"].as_str(), info["preferred_username"].as_str()),
        (Some(sub.as_str()), Some("zhang"))
    );
    let (status, _) = userinfo(addr, "not-a-token");
    assert_eq!(status, 401);
    // The same code again: refused, and the tokens from it revoked.
    let (status, body) = exchange(&code, Some(VERIFIER), rp);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}: reuse"
    );
    assert_eq!(
        userinfo(addr, &access).0,
        401,
        "{which}: the first exchange's token is revoked"
    );

    // --- refresh rotation --------------------------------------------
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let (_, tokens) = exchange(&code, Some(VERIFIER), rp);
    let r1 = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let refresh = |rt: &str| {
        post(
            addr,
            "/oidc/token",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", "drafting"),
            ],
        )
    };
    let (status, t2) = refresh(&r1);
    assert_eq!(status, 200, "{which}: {t2}");
    let r2 = t2["refresh_token"]
        .as_str()
        .expect("new refresh")
        .to_string();
    assert_ne!(r1, r2, "{which}: refresh tokens rotate");
    let a2 = t2["access_token"].as_str().expect("access").to_string();
    assert_eq!(userinfo(addr, &a2).0, 200);
    let refreshed = portico::sso::jwt::verify(t2["id_token"].as_str().expect("id"), &jwks(&server))
        .expect("verifies");
    assert_eq!(refreshed["sub"], sub.as_str());
    // The old one again: refused, and the whole family goes.
    let (status, body) = refresh(&r1);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}"
    );
    assert_eq!(refresh(&r2).0, 400, "{which}: the family is revoked");
    assert_eq!(userinfo(addr, &a2).0, 401, "{which}");

    // --- the same refresh token eight times at once -------------------
    // Whichever request wins the rotation, the others see a reused token
    // and revoke the family: once all have answered, nothing issued in the
    // burst works, whatever order the store saw them in.
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let (_, tokens) = exchange(&code, Some(VERIFIER), rp);
    let raced = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..8).map(|_| scope.spawn(|| refresh(&raced))).collect();
        runs.into_iter()
            .map(|r| r.join().expect("refresh thread"))
            .collect()
    });
    let won = answers.iter().filter(|(status, _)| *status == 200).count();
    assert!(won <= 1, "{which}: one rotation at most: {answers:?}");
    for (status, body) in &answers {
        if *status == 200 {
            let access = body["access_token"].as_str().unwrap_or("");
            assert_eq!(userinfo(addr, access).0, 401, "{which}: {body}");
            let again = body["refresh_token"].as_str().unwrap_or("");
            assert_eq!(refresh(again).0, 400, "{which}: {body}");
        } else {
            assert_eq!(
                (*status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{which}"
            );
        }
    }
    let first_access = tokens["access_token"].as_str().unwrap_or("");
    assert_eq!(userinfo(addr, first_access).0, 401, "{which}: the family");

    // --- an expired code ----------------------------------------------
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    std::thread::sleep(std::time::Duration::from_millis(2_300));
    let (status, body) = exchange(&code, Some(VERIFIER), rp);
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("code expired")),
        "{which}"
    );

    // --- consent and audience (confidential client) -------------------
    let mut p = base_pairs("meeting");
    p.retain(|(k, _)| *k != "scope" && *k != "code_challenge_method");
    p.push(("scope", "openid profile phone"));
    let meeting_path = authorize_path(&p);
    let page = b.get(&meeting_path);
    assert_eq!(page.status, 200, "{which}: the consent page");
    assert!(
        page.body.contains("id=\"consent-scopes\""),
        "{which}: {}",
        page.body
    );
    let csrf = input_value(&page.body, "csrf").expect("csrf");
    let request = input_value(&page.body, "request").expect("request");
    let r = b.post(
        "/oidc/consent",
        &[("csrf", &csrf), ("request", &request), ("decision", "deny")],
    );
    assert_eq!(
        redirect_error(&r).as_deref(),
        Some("access_denied"),
        "{which}"
    );
    let r = b.post(
        "/oidc/consent",
        &[
            ("csrf", "forged"),
            ("request", &request),
            ("decision", "allow"),
        ],
    );
    assert_eq!(r.status, 403, "{which}: consent needs the CSRF token");
    let r = b.post(
        "/oidc/consent",
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("decision", "allow"),
        ],
    );
    let code = param(r.header("location").unwrap_or(""), "code").expect("code after consent");
    let r = b.get(&meeting_path);
    assert_eq!(r.status, 303, "{which}: consent remembered");
    let code2 = param(r.header("location").unwrap_or(""), "code").expect("code");
    let conf_exchange = |code: &str, id: &str, secret: &str| {
        post(
            addr,
            "/oidc/token",
            Some((id, secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", rp),
            ],
        )
    };
    let (status, body) = conf_exchange(&code, "meeting", "wrong-secret");
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{which}"
    );
    let (status, body) = conf_exchange(&code2, "other", &other_secret);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}: another client's code"
    );
    let (status, tokens) = conf_exchange(&code, "meeting", &secret);
    assert_eq!(status, 200, "{which}: {tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let (_, info) = userinfo(addr, &access);
    assert_eq!(
        info["phone_number"], "+8613800138000",
        "{which}: with consent"
    );
    // Introspection: active for its own client, not for another (audience).
    let (_, own) = post(
        addr,
        "/oidc/introspect",
        Some(("meeting", &secret)),
        &[("token", &access)],
    );
    assert_eq!(
        (own["active"].as_bool(), own["sub"].as_str()),
        (Some(true), Some(sub.as_str())),
        "{which}: {own}"
    );
    let (_, theirs) = post(
        addr,
        "/oidc/introspect",
        Some(("other", &other_secret)),
        &[("token", &access)],
    );
    assert_eq!(theirs["active"], false, "{which}: wrong audience");

    // --- logout -------------------------------------------------------
    let r = b.get(&format!(
        "/oidc/logout?{}",
        encode_form(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap_or("")),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/elsewhere")
        ])
    ));
    assert_eq!(r.status, 400, "{which}: unregistered post-logout URI");
    let r = b.get(&format!(
        "/oidc/logout?{}",
        encode_form(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap_or("")),
            ("post_logout_redirect_uri", bye),
            ("state", "bye-1")
        ])
    ));
    assert_eq!(r.status, 303, "{which}: {}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("{bye}?state=bye-1").as_str())
    );
    assert_eq!(
        userinfo(addr, &access).0,
        401,
        "{which}: tokens at that client end with the session"
    );
    let r = b.get(&path);
    assert_eq!(r.status, 200, "{which}: signed out: the sign-in page again");

    // --- two factors --------------------------------------------------
    let out = env.cli_ok(&["user", "totp", "zhang"], None);
    let key = out
        .lines()
        .find_map(|l| l.split("(shown once): ").nth(1))
        .expect("key")
        .trim()
        .to_string();
    let secret_bytes = crate::admin_e2e::base32_decode(&key);
    let mut p = base_pairs("secure");
    p.retain(|(k, _)| *k != "scope");
    p.push(("scope", "openid"));
    p.push(("code_challenge", &ch));
    let secure_path = authorize_path(&p);
    let mut b2 = Browser::new(addr);
    let page = b2.get(&secure_path);
    assert!(
        page.body.contains("name=\"otp\""),
        "{which}: the form asks for the code"
    );
    let r = sign_in(&mut b2, &page, "zhang", "Zhang-pass-2026", Some("000000"));
    assert_eq!(r.status, 401, "{which}: wrong code");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let otp = portico::admin::totp::code_at(&secret_bytes, now_s, 6).expect("code");
    let r = sign_in(&mut b2, &page, "zhang", "Zhang-pass-2026", Some(&otp));
    assert_eq!(r.status, 303, "{which}: {}", r.body);
    let code = param(r.header("location").unwrap_or(""), "code").expect("code");
    let (_, t) = exchange_public(addr, "secure", &code, rp, Some(VERIFIER));
    let c = portico::sso::jwt::verify(t["id_token"].as_str().expect("id"), &jwks(&server))
        .expect("verifies");
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp"]), "{which}");
    // A password-only session does not satisfy a two-factor client,
    // neither at authorize nor by posting the consent form directly.
    let page = b.get(&path);
    let _ = sign_in(&mut b, &page, "zhang", "Zhang-pass-2026", None);
    let r = b.get(&secure_path);
    assert_eq!(r.status, 200, "{which}: asks again, with the code");
    assert!(r.body.contains("name=\"otp\""), "{which}");
    let csrf = input_value(&r.body, "csrf").expect("csrf");
    let request = input_value(&r.body, "request").expect("request");
    let r = b.post(
        "/oidc/consent",
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("decision", "allow"),
        ],
    );
    assert_eq!(r.status, 200, "{which}: the sign-in page again, no code");
    assert!(
        r.header("location").is_none() && r.body.contains("name=\"otp\""),
        "{which}"
    );
    // The authenticator code works once.
    let mut b3 = Browser::new(addr);
    let page = b3.get(&secure_path);
    let r = sign_in(&mut b3, &page, "zhang", "Zhang-pass-2026", Some(&otp));
    assert_eq!(r.status, 401, "{which}: a TOTP code is good once");

    // --- the Wi-Fi portal session as sign-in --------------------------
    staff_portal_session(&env, &"ab".repeat(16), "02:00:00:00:00:42", "li");
    let mut phone = Browser::new(addr);
    phone
        .cookies
        .insert("portico_session".into(), "ab".repeat(16));
    let mut p = base_pairs("wifi-ok");
    p.retain(|(k, _)| *k != "scope");
    p.push(("scope", "openid profile"));
    p.push(("code_challenge", &ch));
    let r = phone.get(&authorize_path(&p));
    assert_eq!(
        r.status, 303,
        "{which}: signed in by the portal session: {}",
        r.body
    );
    let code = param(r.header("location").unwrap_or(""), "code").expect("code");
    let (_, t) = exchange_public(addr, "wifi-ok", &code, rp, Some(VERIFIER));
    let id = t["id_token"].as_str().expect("id");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id.split('.').next().unwrap_or(""))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "RS256", "{which}: the client's algorithm");
    let c = portico::sso::jwt::verify(id, &jwks(&server)).expect("verifies");
    assert_eq!(
        (c["preferred_username"].as_str(), c["amr"].clone()),
        (Some("li"), serde_json::json!(["portal"])),
        "{which}"
    );
    // An account removed and made again under the same name: the old
    // Wi-Fi session signs nobody in.
    env.cli_ok(&["user", "remove", "li"], None);
    env.add_user("li", "New-li-pass-2026", &["staff"]);
    let mut p = base_pairs("wifi-ok");
    p.retain(|(k, _)| *k != "scope");
    p.push(("scope", "openid profile"));
    p.push(("code_challenge", &ch));
    let r = phone.get(&authorize_path(&p));
    assert_eq!(r.status, 200, "{which}: the sign-in page, not a code");
    // A client that does not allow it asks for the password.
    let mut p = base_pairs("drafting");
    p.push(("code_challenge", &ch));
    let r = phone.get(&authorize_path(&p));
    assert_eq!(r.status, 200, "{which}: the sign-in page");

    // --- consent withdrawn from the launcher --------------------------
    // zhang (still signed in at the provider in `b`) gets a code without
    // a consent page, then withdraws it on the launcher of his phone.
    let r = b.get(&meeting_path);
    assert_eq!(r.status, 303, "{which}: consent still remembered");
    let code = param(r.header("location").unwrap_or(""), "code").expect("code");
    let (_, t) = conf_exchange(&code, "meeting", &secret);
    let access = t["access_token"].as_str().expect("access").to_string();
    assert_eq!(userinfo(addr, &access).0, 200);
    staff_portal_session(&env, &"ef".repeat(16), "02:00:00:00:00:43", "zhang");
    let mut zhang_phone = Browser::new(addr);
    zhang_phone
        .cookies
        .insert("portico_session".into(), "ef".repeat(16));
    let launcher = zhang_phone.get("/portal/launcher");
    assert!(
        launcher.body.contains("id=\"withdraw-meeting\""),
        "{which}: the launcher lists the app: {}",
        launcher.body
    );
    let csrf = input_value(&launcher.body, "csrf").expect("csrf");
    let r = zhang_phone.post(
        "/portal/apps/withdraw",
        &[("csrf", &csrf), ("client", "meeting")],
    );
    assert_eq!(r.status, 303, "{which}");
    assert_eq!(
        userinfo(addr, &access).0,
        401,
        "{which}: the app's tokens go with the consent"
    );
    let r = b.get(&meeting_path);
    assert_eq!(r.status, 200, "{which}: asked again");
    assert!(r.body.contains("id=\"consent-scopes\""), "{which}");
    assert!(!zhang_phone
        .get("/portal/launcher")
        .body
        .contains("withdraw-meeting"));

    // --- the app changed while grants are out --------------------------
    // Giving more takes nothing away: a code issued before still works.
    let code = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let set = |args: &[&str]| {
        let mut all = vec!["oidc", "client", "set", "drafting"];
        all.extend_from_slice(args);
        env.cli_ok(&all, None)
    };
    let rp2 = "http://127.0.0.1:9/cb2";
    let out = set(&["--redirect-uri", rp, "--redirect-uri", rp2]);
    assert!(!out.contains("revoked"), "{which}: {out}");
    let (status, t) = exchange(&code, Some(VERIFIER), rp);
    assert_eq!(status, 200, "{which}: {t}");
    let held_refresh = t["refresh_token"].as_str().expect("refresh").to_string();
    let held_access = t["access_token"].as_str().expect("access").to_string();
    // A code waiting at the second redirect URI when it is taken away.
    let mut p = base_pairs("drafting");
    p.retain(|(k, _)| *k != "redirect_uri");
    p.push(("redirect_uri", rp2));
    p.push(("code_challenge", &ch));
    let waiting = param(
        b.get(&authorize_path(&p)).header("location").unwrap_or(""),
        "code",
    )
    .expect("code");
    let out = set(&["--redirect-uri", rp]);
    assert!(out.contains("tokens revoked"), "{which}: {out}");
    let (status, body) = exchange(&waiting, Some(VERIFIER), rp2);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{which}: {body}"
    );
    // Taking the redirect URI away ended the tokens too.
    assert_eq!(refresh(&held_refresh).0, 400, "{which}");
    assert_eq!(userinfo(addr, &held_access).0, 401, "{which}");
    // ... and the consents given under the old settings: asked again.
    let page = b.get(&path);
    assert_eq!(page.status, 200, "{which}: the consent page again");
    let r = allow(&mut b, &page);
    let code = param(r.header("location").unwrap_or(""), "code").expect("code");
    // A scope taken away: a refresh token and a code from before end.
    let (_, t) = exchange(&code, Some(VERIFIER), rp);
    let held_refresh = t["refresh_token"].as_str().expect("refresh").to_string();
    let waiting = param(b.get(&path).header("location").unwrap_or(""), "code").expect("code");
    let out = set(&["--scope", "openid profile"]);
    assert!(out.contains("tokens revoked"), "{which}: {out}");
    let (status, body) = refresh(&held_refresh);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = exchange(&waiting, Some(VERIFIER), rp);
    assert_eq!(status, 400, "{which}: the waiting code is gone");
    drop(server);
}
