//! What travels inside the tunnel: PEAPv0's inner EAP (with its compressed
//! headers), EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2), the PEAP
//! Result TLV, and EAP-TTLS AVPs (RFC 5281 s10). Pure codecs.

use super::packet::{CODE_RESPONSE, TYPE_TLV};

pub const MSCHAPV2_CHALLENGE: u8 = 1;
pub const MSCHAPV2_RESPONSE: u8 = 2;
pub const MSCHAPV2_SUCCESS: u8 = 3;
pub const MSCHAPV2_FAILURE: u8 = 4;

/// Result TLV (MS-PEAP): mandatory bit set, type 3.
const TLV_RESULT: u16 = 0x8003;
pub const TLV_SUCCESS: u16 = 1;
pub const TLV_FAILURE: u16 = 2;

/// An inner EAP response as PEAPv0 carries it: (type, type-data). Peers
/// leave out the 4-byte header except for EAP-TLV; a full header is
/// recognised by its Response code and exact Length (no method type is 2,
/// so a compressed packet never starts like one).
pub fn peap_inner_response(plain: &[u8]) -> Option<(u8, &[u8])> {
    if plain.len() >= 5 && plain.first() == Some(&CODE_RESPONSE) {
        let len = usize::from(u16::from_be_bytes([plain[2], plain[3]]));
        if len == plain.len() {
            return Some((plain[4], &plain[5..]));
        }
    }
    let (&typ, data) = plain.split_first()?;
    Some((typ, data))
}

/// A full inner EAP Request (used for Identity and TLV, which PEAPv0 peers
/// expect with a header).
pub fn full_request(identifier: u8, typ: u8, data: &[u8]) -> Vec<u8> {
    super::packet::request(identifier, typ, data)
}

/// A compressed inner request: type then data, no header.
pub fn compressed_request(typ: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(typ);
    out.extend_from_slice(data);
    out
}

fn mschapv2_packet(opcode: u8, ms_id: u8, body: &[u8]) -> Vec<u8> {
    // MS-Length counts from OpCode to the end (EAP Length minus 5).
    let ms_len = (4 + body.len()).min(usize::from(u16::MAX)) as u16;
    let mut out = Vec::with_capacity(4 + body.len());
    out.push(opcode);
    out.push(ms_id);
    out.extend_from_slice(&ms_len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// EAP-MSCHAPv2 Challenge Type-Data.
pub fn mschapv2_challenge(ms_id: u8, challenge: &[u8; 16], server_name: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(17 + server_name.len());
    body.push(16);
    body.extend_from_slice(challenge);
    body.extend_from_slice(server_name.as_bytes());
    mschapv2_packet(MSCHAPV2_CHALLENGE, ms_id, &body)
}

/// EAP-MSCHAPv2 Success Type-Data: the Authenticator Response for the
/// peer to check.
pub fn mschapv2_success(ms_id: u8, authenticator_response: &str) -> Vec<u8> {
    let message = format!("{authenticator_response} M=OK");
    mschapv2_packet(MSCHAPV2_SUCCESS, ms_id, message.as_bytes())
}

/// EAP-MSCHAPv2 Failure Type-Data (RFC 2759 s6 message format): the peer
/// shows the error and answers with a Failure of its own.
pub fn mschapv2_failure(ms_id: u8, error: u32, challenge: &[u8; 16]) -> Vec<u8> {
    let message = format!(
        "E={error} R=0 C={} V=3 M=Authentication failed",
        hex::encode_upper(challenge)
    );
    mschapv2_packet(MSCHAPV2_FAILURE, ms_id, message.as_bytes())
}

/// A parsed EAP-MSCHAPv2 Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsChapV2Response {
    pub ms_id: u8,
    pub peer_challenge: [u8; 16],
    pub nt_response: [u8; 24],
    pub name: String,
}

/// Type-Data of an EAP-MSCHAPv2 packet from the peer: its OpCode, and the
/// Response fields when it is one.
pub fn parse_mschapv2(data: &[u8]) -> Option<(u8, Option<MsChapV2Response>)> {
    let opcode = *data.first()?;
    if opcode != MSCHAPV2_RESPONSE {
        return Some((opcode, None));
    }
    // OpCode, MS-CHAPv2-ID, MS-Length(2), Value-Size(1)=49, Value(49), Name
    let ms_id = *data.get(1)?;
    if *data.get(4)? != 49 {
        return None;
    }
    let value = data.get(5..54)?;
    let peer_challenge = value.get(..16)?.try_into().ok()?;
    let nt_response = value.get(24..48)?.try_into().ok()?;
    let name = String::from_utf8_lossy(data.get(54..)?).into_owned();
    Some((
        opcode,
        Some(MsChapV2Response {
            ms_id,
            peer_challenge,
            nt_response,
            name,
        }),
    ))
}

/// The EAP-TLV Result request PEAPv0 ends phase 2 with.
pub fn tlv_result_request(identifier: u8, status: u16) -> Vec<u8> {
    let mut data = Vec::with_capacity(6);
    data.extend_from_slice(&TLV_RESULT.to_be_bytes());
    data.extend_from_slice(&2u16.to_be_bytes());
    data.extend_from_slice(&status.to_be_bytes());
    full_request(identifier, TYPE_TLV, &data)
}

/// The status in the peer's Result TLV, if its TLV payload has one.
pub fn tlv_result(data: &[u8]) -> Option<u16> {
    let mut rest = data;
    while rest.len() >= 4 {
        let typ = u16::from_be_bytes([rest[0], rest[1]]) & 0x3fff;
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if typ == TLV_RESULT & 0x3fff && len == 2 {
            return Some(u16::from_be_bytes([value[0], value[1]]));
        }
        rest = rest.get(4 + len..)?;
    }
    None
}

// ---- EAP-TTLS AVPs (RFC 5281 s10.1) ----

pub const AVP_USER_NAME: u32 = 1;
pub const AVP_USER_PASSWORD: u32 = 2;
pub const AVP_EAP_MESSAGE: u32 = 79;
pub const AVP_FLAG_VENDOR: u8 = 0x80;
pub const AVP_FLAG_MANDATORY: u8 = 0x40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avp<'a> {
    pub code: u32,
    pub vendor: u32,
    pub flags: u8,
    pub data: &'a [u8],
}

