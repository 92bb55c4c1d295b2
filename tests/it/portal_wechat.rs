//! WeChat (QR flow), WeCom and SMS sign-in against local fakes of their
//! APIs, including replayed codes and expiring tokens.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::helpers::*;
use crate::portal::portal_env;
use crate::portal_fakes::{self, Fake};
use crate::portal_support::*;
use crate::portal_trust::auth_log;

const MAC: &str = "AA-BB-CC-00-22-33";

pub fn oauth_env(db: &Db, fake_base: &str) -> TestEnv {
    let mut env = portal_env(db);
    for (k, v) in [
        ("PORTICO_PORTAL__WECHAT__ENABLED", "true"),
        ("PORTICO_PORTAL__WECHAT__APPID", portal_fakes::APPID),
        ("PORTICO_PORTAL__WECHAT__SECRET", portal_fakes::APP_SECRET),
        ("PORTICO_PORTAL__WECHAT__OAUTH_BASE", fake_base),
        ("PORTICO_PORTAL__WECHAT__API_BASE", fake_base),
        ("PORTICO_PORTAL__WECOM__ENABLED", "true"),
        ("PORTICO_PORTAL__WECOM__CORPID", portal_fakes::CORPID),
        (
            "PORTICO_PORTAL__WECOM__CORPSECRET",
            portal_fakes::CORP_SECRET,
        ),
        ("PORTICO_PORTAL__WECOM__AGENTID", "1000002"),
        ("PORTICO_PORTAL__WECOM__OAUTH_BASE", fake_base),
        ("PORTICO_PORTAL__WECOM__API_BASE", fake_base),
        ("PORTICO_PORTAL__SMS__PROVIDER", "aliyun"),
        ("PORTICO_PORTAL__SMS__URL", &format!("{fake_base}/sms")),
        (
            "PORTICO_PORTAL__SMS__ACCESS_KEY_ID",
            portal_fakes::SMS_KEY_ID,
        ),
        (
            "PORTICO_PORTAL__SMS__ACCESS_KEY_SECRET",
            portal_fakes::SMS_SECRET,
        ),
        ("PORTICO_PORTAL__SMS__SIGN_NAME", "人大无线"),
        ("PORTICO_PORTAL__SMS__TEMPLATE_CODE", "SMS_0001"),
        ("PORTICO_PORTAL__SMS__PER_PHONE_PER_HOUR", "3"),
    ] {
        env.set(k, v);
    }
    env
}

/// path + query of an absolute URL.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/')
        .map(|i| rest[i..].to_string())
        .unwrap_or_else(|| "/".into())
}

/// A binding or provider sign-in from the phone: the trip, then the
/// confirmation page's "confirm". Returns the two-digit number the phone
/// showed and the answer to the confirmation.
pub fn phone_confirms(portal: std::net::SocketAddr, fake_base: &str, link: &str) -> (String, Resp) {
    let (mut phone, page) = phone_trip(portal, fake_base, link);
    assert_eq!(page.status, 200, "confirmation page: {}", page.body);
    let number = page
        .body
        .split("id=\"confirm-number\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the number")
        .to_string();
    let field = |name: &str| input_value(&page.body, name).unwrap_or_default();
    let done = phone.post(
        "/portal/oauth/confirm",
        &[
            ("csrf", &field("csrf")),
            ("ticket", &field("ticket")),
            ("identity", &field("identity")),
            ("method", &field("method")),
            ("sig", &field("sig")),
            ("decision", "confirm"),
        ],
    );
    (number, done)
}

/// Follows the phone's trip: QR link -> authorize (fake) -> callback.
pub fn phone_completes(portal: std::net::SocketAddr, fake_base: &str, link: &str) -> Resp {
    phone_trip(portal, fake_base, link).1
}

fn phone_trip(portal: std::net::SocketAddr, fake_base: &str, link: &str) -> (Browser, Resp) {
    let mut phone = Browser::new(portal);
    let r = phone.get(&path_of(link));
    assert_eq!(r.status, 303, "QR link: {}", r.body);
    let authorize = r.header("location").unwrap().to_string();
    assert!(authorize.starts_with(fake_base), "{authorize}");
    let fake: std::net::SocketAddr = fake_base.trim_start_matches("http://").parse().unwrap();
    let r = request(
        fake,
        "GET",
        &path_of(authorize.split('#').next().unwrap()),
        &[],
        None,
    );
    assert_eq!(r.status, 302, "fake authorize: {}", r.body);
    let callback = r.header("location").unwrap().to_string();
    let done = phone.get(&path_of(&callback));
    (phone, done_with(done, callback))
}

