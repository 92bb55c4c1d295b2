//! Textual values to attribute bytes, by the attribute's dictionary type.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::parse::parse_u64;
use super::*;
use crate::domain::MacAddr;

/// Encodes `text` as the value bytes of `def` (no type/length header).
///
/// * string: the UTF-8 bytes; octets: `0x` followed by hex, else the bytes
///   of the text;
/// * ipaddr, ipv6addr, combo-ip: an address; ipv4prefix, ipv6prefix:
///   `address/length` with no host bits set; ifid: `xxxx:xxxx:xxxx:xxxx`;
/// * integer, short, byte, integer64: decimal, `0x` hex, or a VALUE name of
///   the attribute; signed: decimal, may be negative;
/// * date: Unix seconds, or an RFC 3339 time;
/// * ether: any spelling [`MacAddr::parse`] accepts.
///
/// Tagged attributes take `tag:value` with a tag of 1 to 31; `0:value`
/// means "no tag" and lets a value that starts with digits and a colon
/// through unchanged. The attribute is not encrypted here: encrypted
/// attributes need the shared secret and the request authenticator.
pub fn encode_value(
    dict: &Dictionary,
    def: &AttributeDef,
    text: &str,
) -> Result<Vec<u8>, ValueError> {
    let fail = |reason: String| ValueError {
        attribute: def.name.clone(),
        reason,
    };
    if def.is_virtual {
        return Err(fail(
            "is a server-side (virtual) attribute and never sent".into(),
        ));
    }
    let (tag, text) = if def.has_tag {
        split_tag(text)
    } else {
        (None, text)
    };
    let out = match def.typ {
        AttrType::String => {
            let mut v = Vec::with_capacity(text.len() + 1);
            v.extend(tag);
            v.extend_from_slice(text.as_bytes());
            v
        }
        AttrType::Octets => {
            let mut v: Vec<u8> = tag.into_iter().collect();
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex_text) => v.extend(
                    hex::decode(hex_text).map_err(|e| fail(format!("bad hex {text:?}: {e}")))?,
                ),
                None => v.extend_from_slice(text.as_bytes()),
            }
            v
        }
        AttrType::IpAddr => {
            let ip: Ipv4Addr = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not an IPv4 address: {text:?}")))?;
            ip.octets().to_vec()
        }
        AttrType::Ipv6Addr => {
            let ip: Ipv6Addr = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not an IPv6 address: {text:?}")))?;
            ip.octets().to_vec()
        }
        AttrType::Integer => {
            let n = number(dict, def, text, u64::from(u32::MAX)).map_err(fail)?;
            if def.has_tag {
                // RFC 2868: the tag takes the first byte, the value the other three.
                if n > 0x00ff_ffff {
                    return Err(fail(format!(
                        "{n} does not fit the 24 bits a tagged integer has"
                    )));
                }
                let b = (n as u32).to_be_bytes();
                vec![tag.unwrap_or(0), b[1], b[2], b[3]]
            } else {
                (n as u32).to_be_bytes().to_vec()
            }
        }
        AttrType::Short => (number(dict, def, text, u64::from(u16::MAX)).map_err(fail)? as u16)
            .to_be_bytes()
            .to_vec(),
        AttrType::Byte => vec![number(dict, def, text, u64::from(u8::MAX)).map_err(fail)? as u8],
        AttrType::Integer64 => number(dict, def, text, u64::MAX)
            .map_err(fail)?
            .to_be_bytes()
            .to_vec(),
        AttrType::Signed => {
            let n: i32 = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("not a 32-bit signed number: {text:?}")))?;
            n.to_be_bytes().to_vec()
        }
        AttrType::Date => date(text).map_err(fail)?.to_be_bytes().to_vec(),
        AttrType::Ether => MacAddr::parse(text)
            .map_err(|e| fail(e.to_string()))?
            .0
            .to_vec(),
        AttrType::Other => encode_other(def, text).map_err(fail)?,
    };
    if out.len() > MAX_VALUE_LEN {
        return Err(fail(format!(
            "value is {} bytes; an attribute holds at most {MAX_VALUE_LEN}",
            out.len()
        )));
    }
    Ok(out)
}

/// `N:rest` with N in 0..=31 is a tag (0 meaning none).
fn split_tag(text: &str) -> (Option<u8>, &str) {
    if let Some((head, rest)) = text.split_once(':') {
        if (1..=2).contains(&head.len()) && head.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(t) = head.parse::<u8>() {
                if t <= 0x1f {
                    return (Some(t).filter(|t| *t != 0), rest);
                }
            }
        }
    }
    (None, text)
}

fn number(dict: &Dictionary, def: &AttributeDef, text: &str, max: u64) -> Result<u64, String> {
    let text = text.trim();
    let n = match parse_u64(text) {
        Some(n) => n,
        None => dict
            .values
            .get(&def.key())
            .and_then(|t| t.by_name.get(&text.to_ascii_lowercase()))
            .map(|(_, n)| *n)
            .or_else(|| dict.value_number(&def.name, text))
            .ok_or_else(|| format!("{text:?} is neither a number nor a known VALUE name"))?,
    };
    if n > max {
        return Err(format!("{n} is larger than {max}"));
    }
    Ok(n)
}

fn date(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let secs: i64 = match text.parse::<i64>() {
        Ok(n) => n,
        Err(_) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("not Unix seconds or an RFC 3339 time: {text:?}"))?
            .timestamp(),
    };
    u32::try_from(secs).map_err(|_| format!("{text:?} is outside the 32-bit RADIUS date range"))
}

/// Types without their own `AttrType` variant, by name.
fn encode_other(def: &AttributeDef, text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    match def.type_name.as_str() {
        "combo-ip" => match text.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => Ok(ip.octets().to_vec()),
            Ok(std::net::IpAddr::V6(ip)) => Ok(ip.octets().to_vec()),
            Err(_) => Err(format!("not an IP address: {text:?}")),
        },
        "ipv4prefix" => {
            // RFC 8044 3.11: reserved byte, prefix length, 4 address bytes.
            let net: ipnet::Ipv4Net = text
                .parse()
                .map_err(|_| format!("not an IPv4 prefix: {text:?}"))?;
            if net.trunc() != net {
                return Err(format!("{text:?} has bits set beyond the prefix length"));
            }
            let mut v = vec![0, net.prefix_len()];
            v.extend_from_slice(&net.addr().octets());
            Ok(v)
        }
        "ipv6prefix" => {
            // RFC 3162 / RFC 8044 3.10: reserved byte, prefix length, prefix.
            // The full 16 bytes are sent; bits past the length are zero.
            let net: ipnet::Ipv6Net = text
                .parse()
                .map_err(|_| format!("not an IPv6 prefix: {text:?}"))?;
            if net.trunc() != net {
                return Err(format!("{text:?} has bits set beyond the prefix length"));
            }
            let mut v = vec![0, net.prefix_len()];
            v.extend_from_slice(&net.addr().octets());
            Ok(v)
        }
        "ifid" => {
            let groups: Vec<&str> = text.split(':').collect();
            let bad = || format!("not an interface id (xxxx:xxxx:xxxx:xxxx): {text:?}");
            if groups.len() != 4 {
                return Err(bad());
            }
            let mut v = Vec::with_capacity(8);
            for g in groups {
                if g.is_empty() || g.len() > 4 {
                    return Err(bad());
                }
                let n = u16::from_str_radix(g, 16).map_err(|_| bad())?;
                v.extend_from_slice(&n.to_be_bytes());
            }
            Ok(v)
        }
        other => Err(format!("values of type {other} cannot be given as text")),
    }
}
