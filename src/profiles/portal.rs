//! The `[portal]` section of a vendor profile: which query parameters the
//! vendor's external-portal redirect carries, and how the portal hands the
//! signed-in client back to the AP.
//!
//! ```toml
//! [portal]
//! handoff = "form-post"        # radius-mac | form-post | coova-uam | mikrotik-chap | gateway
//! client_mac = ["client_mac"]  # first parameter present wins; a string is a list of one
//! client_ip = "client_ip"
//! ap_mac = "ap_mac"
//! ssid = "wlan"
//! login_url = "switch_url"     # parameter holding the AP's login URL ...
//! login_url_template = ""      # ... or built from parameters: "http://{uamip}:{uamport}/logon"
//! original_url = "redirect"
//! form_method = "post"
//! username_field = "username"
//! password_field = "password"
//! redirect_field = "redirect_url"
//! extra_fields = { buttonClicked = "4" }
//! reauth_attributes = { "Cisco-AVPair" = "subscriber:command=reauthenticate" }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// How the device is let in after sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// The AP asks RADIUS (MAC authentication); we accept the MAC.
    RadiusMac,
    /// The browser posts one-time credentials to the AP's login URL.
    FormPost,
    /// CoovaChilli UAM logon with a CHAP response.
    CoovaUam,
    /// MikroTik hotspot login with the CHAP-MD5 response.
    MikrotikChap,
    /// Portico itself is the gateway (nftables).
    Gateway,
}

impl Handoff {
    pub fn as_str(self) -> &'static str {
        match self {
            Handoff::RadiusMac => "radius-mac",
            Handoff::FormPost => "form-post",
            Handoff::CoovaUam => "coova-uam",
            Handoff::MikrotikChap => "mikrotik-chap",
            Handoff::Gateway => "gateway",
        }
    }

    fn parse(s: &str) -> Option<Handoff> {
        Some(match s {
            "radius-mac" => Handoff::RadiusMac,
            "form-post" => Handoff::FormPost,
            "coova-uam" => Handoff::CoovaUam,
            "mikrotik-chap" => Handoff::MikrotikChap,
            "gateway" => Handoff::Gateway,
            _ => return None,
        })
    }

    /// The AP sends our one-time credentials to RADIUS.
    pub fn uses_credentials(self) -> bool {
        matches!(
            self,
            Handoff::FormPost | Handoff::CoovaUam | Handoff::MikrotikChap
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMethod {
    Get,
    Post,
}

/// Validated portal section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalProfile {
    pub handoff: Handoff,
    pub client_mac: Vec<String>,
    pub client_ip: Vec<String>,
    pub ap_mac: Vec<String>,
    pub ssid: Vec<String>,
    pub login_url: Vec<String>,
    pub login_url_template: Option<String>,
    pub original_url: Vec<String>,
    /// MikroTik `$(chap-id)` and `$(chap-challenge)` (octal-escaped).
    pub chap_id: Vec<String>,
    pub chap_challenge: Vec<String>,
    /// CoovaChilli's hex `challenge`.
    pub challenge: Vec<String>,
    pub form_method: FormMethod,
    pub username_field: String,
    pub password_field: String,
    pub redirect_field: Option<String>,
    pub extra_fields: Vec<(String, String)>,
    /// Attributes added to the CoA-Request that asks the AP to
    /// re-authenticate a client right after sign-in (RADIUS MAC handoff),
    /// e.g. Cisco's `Cisco-AVPair = "subscriber:command=reauthenticate"`.
    pub reauth_attributes: Vec<(String, String)>,
}

impl Default for PortalProfile {
    /// The generic redirect: plain parameter names, RADIUS MAC handoff.
    fn default() -> Self {
        let one = |s: &str| vec![s.to_string()];
        PortalProfile {
            handoff: Handoff::RadiusMac,
            client_mac: one("client_mac"),
            client_ip: one("client_ip"),
            ap_mac: one("ap_mac"),
            ssid: one("ssid"),
            login_url: one("login_url"),
            login_url_template: None,
            original_url: one("url"),
            chap_id: Vec::new(),
            chap_challenge: Vec::new(),
            challenge: Vec::new(),
            form_method: FormMethod::Post,
            username_field: "username".into(),
            password_field: "password".into(),
            redirect_field: None,
            extra_fields: Vec::new(),
            reauth_attributes: Vec::new(),
        }
    }
}

/// A parameter name or a list of alternatives.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn into_vec(self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s],
            Names::Many(v) => v,
        }
    }
}