fn done_with(mut r: Resp, callback: String) -> Resp {
    r.headers.push(("x-callback".into(), callback));
    r
}

fn qr_link(html: &str) -> String {
    let start = html.find("id=\"qr-link\">").expect("qr link") + "id=\"qr-link\">".len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end]
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_qr_flow_linked_staff_and_replayed_code() {
    let fake = Arc::new(Fake::default());
    *fake.user.lock().unwrap() = "o-alice".into();
    let base = portal_fakes::start(fake.clone()).await;
    let env = oauth_env(&Db::Sqlite, &base);
    env.cli_ok(&["wechat", "link", "wechat", "o-alice", "alice"], None);
    assert!(!env
        .cli(&["wechat", "link", "wechat", "o-x", "nobody"], None)
        .status
        .success());
    let server = env.start();
    let mut device = Browser::new(server.http);
    let r = device.get(&format!(
        "/portal/generic?client_ip=127.0.0.1&client_mac={}",
        pct(MAC)
    ));
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = device.post("/portal/generic/wechat", &[("csrf", &csrf), ("ctx", &ctx)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<svg"), "QR code shown");
    let link = qr_link(&r.body);
    let ticket = link.rsplit('/').next().unwrap().to_string();
    // Not done yet: the waiting page shows the QR code again.
    let w = device.get(&format!("/portal/oauth/wait/{ticket}"));
    assert_eq!(w.status, 200);
    assert!(w.body.contains("<svg"));

    let done = phone_completes(server.http, &base, &link);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Go back to the device"), "{}", done.body);
    let callback = done.header("x-callback").unwrap().to_string();

    // Another browser cannot pick up the result.
    let mut other = Browser::new(server.http);
    assert_eq!(
        other.get(&format!("/portal/oauth/wait/{ticket}")).status,
        403
    );
    let w = device.get(&format!("/portal/oauth/wait/{ticket}"));
    assert_eq!(w.status, 303, "{}", w.body);
    assert!(accepted(&mac_auth(server.auth, MAC)), "linked staff let in");
    let l = device.get("/portal/launcher");
    assert!(l.body.contains("alice"), "{}", l.body);
    let rows = auth_log(&env);
    assert!(
        rows.iter().any(|r| r["method"] == "portal-wechat"
            && r["username"] == "alice"
            && r["outcome"] == "accept"
            && r["mac"] == "aa:bb:cc:00:22:33"),
        "{rows:?}"
    );
    assert_eq!(
        device.get(&format!("/portal/oauth/wait/{ticket}")).status,
        403,
        "ticket used once"
    );

    // Replaying the callback (same code and ticket) is refused.
    let mut phone = Browser::new(server.http);
    let r = phone.get(&path_of(&callback));
    assert_eq!(r.status, 400, "{}", r.body);
    // The same code on a fresh ticket: WeChat itself says "code been used".
    let mut d2 = Browser::new(server.http);
    let r = d2.get("/portal/generic?client_ip=127.0.0.1&client_mac=AA-BB-CC-00-22-44");
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = d2.post("/portal/generic/wechat", &[("csrf", &csrf), ("ctx", &ctx)]);
    let ticket2 = qr_link(&r.body).rsplit('/').next().unwrap().to_string();
    let code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let r = phone.get(&format!(
        "/portal/oauth/callback?code={code}&state={ticket2}"
    ));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.body.contains("already used") || r.body.contains("failed"),
        "{}",
        r.body
    );
    assert!(
        !accepted(&mac_auth(server.auth, "AA-BB-CC-00-22-44")),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_visitor_inside_wechat_browser_goes_straight_to_oauth() {
    let fake = Arc::new(Fake::default());
    *fake.user.lock().unwrap() = "o-visitor".into();
    let base = portal_fakes::start(fake.clone()).await;
    let env = oauth_env(&Db::Sqlite, &base);
    let server = env.start();
    let ua = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.40";
    let mut cookies = String::new();
    let get = |path: &str, cookies: &str| {
        request(
            server.http,
            "GET",
            path,
            &[
                ("User-Agent", ua.to_string()),
                ("Cookie", cookies.to_string()),
                ("Accept-Language", "en".into()),
            ],
            None,
        )
    };
    let r = get(
        &format!(
            "/portal/generic?client_ip=127.0.0.1&client_mac={}",
            pct(MAC)
        ),
        "",
    );
    let set = r.header("set-cookie").unwrap();
    cookies.push_str(set.split(';').next().unwrap());
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = request(
        server.http,
        "POST",
        "/portal/generic/wechat",
        &[("User-Agent", ua.to_string()), ("Cookie", cookies.clone())],
        Some(&encode_form(&[("csrf", &csrf), ("ctx", &ctx)])),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let authorize = r.header("location").unwrap().to_string();
    assert!(
        authorize.contains("scope=snsapi_base") && authorize.ends_with("#wechat_redirect"),
        "{authorize}"
    );
    let fake_addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let r = request(
        fake_addr,
        "GET",
        &path_of(authorize.split('#').next().unwrap()),
        &[],
        None,
    );
    let callback = r.header("location").unwrap().to_string();
    let r = get(&path_of(&callback), &cookies);
    assert_eq!(r.status, 303, "same browser is let in at once: {}", r.body);
    let reply = mac_auth(server.auth, MAC);
    assert!(accepted(&reply));
    assert!(session_timeout(&reply).is_some_and(|t| t <= 4 * 3600 && t > 4 * 3600 - 100));
    // The openid is the identity in the legal log.
    let rows = auth_log(&env);
    assert!(
        rows.iter()
            .any(|r| r["method"] == "portal-wechat" && r["username"] == "wechat:o-visitor"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_staff_sign_in_renews_an_expired_token() {
    let fake = Arc::new(Fake::default());
    *fake.user.lock().unwrap() = "alice".into();
    let base = portal_fakes::start(fake.clone()).await;
    let env = oauth_env(&Db::Sqlite, &base);
    let server = env.start();
    for (i, mac) in ["AA-BB-CC-00-22-51", "AA-BB-CC-00-22-52"]
        .iter()
        .enumerate()
    {
        let mut device = Browser::new(server.http);
        let r = device.get(&format!(
            "/portal/generic?client_ip=127.0.0.1&client_mac={}",
            pct(mac)
        ));
        assert!(r.body.contains("WeCom"));
        let (csrf, ctx) = (
            input_value(&r.body, "csrf").unwrap(),
            input_value(&r.body, "ctx").unwrap(),
        );
        let r = device.post("/portal/generic/wecom", &[("csrf", &csrf), ("ctx", &ctx)]);
        let link = qr_link(&r.body);
        let done = phone_completes(server.http, &base, &link);
        assert_eq!(done.status, 200, "[{i}] {}", done.body);
        let ticket = link.rsplit('/').next().unwrap().to_string();
        assert_eq!(
            device.get(&format!("/portal/oauth/wait/{ticket}")).status,
            303
        );
        assert!(accepted(&mac_auth(server.auth, mac)));
    }
    // The fake's tokens expire after one use: the second sign-in needed a new one.
    assert_eq!(fake.gettoken_calls.load(Ordering::Relaxed), 2);
    let rows = auth_log(&env);
    assert_eq!(
        rows.iter()
            .filter(|r| r["method"] == "portal-wecom" && r["username"] == "alice")
            .count(),
        2,
        "{rows:?}"
    );

    // A WeCom member who is not a staff account is refused.
    *fake.user.lock().unwrap() = "stranger".into();
    let mut device = Browser::new(server.http);
    let r = device.get("/portal/generic?client_ip=127.0.0.1&client_mac=AA-BB-CC-00-22-53");
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = device.post("/portal/generic/wecom", &[("csrf", &csrf), ("ctx", &ctx)]);
    let done = phone_completes(server.http, &base, &qr_link(&r.body));
    assert_eq!(done.status, 403, "{}", done.body);
    assert!(!accepted(&mac_auth(server.auth, "AA-BB-CC-00-22-53")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_codes_sign_in_once_and_are_rate_limited() {
    let fake = Arc::new(Fake::default());
    let base = portal_fakes::start(fake.clone()).await;
    let env = oauth_env(&Db::Sqlite, &base);
    let server = env.start();
    let mut b = Browser::new(server.http);
    let r = b.get(&format!(
        "/portal/generic?client_ip=127.0.0.1&client_mac={}",
        pct(MAC)
    ));
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = b.post(
        "/portal/generic/sms/send",
        &[("csrf", &csrf), ("ctx", &ctx), ("phone", "not a phone")],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = b.post(
        "/portal/generic/sms/send",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("phone", "+86 138 0013 8000"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        input_value(&r.body, "phone").as_deref(),
        Some("13800138000")
    );
    let code = fake.sms.lock().unwrap()["13800138000"]
        .last()
        .unwrap()
        .clone();
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = b.post(
        "/portal/generic/sms/verify",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("phone", "13800138000"),
            ("code", wrong),
        ],
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let r = b.post(
        "/portal/generic/sms/verify",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("phone", "13800138000"),
            ("code", &code),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.post(
        "/portal/generic/sms/verify",
        &[
            ("csrf", &csrf),
            ("ctx", &ctx),
            ("phone", "13800138000"),
            ("code", &code),
        ],
    );
    assert_eq!(r.status, 401, "single use: {}", r.body);
    // The launcher masks the number; the legal log keeps it whole.
    let l = b.get("/portal/launcher");
    assert!(
        l.body.contains("138****8000") && !l.body.contains("13800138000"),
        "{}",
        l.body
    );
    let rows = auth_log(&env);
    let signed_in = |outcome: &str| {
        rows.iter().any(|r| {
            r["method"] == "portal-sms"
                && r["username"] == "phone:13800138000"
                && r["outcome"] == outcome
        })
    };
    assert!(signed_in("accept") && signed_in("reject"), "{rows:?}");
    let store = env.open_store().await;
    let s = store
        .portal_sessions()
        .active_by_mac(
            portico::domain::MacAddr::parse(MAC).unwrap(),
            portico::clock::now_ms(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.phone.as_deref(),
        Some("13800138000"),
        "the number is recorded with the session"
    );
    store.close().await;

    // Per-number limit (3 an hour in this config): two more, then refused.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = b.post(
            "/portal/generic/sms/send",
            &[("csrf", &csrf), ("ctx", &ctx), ("phone", "13800138000")],
        );
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 429]);
    // A gateway error is a clear page, not a success.
    fake.sms_refuse.store(true, Ordering::Relaxed);
    let r = b.post(
        "/portal/generic/sms/send",
        &[("csrf", &csrf), ("ctx", &ctx), ("phone", "13900139000")],
    );
    assert_eq!(r.status, 502, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_on_a_phone_outside_wechat_offers_the_link_and_sms_not_a_qr() {
    let fake = Arc::new(Fake::default());
    *fake.user.lock().unwrap() = "o-phone".into();
    let base = portal_fakes::start(fake.clone()).await;
    let env = oauth_env(&Db::Sqlite, &base);
    let server = env.start();
    let ua =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
    let r = request(
        server.http,
        "GET",
        &format!(
            "/portal/generic?client_ip=127.0.0.1&client_mac={}",
            pct(MAC)
        ),
        &[("User-Agent", ua.to_string())],
        None,
    );
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (csrf, ctx) = (
        input_value(&r.body, "csrf").unwrap(),
        input_value(&r.body, "ctx").unwrap(),
    );
    let r = request(
        server.http,
        "POST",
        "/portal/generic/wechat",
        &[("User-Agent", ua.to_string()), ("Cookie", cookie.clone())],
        Some(&encode_form(&[("csrf", &csrf), ("ctx", &ctx)])),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("<svg"),
        "no QR code for the phone to scan itself"
    );
    assert!(r.body.contains("weixin://"), "{}", r.body);
    let link = input_value(&r.body, "wechat-link")
        .or_else(|| {
            let i = r.body.find("id=\"wechat-link\" readonly value=\"")?;
            let rest = &r.body[i + "id=\"wechat-link\" readonly value=\"".len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .expect("the link to open in WeChat");
    assert!(link.contains("/portal/oauth/t/"), "{link}");
    let sms = r.body.find("id=\"use-sms\"").expect("SMS offered instead");
    assert!(
        r.body[sms..].contains("/portal/generic/again?ctx="),
        "{}",
        r.body
    );

    // Opened in WeChat on the same phone, it completes; the sign-in window
    // (still polling) takes the result.
    let done = phone_completes(server.http, &base, &link);
    assert_eq!(done.status, 200, "{}", done.body);
    let ticket = link.rsplit('/').next().unwrap();
    let w = request(
        server.http,
        "GET",
        &format!("/portal/oauth/wait/{ticket}"),
        &[("User-Agent", ua.to_string()), ("Cookie", cookie)],
        None,
    );
    assert_eq!(w.status, 303, "{}", w.body);
    assert!(accepted(&mac_auth(server.auth, MAC)));
}
