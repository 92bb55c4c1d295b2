//! Portal load figures for BENCHMARKS.md (ignored by default; run with
//! `cargo test --release --test it portal_bench -- --ignored --nocapture`).
//! A closed-loop loopback load tool: N keep-alive connections, each
//! sending its next request when the last answer arrived.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::portal::portal_env;
use crate::portal_support::*;

struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).ok();
        Conn {
            r: BufReader::new(s),
        }
    }

    /// One request on the kept-alive connection; (status, set-cookie, body).
    async fn send(&mut self, req: &str) -> (u16, Vec<String>, String) {
        self.r
            .get_mut()
            .write_all(req.as_bytes())
            .await
            .expect("write");
        let mut status = 0;
        let mut len = 0usize;
        let mut cookies = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.r.read_line(&mut line).await.expect("read");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if status == 0 {
                status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
            } else if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("set-cookie") {
                    cookies.push(v.trim().split(';').next().unwrap_or("").to_string());
                }
            }
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).await.expect("body");
        (status, cookies, String::from_utf8_lossy(&body).into_owned())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut lat: Vec<Duration>, elapsed: Duration) {
    lat.sort();
    println!(
        "{what}: {} requests in {:.1}s = {:.0}/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn mac_of(i: usize) -> String {
    format!(
        "02-00-00-{:02X}-{:02X}-{:02X}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly"]
async fn portal_bench() {
    let conns = env_usize("PORTAL_BENCH_CONNS", 500);
    let secs = env_usize("PORTAL_BENCH_SECS", 10) as u64;
    let signins = env_usize("PORTAL_BENCH_SIGNINS", 3000);
    let mut env = portal_env(&Db::Sqlite);
    env.set("PORTICO_PORTAL__ATTEMPTS_PER_IP_PER_MINUTE", "100000000");
    env.set("PORTICO_PORTAL__ATTEMPTS_PER_MAC_PER_MINUTE", "100000000");
    env.set("PORTICO_LOG", "warn");
    let out = env.cli_ok(
        &[
            "voucher",
            "create",
            "--count",
            &signins.to_string(),
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let codes: Arc<Vec<String>> = Arc::new(
        v["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
    );
    let server = env.start();
    let addr = server.http;

    // 1. Landing page under `conns` concurrent keep-alive connections. The
    //    first fifth (at most 2 s: the connection set-up burst) is not counted.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let counted_from = start + (Duration::from_secs(secs) / 5).min(Duration::from_secs(2));
    let mut tasks = Vec::new();
    for i in 0..conns {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            let req = format!(
                "GET /portal/generic?ap_mac=00:11:22:33:44:55&client_ip=127.0.0.1&client_mac={}&url=http%3A%2F%2Fexample.com%2F&ssid=Office HTTP/1.1\r\nHost: bench\r\nAccept-Language: zh-CN\r\n\r\n",
                mac_of(i)
            );
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, _, _) = c.send(&req).await;
                assert_eq!(status, 200);
                if t >= counted_from {
                    lat.push(t.elapsed());
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    report(
        &format!("landing page, {conns} connections (after warm-up)"),
        all,
        deadline.saturating_duration_since(counted_from),
    );

    // 2. Voucher sign-ins, full flow to the authorization stored (landing
    //    for the CSRF cookie and context, then the POST), 50 at a time.
    let workers = 50usize.min(signins);
    let per = signins / workers;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let codes = codes.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            let mut lat = Vec::new();
            for k in 0..per {
                let i = w * per + k;
                let mac = mac_of(100_000 + i);
                let (_, cookies, body) = c
                    .send(&format!("GET /portal/generic?client_ip=127.0.0.1&client_mac={mac} HTTP/1.1\r\nHost: bench\r\n\r\n"))
                    .await;
                let csrf = input_value(&body, "csrf").unwrap();
                let ctx = input_value(&body, "ctx").unwrap();
                let form = encode_form(&[("csrf", &csrf), ("ctx", &ctx), ("code", &codes[i])]);
                let t = Instant::now();
                let (status, _, _) = c
                    .send(&format!(
                        "POST /portal/generic/voucher HTTP/1.1\r\nHost: bench\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                        cookies.join("; "),
                        form.len()
                    ))
                    .await;
                assert_eq!(status, 303);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    report(
        "voucher sign-ins (POST, authorization + session stored)",
        all,
        start.elapsed(),
    );

    // 3. Staff sign-ins: bounded by argon2id (m=19 MiB, t=2, p=1).
    let n = env_usize("PORTAL_BENCH_STAFF", 200);
    let workers = 8usize;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            let mut lat = Vec::new();
            for k in 0..n / workers {
                let mac = mac_of(200_000 + w * 1000 + k);
                let (_, cookies, body) = c
                    .send(&format!("GET /portal/generic?client_ip=127.0.0.1&client_mac={mac} HTTP/1.1\r\nHost: bench\r\n\r\n"))
                    .await;
                let csrf = input_value(&body, "csrf").unwrap();
                let ctx = input_value(&body, "ctx").unwrap();
                let form = encode_form(&[("csrf", &csrf), ("ctx", &ctx), ("username", "alice"), ("password", "correct horse battery")]);
                let t = Instant::now();
                let (status, _, _) = c
                    .send(&format!(
                        "POST /portal/generic/staff HTTP/1.1\r\nHost: bench\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                        cookies.join("; "),
                        form.len()
                    ))
                    .await;
                assert_eq!(status, 303);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    report(
        "staff sign-ins (POST, argon2id verify + authorization stored)",
        all,
        start.elapsed(),
    );
}
