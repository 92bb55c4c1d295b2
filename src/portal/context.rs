//! One client context from any vendor's external-portal redirect: the
//! profile says which query parameters carry what; this turns them into
//! validated values. Pure functions, no I/O.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::domain::MacAddr;
use crate::profiles::portal::{template_params, Handoff, PortalProfile};

/// Longest URL taken from a redirect (the AP's login URL or the page the
/// person wanted).
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientContext {
    pub profile: String,
    #[serde(with = "mac_text")]
    pub client_mac: MacAddr,
    pub client_ip: Option<IpAddr>,
    #[serde(with = "opt_mac_text")]
    pub ap_mac: Option<MacAddr>,
    pub ssid: Option<String>,
    /// Where the browser posts back (form handoffs); always http(s).
    pub login_url: Option<String>,
    /// The page the person asked for; always http(s) when present.
    pub original_url: Option<String>,
    /// MikroTik CHAP id and challenge bytes.
    pub chap_id: Option<u8>,
    pub chap_challenge: Option<Vec<u8>>,
    /// CoovaChilli challenge (16 bytes).
    pub challenge: Option<Vec<u8>>,
    /// The NAS the login URL leads to, once checked (see `trust`): the
    /// one-time credentials are bound to it.
    #[serde(default)]
    pub nas: Option<String>,
}

impl ClientContext {
    /// A context that knows only the device (its MAC and address), e.g.
    /// one found from the asking address rather than from a redirect.
    pub fn bare(profile: &str, client_mac: MacAddr, client_ip: Option<IpAddr>) -> ClientContext {
        ClientContext {
            profile: profile.to_string(),
            client_mac,
            client_ip,
            ap_mac: None,
            ssid: None,
            login_url: None,
            original_url: None,
            chap_id: None,
            chap_challenge: None,
            challenge: None,
            nas: None,
        }
    }
}

/// MACs travel as their canonical text.
mod mac_text {
    use super::*;

    pub fn serialize<S: serde::Serializer>(m: &MacAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(m)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let s = String::deserialize(d)?;
        MacAddr::parse(&s).map_err(serde::de::Error::custom)
    }
}

mod opt_mac_text {
    use super::*;

    pub fn serialize<S: serde::Serializer>(m: &Option<MacAddr>, s: S) -> Result<S::Ok, S::Error> {
        m.map(|m| m.to_string()).serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<MacAddr>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| MacAddr::parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Why a redirect could not be understood. The text goes to the log; the
/// page shows a plain message in the person's language and `code()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("the access point did not send the device address (parameter {0})")]
    MissingMac(String),
    #[error("parameter {name} is not a valid {what}")]
    Invalid { name: String, what: &'static str },
    #[error("the access point's login address is missing or not an http(s) link")]
    BadLoginUrl,
}

impl ContextError {
    /// The short code shown on the page for the helpdesk.
    pub fn code(&self) -> &'static str {
        match self {
            ContextError::MissingMac(_) => "PT-101",
            ContextError::Invalid { .. } => "PT-102",
            ContextError::BadLoginUrl => "PT-103",
        }
    }
}

fn first<'a>(query: &'a [(String, String)], names: &[String]) -> Option<(&'a str, &'a str)> {
    names.iter().find_map(|n| {
        query
            .iter()
            .find(|(k, v)| k == n && !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.trim()))
    })
}

