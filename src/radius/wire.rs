//! Raw bytes of RADIUS packets (RFC 2865, 2866, 3579, 5176, 5080): structure
//! checks, attribute walking, authenticators, Message-Authenticator, and the
//! two attribute-hiding schemes (User-Password and salt encryption).
//!
//! Pure functions over byte slices: no I/O, no state. Everything that reads
//! bytes from the network is bounds-checked and never panics.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rand::Rng;
use subtle::ConstantTimeEq;

pub const HEADER_LEN: usize = 20;
pub const MAX_PACKET_LEN: usize = 4096;
pub const ATTR_MESSAGE_AUTHENTICATOR: u8 = 80;
pub const ATTR_VENDOR_SPECIFIC: u8 = 26;
/// Largest value one attribute can hold (Length is one byte and counts the
/// 2-byte type/length header).
pub const MAX_ATTR_VALUE_LEN: usize = 253;
/// Largest value of a single sub-attribute inside one Vendor-Specific
/// attribute (4-byte vendor id and 2-byte sub-header come off the 253).
pub const MAX_VENDOR_VALUE_LEN: usize = MAX_ATTR_VALUE_LEN - 6;
/// Longest User-Password plaintext (RFC 2865 s5.2).
pub const MAX_PASSWORD_LEN: usize = 128;
/// Longest key `salt_encrypt` takes: salt (2) + ciphertext must fit in 253,
/// so at most 240 cipher bytes, one of which is the length byte.
pub const MAX_SALTED_KEY_LEN: usize = 239;

const AUTH_LEN: usize = 16;
const MA_VALUE_LEN: usize = 16;
const ZERO_AUTH: [u8; AUTH_LEN] = [0; AUTH_LEN];

/// RADIUS attribute types (RFC 2865, 2866, 2869) read or written by
/// number across the crate and its tools.
pub mod attr {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const NAS_PORT: u8 = 5;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const CALLED_STATION_ID: u8 = 30;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_DELAY_TIME: u8 = 41;
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const ACCT_SESSION_TIME: u8 = 46;
    pub const ACCT_INPUT_PACKETS: u8 = 47;
    pub const ACCT_OUTPUT_PACKETS: u8 = 48;
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
    pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
    pub const EVENT_TIMESTAMP: u8 = 55;
    pub const NAS_PORT_TYPE: u8 = 61;
}

/// RADIUS packet codes used by this crate.
pub mod code {
    pub const ACCESS_REQUEST: u8 = 1;
    pub const ACCESS_ACCEPT: u8 = 2;
    pub const ACCESS_REJECT: u8 = 3;
    pub const ACCOUNTING_REQUEST: u8 = 4;
    pub const ACCOUNTING_RESPONSE: u8 = 5;
    pub const ACCESS_CHALLENGE: u8 = 11;
    pub const STATUS_SERVER: u8 = 12;
    pub const DISCONNECT_REQUEST: u8 = 40;
    pub const DISCONNECT_ACK: u8 = 41;
    pub const DISCONNECT_NAK: u8 = 42;
    pub const COA_REQUEST: u8 = 43;
    pub const COA_ACK: u8 = 44;
    pub const COA_NAK: u8 = 45;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum WireError {
    #[error("datagram of {0} bytes is shorter than the 20-byte RADIUS header")]
    TooShort(usize),
    #[error("packet length {0} exceeds the RADIUS maximum of 4096 bytes")]
    TooLong(usize),
    #[error("header Length {header} is invalid for a {datagram}-byte datagram (must be 20 up to the datagram size)")]
    LengthMismatch { header: usize, datagram: usize },
    #[error("attribute at offset {offset} has invalid length {length}")]
    BadAttributeLength { offset: usize, length: u8 },
    #[error("attribute at offset {0} is cut off before its length byte")]
    TruncatedAttribute(usize),
    #[error("attribute value of {0} bytes is longer than one attribute can hold")]
    AttributeTooLong(usize),
    #[error("packet authenticator does not match the shared secret")]
    BadAuthenticator,
    #[error("Message-Authenticator does not match the shared secret")]
    BadMessageAuthenticator,
    #[error("attributes to encode already contain a Message-Authenticator")]
    DuplicateMessageAuthenticator,
    #[error("password of {0} bytes is longer than the 128-byte limit")]
    PasswordTooLong(usize),
    #[error("hidden User-Password of {0} bytes is not a multiple of 16 between 16 and 128")]
    BadHiddenPasswordLength(usize),
    #[error("key of {0} bytes is longer than the 239 bytes salt encryption can carry")]
    KeyTooLong(usize),
    #[error(
        "salt-encrypted value of {0} bytes is not a 2-byte salt plus a non-zero multiple of 16"
    )]
    BadSaltedLength(usize),
    #[error("decrypted key length {declared} exceeds the {available} bytes decrypted")]
    BadKeyLength { declared: usize, available: usize },
}

/// Structural check of a received datagram: at least 20 bytes, header Length
/// between 20 and 4096 and not larger than the datagram (bytes past Length
/// are padding and ignored, RFC 2865 s3), every attribute length >= 2 and
/// inside the packet. Returns the packet trimmed to Length.
pub fn check_structure(datagram: &[u8]) -> Result<&[u8], WireError> {
    let length = header_length(datagram).ok_or(WireError::TooShort(datagram.len()))?;
    if length > MAX_PACKET_LEN {
        return Err(WireError::TooLong(length));
    }
    let packet = datagram
        .get(..length)
        .filter(|_| length >= HEADER_LEN)
        .ok_or(WireError::LengthMismatch {
            header: length,
            datagram: datagram.len(),
        })?;
    check_tlvs(packet.get(HEADER_LEN..).unwrap_or(&[]), HEADER_LEN)?;
    Ok(packet)
}

/// Code of a packet (first byte), if there is one.
pub fn packet_code(packet: &[u8]) -> Option<u8> {
    packet.first().copied()
}

/// Identifier of a packet (second byte), if there is one.
pub fn packet_identifier(packet: &[u8]) -> Option<u8> {
    packet.get(1).copied()
}

/// The 16-byte Authenticator field, if the packet has a full header.
pub fn packet_authenticator(packet: &[u8]) -> Option<[u8; 16]> {
    packet.get(4..HEADER_LEN)?.try_into().ok()
}

/// Iterate attributes of a structurally checked packet: (type, value) pairs.
/// On an unchecked packet it stops at the first malformed attribute and
/// never reads past the header Length.
pub fn attributes(packet: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    Tlvs::of_packet(packet).map(|(_, typ, value)| (typ, value))
}

/// First attribute of this type.
pub fn find_attribute(packet: &[u8], typ: u8) -> Option<&[u8]> {
    attributes(packet).find(|(t, _)| *t == typ).map(|(_, v)| v)
}

