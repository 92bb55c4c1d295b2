//! The dashboard and the JSON API over the wire: first sign-in with a new
//! password and TOTP enrolment, codes that work once, the role matrix
//! generated from the route table (pages with session cookies, the API
//! with bearer tokens), CSRF refusals, problem documents, the OpenAPI
//! document, and the troubleshooting timeline after a real radclient
//! reject.

use std::collections::HashMap;
use std::time::Duration;

use portico::admin::roles::allows;
use portico::admin::web::routes::ROUTES;
use portico::admin::web::Surface;
use portico::domain::AdminRole;

use crate::helpers::{backends, have_tool, radclient, TestEnv, TestServer};

/// A browser-like client: cookies kept by name, no redirects followed.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub struct Answer {
    pub status: u16,
    pub location: String,
    pub content_type: String,
    pub body: String,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser {
            base: format!("http://{}", server.admin),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
        read_body: bool,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "post" | "POST" => self.http.post(&url),
            "put" | "PUT" => self.http.put(&url),
            _ => self.http.get(&url),
        };
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        let resp = req.send().await.expect("request");
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or("");
            let first = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let location = header("location");
        let content_type = header("content-type");
        let body = if read_body {
            resp.text().await.unwrap_or_default()
        } else {
            String::new()
        };
        Answer {
            status,
            location,
            content_type,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.send("get", path, &[], None, true).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form(fields);
        self.send(
            "post",
            path,
            &[],
            Some(("application/x-www-form-urlencoded", body)),
            true,
        )
        .await
    }
}

pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The value of `<input ... name="NAME" value="...">` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + "value=\"".len();
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

/// The key shown once for TOTP enrolment (the `code.once` block).
fn shown_key(html: &str) -> Option<String> {
    let at = html.find("<code class=\"once\">")? + "<code class=\"once\">".len();
    let end = html[at..].find("</code>")?;
    Some(html[at..at + end].to_string())
}

fn base32_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
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

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub const NEW_PASSWORD: &str = "Dashboard-Pass-2026!";

