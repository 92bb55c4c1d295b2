//! portico-ssobench: the OpenID Connect provider's benchmark.
//!
//! Against a running controller (loopback only): signs in once at the
//! provider, then times, each bounded by count, (1) authorization
//! requests answered with a code from the signed-in session, (2) code
//! exchanges at the token endpoint (confidential client, HTTP Basic, PKCE
//! S256), (3) refresh-token rotations in chains, (4) userinfo, and, with
//! `--backchannel-listen`, (5) sign-outs one after another, each timed
//! from the logout request until the app (a listener here, registered as
//! the client's back-channel logout URI) receives its logout token.
//! Prints a Markdown table: requests, requests/s, p50 and p99 per phase.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use tokio::sync::Semaphore;

/// RFC 7636's example verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[derive(Parser, Debug)]
#[command(name = "portico-ssobench", version)]
struct Args {
    /// The issuer, e.g. http://127.0.0.1:8080/oidc (loopback only).
    #[arg(long)]
    issuer: String,
    #[arg(long, default_value = "meeting")]
    client: String,
    #[arg(long, env = "PORTICO_CLIENT_SECRET")]
    secret: String,
    #[arg(long)]
    redirect_uri: String,
    #[arg(long)]
    user: String,
    #[arg(long, env = "PORTICO_USER_PASSWORD")]
    password: String,
    /// Codes to mint and exchange.
    #[arg(long, default_value_t = 2000)]
    codes: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Refreshes per chain (one chain per concurrent worker).
    #[arg(long, default_value_t = 100)]
    refreshes: usize,
    #[arg(long, default_value_t = 5000)]
    userinfo: usize,
    /// Where to receive logout tokens (loopback; the client's
    /// back-channel logout URI must be http://ADDR/bcl).
    #[arg(long)]
    backchannel_listen: Option<std::net::SocketAddr>,
    /// Sign-outs to time (each a password sign-in, a code, a logout).
    #[arg(long, default_value_t = 200)]
    signouts: usize,
}

fn cookie_of(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2F;", "/")
            .replace("&#x3D;", "=")
            .replace("&#38;", "&")
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

fn code_of(location: &str) -> Option<String> {
    let q = location.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix("code="))
        .map(str::to_string)
}