/// The section as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPortal {
    pub handoff: Option<Spanned<String>>,
    pub client_mac: Option<Spanned<Names>>,
    pub client_ip: Option<Spanned<Names>>,
    pub ap_mac: Option<Spanned<Names>>,
    pub ssid: Option<Spanned<Names>>,
    pub login_url: Option<Spanned<Names>>,
    pub login_url_template: Option<Spanned<String>>,
    pub original_url: Option<Spanned<Names>>,
    pub chap_id: Option<Spanned<Names>>,
    pub chap_challenge: Option<Spanned<Names>>,
    pub challenge: Option<Spanned<Names>>,
    pub form_method: Option<Spanned<String>>,
    pub username_field: Option<Spanned<String>>,
    pub password_field: Option<Spanned<String>>,
    pub redirect_field: Option<Spanned<String>>,
    #[serde(default)]
    pub extra_fields: BTreeMap<String, String>,
    #[serde(default)]
    pub reauth_attributes: BTreeMap<String, String>,
}

/// A validation error at a byte offset of the profile file.
#[derive(Debug)]
pub struct SectionError {
    pub offset: usize,
    pub reason: String,
}

fn names(
    field: Option<Spanned<Names>>,
    default: Vec<String>,
    what: &str,
) -> Result<Vec<String>, SectionError> {
    let Some(f) = field else {
        return Ok(default);
    };
    let offset = f.span().start;
    let list: Vec<String> = f
        .into_inner()
        .into_vec()
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect();
    if list.iter().any(|s| !valid_param(s)) {
        return Err(SectionError {
            offset,
            reason: format!("portal.{what}: parameter names are 1 to 64 printable characters without spaces, '&' or '='"),
        });
    }
    Ok(list)
}

fn valid_param(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '&' && c != '=' && c != '#')
}

impl PortalProfile {
    pub fn from_raw(raw: Option<RawPortal>) -> Result<PortalProfile, SectionError> {
        let d = PortalProfile::default();
        let Some(raw) = raw else {
            return Ok(d);
        };
        let handoff = match raw.handoff {
            None => d.handoff,
            Some(h) => Handoff::parse(h.get_ref().trim()).ok_or_else(|| SectionError {
                offset: h.span().start,
                reason: format!(
                    "portal.handoff {:?}: expected radius-mac, form-post, coova-uam, mikrotik-chap or gateway",
                    h.get_ref()
                ),
            })?,
        };
        let form_method = match raw.form_method {
            None => d.form_method,
            Some(m) => match m.get_ref().to_ascii_lowercase().as_str() {
                "get" => FormMethod::Get,
                "post" => FormMethod::Post,
                _ => {
                    return Err(SectionError {
                        offset: m.span().start,
                        reason: "portal.form_method: expected \"get\" or \"post\"".into(),
                    })
                }
            },
        };
        let field = |f: Option<Spanned<String>>, default: &str, what: &str| match f {
            None => Ok(default.to_string()),
            Some(s) if valid_param(s.get_ref().trim()) => Ok(s.get_ref().trim().to_string()),
            Some(s) => Err(SectionError {
                offset: s.span().start,
                reason: format!("portal.{what}: not a valid form field name"),
            }),
        };
        let template = match raw.login_url_template {
            None => None,
            Some(t) if t.get_ref().trim().is_empty() => None,
            Some(t) => {
                let text = t.get_ref().trim();
                if !(text.starts_with("http://{") || text.starts_with("https://{")) {
                    return Err(SectionError {
                        offset: t.span().start,
                        reason: "portal.login_url_template must start with http://{param} or https://{param}".into(),
                    });
                }
                if template_params(text).is_none() {
                    return Err(SectionError {
                        offset: t.span().start,
                        reason: "portal.login_url_template: unbalanced { }".into(),
                    });
                }
                Some(text.to_string())
            }
        };
        let redirect_field = match raw.redirect_field {
            None => None,
            Some(r) if r.get_ref().trim().is_empty() => None,
            Some(r) => Some(field(Some(r), "", "redirect_field")?),
        };
        let profile = PortalProfile {
            handoff,
            client_mac: names(raw.client_mac, d.client_mac, "client_mac")?,
            client_ip: names(raw.client_ip, d.client_ip, "client_ip")?,
            ap_mac: names(raw.ap_mac, d.ap_mac, "ap_mac")?,
            ssid: names(raw.ssid, d.ssid, "ssid")?,
            login_url: names(raw.login_url, d.login_url, "login_url")?,
            login_url_template: template,
            original_url: names(raw.original_url, d.original_url, "original_url")?,
            chap_id: names(raw.chap_id, d.chap_id, "chap_id")?,
            chap_challenge: names(raw.chap_challenge, d.chap_challenge, "chap_challenge")?,
            challenge: names(raw.challenge, d.challenge, "challenge")?,
            form_method,
            username_field: field(raw.username_field, &d.username_field, "username_field")?,
            password_field: field(raw.password_field, &d.password_field, "password_field")?,
            redirect_field,
            extra_fields: raw.extra_fields.into_iter().collect(),
            reauth_attributes: raw.reauth_attributes.into_iter().collect(),
        };
        Ok(profile)
    }
}

