//! What the portal checks before it issues anything. A redirect's MAC, IP
//! and login URL are claims made by whoever sent the link:
//!
//! - the login URL that one-time credentials are posted to must lead to a
//!   configured NAS (or a host the admin listed in
//!   `portal.allowed_login_hosts`), and the credentials are bound to that
//!   NAS and to the client MAC;
//! - where Portico itself lets a MAC in (RADIUS MAC authentication,
//!   gateway mode), the browser must be that device: its address is the
//!   redirect's client IP, or the address the NAS reported for the MAC in
//!   accounting, or (gateway) the MAC's neighbour entry.
//!
//! The decisions (`client_addr`, `nas_for_address`, `judge_client`) are
//! pure; the async functions gather the facts (NAS list, DNS, accounting,
//! neighbour table).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::Semaphore;

use super::context::{url_host, ClientContext};
use super::PortalState;
use crate::config::portal::ClientCheck;
use crate::domain::canonical_ip;
use crate::domain::MacAddr;
use crate::profiles::portal::Handoff;
use crate::store::nas::Nas;
use crate::store::AcctSession;

/// Addresses taken from X-Forwarded-For at most (right to left).
const MAX_FORWARDED_HOPS: usize = 16;
/// DNS look-ups of login hosts under way at once, and how long each may take.
pub const DNS_LOOKUPS: usize = 8;
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the portal refused to go on; the page shows `code()` for the
/// helpdesk, the log the whole text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("login URL host {host:?} is no configured NAS and not in portal.allowed_login_hosts")]
    LoginHostNotNas { host: String },
    #[error("login URL host {host:?} could not be looked up")]
    LoginHostUnresolved { host: String },
    #[error("the browser at {peer} is not the device {mac}: the redirect or accounting puts that device at {expected}")]
    ClientMismatch {
        peer: IpAddr,
        mac: MacAddr,
        expected: String,
    },
    #[error("cannot tell whether the browser at {peer} is the device {mac}: no client IP in the redirect, no address in accounting, no neighbour entry")]
    ClientUnverifiable { peer: IpAddr, mac: MacAddr },
    #[error("no client address on the connection")]
    NoPeer,
}

impl Refusal {
    /// The short code shown on the page.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::LoginHostNotNas { .. } => "PT-301",
            Refusal::LoginHostUnresolved { .. } => "PT-302",
            Refusal::ClientMismatch { .. } => "PT-311",
            Refusal::ClientUnverifiable { .. } => "PT-312",
            Refusal::NoPeer => "PT-313",
        }
    }

    /// Whether the person can fix it by opening the page on the device.
    pub fn is_client(&self) -> bool {
        !matches!(
            self,
            Refusal::LoginHostNotNas { .. } | Refusal::LoginHostUnresolved { .. }
        )
    }
}

/// The HTTP client's address: the connection's peer, or, when the peer is
/// a trusted reverse proxy, the right-most X-Forwarded-For address that is
/// not one (each proxy appends the address it got the request from, so
/// only the hops added by trusted proxies can be believed).
pub fn client_addr(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = canonical_ip(peer?);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut addr = peer;
    for hop in forwarded_for
        .unwrap_or("")
        .rsplit(',')
        .take(MAX_FORWARDED_HOPS)
    {
        // Garbage ends the walk: what was reached so far is what we know.
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        addr = canonical_ip(ip);
        if !is_trusted(&addr) {
            break;
        }
    }
    Some(addr)
}

/// The NAS whose address or prefix holds `ip`, the most specific first.
pub fn nas_for_address(nases: &[Nas], ip: IpAddr) -> Option<&Nas> {
    let ip = canonical_ip(ip);
    nases
        .iter()
        .filter(|n| n.address.contains(&ip))
        .max_by_key(|n| n.address.prefix_len())
}

/// Where a login URL leads: the NAS it belongs to (None for a host the
/// admin allowed that is no NAS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginTarget {
    pub nas: Option<String>,
}

