//! EAP over RADIUS (RFC 3579): PEAPv0 with EAP-MSCHAPv2, EAP-TTLS with PAP
//! or MSCHAPv2, and EAP-TLS (TLS 1.2, and TLS 1.3 per RFC 9190), on rustls.
//!
//! The edge (`radius::server`) hands every Access-Request that carries an
//! EAP-Message to `EapService::handle`, which answers with an
//! Access-Challenge (EAP-Message split over attributes, State), or a final
//! Accept (EAP-Success, MS-MPPE keys from the TLS keying material, the
//! inner identity as User-Name) or Reject (EAP-Failure).

pub mod conversation;
pub mod inner;
pub mod packet;
pub mod table;
pub mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use radius::core::rfc2865::{STATE_TYPE, USER_NAME_TYPE};
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

use crate::config::EapConfig;
use crate::metrics::Metrics;
use crate::pki::certs::TlsMaterial;
use crate::radius::auth::AuthService;
use crate::radius::directory::{NasEntry, Snapshot};
use crate::radius::policy::{Grant, RejectReason};
use crate::radius::request::{
    AccessRequest, ATTR_EAP_MESSAGE, MS_MPPE_RECV_KEY, MS_MPPE_SEND_KEY, VENDOR_MICROSOFT,
};
use crate::radius::wire;

use conversation::{Conversation, MethodKind, Settings, Step};
use table::{Checkout, Conversations, Full};

/// Framed-MTU (RFC 2865 s5.12).
const ATTR_FRAMED_MTU: u8 = 12;
/// EAPOL (4) + EAP header (4) + Type (1) + Flags (1) + TLS Message Length (4).
const EAP_TLS_OVERHEAD: usize = 14;
const MIN_FRAGMENT: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum EapSetupError {
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    #[error("eap.methods: unknown method {0:?} (peap, ttls, tls)")]
    UnknownMethod(String),
}

/// What the edge logs for a finished conversation.
#[derive(Debug, Clone)]
pub struct EapLog {
    /// Inner identity (the account), or the outer one if never learned.
    pub identity: String,
    pub outer_identity: String,
    /// e.g. `eap-peap-mschapv2`, `eap-ttls-pap`, `eap-tls`.
    pub method: &'static str,
}

pub enum EapOutcome {
    /// Access-Challenge with these attributes.
    Challenge(Vec<u8>),
    /// Access-Accept: these attributes plus the grant's reply attributes.
    Accept {
        attributes: Vec<u8>,
        grant: Grant,
        log: EapLog,
    },
    /// Access-Reject with these attributes (EAP-Failure).
    Reject {
        attributes: Vec<u8>,
        reason: RejectReason,
        log: EapLog,
    },
    /// No answer; the reason is counted.
    Drop(&'static str),
}

pub struct EapService {
    settings: Arc<Settings>,
    conversations: Conversations,
    fragment_size: usize,
    metrics: Arc<Metrics>,
    certificate_not_after: Option<i64>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server-side TLS settings shared by every method: no session resumption
/// (each authentication is a full one, as the MSK derivation expects) and
/// no TLS 1.3 tickets.
fn harden(config: &mut ServerConfig) {
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
}

impl EapService {
    pub fn new(
        cfg: &EapConfig,
        material: &TlsMaterial,
        metrics: Arc<Metrics>,
    ) -> Result<Self, EapSetupError> {
        let mut methods = Vec::new();
        for name in &cfg.methods {
            let m = MethodKind::parse(name)
                .ok_or_else(|| EapSetupError::UnknownMethod(name.clone()))?;
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        let mut tunnel = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(material.chain.clone(), material.key.clone_key())?;
        harden(&mut tunnel);
        let tls = match &material.client_roots {
            Some(roots) if methods.contains(&MethodKind::Tls) => {
                let mut store = RootCertStore::empty();
                for cert in roots {
                    store
                        .add(cert.clone())
                        .map_err(|e| EapSetupError::Verifier(e.to_string()))?;
                }
                let mut builder =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider());
                if !material.crls.is_empty() {
                    builder = builder
                        .with_crls(material.crls.clone())
                        .only_check_end_entity_revocation();
                }
                let verifier = builder
                    .build()
                    .map_err(|e| EapSetupError::Verifier(e.to_string()))?;
                let versions: &[&'static rustls::SupportedProtocolVersion] = if cfg.tls13 {
                    &[&rustls::version::TLS13, &rustls::version::TLS12]
                } else {
                    &[&rustls::version::TLS12]
                };
                let mut c = ServerConfig::builder_with_provider(provider())
                    .with_protocol_versions(versions)?
                    .with_client_cert_verifier(verifier)
                    .with_single_cert(material.chain.clone(), material.key.clone_key())?;
                harden(&mut c);
                Some(Arc::new(c))
            }
            _ => None,
        };
        if methods.contains(&MethodKind::Tls) && tls.is_none() {
            tracing::info!("EAP-TLS is off: no eap.client_ca configured");
        }
        Ok(EapService {
            settings: Arc::new(Settings {
                methods,
                server_name: cfg.server_name.clone(),
                tunnel: Arc::new(tunnel),
                tls,
                identity_rule: crate::pki::names::IdentityRule {
                    fields: cfg.tls_identity.clone(),
                    domains: cfg.tls_domains.clone(),
                },
            }),
            conversations: Conversations::new(
                cfg.max_conversations,
                cfg.max_conversations_per_nas,
                cfg.idle_timeout,
            ),
            fragment_size: cfg.fragment_size,
            metrics,
            certificate_not_after: material.server_not_after,
        })
    }

