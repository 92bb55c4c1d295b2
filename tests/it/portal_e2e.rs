//! End to end in headless Chromium (Debian's chromium and chromedriver,
//! driven through WebDriver): a simulated AP redirects the browser to the
//! portal, the person signs in as staff, and the AP either receives the
//! post-back and sends the one-time credentials to Portico's RADIUS port
//! (Cisco, CoovaChilli) or sends its MAC-authentication request (UniFi).
//! Phone-size screenshots go to target/test-artifacts/portal/.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::*;
use crate::portal::portal_env;
use crate::portal_support::*;

const CHROMIUM: &str = "chromium";
const DRIVER: &str = "chromedriver";
const PHONE: (u32, u32) = (390, 844);

/// chromedriver on a free loopback port, killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

pub async fn browser(driver: &Driver, profile_dir: &std::path::Path) -> Client {
    browser_in(driver, profile_dir, "en-US").await
}

/// A phone-size headless Chromium whose language is `lang` (e.g. "zh-CN").
pub async fn browser_in(driver: &Driver, profile_dir: &std::path::Path, lang: &str) -> Client {
    let binary = which(CHROMIUM).unwrap_or_else(|| "/usr/bin/chromium".into());
    let primary = lang.split('-').next().unwrap_or(lang);
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--window-size={},{}", PHONE.0, PHONE.1),
                format!("--user-data-dir={}", profile_dir.display()),
                format!("--lang={lang}"),
            ],
            "prefs": { "intl.accept_languages": format!("{lang},{primary}") }
        }
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("WebDriver session");
    c.set_window_size(PHONE.0, PHONE.1).await.ok();
    c
}

fn which(tool: &str) -> Option<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!p.is_empty()).then_some(p)
}

pub async fn screenshot(c: &Client, name: &str) {
    let dir = repo_path("target/test-artifacts/portal");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

/// What the simulated AP saw: (username, accepted).
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Cisco,
    Unifi,
    Coova,
}

const CHALLENGE: [u8; 16] = [0x5a; 16];

/// A simulated AP/controller: redirects to the portal and takes the
/// post-back, which it turns into RADIUS requests to Portico.
struct SimAp {
    addr: SocketAddr,
    seen: Seen,
}

impl SimAp {
    fn start(style: Style, portal: SocketAddr, radius: SocketAddr) -> SimAp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind AP");
        let addr = listener.local_addr().expect("AP addr");
        let seen: Seen = Arc::default();
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = handle(style, stream, addr, portal, radius, &seen2);
            }
        });
        SimAp { addr, seen }
    }
}

fn query_of(target: &str) -> Vec<(String, String)> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    parse_pairs(q)
}

fn parse_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (unpct(k), unpct(v)))
        .collect()
}