/// Checks the host of the login URL against the NAS list (resolving a
/// name, bounded in time and in look-ups at once), then against
/// `portal.allowed_login_hosts`.
pub async fn check_login_url(
    state: &PortalState,
    url: &str,
    dns: &Arc<Semaphore>,
) -> Result<LoginTarget, Refusal> {
    let host = url_host(url).unwrap_or("").to_string();
    let allowed = state
        .config
        .allowed_login_hosts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&host));
    let nases = match state.store.nas().list().await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "portal: cannot read the NAS list");
            Vec::new()
        }
    };
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) if host.is_empty() => Vec::new(),
        Err(_) => match lookup(&host, dns).await {
            Some(a) => a,
            None if allowed => Vec::new(),
            None => return Err(Refusal::LoginHostUnresolved { host }),
        },
    };
    if let Some(nas) = addresses.iter().find_map(|a| nas_for_address(&nases, *a)) {
        return Ok(LoginTarget {
            nas: Some(nas.name.clone()),
        });
    }
    if allowed {
        return Ok(LoginTarget { nas: None });
    }
    Err(Refusal::LoginHostNotNas { host })
}

async fn lookup(host: &str, dns: &Arc<Semaphore>) -> Option<Vec<IpAddr>> {
    let Ok(_permit) = dns.clone().try_acquire_owned() else {
        tracing::info!(host, "portal: too many login-host look-ups under way");
        return None;
    };
    let found = tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((host, 0u16))).await;
    match found {
        Ok(Ok(addrs)) => Some(addrs.map(|a| a.ip()).collect()),
        _ => None,
    }
}

/// What is known about where the device is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFacts {
    /// The browser's address.
    pub peer: Option<IpAddr>,
    /// The client IP the redirect carried.
    pub redirect_ip: Option<IpAddr>,
    /// Addresses the NAS reported for the MAC (open accounting sessions).
    pub accounting_ips: Vec<IpAddr>,
    /// Gateway mode: the MAC the neighbour table has for the browser's
    /// address (Some(None): looked up, not found).
    pub neighbour_mac: Option<Option<MacAddr>>,
}

/// How the browser was shown to be the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    RedirectIp,
    AccountingIp,
    Neighbour,
    /// The NAS checks it (form post-back profiles), or `client_check = "off"`.
    LeftToNas,
    Unchecked,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::RedirectIp => "client IP matches the redirect",
            Evidence::AccountingIp => "client IP matches accounting",
            Evidence::Neighbour => "MAC matches the neighbour table",
            Evidence::LeftToNas => "the NAS checks the client",
            Evidence::Unchecked => "client check off",
        }
    }
}

/// The decision on plain facts.
pub fn judge_client(mac: MacAddr, facts: &ClientFacts) -> Result<Evidence, Refusal> {
    let Some(peer) = facts.peer.map(canonical_ip) else {
        return Err(Refusal::NoPeer);
    };
    if let Some(found) = facts.neighbour_mac {
        return match found {
            Some(m) if m == mac => Ok(Evidence::Neighbour),
            Some(m) => Err(Refusal::ClientMismatch {
                peer,
                mac,
                expected: format!("the address of {m}"),
            }),
            None => Err(Refusal::ClientUnverifiable { peer, mac }),
        };
    }
    // The NAS's report (accounting, signed with its shared secret) wins
    // over the link's claim: a crafted link may carry the browser's own
    // address next to another device's MAC.
    if !facts.accounting_ips.is_empty() {
        if facts
            .accounting_ips
            .iter()
            .any(|ip| canonical_ip(*ip) == peer)
        {
            return Ok(Evidence::AccountingIp);
        }
        let expected: Vec<String> = facts
            .accounting_ips
            .iter()
            .map(|ip| ip.to_string())
            .collect();
        return Err(Refusal::ClientMismatch {
            peer,
            mac,
            expected: expected.join(", "),
        });
    }
    match facts.redirect_ip.map(canonical_ip) {
        Some(ip) if ip == peer => Ok(Evidence::RedirectIp),
        Some(ip) => Err(Refusal::ClientMismatch {
            peer,
            mac,
            expected: ip.to_string(),
        }),
        None => Err(Refusal::ClientUnverifiable { peer, mac }),
    }
}