/// Iterate Vendor-Specific sub-attributes (RFC 2865 s5.26 format: vendor id
/// u32, then vendor-type u8, vendor-length u8, value): (vendor_id,
/// vendor_type, value). A Vendor-Specific attribute whose content is not in
/// that format is skipped whole.
pub fn vendor_attributes(packet: &[u8]) -> impl Iterator<Item = (u32, u8, &[u8])> {
    attributes(packet)
        .filter(|(typ, _)| *typ == ATTR_VENDOR_SPECIFIC)
        .filter_map(|(_, value)| {
            let id: [u8; 4] = value.get(..4)?.try_into().ok()?;
            let body = value.get(4..)?;
            check_tlvs(body, 0).ok()?;
            Some((u32::from_be_bytes(id), body))
        })
        .flat_map(|(vendor_id, body)| {
            Tlvs::new(body, 0).map(move |(_, typ, value)| (vendor_id, typ, value))
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthenticator {
    Absent,
    Valid,
    Invalid,
}

/// RFC 3579 s3.2 / RFC 5176 s3.3: HMAC-MD5 over the packet with the
/// Message-Authenticator value zeroed. For Access-Request and Status-Server
/// the authenticator field is the packet's own; for Accounting-Request,
/// CoA-Request and Disconnect-Request the authenticator field is taken as 16
/// zero bytes for the HMAC. A Message-Authenticator of wrong length (not 16)
/// is Invalid, and so is one that appears twice, one in a packet that fails
/// `check_structure`, or one in a packet of any other code.
pub fn verify_request_message_authenticator(packet: &[u8], secret: &[u8]) -> MessageAuthenticator {
    let Ok(packet) = check_structure(packet) else {
        return MessageAuthenticator::Invalid;
    };
    let ma_offset = match locate_message_authenticator(packet) {
        MaLocation::Absent => return MessageAuthenticator::Absent,
        MaLocation::Malformed => return MessageAuthenticator::Invalid,
        MaLocation::At(offset) => offset,
    };
    let auth = match packet_code(packet) {
        Some(code::ACCESS_REQUEST | code::STATUS_SERVER) => match packet_authenticator(packet) {
            Some(a) => a,
            None => return MessageAuthenticator::Invalid,
        },
        Some(code::ACCOUNTING_REQUEST | code::COA_REQUEST | code::DISCONNECT_REQUEST) => ZERO_AUTH,
        _ => return MessageAuthenticator::Invalid,
    };
    if ma_matches(packet, &auth, ma_offset, secret) {
        MessageAuthenticator::Valid
    } else {
        MessageAuthenticator::Invalid
    }
}

/// RFC 2866 s3 / RFC 5176 s3.5: Request Authenticator of
/// Accounting-Request, CoA-Request, Disconnect-Request =
/// MD5(Code+Id+Length+16 zero octets+Attributes+Secret). Constant-time
/// compare. False for packets that fail `check_structure`.
pub fn verify_accounting_request_authenticator(packet: &[u8], secret: &[u8]) -> bool {
    let Ok(packet) = check_structure(packet) else {
        return false;
    };
    let (Some(head), Some(received), Some(attrs)) = (
        packet.get(..4),
        packet.get(4..HEADER_LEN),
        packet.get(HEADER_LEN..),
    ) else {
        return false;
    };
    let expected = md5_parts(&[head, &ZERO_AUTH, attrs, secret]);
    expected.ct_eq(received).into()
}

/// Build a reply (Access-Accept/Reject/Challenge, Accounting-Response,
/// CoA/Disconnect ACK/NAK): inserts Message-Authenticator as the FIRST
/// attribute (before `attributes`, which are already encoded TLVs), computes
/// it with the request authenticator in the authenticator field, then
/// computes the Response Authenticator
/// MD5(Code+Id+Length+RequestAuth+Attributes+Secret) over the final bytes.
/// Error if total > 4096 or `attributes` is not a clean run of TLVs.
pub fn encode_reply(
    code: u8,
    identifier: u8,
    request_authenticator: &[u8; 16],
    attributes: &[u8],
    secret: &[u8],
) -> Result<Vec<u8>, WireError> {
    let mut buf = start_packet(code, identifier, request_authenticator, attributes)?;
    fill_message_authenticator(&mut buf, secret);
    let response_auth = md5_parts(&[&buf, secret]);
    set_authenticator(&mut buf, &response_auth);
    Ok(buf)
}

/// Accounting-Response to an Accounting-Request. Its Message-Authenticator
/// is computed over a zeroed authenticator field, as for the Accounting-Request
/// itself: that is what FreeRADIUS (and so radclient and the NAS firmware
/// tested against it) sign and verify. The Response Authenticator is the usual
/// one. (An Accounting-Response to Status-Server uses `encode_reply`.)
pub fn encode_accounting_response(
    identifier: u8,
    request_authenticator: &[u8; 16],
    attributes: &[u8],
    secret: &[u8],
) -> Result<Vec<u8>, WireError> {
    let mut buf = start_packet(
        code::ACCOUNTING_RESPONSE,
        identifier,
        &ZERO_AUTH,
        attributes,
    )?;
    fill_message_authenticator(&mut buf, secret);
    set_authenticator(&mut buf, request_authenticator);
    let response_auth = md5_parts(&[&buf, secret]);
    set_authenticator(&mut buf, &response_auth);
    Ok(buf)
}

/// Build a request with Message-Authenticator first. Access-Request and
/// Status-Server (and any other code): `authenticator` is the random Request
/// Authenticator the caller chose (needed to encrypt User-Password before
/// calling). Accounting-Request, CoA-Request, Disconnect-Request: the
/// authenticator is computed (Message-Authenticator over the packet with a
/// zero authenticator first, then the Request Authenticator over the bytes
/// including it); the `authenticator` argument is ignored for those codes.
pub fn encode_request(
    code: u8,
    identifier: u8,
    authenticator: &[u8; 16],
    attributes: &[u8],
    secret: &[u8],
) -> Result<Vec<u8>, WireError> {
    if has_computed_request_authenticator(code) {
        let mut buf = start_packet(code, identifier, &ZERO_AUTH, attributes)?;
        fill_message_authenticator(&mut buf, secret);
        let request_auth = md5_parts(&[&buf, secret]);
        set_authenticator(&mut buf, &request_auth);
        Ok(buf)
    } else {
        let mut buf = start_packet(code, identifier, authenticator, attributes)?;
        fill_message_authenticator(&mut buf, secret);
        Ok(buf)
    }
}

/// Check a reply received for our request (CoA client, load tool): Response
/// Authenticator against the request authenticator; Message-Authenticator if
/// present must be valid (computed with the request authenticator). Matching
/// the Identifier to the request is the caller's job.
pub fn verify_reply(
    reply: &[u8],
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Result<(), WireError> {
    let packet = check_structure(reply)?;
    let (Some(head), Some(received), Some(attrs)) = (
        packet.get(..4),
        packet.get(4..HEADER_LEN),
        packet.get(HEADER_LEN..),
    ) else {
        return Err(WireError::TooShort(packet.len()));
    };
    let expected = md5_parts(&[head, request_authenticator, attrs, secret]);
    if !bool::from(expected.ct_eq(received)) {
        return Err(WireError::BadAuthenticator);
    }
    match locate_message_authenticator(packet) {
        MaLocation::Absent => Ok(()),
        MaLocation::Malformed => Err(WireError::BadMessageAuthenticator),
        MaLocation::At(offset) => {
            // Accounting-Response: signed over a zeroed authenticator (see
            // `encode_accounting_response`), or, to Status-Server, over ours.
            let zero_ok = packet_code(packet) == Some(code::ACCOUNTING_RESPONSE)
                && ma_matches(packet, &ZERO_AUTH, offset, secret);
            if zero_ok || ma_matches(packet, request_authenticator, offset, secret) {
                Ok(())
            } else {
                Err(WireError::BadMessageAuthenticator)
            }
        }
    }
}

/// Append one attribute TLV; error if value > 253 bytes.
pub fn push_attribute(buf: &mut Vec<u8>, typ: u8, value: &[u8]) -> Result<(), WireError> {
    let length = u8::try_from(value.len() + 2)
        .ok()
        .filter(|_| value.len() <= MAX_ATTR_VALUE_LEN)
        .ok_or(WireError::AttributeTooLong(value.len()))?;
    buf.reserve(value.len() + 2);
    buf.push(typ);
    buf.push(length);
    buf.extend_from_slice(value);
    Ok(())
}

/// Append one Vendor-Specific attribute holding one sub-attribute; error if
/// value > 247 bytes.
pub fn push_vendor_attribute(
    buf: &mut Vec<u8>,
    vendor_id: u32,
    vendor_type: u8,
    value: &[u8],
) -> Result<(), WireError> {
    if value.len() > MAX_VENDOR_VALUE_LEN {
        return Err(WireError::AttributeTooLong(value.len()));
    }
    // Both fit in a u8 after the check above.
    let sub_len = (value.len() + 2) as u8;
    let total = (value.len() + 8) as u8;
    buf.reserve(value.len() + 8);
    buf.push(ATTR_VENDOR_SPECIFIC);
    buf.push(total);
    buf.extend_from_slice(&vendor_id.to_be_bytes());
    buf.push(vendor_type);
    buf.push(sub_len);
    buf.extend_from_slice(value);
    Ok(())
}

/// Append a value split across as many attributes of `typ` as needed (253
/// bytes each), for EAP-Message (RFC 3579 s3.1). An empty value appends
/// nothing. Error if the value could not fit in any packet.
pub fn push_split_attribute(buf: &mut Vec<u8>, typ: u8, value: &[u8]) -> Result<(), WireError> {
    if value.len() > MAX_PACKET_LEN {
        return Err(WireError::TooLong(value.len()));
    }
    for chunk in value.chunks(MAX_ATTR_VALUE_LEN) {
        push_attribute(buf, typ, chunk)?;
    }
    Ok(())
}

/// Concatenate the values of every attribute of `typ`, in order (reassembles
/// EAP-Message).
pub fn join_attribute(packet: &[u8], typ: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, value) in attributes(packet).filter(|(t, _)| *t == typ) {
        out.extend_from_slice(value);
    }
    out
}

/// RFC 2865 s5.2 User-Password hiding (password up to 128 bytes, padded
/// with NULs to a multiple of 16; an empty password is one block of NULs).
pub fn encrypt_user_password(
    password: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, WireError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(WireError::PasswordTooLong(password.len()));
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut out = vec![0u8; padded_len];
    out[..password.len()].copy_from_slice(password);
    md5_stream_encrypt(&mut out, secret, &[authenticator]);
    Ok(out)
}

/// Reverse of `encrypt_user_password`; strips trailing NULs. Error if the
/// length is 0, not a multiple of 16, or > 128.
pub fn decrypt_user_password(
    hidden: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, WireError> {
    if hidden.is_empty() || !hidden.len().is_multiple_of(16) || hidden.len() > MAX_PASSWORD_LEN {
        return Err(WireError::BadHiddenPasswordLength(hidden.len()));
    }
    let mut out = hidden.to_vec();
    md5_stream_decrypt(&mut out, secret, &[authenticator]);
    let end = out.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    out.truncate(end);
    Ok(out)
}

/// RFC 2548 s2.4.2 salt encryption (MS-MPPE-Send/Recv-Key; the same scheme
/// as Tunnel-Password, RFC 2868 s3.5, whose tag byte the caller adds). The
/// plaintext is a length byte, `plain`, and zero padding to a multiple of
/// 16; the result is the 2-byte salt (high bit forced on, as both RFCs
/// require) followed by the ciphertext. Each salt must be unique per request
/// authenticator: see `random_salt`.
pub fn salt_encrypt(
    plain: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: u16,
) -> Result<Vec<u8>, WireError> {
    if plain.len() > MAX_SALTED_KEY_LEN {
        return Err(WireError::KeyTooLong(plain.len()));
    }
    let salt = (salt | 0x8000).to_be_bytes();
    let cipher_len = (plain.len() + 1).div_ceil(16) * 16;
    let mut out = vec![0u8; 2 + cipher_len];
    out[..2].copy_from_slice(&salt);
    out[2] = plain.len() as u8; // <= 239 after the check above
    out[3..3 + plain.len()].copy_from_slice(plain);
    md5_stream_encrypt(&mut out[2..], secret, &[request_authenticator, &salt]);
    Ok(out)
}

/// Reverse of `salt_encrypt`: returns the key named by the length byte.
pub fn salt_decrypt(
    cipher: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, WireError> {
    let bad = WireError::BadSaltedLength(cipher.len());
    let (salt, body) = match cipher.split_first_chunk::<2>() {
        Some((salt, body)) if !body.is_empty() && body.len().is_multiple_of(16) => (salt, body),
        _ => return Err(bad),
    };
    let mut plain = body.to_vec();
    md5_stream_decrypt(&mut plain, secret, &[request_authenticator, salt]);
    let declared = usize::from(plain.first().copied().unwrap_or(0));
    let available = plain.len() - 1;
    plain
        .get(1..1 + declared)
        .map(<[u8]>::to_vec)
        .ok_or(WireError::BadKeyLength {
            declared,
            available,
        })
}

/// A fresh random Request Authenticator (RFC 2865 s3: unpredictable).
pub fn random_authenticator() -> [u8; 16] {
    rand::thread_rng().gen()
}

/// A fresh random salt with the high bit set.
pub fn random_salt() -> u16 {
    rand::thread_rng().gen::<u16>() | 0x8000
}

// ---- internals ----

/// Header Length field, if the datagram has a full header.
fn header_length(datagram: &[u8]) -> Option<usize> {
    if datagram.len() < HEADER_LEN {
        return None;
    }
    let bytes: [u8; 2] = datagram.get(2..4)?.try_into().ok()?;
    Some(usize::from(u16::from_be_bytes(bytes)))
}

/// Walks type-length-value items, yielding (value offset, type, value).
/// Stops at the first malformed item; offsets are relative to `base`.
struct Tlvs<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Tlvs<'a> {
    fn new(bytes: &'a [u8], offset: usize) -> Self {
        Self {
            rest: bytes,
            offset,
        }
    }

    /// The attribute area of a packet, bounded by its header Length.
    fn of_packet(packet: &'a [u8]) -> Self {
        let end = header_length(packet).map_or(0, |l| l.min(packet.len()));
        let body = packet.get(HEADER_LEN..end).unwrap_or(&[]);
        Self::new(body, HEADER_LEN)
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = (usize, u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&typ, after_type) = self.rest.split_first()?;
        let length = usize::from(*after_type.first()?);
        let value = length.checked_sub(2).and_then(|n| after_type.get(1..1 + n));
        match (value, self.rest.get(length..)) {
            (Some(value), Some(rest)) => {
                let value_offset = self.offset + 2;
                self.offset += length;
                self.rest = rest;
                Some((value_offset, typ, value))
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// Check that `bytes` is exactly a run of well-formed TLVs. `base` is the
/// offset of `bytes` in the packet, for error messages.
fn check_tlvs(bytes: &[u8], base: usize) -> Result<(), WireError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let length = *bytes
            .get(offset + 1)
            .ok_or(WireError::TruncatedAttribute(base + offset))?;
        if length < 2 || offset + usize::from(length) > bytes.len() {
            return Err(WireError::BadAttributeLength {
                offset: base + offset,
                length,
            });
        }
        offset += usize::from(length);
    }
    Ok(())
}

enum MaLocation {
    Absent,
    /// Present more than once, or with a length other than 16.
    Malformed,
    /// Offset of the 16-byte value in the packet.
    At(usize),
}

fn locate_message_authenticator(packet: &[u8]) -> MaLocation {
    let mut found = MaLocation::Absent;
    for (offset, typ, value) in Tlvs::of_packet(packet) {
        if typ != ATTR_MESSAGE_AUTHENTICATOR {
            continue;
        }
        if value.len() != MA_VALUE_LEN || !matches!(found, MaLocation::Absent) {
            return MaLocation::Malformed;
        }
        found = MaLocation::At(offset);
    }
    found
}

/// HMAC-MD5 over the packet with `auth` in the authenticator field and the
/// Message-Authenticator value at `ma_offset` zeroed, compared in constant
/// time with the value in the packet.
fn ma_matches(packet: &[u8], auth: &[u8; 16], ma_offset: usize, secret: &[u8]) -> bool {
    let ma_end = ma_offset + MA_VALUE_LEN;
    let (Some(head), Some(before), Some(received), Some(after)) = (
        packet.get(..4),
        packet.get(HEADER_LEN..ma_offset),
        packet.get(ma_offset..ma_end),
        packet.get(ma_end..),
    ) else {
        return false;
    };
    let mut mac = hmac_md5(secret);
    for part in [head, auth, before, &[0u8; MA_VALUE_LEN], after] {
        mac.update(part);
    }
    mac.verify_slice(received).is_ok()
}

/// Header, a zeroed Message-Authenticator, then the caller's attributes.
fn start_packet(
    code: u8,
    identifier: u8,
    authenticator: &[u8; 16],
    attributes: &[u8],
) -> Result<Vec<u8>, WireError> {
    check_tlvs(attributes, HEADER_LEN + 2 + MA_VALUE_LEN)?;
    if Tlvs::new(attributes, 0).any(|(_, t, _)| t == ATTR_MESSAGE_AUTHENTICATOR) {
        return Err(WireError::DuplicateMessageAuthenticator);
    }
    let total = HEADER_LEN + 2 + MA_VALUE_LEN + attributes.len();
    if total > MAX_PACKET_LEN {
        return Err(WireError::TooLong(total));
    }
    let mut buf = Vec::with_capacity(total);
    buf.push(code);
    buf.push(identifier);
    buf.extend_from_slice(&(total as u16).to_be_bytes()); // <= 4096
    buf.extend_from_slice(authenticator);
    buf.push(ATTR_MESSAGE_AUTHENTICATOR);
    buf.push((2 + MA_VALUE_LEN) as u8);
    buf.extend_from_slice(&[0u8; MA_VALUE_LEN]);
    buf.extend_from_slice(attributes);
    Ok(buf)
}

/// Fill the zeroed Message-Authenticator that `start_packet` placed first,
/// computed over the packet as it stands (authenticator field included).
fn fill_message_authenticator(buf: &mut [u8], secret: &[u8]) {
    let mut mac = hmac_md5(secret);
    mac.update(buf);
    let value = mac.finalize().into_bytes();
    let start = HEADER_LEN + 2;
    if let Some(slot) = buf.get_mut(start..start + MA_VALUE_LEN) {
        slot.copy_from_slice(&value);
    }
}

fn set_authenticator(buf: &mut [u8], auth: &[u8; 16]) {
    if let Some(slot) = buf.get_mut(4..HEADER_LEN) {
        slot.copy_from_slice(auth);
    }
}

fn has_computed_request_authenticator(code: u8) -> bool {
    matches!(
        code,
        code::ACCOUNTING_REQUEST | code::COA_REQUEST | code::DISCONNECT_REQUEST
    )
}

type HmacMd5 = Hmac<Md5>;

/// HMAC-MD5 keyed with `secret`. Keying costs two MD5 blocks (the padded
/// key XOR ipad and opad), as much as hashing a whole small packet, and
/// every request is checked and answered with the same few NAS secrets: so
/// each thread keeps the keyed states of the secrets it saw last and clones
/// one (a copy of two MD5 states) instead of keying again.
fn hmac_md5(secret: &[u8]) -> HmacMd5 {
    const KEPT: usize = 4;
    thread_local! {
        static KEYED: std::cell::RefCell<Vec<(Vec<u8>, HmacMd5)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    KEYED.with(|keyed| {
        let Ok(mut keyed) = keyed.try_borrow_mut() else {
            return key_hmac_md5(secret);
        };
        if let Some(i) = keyed.iter().position(|(s, _)| s.as_slice() == secret) {
            // Most recent first, so the common case is one comparison.
            keyed[..=i].rotate_right(1);
            return keyed[0].1.clone();
        }
        let mac = key_hmac_md5(secret);
        keyed.insert(0, (secret.to_vec(), mac.clone()));
        keyed.truncate(KEPT);
        mac
    })
}

/// RFC 2104 zero-pads keys up to the 64-byte block and first hashes longer
/// ones, which is exactly what `new_from_slice` would do, without its
/// fallible signature.
fn key_hmac_md5(secret: &[u8]) -> HmacMd5 {
    let mut key = [0u8; 64];
    if secret.len() > key.len() {
        key[..16].copy_from_slice(&Md5::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    <HmacMd5 as Mac>::new(&key.into())
}

fn md5_parts(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The MD5 stream of RFC 2865 s5.2 and RFC 2548 s2.4.2, in place:
/// b1 = MD5(S + seed), c(i) = p(i) xor b(i), b(i+1) = MD5(S + c(i)).
/// `data` must be a multiple of 16 bytes.
fn md5_stream_encrypt(data: &mut [u8], secret: &[u8], seed: &[&[u8]]) {
    let mut prev: [u8; 16] = md5_seed(secret, seed);
    for block in data.chunks_exact_mut(16) {
        for (b, k) in block.iter_mut().zip(prev) {
            *b ^= k;
        }
        prev = md5_parts(&[secret, block]);
    }
}

fn md5_stream_decrypt(data: &mut [u8], secret: &[u8], seed: &[&[u8]]) {
    let mut key: [u8; 16] = md5_seed(secret, seed);
    for block in data.chunks_exact_mut(16) {
        let next = md5_parts(&[secret, block]);
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        key = next;
    }
}

fn md5_seed(secret: &[u8], seed: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(secret);
    for s in seed {
        h.update(s);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {

    #[test]
    fn accounting_response_is_signed_over_a_zero_authenticator() {
        let req_auth = [0x5au8; 16];
        let reply = encode_accounting_response(9, &req_auth, &[], b"s").unwrap();
        assert_eq!(reply[0], code::ACCOUNTING_RESPONSE);
        assert_eq!(reply[HEADER_LEN], ATTR_MESSAGE_AUTHENTICATOR);
        assert!(verify_reply(&reply, &req_auth, b"s").is_ok());
        assert!(verify_reply(&reply, &[0u8; 16], b"s").is_err());
        assert!(verify_reply(&reply, &req_auth, b"other").is_err());
    }

    use super::*;
    use radius::core::avp::AVP;
    use radius::core::code::Code;
    use radius::core::packet::Packet;
    use radius::core::{rfc2865, rfc2866};
    use std::net::Ipv4Addr;

    const SECRET: &[u8] = b"testing123";

    // Expected packets computed independently with Python's hashlib and hmac
    // modules (header, zeroed Message-Authenticator first, HMAC-MD5 filled
    // in, then the MD5 authenticator where the code needs one).
    /// Access-Request, id 0x2a, authenticator 00..0f, User-Name "alice",
    /// NAS-IP-Address 192.0.2.1, User-Password "s3cret" hidden.
    const PY_ACCESS_REQUEST: &str = "012a0045000102030405060708090a0b0c0d0e0f5012add21aa4a01fcfce5ee2f3c3d99331700107616c6963650406c00002010212e5dd6ab811897a1a104607240014828b";
    const PY_HIDDEN_S3CRET: &str = "e5dd6ab811897a1a104607240014828b";
    /// Disconnect-Request, id 7, User-Name "bob", Acct-Session-Id
    /// "5A1B2C3D", NAS-IP-Address 192.0.2.1.
    const PY_DISCONNECT: &str = "2807003ba83a269ba39006303b66d78be7c042f65012c2cb259d0e7780c988c19f3233fcf1fa0105626f622c0a35413142324333440406c0000201";
    /// Access-Accept answering PY_ACCESS_REQUEST: Session-Timeout 3600,
    /// Reply-Message "hi".
    const PY_ACCEPT: &str = "022a00304564964c250c0c68a101fa97aa02b7ee501238305c0b723f6ba86b734590cb4143f91b0600000e1012046869";

    fn auth0() -> [u8; 16] {
        core::array::from_fn(|i| i as u8)
    }

    fn attrs(items: &[(u8, &[u8])]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (t, v) in items {
            push_attribute(&mut buf, *t, v).unwrap();
        }
        buf
    }

    /// Header plus raw attribute bytes, with a correct Length.
    fn raw_packet(code: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![code, 1, 0, 0];
        p.extend(auth0());
        p.extend_from_slice(body);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    // ---- structure ----

    #[test]
    fn structure_accepts_valid_and_trims_padding() {
        let p = raw_packet(1, &attrs(&[(1, b"alice")]));
        assert_eq!(check_structure(&p).unwrap(), &p[..]);
        let mut padded = p.clone();
        padded.extend([0xff; 7]);
        assert_eq!(check_structure(&padded).unwrap(), &p[..]);
        let bare = raw_packet(1, &[]);
        assert_eq!(check_structure(&bare).unwrap().len(), HEADER_LEN);
    }

    #[test]
    fn structure_rejects_bad_lengths() {
        let p = raw_packet(1, &attrs(&[(1, b"alice")]));
        assert_eq!(check_structure(&[]), Err(WireError::TooShort(0)));
        assert_eq!(check_structure(&p[..19]), Err(WireError::TooShort(19)));
        // Header says more than the datagram holds.
        assert_eq!(
            check_structure(&p[..p.len() - 1]),
            Err(WireError::LengthMismatch {
                header: p.len(),
                datagram: p.len() - 1
            })
        );
        // Header Length below 20.
        let mut small = p.clone();
        small[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            check_structure(&small),
            Err(WireError::LengthMismatch {
                header: 19,
                datagram: p.len()
            })
        );
        // Header Length above 4096, even with a big enough datagram.
        let mut big = vec![0u8; 5000];
        big[2..4].copy_from_slice(&4097u16.to_be_bytes());
        assert_eq!(check_structure(&big), Err(WireError::TooLong(4097)));
        big[2..4].copy_from_slice(&4096u16.to_be_bytes());
        // 4076 zero bytes are attributes of type 0 length 0.
        assert!(matches!(
            check_structure(&big),
            Err(WireError::BadAttributeLength {
                offset: 20,
                length: 0
            })
        ));
    }

    #[test]
    fn structure_rejects_bad_attribute_lengths() {
        for (body, err) in [
            (
                vec![1u8, 0],
                WireError::BadAttributeLength {
                    offset: 20,
                    length: 0,
                },
            ),
            (
                vec![1u8, 1, 0],
                WireError::BadAttributeLength {
                    offset: 20,
                    length: 1,
                },
            ),
            (
                vec![1u8, 3, b'a', 1, 9, b'b'],
                WireError::BadAttributeLength {
                    offset: 23,
                    length: 9,
                },
            ),
            (vec![1u8, 3, b'a', 7], WireError::TruncatedAttribute(23)),
        ] {
            let p = raw_packet(1, &body);
            assert_eq!(check_structure(&p), Err(err));
        }
    }

    #[test]
    fn attribute_iteration_and_lookup() {
        let mut body = attrs(&[
            (1, b"alice"),
            (79, b"one"),
            (79, b"two"),
            (4, &[10, 0, 0, 1]),
        ]);
        push_vendor_attribute(&mut body, 311, 16, b"key").unwrap();
        let p = raw_packet(1, &body);
        let all: Vec<_> = attributes(&p).map(|(t, _)| t).collect();
        assert_eq!(all, vec![1, 79, 79, 4, 26]);
        assert_eq!(find_attribute(&p, 1), Some(&b"alice"[..]));
        assert_eq!(find_attribute(&p, 79), Some(&b"one"[..]));
        assert_eq!(find_attribute(&p, 2), None);
        assert_eq!(join_attribute(&p, 79), b"onetwo");
        let vsas: Vec<_> = vendor_attributes(&p).collect();
        assert_eq!(vsas, vec![(311, 16, &b"key"[..])]);
        // Iteration ignores bytes past the header Length.
        let mut padded = p.clone();
        padded.extend([1, 4, b'x', b'y']);
        assert_eq!(attributes(&padded).count(), 5);
    }

    #[test]
    fn vendor_attributes_several_per_vsa_and_malformed_skipped() {
        let mut body = Vec::new();
        // One VSA with two sub-attributes.
        let mut vsa = 14122u32.to_be_bytes().to_vec();
        vsa.extend([1, 5, b'a', b'b', b'c', 2, 2]);
        push_attribute(&mut body, 26, &vsa).unwrap();
        // Too short for a vendor id.
        push_attribute(&mut body, 26, &[0, 0, 1]).unwrap();
        // Sub-attribute length runs past the VSA.
        push_attribute(&mut body, 26, &[0, 0, 0, 9, 1, 9, b'x']).unwrap();
        // Sub-attribute length below 2.
        push_attribute(&mut body, 26, &[0, 0, 0, 9, 1, 1]).unwrap();
        push_vendor_attribute(&mut body, 9, 1, b"cisco-avpair").unwrap();
        let p = raw_packet(1, &body);
        let vsas: Vec<_> = vendor_attributes(&p).collect();
        assert_eq!(
            vsas,
            vec![
                (14122, 1, &b"abc"[..]),
                (14122, 2, &b""[..]),
                (9, 1, &b"cisco-avpair"[..])
            ]
        );
    }

    // ---- known packets ----

    #[test]
    fn access_request_matches_independent_computation() {
        let hidden = encrypt_user_password(b"s3cret", SECRET, &auth0()).unwrap();
        assert_eq!(hex::encode(&hidden), PY_HIDDEN_S3CRET);
        let body = attrs(&[(1, b"alice"), (4, &[192, 0, 2, 1]), (2, &hidden)]);
        let p = encode_request(code::ACCESS_REQUEST, 0x2a, &auth0(), &body, SECRET).unwrap();
        assert_eq!(hex::encode(&p), PY_ACCESS_REQUEST);
        assert_eq!(
            verify_request_message_authenticator(&p, SECRET),
            MessageAuthenticator::Valid
        );
        assert_eq!(
            verify_request_message_authenticator(&p, b"testing124"),
            MessageAuthenticator::Invalid
        );
        // Message-Authenticator is the first attribute.
        assert_eq!(attributes(&p).next().map(|(t, _)| t), Some(80));
        let pw = decrypt_user_password(find_attribute(&p, 2).unwrap(), SECRET, &auth0()).unwrap();
        assert_eq!(pw, b"s3cret");
        // Any flipped bit outside the MA value invalidates it.
        for i in (0..p.len()).filter(|i| !(22..38).contains(i)) {
            let mut t = p.clone();
            t[i] ^= 0x01;
            if i == 0 {
                // Code changes to Accounting-Response: not a request.
                assert_eq!(
                    verify_request_message_authenticator(&t, SECRET),
                    MessageAuthenticator::Invalid
                );
                continue;
            }
            assert_ne!(
                verify_request_message_authenticator(&t, SECRET),
                MessageAuthenticator::Valid,
                "byte {i}"
            );
        }
        // The radius crate decodes it and recovers the password too.
        let decoded = Packet::decode(&p, SECRET).unwrap();
        assert_eq!(
            rfc2865::lookup_user_password(&decoded).unwrap().unwrap(),
            b"s3cret"
        );
    }

    #[test]
    fn disconnect_request_rfc5176() {
        let body = attrs(&[(1, b"bob"), (44, b"5A1B2C3D"), (4, &[192, 0, 2, 1])]);
        let p = encode_request(code::DISCONNECT_REQUEST, 7, &[0xee; 16], &body, SECRET).unwrap();
        assert_eq!(hex::encode(&p), PY_DISCONNECT);
        assert!(verify_accounting_request_authenticator(&p, SECRET));
        assert!(!verify_accounting_request_authenticator(&p, b"other"));
        assert_eq!(
            verify_request_message_authenticator(&p, SECRET),
            MessageAuthenticator::Valid
        );
        assert!(Packet::is_authentic_request(&p, SECRET));
        let mut t = p.clone();
        let last = t.len() - 1;
        t[last] ^= 0x80;
        assert!(!verify_accounting_request_authenticator(&t, SECRET));
        assert!(!Packet::is_authentic_request(&t, SECRET));
        assert_eq!(
            verify_request_message_authenticator(&t, SECRET),
            MessageAuthenticator::Invalid
        );
        // A Disconnect-ACK from the NAS, checked the way the CoA client will.
        let ack = encode_reply(
            code::DISCONNECT_ACK,
            7,
            &packet_authenticator(&p).unwrap(),
            &[],
            SECRET,
        )
        .unwrap();
        assert_eq!(
            verify_reply(&ack, &packet_authenticator(&p).unwrap(), SECRET),
            Ok(())
        );
        assert!(Packet::is_authentic_response(&ack, &p, SECRET));
    }

    #[test]
    fn coa_and_accounting_requests_agree_with_radius_crate() {
        for code in [code::COA_REQUEST, code::ACCOUNTING_REQUEST] {
            let body = attrs(&[(44, b"sess-1"), (8, &[10, 1, 2, 3])]);
            let p = encode_request(code, 200, &[0; 16], &body, SECRET).unwrap();
            assert!(Packet::is_authentic_request(&p, SECRET), "code {code}");
            assert!(verify_accounting_request_authenticator(&p, SECRET));
            assert_eq!(
                verify_request_message_authenticator(&p, SECRET),
                MessageAuthenticator::Valid
            );
        }
    }

    #[test]
    fn accounting_request_from_radius_crate_verifies() {
        let mut req = Packet::new_with_identifier(Code::AccountingRequest, SECRET, 9);
        rfc2865::add_user_name(&mut req, "carol");
        rfc2866::add_acct_session_id(&mut req, "0001");
        rfc2865::add_nas_ip_address(&mut req, &Ipv4Addr::new(192, 0, 2, 9));
        let bytes = req.encode().unwrap();
        assert!(verify_accounting_request_authenticator(&bytes, SECRET));
        assert!(!verify_accounting_request_authenticator(&bytes, b"wrong"));
        assert_eq!(
            verify_request_message_authenticator(&bytes, SECRET),
            MessageAuthenticator::Absent
        );
        assert_eq!(find_attribute(&bytes, 44), Some(&b"0001"[..]));
    }

    #[test]
    fn access_accept_matches_independent_computation_and_radius_crate() {
        let request = hex::decode(PY_ACCESS_REQUEST).unwrap();
        let body = attrs(&[(27, &3600u32.to_be_bytes()), (18, b"hi")]);
        let reply = encode_reply(code::ACCESS_ACCEPT, 0x2a, &auth0(), &body, SECRET).unwrap();
        assert_eq!(hex::encode(&reply), PY_ACCEPT);
        assert!(Packet::is_authentic_response(&reply, &request, SECRET));
        assert_eq!(verify_reply(&reply, &auth0(), SECRET), Ok(()));
        assert_eq!(
            verify_reply(&reply, &[1; 16], SECRET),
            Err(WireError::BadAuthenticator)
        );
        assert_eq!(
            verify_reply(&reply, &auth0(), b"nope"),
            Err(WireError::BadAuthenticator)
        );
    }

    #[test]
    fn reply_from_radius_crate_verifies() {
        let mut req = Packet::new_with_identifier(Code::AccessRequest, SECRET, 3);
        rfc2865::add_user_name(&mut req, "dave");
        rfc2865::add_user_password(&mut req, b"a fairly long password!!").unwrap();
        let req_bytes = req.encode().unwrap();
        let req_auth = packet_authenticator(&req_bytes).unwrap();
        // Our decryption agrees with the crate's encryption.
        let hidden = find_attribute(&req_bytes, 2).unwrap();
        assert_eq!(
            decrypt_user_password(hidden, SECRET, &req_auth).unwrap(),
            b"a fairly long password!!"
        );
        let mut reply = req.make_response_packet(Code::AccessReject);
        rfc2865::add_session_timeout(&mut reply, 5);
        let reply_bytes = reply.encode().unwrap();
        assert_eq!(verify_reply(&reply_bytes, &req_auth, SECRET), Ok(()));
        assert_eq!(
            verify_reply(&reply_bytes, &[0; 16], SECRET),
            Err(WireError::BadAuthenticator)
        );
    }

    #[test]
    fn verify_reply_checks_message_authenticator() {
        let auth = [7u8; 16];
        let mut reply = encode_reply(
            code::ACCESS_CHALLENGE,
            1,
            &auth,
            &attrs(&[(24, b"state")]),
            SECRET,
        )
        .unwrap();
        // Corrupt the MA, then re-sign the Response Authenticator so only the
        // MA is wrong.
        reply[30] ^= 0xff;
        let mut resigned = reply.clone();
        resigned[4..20].copy_from_slice(&auth);
        let ra = md5_parts(&[&resigned, SECRET]);
        reply[4..20].copy_from_slice(&ra);
        assert_eq!(
            verify_reply(&reply, &auth, SECRET),
            Err(WireError::BadMessageAuthenticator)
        );
    }

    #[test]
    fn status_server_and_our_authenticator_choice() {
        let auth = random_authenticator();
        let p = encode_request(code::STATUS_SERVER, 1, &auth, &[], SECRET).unwrap();
        assert_eq!(packet_authenticator(&p), Some(auth));
        assert_eq!(packet_code(&p), Some(12));
        assert_eq!(packet_identifier(&p), Some(1));
        assert_eq!(
            verify_request_message_authenticator(&p, SECRET),
            MessageAuthenticator::Valid
        );
    }

    #[test]
    fn message_authenticator_edge_cases() {
        // Absent.
        let p = raw_packet(1, &attrs(&[(1, b"x")]));
        assert_eq!(
            verify_request_message_authenticator(&p, SECRET),
            MessageAuthenticator::Absent
        );
        // Wrong length.
        let p = raw_packet(1, &attrs(&[(80, &[0; 15])]));
        assert_eq!(
            verify_request_message_authenticator(&p, SECRET),
            MessageAuthenticator::Invalid
        );
        // A valid one followed by a second copy.
        let good = encode_request(1, 1, &auth0(), &[], SECRET).unwrap();
        let ma = find_attribute(&good, 80).unwrap().to_vec();
        let mut body = good[HEADER_LEN..].to_vec();
        push_attribute(&mut body, 80, &ma).unwrap();
        let twice = raw_packet(1, &body);
        assert_eq!(
            verify_request_message_authenticator(&twice, SECRET),
            MessageAuthenticator::Invalid
        );
        // Reply codes are not requests.
        let reply = encode_reply(2, 1, &auth0(), &[], SECRET).unwrap();
        assert_eq!(
            verify_request_message_authenticator(&reply, SECRET),
            MessageAuthenticator::Invalid
        );
        // Structurally broken.
        assert_eq!(
            verify_request_message_authenticator(&good[..30], SECRET),
            MessageAuthenticator::Invalid
        );
    }

    #[test]
    fn encoders_reject_bad_input() {
        let too_big = vec![0u8; MAX_PACKET_LEN];
        let mut body = Vec::new();
        push_split_attribute(&mut body, 79, &too_big[..4050]).unwrap();
        assert!(matches!(
            encode_reply(2, 1, &auth0(), &body, SECRET),
            Err(WireError::TooLong(_))
        ));
        assert!(matches!(
            encode_request(4, 1, &auth0(), &body, SECRET),
            Err(WireError::TooLong(_))
        ));
        // Largest body that still fits.
        let fits = [1u8, 2].repeat((MAX_PACKET_LEN - HEADER_LEN - 18) / 2);
        assert_eq!(
            encode_reply(2, 1, &auth0(), &fits, SECRET).unwrap().len(),
            MAX_PACKET_LEN
        );
        assert!(matches!(
            encode_reply(2, 1, &auth0(), &[1, 5, 0], SECRET),
            Err(WireError::BadAttributeLength { .. })
        ));
        assert_eq!(
            encode_reply(2, 1, &auth0(), &[1], SECRET),
            Err(WireError::TruncatedAttribute(38))
        );
        let with_ma = attrs(&[(80, &[0; 16])]);
        assert_eq!(
            encode_request(1, 1, &auth0(), &with_ma, SECRET),
            Err(WireError::DuplicateMessageAuthenticator)
        );
    }

    // ---- attribute builders ----

    #[test]
    fn push_limits() {
        let mut buf = Vec::new();
        push_attribute(&mut buf, 18, &[b'a'; 253]).unwrap();
        assert_eq!(buf.len(), 255);
        assert_eq!(buf[1], 255);
        assert_eq!(
            push_attribute(&mut buf, 18, &[b'a'; 254]),
            Err(WireError::AttributeTooLong(254))
        );
        assert_eq!(buf.len(), 255, "failed push leaves the buffer alone");

        let mut buf = Vec::new();
        push_vendor_attribute(&mut buf, 311, 16, &[1; 247]).unwrap();
        assert_eq!(buf.len(), 255);
        assert_eq!(&buf[..8], &[26, 255, 0, 0, 1, 0x37, 16, 249]);
        assert_eq!(
            push_vendor_attribute(&mut buf, 311, 16, &[1; 248]),
            Err(WireError::AttributeTooLong(248))
        );
    }

    #[test]
    fn split_and_join_eap_message() {
        let eap: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let mut body = Vec::new();
        push_split_attribute(&mut body, 79, &eap).unwrap();
        let p = raw_packet(1, &body);
        let sizes: Vec<_> = attributes(&p).map(|(_, v)| v.len()).collect();
        assert_eq!(sizes, vec![253, 253, 94]);
        assert_eq!(join_attribute(&p, 79), eap);
        let mut empty = Vec::new();
        push_split_attribute(&mut empty, 79, &[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(
            push_split_attribute(&mut empty, 79, &[0; 4097]),
            Err(WireError::TooLong(4097))
        );
    }

    // ---- hiding ----

    #[test]
    fn user_password_round_trips_and_matches_radius_crate() {
        let auth = auth0();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 100, 128] {
            let pw: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let hidden = encrypt_user_password(&pw, SECRET, &auth).unwrap();
            assert_eq!(hidden.len(), len.div_ceil(16).max(1) * 16);
            let theirs = AVP::from_user_password(2, &pw, SECRET, &auth).unwrap();
            assert_eq!(hidden, theirs.encode_bytes(), "len {len}");
            assert_eq!(decrypt_user_password(&hidden, SECRET, &auth).unwrap(), pw);
        }
        assert_eq!(
            encrypt_user_password(&[1; 129], SECRET, &auth),
            Err(WireError::PasswordTooLong(129))
        );
        for bad in [0usize, 15, 17, 144] {
            assert_eq!(
                decrypt_user_password(&vec![0; bad], SECRET, &auth),
                Err(WireError::BadHiddenPasswordLength(bad))
            );
        }
    }

    #[test]
    fn salt_encryption_round_trips() {
        let auth = auth0();
        for len in [0usize, 1, 15, 16, 31, 32, 64, 239] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let c = salt_encrypt(&key, SECRET, &auth, 0x1234).unwrap();
            assert_eq!(&c[..2], &[0x92, 0x34], "high bit forced on");
            assert_eq!(c.len(), 2 + (len + 1).div_ceil(16) * 16);
            assert!(c.len() <= MAX_ATTR_VALUE_LEN);
            assert_eq!(salt_decrypt(&c, SECRET, &auth).unwrap(), key);
            // A different request authenticator gives garbage or an error.
            assert_ne!(salt_decrypt(&c, SECRET, &[9; 16]).ok(), Some(key));
        }
        assert_eq!(
            salt_encrypt(&[0; 240], SECRET, &auth, 1),
            Err(WireError::KeyTooLong(240))
        );
        // MS-MPPE keys (32 bytes for EAP) fit a vendor attribute.
        let c = salt_encrypt(&[5; 32], SECRET, &auth, random_salt()).unwrap();
        assert!(c[0] & 0x80 != 0);
        push_vendor_attribute(&mut Vec::new(), 311, 16, &c).unwrap();
    }

    #[test]
    fn salt_decrypt_rejects_malformed() {
        let auth = auth0();
        for bad in [0usize, 1, 2, 17, 19, 33] {
            assert_eq!(
                salt_decrypt(&vec![0x80; bad], SECRET, &auth),
                Err(WireError::BadSaltedLength(bad))
            );
        }
        // Length byte larger than what was decrypted: flipping bits of the
        // first cipher byte flips the same bits of the length byte.
        let mut c = salt_encrypt(&[1; 15], SECRET, &auth, 0x8001).unwrap();
        c[2] ^= 15 ^ 200;
        assert_eq!(
            salt_decrypt(&c, SECRET, &auth),
            Err(WireError::BadKeyLength {
                declared: 200,
                available: 15
            })
        );
    }

    #[test]
    fn salt_decrypt_reads_radius_crate_tunnel_password() {
        // The radius crate's Tunnel-Password takes the plaintext as given, so
        // hand it the RFC 2868 layout (length byte first); its value is
        // tag + salt + ciphertext.
        let auth = auth0();
        let password = b"tunnel-secret";
        let mut plain = vec![password.len() as u8];
        plain.extend_from_slice(password);
        let avp = AVP::from_tunnel_password(69, None, &plain, SECRET, &auth).unwrap();
        let value = avp.encode_bytes();
        assert_eq!(salt_decrypt(&value[1..], SECRET, &auth).unwrap(), password);
    }

    #[test]
    fn hmac_key_handling_matches_new_from_slice() {
        // Twice round, more keys than the per-thread cache keeps: keyed
        // states served from the cache must equal freshly keyed ones.
        for len in [
            0usize, 1, 10, 63, 64, 65, 100, 300, 0, 1, 10, 63, 64, 65, 100, 300, 1, 1,
        ] {
            let key: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let mut a = hmac_md5(&key);
            a.update(b"message");
            let mut b = <HmacMd5 as Mac>::new_from_slice(&key).unwrap();
            b.update(b"message");
            assert_eq!(
                a.finalize().into_bytes(),
                b.finalize().into_bytes(),
                "len {len}"
            );
        }
    }

    // ---- robustness ----

    /// Small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng64(u64);
    impl Rng64 {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn exercise(buf: &[u8]) {
        let _ = check_structure(buf);
        let _ = attributes(buf).count();
        let _ = vendor_attributes(buf).count();
        let _ = find_attribute(buf, 80);
        let _ = join_attribute(buf, 79);
        let _ = verify_request_message_authenticator(buf, SECRET);
        let _ = verify_accounting_request_authenticator(buf, SECRET);
        let _ = verify_reply(buf, &auth0(), SECRET);
        let _ = packet_authenticator(buf);
        let _ = decrypt_user_password(buf, SECRET, &auth0());
        let _ = salt_decrypt(buf, SECRET, &auth0());
        let _ = encode_reply(2, 1, &auth0(), buf, SECRET);
        let _ = encode_request(4, 1, &auth0(), buf, SECRET);
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut rng = Rng64(0x9e37_79b9_7f4a_7c15);
        // Pure noise of every small length, with plausible and absurd
        // header lengths.
        for _ in 0..3000 {
            let len = rng.below(300);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 4 && rng.below(2) == 0 {
                let claimed = (rng.below(len + 8)) as u16;
                buf[2..4].copy_from_slice(&claimed.to_be_bytes());
            }
            exercise(&buf);
        }
        // Mutations of valid packets: flipped bytes, truncation, extension.
        let seeds = [
            hex::decode(PY_ACCESS_REQUEST).unwrap(),
            hex::decode(PY_DISCONNECT).unwrap(),
            hex::decode(PY_ACCEPT).unwrap(),
        ];
        for _ in 0..3000 {
            let mut buf = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(buf.len());
                buf[i] = rng.next() as u8;
            }
            match rng.below(3) {
                0 => buf.truncate(rng.below(buf.len() + 1)),
                1 => buf.extend((0..rng.below(20)).map(|_| rng.next() as u8)),
                _ => {}
            }
            exercise(&buf);
        }
        // A maximal datagram and an oversized one.
        exercise(&[0xff; MAX_PACKET_LEN]);
        exercise(&[0x02; MAX_PACKET_LEN + 100]);
    }
}
