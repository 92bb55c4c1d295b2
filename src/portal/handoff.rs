//! Handing the signed-in client back to the AP: the auto-submitting form
//! each vendor family expects, with one-time credentials that the AP then
//! sends to our RADIUS server (which accepts them once). Pure functions.

use md5::{Digest, Md5};

use super::context::ClientContext;
use crate::profiles::portal::{FormMethod, Handoff, PortalProfile};

/// A form the browser submits by itself (with a button when scripts are off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoForm {
    pub action: String,
    pub method: FormMethod,
    pub fields: Vec<(String, String)>,
}

impl AutoForm {
    pub fn method_str(&self) -> &'static str {
        match self.method {
            FormMethod::Get => "get",
            FormMethod::Post => "post",
        }
    }
}

/// The form for `profile`'s handoff, or None when the handoff needs none
/// (RADIUS MAC authentication, gateway) or the context lacks the login URL.
pub fn form(
    profile: &PortalProfile,
    ctx: &ClientContext,
    username: &str,
    secret: &str,
    return_url: &str,
    coova_uam_secret: &str,
) -> Option<AutoForm> {
    let action = ctx.login_url.clone()?;
    let mut fields: Vec<(String, String)> = Vec::new();
    match profile.handoff {
        Handoff::RadiusMac | Handoff::Gateway => return None,
        Handoff::FormPost => {
            fields.push((profile.username_field.clone(), username.to_string()));
            fields.push((profile.password_field.clone(), secret.to_string()));
        }
        Handoff::MikrotikChap => {
            fields.push((profile.username_field.clone(), username.to_string()));
            let password = match (ctx.chap_id, &ctx.chap_challenge) {
                (Some(id), Some(challenge)) => mikrotik_chap_password(id, secret, challenge),
                // Without CHAP parameters the router takes PAP.
                _ => secret.to_string(),
            };
            fields.push((profile.password_field.clone(), password));
        }
        Handoff::CoovaUam => {
            let challenge = ctx.challenge.as_deref()?;
            fields.push((profile.username_field.clone(), username.to_string()));
            fields.push((
                "response".to_string(),
                coova_response(secret, challenge, coova_uam_secret),
            ));
        }
    }
    if let Some(r) = &profile.redirect_field {
        fields.push((r.clone(), return_url.to_string()));
    }
    fields.extend(profile.extra_fields.iter().cloned());
    Some(AutoForm {
        action,
        method: profile.form_method,
        fields,
    })
}

/// MikroTik hotspot CHAP: hex MD5(chap-id ‖ password ‖ chap-challenge),
/// which the router forwards as the RADIUS CHAP-Password response.
pub fn mikrotik_chap_password(id: u8, secret: &str, challenge: &[u8]) -> String {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret.as_bytes());
    h.update(challenge);
    hex::encode(h.finalize())
}

/// The challenge CoovaChilli puts in CHAP-Challenge: MD5(challenge ‖
/// uamsecret) when a UAM secret is configured, else the challenge itself.
pub fn coova_chap_challenge(challenge: &[u8], uam_secret: &str) -> Vec<u8> {
    if uam_secret.is_empty() {
        return challenge.to_vec();
    }
    let mut h = Md5::new();
    h.update(challenge);
    h.update(uam_secret.as_bytes());
    h.finalize().to_vec()
}

/// CoovaChilli UAM `response`: hex MD5(0 ‖ password ‖ CHAP challenge),
/// i.e. a CHAP response with identifier 0.
pub fn coova_response(secret: &str, challenge: &[u8], uam_secret: &str) -> String {
    let chal = coova_chap_challenge(challenge, uam_secret);
    hex::encode(crate::radius::chap::response(0, secret.as_bytes(), &chal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MacAddr;

    fn ctx(login: &str) -> ClientContext {
        ClientContext {
            profile: "p".into(),
            client_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            client_ip: None,
            ap_mac: None,
            ssid: None,
            login_url: Some(login.into()),
            original_url: None,
            chap_id: Some(7),
            chap_challenge: Some(vec![1, 2, 3]),
            challenge: Some(vec![0u8; 16]),
            nas: None,
        }
    }

    #[test]
    fn cisco_style_form() {
        let p = PortalProfile {
            handoff: Handoff::FormPost,
            redirect_field: Some("redirect_url".into()),
            extra_fields: vec![("buttonClicked".into(), "4".into())],
            ..PortalProfile::default()
        };
        let f = form(
            &p,
            &ctx("https://192.0.2.1/login.html"),
            "u1",
            "s1",
            "http://portal/launcher",
            "",
        )
        .unwrap();
        assert_eq!(f.action, "https://192.0.2.1/login.html");
        assert_eq!(f.method_str(), "post");
        assert_eq!(
            f.fields,
            [
                ("username".to_string(), "u1".to_string()),
                ("password".to_string(), "s1".to_string()),
                (
                    "redirect_url".to_string(),
                    "http://portal/launcher".to_string()
                ),
                ("buttonClicked".to_string(), "4".to_string()),
            ]
        );
        let radius = PortalProfile::default();
        assert!(form(&radius, &ctx("http://x/"), "u", "s", "r", "").is_none());
    }

    #[test]
    fn chap_responses_verify_as_radius_chap() {
        let m = mikrotik_chap_password(7, "s3cret", &[1, 2, 3]);
        let mut cp = vec![7u8];
        cp.extend(hex::decode(&m).unwrap());
        assert!(crate::radius::chap::verify(&cp, &[1, 2, 3], b"s3cret"));

        let chal = [9u8; 16];
        let r = coova_response("s3cret", &chal, "uamsecret");
        let mut cp = vec![0u8];
        cp.extend(hex::decode(&r).unwrap());
        let sent = coova_chap_challenge(&chal, "uamsecret");
        assert!(crate::radius::chap::verify(&cp, &sent, b"s3cret"));
        assert_eq!(coova_chap_challenge(&chal, ""), chal.to_vec());
    }
}
