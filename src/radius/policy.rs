//! Authorization policy: pure decisions on plain values. No sockets, no SQL.

use std::sync::Arc;

use radius::core::rfc2865::{CLASS_TYPE, FILTER_ID_TYPE, IDLE_TIMEOUT_TYPE, SESSION_TIMEOUT_TYPE};

use crate::profiles::Profile;
use crate::radius::request::Method;
use crate::radius::wire;
use crate::store::groups::Group;
use crate::store::users::User;

pub const ATTR_TUNNEL_TYPE: u8 = 64;
pub const ATTR_TUNNEL_MEDIUM_TYPE: u8 = 65;
pub const ATTR_TUNNEL_PRIVATE_GROUP_ID: u8 = 81;
const TUNNEL_TYPE_VLAN: u32 = 13;
const TUNNEL_MEDIUM_IEEE_802: u32 = 6;

/// Why a request was refused: logged and counted, never sent to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    UnknownUser,
    BadPassword,
    Disabled,
    Expired,
    MethodNotAllowed,
    NoNtHash,
    ChapNeedsClearSecret,
    UnknownMac,
    Malformed,
    EapNotEnabled,
    EapMalformed,
    EapUnexpected,
    EapMethodRefused,
    EapUnknownState,
    TlsFailed,
    CertificateNoUser,
    NoCredentials,
    OneTimeOtherClient,
    OneTimeOtherNas,
    InternalError,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::UnknownUser => "unknown user",
            RejectReason::BadPassword => "wrong password",
            RejectReason::Disabled => "account disabled",
            RejectReason::Expired => "account expired",
            RejectReason::MethodNotAllowed => "method not allowed for the user's groups",
            RejectReason::NoNtHash => "no NT hash stored for this account (MS-CHAPv2 is off for it)",
            RejectReason::ChapNeedsClearSecret => {
                "CHAP needs the clear password, which is not stored for staff accounts; use PAP or PEAP"
            }
            RejectReason::UnknownMac => "MAC address neither registered nor authorized",
            RejectReason::Malformed => "malformed credentials",
            RejectReason::EapNotEnabled => "EAP is not enabled on this server",
            RejectReason::EapMalformed => "malformed EAP message",
            RejectReason::EapUnexpected => "unexpected EAP message for this point of the conversation",
            RejectReason::EapMethodRefused => "no EAP method that both the device and the policy allow",
            RejectReason::EapUnknownState => "EAP conversation unknown, expired or already finished",
            RejectReason::TlsFailed => {
                "TLS handshake failed (client certificate not trusted or revoked, or a protocol error)"
            }
            RejectReason::CertificateNoUser => "the client certificate names no user account",
            RejectReason::NoCredentials => "no credentials in request",
            RejectReason::OneTimeOtherClient => {
                "one-time credentials issued for another client MAC (Calling-Station-Id)"
            }
            RejectReason::OneTimeOtherNas => "one-time credentials issued for another NAS",
            RejectReason::InternalError => "internal error",
        }
    }
}

impl RejectReason {
    /// The MS-CHAPv2 failure code the peer is told (RFC 2759 section 6),
    /// the same for PEAP and TTLS/EAP-MSCHAPv2, so that the user's device
    /// says "account disabled" or "password expired" where that is why.
    pub fn mschap_error(self) -> u32 {
        match self {
            RejectReason::Disabled => 647,
            RejectReason::Expired => 648,
            RejectReason::MethodNotAllowed => 649,
            _ => 691,
        }
    }
}

/// Account-level checks before any password work.
pub fn check_account(user: &User, now_ms: i64) -> Result<(), RejectReason> {
    if !user.enabled {
        return Err(RejectReason::Disabled);
    }
    if user.valid_until.is_some_and(|t| t <= now_ms) {
        return Err(RejectReason::Expired);
    }
    Ok(())
}

/// A group that lists allowed methods limits its members to them.
pub fn method_allowed(groups: &[Arc<Group>], method: Method) -> bool {
    groups.iter().all(|g| {
        g.allowed_methods.is_empty()
            || g.allowed_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method.as_str()))
    })
}

/// EAP methods by name (`peap`, `ttls`, `eap-tls`): a group that lists
/// methods must list this one or `eap`.
pub fn eap_method_allowed(groups: &[Arc<Group>], name: &str) -> bool {
    groups.iter().all(|g| {
        g.allowed_methods.is_empty()
            || g.allowed_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(name) || m.eq_ignore_ascii_case("eap"))
    })
}

/// What an accepted request is granted.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Groups in the order they apply: the first group that sets a value wins.
    pub groups: Vec<Arc<Group>>,
    /// Upper bound on Session-Timeout in seconds (account expiry, portal
    /// authorization's time left).
    pub session_limit: Option<u32>,
}

