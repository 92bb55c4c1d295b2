//! EAP packets (RFC 3748 s4) and the framing shared by the TLS-based
//! methods (RFC 5216 s3.1, RFC 5281 s9.2, PEAP): a flags octet with the L,
//! M and S bits (and the PEAP/TTLS version in the low bits), an optional
//! four-octet TLS Message Length, then TLS record bytes. Pure codecs.

pub const CODE_REQUEST: u8 = 1;
pub const CODE_RESPONSE: u8 = 2;
pub const CODE_SUCCESS: u8 = 3;
pub const CODE_FAILURE: u8 = 4;

pub const TYPE_IDENTITY: u8 = 1;
pub const TYPE_NOTIFICATION: u8 = 2;
pub const TYPE_NAK: u8 = 3;
pub const TYPE_MD5: u8 = 4;
pub const TYPE_TLS: u8 = 13;
pub const TYPE_TTLS: u8 = 21;
pub const TYPE_PEAP: u8 = 25;
pub const TYPE_MSCHAPV2: u8 = 26;
pub const TYPE_TLV: u8 = 33;

pub const FLAG_LENGTH: u8 = 0x80;
pub const FLAG_MORE: u8 = 0x40;
pub const FLAG_START: u8 = 0x20;

/// The largest TLS message we reassemble from fragments: a client
/// certificate chain fits with room to spare, a flood does not.
pub const MAX_TLS_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EapError {
    #[error("EAP packet of {0} bytes is shorter than its header")]
    TooShort(usize),
    #[error("EAP Length {declared} does not match the {actual} bytes received")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("EAP code {0} is not a Response")]
    NotResponse(u8),
    #[error("EAP Response without a Type")]
    NoType,
    #[error("TLS message length field cut off")]
    TruncatedTlsLength,
    #[error("TLS message length {0} is over the limit")]
    TlsMessageTooLong(usize),
}

/// A parsed EAP Response: what the peer sent us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    pub identifier: u8,
    pub typ: u8,
    /// Type-Data: everything after the Type octet.
    pub data: &'a [u8],
}

/// Parses the reassembled EAP-Message of an Access-Request. The Length
/// field must match exactly: RFC 3579 s3.1 lets a server drop anything else.
pub fn parse_response(bytes: &[u8]) -> Result<Response<'_>, EapError> {
    let header = bytes.get(..4).ok_or(EapError::TooShort(bytes.len()))?;
    let declared = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if declared != bytes.len() {
        return Err(EapError::LengthMismatch {
            declared,
            actual: bytes.len(),
        });
    }
    if header[0] != CODE_RESPONSE {
        return Err(EapError::NotResponse(header[0]));
    }
    let typ = *bytes.get(4).ok_or(EapError::NoType)?;
    Ok(Response {
        identifier: header[1],
        typ,
        data: bytes.get(5..).unwrap_or(&[]),
    })
}

/// An EAP Request of `typ` carrying `data`. Callers keep `data` well under
/// 64 KiB (fragments are at most a few KiB).
pub fn request(identifier: u8, typ: u8, data: &[u8]) -> Vec<u8> {
    let len = (5 + data.len()).min(usize::from(u16::MAX));
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&[CODE_REQUEST, identifier]);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.push(typ);
    out.extend_from_slice(&data[..len - 5]);
    out
}

/// EAP-Success or EAP-Failure (no data).
pub fn outcome(code: u8, identifier: u8) -> Vec<u8> {
    vec![code, identifier, 0, 4]
}

/// The Type-Data of a TLS-based method message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsFrame<'a> {
    pub flags: u8,
    /// The TLS Message Length when the L bit is set.
    pub total_len: Option<usize>,
    pub data: &'a [u8],
}

impl TlsFrame<'_> {
    pub fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    /// PEAP and TTLS carry their version in the low three bits.
    pub fn version(&self) -> u8 {
        self.flags & 0x07
    }
}

pub fn parse_tls_frame(data: &[u8]) -> Result<TlsFrame<'_>, EapError> {
    let Some((&flags, rest)) = data.split_first() else {
        // An empty Type-Data is an acknowledgement without flags.
        return Ok(TlsFrame {
            flags: 0,
            total_len: None,
            data: &[],
        });
    };
    if flags & FLAG_LENGTH == 0 {
        return Ok(TlsFrame {
            flags,
            total_len: None,
            data: rest,
        });
    }
    let (len, body) = rest
        .split_first_chunk::<4>()
        .ok_or(EapError::TruncatedTlsLength)?;
    let total = u32::from_be_bytes(*len) as usize;
    if total > MAX_TLS_MESSAGE {
        return Err(EapError::TlsMessageTooLong(total));
    }
    Ok(TlsFrame {
        flags,
        total_len: Some(total),
        data: body,
    })
}

/// Type-Data of an outgoing TLS-based message: flags, the TLS Message
/// Length when `total_len` is given, then the fragment.
pub fn tls_frame(flags: u8, total_len: Option<usize>, fragment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fragment.len() + 5);
    match total_len {
        Some(total) => {
            out.push(flags | FLAG_LENGTH);
            out.extend_from_slice(&(total as u32).to_be_bytes());
        }
        None => out.push(flags),
    }
    out.extend_from_slice(fragment);
    out
}

/// Legacy-Nak (RFC 3748 s5.3.1): the types the peer would rather use. A
/// zero means "no alternative".
pub fn nak_types(data: &[u8]) -> Vec<u8> {
    data.iter().copied().filter(|t| *t != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_length_must_match() {
        let ok = [2, 7, 0, 10, 1, b'a', b'l', b'i', b'c', b'e'];
        let r = parse_response(&ok).unwrap();
        assert_eq!((r.identifier, r.typ, r.data), (7, 1, &b"alice"[..]));
        assert!(matches!(
            parse_response(&[2, 7, 0, 11, 1, b'a']),
            Err(EapError::LengthMismatch { .. })
        ));
        assert!(parse_response(&[2, 7, 0]).is_err());
        assert_eq!(parse_response(&[2, 7, 0, 4]), Err(EapError::NoType));
        assert_eq!(
            parse_response(&[1, 7, 0, 5, 1]),
            Err(EapError::NotResponse(1))
        );
    }

    #[test]
    fn request_and_frames_round_trip() {
        let frame = tls_frame(FLAG_MORE, Some(3000), b"abc");
        let req = request(9, TYPE_PEAP, &frame);
        assert_eq!(req[..5], [1, 9, 0, 13, TYPE_PEAP]);
        let parsed = parse_tls_frame(&req[5..]).unwrap();
        assert!(parsed.more());
        assert_eq!(parsed.total_len, Some(3000));
        assert_eq!(parsed.data, b"abc");
        assert_eq!(parse_tls_frame(&[]).unwrap().flags, 0);
        assert_eq!(
            parse_tls_frame(&[FLAG_LENGTH, 0, 0]),
            Err(EapError::TruncatedTlsLength)
        );
        assert!(parse_tls_frame(&[FLAG_LENGTH, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(nak_types(&[25, 0, 21]), vec![25, 21]);
    }
}