/// The result of the client check, with the accounting sessions read for
/// it (they also say which NAS holds the client).
#[derive(Debug, Clone)]
pub struct Checked {
    pub evidence: Evidence,
    pub sessions: Vec<AcctSession>,
}

/// Checks that the browser at `peer` is the device `ctx` names, where
/// Portico itself lets the MAC in.
pub async fn verify_client(
    state: &PortalState,
    ctx: &ClientContext,
    peer: Option<IpAddr>,
    now_ms: i64,
) -> Result<Checked, Refusal> {
    let handoff = state
        .profiles
        .get(&ctx.profile)
        .map(|p| p.portal.handoff)
        .unwrap_or(Handoff::RadiusMac);
    if !matches!(handoff, Handoff::RadiusMac | Handoff::Gateway) {
        return Ok(Checked {
            evidence: Evidence::LeftToNas,
            sessions: Vec::new(),
        });
    }
    let sessions = state
        .store
        .accounting()
        .open_sessions_for_mac(
            &ctx.client_mac.to_string(),
            now_ms - super::signin::OPEN_SESSION_HORIZON_MS,
        )
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "portal: cannot read accounting for the client check");
            Vec::new()
        });
    let checked = |evidence| Checked {
        evidence,
        sessions: sessions.clone(),
    };
    if state.config.client_check == ClientCheck::Off {
        return Ok(checked(Evidence::Unchecked));
    }
    let neighbour_mac = match (handoff, peer, &state.gateway) {
        (Handoff::Gateway, Some(ip), Some(_)) => Some(crate::gateway::neigh::lookup(ip).await),
        _ => None,
    };
    let facts = ClientFacts {
        peer,
        redirect_ip: ctx.client_ip,
        accounting_ips: sessions
            .iter()
            .filter_map(|s| s.framed_ip.as_deref()?.parse().ok())
            .collect(),
        neighbour_mac,
    };
    let evidence = judge_client(ctx.client_mac, &facts)?;
    Ok(checked(evidence))
}