    /// A service with a throw-away self-signed certificate held only in
    /// memory and default settings: for fuzzing and tests that drive
    /// `radius::server::process` with EAP payloads.
    pub fn ephemeral(metrics: Arc<Metrics>) -> Result<Self, EapSetupError> {
        let generate = || -> Result<TlsMaterial, rcgen::Error> {
            let key = rcgen::KeyPair::generate()?;
            let cert =
                rcgen::CertificateParams::new(vec!["portico".to_string()])?.self_signed(&key)?;
            Ok(TlsMaterial {
                chain: vec![cert.der().clone()],
                key: rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
                client_roots: None,
                crls: Vec::new(),
                generated_ca: None,
                server_not_after: None,
            })
        };
        let material = generate().map_err(|e| EapSetupError::Verifier(e.to_string()))?;
        Self::new(&EapConfig::default(), &material, metrics)
    }

    /// The server certificate's notAfter (Unix seconds).
    pub fn certificate_not_after(&self) -> Option<i64> {
        self.certificate_not_after
    }

    /// Open conversations now.
    pub fn open_conversations(&self) -> usize {
        self.conversations.len()
    }

    /// Evicts idle conversations and updates the gauge.
    pub fn sweep(&self) -> usize {
        let n = self.conversations.sweep(Instant::now());
        self.metrics
            .eap_conversations
            .set(self.conversations.len() as i64);
        n
    }

    fn count(&self, kind: &str) {
        self.metrics.eap_error(kind);
    }

    /// TLS bytes per EAP packet: the configured size, smaller when the
    /// NAS's Framed-MTU says so.
    fn fragment_size_for(&self, packet: &[u8]) -> usize {
        let mtu = wire::attributes(packet)
            .filter(|(t, _)| *t == ATTR_FRAMED_MTU)
            .filter_map(|(_, v)| <[u8; 4]>::try_from(v).ok())
            .map(|b| u32::from_be_bytes(b) as usize)
            .min();
        match mtu {
            Some(mtu) => self
                .fragment_size
                .min(mtu.saturating_sub(EAP_TLS_OVERHEAD))
                .max(MIN_FRAGMENT),
            None => self.fragment_size,
        }
    }

