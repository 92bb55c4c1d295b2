//! The dashboard in headless Chromium: the first sign-in (new password
//! and TOTP enrolment from the key the page shows), live overview figures
//! over server-sent events, then every page in Chinese and English with
//! screenshots at 1440x900 and 390x844 (target/test-artifacts/admin/) and
//! an axe-core check (vendored in tests/vendor) that finds no serious or
//! critical violation.

use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::helpers::*;
use crate::portal_e2e::{browser_in, start_driver};

const DESKTOP: (u32, u32) = (1440, 900);
const PHONE: (u32, u32) = (390, 844);

const PAGES: &[(&str, &str)] = &[
    ("overview", "/"),
    ("aps", "/aps"),
    ("ap-detail", "/aps/ap-lobby"),
    ("sessions", "/sessions?all=1"),
    ("troubleshoot", "/troubleshoot?q=alice"),
    ("users", "/users"),
    ("nas", "/nas"),
    ("alerts", "/alerts"),
    ("logs", "/logs"),
    ("vouchers", "/vouchers"),
    ("admins", "/admins"),
    ("audit", "/audit"),
    ("settings", "/settings"),
    ("coverage", "/coverage"),
    ("sso", "/sso"),
    ("sso-client", "/sso/clients/meeting"),
    ("floor", "/coverage/1?band=5&metric=rssi"),
];

async fn shoot(c: &Client, name: &str) {
    let dir = repo_path("target/test-artifacts/admin");
    let _ = std::fs::create_dir_all(&dir);
    for (label, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        c.set_window_size(w, h).await.ok();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("write png");
    }
    c.set_window_size(DESKTOP.0, DESKTOP.1).await.ok();
}

/// axe-core's serious and critical violations on the current page.
async fn axe(c: &Client) -> Vec<String> {
    let src = std::fs::read_to_string(repo_path("tests/vendor/axe.min.js")).expect("axe");
    c.execute(&format!("{src}\nreturn true;"), vec![])
        .await
        .expect("inject axe");
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe run");
    result
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .send_keys(text)
        .await
        .expect("type");
}

async fn submit(c: &Client, form: &str) {
    c.find(Locator::Css(&format!("#{form} button[type=submit]")))
        .await
        .unwrap_or_else(|_| panic!("#{form} button"))
        .click()
        .await
        .expect("click");
}

