//! Authentication service: picks the method, checks the credential, and
//! hands back a decision for the policy to turn into a reply. The store is
//! consulted only for what must be exact at the moment (one-time credentials
//! consumed atomically, portal authorizations); everything else comes from
//! the in-memory snapshot.

use std::sync::Arc;

use rand::Rng;
use subtle::ConstantTimeEq;

use crate::credentials::{self, CredentialCache};
use crate::domain::MacAddr;
use crate::lockout::AccountLockout;
use crate::metrics::Metrics;
use crate::radius::directory::{NasEntry, Snapshot};
use crate::radius::policy::{self, Grant, RejectReason};
use crate::radius::request::{
    AccessRequest, Method, MS_CHAP2_SUCCESS, MS_MPPE_ENCRYPTION_POLICY, MS_MPPE_ENCRYPTION_TYPES,
    MS_MPPE_RECV_KEY, MS_MPPE_SEND_KEY, VENDOR_MICROSOFT,
};
use crate::radius::{chap, mschap, wire};
use crate::store::users::User;
use crate::store::Store;

/// An accepted request: what it is granted, plus method-specific reply
/// attributes (MS-CHAP2-Success, MPPE keys).
#[derive(Debug)]
pub struct Accepted {
    pub grant: Grant,
    pub extra_attributes: Vec<u8>,
}

#[derive(Debug)]
pub struct AuthDecision {
    pub method: Method,
    /// Username, or the MAC for MAC authentication.
    pub identity: String,
    pub result: Result<Accepted, RejectReason>,
}

pub struct AuthService {
    store: Store,
    cache: Option<CredentialCache>,
    metrics: Arc<Metrics>,
    /// argon2id is CPU- and memory-heavy: a fixed pool, one thread per
    /// core, so a burst of cold logins cannot starve the listeners.
    hashes: Option<credentials::HashPool>,
    /// Wrong PAP passwords count toward the account lockout.
    lockout: Option<AccountLockout>,
}

impl AuthService {
    pub fn new(store: Store, credential_cache: bool, metrics: Arc<Metrics>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        AuthService {
            store,
            cache: credential_cache.then(|| CredentialCache::new(200_000)),
            metrics,
            hashes: credentials::HashPool::new(cores, 4096)
                .map_err(|e| tracing::error!(error = %e, "cannot start password hashing threads"))
                .ok(),
            lockout: None,
        }
    }

    /// Counts wrong PAP passwords toward the account lockout.
    pub fn with_lockout(mut self, lockout: AccountLockout) -> Self {
        self.lockout = Some(lockout);
        self
    }

    pub async fn authenticate(
        &self,
        req: &AccessRequest<'_>,
        nas: &NasEntry,
        snap: &Snapshot,
        now_ms: i64,
    ) -> AuthDecision {
        let name = req.user_name_str();
        let method = req.method();
        let decide = |method: Method, identity: String, result| AuthDecision {
            method,
            identity,
            result,
        };
        match method {
            Method::Eap => decide(method, name, Err(RejectReason::EapNotEnabled)),
            Method::Pap => self.pap(req, nas, snap, name, now_ms).await,
            Method::Chap => {
                let result = self.chap(req, nas, snap, &name, now_ms).await;
                decide(method, name, result)
            }
            Method::MsChapV2 => {
                let result = self.mschapv2(req, nas, snap, &name, now_ms);
                decide(method, name, result)
            }
            Method::Mac => match req.mac_identity() {
                Some(mac) => {
                    let result = self.mac(mac, snap, now_ms).await;
                    decide(Method::Mac, mac.to_string(), result)
                }
                None => decide(method, name, Err(RejectReason::Malformed)),
            },
            Method::Unknown => decide(method, name, Err(RejectReason::NoCredentials)),
        }
    }

