//! Portal sign-ins, sign-outs and expiries in the authentication log: the
//! network log the law asks to keep for six months needs who (staff
//! account, phone number, voucher, WeChat openid / WeCom userid) had which
//! MAC and IP, through which NAS, AP and SSID, and when, in one row.
//! `portico auth-log export` prints these rows beside the RADIUS ones.

use std::net::IpAddr;

use super::context::ClientContext;
use super::PortalState;
use crate::store::portal_sessions::PortalSession;
use crate::store::AuthRecord;

/// The auth-log method of a portal sign-in method.
pub fn method_name(signin_method: &str) -> &'static str {
    match signin_method {
        "staff" => "portal-staff",
        "voucher" => "portal-voucher",
        "sms" => "portal-sms",
        "wechat" => "portal-wechat",
        "wecom" => "portal-wecom",
        "click-through" => "portal-click",
        _ => "portal",
    }
}

/// Which NAS a row names, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NasRef {
    pub name: String,
    pub ip: String,
}

/// One sign-in attempt, accepted or refused.
pub struct Attempt<'a> {
    pub ctx: &'a ClientContext,
    pub client_ip: Option<IpAddr>,
    pub nas: &'a NasRef,
    /// Sign-in method (staff, voucher, sms, wechat, wecom, click-through).
    pub method: &'a str,
    /// The identity claimed or proven: username, phone:..., voucher:...
    pub identity: &'a str,
    pub accepted: bool,
    pub reason: &'a str,
    pub at_ms: i64,
}

pub fn attempt_record(a: &Attempt<'_>) -> AuthRecord {
    AuthRecord {
        at_ms: a.at_ms,
        username: a.identity.to_string(),
        mac: Some(a.ctx.client_mac.to_string()),
        nas_name: a.nas.name.clone(),
        nas_ip: a.nas.ip.clone(),
        ap: a.ctx.ap_mac.map(|m| m.to_string()),
        method: method_name(a.method).to_string(),
        outcome: if a.accepted { "accept" } else { "reject" }.to_string(),
        reason: a.reason.to_string(),
        client_ip: a.client_ip.map(|ip| ip.to_string()),
        ssid: a.ctx.ssid.clone(),
    }
}

/// The end of a portal session: `outcome` is sign-out, expired or revoked.
pub fn end_record(s: &PortalSession, outcome: &str, at_ms: i64) -> AuthRecord {
    AuthRecord {
        at_ms,
        username: s.identity.clone(),
        mac: Some(s.mac.to_string()),
        nas_name: s.nas_name.clone().unwrap_or_default(),
        nas_ip: s.nas_ip.clone().unwrap_or_default(),
        ap: s.ap_mac.clone(),
        method: method_name(&s.method).to_string(),
        outcome: outcome.to_string(),
        reason: format!("portal session {} {outcome}", s.id),
        client_ip: s.ip.clone(),
        ssid: s.ssid.clone(),
    }
}

/// Writes rows now (the portal's rate is low; a sign-in is logged before
/// its page is sent). A failure is logged loudly: the row is lost.
pub async fn write(state: &PortalState, rows: &[AuthRecord]) {
    if rows.is_empty() {
        return;
    }
    if let Err(e) = state.store.auth_log().insert_batch(rows).await {
        tracing::error!(error = %e, rows = rows.len(), "portal: writing the authentication log failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MacAddr;

    #[test]
    fn rows_carry_identity_mac_ip_nas_ap_ssid() {
        let ctx = ClientContext {
            ap_mac: Some(MacAddr([0, 0x11, 0x22, 0x33, 0x44, 0x55])),
            ssid: Some("Office".into()),
            ..ClientContext::bare("unifi", MacAddr([0xaa, 0xbb, 0xcc, 0, 0x11, 0x22]), None)
        };
        let nas = NasRef {
            name: "ap-1".into(),
            ip: "10.0.0.2".into(),
        };
        let r = attempt_record(&Attempt {
            ctx: &ctx,
            client_ip: Some("10.0.0.9".parse().unwrap()),
            nas: &nas,
            method: "sms",
            identity: "phone:13800138000",
            accepted: true,
            reason: "ok",
            at_ms: 5,
        });
        assert_eq!(r.method, "portal-sms");
        assert_eq!(r.username, "phone:13800138000");
        assert_eq!(r.mac.as_deref(), Some("aa:bb:cc:00:11:22"));
        assert_eq!(r.client_ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(r.ssid.as_deref(), Some("Office"));
        assert_eq!(r.ap.as_deref(), Some("00:11:22:33:44:55"));
        assert_eq!(
            (r.nas_name.as_str(), r.outcome.as_str()),
            ("ap-1", "accept")
        );
        for (m, want) in [
            ("staff", "portal-staff"),
            ("voucher", "portal-voucher"),
            ("wechat", "portal-wechat"),
            ("wecom", "portal-wecom"),
            ("click-through", "portal-click"),
        ] {
            assert_eq!(method_name(m), want);
        }
    }
}
