//! Password hashing and the verified-credential cache.
//!
//! Staff passwords are stored as argon2id hashes. Verifying one costs tens of
//! milliseconds by design, yet staff devices re-authenticate all day: after a
//! successful verification the server remembers an HMAC of the password under
//! a key that exists only in this process's memory, bound to the stored hash,
//! so a repeat costs one HMAC. A changed password (a new hash) misses the
//! cache; nothing in it is usable outside this process.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use md5::Md5;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// argon2id parameters: 19 MiB, 2 passes, 1 lane (OWASP's baseline).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password is empty")]
    Empty,
    #[error("password is longer than 128 bytes (the most RADIUS can carry)")]
    TooLong,
}

fn argon2() -> Result<Argon2<'static>, CredentialError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .map_err(|e| CredentialError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password is storable (RADIUS User-Password holds 128 bytes).
pub fn check_new_password(password: &str) -> Result<(), CredentialError> {
    if password.is_empty() {
        return Err(CredentialError::Empty);
    }
    if password.len() > 128 {
        return Err(CredentialError::TooLong);
    }
    Ok(())
}

/// argon2id PHC string. CPU-heavy: call from `spawn_blocking` in servers.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    check_new_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// Verifies against a PHC string; a malformed stored hash verifies nothing.
pub fn verify_password(password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // Parameters come from the PHC string, so older hashes keep working.
    Argon2::default().verify_password(password, &parsed).is_ok()
}

type HmacMd5 = Hmac<Md5>;

/// Process-local cache of verified (username, password, stored hash) triples.
pub struct CredentialCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, [u8; 16]>>,
    capacity: usize,
}

impl CredentialCache {
    pub fn new(capacity: usize) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        CredentialCache {
            key,
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn tag(&self, username: &str, password: &[u8], phc: &str) -> [u8; 16] {
        let Ok(mut mac) = <HmacMd5 as Mac>::new_from_slice(&self.key) else {
            return [0; 16];
        };
        // Length prefixes keep the fields from running into each other.
        for part in [username.as_bytes(), password, phc.as_bytes()] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// True if this exact password was verified against this exact hash.
    pub fn check(&self, username: &str, password: &[u8], phc: &str) -> bool {
        let tag = self.tag(username, password, phc);
        let entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries
            .get(username)
            .is_some_and(|stored| bool::from(stored.ct_eq(&tag)))
    }

    pub fn remember(&self, username: &str, password: &[u8], phc: &str) {
        let tag = self.tag(username, password, phc);
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        if entries.len() >= self.capacity && !entries.contains_key(username) {
            // Bounded memory: start over rather than grow; a miss only costs
            // one slow verification.
            entries.clear();
        }
        entries.insert(username.to_string(), tag);
    }

    pub fn forget(&self, username: &str) {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.remove(username);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A random password for generated accounts (admin at first start):
/// 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| {
            let i = (rng.next_u32() as usize) % ALPHABET.len();
            ALPHABET[i] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(b"correct horse", &phc));
        assert!(!verify_password(b"wrong", &phc));
        assert!(!verify_password(b"x", "not a hash"));
    }

    #[test]
    fn refuses_unstorable_passwords() {
        assert!(hash_password("").is_err());
        assert!(hash_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn cache_is_bound_to_password_and_hash() {
        let cache = CredentialCache::new(2);
        cache.remember("alice", b"pw", "$hash1");
        assert!(cache.check("alice", b"pw", "$hash1"));
        assert!(!cache.check("alice", b"pw2", "$hash1"));
        assert!(
            !cache.check("alice", b"pw", "$hash2"),
            "changed password must miss"
        );
        assert!(!cache.check("bob", b"pw", "$hash1"));
        cache.remember("bob", b"x", "h");
        cache.remember("carol", b"y", "h");
        assert!(cache.len() <= 2);
        cache.forget("carol");
        assert!(!cache.check("carol", b"y", "h"));
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_password());
    }
}