/// The `{name}` placeholders of a template, or None when braces do not pair.
pub fn template_params(t: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..)?;
        let close = after.find('}')?;
        let name = after.get(..close)?;
        if name.is_empty() || name.contains('{') {
            return None;
        }
        out.push(name);
        rest = after.get(close + 1..)?;
    }
    if rest.contains('}') {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PortalProfile, SectionError> {
        #[derive(Deserialize)]
        struct W {
            portal: RawPortal,
        }
        let w: W = toml::from_str(text).map_err(|e| SectionError {
            offset: 0,
            reason: e.to_string(),
        })?;
        PortalProfile::from_raw(Some(w.portal))
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            PortalProfile::from_raw(None).unwrap(),
            PortalProfile::default()
        );
        let p = parse(
            "[portal]\nhandoff = \"form-post\"\nclient_mac = [\"client_mac\", \"mac\"]\nssid = \"wlan\"\n\
             login_url = \"switch_url\"\nredirect_field = \"redirect_url\"\nextra_fields = { buttonClicked = \"4\" }\n",
        )
        .unwrap();
        assert_eq!(p.handoff, Handoff::FormPost);
        assert_eq!(p.client_mac, ["client_mac", "mac"]);
        assert_eq!(p.ssid, ["wlan"]);
        assert_eq!(
            p.extra_fields,
            [("buttonClicked".to_string(), "4".to_string())]
        );
        assert_eq!(p.redirect_field.as_deref(), Some("redirect_url"));
    }

    #[test]
    fn refuses_bad_values() {
        for (text, needle) in [
            ("[portal]\nhandoff = \"magic\"\n", "portal.handoff"),
            ("[portal]\nform_method = \"put\"\n", "form_method"),
            ("[portal]\nclient_mac = \"a b\"\n", "client_mac"),
            (
                "[portal]\nlogin_url_template = \"ftp://{x}\"\n",
                "login_url_template",
            ),
            (
                "[portal]\nlogin_url_template = \"http://{x\"\n",
                "unbalanced",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.reason.contains(needle), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn template_placeholders() {
        assert_eq!(
            template_params("http://{uamip}:{uamport}/logon"),
            Some(vec!["uamip", "uamport"])
        );
        assert_eq!(template_params("http://{a"), None);
        assert_eq!(template_params("http://a}"), None);
    }
}