    async fn pap(
        &self,
        req: &AccessRequest<'_>,
        nas: &NasEntry,
        snap: &Snapshot,
        name: String,
        now_ms: i64,
    ) -> AuthDecision {
        let hidden = req.user_password.unwrap_or_default();
        let password = match wire::decrypt_user_password(hidden, &nas.secret, &req.authenticator) {
            Ok(p) => p,
            Err(_) => {
                return AuthDecision {
                    method: Method::Pap,
                    identity: name,
                    result: Err(RejectReason::Malformed),
                }
            }
        };
        if let Some(user) = snap.users.get(&name) {
            let result = self
                .check_user_password(user, &password, snap, now_ms)
                .await;
            // Counted toward the account's lockout event, never locking
            // RADIUS itself (see `lockout`).
            if let (Err(RejectReason::BadPassword), Some(l)) = (&result, &self.lockout) {
                l.failed_in_background(name.clone(), "radius", now_ms);
            }
            return AuthDecision {
                method: Method::Pap,
                identity: name,
                result,
            };
        }
        // MAC authentication as most APs send it: User-Name and password are
        // both the client's MAC in some spelling.
        if let Some(mac) = req.mac_identity().or_else(|| mac_pair(&name, &password)) {
            let result = self.mac(mac, snap, now_ms).await;
            return AuthDecision {
                method: Method::Mac,
                identity: mac.to_string(),
                result,
            };
        }
        let result = self
            .one_time(&name, nas, snap, now_ms, req.calling_mac(), |secret| {
                bool::from(secret.as_bytes().ct_eq(&password))
            })
            .await;
        AuthDecision {
            method: Method::Pap,
            identity: name,
            result,
        }
    }

    async fn check_user_password(
        &self,
        user: &Arc<User>,
        password: &[u8],
        snap: &Snapshot,
        now_ms: i64,
    ) -> Result<Accepted, RejectReason> {
        policy::check_account(user, now_ms)?;
        let grant = user_grant(user, snap, now_ms);
        if !policy::method_allowed(&grant.groups, Method::Pap) {
            return Err(RejectReason::MethodNotAllowed);
        }
        self.verify_user_password(user, password).await?;
        Ok(Accepted {
            grant,
            extra_attributes: Vec::new(),
        })
    }

    /// The password check alone (verified-credential cache, then argon2id on
    /// the blocking pool); EAP-TTLS/PAP uses it after its own policy checks.
    pub(crate) async fn verify_user_password(
        &self,
        user: &Arc<User>,
        password: &[u8],
    ) -> Result<(), RejectReason> {
        let Some(phc) = user.password_hash.as_deref() else {
            return Err(RejectReason::BadPassword);
        };
        if let Some(cache) = &self.cache {
            if cache.check(&user.username, password, phc) {
                self.metrics.credential_cache_hits.inc();
                return Ok(());
            }
            self.metrics.credential_cache_misses.inc();
        }
        let ok = match &self.hashes {
            Some(pool) => pool
                .verify(password, phc)
                .await
                .ok_or(RejectReason::InternalError)?,
            None => return Err(RejectReason::InternalError),
        };
        if !ok {
            return Err(RejectReason::BadPassword);
        }
        if let Some(cache) = &self.cache {
            cache.remember(&user.username, password, phc);
        }
        Ok(())
    }

    async fn chap(
        &self,
        req: &AccessRequest<'_>,
        nas: &NasEntry,
        snap: &Snapshot,
        name: &str,
        now_ms: i64,
    ) -> Result<Accepted, RejectReason> {
        if snap.users.contains_key(name) {
            return Err(RejectReason::ChapNeedsClearSecret);
        }
        let chap_password = req.chap_password.ok_or(RejectReason::Malformed)?;
        let challenge = req.chap_challenge.unwrap_or(&req.authenticator);
        self.one_time(name, nas, snap, now_ms, req.calling_mac(), |secret| {
            chap::verify(chap_password, challenge, secret.as_bytes())
        })
        .await
    }

