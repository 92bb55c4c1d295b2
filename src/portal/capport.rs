//! RFC 8908 Captive Portal API. Clients learn its URL from DHCPv4 option
//! 114 / DHCPv6 option 103 / the IPv6 RA option (RFC 8910), which must be
//! `https://<portal host>/capport/api` (clients require HTTPS).

use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/captive+json";

/// The API's JSON object (RFC 8908 section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CaptiveState {
    pub captive: bool,
    pub user_portal_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_info_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_remaining: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_extend_session: Option<bool>,
}

/// The state for a client: captive unless it has an active session.
pub fn state(
    user_portal_url: String,
    venue_info_url: Option<String>,
    session_expires_at: Option<i64>,
    now_ms: i64,
) -> CaptiveState {
    match session_expires_at {
        Some(exp) if exp > now_ms => CaptiveState {
            captive: false,
            user_portal_url,
            venue_info_url,
            seconds_remaining: Some((exp - now_ms) / 1000),
            // Extending means signing in again on the portal.
            can_extend_session: Some(false),
        },
        _ => CaptiveState {
            captive: true,
            user_portal_url,
            venue_info_url,
            seconds_remaining: None,
            can_extend_session: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let s = state("https://p/portal/generic".into(), None, Some(61_000), 1_000);
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["captive"], false);
        assert_eq!(j["seconds-remaining"], 60);
        assert_eq!(j["user-portal-url"], "https://p/portal/generic");
        assert!(j.get("venue-info-url").is_none());
        let c = serde_json::to_value(state("u".into(), Some("v".into()), None, 0)).unwrap();
        assert_eq!(c["captive"], true);
        assert_eq!(c["venue-info-url"], "v");
        assert!(c.get("seconds-remaining").is_none());
    }
}