/// Builds the context. `peer_mac` is the MAC resolved by the gateway (from
/// the neighbour table) when the redirect carries none. The login URL is
/// only checked for shape here; where it leads is `trust`'s question.
pub fn parse(
    profile_name: &str,
    p: &PortalProfile,
    query: &[(String, String)],
    peer_mac: Option<MacAddr>,
) -> Result<ClientContext, ContextError> {
    let invalid = |name: &str, what| ContextError::Invalid {
        name: name.to_string(),
        what,
    };
    let client_mac = match first(query, &p.client_mac) {
        Some((k, v)) => MacAddr::parse(v).map_err(|_| invalid(k, "MAC address"))?,
        None => peer_mac.ok_or_else(|| {
            ContextError::MissingMac(p.client_mac.first().cloned().unwrap_or_default())
        })?,
    };
    let client_ip = match first(query, &p.client_ip) {
        Some((k, v)) => Some(v.parse().map_err(|_| invalid(k, "IP address"))?),
        None => None,
    };
    let ap_mac = match first(query, &p.ap_mac) {
        // Some APs send "AP-MAC:SSID" (RFC 3580 Called-Station-Id style).
        Some((k, v)) => Some(
            MacAddr::parse(v)
                .or_else(|_| {
                    MacAddr::parse(v.split(':').take(6).collect::<Vec<_>>().join(":").as_str())
                })
                .or_else(|_| MacAddr::parse(v.split_once(':').map_or(v, |(a, _)| a)))
                .map_err(|_| invalid(k, "MAC address"))?,
        ),
        None => None,
    };
    let ssid = match first(query, &p.ssid) {
        Some((k, v)) => {
            if v.len() > 32 * 4 || v.chars().any(char::is_control) {
                return Err(invalid(k, "SSID"));
            }
            Some(v.to_string())
        }
        None => None,
    };
    // The page the person wanted is a courtesy: one that is too long or
    // not a plain web link is dropped, and sign-in goes on without it.
    let original_url = first(query, &p.original_url).and_then(|(_, v)| safe_url(v));
    let login_url = match &p.login_url_template {
        Some(t) => Some(fill_template(t, query).ok_or(ContextError::BadLoginUrl)?),
        None => match first(query, &p.login_url) {
            Some((_, v)) => Some(safe_url(v).ok_or(ContextError::BadLoginUrl)?),
            None => None,
        },
    };
    let needs_login_url = matches!(
        p.handoff,
        Handoff::FormPost | Handoff::CoovaUam | Handoff::MikrotikChap
    );
    if needs_login_url && login_url.is_none() {
        return Err(ContextError::BadLoginUrl);
    }
    let chap_id = match first(query, &p.chap_id) {
        Some((k, v)) => {
            let bytes = unescape_octal(v).ok_or_else(|| invalid(k, "CHAP id"))?;
            match bytes.as_slice() {
                [b] => Some(*b),
                _ => return Err(invalid(k, "CHAP id")),
            }
        }
        None => None,
    };
    let chap_challenge = match first(query, &p.chap_challenge) {
        Some((k, v)) => Some(
            unescape_octal(v)
                .filter(|b| !b.is_empty() && b.len() <= 64)
                .ok_or_else(|| invalid(k, "CHAP challenge"))?,
        ),
        None => None,
    };
    let challenge = match first(query, &p.challenge) {
        Some((k, v)) => Some(
            hex::decode(v)
                .ok()
                .filter(|b| b.len() == 16)
                .ok_or_else(|| invalid(k, "challenge"))?,
        ),
        None => None,
    };
    if p.handoff == Handoff::CoovaUam && challenge.is_none() {
        return Err(ContextError::Invalid {
            name: p.challenge.first().cloned().unwrap_or_default(),
            what: "challenge",
        });
    }
    Ok(ClientContext {
        profile: profile_name.to_string(),
        client_mac,
        client_ip,
        ap_mac,
        ssid,
        login_url,
        original_url,
        chap_id,
        chap_challenge,
        challenge,
        nas: None,
    })
}