    pub async fn handle(
        &self,
        auth: &AuthService,
        req: &AccessRequest<'_>,
        packet: &[u8],
        nas: &NasEntry,
        snap: Arc<Snapshot>,
        now_ms: i64,
    ) -> EapOutcome {
        let eap = wire::join_attribute(packet, ATTR_EAP_MESSAGE);
        let resp = match packet::parse_response(&eap) {
            Ok(r) => r,
            Err(e) => {
                self.count("malformed");
                tracing::debug!(nas = %nas.name, error = %e, "malformed EAP-Message");
                return EapOutcome::Drop("eap_malformed");
            }
        };
        let now = Instant::now();
        let fragment_size = self.fragment_size_for(packet);
        let outer = req.user_name_str();
        let Some(state) = req.state else {
            if resp.typ != packet::TYPE_IDENTITY {
                self.count("no_state");
                return self.reject_without(resp.identifier, RejectReason::EapUnexpected, &outer);
            }
            let identity = String::from_utf8_lossy(resp.data)
                .trim_end_matches('\0')
                .to_string();
            let (conv, step) = Conversation::start(
                &identity,
                resp.identifier,
                fragment_size,
                &self.settings,
                &snap,
                now_ms,
            );
            return match step {
                Step::Challenge(eap) => {
                    match self.conversations.insert(&nas.name, Box::new(conv), now) {
                        Ok(state) => {
                            self.metrics
                                .eap_conversations
                                .set(self.conversations.len() as i64);
                            EapOutcome::Challenge(challenge_attributes(&eap, &state))
                        }
                        Err(full) => {
                            self.count(match full {
                                Full::Total => "conversation_limit",
                                Full::PerNas => "conversation_limit_nas",
                            });
                            EapOutcome::Drop("eap_conversation_limit")
                        }
                    }
                }
                Step::Reject(reason) => self.reject(resp.identifier, reason, &conv),
                _ => self.reject(resp.identifier, RejectReason::InternalError, &conv),
            };
        };
        let mut conv = match self.conversations.checkout(state, &nas.name, now) {
            Checkout::Found(c) => c,
            Checkout::Busy => {
                self.count("busy");
                return EapOutcome::Drop("eap_busy");
            }
            Checkout::Unknown => {
                self.count("unknown_state");
                return self.reject_without(resp.identifier, RejectReason::EapUnknownState, &outer);
            }
        };
        if resp.identifier != conv.expected_id() {
            self.count("wrong_identifier");
            self.conversations.put_back(state, conv, now);
            return EapOutcome::Drop("eap_wrong_identifier");
        }
        let response_id = resp.identifier;
        // TLS work (handshake signatures, record crypto) runs on the
        // blocking pool so the listeners keep answering.
        let settings = self.settings.clone();
        let work_snap = snap.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let step = match packet::parse_response(&eap) {
                Ok(resp) => conv.step(&resp, &settings, &work_snap, now_ms),
                Err(_) => Step::Reject(RejectReason::EapMalformed),
            };
            (conv, step)
        })
        .await;
        let (mut conv, mut step) = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "EAP step failed");
                self.conversations.finish(state);
                return self.reject_without(response_id, RejectReason::InternalError, &outer);
            }
        };
        if let Step::CheckPassword { user, password } = step {
            let result = auth.verify_user_password(&user, &password).await;
            step = conv.password_checked(result);
        }
        let outcome = match step {
            Step::Challenge(eap) => {
                let attrs = challenge_attributes(&eap, state);
                self.conversations.put_back(state, conv, Instant::now());
                return EapOutcome::Challenge(attrs);
            }
            Step::Accept(granted) => {
                match accept_attributes(response_id, &conv.identity, &granted.msk, nas, req) {
                    Ok(attributes) => EapOutcome::Accept {
                        attributes,
                        grant: granted.grant,
                        log: log_of(&conv),
                    },
                    Err(e) => {
                        tracing::error!(error = %e, "cannot encode the MPPE keys");
                        self.reject(response_id, RejectReason::InternalError, &conv)
                    }
                }
            }
            Step::Reject(reason) => {
                match reason {
                    RejectReason::EapMalformed => self.count("malformed"),
                    RejectReason::EapUnexpected => self.count("unexpected"),
                    RejectReason::TlsFailed => self.count("tls_failed"),
                    _ => {}
                }
                self.reject(response_id, reason, &conv)
            }
            Step::Drop(reason) => {
                self.count("finished");
                EapOutcome::Drop(reason)
            }
            Step::CheckPassword { .. } => {
                self.reject(response_id, RejectReason::InternalError, &conv)
            }
        };
        self.conversations.finish(state);
        self.metrics
            .eap_conversations
            .set(self.conversations.len() as i64);
        outcome
    }

    fn reject(&self, id: u8, reason: RejectReason, conv: &Conversation) -> EapOutcome {
        EapOutcome::Reject {
            attributes: failure_attributes(id),
            reason,
            log: log_of(conv),
        }
    }

    fn reject_without(&self, id: u8, reason: RejectReason, outer: &str) -> EapOutcome {
        EapOutcome::Reject {
            attributes: failure_attributes(id),
            reason,
            log: EapLog {
                identity: outer.to_string(),
                outer_identity: outer.to_string(),
                method: "eap",
            },
        }
    }
}

fn log_of(conv: &Conversation) -> EapLog {
    EapLog {
        identity: conv.identity.clone(),
        outer_identity: conv.outer_identity.clone(),
        method: conv.label,
    }
}

fn challenge_attributes(eap: &[u8], state: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::with_capacity(eap.len() + eap.len() / 250 * 2 + 24);
    // Both fit: fragments are at most a few KiB and State is 16 bytes.
    let _ = wire::push_split_attribute(&mut attrs, ATTR_EAP_MESSAGE, eap);
    let _ = wire::push_attribute(&mut attrs, STATE_TYPE, state);
    attrs
}