struct Phase {
    name: &'static str,
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Phase {
    fn row(&mut self) -> String {
        self.latencies.sort();
        let n = self.latencies.len();
        let pct = |p: f64| {
            self.latencies
                .get(
                    ((n as f64 * p).ceil() as usize)
                        .saturating_sub(1)
                        .min(n.saturating_sub(1)),
                )
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        format!(
            "| {} | {} | {:.0} | {:.1} | {:.1} |",
            self.name,
            n,
            n as f64 / self.wall.as_secs_f64().max(1e-9),
            pct(0.50),
            pct(0.99)
        )
    }
}

/// Runs `count` jobs, `concurrency` at a time; each returns its latency.
async fn run<F, Fut, T>(
    count: usize,
    concurrency: usize,
    job: F,
) -> Result<(Vec<T>, Vec<Duration>, Duration)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = slots.clone().acquire_owned().await?;
        let fut = job(i);
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let out = fut.await;
            drop(permit);
            out.map(|v| (v, t.elapsed()))
        }));
    }
    let mut outs = Vec::with_capacity(count);
    let mut lat = Vec::with_capacity(count);
    for h in handles {
        let (v, d) = h.await??;
        outs.push(v);
        lat.push(d);
    }
    Ok((outs, lat, started.elapsed()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = Args::parse();
    let url = reqwest::Url::parse(&a.issuer).context("issuer")?;
    let loopback = matches!(url.host_str(), Some("localhost"))
        || url
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("the benchmark only talks to loopback");
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let authorize = format!(
        "{}/authorize?{}",
        a.issuer,
        form_urlencoded_pairs(&[
            ("response_type", "code"),
            ("client_id", &a.client),
            ("redirect_uri", &a.redirect_uri),
            ("scope", "openid profile"),
            ("state", "bench"),
            ("nonce", "bench-nonce"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
    );

    // Sign in once.
    let cookie = Arc::new(sign_in(&http, &a, &authorize).await?);

    // 1. Authorization requests → codes.
    let authorize = Arc::new(authorize);
    let (codes, lat, wall) = run(a.codes, a.concurrency, |_| {
        let (http, url, cookie) = (http.clone(), authorize.clone(), cookie.clone());
        async move {
            let r = http
                .get(url.as_str())
                .header("cookie", cookie.as_str())
                .send()
                .await?;
            let loc = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            code_of(loc).context("no code in the redirect")
        }
    })
    .await?;
    let mut phases = vec![Phase {
        name: "authorize (signed in → code)",
        latencies: lat,
        wall,
    }];

    // 2. Code exchanges.
    let codes = Arc::new(codes);
    let (tokens, lat, wall) = run(codes.len(), a.concurrency, |i| {
        let (http, codes) = (http.clone(), codes.clone());
        let (token_url, client, secret, redirect) = (
            format!("{}/token", a.issuer),
            a.client.clone(),
            a.secret.clone(),
            a.redirect_uri.clone(),
        );
        async move {
            let r = http
                .post(token_url)
                .basic_auth(client, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", codes[i].as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await?;
            let status = r.status();
            let v: serde_json::Value = r.json().await?;
            if !status.is_success() {
                bail!("token: {status} {v}");
            }
            Ok((
                v["access_token"].as_str().unwrap_or("").to_string(),
                v["refresh_token"].as_str().unwrap_or("").to_string(),
            ))
        }
    })
    .await?;
    phases.push(Phase {
        name: "token: code exchange",
        latencies: lat,
        wall,
    });

    // 3. Refresh chains: each worker rotates its own token in turn.
    let chains = a.concurrency.min(tokens.len());
    let started = Instant::now();
    let mut handles = Vec::new();
    for (_, refresh) in tokens.iter().take(chains).cloned() {
        let http = http.clone();
        let (token_url, client, secret) = (
            format!("{}/token", a.issuer),
            a.client.clone(),
            a.secret.clone(),
        );
        let n = a.refreshes;
        handles.push(tokio::spawn(async move {
            let mut current = refresh;
            let mut lat = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let r = http
                    .post(&token_url)
                    .basic_auth(&client, Some(&secret))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", current.as_str()),
                    ])
                    .send()
                    .await?;
                let status = r.status();
                let v: serde_json::Value = r.json().await?;
                if !status.is_success() {
                    bail!("refresh: {status} {v}");
                }
                lat.push(t.elapsed());
                current = v["refresh_token"].as_str().unwrap_or("").to_string();
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await??);
    }
    phases.push(Phase {
        name: "token: refresh (rotation)",
        latencies: lat,
        wall: started.elapsed(),
    });

    // 4. Userinfo.
    let access: Arc<Vec<String>> = Arc::new(tokens.iter().map(|(a, _)| a.clone()).collect());
    let (_, lat, wall) = run(a.userinfo, a.concurrency, |i| {
        let (http, access) = (http.clone(), access.clone());
        let url = format!("{}/userinfo", a.issuer);
        async move {
            let r = http
                .get(url)
                .bearer_auth(&access[i % access.len()])
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("userinfo: {}", r.status());
            }
            let _ = r.bytes().await?;
            Ok(())
        }
    })
    .await?;
    phases.push(Phase {
        name: "userinfo",
        latencies: lat,
        wall,
    });

    // 5. Sign-out → the app told by back channel.
    if let Some(listen) = a.backchannel_listen {
        phases.push(signouts(&http, &a, &authorize, listen).await?);
    }

    println!("| phase | requests | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for p in &mut phases {
        println!("{}", p.row());
    }
    Ok(())
}

/// Signs in at the provider with the password; the session cookie.
async fn sign_in(http: &reqwest::Client, a: &Args, authorize: &str) -> Result<String> {
    let page = http.get(authorize).send().await?;
    let csrf_cookie = cookie_of(&page, "portico_csrf").context("no CSRF cookie")?;
    let html = page.text().await?;
    let (csrf, request) = (
        input(&html, "csrf").context("no sign-in form")?,
        input(&html, "request").context("no request")?,
    );
    let r = http
        .post(format!("{}/signin", a.issuer))
        .header("cookie", format!("portico_csrf={csrf_cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
            ("username", a.user.as_str()),
            ("password", a.password.as_str()),
        ])
        .send()
        .await?;
    if r.status().as_u16() != 303 {
        bail!("sign-in answered {}", r.status());
    }
    let sso = cookie_of(&r, "portico_sso").context("no provider session cookie")?;
    Ok(format!("portico_sso={sso}"))
}

/// Sign-outs one after another: each a sign-in, a code and its ID token,
/// then the logout, timed until the logout token arrives at `listen`.
async fn signouts(
    http: &reqwest::Client,
    a: &Args,
    authorize: &str,
    listen: std::net::SocketAddr,
) -> Result<Phase> {
    if !listen.ip().is_loopback() {
        bail!("--backchannel-listen must be a loopback address");
    }
    let (told, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let app = axum::Router::new().route(
        "/bcl",
        axum::routing::post(move |body: String| {
            let told = told.clone();
            async move {
                if body.starts_with("logout_token=") {
                    let _ = told.send(Instant::now());
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lat = Vec::with_capacity(a.signouts);
    let started = Instant::now();
    for _ in 0..a.signouts {
        if Instant::now() > deadline {
            break;
        }
        let cookie = sign_in(http, a, authorize).await?;
        let r = http.get(authorize).header("cookie", &cookie).send().await?;
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let code = code_of(loc).context("no code in the redirect")?;
        let v: serde_json::Value = http
            .post(format!("{}/token", a.issuer))
            .basic_auth(&a.client, Some(&a.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", a.redirect_uri.as_str()),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await?
            .json()
            .await?;
        let id_token = v["id_token"].as_str().context("no ID token")?.to_string();
        // Whatever came late from an earlier round does not count.
        while arrivals.try_recv().is_ok() {}
        let t = Instant::now();
        let r = http
            .get(format!(
                "{}/logout?{}",
                a.issuer,
                form_urlencoded_pairs(&[("id_token_hint", &id_token)])
            ))
            .header("cookie", &cookie)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("logout answered {}", r.status());
        }
        let at = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
            .await
            .context("no logout token within 10 s")?
            .context("listener gone")?;
        lat.push(at.saturating_duration_since(t));
    }
    let wall = started.elapsed();
    server.abort();
    Ok(Phase {
        name: "sign-out → app told (back channel)",
        latencies: lat,
        wall,
    })
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
