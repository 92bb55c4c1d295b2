//! The names in a certificate (subject CN, subjectAltName e-mail, DNS and
//! Microsoft UPN entries) and its expiry, read with `x509-parser`; and the
//! one rule that turns an EAP-TLS client certificate into an account name.
//! Signature and chain checks are rustls' job: nothing here trusts what it
//! reads for anything but naming.

use x509_parser::der_parser::asn1_rs::{Any, FromDer};
use x509_parser::prelude::{GeneralName, X509Certificate};

pub use crate::config::IdentityField;

/// 1.3.6.1.4.1.311.20.2.3 Microsoft User Principal Name.
const OID_UPN: &str = "1.3.6.1.4.1.311.20.2.3";
/// ASN.1 UTF8String.
const TAG_UTF8: u32 = 12;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CertNames {
    pub common_name: Option<String>,
    pub emails: Vec<String>,
    pub dns_names: Vec<String>,
    pub upns: Vec<String>,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: Option<i64>,
    /// The subject as text, for logs.
    pub subject: String,
}

/// The names of a DER certificate; None when it does not parse.
pub fn parse_certificate(der: &[u8]) -> Option<CertNames> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = CertNames {
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string),
        not_after: Some(cert.validity().not_after.timestamp()),
        subject: cert.subject().to_string(),
        ..CertNames::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::RFC822Name(e) => names.emails.push((*e).to_string()),
                GeneralName::DNSName(d) => names.dns_names.push((*d).to_string()),
                GeneralName::OtherName(oid, value) if oid.to_id_string() == OID_UPN => {
                    if let Some(upn) = upn_value(value) {
                        names.upns.push(upn);
                    }
                }
                _ => {}
            }
        }
    }
    Some(names)
}

/// otherName's value: `[0] EXPLICIT UTF8String`.
fn upn_value(explicit: &[u8]) -> Option<String> {
    let (_, outer) = Any::from_der(explicit).ok()?;
    let (_, inner) = Any::from_der(outer.data).ok()?;
    (inner.tag().0 == TAG_UTF8)
        .then(|| std::str::from_utf8(inner.data).ok().map(str::to_string))
        .flatten()
}

/// Which certificate field names the account, and which domains' UPN or
/// e-mail local part may stand for a local username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRule {
    pub fields: Vec<IdentityField>,
    pub domains: Vec<String>,
}

impl IdentityRule {
    /// The account names the certificate may go by, in the rule's order:
    /// each configured field's values as written, and for UPN and e-mail
    /// values in one of the rule's domains also the part before the `@`.
    /// Nothing else: a CN or an address in another domain names no one
    /// unless the rule says so.
    pub fn candidates(&self, names: &CertNames) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            if !s.is_empty() && !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        };
        for field in &self.fields {
            let (values, local_parts): (Vec<&String>, bool) = match field {
                IdentityField::Upn => (names.upns.iter().collect(), true),
                IdentityField::Email => (names.emails.iter().collect(), true),
                IdentityField::Cn => (names.common_name.iter().collect(), false),
                IdentityField::Dns => (names.dns_names.iter().collect(), false),
            };
            for v in values {
                add(v);
                if !local_parts {
                    continue;
                }
                if let Some((local, domain)) = v.rsplit_once('@') {
                    if self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
                        add(local);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, emails: &[&str], dns: &[&str], upn: Option<&str>) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        for e in emails {
            params
                .subject_alt_names
                .push(rcgen::SanType::Rfc822Name((*e).try_into().unwrap()));
        }
        if let Some(u) = upn {
            params.subject_alt_names.push(rcgen::SanType::OtherName((
                vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
                rcgen::OtherNameValue::Utf8String(u.to_string()),
            )));
        }
        params.not_after = rcgen::date_time_ymd(2031, 2, 3);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_names_and_expiry() {
        let der = cert(
            "alice",
            &["bob@example.org"],
            &["host.example"],
            Some("carol@corp.example"),
        );
        let n = parse_certificate(&der).unwrap();
        assert_eq!(n.common_name.as_deref(), Some("alice"));
        assert_eq!(n.emails, ["bob@example.org"]);
        assert_eq!(n.dns_names, ["host.example"]);
        assert_eq!(n.upns, ["carol@corp.example"]);
        assert_eq!(n.not_after, Some(1_927_843_200));
        assert!(n.subject.contains("alice"), "{}", n.subject);
    }

    #[test]
    fn the_rule_names_only_what_it_is_configured_for() {
        // The attack: a certificate from the client CA for CN=mallory with
        // an e-mail address whose local part is another user's name.
        let n = parse_certificate(&cert("mallory", &["alice@partner.example"], &[], None)).unwrap();
        let default = IdentityRule {
            fields: vec![IdentityField::Upn, IdentityField::Email],
            domains: vec![],
        };
        assert_eq!(default.candidates(&n), ["alice@partner.example"]);
        let ours = IdentityRule {
            domains: vec!["corp.example".into()],
            ..default.clone()
        };
        assert_eq!(
            ours.candidates(&n),
            ["alice@partner.example"],
            "not our domain"
        );
        let partner = IdentityRule {
            domains: vec!["PARTNER.example".into()],
            ..default
        };
        assert_eq!(
            partner.candidates(&n),
            ["alice@partner.example", "alice"],
            "a listed domain's local part"
        );
        let by_cn = IdentityRule {
            fields: vec![IdentityField::Cn],
            domains: vec![],
        };
        assert_eq!(by_cn.candidates(&n), ["mallory"]);

        let upn = parse_certificate(&cert(
            "x",
            &["x@corp.example"],
            &["pc1.corp.example"],
            Some("dave@corp.example"),
        ))
        .unwrap();
        let rule = IdentityRule {
            fields: vec![IdentityField::Upn, IdentityField::Email, IdentityField::Dns],
            domains: vec!["corp.example".into()],
        };
        assert_eq!(
            rule.candidates(&upn),
            [
                "dave@corp.example",
                "dave",
                "x@corp.example",
                "x",
                "pc1.corp.example"
            ]
        );
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        assert!(parse_certificate(&[]).is_none());
        assert!(parse_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse_certificate(&[0x30, 0x03, 0x30, 0x01]).is_none());
        for n in 0..64u8 {
            let junk: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            let _ = parse_certificate(&junk);
        }
    }
}