fn failure_attributes(id: u8) -> Vec<u8> {
    let mut attrs = Vec::new();
    let _ = wire::push_attribute(
        &mut attrs,
        ATTR_EAP_MESSAGE,
        &packet::outcome(packet::CODE_FAILURE, id),
    );
    attrs
}

/// EAP-Success, the inner identity as User-Name (so the NAS accounts the
/// real user), and MS-MPPE-Recv-Key = MSK[0..32], MS-MPPE-Send-Key =
/// MSK[32..64] (RFC 5216 s2.3, RFC 2548 s2.4), salt-encrypted.
fn accept_attributes(
    id: u8,
    identity: &str,
    msk: &[u8],
    nas: &NasEntry,
    req: &AccessRequest<'_>,
) -> Result<Vec<u8>, wire::WireError> {
    let mut attrs = Vec::new();
    wire::push_attribute(
        &mut attrs,
        ATTR_EAP_MESSAGE,
        &packet::outcome(packet::CODE_SUCCESS, id),
    )?;
    if !identity.is_empty() && identity.len() <= wire::MAX_ATTR_VALUE_LEN {
        wire::push_attribute(&mut attrs, USER_NAME_TYPE, identity.as_bytes())?;
    }
    let recv = msk.get(..32).ok_or(wire::WireError::KeyTooLong(0))?;
    let send = msk.get(32..64).ok_or(wire::WireError::KeyTooLong(0))?;
    let salt = wire::random_salt();
    let recv_enc = wire::salt_encrypt(recv, &nas.secret, &req.authenticator, salt)?;
    let send_enc = wire::salt_encrypt(send, &nas.secret, &req.authenticator, salt ^ 1)?;
    wire::push_vendor_attribute(&mut attrs, VENDOR_MICROSOFT, MS_MPPE_RECV_KEY, &recv_enc)?;
    wire::push_vendor_attribute(&mut attrs, VENDOR_MICROSOFT, MS_MPPE_SEND_KEY, &send_enc)?;
    Ok(attrs)
}

/// How often idle conversations are swept.
pub fn sweep_interval(idle: Duration) -> Duration {
    (idle / 2).clamp(Duration::from_millis(500), Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_size_follows_the_smallest_framed_mtu() {
        let eap = EapService::ephemeral(Arc::new(Metrics::new())).unwrap();
        let packet = |mtus: &[u32]| {
            let mut attrs = Vec::new();
            for m in mtus {
                wire::push_attribute(&mut attrs, ATTR_FRAMED_MTU, &m.to_be_bytes()).unwrap();
            }
            wire::encode_request(1, 1, &[0; 16], &attrs, b"s").unwrap()
        };
        assert_eq!(eap.fragment_size_for(&packet(&[])), 1024);
        assert_eq!(eap.fragment_size_for(&packet(&[1400])), 1024);
        assert_eq!(eap.fragment_size_for(&packet(&[1400, 300])), 286);
        assert_eq!(eap.fragment_size_for(&packet(&[10])), MIN_FRAGMENT);
        assert_eq!(eap.open_conversations(), 0);
    }

    #[test]
    fn accept_attributes_carry_keys_the_nas_can_decrypt() {
        let nas = NasEntry {
            name: "ap".into(),
            net: "127.0.0.1/32".parse().unwrap(),
            secret: b"secret".to_vec(),
            profile: "generic".into(),
            coa_port: 3799,
            require_message_authenticator: true,
        };
        let req = AccessRequest {
            authenticator: [5; 16],
            ..Default::default()
        };
        let msk: Vec<u8> = (0..64).collect();
        let attrs = accept_attributes(9, "alice", &msk, &nas, &req).unwrap();
        let mut packet = vec![2, 1, 0, 0];
        packet.extend_from_slice(&[0; 16]);
        packet.extend_from_slice(&attrs);
        let len = packet.len() as u16;
        packet[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            wire::join_attribute(&packet, ATTR_EAP_MESSAGE),
            vec![3, 9, 0, 4]
        );
        assert_eq!(
            wire::find_attribute(&packet, USER_NAME_TYPE),
            Some(&b"alice"[..])
        );
        let key = |typ| {
            let (_, _, v) = wire::vendor_attributes(&packet)
                .find(|(v, t, _)| *v == VENDOR_MICROSOFT && *t == typ)
                .unwrap();
            wire::salt_decrypt(v, b"secret", &[5; 16]).unwrap()
        };
        assert_eq!(key(MS_MPPE_RECV_KEY), msk[..32].to_vec());
        assert_eq!(key(MS_MPPE_SEND_KEY), msk[32..].to_vec());
    }
}
