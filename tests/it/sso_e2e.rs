//! The portal as the building's front door, in headless Chromium: a staff
//! member signs in to the Wi-Fi, taps the meeting app's tile, and arrives
//! in the app (a fake relying party started here, built on the
//! `openidconnect` crate: discovery, code + PKCE, ID token verified
//! against the JWKS with nonce and at_hash, userinfo, refresh) signed in,
//! with their name shown and no second password; then RP-initiated
//! logout back to the app. The same for a staff member whose WeChat is
//! bound, signing in to the Wi-Fi through the local WeChat fake; and a
//! password sign-in binds WeChat from the launcher by QR.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use fantoccini::Locator;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::{have_tool, Db};
use crate::portal_e2e::{browser_in, screenshot, start_driver};
use crate::portal_support::{accepted, acct_start, mac_auth};
use crate::sso_flow::{client_secret, free_port};

/// The fake meeting app.
struct Rp {
    issuer: String,
    secret: String,
    base: String,
    meta: CoreProviderMetadata,
    http: reqwest::Client,
    pending: Mutex<HashMap<String, (String, String)>>,
    /// What the app saw: (preferred_username, name, amr) per sign-in.
    pub seen: Mutex<Vec<(String, String, String)>>,
}

type RpState = Arc<Rp>;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn rp_login(State(rp): State<RpState>, Query(q): Query<HashMap<String, String>>) -> Response {
    // Third-party-initiated login: only from our own issuer.
    if q.get("iss").map(String::as_str) != Some(rp.issuer.as_str()) {
        return (axum::http::StatusCode::BAD_REQUEST, "unknown issuer").into_response();
    }
    let client = CoreClient::from_provider_metadata(
        rp.meta.clone(),
        ClientId::new("meeting".into()),
        Some(ClientSecret::new(rp.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{}/cb", rp.base)).expect("redirect url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    rp.pending.lock().expect("lock").insert(
        state.secret().clone(),
        (verifier.secret().clone(), nonce.secret().clone()),
    );
    Redirect::to(url.as_str()).into_response()
}

async fn rp_callback(
    State(rp): State<RpState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match callback(&rp, &q).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            axum::http::StatusCode::BAD_GATEWAY,
            format!("RP error: {e}"),
        )
            .into_response(),
    }
}

async fn callback(rp: &Rp, q: &HashMap<String, String>) -> Result<String, String> {
    let state = q.get("state").ok_or("no state")?;
    let (verifier, nonce) = rp
        .pending
        .lock()
        .map_err(|e| e.to_string())?
        .remove(state)
        .ok_or("unknown state")?;
    let code = q.get("code").ok_or_else(|| format!("no code: {q:?}"))?;
    let client = CoreClient::from_provider_metadata(
        rp.meta.clone(),
        ClientId::new("meeting".into()),
        Some(ClientSecret::new(rp.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{}/cb", rp.base)).map_err(|e| e.to_string())?);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&rp.http)
        .await
        .map_err(|e| format!("token: {e:?}"))?;
    let id_token = tokens.id_token().ok_or("no id_token")?;
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &Nonce::new(nonce))
        .map_err(|e| format!("id token: {e}"))?;
    let expected = claims.access_token_hash().ok_or("no at_hash")?;
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().map_err(|e| e.to_string())?,
        id_token
            .signing_key(&id_verifier)
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    if &actual != expected {
        return Err("at_hash differs".into());
    }
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .map_err(|e| e.to_string())?
        .request_async(&rp.http)
        .await
        .map_err(|e| format!("userinfo: {e:?}"))?;
    if info.subject() != claims.subject() {
        return Err("userinfo sub differs".into());
    }
    let name = info
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .ok_or("no name")?;
    let username = info
        .preferred_username()
        .map(|u| u.as_str().to_string())
        .ok_or("no preferred_username")?;
    // Refresh once: a new ID token for the same subject.
    let refresh = tokens.refresh_token().ok_or("no refresh token")?;
    let again = client
        .exchange_refresh_token(refresh)
        .map_err(|e| e.to_string())?
        .request_async(&rp.http)
        .await
        .map_err(|e| format!("refresh: {e:?}"))?;
    let refreshed = again
        .id_token()
        .ok_or("no id_token on refresh")?
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .map_err(|e| format!("refreshed id token: {e}"))?;
    if refreshed.subject() != claims.subject() {
        return Err("refresh changed the subject".into());
    }
    let amr = claims
        .auth_method_refs()
        .map(|a| {
            a.iter()
                .map(|m| m.as_str().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    rp.seen
        .lock()
        .map_err(|e| e.to_string())?
        .push((username.clone(), name.clone(), amr));
    let logout = format!(
        "{}/logout?{}",
        rp.issuer,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", &id_token.to_string())
            .append_pair("post_logout_redirect_uri", &format!("{}/bye", rp.base))
            .append_pair("state", "bye-1")
            .finish()
    );
    Ok(format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>会议系统</title>\
         <h1 id=\"who\">{}</h1><p id=\"username\">{}</p>\
         <a id=\"logout\" href=\"{}\">退出</a></html>",
        escape(&name),
        escape(&username),
        escape(&logout)
    ))
}

async fn rp_bye(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html><meta charset=\"utf-8\"><p id=\"bye\">{}</p></html>",
        escape(q.get("state").map(String::as_str).unwrap_or(""))
    ))
}

/// Starts the app on `port` against the issuer.
async fn start_rp(port: u16, issuer: &str, secret: &str) -> Arc<Rp> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let meta = CoreProviderMetadata::discover_async(
        IssuerUrl::new(issuer.to_string()).expect("issuer url"),
        &http,
    )
    .await
    .expect("discovery");
    let rp = Arc::new(Rp {
        issuer: issuer.to_string(),
        secret: secret.to_string(),
        base: format!("http://127.0.0.1:{port}"),
        meta,
        http,
        pending: Mutex::new(HashMap::new()),
        seen: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/login", get(rp_login))
        .route("/cb", get(rp_callback))
        .route("/bye", get(rp_bye))
        .with_state(rp.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the app");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    rp
}

const MAC_A: &str = "AA-BB-CC-DD-EE-31";
const MAC_B: &str = "AA-BB-CC-DD-EE-32";

fn landing(portal: std::net::SocketAddr, mac: &str) -> String {
    format!(
        "http://{portal}/portal/generic?client_mac={}&client_ip=127.0.0.1&ssid=Office",
        mac.replace('-', "%2D")
    )
}

async fn wait_for(c: &fantoccini::Client, css: &str, what: &str, log: &dyn Fn() -> String) {
    if c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .is_err()
    {
        let html = c.source().await.unwrap_or_default();
        panic!("{what}: no {css}\npage:\n{html}\nserver log:\n{}", log());
    }
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .click()
        .await
        .unwrap_or_else(|_| panic!("click {css}"));
}

async fn text(c: &fantoccini::Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .text()
        .await
        .unwrap_or_else(|_| panic!("text of {css}"))
}

/// The phone opens the QR link (WeChat's OAuth through the fake) and,
/// when `confirm`, confirms; the number it showed and its last page.
async fn phone(
    portal: std::net::SocketAddr,
    fake_base: &str,
    link: &str,
    confirm: bool,
) -> (String, crate::portal_support::Resp) {
    let (fb, link) = (fake_base.to_string(), link.to_string());
    tokio::task::spawn_blocking(move || {
        if confirm {
            crate::portal_wechat::phone_confirms(portal, &fb, &link)
        } else {
            (
                String::new(),
                crate::portal_wechat::phone_completes(portal, &fb, &link),
            )
        }
    })
    .await
    .expect("phone")
}

/// From the launcher, the meeting tile: the app shows who arrived.
async fn tap_meeting_tile(c: &fantoccini::Client, log: &dyn Fn() -> String) -> String {
    click(c, "#tiles a[href*='/login']").await;
    wait_for(c, "#who", "the meeting app", log).await;
    let url = c.current_url().await.expect("url");
    assert!(url.path() == "/cb", "{url}");
    text(c, "#who").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_tile_opens_the_meeting_app_signed_in() {
    use crate::portal_fakes::{self, Fake};
    if !have_tool("chromium") || !have_tool("chromedriver") {
        return;
    }
    let fake = Arc::new(Fake::default());
    *fake.user.lock().expect("lock") = "o-wang".into();
    let fake_base = portal_fakes::start(fake.clone()).await;
    let mut env = crate::portal_wechat::oauth_env(&Db::Sqlite, &fake_base);
    let (portal_port, rp_port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{portal_port}/oidc");
    env.set("PORTICO_HTTP__LISTEN", &format!("127.0.0.1:{portal_port}"));
    env.set("PORTICO_SSO__ISSUER", &issuer);
    env.set(
        "PORTICO_PORTAL__LAUNCHER",
        &format!(
            r#"[{{ name = "会议系统", name_en = "Meetings", icon = "M", url = "http://127.0.0.1:{rp_port}/login", client = "meeting", groups = ["staff"] }}]"#
        ),
    );
    env.cli_ok(
        &[
            "user",
            "add",
            "wang",
            "--display-name",
            "王芳",
            "--group",
            "staff",
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
            &format!("http://127.0.0.1:{rp_port}/cb"),
            "--post-logout-redirect-uri",
            &format!("http://127.0.0.1:{rp_port}/bye"),
            "--allow-portal-session",
        ],
        None,
    );
    let secret = client_secret(&out);
    {
        let store = env.open_store().await;
        store
            .wechat_links()
            .link("wechat", "o-wang", "wang", 0)
            .await
            .expect("link");
        store.close().await;
    }
    let server = env.start();
    let log = || server.log();
    let rp = start_rp(rp_port, &issuer, &secret).await;
    let driver = start_driver();

    // 1. alice: password at the portal, then the tile.
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser_in(&driver, profile.path(), "zh-CN").await;
    c.goto(&landing(server.http, MAC_A)).await.expect("landing");
    wait_for(&c, "#username", "landing", &log).await;
    c.find(Locator::Css("#username"))
        .await
        .expect("username")
        .send_keys("alice")
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys("correct horse battery")
        .await
        .expect("type");
    click(&c, "#staff-submit").await;
    wait_for(&c, "#waiting", "waiting page", &log).await;
    assert!(accepted(&mac_auth(server.auth, MAC_A)));
    acct_start(server.acct, MAC_A, "sso-e2e-a");
    wait_for(&c, "#tiles", "launcher", &log).await;
    screenshot(&c, "sso-launcher").await;
    let who = tap_meeting_tile(&c, &log).await;
    assert_eq!(who, "alice", "the app greets the person");
    screenshot(&c, "sso-meeting-app").await;
    assert_eq!(
        rp.seen.lock().expect("lock").clone(),
        [(
            "alice".to_string(),
            "alice".to_string(),
            "portal".to_string()
        )],
        "signed in by the portal session, no second password"
    );
    // Logout from the app: back to it, with its state.
    click(&c, "#logout").await;
    wait_for(&c, "#bye", "after logout", &log).await;
    assert_eq!(text(&c, "#bye").await, "bye-1");

    // alice binds her WeChat from the launcher (QR, the phone completes).
    c.goto(&format!("http://{}/portal/launcher", server.http))
        .await
        .expect("launcher");
    wait_for(&c, "#bind-wechat", "binding button", &log).await;
    *fake.user.lock().expect("lock") = "o-alice".into();
    click(&c, "#bind-wechat").await;
    wait_for(&c, "#qr-link", "binding QR", &log).await;
    let link = text(&c, "#qr-link").await;
    let shown = text(&c, "#match-number").await;
    let (number, done) = phone(server.http, &fake_base, &link, true).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(number, shown, "both screens show the same number");
    // The window notices and goes back to the launcher, binding shown.
    wait_for(&c, "#links", "launcher with the binding", &log).await;
    let html = c.source().await.expect("html");
    assert!(html.contains("o-alice"), "{html}");
    screenshot(&c, "sso-binding").await;
    let _ = c.close().await;

    // 2. wang: WeChat (bound) at the portal, then the tile.
    *fake.user.lock().expect("lock") = "o-wang".into();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser_in(&driver, profile.path(), "zh-CN").await;
    c.goto(&landing(server.http, MAC_B)).await.expect("landing");
    wait_for(&c, "#wechat-submit", "landing", &log).await;
    click(&c, "#wechat-submit").await;
    wait_for(&c, "#qr-link", "QR page", &log).await;
    let link = text(&c, "#qr-link").await;
    let (_, done) = phone(server.http, &fake_base, &link, false).await;
    assert_eq!(done.status, 200, "{}", done.body);
    wait_for(&c, "#waiting", "waiting page", &log).await;
    assert!(accepted(&mac_auth(server.auth, MAC_B)));
    acct_start(server.acct, MAC_B, "sso-e2e-b");
    wait_for(&c, "#tiles", "launcher", &log).await;
    let who = tap_meeting_tile(&c, &log).await;
    assert_eq!(who, "王芳", "the WeChat-bound account's display name");
    screenshot(&c, "sso-meeting-app-wechat").await;
    let seen = rp.seen.lock().expect("lock").clone();
    assert_eq!(
        seen.last().cloned(),
        Some((
            "wang".to_string(),
            "王芳".to_string(),
            "portal wechat".to_string()
        ))
    );
    let _ = c.close().await;

    // 3. wang on a computer off the Wi-Fi portal: the app sends him to
    // Portico's sign-in page; WeChat by QR (the phone completes) signs
    // him in at the provider.
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser_in(&driver, profile.path(), "zh-CN").await;
    c.goto(&format!(
        "http://127.0.0.1:{rp_port}/login?iss={}",
        issuer.replace(':', "%3A").replace('/', "%2F")
    ))
    .await
    .expect("app login");
    wait_for(&c, "#sso-wechat", "the provider's sign-in page", &log).await;
    screenshot(&c, "sso-signin").await;
    click(&c, "#sso-wechat").await;
    wait_for(&c, "#qr-link", "QR page", &log).await;
    let link = text(&c, "#qr-link").await;
    // An attacker's window: the link opened on someone else's phone
    // signs nobody in until that phone confirms (it shows the app and
    // the number to compare; here it is left unconfirmed).
    let (_, unconfirmed) = phone(server.http, &fake_base, &link, false).await;
    assert!(
        unconfirmed.body.contains("id=\"confirm-yes\"") && unconfirmed.body.contains("meeting"),
        "{}",
        unconfirmed.body
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        c.find(Locator::Css("#who")).await.is_err(),
        "no sign-in without the phone's confirmation"
    );
    let (_, done) = phone(server.http, &fake_base, &link, true).await;
    assert_eq!(done.status, 200, "{}", done.body);
    wait_for(&c, "#who", "the meeting app after WeChat", &log).await;
    let seen = rp.seen.lock().expect("lock").clone();
    assert_eq!(
        seen.last().cloned(),
        Some(("wang".to_string(), "王芳".to_string(), "wechat".to_string()))
    );
    let _ = c.close().await;
    drop(server);
}