/// Parses a run of AVPs; None if any is malformed.
pub fn parse_avps(mut input: &[u8]) -> Option<Vec<Avp<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let code = u32::from_be_bytes(input.get(..4)?.try_into().ok()?);
        let flags = *input.get(4)?;
        let len_bytes = input.get(5..8)?;
        let len = (usize::from(len_bytes[0]) << 16)
            | (usize::from(len_bytes[1]) << 8)
            | usize::from(len_bytes[2]);
        let (vendor, header) = if flags & AVP_FLAG_VENDOR != 0 {
            (u32::from_be_bytes(input.get(8..12)?.try_into().ok()?), 12)
        } else {
            (0, 8)
        };
        if len < header {
            return None;
        }
        let data = input.get(header..len)?;
        out.push(Avp {
            code,
            vendor,
            flags,
            data,
        });
        let padded = len.div_ceil(4) * 4;
        input = input.get(padded.min(input.len())..)?;
    }
    Some(out)
}

/// Appends one AVP (mandatory bit set), padded to four octets.
pub fn push_avp(out: &mut Vec<u8>, code: u32, vendor: Option<u32>, data: &[u8]) {
    let header = if vendor.is_some() { 12 } else { 8 };
    let len = header + data.len();
    let mut flags = AVP_FLAG_MANDATORY;
    if vendor.is_some() {
        flags |= AVP_FLAG_VENDOR;
    }
    out.extend_from_slice(&code.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    if let Some(v) = vendor {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(data);
    out.resize(out.len() + (len.div_ceil(4) * 4 - len), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peap_inner_headers_compressed_or_full() {
        assert_eq!(
            peap_inner_response(&[1, b'b', b'o', b'b']),
            Some((1, &b"bob"[..]))
        );
        let full = [2, 9, 0, 11, 33, 0x80, 0x03, 0, 2, 0, 1];
        let (typ, data) = peap_inner_response(&full).unwrap();
        assert_eq!(typ, TYPE_TLV);
        assert_eq!(tlv_result(data), Some(TLV_SUCCESS));
        assert_eq!(peap_inner_response(&[]), None);
        assert_eq!(tlv_result(&[0x80, 0x03, 0, 9, 1]), None);
    }

    #[test]
    fn mschapv2_response_parses_and_short_is_none() {
        let mut data = vec![MSCHAPV2_RESPONSE, 7, 0, 59, 49];
        data.extend_from_slice(&[0xaa; 16]);
        data.extend_from_slice(&[0; 8]);
        data.extend_from_slice(&[0xbb; 24]);
        data.push(0);
        data.extend_from_slice(b"alice");
        let (op, r) = parse_mschapv2(&data).unwrap();
        assert_eq!(op, MSCHAPV2_RESPONSE);
        let r = r.unwrap();
        assert_eq!((r.ms_id, r.name.as_str()), (7, "alice"));
        assert_eq!(r.nt_response, [0xbb; 24]);
        assert!(parse_mschapv2(&data[..40]).is_none());
        assert_eq!(parse_mschapv2(&[MSCHAPV2_SUCCESS]), Some((3, None)));
        let c = mschapv2_challenge(3, &[1; 16], "portico");
        assert_eq!(&c[..5], &[1, 3, 0, 28, 16]);
    }

    #[test]
    fn avps_round_trip_with_padding_and_vendor() {
        let mut buf = Vec::new();
        push_avp(&mut buf, AVP_USER_NAME, None, b"alice");
        push_avp(&mut buf, 11, Some(311), &[7; 16]);
        assert_eq!(buf.len(), 16 + 28);
        let avps = parse_avps(&buf).unwrap();
        assert_eq!(avps.len(), 2);
        assert_eq!(avps[0].data, b"alice");
        assert_eq!((avps[1].code, avps[1].vendor), (11, 311));
        assert!(parse_avps(&buf[..10]).is_none());
        assert!(parse_avps(&[0, 0, 0, 1, 0, 0, 0, 3]).is_none());
    }
}
