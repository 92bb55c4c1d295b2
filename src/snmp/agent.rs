//! A minimal SNMP v1/v2c agent over a sorted MIB view: GET, GETNEXT and
//! GETBULK. It serves recorded walks (`portico simulate --walk`) and the
//! fleet simulator; requests decode with the codec crate, responses encode
//! with [`super::ber`].

use std::collections::BTreeMap;
use std::ops::Bound;

use snmp2::{MessageType, Pdu};

use super::ber;
use super::oid::Oid;
use super::value::Value;

pub type MibView = BTreeMap<Oid, Value>;

/// Varbinds per response at most (keeps answers under a datagram).
pub const MAX_RESPONSE_VARBINDS: usize = 512;

/// The answer to one request datagram, or None to stay silent (bad
/// community, undecodable, not a request).
pub fn respond(view: &MibView, community: &[u8], request: &[u8]) -> Option<Vec<u8>> {
    let pdu = Pdu::from_bytes(request).ok()?;
    if pdu.community != community {
        return None;
    }
    let version: i64 = match pdu.version().ok()? {
        snmp2::Version::V1 => 0,
        snmp2::Version::V2C => 1,
        snmp2::Version::V3 => return None,
    };
    let asked: Vec<Oid> = pdu
        .varbinds
        .clone()
        .take(MAX_RESPONSE_VARBINDS)
        .filter_map(|(o, _)| Oid::from_wire(&o))
        .collect();
    let mut out: Vec<(Oid, Value)> = Vec::with_capacity(asked.len());
    let (mut status, mut index) = (0i64, 0i64);
    let next_after = |o: &Oid| -> Option<(Oid, Value)> {
        view.range((Bound::Excluded(o.clone()), Bound::Unbounded))
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    match pdu.message_type {
        MessageType::GetRequest => {
            for (i, o) in asked.iter().enumerate() {
                match view.get(o) {
                    Some(v) => out.push((o.clone(), v.clone())),
                    None if version == 0 => {
                        status = 2;
                        index = i64::try_from(i + 1).unwrap_or(0);
                        out = asked.iter().map(|o| (o.clone(), Value::Null)).collect();
                        break;
                    }
                    None => out.push((o.clone(), Value::NoSuch)),
                }
            }
        }
        MessageType::GetNextRequest => {
            for (i, o) in asked.iter().enumerate() {
                match next_after(o) {
                    Some(x) => out.push(x),
                    None if version == 0 => {
                        status = 2;
                        index = i64::try_from(i + 1).unwrap_or(0);
                        out = asked.iter().map(|o| (o.clone(), Value::Null)).collect();
                        break;
                    }
                    None => out.push((o.clone(), Value::EndOfMibView)),
                }
            }
        }
        MessageType::GetBulkRequest if version == 1 => {
            // In a GETBULK these two fields are non-repeaters and max-repetitions.
            let non_rep = usize::try_from(pdu.error_status)
                .unwrap_or(0)
                .min(asked.len());
            let max_rep = usize::try_from(pdu.error_index).unwrap_or(0);
            let (fixed, repeating) = asked.split_at(non_rep);
            for o in fixed {
                out.push(next_after(o).unwrap_or((o.clone(), Value::EndOfMibView)));
            }
            let mut cursors: Vec<Oid> = repeating.to_vec();
            'rows: for _ in 0..max_rep {
                if cursors.is_empty() {
                    break;
                }
                let mut all_end = true;
                for c in cursors.iter_mut() {
                    if out.len() >= MAX_RESPONSE_VARBINDS {
                        break 'rows;
                    }
                    match next_after(c) {
                        Some((k, v)) => {
                            *c = k.clone();
                            out.push((k, v));
                            all_end = false;
                        }
                        None => out.push((c.clone(), Value::EndOfMibView)),
                    }
                }
                if all_end {
                    break;
                }
            }
        }
        _ => return None,
    }
    Some(ber::message(
        version,
        community,
        ber::PDU_RESPONSE,
        i64::from(pdu.req_id),
        status,
        index,
        &out,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn view() -> MibView {
        let mut v = MibView::new();
        v.insert(o("1.3.6.1.2.1.1.5.0"), Value::OctetString(b"sim".to_vec()));
        for i in 1..=3u32 {
            v.insert(
                o(&format!("1.3.6.1.2.1.2.2.1.2.{i}")),
                Value::OctetString(format!("if{i}").into_bytes()),
            );
            v.insert(o(&format!("1.3.6.1.2.1.2.2.1.8.{i}")), Value::Integer(1));
        }
        v
    }

    #[test]
    fn answers_get_getnext_getbulk() {
        let v = view();
        let get = ber::message(
            1,
            b"c",
            ber::PDU_GET,
            5,
            0,
            0,
            &[
                (o("1.3.6.1.2.1.1.5.0"), Value::Null),
                (o("1.3.6.1.2.1.1.6.0"), Value::Null),
            ],
        );
        let r = respond(&v, b"c", &get).unwrap();
        let p = Pdu::from_bytes(&r).unwrap();
        let vals: Vec<Value> = p.varbinds.map(|(_, x)| Value::from_wire(&x)).collect();
        assert_eq!(vals, [Value::OctetString(b"sim".to_vec()), Value::NoSuch]);
        assert!(respond(&v, b"wrong", &get).is_none());
        // Two columns, three rows, then the end.
        let bulk = ber::message(
            1,
            b"c",
            ber::PDU_GETBULK,
            6,
            0,
            10,
            &[
                (o("1.3.6.1.2.1.2.2.1.2"), Value::Null),
                (o("1.3.6.1.2.1.2.2.1.8"), Value::Null),
            ],
        );
        let r = respond(&v, b"c", &bulk).unwrap();
        let p = Pdu::from_bytes(&r).unwrap();
        let names: Vec<String> = p.varbinds.map(|(n, _)| n.to_string()).collect();
        assert_eq!(names[0], "1.3.6.1.2.1.2.2.1.2.1");
        assert_eq!(names[1], "1.3.6.1.2.1.2.2.1.8.1");
        assert_eq!(names[2], "1.3.6.1.2.1.2.2.1.2.2");
        let v1 = ber::message(
            0,
            b"c",
            ber::PDU_GETNEXT,
            7,
            0,
            0,
            &[(o("1.3.6.1.2.1.2.2.1.8.3"), Value::Null)],
        );
        let p = respond(&v, b"c", &v1).unwrap();
        assert_eq!(Pdu::from_bytes(&p).unwrap().error_status, 2);
    }
}
