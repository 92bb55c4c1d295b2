//! Adapter: a structurally checked Access-Request's bytes to plain values.
//! Borrowed slices, no allocation: this runs for every request.

use radius::core::rfc2865::{
    CALLED_STATION_ID_TYPE, CALLING_STATION_ID_TYPE, CHAP_CHALLENGE_TYPE, CHAP_PASSWORD_TYPE,
    NAS_IDENTIFIER_TYPE, NAS_IP_ADDRESS_TYPE, PROXY_STATE_TYPE, SERVICE_TYPE_TYPE, STATE_TYPE,
    USER_NAME_TYPE, USER_PASSWORD_TYPE,
};

use crate::domain::MacAddr;
use crate::radius::wire;

pub const ATTR_EAP_MESSAGE: u8 = 79;
pub const VENDOR_MICROSOFT: u32 = 311;
pub const MS_CHAP_CHALLENGE: u8 = 11;
pub const MS_CHAP2_RESPONSE: u8 = 25;
pub const MS_CHAP2_SUCCESS: u8 = 26;
pub const MS_MPPE_ENCRYPTION_POLICY: u8 = 7;
pub const MS_MPPE_ENCRYPTION_TYPES: u8 = 8;
pub const MS_MPPE_SEND_KEY: u8 = 16;
pub const MS_MPPE_RECV_KEY: u8 = 17;
/// Service-Type Call-Check: the NAS asks about a MAC address (RFC 2865).
pub const SERVICE_TYPE_CALL_CHECK: u32 = 10;

#[derive(Debug, Default)]
pub struct AccessRequest<'a> {
    pub identifier: u8,
    pub authenticator: [u8; 16],
    pub user_name: Option<&'a [u8]>,
    pub user_password: Option<&'a [u8]>,
    pub chap_password: Option<&'a [u8]>,
    pub chap_challenge: Option<&'a [u8]>,
    pub ms_chap_challenge: Option<&'a [u8]>,
    pub ms_chap2_response: Option<&'a [u8]>,
    pub has_eap_message: bool,
    pub calling_station_id: Option<&'a [u8]>,
    pub called_station_id: Option<&'a [u8]>,
    pub nas_identifier: Option<&'a [u8]>,
    pub nas_ip_address: Option<std::net::Ipv4Addr>,
    pub service_type: Option<u32>,
    pub state: Option<&'a [u8]>,
    /// Echoed back unchanged in the reply, in order (RFC 2865 s5.33).
    pub proxy_states: Vec<&'a [u8]>,
}

/// How the request wants to be authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Pap,
    Chap,
    MsChapV2,
    Mac,
    Eap,
    Unknown,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pap => "pap",
            Method::Chap => "chap",
            Method::MsChapV2 => "mschapv2",
            Method::Mac => "mac",
            Method::Eap => "eap",
            Method::Unknown => "unknown",
        }
    }
}

/// Attribute text as the logs store it: invalid UTF-8 and NUL (which
/// PostgreSQL refuses in text columns, failing a whole batch) become U+FFFD,
/// so one odd User-Name can never cost other records their place.
pub fn storable_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text.into_owned()
    }
}

fn u32_of(v: &[u8]) -> Option<u32> {
    let b: [u8; 4] = v.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// `packet` must have passed `wire::check_structure`.
pub fn parse_access_request(packet: &[u8]) -> AccessRequest<'_> {
    let mut req = AccessRequest {
        identifier: packet.get(1).copied().unwrap_or(0),
        ..Default::default()
    };
    if let Some(a) = packet.get(4..20) {
        req.authenticator.copy_from_slice(a);
    }
    for (typ, value) in wire::attributes(packet) {
        match typ {
            USER_NAME_TYPE => req.user_name = req.user_name.or(Some(value)),
            USER_PASSWORD_TYPE => req.user_password = req.user_password.or(Some(value)),
            CHAP_PASSWORD_TYPE => req.chap_password = req.chap_password.or(Some(value)),
            CHAP_CHALLENGE_TYPE => req.chap_challenge = req.chap_challenge.or(Some(value)),
            CALLING_STATION_ID_TYPE => {
                req.calling_station_id = req.calling_station_id.or(Some(value))
            }
            CALLED_STATION_ID_TYPE => req.called_station_id = req.called_station_id.or(Some(value)),
            NAS_IDENTIFIER_TYPE => req.nas_identifier = req.nas_identifier.or(Some(value)),
            NAS_IP_ADDRESS_TYPE => {
                if let Ok(b) = <[u8; 4]>::try_from(value) {
                    req.nas_ip_address = Some(std::net::Ipv4Addr::from(b));
                }
            }
            SERVICE_TYPE_TYPE => req.service_type = u32_of(value),
            STATE_TYPE => req.state = Some(value),
            PROXY_STATE_TYPE => req.proxy_states.push(value),
            ATTR_EAP_MESSAGE => req.has_eap_message = true,
            _ => {}
        }
    }
    for (vendor, typ, value) in wire::vendor_attributes(packet) {
        if vendor == VENDOR_MICROSOFT {
            match typ {
                MS_CHAP_CHALLENGE => req.ms_chap_challenge = Some(value),
                MS_CHAP2_RESPONSE => req.ms_chap2_response = Some(value),
                _ => {}
            }
        }
    }
    req
}

