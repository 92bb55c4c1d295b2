//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s, 6 digits) for
//! the dashboard's second factor, on the `totp-rs` crate. A code is
//! accepted for the step before and after the current one (clock drift),
//! and the caller remembers the step used so that a code works once.

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
/// 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("TOTP secret: {0}")]
    Secret(String),
}

fn totp(secret: &[u8], digits: usize) -> Result<TOTP, TotpError> {
    TOTP::new(Algorithm::SHA1, digits, 0, STEP_SECS, secret.to_vec())
        .map_err(|e| TotpError::Secret(e.to_string()))
}

pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

/// The code for the step holding `unix_secs`, with `digits` digits.
pub fn code_at(secret: &[u8], unix_secs: u64, digits: usize) -> Result<String, TotpError> {
    Ok(totp(secret, digits)?.generate(unix_secs))
}

/// The time step `code` is valid for, within one step of `unix_secs`, if
/// any. Only digits of the right length are considered; the comparison is
/// constant-time.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, DIGITS).ok()?;
    let now = unix_secs / STEP_SECS;
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = t.generate(step * STEP_SECS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// Base32 of the secret, for typing into an app by hand.
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::Raw(secret.to_vec())
        .to_encoded()
        .to_string()
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        secret_base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits, the RFC's 20-byte key).
    #[test]
    fn rfc_6238_vectors() {
        let key = b"12345678901234567890";
        for (t, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(key, t, 8).unwrap(), code, "T = {t}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let key = new_secret();
        let t = 1_700_000_000u64;
        let code = code_at(&key, t, 6).unwrap();
        let step = (t / 30) as i64;
        assert_eq!(matching_step(&key, &code, t), Some(step));
        assert_eq!(matching_step(&key, &code, t + 30), Some(step));
        assert_eq!(matching_step(&key, &code, t - 30), Some(step));
        assert_eq!(matching_step(&key, &code, t + 90), None);
        assert_eq!(matching_step(&key, "12345", t), None);
        assert_eq!(matching_step(&key, "12345a", t), None);
        assert_eq!(matching_step(&key, "", t), None);
        assert_eq!(matching_step(&key, &format!(" {code} "), t), Some(step));
    }

    #[test]
    fn otpauth_uri_names_issuer_and_account() {
        let uri = otpauth_uri(b"12345678901234567890", "Portico 门户", "sec admin");
        assert!(uri.starts_with("otpauth://totp/Portico%20%E9%97%A8%E6%88%B7:sec%20admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
        assert!(uri.contains("&digits=6&period=30"));
    }
}