    /// One-time credentials (portal post-back): the server holds the clear
    /// secret, each use is consumed atomically in the store, and they work
    /// only for the client MAC and the NAS they were issued for (a copy
    /// replayed from another device or NAS is refused, and not consumed).
    async fn one_time(
        &self,
        name: &str,
        nas: &NasEntry,
        snap: &Snapshot,
        now_ms: i64,
        mac: Option<MacAddr>,
        check: impl FnOnce(&str) -> bool,
    ) -> Result<Accepted, RejectReason> {
        let cred = self
            .store
            .one_time()
            .get(name)
            .await
            .map_err(|_| self.store_failed())?
            .ok_or(RejectReason::UnknownUser)?;
        if cred.expires_at <= now_ms || cred.uses_left <= 0 {
            return Err(RejectReason::Expired);
        }
        if !check(&cred.secret) {
            return Err(RejectReason::BadPassword);
        }
        if let Some(bound) = cred.mac.as_deref() {
            if mac.map(|m| m.to_string()).as_deref() != Some(bound) {
                return Err(RejectReason::OneTimeOtherClient);
            }
        }
        if cred.nas_name.as_deref().is_some_and(|n| n != nas.name) {
            return Err(RejectReason::OneTimeOtherNas);
        }
        let consumed = self
            .store
            .one_time()
            .consume(name, now_ms)
            .await
            .map_err(|_| self.store_failed())?;
        if !consumed {
            return Err(RejectReason::Expired);
        }
        // The portal's authorization for the device: its time left and
        // its groups' reply policy (VLAN, timeouts), as for MAC sign-in.
        let mut grant = Grant::default();
        if let Some(mac) = mac {
            if let Ok(Some(a)) = self.store.authorizations().active(mac, now_ms).await {
                grant.session_limit = Some(policy::seconds_left(a.expires_at, now_ms));
                grant.groups = a
                    .groups
                    .iter()
                    .filter_map(|g| snap.groups.get(g).cloned())
                    .collect();
            }
        }
        Ok(Accepted {
            grant,
            extra_attributes: Vec::new(),
        })
    }

    fn mschapv2(
        &self,
        req: &AccessRequest<'_>,
        nas: &NasEntry,
        snap: &Snapshot,
        name: &str,
        now_ms: i64,
    ) -> Result<Accepted, RejectReason> {
        // Windows sends DOMAIN\user; the challenge hash uses the bare name.
        let bare = name.rsplit('\\').next().unwrap_or(name);
        let user = snap
            .users
            .get(name)
            .or_else(|| snap.users.get(bare))
            .ok_or(RejectReason::UnknownUser)?;
        policy::check_account(user, now_ms)?;
        let grant = user_grant(user, snap, now_ms);
        if !policy::method_allowed(&grant.groups, Method::MsChapV2) {
            return Err(RejectReason::MethodNotAllowed);
        }
        let nt_hash = user.nt_hash.ok_or(RejectReason::NoNtHash)?;
        let response = mschap::MsChap2Response::parse(req.ms_chap2_response.unwrap_or_default())
            .map_err(|_| RejectReason::Malformed)?;
        let challenge: [u8; 16] = req
            .ms_chap_challenge
            .unwrap_or_default()
            .try_into()
            .map_err(|_| RejectReason::Malformed)?;
        if !mschap::verify_nt_response(
            &challenge,
            &response.peer_challenge,
            bare.as_bytes(),
            &nt_hash,
            &response.nt_response,
        ) {
            return Err(RejectReason::BadPassword);
        }
        let success = mschap::authenticator_response(
            &nt_hash,
            &response.nt_response,
            &response.peer_challenge,
            &challenge,
            bare.as_bytes(),
        );
        let extra = mschap_success_attributes(
            response.ident,
            &success,
            &nt_hash,
            &response.nt_response,
            &nas.secret,
            &req.authenticator,
        )
        .map_err(|_| RejectReason::InternalError)?;
        Ok(Accepted {
            grant,
            extra_attributes: extra,
        })
    }

