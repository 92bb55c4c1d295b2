//! CHAP (RFC 1994) as carried in RADIUS (RFC 2865 s2.2, s5.3, s5.40).
//!
//! The NAS runs CHAP with the client and forwards the result: CHAP-Password
//! holds the CHAP identifier and the 16-byte response, and the challenge is
//! the CHAP-Challenge attribute when present, else the Request Authenticator.
//! Verifying needs the user's clear-text password (the CHAP "secret"), so
//! CHAP only works for accounts whose password is stored recoverably.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// Length of a CHAP-Password value: 1 identifier byte + 16 response bytes.
pub const CHAP_PASSWORD_LEN: usize = 17;

/// RFC 1994 s4.1 response: MD5(ident + secret + challenge). `secret` is the
/// user's clear-text password.
pub fn response(ident: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([ident]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Check a CHAP-Password value (ident + 16-byte response) against the
/// challenge and the user's clear-text password. Malformed values (length
/// other than 17) are simply false. The comparison is constant-time.
pub fn verify(chap_password: &[u8], challenge: &[u8], secret: &[u8]) -> bool {
    let (ident, received) = match chap_password {
        [ident, rest @ ..] if rest.len() == 16 => (*ident, rest),
        _ => return false,
    };
    let expected = response(ident, secret, challenge);
    expected.ct_eq(received).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python's hashlib:
    // md5(bytes([0x2a]) + b"hunter2" + bytes(range(16))).hexdigest()
    const VECTOR1: &str = "492100ff113ba57b5dcfa1b91b2c1d95";
    // md5(bytes([7]) + b"correct horse" + bytes.fromhex("0f1e...f0a1"))
    const VECTOR2: &str = "97bb8b42c06cf954436d5cf7b7d4a500";
    const CHALLENGE2: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1";

    fn challenge1() -> Vec<u8> {
        (0u8..16).collect()
    }

    #[test]
    fn response_matches_independent_vectors() {
        assert_eq!(
            hex::encode(response(0x2a, b"hunter2", &challenge1())),
            VECTOR1
        );
        let c2 = hex::decode(CHALLENGE2).unwrap();
        assert_eq!(hex::encode(response(7, b"correct horse", &c2)), VECTOR2);
    }

    #[test]
    fn verify_accepts_the_right_password() {
        let mut cp = vec![0x2a];
        cp.extend(hex::decode(VECTOR1).unwrap());
        assert!(verify(&cp, &challenge1(), b"hunter2"));
    }

    #[test]
    fn verify_rejects_wrong_password_ident_or_challenge() {
        let mut cp = vec![0x2a];
        cp.extend(hex::decode(VECTOR1).unwrap());
        assert!(!verify(&cp, &challenge1(), b"hunter3"));
        assert!(!verify(&cp, &[0u8; 16], b"hunter2"));
        cp[0] = 0x2b;
        assert!(!verify(&cp, &challenge1(), b"hunter2"));
    }

    #[test]
    fn verify_rejects_malformed_lengths() {
        let mut cp = vec![0x2a];
        cp.extend(hex::decode(VECTOR1).unwrap());
        assert!(!verify(&[], &challenge1(), b"hunter2"));
        assert!(!verify(&cp[..16], &challenge1(), b"hunter2"));
        cp.push(0);
        assert!(!verify(&cp, &challenge1(), b"hunter2"));
    }

    #[test]
    fn round_trip_with_long_challenge() {
        // CHAP-Challenge may be longer than 16 bytes.
        let challenge = [0x55u8; 40];
        let mut cp = vec![9];
        cp.extend(response(9, b"pw", &challenge));
        assert!(verify(&cp, &challenge, b"pw"));
    }
}
