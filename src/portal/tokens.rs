//! Random tokens, their hashes, CSRF tokens and the sealed client context
//! carried in forms. One process-wide key from `portal.key` in the data
//! directory (nodes sharing a database share the file, as with data.key).

use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::context::ClientContext;

type HmacSha256 = Hmac<Sha256>;

/// Name of the key file inside the data directory.
pub const PORTAL_KEY_FILE: &str = "portal.key";

/// How long a landing page's form stays valid.
pub const CONTEXT_TTL_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("portal key {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("portal key {0}: not 32 bytes")]
    Length(String),
}

#[derive(Clone)]
pub struct PortalKeys {
    key: [u8; 32],
}

impl std::fmt::Debug for PortalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortalKeys(***)")
    }
}

impl PortalKeys {
    pub fn from_key(key: [u8; 32]) -> Self {
        PortalKeys { key }
    }

    /// Reads `dir/portal.key`, creating it (mode 0600) when missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(PORTAL_KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Length(path.display().to_string()))?;
                Ok(PortalKeys { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                let mut key = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                write_private(&path, &key).map_err(io)?;
                Ok(PortalKeys { key })
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; this cannot fail.
        let mut m = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return [0u8; 32],
        };
        m.update(label);
        m.update(&[0]);
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// A signature of `data` for `label` (hex), for values a page hands
    /// back through a form.
    pub fn sign(&self, label: &str, data: &str) -> String {
        hex::encode(self.mac(label.as_bytes(), data.as_bytes()))
    }

    pub fn signed(&self, label: &str, data: &str, sig: &str) -> bool {
        bool::from(self.sign(label, data).as_bytes().ct_eq(sig.as_bytes()))
    }

    /// The CSRF token that goes with a browser's `portico_csrf` cookie.
    pub fn csrf_token(&self, cookie: &str) -> String {
        hex::encode(&self.mac(b"csrf", cookie.as_bytes())[..20])
    }

    pub fn csrf_ok(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        match (cookie, token) {
            (Some(c), Some(t)) if !c.is_empty() && !t.is_empty() => {
                bool::from(self.csrf_token(c).as_bytes().ct_eq(t.as_bytes()))
            }
            _ => false,
        }
    }

    /// Keyed hash of an SMS code bound to the phone number.
    pub fn code_hash(&self, phone: &str, code: &str) -> String {
        hex::encode(self.mac(b"sms", format!("{phone}\n{code}").as_bytes()))
    }

    /// The context as a form field: hex(issued-at ms ‖ JSON) "." hex(HMAC).
    pub fn seal_context(&self, ctx: &ClientContext, now_ms: i64) -> String {
        let json = serde_json::to_vec(ctx).unwrap_or_default();
        let mut body = now_ms.to_be_bytes().to_vec();
        body.extend_from_slice(&json);
        let tag = self.mac(b"ctx", &body);
        format!("{}.{}", hex::encode(&body), hex::encode(&tag[..20]))
    }

    /// The context back, if the seal is ours and younger than the TTL.
    pub fn open_context(&self, sealed: &str, now_ms: i64) -> Option<ClientContext> {
        let (body_hex, tag_hex) = sealed.split_once('.')?;
        let body = hex::decode(body_hex).ok()?;
        let tag = hex::decode(tag_hex).ok()?;
        let expected = self.mac(b"ctx", &body);
        if !bool::from(expected.get(..20)?.ct_eq(&tag)) {
            return None;
        }
        let issued = i64::from_be_bytes(body.get(..8)?.try_into().ok()?);
        if now_ms.saturating_sub(issued) > CONTEXT_TTL_MS || issued > now_ms + 60_000 {
            return None;
        }
        serde_json::from_slice(body.get(8..)?).ok()
    }
}

/// 32 random bytes as hex: cookies, tickets, one-time secrets.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// What the store keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MacAddr;

    fn ctx() -> ClientContext {
        ClientContext {
            profile: "generic".into(),
            client_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            client_ip: Some("10.0.0.2".parse().unwrap()),
            ap_mac: None,
            ssid: Some("Office".into()),
            login_url: None,
            original_url: Some("http://example.com/".into()),
            chap_id: None,
            chap_challenge: None,
            challenge: None,
            nas: Some("ap-1".into()),
        }
    }

    #[test]
    fn context_seal_round_trip_and_tamper() {
        let k = PortalKeys::from_key([7; 32]);
        let sealed = k.seal_context(&ctx(), 1_000_000);
        assert_eq!(k.open_context(&sealed, 1_000_100), Some(ctx()));
        assert_eq!(
            k.open_context(&sealed, 1_000_000 + CONTEXT_TTL_MS + 1),
            None
        );
        let mut bad = sealed.clone().into_bytes();
        bad[20] = if bad[20] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            k.open_context(std::str::from_utf8(&bad).unwrap(), 1_000_100),
            None
        );
        assert_eq!(
            PortalKeys::from_key([8; 32]).open_context(&sealed, 1_000_100),
            None
        );
        assert_eq!(k.open_context("zz", 0), None);
    }

    #[test]
    fn csrf() {
        let k = PortalKeys::from_key([1; 32]);
        let t = k.csrf_token("cookie");
        assert!(k.csrf_ok(Some("cookie"), Some(&t)));
        assert!(!k.csrf_ok(Some("other"), Some(&t)));
        assert!(!k.csrf_ok(None, Some(&t)));
        assert!(!k.csrf_ok(Some("cookie"), None));
        assert!(!k.csrf_ok(Some(""), Some("")));
    }

    #[test]
    fn key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = PortalKeys::load_or_create(dir.path()).unwrap();
        let b = PortalKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(hash_token("x").len(), 64);
    }
}