    async fn mac(
        &self,
        mac: MacAddr,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Result<Accepted, RejectReason> {
        if let Some(device) = snap.devices.get(&mac) {
            let groups = device
                .groups
                .iter()
                .filter_map(|g| snap.groups.get(g).cloned())
                .collect();
            return Ok(Accepted {
                grant: Grant {
                    groups,
                    session_limit: None,
                },
                extra_attributes: Vec::new(),
            });
        }
        let auth = self
            .store
            .authorizations()
            .active(mac, now_ms)
            .await
            .map_err(|_| self.store_failed())?
            .ok_or(RejectReason::UnknownMac)?;
        let groups = auth
            .groups
            .iter()
            .filter_map(|g| snap.groups.get(g).cloned())
            .collect();
        Ok(Accepted {
            grant: Grant {
                groups,
                session_limit: Some(policy::seconds_left(auth.expires_at, now_ms)),
            },
            extra_attributes: Vec::new(),
        })
    }

    fn store_failed(&self) -> RejectReason {
        self.metrics.store_errors.inc();
        RejectReason::InternalError
    }
}

/// The user's groups in order, and the account's expiry as a session limit.
pub(crate) fn user_grant(user: &User, snap: &Snapshot, now_ms: i64) -> Grant {
    Grant {
        groups: user
            .groups
            .iter()
            .filter_map(|g| snap.groups.get(g).cloned())
            .collect(),
        session_limit: user.valid_until.map(|t| policy::seconds_left(t, now_ms)),
    }
}

/// User-Name and password that are the same MAC address, in any spelling.
fn mac_pair(name: &str, password: &[u8]) -> Option<MacAddr> {
    let mac = MacAddr::parse(name).ok()?;
    let pw = std::str::from_utf8(password).ok()?;
    (MacAddr::parse(pw).ok()? == mac).then_some(mac)
}

/// MS-CHAP2-Success and the MPPE keys the AP needs (RFC 2548, RFC 3079).
fn mschap_success_attributes(
    ident: u8,
    authenticator_response: &str,
    nt_hash: &[u8; 16],
    nt_response: &[u8; 24],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, wire::WireError> {
    let mut out = Vec::new();
    let mut success = Vec::with_capacity(1 + authenticator_response.len());
    success.push(ident);
    success.extend_from_slice(authenticator_response.as_bytes());
    wire::push_vendor_attribute(&mut out, VENDOR_MICROSOFT, MS_CHAP2_SUCCESS, &success)?;
    let (send, recv) = mschap::mppe_keys(nt_hash, nt_response);
    // Salts: high bit set and different for the two keys (RFC 2548 s2.4.2).
    let base: u16 = rand::thread_rng().gen::<u16>() | 0x8000;
    let send_salt = base;
    let recv_salt = base ^ 0x0001;
    let send_enc = wire::salt_encrypt(&send, secret, request_authenticator, send_salt)?;
    let recv_enc = wire::salt_encrypt(&recv, secret, request_authenticator, recv_salt)?;
    wire::push_vendor_attribute(&mut out, VENDOR_MICROSOFT, MS_MPPE_SEND_KEY, &send_enc)?;
    wire::push_vendor_attribute(&mut out, VENDOR_MICROSOFT, MS_MPPE_RECV_KEY, &recv_enc)?;
    // Encryption allowed, RC4 40 or 128 bit (what MS-CHAPv2 NASes expect).
    wire::push_vendor_attribute(
        &mut out,
        VENDOR_MICROSOFT,
        MS_MPPE_ENCRYPTION_POLICY,
        &1u32.to_be_bytes(),
    )?;
    wire::push_vendor_attribute(
        &mut out,
        VENDOR_MICROSOFT,
        MS_MPPE_ENCRYPTION_TYPES,
        &6u32.to_be_bytes(),
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_pair_accepts_any_spelling() {
        assert!(mac_pair("aabbccddeeff", b"AA-BB-CC-DD-EE-FF").is_some());
        assert!(mac_pair("aabbccddeeff", b"secret").is_none());
        assert!(mac_pair("alice", b"aabbccddeeff").is_none());
    }
}