/// An http(s) URL safe to show or follow, or None. A bare host such as
/// Cisco's `redirect=www.example.com/` gets `http://`. Anything with
/// another scheme (`javascript:`, `data:`), no host, white space, control
/// characters or markup characters is refused.
pub fn safe_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return None;
    }
    if raw
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\\' | '`'))
    {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    let url = if lower.starts_with("http://") || lower.starts_with("https://") {
        raw.to_string()
    } else if raw.contains("://")
        || raw.starts_with("//")
        || (raw.contains(':') && !host_port_like(raw))
    {
        return None;
    } else {
        format!("http://{raw}")
    };
    let host = url_host(&url)?;
    if host.is_empty() || host.starts_with('.') || host.contains('@') {
        return None;
    }
    Some(url)
}

/// `example.com:8080/path`: a colon that is a port, not a scheme.
fn host_port_like(s: &str) -> bool {
    let before_path = s.split('/').next().unwrap_or("");
    match before_path.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => true,
    }
}

/// Host part of an http(s) URL (without port and user info check).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return Some("@");
    }
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// Fills `{param}` placeholders from the query; None when one is missing
/// or the result is not a safe URL.
fn fill_template(t: &str, query: &[(String, String)]) -> Option<String> {
    let mut out = t.to_string();
    for name in template_params(t)? {
        let value = query.iter().find(|(k, _)| k == name)?.1.trim();
        // Values fill host and port positions: keep them to host characters.
        if value.is_empty()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return None;
        }
        out = out.replace(&format!("{{{name}}}"), value);
    }
    safe_url(&out)
}

/// MikroTik's `$(chap-id)` / `$(chap-challenge)`: octal escapes `\ooo`
/// mixed with plain characters.
pub fn unescape_octal(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let digits = b.get(i + 1..i + 4)?;
            if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                return None;
            }
            let v = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(v).ok()?);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::portal::FormMethod;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn cisco() -> PortalProfile {
        PortalProfile {
            handoff: Handoff::FormPost,
            client_mac: vec!["client_mac".into()],
            ap_mac: vec!["ap_mac".into()],
            ssid: vec!["wlan".into()],
            login_url: vec!["switch_url".into()],
            original_url: vec!["redirect".into()],
            redirect_field: Some("redirect_url".into()),
            ..PortalProfile::default()
        }
    }

    #[test]
    fn cisco_redirect() {
        let ctx = parse(
            "cisco-wlc",
            &cisco(),
            &q(&[
                ("switch_url", "https://192.0.2.1/login.html"),
                ("ap_mac", "00:11:22:33:44:55"),
                ("client_mac", "AA-BB-CC-DD-EE-FF"),
                ("wlan", "Office"),
                ("redirect", "www.example.com/news"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(ctx.client_mac.to_string(), "aa:bb:cc:dd:ee:ff");
        assert_eq!(
            ctx.login_url.as_deref(),
            Some("https://192.0.2.1/login.html")
        );
        assert_eq!(
            ctx.original_url.as_deref(),
            Some("http://www.example.com/news")
        );
        assert_eq!(ctx.ssid.as_deref(), Some("Office"));
    }

    #[test]
    fn missing_and_malformed_parameters_are_clear_errors() {
        let p = cisco();
        let e = parse("x", &p, &q(&[("switch_url", "http://a/")]), None).unwrap_err();
        assert!(matches!(e, ContextError::MissingMac(_)), "{e}");
        let e = parse(
            "x",
            &p,
            &q(&[("client_mac", "zz"), ("switch_url", "http://a/")]),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("client_mac"), "{e}");
        let e = parse("x", &p, &q(&[("client_mac", "aabbccddeeff")]), None).unwrap_err();
        assert_eq!(e, ContextError::BadLoginUrl);
        let e = parse(
            "x",
            &p,
            &q(&[
                ("client_mac", "aabbccddeeff"),
                ("switch_url", "javascript:alert(1)"),
            ]),
            None,
        )
        .unwrap_err();
        assert_eq!(e, ContextError::BadLoginUrl);
    }

    #[test]
    fn hostile_urls_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<b>",
            "//evil.example/",
            "http://a b/",
            "http://evil\"onmouseover=/",
            "http:///path",
            "ftp://x/",
            "http://user@evil/",
        ] {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
        for good in [
            "http://example.com/",
            "https://a.b:8443/x?y=1",
            "example.com:8080/x",
        ] {
            assert!(safe_url(good).is_some(), "{good}");
        }
        // An unusable original URL is dropped, not a reason to stop.
        let long = format!("http://example.com/{}", "a".repeat(2500));
        for bad in ["javascript:alert(1)", "http://x/\"a", long.as_str()] {
            let ctx = parse(
                "x",
                &PortalProfile::default(),
                &q(&[("client_mac", "aabbccddeeff"), ("url", bad)]),
                None,
            )
            .unwrap();
            assert_eq!(ctx.original_url, None, "{bad}");
        }
    }

    #[test]
    fn coova_template_and_challenge() {
        let p = PortalProfile {
            handoff: Handoff::CoovaUam,
            client_mac: vec!["mac".into()],
            login_url_template: Some("http://{uamip}:{uamport}/logon".into()),
            challenge: vec!["challenge".into()],
            form_method: FormMethod::Get,
            ..PortalProfile::default()
        };
        let ctx = parse(
            "coova",
            &p,
            &q(&[
                ("mac", "AA-BB-CC-DD-EE-FF"),
                ("uamip", "10.1.0.1"),
                ("uamport", "3990"),
                ("challenge", "00112233445566778899aabbccddeeff"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(ctx.login_url.as_deref(), Some("http://10.1.0.1:3990/logon"));
        assert_eq!(ctx.challenge.as_ref().map(Vec::len), Some(16));
        let e = parse(
            "coova",
            &p,
            &q(&[
                ("mac", "AA-BB-CC-DD-EE-FF"),
                ("uamip", "10.1.0.1/x"),
                ("uamport", "1"),
            ]),
            None,
        )
        .unwrap_err();
        assert_eq!(e, ContextError::BadLoginUrl);
    }

    #[test]
    fn octal_unescape() {
        assert_eq!(
            unescape_octal("\\001\\377ab"),
            Some(vec![1, 255, b'a', b'b'])
        );
        assert_eq!(unescape_octal("\\9"), None);
        assert_eq!(unescape_octal("\\400"), None);
    }
}