impl AccessRequest<'_> {
    pub fn user_name_str(&self) -> String {
        self.user_name.map(storable_text).unwrap_or_default()
    }

    pub fn calling_mac(&self) -> Option<MacAddr> {
        self.calling_station_id
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|s| MacAddr::parse(s).ok())
    }

    pub fn called_station_str(&self) -> Option<String> {
        self.called_station_id.map(storable_text)
    }

    /// The MAC address this request authenticates, if it is MAC
    /// authentication: User-Name is a MAC and the NAS says so (Call-Check,
    /// or the MAC is the calling station's). Whether the password equals the
    /// MAC is the caller's to check, since that needs the decrypted password.
    pub fn mac_identity(&self) -> Option<MacAddr> {
        let name = std::str::from_utf8(self.user_name?).ok()?;
        let mac = MacAddr::parse(name).ok()?;
        if self.service_type == Some(SERVICE_TYPE_CALL_CHECK) || self.calling_mac() == Some(mac) {
            Some(mac)
        } else {
            None
        }
    }

    /// Method by the attributes present; MAC authentication is decided by
    /// the caller, which knows whether the User-Name is a staff account.
    pub fn method(&self) -> Method {
        if self.has_eap_message {
            Method::Eap
        } else if self.ms_chap2_response.is_some() && self.ms_chap_challenge.is_some() {
            Method::MsChapV2
        } else if self.chap_password.is_some() {
            Method::Chap
        } else if self.user_password.is_some() {
            Method::Pap
        } else if self.service_type == Some(SERVICE_TYPE_CALL_CHECK) {
            Method::Mac
        } else {
            Method::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(attrs: &[(u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in attrs {
            wire::push_attribute(&mut body, *t, v).unwrap();
        }
        let mut p = vec![1u8, 7, 0, 0];
        p.extend_from_slice(&[3u8; 16]);
        p.extend_from_slice(&body);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    #[test]
    fn reads_attributes_and_method() {
        let p = packet(&[
            (1, b"alice"),
            (2, &[0u8; 16]),
            (31, b"AA-BB-CC-DD-EE-FF"),
            (33, b"ps1"),
            (33, b"ps2"),
            (6, &10u32.to_be_bytes()),
        ]);
        let r = parse_access_request(&p);
        assert_eq!(r.identifier, 7);
        assert_eq!(r.user_name, Some(&b"alice"[..]));
        assert_eq!(r.method(), Method::Pap);
        assert_eq!(r.proxy_states, vec![&b"ps1"[..], &b"ps2"[..]]);
        assert_eq!(r.calling_mac().unwrap().to_string(), "aa:bb:cc:dd:ee:ff");
        assert!(r.mac_identity().is_none(), "alice is no MAC");
    }

    #[test]
    fn storable_text_has_no_nul() {
        assert_eq!(storable_text(b"al\0ice"), "al\u{FFFD}ice");
        assert_eq!(storable_text(b"\xffx"), "\u{FFFD}x");
        assert_eq!(storable_text("张三".as_bytes()), "张三");
    }

    #[test]
    fn mac_identity_needs_nas_confirmation() {
        let p = packet(&[
            (1, b"aabbccddeeff"),
            (2, &[0u8; 16]),
            (31, b"aa:bb:cc:dd:ee:ff"),
        ]);
        assert!(parse_access_request(&p).mac_identity().is_some());
        let p = packet(&[
            (1, b"aabbccddeeff"),
            (2, &[0u8; 16]),
            (31, b"00:11:22:33:44:55"),
        ]);
        assert!(parse_access_request(&p).mac_identity().is_none());
    }
}
