//! Helpers for the portal tests: a small HTTP/1.1 client with a cookie jar,
//! form field extraction, and the RADIUS requests a simulated AP sends.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use portico::radius::wire;

use crate::helpers::*;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A TCP connection to `addr` from the loopback address `from` (tests
/// play many clients on 127.0.0.0/8), or from the default address.
pub fn connect_from(addr: SocketAddr, from: Option<IpAddr>) -> TcpStream {
    let Some(from) = from else {
        return TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    };
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::new(from, 0).into())
        .expect("bind the client address");
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(5))
        .expect("connect");
    socket.into()
}

/// One request over a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> Resp {
    request_from(addr, None, method, path, headers, body)
}

/// One request over a fresh connection from the client address `from`.
pub fn request_from(
    addr: SocketAddr,
    from: Option<IpAddr>,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> Resp {
    let mut s = connect_from(addr, from);
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A browser without JavaScript: cookies and forms.
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
    pub lang: &'static str,
    /// The client's own address (default: 127.0.0.1).
    pub from: Option<IpAddr>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            cookies: BTreeMap::new(),
            lang: "en",
            from: None,
        }
    }

    /// A browser on another loopback address, e.g. "127.0.0.7".
    pub fn from_ip(addr: SocketAddr, ip: &str) -> Browser {
        Browser {
            from: Some(ip.parse().expect("client address")),
            ..Browser::new(addr)
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Accept-Language", self.lang.to_string())];
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            h.push(("Cookie", c.join("; ")));
        }
        h
    }

    fn keep(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let first = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = first.split_once('=') {
                    if value.is_empty() {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), value.to_string());
                    }
                }
            }
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        let r = request_from(self.addr, self.from, "GET", path, &self.headers(), None);
        self.keep(&r);
        r
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = encode_form(fields);
        let r = request_from(
            self.addr,
            self.from,
            "POST",
            path,
            &self.headers(),
            Some(&body),
        );
        self.keep(&r);
        r
    }
}

pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub use portico::http_client::pct;

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The value of the (first) input named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

/// `action` of the form with the given id.
pub fn form_action(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let a = rest.find("action=\"")? + "action=\"".len();
    let end = rest[a..].find('"')? + a;
    Some(unescape(&rest[a..end]))
}

/// Access-Request for MAC authentication as most APs send it.
pub fn mac_auth(server: SocketAddr, mac: &str) -> Option<Vec<u8>> {
    let (req, _) = pap_request(1, mac, mac, SECRET, &[(31, mac.as_bytes())]);
    RawClient::new(server).exchange(&req)
}

/// PAP Access-Request with the client's MAC as Calling-Station-Id.
pub fn pap_auth(server: SocketAddr, user: &str, password: &str, mac: &str) -> Option<Vec<u8>> {
    let (req, _) = pap_request(2, user, password, SECRET, &[(31, mac.as_bytes())]);
    RawClient::new(server).exchange(&req)
}

/// CHAP Access-Request (CHAP-Challenge given).
pub fn chap_auth(
    server: SocketAddr,
    user: &str,
    chap_password: &[u8],
    challenge: &[u8],
    mac: &str,
) -> Option<Vec<u8>> {
    let mut attrs = Vec::new();
    wire::push_attribute(&mut attrs, 1, user.as_bytes()).unwrap();
    wire::push_attribute(&mut attrs, 3, chap_password).unwrap();
    wire::push_attribute(&mut attrs, 60, challenge).unwrap();
    wire::push_attribute(&mut attrs, 31, mac.as_bytes()).unwrap();
    let req = wire::encode_request(
        1,
        3,
        &wire::random_authenticator(),
        &attrs,
        SECRET.as_bytes(),
    )
    .unwrap();
    RawClient::new(server).exchange(&req)
}

pub fn accepted(reply: &Option<Vec<u8>>) -> bool {
    reply.as_ref().and_then(|r| r.first()) == Some(&2)
}

pub fn session_timeout(reply: &Option<Vec<u8>>) -> Option<u32> {
    let r = reply.as_ref()?;
    let v = wire::find_attribute(r, 27)?;
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

/// Accounting Start for the client, as the AP sends it once the client is in.
pub fn acct_start(server: SocketAddr, mac: &str, session: &str) {
    let req = acct_request(9, 1, session, mac, SECRET, &[(31, mac.as_bytes())]);
    let reply = RawClient::new(server).exchange(&req);
    assert!(reply.is_some(), "no Accounting-Response");
}

/// Accounting Start that reports the client's address (Framed-IP-Address),
/// as APs do for guests before sign-in; dated a minute ago
/// (Event-Timestamp), when the device associated.
pub fn acct_start_at(server: SocketAddr, mac: &str, session: &str, ip: &str) {
    let ip: std::net::Ipv4Addr = ip.parse().expect("IPv4");
    let minute_ago = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 60) as u32;
    let req = acct_request(
        9,
        1,
        session,
        mac,
        SECRET,
        &[
            (31, mac.as_bytes()),
            (8, &ip.octets()),
            (55, &minute_ago.to_be_bytes()),
        ],
    );
    let reply = RawClient::new(server).exchange(&req);
    assert!(reply.is_some(), "no Accounting-Response");
}

/// PAP Access-Request sent from the NAS address `from`.
pub fn pap_auth_from(
    server: SocketAddr,
    from: &str,
    user: &str,
    password: &str,
    mac: &str,
) -> Option<Vec<u8>> {
    let (req, _) = pap_request(2, user, password, SECRET, &[(31, mac.as_bytes())]);
    RawClient::bound(server, from).exchange(&req)
}
