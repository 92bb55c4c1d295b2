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
use rand::RngCore;
use sha2::Sha256;
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

/// Verifies with caller-provided memory, so a long-lived worker reuses one
/// buffer instead of allocating (and the allocator keeping) 19 MiB per check.
pub fn verify_password_with_memory(
    password: &[u8],
    phc: &str,
    blocks: &mut Vec<argon2::Block>,
) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    blocks.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params);
    if hasher
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..])
        .is_err()
    {
        return false;
    }
    out.ct_eq(expected.as_bytes()).into()
}

type VerifyJob = (Vec<u8>, String, tokio::sync::oneshot::Sender<bool>);

/// A thread lets go of its 19 MiB argon2 buffer after this long without a
/// job: a burst of cold logins reuses it, a quiet server does not hold it.
const IDLE_BUFFER_RELEASE: std::time::Duration = std::time::Duration::from_secs(2);

/// A fixed set of threads that verify argon2id hashes. Bounded in CPU (one
/// thread per core) and in memory (one reusable buffer per thread, released
/// when idle), and the queue is bounded too: a flood of cold logins waits,
/// it does not grow.
pub struct HashPool {
    tx: std::sync::mpsc::SyncSender<VerifyJob>,
}

impl HashPool {
    pub fn new(threads: usize, queue: usize) -> std::io::Result<HashPool> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<VerifyJob>(queue);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv_timeout(IDLE_BUFFER_RELEASE),
                            Err(_) => return,
                        };
                        let (password, phc, done) = match job {
                            Ok(j) => j,
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                                blocks = Vec::new();
                                continue;
                            }
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                        };
                        let _ =
                            done.send(verify_password_with_memory(&password, &phc, &mut blocks));
                    }
                })?;
        }
        Ok(HashPool { tx })
    }

    /// None if the pool is gone or its queue is full (the caller treats
    /// that as overload, not as a wrong password).
    pub async fn verify(&self, password: &[u8], phc: &str) -> Option<bool> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.tx
            .try_send((password.to_vec(), phc.to_string(), done_tx))
            .ok()?;
        done_rx.await.ok()
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Process-local cache of verified (username, password, stored hash) triples.
pub struct CredentialCache {
    /// HMAC-SHA-256 already keyed with a random key: each tag clones it
    /// instead of hashing the key pads again (SHA-256 also runs on the
    /// CPU's SHA instructions where it has them).
    keyed: HmacSha256,
    entries: Mutex<HashMap<String, [u8; 16]>>,
    capacity: usize,
}

impl CredentialCache {
    pub fn new(capacity: usize) -> Self {
        // A key of one SHA-256 block: HMAC's infallible constructor.
        let mut key = [0u8; 64];
        rand::thread_rng().fill_bytes(&mut key);
        let keyed = <HmacSha256 as hmac::digest::KeyInit>::new(&key.into());
        CredentialCache {
            keyed,
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// 128 bits of the HMAC are kept: enough to tell passwords apart, and
    /// half the memory per cached user.
    fn tag(&self, username: &str, password: &[u8], phc: &str) -> [u8; 16] {
        let mut mac = self.keyed.clone();
        // Length prefixes keep the fields from running into each other.
        for part in [username.as_bytes(), password, phc.as_bytes()] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
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
    fn reused_memory_verifies_like_the_crate() {
        let phc = hash_password("pw-1").unwrap();
        let mut blocks = Vec::new();
        assert!(verify_password_with_memory(b"pw-1", &phc, &mut blocks));
        assert!(!verify_password_with_memory(b"pw-2", &phc, &mut blocks));
        assert!(!verify_password_with_memory(
            b"pw-1",
            "$argon2id$garbage",
            &mut blocks
        ));
        // Default-parameter hashes (other tools) verify as well.
        let other = Argon2::default()
            .hash_password(b"x", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_password_with_memory(b"x", &other, &mut blocks));
    }

    #[tokio::test]
    async fn pool_verifies_and_bounds_its_queue() {
        let pool = HashPool::new(1, 4).unwrap();
        let phc = hash_password("pw").unwrap();
        assert_eq!(pool.verify(b"pw", &phc).await, Some(true));
        assert_eq!(pool.verify(b"no", &phc).await, Some(false));
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
