//! Just enough DER to read a certificate's subject CN, subjectAltName
//! entries and validity end: the identity an EAP-TLS client certificate
//! maps to, and the expiry we warn about. Signature checks are rustls'
//! job; this never trusts what it reads for anything but naming.

const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_OID: u8 = 0x06;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_EXPLICIT_0: u8 = 0xa0;
const TAG_EXPLICIT_3: u8 = 0xa3;
const TAG_BOOLEAN: u8 = 0x01;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SAN_RFC822: u8 = 0x81;
const TAG_SAN_DNS: u8 = 0x82;

/// 2.5.4.3 commonName.
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.29.17 subjectAltName.
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
/// 1.3.6.1.4.1.311.20.2.3 Microsoft User Principal Name.
const OID_UPN: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03];

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub common_name: Option<String>,
    pub emails: Vec<String>,
    pub dns_names: Vec<String>,
    pub upns: Vec<String>,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: Option<i64>,
}

impl CertInfo {
    /// Names a user account could go by, most specific first: UPN, e-mail
    /// (whole, then the local part), CN, DNS names.
    pub fn identities(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            if !s.is_empty() && !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        };
        for u in &self.upns {
            add(u);
            if let Some((local, _)) = u.split_once('@') {
                add(local);
            }
        }
        for e in &self.emails {
            add(e);
            if let Some((local, _)) = e.split_once('@') {
                add(local);
            }
        }
        if let Some(cn) = &self.common_name {
            add(cn);
        }
        for d in &self.dns_names {
            add(d);
        }
        out
    }
}

/// One TLV: (tag, value, rest). Definite lengths only, at most 4 octets.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest.get(n..)?)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The TLVs inside a constructed value.
fn children(mut body: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, value, rest) = tlv(body)?;
        body = rest;
        Some((tag, value))
    })
}

fn string_value(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, T61String, IA5String
        0x0c | 0x13 | 0x14 | 0x16 => Some(String::from_utf8_lossy(value).into_owned()),
        // BMPString: UTF-16BE
        0x1e => {
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn parse_time(tag: u8, value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        TAG_UTC_TIME => {
            let yy: i32 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        TAG_GENERALIZED_TIME => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<u32> { rest.get(i..i + 2)?.parse().ok() };
    let date = chrono::NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?;
    let time = date.and_hms_opt(field(4)?, field(6)?, field(8).unwrap_or(0))?;
    Some(time.and_utc().timestamp())
}

fn common_name(name: &[u8]) -> Option<String> {
    for (tag, rdn) in children(name) {
        if tag != TAG_SET {
            continue;
        }
        for (tag, atv) in children(rdn) {
            if tag != TAG_SEQUENCE {
                continue;
            }
            let mut parts = children(atv);
            if let (Some((TAG_OID, oid)), Some((vt, value))) = (parts.next(), parts.next()) {
                if oid == OID_CN {
                    return string_value(vt, value);
                }
            }
        }
    }
    None
}

fn read_san(info: &mut CertInfo, general_names: &[u8]) {
    let Some((TAG_SEQUENCE, names, _)) = tlv(general_names) else {
        return;
    };
    for (tag, value) in children(names) {
        match tag {
            TAG_SAN_RFC822 => info
                .emails
                .push(String::from_utf8_lossy(value).into_owned()),
            TAG_SAN_DNS => info
                .dns_names
                .push(String::from_utf8_lossy(value).into_owned()),
            TAG_EXPLICIT_0 => {
                // otherName: type-id OID, [0] EXPLICIT value
                let mut parts = children(value);
                if let (Some((TAG_OID, oid)), Some((TAG_EXPLICIT_0, inner))) =
                    (parts.next(), parts.next())
                {
                    if oid == OID_UPN {
                        if let Some((vt, v, _)) = tlv(inner) {
                            if let Some(s) = string_value(vt, v) {
                                info.upns.push(s);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Reads what `CertInfo` holds from a DER certificate; None if it is not
/// shaped like one.
pub fn parse_certificate(der: &[u8]) -> Option<CertInfo> {
    let (TAG_SEQUENCE, cert, _) = tlv(der)? else {
        return None;
    };
    let (TAG_SEQUENCE, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut fields = children(tbs).peekable();
    if fields.peek().map(|(t, _)| *t) == Some(TAG_EXPLICIT_0) {
        fields.next();
    }
    let _serial = fields.next()?;
    let _signature = fields.next()?;
    let _issuer = fields.next()?;
    let (TAG_SEQUENCE, validity) = fields.next()? else {
        return None;
    };
    let (TAG_SEQUENCE, subject) = fields.next()? else {
        return None;
    };
    let _spki = fields.next()?;
    let mut info = CertInfo {
        common_name: common_name(subject),
        ..Default::default()
    };
    let mut times = children(validity);
    let _not_before = times.next();
    info.not_after = times.next().and_then(|(t, v)| parse_time(t, v));
    for (tag, value) in fields {
        if tag != TAG_EXPLICIT_3 {
            continue;
        }
        let Some((TAG_SEQUENCE, extensions, _)) = tlv(value) else {
            continue;
        };
        for (tag, ext) in children(extensions) {
            if tag != TAG_SEQUENCE {
                continue;
            }
            let mut parts = children(ext).peekable();
            let Some((TAG_OID, oid)) = parts.next() else {
                continue;
            };
            if parts.peek().map(|(t, _)| *t) == Some(TAG_BOOLEAN) {
                parts.next();
            }
            if let Some((TAG_OCTET_STRING, value)) = parts.next() {
                if oid == OID_SAN {
                    read_san(&mut info, value);
                }
            }
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_expiry_from_an_rcgen_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["host.example".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            "bob@example.org".try_into().unwrap(),
        ));
        params.not_after = rcgen::date_time_ymd(2031, 2, 3);
        let cert = params.self_signed(&key).unwrap();
        let info = parse_certificate(cert.der()).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("alice"));
        assert_eq!(info.emails, vec!["bob@example.org".to_string()]);
        assert_eq!(info.dns_names, vec!["host.example".to_string()]);
        assert_eq!(info.not_after, Some(1_927_843_200));
        assert_eq!(
            info.identities(),
            vec!["bob@example.org", "bob", "alice", "host.example"]
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