pub fn base32_decode(s: &str) -> Vec<u8> {
    let (mut bits, mut n, mut out) = (0u64, 0, Vec::new());
    for c in s.trim().bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => continue,
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn every_page_in_both_languages_in_chromium() {
    if !have_tool("chromium") || !have_tool("chromedriver") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let mut env = TestEnv::new(&Db::Sqlite);
    // One account with every right, so one browser sees every page.
    env.set("PORTICO_ADMIN__ROLE_SEPARATION", "false");
    let server = tokio::task::block_in_place(|| env.start());
    let password = server.admin_accounts[0].1.clone();
    env.add_loopback_nas("lab", &[]);
    env.add_user("alice", "Alice-Pass-2026", &["staff"]);
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "meeting",
            "--redirect-uri",
            "https://meet.example.cn/cb",
            "--backchannel-logout-uri",
            "https://meet.example.cn/bcl",
        ],
        None,
    );
    env.cli_ok(
        &[
            "ap",
            "add",
            "ap-lobby",
            "--address",
            "127.0.0.1:9",
            "--profile",
            "generic",
            "--building",
            "A",
            "--floor",
            "1",
            "--no-snmp",
        ],
        None,
    );
    // A floor from the DXF fixture with the AP on it (issue 14).
    env.cli_ok(
        &[
            "floor",
            "add",
            "F1",
            "--building",
            "A",
            "--level",
            "1",
            "--width",
            "20",
            "--height",
            "10",
        ],
        None,
    );
    let dxf = repo_path("tests/fixtures/dxf/floor.dxf")
        .display()
        .to_string();
    env.cli_ok(
        &[
            "floor",
            "import-dxf",
            "F1",
            &dxf,
            "--layer",
            "A-WALL",
            "--material",
            "brick",
        ],
        None,
    );
    env.cli_ok(
        &["floor", "place", "F1", "ap-lobby", "--x", "4", "--y", "5"],
        None,
    );
    env.cli_ok(
        &[
            "ap",
            "add",
            "ap-meeting",
            "--address",
            "127.0.0.1:9",
            "--profile",
            "generic",
            "--no-snmp",
        ],
        None,
    );
    env.cli_ok(
        &[
            "floor",
            "place",
            "F1",
            "ap-meeting",
            "--x",
            "17",
            "--y",
            "2.5",
        ],
        None,
    );
    {
        use portico::store::floors::{Area, AreaKind};
        let store = env.open_store().await;
        let floor = store
            .floors()
            .find("F1")
            .await
            .expect("find")
            .expect("floor");
        let areas = vec![
            Area {
                kind: AreaKind::Outline,
                name: String::new(),
                seats: None,
                points: vec![(0.0, 0.0), (20.0, 0.0), (20.0, 10.0), (0.0, 10.0)],
            },
            Area {
                kind: AreaKind::Room,
                name: "会议室 301".into(),
                seats: Some(40),
                points: vec![(8.3, 5.3), (19.7, 5.3), (19.7, 9.7), (8.3, 9.7)],
            },
            Area {
                kind: AreaKind::Excluded,
                name: "shaft".into(),
                seats: None,
                points: vec![(0.0, 8.0), (2.0, 8.0), (2.0, 10.0), (0.0, 10.0)],
            },
        ];
        store
            .floors()
            .set_areas(floor.id, &areas)
            .await
            .expect("areas");
        store.close().await;
    }
    // The NAS added after start is picked up within the refresh interval.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = tokio::task::block_in_place(|| {
        radclient(
            server.auth,
            "auth",
            SECRET,
            "User-Name = alice\nUser-Password = wrong\nMessage-Authenticator = 0x00\n",
        )
    });
    assert!(r.got("Access-Reject"), "{}", r.output);

    let driver = tokio::task::block_in_place(start_driver);
    let profile = tempfile::tempdir().expect("profile");
    let c = browser_in(&driver, profile.path(), "zh-CN").await;
    c.set_window_size(DESKTOP.0, DESKTOP.1).await.ok();
    let base = format!("http://{}", server.admin);

    // Sign-in page (Chinese first).
    c.goto(&format!("{base}/login")).await.expect("login");
    shoot(&c, "zh-login").await;
    let problems = axe(&c).await;
    assert!(problems.is_empty(), "login: {problems:#?}");
    fill(&c, "#login-username", "admin").await;
    fill(&c, "#login-password", &password).await;
    submit(&c, "login").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("code.once"))
        .await
        .expect("setup page with the TOTP key");
    shoot(&c, "zh-setup").await;
    let problems = axe(&c).await;
    assert!(problems.is_empty(), "setup: {problems:#?}");
    let key = c
        .find(Locator::Css("code.once"))
        .await
        .expect("key")
        .text()
        .await
        .expect("text");
    let secret = base32_decode(&key);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let code = portico::admin::totp::code_at(&secret, now, 6).expect("code");
    fill(&c, "#setup-new_password", "Browser-Setup-2026!").await;
    fill(&c, "#setup-repeat_password", "Browser-Setup-2026!").await;
    fill(&c, "#setup-code", &code).await;
    submit(&c, "setup").await;
    if c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#ov-clients"))
        .await
        .is_err()
    {
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let html = c.source().await.unwrap_or_default();
        panic!(
            "no overview after sign-in: at {url}: {}",
            &html[..html.len().min(3000)]
        );
    }
    // The figures arrive over server-sent events (admin.js marks the page).
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("body[data-live='1']"))
        .await
        .expect("live overview events");

    for (lang, switch) in [("zh", None), ("en", Some("/lang/en?back=/"))] {
        if let Some(s) = switch {
            c.goto(&format!("{base}{s}"))
                .await
                .expect("language switch");
        }
        for (name, path) in PAGES {
            c.goto(&format!("{base}{path}")).await.expect("page");
            let html = c.source().await.expect("source");
            let tag = if lang == "zh" {
                "lang=\"zh-CN\""
            } else {
                "lang=\"en\""
            };
            assert!(html.contains(tag), "{lang} {name}: {tag}");
            // Nothing loaded or linked from elsewhere (addresses shown as
            // text, such as an app's redirect URIs, are fine).
            let external = ["src=\"http", "href=\"http", "url(http", "action=\"http"]
                .iter()
                .any(|p| html.contains(p));
            assert!(
                !external || *name == "settings",
                "{lang} {name}: no external links"
            );
            shoot(&c, &format!("{lang}-{name}")).await;
            let problems = axe(&c).await;
            assert!(problems.is_empty(), "{lang} {name}: {problems:#?}");
        }
    }
    // The floor view: heatmaps per band and metric, kept for the README;
    // a click on the map fills the placement form, which moves the AP.
    let cov_dir = repo_path("target/test-artifacts/coverage");
    let _ = std::fs::create_dir_all(&cov_dir);
    for (band, metric) in [("5", "rssi"), ("2.4", "rssi"), ("5", "snr"), ("5", "ap")] {
        c.goto(&format!("{base}/coverage/1?band={band}&metric={metric}"))
            .await
            .expect("floor page");
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("svg.floormap image.heat"))
            .await
            .expect("heatmap layer");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(cov_dir.join(format!("floor-{band}ghz-{metric}.png")), png)
            .expect("write png");
    }
    // The README's picture: the map alone, 5 GHz signal.
    c.goto(&format!("{base}/coverage/1?band=5&metric=rssi"))
        .await
        .expect("floor page");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("svg.floormap image.heat"))
        .await
        .expect("heatmap layer");
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.set_window_size(1280, 1400).await.ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let section = c
        .find(Locator::Css("section.floormap"))
        .await
        .expect("map section");
    let png = section.screenshot().await.expect("map screenshot");
    std::fs::write(cov_dir.join("floor-map.png"), png).expect("write png");
    c.set_window_size(DESKTOP.0, DESKTOP.1).await.ok();
    let map = c.find(Locator::Css("svg.floormap")).await.expect("map");
    map.click().await.expect("click the map");
    let x = c
        .find(Locator::Css("#place-ap-x"))
        .await
        .expect("x field")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    let x: f64 = x.parse().unwrap_or(-1.0);
    assert!(
        (x - 10.0).abs() < 0.6,
        "a click in the middle of a 20 m plan gives x = 10, got {x}"
    );
    c.find(Locator::Css("#place-ap-ap option[value='ap-lobby']"))
        .await
        .expect("AP option")
        .click()
        .await
        .expect("choose the AP");
    submit(&c, "place-ap").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("svg.floormap g.ap"))
        .await
        .expect("AP marker");
    let html = c.source().await.expect("source");
    let cx: f64 = html
        .split("<g class=\"ap")
        .nth(1)
        .and_then(|g| g.split("cx=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0);
    assert!(
        (cx - x).abs() < 0.01,
        "the AP moved to the click: {cx} vs {x}"
    );
    // A room drawn by its corners.
    fill(&c, "#add-area-name", "Room X").await;
    let corners = c
        .find(Locator::Css("#add-area-points"))
        .await
        .expect("corners");
    corners.clear().await.expect("clear");
    corners
        .send_keys("1,1 5,1 5,4 1,4")
        .await
        .expect("type corners");
    submit(&c, "add-area").await;
    // The form posts and the floor page comes back with the room: wait
    // for the room itself (the rooms table may be on the old page too).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut html = String::new();
    while std::time::Instant::now() < deadline {
        html = c.source().await.expect("source");
        if html.contains("Room X") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        html.contains("Room X")
            && html.contains("points=\"1.00,1.00 5.00,1.00 5.00,4.00 1.00,4.00\""),
        "the room is drawn"
    );
    c.goto(&format!("{base}/coverage/1/report"))
        .await
        .expect("report");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(cov_dir.join("report-screen.png"), png).expect("write png");
    // An app registered from the dashboard: its secret is shown once.
    c.goto(&format!("{base}/sso")).await.expect("sso page");
    fill(&c, "#sso-add-name", "meetings").await;
    fill(&c, "#sso-add-redirect_uris", "https://meet.example.cn/cb").await;
    submit(&c, "sso-add").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("code.once"))
        .await
        .expect("the client secret, once");
    let html = c.source().await.expect("source");
    assert!(
        html.contains("https://meet.example.cn/cb"),
        "the client is listed"
    );
    // The troubleshooting page explained the reject in English too.
    c.goto(&format!("{base}/troubleshoot?q=alice"))
        .await
        .expect("troubleshoot");
    let html = c.source().await.expect("source");
    assert!(
        html.contains("wrong password") && html.contains("retype"),
        "advice shown"
    );
    c.close().await.ok();
    for name in [
        "zh-overview-desktop",
        "en-overview-phone",
        "zh-login-desktop",
    ] {
        assert!(
            repo_path(&format!("target/test-artifacts/admin/{name}.png")).exists(),
            "{name}"
        );
    }
}
