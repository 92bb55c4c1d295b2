//! Owned SNMP values. The codec hands out values that borrow its receive
//! buffer; everything is copied into these before the next request.

use std::net::Ipv4Addr;

use super::oid::Oid;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    /// Counter32, Gauge32/Unsigned32, Counter64.
    Unsigned(u64),
    Timeticks(u32),
    OctetString(Vec<u8>),
    ObjectId(Oid),
    IpAddress([u8; 4]),
    Null,
    /// noSuchObject / noSuchInstance.
    NoSuch,
    EndOfMibView,
    /// Opaque, BOOLEAN and anything else an agent should not send here.
    Other,
}

impl Value {
    pub fn from_wire(v: &snmp2::Value<'_>) -> Value {
        use snmp2::Value as W;
        match v {
            W::Integer(i) => Value::Integer(*i),
            W::Counter32(n) | W::Unsigned32(n) => Value::Unsigned(u64::from(*n)),
            W::Counter64(n) => Value::Unsigned(*n),
            W::Timeticks(t) => Value::Timeticks(*t),
            W::OctetString(s) => Value::OctetString(s.to_vec()),
            W::ObjectIdentifier(o) => Oid::from_wire(o).map_or(Value::Other, Value::ObjectId),
            W::IpAddress(a) => Value::IpAddress(*a),
            W::Null => Value::Null,
            W::NoSuchObject | W::NoSuchInstance => Value::NoSuch,
            W::EndOfMibView => Value::EndOfMibView,
            _ => Value::Other,
        }
    }

    /// Whether the agent gave a value at all (not an exception).
    pub fn is_present(&self) -> bool {
        !matches!(self, Value::Null | Value::NoSuch | Value::EndOfMibView)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            Value::Unsigned(n) => i64::try_from(*n).ok(),
            Value::Timeticks(t) => Some(i64::from(*t)),
            // Some agents report numbers as DisplayString.
            Value::OctetString(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(n) => Some(*n),
            other => other.as_i64().and_then(|i| u64::try_from(i).ok()),
        }
    }

    /// Text for display: printable strings as is, other strings as hex.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::OctetString(s) => {
                let trimmed: &[u8] = match s.iter().rposition(|&b| b != 0) {
                    Some(end) => s.get(..=end).unwrap_or(s),
                    None => &[],
                };
                match std::str::from_utf8(trimmed) {
                    // Multi-line text (an IOS-XE sysDescr) is still text.
                    Ok(t)
                        if !t
                            .chars()
                            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
                    {
                        Some(t.trim().to_string())
                    }
                    _ => Some(hex::encode(s)),
                }
            }
            Value::Integer(i) => Some(i.to_string()),
            Value::Unsigned(n) => Some(n.to_string()),
            Value::Timeticks(t) => Some(t.to_string()),
            Value::ObjectId(o) => Some(o.to_string()),
            Value::IpAddress(a) => Some(Ipv4Addr::from(*a).to_string()),
            _ => None,
        }
    }

    /// A MAC address: a 6-byte string (MacAddress / PhysAddress), or a
    /// string some agents send in text form.
    pub fn as_mac(&self) -> Option<String> {
        match self {
            Value::OctetString(s) if s.len() == 6 => Some(mac_text(s)),
            Value::OctetString(s) => {
                let t = std::str::from_utf8(s).ok()?;
                crate::domain::MacAddr::parse(t.trim())
                    .ok()
                    .map(|m| m.to_string())
            }
            _ => None,
        }
    }

    /// An IPv4 address: IpAddress, a 4-byte string, or dotted text.
    pub fn as_ip(&self) -> Option<String> {
        match self {
            Value::IpAddress(a) => Some(Ipv4Addr::from(*a).to_string()),
            Value::OctetString(s) if s.len() == 4 => {
                let a: [u8; 4] = s.as_slice().try_into().ok()?;
                Some(Ipv4Addr::from(a).to_string())
            }
            Value::OctetString(s) => {
                let t = std::str::from_utf8(s).ok()?.trim();
                t.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
            }
            _ => None,
        }
    }
}

/// Six bytes as the canonical MAC text (same form as `domain::MacAddr`).
pub fn mac_text(b: &[u8]) -> String {
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    hex.join(":")
}

/// A MAC address carried as six index arcs (many tables index by MAC).
pub fn mac_from_arcs(arcs: &[u32]) -> Option<String> {
    if arcs.len() != 6 {
        return None;
    }
    let mut b = [0u8; 6];
    for (slot, a) in b.iter_mut().zip(arcs) {
        *slot = u8::try_from(*a).ok()?;
    }
    Some(mac_text(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Value::OctetString(b" 42 ".to_vec()).as_i64(), Some(42));
        assert_eq!(Value::Unsigned(7).as_i64(), Some(7));
        assert_eq!(Value::Integer(-95).as_i64(), Some(-95));
        assert_eq!(
            Value::OctetString(b"AP-1\0".to_vec()).as_text().unwrap(),
            "AP-1"
        );
        assert_eq!(Value::OctetString(vec![1, 2]).as_text().unwrap(), "0102");
        assert_eq!(
            Value::OctetString(vec![0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])
                .as_mac()
                .unwrap(),
            Value::OctetString(b"00-1A-2B-3C-4D-5E".to_vec())
                .as_mac()
                .unwrap()
        );
        assert_eq!(Value::IpAddress([10, 0, 0, 1]).as_ip().unwrap(), "10.0.0.1");
        assert_eq!(
            Value::OctetString(vec![10, 0, 0, 2]).as_ip().unwrap(),
            "10.0.0.2"
        );
        assert!(mac_from_arcs(&[0, 1, 2, 3, 4, 256]).is_none());
        assert!(mac_from_arcs(&[0, 1, 2, 3, 4, 5]).is_some());
        assert!(!Value::NoSuch.is_present());
    }
}
