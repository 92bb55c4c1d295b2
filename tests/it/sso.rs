//! The OpenID Connect provider so far (issue 15), on both backends:
//! discovery and JWKS on the portal listener, key rotation with the old
//! key still published, and clients registered from the CLI (exact
//! redirect URIs, HTTPS only off loopback, secrets shown once and kept as
//! hashes), every change audited.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{on_each_backend, TestEnv};

/// A form POST with optional HTTP Basic client authentication.
async fn post_form(url: &str, basic: Option<(&str, &str)>, body: &str) -> (u16, Value, String) {
    let mut req = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let cache = r
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
        cache,
    )
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
        .get(url)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let body = r.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn discovery_jwks_rotation_and_clients_on_both_backends() {
    on_each_backend(|db| async move { run(&db).await });
}

async fn run(db: &crate::helpers::Db) {
    let which = db.name();
    // No issuer and no portal.public_url: no provider.
    let env = TestEnv::new(db);
    let server = tokio::task::block_in_place(|| env.start());
    let (status, _) = get_json(&format!("http://{}/oidc/jwks", server.http)).await;
    assert_eq!(status, 404, "{which}");
    drop(server);

    let mut env = TestEnv::new(db);
    env.set("PORTICO_SSO__ISSUER", "http://127.0.0.1/oidc");
    let server = tokio::task::block_in_place(|| env.start());
    let base = format!("http://{}/oidc", server.http);
    let (status, doc) = get_json(&format!("{base}/.well-known/openid-configuration")).await;
    assert_eq!(status, 200, "{which}: {doc}");
    assert_eq!(doc["issuer"], "http://127.0.0.1/oidc");
    assert_eq!(doc["jwks_uri"], "http://127.0.0.1/oidc/jwks");
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    let (status, jwks) = get_json(&format!("{base}/jwks")).await;
    assert_eq!(status, 200, "{which}");
    let keys = jwks["keys"].as_array().expect("keys").clone();
    assert_eq!(
        keys.len(),
        2,
        "{which}: the first start made an ES256 and an RS256 key"
    );
    let kty: std::collections::BTreeSet<(&str, &str)> = keys
        .iter()
        .map(|k| {
            (
                k["kty"].as_str().unwrap_or(""),
                k["alg"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kty,
        [("EC", "ES256"), ("RSA", "RS256")].into_iter().collect()
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("p").is_none()),
        "{which}: no private part published"
    );

    // Rotation: new keys sign, the old ones stay for the grace period.
    let out = env.cli_ok(&["oidc", "rotate-keys"], None);
    assert!(out.contains("new signing key"), "{which}: {out}");
    let (_, jwks) = get_json(&format!("{base}/jwks")).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids.len(), 4, "{which}: {jwks}");
    for old in &keys {
        assert!(
            kids.contains(&old["kid"].as_str().unwrap_or("")),
            "{which}: the old key is still there"
        );
    }

    // Clients.
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "meetings",
            "--redirect-uri",
            "https://meet.example.cn/cb",
            "--redirect-uri",
            "http://127.0.0.1:8080/cb",
            "--scope",
            "openid profile groups",
            "--allow-portal-session",
        ],
        None,
    );
    assert!(
        out.contains("confidential") && out.contains("groups openid profile"),
        "{which}: {out}"
    );
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client secret (shown once): "))
        .expect("secret shown once");
    assert_eq!(secret.len(), 64, "{which}");
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "drafting",
            "--redirect-uri",
            "https://draft.example.cn/cb",
            "--public",
        ],
        None,
    );
    assert!(
        out.contains("public") && !out.contains("secret"),
        "{which}: {out}"
    );
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "wechat-svc",
            "--redirect-uri",
            "https://wx.example.cn/cb",
            "--secret-stdin",
            "--require-2fa",
        ],
        Some("a-long-enough-secret-for-the-wechat-service\n"),
    );
    assert!(
        !out.contains("shown once"),
        "{which}: a given secret is not printed: {out}"
    );
    for (args, stdin) in [
        (
            vec![
                "oidc",
                "client",
                "add",
                "evil",
                "--redirect-uri",
                "http://evil.example.com/cb",
            ],
            None,
        ),
        (
            vec![
                "oidc",
                "client",
                "add",
                "frag",
                "--redirect-uri",
                "https://a.example.cn/cb#x",
            ],
            None,
        ),
        (
            vec![
                "oidc",
                "client",
                "add",
                "meetings",
                "--redirect-uri",
                "https://meet.example.cn/cb",
            ],
            None,
        ),
        (
            vec![
                "oidc",
                "client",
                "add",
                "scopes",
                "--redirect-uri",
                "https://a.example.cn/cb",
                "--scope",
                "admin",
            ],
            None,
        ),
        (
            vec![
                "oidc",
                "client",
                "add",
                "short",
                "--redirect-uri",
                "https://a.example.cn/cb",
                "--secret-stdin",
            ],
            Some("short\n"),
        ),
        (
            vec![
                "oidc",
                "client",
                "add",
                "bad name!",
                "--redirect-uri",
                "https://a.example.cn/cb",
            ],
            None,
        ),
        (vec!["oidc", "client", "add", "none", "--public"], None),
    ] {
        let out = env.cli(&args, stdin);
        assert!(!out.status.success(), "{which}: {args:?} must fail");
    }
    let list: Value =
        serde_json::from_str(&env.cli_ok(&["oidc", "client", "list", "--json"], None))
            .expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["drafting", "meetings", "wechat-svc"], "{which}");
    let text = serde_json::to_string(&list).expect("text");
    assert!(
        !text.contains("argon2") && !text.contains(secret),
        "{which}: no secret or hash listed"
    );
    let store = env.open_store().await;
    let meetings = store
        .oidc()
        .client("meetings")
        .await
        .expect("get")
        .expect("client");
    let hash = meetings.secret_hash.clone().expect("hash");
    assert!(
        hash.starts_with("$argon2id$")
            && portico::credentials::verify_password(secret.as_bytes(), &hash),
        "{which}"
    );
    assert!(meetings.allow_portal_session && !meetings.public);
    assert!(
        store
            .oidc()
            .client("wechat-svc")
            .await
            .expect("get")
            .expect("client")
            .require_2fa
    );
    store.close().await;
    // A service's own token (client_credentials), introspected and revoked.
    let svc_secret = "presence-service-secret-0123456789abcdef";
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "presence-svc",
            "--redirect-uri",
            "https://p.example.cn/cb",
            "--scope",
            "presence:read",
            "--secret-stdin",
        ],
        Some(&format!("{svc_secret}\n")),
    );
    let svc = Some(("presence-svc", svc_secret));
    let (status, tok, cache) = post_form(
        &format!("{base}/token"),
        svc,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, 200, "{which}: {tok}");
    assert_eq!(
        (
            tok["token_type"].as_str(),
            tok["scope"].as_str(),
            tok["expires_in"].as_i64()
        ),
        (Some("Bearer"), Some("presence:read"), Some(3600))
    );
    assert!(cache.contains("no-store"), "{which}: {cache}");
    let access = tok["access_token"].as_str().expect("token").to_string();
    // The same with the secret in the body (client_secret_post).
    let (status, _, _) = post_form(
        &format!("{base}/token"),
        None,
        &format!("grant_type=client_credentials&client_id=presence-svc&client_secret={svc_secret}&scope=presence%3Aread"),
    )
    .await;
    assert_eq!(status, 200, "{which}");
    for (auth, body, code, error) in [
        (
            Some(("presence-svc", "wrong-secret")),
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            Some(("drafting", "")),
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (
            Some(("nobody", "x")),
            "grant_type=client_credentials",
            401,
            "invalid_client",
        ),
        (None, "grant_type=client_credentials", 401, "invalid_client"),
        (
            svc,
            "grant_type=password&username=a&password=b",
            400,
            "unsupported_grant_type",
        ),
        (
            svc,
            "grant_type=authorization_code&code=x",
            400,
            "invalid_grant",
        ),
        (
            svc,
            "grant_type=client_credentials&scope=openid",
            400,
            "invalid_scope",
        ),
        (
            svc,
            "grant_type=client_credentials&scope=groups",
            400,
            "invalid_scope",
        ),
    ] {
        let (status, body_json, _) = post_form(&format!("{base}/token"), auth, body).await;
        assert_eq!(
            (status, body_json["error"].as_str()),
            (code, Some(error)),
            "{which}: {auth:?} {body}"
        );
    }
    let introspect = |who: Option<(&'static str, &'static str)>, token: String| {
        let url = format!("{base}/introspect");
        async move { post_form(&url, who, &format!("token={token}")).await }
    };
    let (status, info, _) = introspect(Some(("presence-svc", svc_secret)), access.clone()).await;
    assert_eq!(status, 200, "{which}");
    assert_eq!(
        (
            info["active"].as_bool(),
            info["scope"].as_str(),
            info["aud"].as_str()
        ),
        (Some(true), Some("presence:read"), Some("presence-svc")),
        "{which}: {info}"
    );
    // Another client is not the token's audience: inactive to it.
    let other = Some(("wechat-svc", "a-long-enough-secret-for-the-wechat-service"));
    let (_, info, _) = introspect(other, access.clone()).await;
    assert_eq!(info["active"], false, "{which}");
    let (_, info, _) = introspect(Some(("presence-svc", svc_secret)), "forged-token".into()).await;
    assert_eq!(info["active"], false, "{which}");
    let (status, _, _) = introspect(None, access.clone()).await;
    assert_eq!(status, 401, "{which}");
    // Revocation by someone else leaves it; by its client ends it.
    let (status, _, _) =
        post_form(&format!("{base}/revoke"), other, &format!("token={access}")).await;
    assert_eq!(status, 200, "{which}");
    let (_, info, _) = introspect(Some(("presence-svc", svc_secret)), access.clone()).await;
    assert_eq!(
        info["active"], true,
        "{which}: another client cannot revoke it"
    );
    let (status, _, _) =
        post_form(&format!("{base}/revoke"), svc, &format!("token={access}")).await;
    assert_eq!(status, 200, "{which}");
    let (_, info, _) = introspect(Some(("presence-svc", svc_secret)), access.clone()).await;
    assert_eq!(info["active"], false, "{which}: revoked");
    let (status, _, _) =
        post_form(&format!("{base}/revoke"), None, &format!("token={access}")).await;
    assert_eq!(status, 401, "{which}");

    // --- Changing a client in place, and its secret --------------------
    let (_, tok, _) = post_form(
        &format!("{base}/token"),
        svc,
        "grant_type=client_credentials",
    )
    .await;
    let live = tok["access_token"].as_str().expect("token").to_string();
    // A bad URI changes nothing.
    let bad = env.cli(
        &[
            "oidc",
            "client",
            "set",
            "presence-svc",
            "--redirect-uri",
            "http://p.example.cn/cb",
        ],
        None,
    );
    assert!(!bad.status.success(), "{which}");
    // Something added: the secret and the token stay.
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "set",
            "presence-svc",
            "--backchannel-logout-uri",
            "https://p.example.cn/bcl",
        ],
        None,
    );
    assert!(
        out.contains("client presence-svc changed") && !out.contains("revoked"),
        "{which}: {out}"
    );
    let (_, info, _) = introspect(svc, live.clone()).await;
    assert_eq!(info["active"], true, "{which}");
    // Something taken away (a redirect URI) and two factors asked for:
    // the tokens end.
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "set",
            "presence-svc",
            "--redirect-uri",
            "https://p.example.cn/new-cb",
            "--require-2fa",
            "true",
        ],
        None,
    );
    assert!(out.contains("tokens revoked"), "{which}: {out}");
    let (_, info, _) = introspect(svc, live.clone()).await;
    assert_eq!(info["active"], false, "{which}");
    let listed: Value =
        serde_json::from_str(&env.cli_ok(&["oidc", "client", "list", "--json"], None))
            .expect("json");
    let svc_row = listed
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "presence-svc"))
        .cloned()
        .expect("listed");
    assert_eq!(
        (
            &svc_row["redirect_uris"],
            &svc_row["backchannel_logout_uri"],
            &svc_row["require_2fa"],
            &svc_row["scopes"],
        ),
        (
            &serde_json::json!(["https://p.example.cn/new-cb"]),
            &serde_json::json!("https://p.example.cn/bcl"),
            &serde_json::json!(true),
            &serde_json::json!(["presence:read"]),
        ),
        "{which}: {svc_row}"
    );
    let (_, tok, _) = post_form(
        &format!("{base}/token"),
        svc,
        "grant_type=client_credentials",
    )
    .await;
    let minted = tok["access_token"].as_str().expect("token").to_string();
    // A new secret: the old one stops at once (cached or not).
    let out = env.cli_ok(&["oidc", "client", "rotate-secret", "presence-svc"], None);
    let new_secret = crate::sso_flow::client_secret(&out);
    let (status, _, _) = post_form(
        &format!("{base}/token"),
        svc,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, 401, "{which}: the old secret");
    let svc2 = Some(("presence-svc", new_secret.as_str()));
    let (_, info, _) = post_form(
        &format!("{base}/introspect"),
        svc2,
        &format!("token={minted}"),
    )
    .await;
    assert_eq!(
        info["active"], false,
        "{which}: a token made with the old secret"
    );
    let (status, tok, _) = post_form(
        &format!("{base}/token"),
        svc2,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, 200, "{which}: the new secret");
    let live = tok["access_token"].as_str().expect("token").to_string();
    assert!(
        !env.cli(&["oidc", "client", "rotate-secret", "drafting"], None)
            .status
            .success(),
        "{which}: a public client has no secret"
    );
    // A scope taken away: the app's tokens end.
    let out = env.cli_ok(
        &["oidc", "client", "set", "presence-svc", "--scope", "openid"],
        None,
    );
    assert!(out.contains("tokens revoked"), "{which}: {out}");
    let (_, info, _) = post_form(
        &format!("{base}/introspect"),
        svc2,
        &format!("token={live}"),
    )
    .await;
    assert_eq!(info["active"], false, "{which}: {info}");

    // The same from the dashboard (the role that manages the network).
    env.cli_ok(
        &[
            "admin",
            "add",
            "netops",
            "--role",
            "system",
            "--password-stdin",
        ],
        Some("Wangluo-Pass-2026\n"),
    );
    let (mut dash, _, _) =
        crate::admin_web::first_sign_in(&server, "netops", "Wangluo-Pass-2026").await;
    let page = dash.get("/sso/clients/presence-svc").await;
    assert_eq!(page.status, 200, "{which}");
    assert!(
        page.body.contains("https://p.example.cn/new-cb")
            && page.body.contains("https://p.example.cn/bcl"),
        "{which}: the form shows the settings"
    );
    let csrf = crate::admin_web::csrf_of(&page.body);
    let saved = dash
        .post_form(
            "/sso/clients/presence-svc",
            &[
                ("csrf", &csrf),
                (
                    "redirect_uris",
                    "https://p.example.cn/a\nhttps://p.example.cn/b",
                ),
                ("scopes", "openid presence:read"),
                ("id_token_alg", "RS256"),
                ("backchannel_logout_uri", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{which}: {}", saved.body);
    let c = env.cli_ok(&["oidc", "client", "list", "--json"], None);
    let c: Value = serde_json::from_str(&c).expect("json");
    let c = c
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "presence-svc"))
        .cloned()
        .expect("listed");
    assert_eq!(
        (
            &c["redirect_uris"],
            &c["backchannel_logout_uri"],
            &c["require_2fa"],
            &c["id_token_alg"],
        ),
        (
            &serde_json::json!(["https://p.example.cn/a", "https://p.example.cn/b"]),
            &Value::Null,
            &serde_json::json!(false),
            &serde_json::json!("RS256"),
        ),
        "{which}: {c}"
    );
    let refused = dash
        .post_form(
            "/sso/clients/presence-svc",
            &[("csrf", &csrf), ("redirect_uris", "ftp://x/cb")],
        )
        .await;
    assert_eq!(refused.status, 200, "{which}");
    assert!(
        refused.body.contains("ftp://x/cb"),
        "{which}: the error names it"
    );
    let rotated = dash
        .post_form(
            "/sso/clients/presence-svc/rotate-secret",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, 200, "{which}");
    assert!(!rotated.body.contains(&new_secret), "{which}");
    let (status, _, _) = post_form(
        &format!("{base}/token"),
        svc2,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, 401, "{which}: rotated from the dashboard");

    env.cli_ok(&["oidc", "client", "remove", "drafting"], None);
    assert!(
        !env.cli(&["oidc", "client", "remove", "drafting"], None)
            .status
            .success(),
        "{which}"
    );

    let trail = env.cli_ok(&["audit", "export"], None);
    for action in [
        "oidc.rotate-keys",
        "oidc.client.add",
        "oidc.client.remove",
        "oidc.client.set",
        "oidc.client.rotate-secret",
    ] {
        assert!(trail.contains(action), "{which}: audit lacks {action}");
    }
    drop(server);
}