/// The check on the landing page, there to tell a person early: a browser
/// at the redirect's client IP is shown the forms without a store read
/// (the landing is the portal's hottest page); the sign-in then runs
/// `verify_client` in full, where the NAS's accounting can still overrule
/// the link.
pub async fn precheck_client(
    state: &PortalState,
    ctx: &ClientContext,
    peer: Option<IpAddr>,
    now_ms: i64,
) -> Result<(), Refusal> {
    let same = |a: Option<IpAddr>| a.map(canonical_ip);
    if ctx.client_ip.is_some() && same(ctx.client_ip) == same(peer) {
        return Ok(());
    }
    verify_client(state, ctx, peer, now_ms).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let proxies = nets(&["10.9.0.0/24"]);
        // Not from a proxy: the header is the client's own claim.
        assert_eq!(
            client_addr(Some(ip("192.0.2.5")), Some("198.51.100.1"), &proxies),
            Some(ip("192.0.2.5"))
        );
        // From the proxy: the right-most untrusted hop.
        assert_eq!(
            client_addr(
                Some(ip("10.9.0.2")),
                Some("203.0.113.9, 192.0.2.5, 10.9.0.1"),
                &proxies
            ),
            Some(ip("192.0.2.5"))
        );
        // Garbage or nothing: the proxy's own address, which matches no client.
        assert_eq!(
            client_addr(Some(ip("10.9.0.2")), Some("nonsense"), &proxies),
            Some(ip("10.9.0.2"))
        );
        assert_eq!(
            client_addr(Some(ip("10.9.0.2")), None, &proxies),
            Some(ip("10.9.0.2"))
        );
        assert_eq!(
            client_addr(Some(ip("::ffff:192.0.2.5")), None, &[]),
            Some(ip("192.0.2.5"))
        );
        assert_eq!(client_addr(None, Some("192.0.2.5"), &proxies), None);
        let long = vec!["10.9.0.3"; 100].join(",");
        assert_eq!(
            client_addr(Some(ip("10.9.0.2")), Some(&long), &proxies),
            Some(ip("10.9.0.3"))
        );
    }

    fn nas(name: &str, net: &str) -> Nas {
        Nas {
            id: 1,
            name: name.into(),
            address: net.parse().unwrap(),
            secret: "s".into(),
            profile: "generic".into(),
            coa_port: 3799,
            require_message_authenticator: true,
            created_at: 0,
        }
    }

    #[test]
    fn most_specific_nas_wins() {
        let list = [nas("floor", "10.1.0.0/16"), nas("wlc", "10.1.0.5/32")];
        assert_eq!(nas_for_address(&list, ip("10.1.0.5")).unwrap().name, "wlc");
        assert_eq!(
            nas_for_address(&list, ip("10.1.3.5")).unwrap().name,
            "floor"
        );
        assert!(nas_for_address(&list, ip("10.2.0.1")).is_none());
        assert_eq!(
            nas_for_address(&list, ip("::ffff:10.1.0.5")).unwrap().name,
            "wlc"
        );
    }

    #[test]
    fn client_judgement() {
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let other = MacAddr([2, 0, 0, 0, 0, 2]);
        let facts = |peer: &str, redirect: Option<&str>, acct: &[&str]| ClientFacts {
            peer: Some(ip(peer)),
            redirect_ip: redirect.map(ip),
            accounting_ips: acct.iter().map(|a| ip(a)).collect(),
            neighbour_mac: None,
        };
        assert_eq!(
            judge_client(mac, &facts("10.0.0.9", Some("10.0.0.9"), &[])),
            Ok(Evidence::RedirectIp)
        );
        assert_eq!(
            judge_client(mac, &facts("10.0.0.9", None, &["10.0.0.7", "10.0.0.9"])),
            Ok(Evidence::AccountingIp)
        );
        // The redirect names another address, and accounting does not help.
        assert!(matches!(
            judge_client(mac, &facts("10.0.0.66", Some("10.0.0.9"), &["10.0.0.9"])),
            Err(Refusal::ClientMismatch { .. })
        ));
        // A crafted link naming the browser's own address does not beat
        // what the NAS reported for the MAC.
        assert!(matches!(
            judge_client(mac, &facts("10.0.0.66", Some("10.0.0.66"), &["10.0.0.9"])),
            Err(Refusal::ClientMismatch { .. })
        ));
        assert!(matches!(
            judge_client(mac, &facts("10.0.0.66", Some("10.0.0.9"), &[])),
            Err(Refusal::ClientMismatch { .. })
        ));
        // Nothing known: unverifiable, never a pass.
        assert!(matches!(
            judge_client(mac, &facts("10.0.0.66", None, &[])),
            Err(Refusal::ClientUnverifiable { .. })
        ));
        assert_eq!(
            judge_client(mac, &ClientFacts::default()),
            Err(Refusal::NoPeer)
        );
        // Gateway: the neighbour table decides, whatever the redirect says.
        let mut g = facts("10.0.0.9", Some("10.0.0.9"), &[]);
        g.neighbour_mac = Some(Some(mac));
        assert_eq!(judge_client(mac, &g), Ok(Evidence::Neighbour));
        g.neighbour_mac = Some(Some(other));
        assert!(matches!(
            judge_client(mac, &g),
            Err(Refusal::ClientMismatch { .. })
        ));
        g.neighbour_mac = Some(None);
        assert!(matches!(
            judge_client(mac, &g),
            Err(Refusal::ClientUnverifiable { .. })
        ));
    }
}