fn unpct(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

const CLIENT_MAC: &str = "AA-BB-CC-DD-EE-01";

fn handle(
    style: Style,
    mut stream: TcpStream,
    me: SocketAddr,
    portal: SocketAddr,
    radius: SocketAddr,
    seen: &Seen,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let location = if target.starts_with("/start") {
        let orig = "http%3A%2F%2Fexample.com%2Fnews";
        match style {
            Style::Cisco => format!(
                "http://{portal}/portal/cisco-wlc?switch_url=http%3A%2F%2F{me}%2Flogin.html&ap_mac=00%3A11%3A22%3A33%3A44%3A55&client_mac={}&wlan=Office&redirect={orig}",
                pct(CLIENT_MAC)
            ),
            Style::Unifi => format!(
                "http://{portal}/portal/unifi?ap=00%3A11%3A22%3A33%3A44%3A55&id={}&t=1700000000&url={orig}&ssid=Office",
                pct(CLIENT_MAC)
            ),
            Style::Coova => format!(
                "http://{portal}/portal/coova?res=notyet&uamip=127.0.0.1&uamport={}&challenge={}&called=00-11-22-33-44-55&mac={}&ip=10.1.0.9&userurl={orig}",
                me.port(),
                hex::encode(CHALLENGE),
                pct(CLIENT_MAC)
            ),
        }
    } else if method == "POST" && target.starts_with("/login.html") {
        let form = parse_pairs(&String::from_utf8_lossy(&body));
        let user = get(&form, "username").to_string();
        let reply = pap_auth(radius, &user, get(&form, "password"), CLIENT_MAC);
        seen.lock().unwrap().push((user, accepted(&reply)));
        get(&form, "redirect_url").to_string()
    } else if target.starts_with("/logon") {
        let q = query_of(target);
        let user = get(&q, "username").to_string();
        let mut chap = vec![0u8];
        chap.extend(hex::decode(get(&q, "response")).unwrap_or_default());
        let reply = chap_auth(radius, &user, &chap, &CHALLENGE, CLIENT_MAC);
        seen.lock().unwrap().push((user, accepted(&reply)));
        get(&q, "userurl").to_string()
    } else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return Ok(());
    };
    write!(
        stream,
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

async fn sign_in_flow(style: Style) {
    if !have_tool(CHROMIUM) || !have_tool(DRIVER) {
        return;
    }
    let env = portal_env(&Db::Sqlite);
    let server = env.start();
    let ap = SimAp::start(style, server.http, server.auth);
    let driver = start_driver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser(&driver, profile.path()).await;
    let name = format!("{style:?}").to_lowercase();
    if style == Style::Unifi {
        // UniFi's redirect carries no client IP: the AP's accounting for
        // the associated guest says where the device is.
        acct_start_at(server.acct, CLIENT_MAC, "e2e-pre", "127.0.0.1");
    }

    c.goto(&format!("http://{}/start", ap.addr))
        .await
        .expect("goto AP");
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#username"))
        .await
        .expect("landing page");
    screenshot(&c, &format!("{name}-landing")).await;
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("correct horse battery")
        .await
        .unwrap();
    screenshot(&c, &format!("{name}-sign-in")).await;
    c.find(Locator::Css("#staff-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    if style == Style::Unifi {
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#waiting"))
            .await
            .expect("waiting page");
        // The AP now sends its MAC-authentication request, then accounting.
        let reply = mac_auth(server.auth, CLIENT_MAC);
        ap.seen
            .lock()
            .unwrap()
            .push((CLIENT_MAC.into(), accepted(&reply)));
        assert!(session_timeout(&reply).is_some_and(|t| t > 28_000));
        acct_start(server.acct, CLIENT_MAC, "e2e-1");
    }
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#tiles"))
        .await
        .unwrap_or_else(|_| panic!("{name}: launcher page; server log:\n{}", server.log()));
    let html = c.source().await.unwrap();
    assert!(
        html.contains("alice") && html.contains("Meetings"),
        "{html}"
    );
    screenshot(&c, &format!("{name}-launcher")).await;
    let seen = ap.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{name}: the AP saw one sign-in: {seen:?}");
    assert!(seen[0].1, "{name}: Access-Accept for {:?}", seen[0].0);
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_cisco_post_back() {
    sign_in_flow(Style::Cisco).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_unifi_mac_auth() {
    sign_in_flow(Style::Unifi).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_coova_uam_logon() {
    sign_in_flow(Style::Coova).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_wechat_qr_flow() {
    use crate::portal_fakes::{self, Fake};
    if !have_tool(CHROMIUM) || !have_tool(DRIVER) {
        return;
    }
    let fake = Arc::new(Fake::default());
    *fake.user.lock().unwrap() = "o-alice".into();
    let base = portal_fakes::start(fake.clone()).await;
    let env = crate::portal_wechat::oauth_env(&Db::Sqlite, &base);
    {
        let store = env.open_store().await;
        store
            .wechat_links()
            .link("wechat", "o-alice", "alice", 0)
            .await
            .unwrap();
        store.close().await;
    }
    let server = env.start();
    let driver = start_driver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser(&driver, profile.path()).await;
    c.goto(&format!(
        "http://{}/portal/generic?client_mac={}&client_ip=127.0.0.1&ssid=Office",
        server.http,
        pct(CLIENT_MAC)
    ))
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#wechat-submit"))
        .await
        .expect("landing page");
    c.find(Locator::Css("#wechat-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#qr-link"))
        .await
        .expect("QR page")
        .text()
        .await
        .unwrap();
    screenshot(&c, "wechat-qr").await;
    // The phone scans the code: WeChat's OAuth (the fake) and back.
    let (portal, fake_base) = (server.http, base.clone());
    let done = tokio::task::spawn_blocking(move || {
        crate::portal_wechat::phone_completes(portal, &fake_base, &link)
    })
    .await
    .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    // The sign-in window notices by itself (it refreshes) and moves on.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#waiting"))
        .await
        .unwrap_or_else(|_| panic!("waiting page; log:\n{}", server.log()));
    assert!(accepted(&mac_auth(server.auth, CLIENT_MAC)));
    acct_start(server.acct, CLIENT_MAC, "e2e-wechat");
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#tiles"))
        .await
        .expect("launcher");
    let html = c.source().await.unwrap();
    assert!(html.contains("alice"), "{html}");
    screenshot(&c, "wechat-launcher").await;
    let _ = c.close().await;
}

/// ASCII words on a Chinese page that are not brand names, SSIDs or the
/// helpdesk codes (links are not words).
fn english_words(text: &str) -> Vec<String> {
    const ALLOWED: &[&str] = &["PT", "Office", "Portico"];
    let mut out = Vec::new();
    for token in text.split_whitespace().filter(|t| !t.contains("://")) {
        let mut word = String::new();
        for ch in token.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_alphabetic() {
                word.push(ch);
                continue;
            }
            if word.len() >= 2 && !ALLOWED.contains(&word.as_str()) {
                out.push(word.clone());
            }
            word.clear();
        }
    }
    out
}

async fn visible_text(c: &Client) -> String {
    c.execute("return document.body.innerText;", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Waits for `css`, screenshots the page as `<lang>-<name>`, and on a
/// Chinese page checks that it holds no English.
async fn capture(c: &Client, lang: &str, name: &str, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{lang}-{name}: no {css}"));
    screenshot(c, &format!("{lang}-{name}")).await;
    let text = visible_text(c).await;
    if lang == "zh" {
        let words = english_words(&text);
        assert!(
            words.is_empty(),
            "zh-{name} shows English {words:?}:\n{text}"
        );
    }
    text
}

async fn fill_and_submit(c: &Client, fields: &[(&str, &str)], submit: &str) {
    for (css, value) in fields {
        let el = c.find(Locator::Css(css)).await.expect(css);
        el.clear().await.ok();
        el.send_keys(value).await.expect(css);
    }
    c.find(Locator::Css(submit))
        .await
        .expect(submit)
        .click()
        .await
        .expect(submit);
}

async fn click_retry(c: &Client) {
    c.find(Locator::Css("#action"))
        .await
        .expect("every error page has a retry button")
        .click()
        .await
        .expect("retry");
}

/// Every error page and the timed-out page, as a phone shows them, in
/// Chinese and English; each error page's button leads somewhere useful.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_error_and_timeout_pages_in_chinese_and_english() {
    if !have_tool(CHROMIUM) || !have_tool(DRIVER) {
        return;
    }
    let mut env = portal_env(&Db::Sqlite);
    env.set("PORTICO_PORTAL__ACCOUNT_LOCKOUT__FAILURES", "2");
    env.set("PORTICO_PORTAL__ATTEMPTS_PER_MAC_PER_MINUTE", "3");
    env.set("PORTICO_PORTAL__CONFIRM_TIMEOUT", "1s");
    env.add_user("zhang", "zhangs-password", &["staff"]);
    env.add_user("emma", "emmas-password", &["staff"]);
    let out = env.cli_ok(&["voucher", "create", "--count", "2", "--json"], None);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let codes: Vec<String> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let server = env.start();
    let driver = start_driver();
    for (n, (lang, locale, user)) in [("zh", "zh-CN", "zhang"), ("en", "en-US", "emma")]
        .into_iter()
        .enumerate()
    {
        let profile = tempfile::tempdir().expect("profile dir");
        let c = browser_in(&driver, profile.path(), locale).await;
        let base = format!("http://{}", server.http);
        let mac = |i: u8| format!("02:00:00:00:{n:02}:{i:02}");
        let landing = |i: u8| {
            format!(
                "{base}/portal/generic?client_mac={}&client_ip=127.0.0.1&ssid=Office",
                pct(&mac(i))
            )
        };

        // Landings that cannot go on.
        for (name, url) in [
            ("missing-mac", format!("{base}/portal/generic")),
            ("unknown-profile", format!("{base}/portal/nope?client_mac=020000000001")),
            (
                "login-host",
                format!(
                    "{base}/portal/cisco-wlc?switch_url=http%3A%2F%2F192.0.2.1%2Flogin.html&client_mac={}",
                    pct(&mac(1))
                ),
            ),
            (
                "client-mismatch",
                format!("{base}/portal/generic?client_mac={}&client_ip=127.0.0.9", pct(&mac(2))),
            ),
            (
                "client-unverifiable",
                format!("{base}/portal/unifi?id={}", pct(&mac(3))),
            ),
            ("session-ended", format!("{base}/portal/launcher")),
            ("start-unknown-device", format!("{base}/portal/start")),
        ] {
            c.goto(&url).await.expect("goto");
            capture(&c, lang, name, "#action").await;
        }

        // A wrong password, then the lock (two failures in this config);
        // each time the retry button brings the sign-in form back.
        c.goto(&landing(4)).await.unwrap();
        capture(&c, lang, "landing", "#staff-submit").await;
        fill_and_submit(
            &c,
            &[("#username", user), ("#password", "wrong")],
            "#staff-submit",
        )
        .await;
        capture(&c, lang, "bad-password", "#action").await;
        click_retry(&c).await;
        capture(&c, lang, "landing-again", "#staff-submit").await;
        fill_and_submit(
            &c,
            &[("#username", user), ("#password", "wrong")],
            "#staff-submit",
        )
        .await;
        let locked = capture(&c, lang, "account-locked", "#error-code").await;
        assert!(locked.contains("PT-202"), "{locked}");

        // Vouchers: invalid, then the device's attempt limit.
        c.goto(&landing(5)).await.unwrap();
        for attempt in 0..3 {
            c.wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css("#voucher-submit"))
                .await
                .expect("voucher form");
            fill_and_submit(&c, &[("#voucher", "ABCD-EFGH-JKMN")], "#voucher-submit").await;
            capture(&c, lang, "voucher-invalid", "#action").await;
            if attempt < 2 {
                click_retry(&c).await;
            }
        }
        click_retry(&c).await;
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#voucher-submit"))
            .await
            .expect("voucher form");
        fill_and_submit(&c, &[("#voucher", "ABCD-EFGH-JKMN")], "#voucher-submit").await;
        let limited = capture(&c, lang, "rate-limited", "#error-code").await;
        assert!(limited.contains("PT-201"), "{limited}");

        // An expired form (the cookie is gone).
        c.goto(&landing(6)).await.unwrap();
        capture(&c, lang, "landing-csrf", "#staff-submit").await;
        c.delete_all_cookies().await.unwrap();
        fill_and_submit(
            &c,
            &[("#username", user), ("#password", "x")],
            "#staff-submit",
        )
        .await;
        capture(&c, lang, "form-expired", "#action").await;

        // Signed in, but the AP never confirms: one coherent message and a
        // way to try again, never a claim of a connection.
        c.goto(&landing(7)).await.unwrap();
        capture(&c, lang, "landing-voucher", "#voucher-submit").await;
        fill_and_submit(&c, &[("#voucher", &codes[n])], "#voucher-submit").await;
        let timed_out = capture(&c, lang, "timed-out", "#retry").await;
        let connected = if lang == "zh" {
            "已连接"
        } else {
            "Connected"
        };
        assert!(!timed_out.contains(connected), "{timed_out}");
        assert!(
            !timed_out.contains(if lang == "zh" {
                "登录已成功"
            } else {
                "You are signed in"
            }),
            "{timed_out}"
        );
        let _ = c.close().await;
    }
    let dir = repo_path("target/test-artifacts/portal");
    for lang in ["zh", "en"] {
        for name in [
            "login-host",
            "client-mismatch",
            "account-locked",
            "timed-out",
        ] {
            assert!(
                dir.join(format!("{lang}-{name}.png")).exists(),
                "screenshot {lang}-{name}"
            );
        }
    }
}

#[test]
fn english_word_finder() {
    assert!(english_words("错误代码 PT-301 无线网络 Office").is_empty());
    assert_eq!(english_words("请 retry 一下"), ["retry"]);
    assert!(english_words("链接 http://example.com/a").is_empty());
}