/// First sign-in: password, new password and TOTP enrolment. Returns the
/// browser (signed in) and the TOTP secret.
/// Returns the browser, the TOTP secret and the code the enrolment used.
pub async fn first_sign_in(
    server: &TestServer,
    name: &str,
    password: &str,
) -> (Browser, Vec<u8>, String) {
    let mut b = Browser::new(server);
    let page = b.get("/login").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let pre = input_value(&page.body, "pre").expect("pre token");
    let r = b
        .post_form(
            "/login",
            &[("pre", &pre), ("username", name), ("password", password)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/login/setup");
    let setup = b.get("/login/setup").await;
    assert_eq!(setup.status, 200);
    assert!(setup.body.contains("data:image/svg+xml"), "QR code shown");
    let key = shown_key(&setup.body).expect("manual key");
    let secret = base32_decode(&key);
    let csrf = input_value(&setup.body, "csrf").expect("csrf");
    let code = portico::admin::totp::code_at(&secret, now_secs(), 6).expect("code");
    let done = b
        .post_form(
            "/login/setup",
            &[
                ("csrf", &csrf),
                ("new_password", NEW_PASSWORD),
                ("repeat_password", NEW_PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, "/");
    (b, secret, code)
}

/// A later sign-in: password, then the TOTP code given.
async fn sign_in(server: &TestServer, name: &str, code: &str) -> (Browser, Answer) {
    let mut b = Browser::new(server);
    let page = b.get("/login").await;
    let pre = input_value(&page.body, "pre").expect("pre");
    let r = b
        .post_form(
            "/login",
            &[
                ("pre", &pre),
                ("username", name),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.location, "/login/totp", "{}", r.body);
    let totp = b.get("/login/totp").await;
    let csrf = input_value(&totp.body, "csrf").expect("csrf");
    let a = b
        .post_form("/login/totp", &[("csrf", &csrf), ("code", code)])
        .await;
    (b, a)
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("data-csrf=\"").expect("data-csrf") + "data-csrf=\"".len();
    let end = html[at..].find('"').expect("end");
    html[at..at + end].to_string()
}

fn concrete(path: &str) -> String {
    path.replace("{name}", "no-such-thing")
        .replace("{id}", "999999")
        .replace("{token}", "no-such-token")
}

#[test]
fn sign_in_roles_csrf_and_the_api() {
    for db in backends() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(sign_in_roles_csrf_and_the_api_on(TestEnv::new(&db)));
    }
}

async fn sign_in_roles_csrf_and_the_api_on(env: TestEnv) {
    {
        let server = tokio::task::block_in_place(|| env.start());
        env.cli_ok(
            &[
                "admin",
                "add",
                "helpdesk",
                "--role",
                "operator",
                "--password-stdin",
            ],
            Some("Operator-Pass-2026\n"),
        );
        let accounts: HashMap<String, String> = server.admin_accounts.iter().cloned().collect();
        assert_eq!(accounts.len(), 3, "{accounts:?}");

        // Unknown and wrong passwords are refused alike, and audited.
        let mut anon = Browser::new(&server);
        let page = anon.get("/").await;
        assert_eq!((page.status, page.location.as_str()), (303, "/login"));
        let login = anon.get("/login").await;
        assert!(login.body.contains("lang=\"zh-CN\""), "Chinese first");
        let csp = anon.send("get", "/login", &[], None, false).await;
        assert_eq!(csp.status, 200);
        let pre = input_value(&login.body, "pre").expect("pre");
        let wrong = anon
            .post_form(
                "/login",
                &[
                    ("pre", &pre),
                    ("username", "sysadmin"),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
        // A form posted from another site signs no one in.
        let pre = input_value(&wrong.body, "pre").expect("pre");
        let forged = anon
            .send(
                "post",
                "/login",
                &[("sec-fetch-site", "cross-site")],
                Some((
                    "application/x-www-form-urlencoded",
                    form(&[
                        ("pre", &pre),
                        ("username", "sysadmin"),
                        ("password", &accounts["sysadmin"]),
                    ]),
                )),
                true,
            )
            .await;
        assert_eq!(forged.status, 401);

        // First sign-in of each account.
        let mut sessions = HashMap::new();
        let mut codes = HashMap::new();
        for (name, pw) in [
            ("sysadmin", accounts["sysadmin"].as_str()),
            ("secadmin", accounts["secadmin"].as_str()),
            ("auditadmin", accounts["auditadmin"].as_str()),
            ("helpdesk", "Operator-Pass-2026"),
        ] {
            let (b, _, code) = first_sign_in(&server, name, pw).await;
            sessions.insert(name, b);
            codes.insert(name, code);
        }
        // The enrolment code was used: the same step does not sign in again.
        // (The enrolment's own code: a later step's code would be valid.)
        let (_, reused) = sign_in(&server, "sysadmin", &codes["sysadmin"]).await;
        assert_eq!(reused.status, 401, "a TOTP code works once");

        // Tokens for the API, one per role.
        let mut tokens = HashMap::new();
        for name in ["sysadmin", "secadmin", "auditadmin", "helpdesk"] {
            let t = env.cli_ok(
                &[
                    "admin", "token", "create", "--admin", name, "--name", "matrix",
                ],
                None,
            );
            tokens.insert(name, t.trim().to_string());
        }
        let role_of = |n: &str| match n {
            "sysadmin" => AdminRole::System,
            "secadmin" => AdminRole::Security,
            "auditadmin" => AdminRole::Audit,
            _ => AdminRole::Operator,
        };

        // The role matrix, from the route table.
        for name in ["sysadmin", "secadmin", "auditadmin", "helpdesk"] {
            let role = role_of(name);
            let b = sessions.get_mut(name).expect("session");
            let home = b.get("/").await;
            assert_eq!(home.status, 200, "{name}: {}", home.body);
            let csrf = csrf_of(&home.body);
            for spec in ROUTES {
                let path = concrete(spec.path);
                let stream = spec.path == "/events/overview";
                let a = match spec.surface {
                    Surface::Page => {
                        let body = (spec.method == "post").then(|| {
                            (
                                "application/x-www-form-urlencoded",
                                form(&[("csrf", &csrf)]),
                            )
                        });
                        b.send(spec.method, &path, &[], body, !stream).await
                    }
                    Surface::Api => {
                        let auth = format!("Bearer {}", tokens[name]);
                        let body =
                            (spec.method != "get").then(|| ("application/json", "{}".to_string()));
                        let mut api = Browser::new(&server);
                        api.send(spec.method, &path, &[("authorization", &auth)], body, true)
                            .await
                    }
                };
                let expected = allows(role, spec.permission);
                if expected {
                    assert!(
                        a.status != 403 && a.status != 401 && a.status < 500,
                        "{name} ({role}) {} {path}: {} {}",
                        spec.method,
                        a.status,
                        a.body
                    );
                } else {
                    assert_eq!(
                        a.status, 403,
                        "{name} ({role}) {} {path} must be refused",
                        spec.method
                    );
                    if spec.surface == Surface::Api {
                        assert!(
                            a.content_type.starts_with("application/problem+json"),
                            "{}",
                            a.content_type
                        );
                    }
                }
            }
        }

        // Separation holds: the security administrator cannot change their
        // own role, and a password reset they make ends the account's
        // tokens and still asks for the account's TOTP before anything.
        {
            let sec = sessions.get_mut("secadmin").expect("secadmin");
            let home = sec.get("/admins").await;
            let csrf = csrf_of(&home.body);
            let own = sec
                .post_form(
                    "/admins/secadmin/role",
                    &[("csrf", &csrf), ("role", "system")],
                )
                .await;
            assert!(own.body.contains("own role"), "{}", own.body);
            let reset = sec
                .post_form("/admins/helpdesk/reset-password", &[("csrf", &csrf)])
                .await;
            assert_eq!(reset.status, 200);
            let temporary = reset
                .body
                .split("<code class=\"once\">")
                .nth(1)
                .and_then(|r| r.split("</code>").next())
                .expect("temporary password shown once")
                .to_string();
            let mut api = Browser::new(&server);
            let auth = format!("Bearer {}", tokens["helpdesk"]);
            let gone = api
                .send(
                    "get",
                    "/api/v1/aps",
                    &[("authorization", &auth)],
                    None,
                    true,
                )
                .await;
            assert_eq!(gone.status, 401, "the reset revoked the account's tokens");
            let mut b = Browser::new(&server);
            let page = b.get("/login").await;
            let pre = input_value(&page.body, "pre").expect("pre");
            let r = b
                .post_form(
                    "/login",
                    &[
                        ("pre", &pre),
                        ("username", "helpdesk"),
                        ("password", &temporary),
                    ],
                )
                .await;
            assert_eq!(r.location, "/login/totp", "TOTP before the password change");
        }

        // CSRF: a change without the token, or from another site, is refused.
        let sys = sessions.get_mut("sysadmin").expect("sysadmin");
        let no_token = sys
            .post_form(
                "/users",
                &[("username", "mallory"), ("password", "Mallory-Pass-1")],
            )
            .await;
        assert_eq!(no_token.status, 403);
        let home = sys.get("/").await;
        let csrf = csrf_of(&home.body);
        let cross = sys
            .send(
                "post",
                "/users",
                &[("sec-fetch-site", "cross-site")],
                Some((
                    "application/x-www-form-urlencoded",
                    form(&[
                        ("csrf", &csrf),
                        ("username", "mallory"),
                        ("password", "Mallory-Pass-1"),
                    ]),
                )),
                true,
            )
            .await;
        assert_eq!(cross.status, 403);
        // With the token the page creates the user, and says so.
        let ok = sys
            .post_form(
                "/users",
                &[
                    ("csrf", &csrf),
                    ("username", "carol"),
                    ("password", "Carol-Pass-2026"),
                    ("groups", "staff"),
                ],
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert!(ok.body.contains("carol"), "{}", ok.body);

        // Inventory and directory changes from the pages, each audited.
        for (path, fields, expect) in [
            (
                "/aps",
                vec![
                    ("name", "ap-web"),
                    ("address", "127.0.0.1:16100"),
                    ("building", "A"),
                ],
                "ap-web",
            ),
            (
                "/aps/ap-web/edit",
                vec![
                    ("name", "ap-web"),
                    ("address", "127.0.0.1:16100"),
                    ("building", "Annex"),
                    ("floor", "3"),
                ],
                "Annex",
            ),
            (
                "/groups",
                vec![
                    ("name", "guests"),
                    ("vlan", "30"),
                    ("session_timeout", "3600"),
                    ("methods", "pap;mac"),
                    ("reply", "Filter-Id=guests"),
                ],
                "guests",
            ),
            (
                "/devices",
                vec![
                    ("mac", "aa:bb:cc:00:11:22"),
                    ("owner", "carol"),
                    ("groups", "guests"),
                ],
                "aa:bb:cc:00:11:22",
            ),
            (
                "/users/edit",
                vec![
                    ("username", "carol"),
                    ("groups", "staff;guests"),
                    ("valid_until", "2027-06-30"),
                ],
                "guests, staff",
            ),
        ] {
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend(fields);
            let r = sys.post_form(path, &all).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert!(r.body.contains(expect), "{path} shows {expect}");
            assert!(!r.body.contains("notice error"), "{path}: {}", r.body);
        }
        // CSV import: the upload box's body, and the multipart form of a
        // browser without JavaScript; a bad line imports nothing.
        let bad = sys
            .send(
                "post",
                "/users/import",
                &[("x-csrf-token", &csrf)],
                Some((
                    "text/csv",
                    "username,password\nerin,Erin-Pass-2026\n,nameless\n".into(),
                )),
                true,
            )
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("line 3"), "{}", bad.body);
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n".to_string()
            + &csrf
            + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\nContent-Type: text/csv\r\n\r\nusername,password,groups\nerin,Erin-Pass-2026,staff\nfrank,Frank-Pass-2026,staff\n\r\n--XyZ--\r\n";
        let ok = sys
            .send(
                "post",
                &format!("/users/import?csrf={csrf}"),
                &[],
                Some(("multipart/form-data; boundary=XyZ", body)),
                true,
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert!(
            ok.body.contains("frank") && ok.body.contains("erin"),
            "imported and listed"
        );
        let csv = sys.get("/sessions.csv?all=1").await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.content_type.starts_with("text/csv") && csv.body.starts_with("started,stopped,nas")
        );
        let auth_csv = sys.get("/logs/auth-log.csv?user=dave").await;
        assert!(
            auth_csv.body.starts_with("time,username,mac"),
            "{}",
            auth_csv.body
        );
        let users = sys.get("/users").await;
        assert!(
            users.body.contains("Filter-Id=guests"),
            "group reply policy shown"
        );
        let bad_group = sys
            .post_form(
                "/groups",
                &[("csrf", &csrf), ("name", "x"), ("methods", "telnet")],
            )
            .await;
        assert!(bad_group.body.contains("notice error") && bad_group.body.contains("telnet"));

        // The API: JSON, problem documents, limits, creation.
        let mut api = Browser::new(&server);
        let auth = format!("Bearer {}", tokens["sysadmin"]);
        let hdr = [("authorization", auth.as_str())];
        let users = api
            .send("get", "/api/v1/users?limit=1", &hdr, None, true)
            .await;
        assert_eq!(users.status, 200, "{}", users.body);
        let v: serde_json::Value = serde_json::from_str(&users.body).expect("json");
        assert_eq!(v["items"].as_array().map(|a| a.len()), Some(1));
        let too_many = api
            .send("get", "/api/v1/aps?limit=1001", &hdr, None, true)
            .await;
        assert_eq!(too_many.status, 400);
        assert!(too_many
            .content_type
            .starts_with("application/problem+json"));
        let created = api
            .send(
                "post",
                "/api/v1/nas",
                &hdr,
                Some((
                    "application/json",
                    r#"{"name":"lab","address":"127.0.0.1"}"#.into(),
                )),
                true,
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = serde_json::from_str::<serde_json::Value>(&created.body).expect("json")
            ["secret"]
            .as_str()
            .expect("secret")
            .to_string();
        let user = api
            .send(
                "post",
                "/api/v1/users",
                &hdr,
                Some((
                    "application/json",
                    r#"{"username":"dave","password":"Dave-Pass-2026","groups":["staff"]}"#.into(),
                )),
                true,
            )
            .await;
        assert_eq!(user.status, 201, "{}", user.body);
        let bad = api
            .send(
                "get",
                "/api/v1/aps",
                &[("authorization", "Bearer pat_nope")],
                None,
                true,
            )
            .await;
        assert_eq!(bad.status, 401);
        assert!(bad.content_type.starts_with("application/problem+json"));

        // A real peer's reject shows in the timeline with advice.
        if have_tool("radclient") {
            tokio::time::sleep(Duration::from_millis(300)).await; // NAS cache refresh
            let r = tokio::task::block_in_place(|| {
                radclient(
                    server.auth,
                    "auth",
                    &secret,
                    "User-Name = dave\nUser-Password = wrong\nMessage-Authenticator = 0x00\n",
                )
            });
            assert!(r.got("Access-Reject"), "{}", r.output);
            let mut found = false;
            for _ in 0..40 {
                let t = api
                    .send("get", "/api/v1/troubleshoot?user=dave", &hdr, None, true)
                    .await;
                assert_eq!(t.status, 200, "{}", t.body);
                if t.body.contains("wrong password") && t.body.contains("密码错误") {
                    found = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(found, "the reject and its advice in the timeline");
            let page = sys.get("/troubleshoot?q=dave").await;
            assert!(page.body.contains("密码错误"), "Chinese advice on the page");
        } else {
            eprintln!("skipping the radclient part: radclient not installed");
        }

        // The OpenAPI document and Swagger UI.
        let doc = api.get("/api/v1/openapi.json").await;
        let doc: serde_json::Value = serde_json::from_str(&doc.body).expect("openapi json");
        assert!(doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")));
        for p in [
            "/api/v1/aps",
            "/api/v1/aps/{name}",
            "/api/v1/sessions",
            "/api/v1/sessions/{id}/disconnect",
            "/api/v1/users",
            "/api/v1/nas",
            "/api/v1/auth-log",
            "/api/v1/audit",
            "/api/v1/troubleshoot",
        ] {
            assert!(doc["paths"].get(p).is_some(), "{p} documented");
        }
        let docs = api.get("/api/docs").await;
        assert!(
            docs.body.contains("/static/swagger-ui-bundle.js") && !docs.body.contains("http"),
            "vendored"
        );

        // Sign-out ends the session; the audit trail saw it all.
        let out = sys.post_form("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.location, "/login");
        let after = sys.get("/").await;
        assert_eq!(after.status, 303);
        let trail = env.cli_ok(&["audit", "export"], None);
        for action in [
            "admin.sign-in",
            "access.denied",
            "token.use",
            "user.add",
            "nas.add",
            "admin.totp-enrol",
            "admin.sign-out",
            "ap.add",
            "ap.edit",
            "group.save",
            "device.add",
            "user.edit",
            "sessions.export",
            "auth-log.export",
            "user.import",
        ] {
            assert!(trail.contains(action), "{action} audited");
        }
        assert!(trail.contains(",denied,"), "failed sign-ins audited");
        let verify = env.cli_ok(&["audit", "verify"], None);
        assert!(!verify.contains("BROKEN"), "{verify}");
        // One address guessing across names is slowed down too: past 20
        // attempts a minute every sign-in from it is refused.
        let mut guesser = Browser::new(&server);
        let mut last = String::new();
        for i in 0..25 {
            let page = guesser.get("/login").await;
            let pre = input_value(&page.body, "pre").expect("pre");
            let name = format!("nobody{i}");
            last = guesser
                .post_form(
                    "/login",
                    &[("pre", &pre), ("username", &name), ("password", "x")],
                )
                .await
                .body;
        }
        assert!(last.contains("登录失败次数过多"), "rate limited: {last}");
        drop(server);
    }
}
