//! Encryption at rest for the few secrets the server must hold in clear
//! form (NT hashes, NAS shared secrets, one-time credential secrets).
//!
//! ChaCha20-Poly1305 with a 32-byte data key kept in the data directory,
//! outside the database on purpose: a copy of the database alone does not
//! reveal the secrets. Nodes sharing one PostgreSQL must share the key file.
//! Sealed form: 12-byte random nonce, then ciphertext and tag.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Result, StoreError};

/// A sub-key for one use, so the data key itself is used only for sealing.
fn derive(key: &[u8; KEY_LEN], label: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// What a sealed value is for; bound to the ciphertext as associated data so
/// that a value copied into another column does not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    NtHash,
    NasSecret,
    OneTimeSecret,
    TotpSecret,
    KeyCheck,
    OidcKey,
    UserTotp,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::NtHash => b"portico/users.nt_hash",
            Purpose::NasSecret => b"portico/nas.secret",
            Purpose::OneTimeSecret => b"portico/one_time.secret",
            Purpose::TotpSecret => b"portico/admins.totp_secret",
            Purpose::KeyCheck => b"portico/key_check",
            Purpose::OidcKey => b"portico/oidc_keys.private",
            Purpose::UserTotp => b"portico/users.totp_secret",
        }
    }
}

pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// Key of the audit trail's chain MAC, derived from the data key: a
    /// row rewritten by someone with the database alone cannot be given a
    /// matching MAC.
    audit_key: [u8; 32],
    path: PathBuf,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; KEY_LEN], path: &Path) -> Self {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            audit_key: derive(key, b"portico/audit_log.chain"),
            path: path.to_path_buf(),
        }
    }

    /// HMAC-SHA256 of `data` under the audit chain key, as lower-case hex.
    pub fn audit_mac(&self, data: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.audit_key)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn seal(&self, purpose: Purpose, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: purpose.label(),
                },
            )
            .map_err(|_| self.key_error("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, purpose: Purpose, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(self.key_error("stored secret is truncated"));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: purpose.label(),
                },
            )
            .map_err(|_| {
                self.key_error(
                    "cannot decrypt a stored secret: this is not the key the data was encrypted with",
                )
            })
    }

    fn key_error(&self, reason: &str) -> StoreError {
        StoreError::Key {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

pub(crate) fn key_error(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Key {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads the key file. `Ok(None)` when it does not exist; a file of the
/// wrong length is an error, never padded or truncated.
pub fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_error(path, format!("cannot read: {e}"))),
    };
    let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
        key_error(
            path,
            format!("expected {KEY_LEN} bytes, found {}", bytes.len()),
        )
    })?;
    Ok(Some(key))
}

/// Creates a fresh random key file (mode 0600) without ever overwriting an
/// existing one: the key is written to a temporary file and hard-linked into
/// place, so a concurrent reader sees either no file or the whole key. If
/// another process won the race, its key is returned.
pub fn create_key(path: &Path) -> Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = dir.join(format!(
        ".data.key.{}.{}",
        std::process::id(),
        rand::rngs::OsRng.next_u64()
    ));
    let io = |e: std::io::Error| key_error(path, format!("cannot create: {e}"));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        let written = f.write_all(&key).and_then(|_| f.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.ok_or_else(|| key_error(path, "vanished while being created"))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_purpose_binding() {
        let b = SecretBox::from_key(&[7u8; KEY_LEN], Path::new("k"));
        let sealed = b.seal(Purpose::NasSecret, b"testing123").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + 10 + 16);
        assert_eq!(b.open(Purpose::NasSecret, &sealed).unwrap(), b"testing123");
        assert!(matches!(
            b.open(Purpose::NtHash, &sealed),
            Err(StoreError::Key { .. })
        ));
        let other = SecretBox::from_key(&[8u8; KEY_LEN], Path::new("k"));
        assert!(matches!(
            other.open(Purpose::NasSecret, &sealed),
            Err(StoreError::Key { .. })
        ));
        assert!(b.open(Purpose::NasSecret, &sealed[..5]).is_err());
    }

    #[test]
    fn key_file_created_once_and_length_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        assert!(read_key(&path).unwrap().is_none());
        let k = create_key(&path).unwrap();
        assert_eq!(read_key(&path).unwrap(), Some(k));
        // A second create keeps the first key.
        assert_eq!(create_key(&path).unwrap(), k);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, [1u8; 31]).unwrap();
        let err = read_key(&path).unwrap_err().to_string();
        assert!(err.contains("expected 32 bytes, found 31"), "{err}");
    }
}