/// Seconds until `until_ms`, for Session-Timeout (at least 1).
pub fn seconds_left(until_ms: i64, now_ms: i64) -> u32 {
    let secs = (until_ms - now_ms).max(1000) / 1000;
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// Reply attributes of an Access-Accept: VLAN, timeouts, Filter-Id, Class
/// and vendor attributes through the NAS's profile. Attributes a profile
/// cannot encode are left out and reported back for the log.
pub fn reply_attributes(grant: &Grant, profile: Option<&Profile>) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let first = |f: fn(&Group) -> Option<&String>| grant.groups.iter().find_map(|g| f(g).cloned());

    if let Some(vlan) = first(|g| g.vlan.as_ref()) {
        // Tagged integers carry the tag in the first octet (RFC 2868); tag 0.
        let _ = wire::push_attribute(&mut out, ATTR_TUNNEL_TYPE, &TUNNEL_TYPE_VLAN.to_be_bytes());
        let _ = wire::push_attribute(
            &mut out,
            ATTR_TUNNEL_MEDIUM_TYPE,
            &TUNNEL_MEDIUM_IEEE_802.to_be_bytes(),
        );
        if wire::push_attribute(&mut out, ATTR_TUNNEL_PRIVATE_GROUP_ID, vlan.as_bytes()).is_err() {
            problems.push(format!("VLAN {vlan:?} too long"));
        }
    }
    let group_timeout = grant.groups.iter().filter_map(|g| g.session_timeout).min();
    let session_timeout = match (group_timeout, grant.session_limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = session_timeout {
        let _ = wire::push_attribute(&mut out, SESSION_TIMEOUT_TYPE, &t.to_be_bytes());
    }
    if let Some(t) = grant.groups.iter().find_map(|g| g.idle_timeout) {
        let _ = wire::push_attribute(&mut out, IDLE_TIMEOUT_TYPE, &t.to_be_bytes());
    }
    if let Some(f) = first(|g| g.filter_id.as_ref()) {
        if wire::push_attribute(&mut out, FILTER_ID_TYPE, f.as_bytes()).is_err() {
            problems.push("Filter-Id too long".into());
        }
    }
    if let Some(c) = first(|g| g.class.as_ref()) {
        if wire::push_attribute(&mut out, CLASS_TYPE, c.as_bytes()).is_err() {
            problems.push("Class too long".into());
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for group in &grant.groups {
        for (name, value) in &group.reply_attributes {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                continue;
            }
            seen.push(name);
            let Some(profile) = profile else {
                problems.push(format!("{name}: NAS has no profile"));
                continue;
            };
            match profile.encode_reply_attribute(name, value) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {

    #[test]
    fn one_mschapv2_failure_code_per_reason_for_peap_and_ttls() {
        assert_eq!(RejectReason::Disabled.mschap_error(), 647);
        assert_eq!(RejectReason::Expired.mschap_error(), 648);
        assert_eq!(RejectReason::MethodNotAllowed.mschap_error(), 649);
        assert_eq!(RejectReason::BadPassword.mschap_error(), 691);
        assert_eq!(RejectReason::UnknownUser.mschap_error(), 691);
    }

    use super::*;

    fn group(name: &str) -> Group {
        Group {
            name: name.into(),
            vlan: None,
            session_timeout: None,
            idle_timeout: None,
            filter_id: None,
            class: None,
            reply_attributes: vec![],
            allowed_methods: vec![],
        }
    }

    fn user() -> User {
        User {
            id: 1,
            username: "alice".into(),
            display_name: None,
            password_hash: None,
            nt_hash: None,
            enabled: true,
            valid_until: None,
            groups: vec![],
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn account_checks() {
        let mut u = user();
        assert!(check_account(&u, 10).is_ok());
        u.valid_until = Some(10);
        assert_eq!(check_account(&u, 10), Err(RejectReason::Expired));
        u.valid_until = None;
        u.enabled = false;
        assert_eq!(check_account(&u, 10), Err(RejectReason::Disabled));
    }

    #[test]
    fn vlan_timeouts_first_group_wins_min_timeout() {
        let mut staff = group("staff");
        staff.vlan = Some("20".into());
        staff.session_timeout = Some(28800);
        staff.filter_id = Some("staff-acl".into());
        let mut guests = group("guests");
        guests.vlan = Some("99".into());
        guests.session_timeout = Some(3600);
        guests.idle_timeout = Some(600);
        let grant = Grant {
            groups: vec![Arc::new(staff), Arc::new(guests)],
            session_limit: Some(7200),
        };
        let (attrs, problems) = reply_attributes(&grant, None);
        assert!(problems.is_empty());
        let mut expected = Vec::new();
        wire::push_attribute(&mut expected, 64, &13u32.to_be_bytes()).unwrap();
        wire::push_attribute(&mut expected, 65, &6u32.to_be_bytes()).unwrap();
        wire::push_attribute(&mut expected, 81, b"20").unwrap();
        wire::push_attribute(&mut expected, 27, &3600u32.to_be_bytes()).unwrap();
        wire::push_attribute(&mut expected, 28, &600u32.to_be_bytes()).unwrap();
        wire::push_attribute(&mut expected, 11, b"staff-acl").unwrap();
        assert_eq!(attrs, expected);
    }

    #[test]
    fn methods_limited_by_groups() {
        let mut g = group("pap-only");
        g.allowed_methods = vec!["PAP".into()];
        let groups = vec![Arc::new(g)];
        assert!(method_allowed(&groups, Method::Pap));
        assert!(!method_allowed(&groups, Method::MsChapV2));
        assert!(method_allowed(&[], Method::MsChapV2));
    }

    #[test]
    fn seconds_left_is_positive() {
        assert_eq!(seconds_left(10_000, 0), 10);
        assert_eq!(seconds_left(0, 10_000), 1);
    }

    #[test]
    fn vendor_attribute_without_profile_is_reported() {
        let mut g = group("x");
        g.reply_attributes = vec![("Aruba-User-Role".into(), "staff".into())];
        let (attrs, problems) = reply_attributes(
            &Grant {
                groups: vec![Arc::new(g)],
                session_limit: None,
            },
            None,
        );
        assert!(attrs.is_empty());
        assert_eq!(problems.len(), 1);
    }
}
