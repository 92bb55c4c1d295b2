//! A small BER encoder for the messages the codec crate cannot build for
//! us: agent responses (the simulator), Inform acknowledgements, and
//! hand-made packets in tests. Decoding stays with the crate.

use super::oid::Oid;
use super::value::Value;

pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_OCTETS: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_SEQUENCE: u8 = 0x30;
pub const TAG_IPADDRESS: u8 = 0x40;
pub const TAG_COUNTER32: u8 = 0x41;
pub const TAG_GAUGE32: u8 = 0x42;
pub const TAG_TIMETICKS: u8 = 0x43;
pub const TAG_COUNTER64: u8 = 0x46;
pub const TAG_NO_SUCH_OBJECT: u8 = 0x80;
pub const TAG_NO_SUCH_INSTANCE: u8 = 0x81;
pub const TAG_END_OF_MIB: u8 = 0x82;
pub const PDU_GET: u8 = 0xa0;
pub const PDU_GETNEXT: u8 = 0xa1;
pub const PDU_RESPONSE: u8 = 0xa2;
pub const PDU_TRAP_V1: u8 = 0xa4;
pub const PDU_GETBULK: u8 = 0xa5;
pub const PDU_INFORM: u8 = 0xa6;
pub const PDU_TRAP_V2: u8 = 0xa7;

pub fn push_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
        return;
    }
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let used = bytes.get(skip..).unwrap_or(&[]);
    out.push(0x80 | used.len() as u8);
    out.extend_from_slice(used);
}

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// Two's complement, minimal length.
pub fn integer_tagged(tag: u8, v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(tag, &bytes[start..])
}

/// Unsigned application types (Counter32, Gauge32, TimeTicks, Counter64).
pub fn unsigned_tagged(tag: u8, v: u64) -> Vec<u8> {
    let mut content: Vec<u8> = v.to_be_bytes().to_vec();
    while content.len() > 1
        && content.first() == Some(&0)
        && content.get(1).is_some_and(|b| b & 0x80 == 0)
    {
        content.remove(0);
    }
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(tag, &content)
}

pub fn oid(o: &Oid) -> Vec<u8> {
    let arcs = o.arcs();
    let mut content = Vec::with_capacity(arcs.len() + 2);
    let (first, second) = (
        arcs.first().copied().unwrap_or(0),
        arcs.get(1).copied().unwrap_or(0),
    );
    push_base128(&mut content, u64::from(first) * 40 + u64::from(second));
    for &a in arcs.iter().skip(2) {
        push_base128(&mut content, u64::from(a));
    }
    tlv(TAG_OID, &content)
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    let last = tmp.len() - 1;
    for (k, b) in tmp.iter().enumerate().skip(i) {
        out.push(if k == last { *b } else { *b | 0x80 });
    }
}

pub fn value(v: &Value) -> Vec<u8> {
    match v {
        Value::Integer(i) => integer_tagged(TAG_INTEGER, *i),
        Value::Unsigned(n) if *n > u64::from(u32::MAX) => unsigned_tagged(TAG_COUNTER64, *n),
        Value::Unsigned(n) => unsigned_tagged(TAG_GAUGE32, *n),
        Value::Timeticks(t) => unsigned_tagged(TAG_TIMETICKS, u64::from(*t)),
        Value::OctetString(s) => tlv(TAG_OCTETS, s),
        Value::ObjectId(o) => oid(o),
        Value::IpAddress(a) => tlv(TAG_IPADDRESS, a),
        Value::Null | Value::Other => tlv(TAG_NULL, &[]),
        Value::NoSuch => tlv(TAG_NO_SUCH_OBJECT, &[]),
        Value::EndOfMibView => tlv(TAG_END_OF_MIB, &[]),
    }
}

pub fn varbinds(list: &[(Oid, Value)]) -> Vec<u8> {
    let mut content = Vec::with_capacity(list.len() * 24);
    for (o, v) in list {
        let mut vb = oid(o);
        vb.extend_from_slice(&value(v));
        content.extend_from_slice(&tlv(TAG_SEQUENCE, &vb));
    }
    tlv(TAG_SEQUENCE, &content)
}

/// A v1/v2c message: version 0 = v1, 1 = v2c.
pub fn message(
    version: i64,
    community: &[u8],
    pdu_tag: u8,
    request_id: i64,
    error_status: i64,
    error_index: i64,
    list: &[(Oid, Value)],
) -> Vec<u8> {
    let mut pdu = integer_tagged(TAG_INTEGER, request_id);
    pdu.extend_from_slice(&integer_tagged(TAG_INTEGER, error_status));
    pdu.extend_from_slice(&integer_tagged(TAG_INTEGER, error_index));
    pdu.extend_from_slice(&varbinds(list));
    let mut msg = integer_tagged(TAG_INTEGER, version);
    msg.extend_from_slice(&tlv(TAG_OCTETS, community));
    msg.extend_from_slice(&tlv(pdu_tag, &pdu));
    tlv(TAG_SEQUENCE, &msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_ber_rules() {
        assert_eq!(integer_tagged(TAG_INTEGER, 0), [2, 1, 0]);
        assert_eq!(integer_tagged(TAG_INTEGER, 128), [2, 2, 0, 128]);
        assert_eq!(integer_tagged(TAG_INTEGER, -1), [2, 1, 0xff]);
        assert_eq!(integer_tagged(TAG_INTEGER, -129), [2, 2, 0xff, 0x7f]);
        assert_eq!(
            unsigned_tagged(TAG_GAUGE32, 0xffff_ffff),
            [0x42, 5, 0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            oid(&Oid::parse("1.3.6.1.4.1.14179").unwrap()),
            [6, 7, 0x2b, 6, 1, 4, 1, 0x80 | 110, 99]
        );
        let mut long = Vec::new();
        push_len(&mut long, 300);
        assert_eq!(long, [0x82, 1, 44]);
    }

    #[test]
    fn the_codec_reads_what_we_write() {
        let o = Oid::parse("1.3.6.1.2.1.1.5.0").unwrap();
        let msg = message(
            1,
            b"public",
            PDU_RESPONSE,
            77,
            0,
            0,
            &[
                (o.clone(), Value::OctetString(b"ap".to_vec())),
                (o.clone(), Value::Integer(-95)),
                (o.clone(), Value::Unsigned(1 << 40)),
                (o.clone(), Value::Timeticks(5)),
                (o.clone(), Value::EndOfMibView),
            ],
        );
        let pdu = snmp2::Pdu::from_bytes(&msg).unwrap();
        assert_eq!(pdu.req_id, 77);
        let vals: Vec<Value> = pdu.varbinds.map(|(_, v)| Value::from_wire(&v)).collect();
        assert_eq!(
            vals,
            [
                Value::OctetString(b"ap".to_vec()),
                Value::Integer(-95),
                Value::Unsigned(1 << 40),
                Value::Timeticks(5),
                Value::EndOfMibView
            ]
        );
    }
}
