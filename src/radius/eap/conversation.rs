//! One EAP conversation as a state machine: method negotiation, the TLS
//! handshake, then the inner exchange of PEAPv0/EAP-MSCHAPv2, EAP-TTLS
//! (PAP, MSCHAPv2) or EAP-TLS. Every step takes the peer's EAP Response and
//! says what to do next; no I/O, no waiting (the one slow check, TTLS/PAP's
//! password hash, is handed back to the caller as `Step::CheckPassword`).

use std::sync::Arc;

use rand::Rng;
use rustls::ServerConfig;

use super::inner::{self, MSCHAPV2_SUCCESS, TLV_SUCCESS};
use super::packet::{self, Response, TYPE_IDENTITY, TYPE_MSCHAPV2, TYPE_NAK, TYPE_TLV};
use super::tls::{Received, TlsSession};
use crate::pki::names::{self, IdentityRule};
use crate::radius::auth::user_grant;
use crate::radius::directory::Snapshot;
use crate::radius::mschap;
use crate::radius::policy::{self, Grant, RejectReason};
use crate::radius::request::{
    MS_CHAP2_RESPONSE, MS_CHAP2_SUCCESS, MS_CHAP_CHALLENGE, VENDOR_MICROSOFT,
};
use crate::store::users::User;

/// RFC 5216 s2.3 / PEAPv0 key derivation label.
pub const LABEL_EAP_TLS: &[u8] = b"client EAP encryption";
/// RFC 5281 s8 keying material label.
pub const LABEL_TTLS_KEYS: &[u8] = b"ttls keying material";
/// RFC 5281 s11.2.4: the MS-CHAP challenge is derived, not chosen by the peer.
pub const LABEL_TTLS_CHALLENGE: &[u8] = b"ttls challenge";
/// RFC 9190 s2.3: TLS 1.3 exporter label and context (the EAP-TLS type).
pub const LABEL_EAP_TLS13: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";

/// The outer methods we can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Peap,
    Ttls,
    Tls,
}

impl MethodKind {
    pub fn eap_type(self) -> u8 {
        match self {
            MethodKind::Peap => packet::TYPE_PEAP,
            MethodKind::Ttls => packet::TYPE_TTLS,
            MethodKind::Tls => packet::TYPE_TLS,
        }
    }

    pub fn from_type(typ: u8) -> Option<Self> {
        match typ {
            packet::TYPE_PEAP => Some(MethodKind::Peap),
            packet::TYPE_TTLS => Some(MethodKind::Ttls),
            packet::TYPE_TLS => Some(MethodKind::Tls),
            _ => None,
        }
    }

    /// The name in config (`eap.methods`) and in groups' allowed methods.
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Peap => "peap",
            MethodKind::Ttls => "ttls",
            MethodKind::Tls => "eap-tls",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "peap" => Some(MethodKind::Peap),
            "ttls" => Some(MethodKind::Ttls),
            "tls" | "eap-tls" => Some(MethodKind::Tls),
            _ => None,
        }
    }
}

/// What the conversation needs from the server, fixed at start-up.
pub struct Settings {
    /// Offered in this order; EAP-TLS only when a client CA is configured.
    pub methods: Vec<MethodKind>,
    pub server_name: String,
    /// PEAP and TTLS: TLS 1.2, no client certificate.
    pub tunnel: Arc<ServerConfig>,
    /// EAP-TLS: client certificates required.
    pub tls: Option<Arc<ServerConfig>>,
    /// EAP-TLS: which certificate names the account.
    pub identity_rule: IdentityRule,
}

/// What to do with the peer's message.
pub enum Step {
    /// Send this EAP Request in an Access-Challenge.
    Challenge(Vec<u8>),
    /// TTLS/PAP: check this password against the user (slow hash), then
    /// call `password_checked`.
    CheckPassword {
        user: Arc<User>,
        password: Vec<u8>,
    },
    Accept(Granted),
    Reject(RejectReason),
    /// Discard without answering; the reason is counted.
    Drop(&'static str),
}

/// An accepted conversation: the user's grant and the MSK for the AP.
pub struct Granted {
    pub grant: Grant,
    pub msk: Vec<u8>,
}

enum Inner {
    Handshake,
    PeapIdentity,
    PeapChallenge { challenge: [u8; 16] },
    PeapSuccess { grant: Grant },
    PeapResult { grant: Grant },
    PeapFailure { reason: RejectReason },
    TtlsPap { grant: Grant },
    TtlsMschapSuccess { grant: Grant },
    TtlsEapChallenge { challenge: [u8; 16] },
    TtlsEapSuccess { grant: Grant },
    TtlsEapFailure { reason: RejectReason },
    TlsCommitted { grant: Grant },
}

struct Tunnel {
    kind: MethodKind,
    tls: TlsSession,
    inner: Inner,
}

enum Stage {
    Proposed(MethodKind),
    Tunnel(Box<Tunnel>),
    Finished,
}

pub struct Conversation {
    pub outer_identity: String,
    /// The inner identity once known (the outer one until then).
    pub identity: String,
    /// Label for logs and metrics, e.g. `eap-peap-mschapv2`.
    pub label: &'static str,
    last_id: u8,
    fragment_size: usize,
    naked: bool,
    stage: Stage,
}

fn reject(reason: RejectReason) -> Step {
    Step::Reject(reason)
}

/// Methods the outer identity may use: all enabled ones when it names no
/// user (anonymous outer identities are the norm for PEAP and TTLS).
fn offerable(settings: &Settings, snap: &Snapshot, outer: &str, now_ms: i64) -> Vec<MethodKind> {
    let groups = snap
        .users
        .get(outer)
        .map(|u| user_grant(u, snap, now_ms).groups)
        .unwrap_or_default();
    settings
        .methods
        .iter()
        .copied()
        .filter(|m| *m != MethodKind::Tls || settings.tls.is_some())
        .filter(|m| policy::eap_method_allowed(&groups, m.name()))
        .collect()
}

/// The account behind a name as peers send it (`DOMAIN\user` or `user`).
fn find_user<'a>(snap: &'a Snapshot, name: &str) -> Option<&'a Arc<User>> {
    let bare = name.rsplit('\\').next().unwrap_or(name);
    snap.users.get(name).or_else(|| snap.users.get(bare))
}

/// Account checks and the user's grant for an EAP method.
fn admit(user: &User, snap: &Snapshot, now_ms: i64, method: &str) -> Result<Grant, RejectReason> {
    policy::check_account(user, now_ms)?;
    let grant = user_grant(user, snap, now_ms);
    if !policy::eap_method_allowed(&grant.groups, method) {
        return Err(RejectReason::MethodNotAllowed);
    }
    Ok(grant)
}

struct MsChapCheck<'a> {
    challenge: &'a [u8; 16],
    peer_challenge: &'a [u8; 16],
    nt_response: &'a [u8; 24],
    name: &'a str,
}

impl<'a> MsChapCheck<'a> {
    /// An EAP-MSCHAPv2 Response (PEAP, TTLS/EAP-MSCHAPv2) to `challenge`.
    fn eap_response(challenge: &'a [u8; 16], r: &'a inner::MsChapV2Response) -> Self {
        MsChapCheck {
            challenge,
            peer_challenge: &r.peer_challenge,
            nt_response: &r.nt_response,
            name: &r.name,
        }
    }
}

/// Verifies an MS-CHAPv2 response; on success the grant and the
/// Authenticator Response ("S=...") for the peer.
fn verify_mschap(
    snap: &Snapshot,
    now_ms: i64,
    method: &str,
    identity: &str,
    check: MsChapCheck<'_>,
) -> Result<(Grant, String), RejectReason> {
    let user = find_user(snap, identity)
        .or_else(|| find_user(snap, check.name))
        .ok_or(RejectReason::UnknownUser)?;
    let grant = admit(user, snap, now_ms, method)?;
    let nt_hash = user.nt_hash.ok_or(RejectReason::NoNtHash)?;
    // The challenge hash covers the name the peer sent, without a domain.
    let bare = check.name.rsplit('\\').next().unwrap_or(check.name);
    if !mschap::verify_nt_response(
        check.challenge,
        check.peer_challenge,
        bare.as_bytes(),
        &nt_hash,
        check.nt_response,
    ) {
        return Err(RejectReason::BadPassword);
    }
    let response = mschap::authenticator_response(
        &nt_hash,
        check.nt_response,
        check.peer_challenge,
        check.challenge,
        bare.as_bytes(),
    );
    Ok((grant, response))
}

impl Conversation {
    /// A new conversation from the peer's EAP-Response/Identity: proposes
    /// the first method the identity may use.
    pub fn start(
        identity: &str,
        response_id: u8,
        fragment_size: usize,
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> (Conversation, Step) {
        let mut conv = Conversation {
            outer_identity: identity.to_string(),
            identity: identity.to_string(),
            label: "eap",
            last_id: response_id,
            fragment_size,
            naked: false,
            stage: Stage::Finished,
        };
        let step = match offerable(settings, snap, identity, now_ms).first() {
            Some(kind) => conv.propose(*kind),
            None => reject(RejectReason::MethodNotAllowed),
        };
        (conv, step)
    }

    fn next_request(&mut self, typ: u8, data: &[u8]) -> Vec<u8> {
        self.last_id = self.last_id.wrapping_add(1);
        packet::request(self.last_id, typ, data)
    }

    fn propose(&mut self, kind: MethodKind) -> Step {
        self.label = match kind {
            MethodKind::Peap => "eap-peap",
            MethodKind::Ttls => "eap-ttls",
            MethodKind::Tls => "eap-tls",
        };
        self.stage = Stage::Proposed(kind);
        // Start bit, version 0 (PEAPv0, TTLSv0).
        Step::Challenge(self.next_request(kind.eap_type(), &[packet::FLAG_START]))
    }

    /// The identifier the next Response must carry.
    pub fn expected_id(&self) -> u8 {
        self.last_id
    }

    /// One step on the peer's Response (its identifier already checked).
    pub fn step(
        &mut self,
        resp: &Response<'_>,
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::Finished => Step::Drop("eap_finished"),
            Stage::Proposed(kind) => {
                if resp.typ == TYPE_NAK {
                    return self.on_nak(resp.data, settings, snap, now_ms);
                }
                if resp.typ != kind.eap_type() {
                    return reject(RejectReason::EapUnexpected);
                }
                let config = match kind {
                    MethodKind::Tls => match &settings.tls {
                        Some(c) => c.clone(),
                        None => return reject(RejectReason::EapMethodRefused),
                    },
                    _ => settings.tunnel.clone(),
                };
                let tls = match TlsSession::new(config) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start a TLS session");
                        return reject(RejectReason::InternalError);
                    }
                };
                let tunnel = Box::new(Tunnel {
                    kind,
                    tls,
                    inner: Inner::Handshake,
                });
                self.on_tls(tunnel, resp, settings, snap, now_ms)
            }
            Stage::Tunnel(tunnel) => {
                if resp.typ != tunnel.kind.eap_type() {
                    return reject(RejectReason::EapUnexpected);
                }
                self.on_tls(tunnel, resp, settings, snap, now_ms)
            }
        }
    }

    fn on_nak(&mut self, data: &[u8], settings: &Settings, snap: &Snapshot, now_ms: i64) -> Step {
        if self.naked {
            return reject(RejectReason::EapMethodRefused);
        }
        self.naked = true;
        let ours = offerable(settings, snap, &self.outer_identity, now_ms);
        let wanted = packet::nak_types(data);
        match wanted
            .iter()
            .filter_map(|t| MethodKind::from_type(*t))
            .find(|m| ours.contains(m))
        {
            Some(kind) => self.propose(kind),
            None => reject(RejectReason::EapMethodRefused),
        }
    }

    fn on_tls(
        &mut self,
        mut t: Box<Tunnel>,
        resp: &Response<'_>,
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        let typ = t.kind.eap_type();
        let frame = match packet::parse_tls_frame(resp.data) {
            Ok(f) => f,
            Err(_) => return reject(RejectReason::EapMalformed),
        };
        let received = match t.tls.receive(&frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, identity = %self.identity, "TLS failed");
                return reject(RejectReason::TlsFailed);
            }
        };
        if received == Received::Fragment {
            // Acknowledge: our request with no data (RFC 5216 s2.1.5).
            let ack = self.next_request(typ, &[0]);
            self.stage = Stage::Tunnel(t);
            return Step::Challenge(ack);
        }
        if let Err(e) = t.tls.flush() {
            tracing::debug!(error = %e, "TLS flush failed");
            return reject(RejectReason::TlsFailed);
        }
        if t.tls.has_pending() || t.tls.handshaking() {
            return self.send_pending(t);
        }
        let plain = t.tls.read_plaintext();
        match t.kind {
            MethodKind::Peap => self.peap(t, &plain, settings, snap, now_ms),
            MethodKind::Ttls => self.ttls(t, &plain, settings, snap, now_ms),
            MethodKind::Tls => self.eap_tls(t, &settings.identity_rule, snap, now_ms),
        }
    }

    /// Sends the next fragment of what TLS has queued (an empty request
    /// when nothing is queued, which asks the peer to go on).
    fn send_pending(&mut self, mut t: Box<Tunnel>) -> Step {
        let typ = t.kind.eap_type();
        let data = if t.tls.has_pending() {
            t.tls.next_fragment(0, self.fragment_size)
        } else {
            vec![0]
        };
        let req = self.next_request(typ, &data);
        self.stage = Stage::Tunnel(t);
        Step::Challenge(req)
    }

    /// Encrypts `plain` into the tunnel and sends its first fragment.
    fn send_inner(&mut self, mut t: Box<Tunnel>, plain: &[u8]) -> Step {
        if let Err(e) = t.tls.write_plaintext(plain) {
            tracing::debug!(error = %e, "TLS write failed");
            return reject(RejectReason::TlsFailed);
        }
        self.send_pending(t)
    }

    fn key(t: &Tunnel, label: &[u8], context: Option<&[u8]>, len: usize) -> Option<Vec<u8>> {
        let mut k = t.tls.export(label, context, len).ok()?;
        k.truncate(64);
        Some(k)
    }

    fn accept(
        &self,
        t: &Tunnel,
        grant: Grant,
        label: &[u8],
        context: Option<&[u8]>,
        len: usize,
    ) -> Step {
        match Self::key(t, label, context, len) {
            Some(msk) => Step::Accept(Granted { grant, msk }),
            None => reject(RejectReason::InternalError),
        }
    }

    fn peap(
        &mut self,
        mut t: Box<Tunnel>,
        plain: &[u8],
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        match std::mem::replace(&mut t.inner, Inner::Handshake) {
            Inner::Handshake => {
                // Phase 2 starts with a full-header Identity request, which
                // every PEAPv0 peer accepts.
                let id = self.last_id.wrapping_add(1);
                t.inner = Inner::PeapIdentity;
                self.send_inner(t, &inner::full_request(id, TYPE_IDENTITY, &[]))
            }
            Inner::PeapIdentity => {
                let Some((TYPE_IDENTITY, data)) = inner::peap_inner_response(plain) else {
                    return reject(RejectReason::EapUnexpected);
                };
                self.identity = String::from_utf8_lossy(data)
                    .trim_end_matches('\0')
                    .to_string();
                self.label = "eap-peap-mschapv2";
                let challenge: [u8; 16] = rand::thread_rng().gen();
                let ms_id = self.last_id.wrapping_add(1);
                t.inner = Inner::PeapChallenge { challenge };
                let body = inner::mschapv2_challenge(ms_id, &challenge, &settings.server_name);
                self.send_inner(t, &inner::compressed_request(TYPE_MSCHAPV2, &body))
            }
            Inner::PeapChallenge { challenge } => {
                let response = match inner::peap_inner_response(plain) {
                    Some((TYPE_MSCHAPV2, data)) => inner::parse_mschapv2(data),
                    Some((TYPE_NAK, _)) => return reject(RejectReason::EapMethodRefused),
                    _ => return reject(RejectReason::EapUnexpected),
                };
                let Some((_, Some(r))) = response else {
                    return reject(RejectReason::EapMalformed);
                };
                let checked = verify_mschap(
                    snap,
                    now_ms,
                    MethodKind::Peap.name(),
                    &self.identity,
                    MsChapCheck::eap_response(&challenge, &r),
                );
                match checked {
                    Ok((grant, auth)) => {
                        t.inner = Inner::PeapSuccess { grant };
                        let body = inner::mschapv2_success(r.ms_id, &auth);
                        self.send_inner(t, &inner::compressed_request(TYPE_MSCHAPV2, &body))
                    }
                    Err(reason) => {
                        // Tell the peer inside the tunnel (its user sees
                        // "wrong password", not a network error), then reject.
                        let fresh: [u8; 16] = rand::thread_rng().gen();
                        t.inner = Inner::PeapFailure { reason };
                        let body = inner::mschapv2_failure(r.ms_id, reason.mschap_error(), &fresh);
                        self.send_inner(t, &inner::compressed_request(TYPE_MSCHAPV2, &body))
                    }
                }
            }
            Inner::PeapFailure { reason } => reject(reason),
            Inner::PeapSuccess { grant } => match inner::peap_inner_response(plain) {
                Some((TYPE_MSCHAPV2, [MSCHAPV2_SUCCESS, ..])) => {
                    let id = self.last_id.wrapping_add(1);
                    t.inner = Inner::PeapResult { grant };
                    self.send_inner(t, &inner::tlv_result_request(id, TLV_SUCCESS))
                }
                _ => reject(RejectReason::EapUnexpected),
            },
            Inner::PeapResult { grant } => match inner::peap_inner_response(plain) {
                Some((TYPE_TLV, data)) if inner::tlv_result(data) == Some(TLV_SUCCESS) => {
                    self.accept(&t, grant, LABEL_EAP_TLS, None, 64)
                }
                _ => reject(RejectReason::EapUnexpected),
            },
            _ => reject(RejectReason::EapUnexpected),
        }
    }

    fn ttls(
        &mut self,
        mut t: Box<Tunnel>,
        plain: &[u8],
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        let state = std::mem::replace(&mut t.inner, Inner::Handshake);
        if matches!(
            state,
            Inner::TtlsEapChallenge { .. }
                | Inner::TtlsEapSuccess { .. }
                | Inner::TtlsEapFailure { .. }
        ) {
            return self.ttls_eap(t, state, plain, settings, snap, now_ms);
        }
        match state {
            Inner::Handshake => {
                if plain.is_empty() {
                    return self.send_pending(t);
                }
                let Some(avps) = inner::parse_avps(plain) else {
                    return reject(RejectReason::EapMalformed);
                };
                if avps
                    .iter()
                    .any(|a| a.code == inner::AVP_EAP_MESSAGE && a.vendor == 0)
                {
                    return self.ttls_eap(t, Inner::Handshake, plain, settings, snap, now_ms);
                }
                let find = |code: u32, vendor: u32| {
                    avps.iter()
                        .find(|a| a.code == code && a.vendor == vendor)
                        .map(|a| a.data)
                };
                let Some(name) = find(inner::AVP_USER_NAME, 0) else {
                    return reject(RejectReason::EapMalformed);
                };
                self.identity = String::from_utf8_lossy(name).into_owned();
                if let Some(hidden) = find(inner::AVP_USER_PASSWORD, 0) {
                    self.label = "eap-ttls-pap";
                    let password = {
                        let end = hidden.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
                        hidden.get(..end).unwrap_or(&[]).to_vec()
                    };
                    let Some(user) = find_user(snap, &self.identity).cloned() else {
                        return reject(RejectReason::UnknownUser);
                    };
                    let grant = match admit(&user, snap, now_ms, MethodKind::Ttls.name()) {
                        Ok(g) => g,
                        Err(r) => return reject(r),
                    };
                    t.inner = Inner::TtlsPap { grant };
                    self.stage = Stage::Tunnel(t);
                    return Step::CheckPassword { user, password };
                }
                let (Some(challenge), Some(response)) = (
                    find(u32::from(MS_CHAP_CHALLENGE), VENDOR_MICROSOFT),
                    find(u32::from(MS_CHAP2_RESPONSE), VENDOR_MICROSOFT),
                ) else {
                    // EAP inside TTLS, CHAP, MS-CHAPv1: not offered.
                    return reject(RejectReason::EapMethodRefused);
                };
                self.label = "eap-ttls-mschapv2";
                let Ok(r) = mschap::MsChap2Response::parse(response) else {
                    return reject(RejectReason::EapMalformed);
                };
                let Some(expected) = Self::key(&t, LABEL_TTLS_CHALLENGE, None, 17) else {
                    return reject(RejectReason::InternalError);
                };
                let Ok(challenge) = <[u8; 16]>::try_from(challenge) else {
                    return reject(RejectReason::EapMalformed);
                };
                if expected.get(..16) != Some(&challenge[..]) || expected.get(16) != Some(&r.ident)
                {
                    return reject(RejectReason::EapMalformed);
                }
                let checked = verify_mschap(
                    snap,
                    now_ms,
                    MethodKind::Ttls.name(),
                    &self.identity,
                    MsChapCheck {
                        challenge: &challenge,
                        peer_challenge: &r.peer_challenge,
                        nt_response: &r.nt_response,
                        name: &self.identity,
                    },
                );
                match checked {
                    Ok((grant, auth)) => {
                        let mut avp = Vec::new();
                        let value = mschap::mschap2_success_value(r.ident, &auth);
                        inner::push_avp(
                            &mut avp,
                            u32::from(MS_CHAP2_SUCCESS),
                            Some(VENDOR_MICROSOFT),
                            &value,
                        );
                        t.inner = Inner::TtlsMschapSuccess { grant };
                        self.send_inner(t, &avp)
                    }
                    Err(reason) => reject(reason),
                }
            }
            Inner::TtlsMschapSuccess { grant } => {
                if plain.is_empty() {
                    self.accept(&t, grant, LABEL_TTLS_KEYS, None, 64)
                } else {
                    reject(RejectReason::EapUnexpected)
                }
            }
            _ => reject(RejectReason::EapUnexpected),
        }
    }

    /// EAP-MSCHAPv2 inside TTLS (what Windows uses): full EAP packets in
    /// EAP-Message AVPs (RFC 5281 s11.1); Identity, Challenge, Success.
    fn ttls_eap(
        &mut self,
        t: Box<Tunnel>,
        state: Inner,
        plain: &[u8],
        settings: &Settings,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        let Some(avps) = inner::parse_avps(plain) else {
            return reject(RejectReason::EapMalformed);
        };
        let eap: Vec<u8> = avps
            .iter()
            .filter(|a| a.code == inner::AVP_EAP_MESSAGE && a.vendor == 0)
            .flat_map(|a| a.data.iter().copied())
            .collect();
        let Ok(resp) = packet::parse_response(&eap) else {
            return reject(RejectReason::EapMalformed);
        };
        let next_id = resp.identifier.wrapping_add(1);
        let mut t = t;
        let send =
            |this: &mut Self, mut t: Box<Tunnel>, inner_state: Inner, typ: u8, data: &[u8]| {
                let mut avp = Vec::new();
                inner::push_avp(
                    &mut avp,
                    inner::AVP_EAP_MESSAGE,
                    None,
                    &packet::request(next_id, typ, data),
                );
                t.inner = inner_state;
                this.send_inner(t, &avp)
            };
        match (state, resp.typ) {
            (Inner::Handshake, TYPE_IDENTITY) => {
                self.identity = String::from_utf8_lossy(resp.data)
                    .trim_end_matches('\0')
                    .to_string();
                self.label = "eap-ttls-eap-mschapv2";
                let challenge: [u8; 16] = rand::thread_rng().gen();
                let body = inner::mschapv2_challenge(next_id, &challenge, &settings.server_name);
                send(
                    self,
                    t,
                    Inner::TtlsEapChallenge { challenge },
                    TYPE_MSCHAPV2,
                    &body,
                )
            }
            (Inner::TtlsEapChallenge { challenge }, TYPE_MSCHAPV2) => {
                let Some((_, Some(r))) = inner::parse_mschapv2(resp.data) else {
                    return reject(RejectReason::EapMalformed);
                };
                let checked = verify_mschap(
                    snap,
                    now_ms,
                    MethodKind::Ttls.name(),
                    &self.identity,
                    MsChapCheck::eap_response(&challenge, &r),
                );
                match checked {
                    Ok((grant, auth)) => {
                        let body = inner::mschapv2_success(r.ms_id, &auth);
                        send(
                            self,
                            t,
                            Inner::TtlsEapSuccess { grant },
                            TYPE_MSCHAPV2,
                            &body,
                        )
                    }
                    Err(reason) => {
                        let fresh: [u8; 16] = rand::thread_rng().gen();
                        let body = inner::mschapv2_failure(r.ms_id, reason.mschap_error(), &fresh);
                        send(
                            self,
                            t,
                            Inner::TtlsEapFailure { reason },
                            TYPE_MSCHAPV2,
                            &body,
                        )
                    }
                }
            }
            (Inner::TtlsEapSuccess { grant }, TYPE_MSCHAPV2)
                if resp.data.first() == Some(&MSCHAPV2_SUCCESS) =>
            {
                t.inner = Inner::Handshake;
                self.accept(&t, grant, LABEL_TTLS_KEYS, None, 64)
            }
            (Inner::TtlsEapFailure { reason }, _) => reject(reason),
            (_, TYPE_NAK) => reject(RejectReason::EapMethodRefused),
            _ => reject(RejectReason::EapUnexpected),
        }
    }

    /// TTLS/PAP: the caller checked the password.
    pub fn password_checked(&mut self, result: Result<(), RejectReason>) -> Step {
        let Stage::Tunnel(mut t) = std::mem::replace(&mut self.stage, Stage::Finished) else {
            return reject(RejectReason::InternalError);
        };
        let Inner::TtlsPap { grant } = std::mem::replace(&mut t.inner, Inner::Handshake) else {
            return reject(RejectReason::InternalError);
        };
        match result {
            Ok(()) => self.accept(&t, grant, LABEL_TTLS_KEYS, None, 64),
            Err(reason) => reject(reason),
        }
    }

    fn eap_tls(
        &mut self,
        mut t: Box<Tunnel>,
        rule: &IdentityRule,
        snap: &Snapshot,
        now_ms: i64,
    ) -> Step {
        match std::mem::replace(&mut t.inner, Inner::Handshake) {
            Inner::Handshake => {
                let cert = t.tls.peer_certificate().and_then(names::parse_certificate);
                let candidates = cert
                    .as_ref()
                    .map(|c| rule.candidates(c))
                    .unwrap_or_default();
                let Some((name, user)) = candidates
                    .iter()
                    .find_map(|n| snap.users.get(n).map(|u| (n.clone(), u)))
                else {
                    let subject = cert.map(|c| c.subject).unwrap_or_default();
                    tracing::info!(
                        %subject,
                        names = ?candidates,
                        "EAP-TLS: the client certificate names no account under eap.tls_identity / eap.tls_domains"
                    );
                    self.identity = candidates.first().cloned().unwrap_or(subject);
                    return reject(RejectReason::CertificateNoUser);
                };
                self.identity = name;
                let grant = match admit(user, snap, now_ms, MethodKind::Tls.name()) {
                    Ok(g) => g,
                    Err(r) => return reject(r),
                };
                if t.tls.is_tls13() {
                    // RFC 9190 s2.5: one application-data byte 0x00 commits
                    // to sending no more handshake messages.
                    t.inner = Inner::TlsCommitted { grant };
                    return self.send_inner(t, &[0]);
                }
                self.accept(&t, grant, LABEL_EAP_TLS, None, 128)
            }
            Inner::TlsCommitted { grant } => {
                let context = [packet::TYPE_TLS];
                self.accept(&t, grant, LABEL_EAP_TLS13, Some(&context), 128)
            }
            _ => reject(RejectReason::EapUnexpected),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The state machine against a rustls client playing the peer: PEAPv0
    //! with EAP-MSCHAPv2 and TTLS/MSCHAPv2 end to end in memory, with tiny
    //! fragments both ways, and the MSK checked against the peer's own.
    use std::collections::HashMap;
    use std::io::{Read, Write};

    use super::*;
    use crate::radius::eap::inner::{push_avp, AVP_USER_NAME};
    use crate::radius::eap::packet::{tls_frame, FLAG_MORE};

    pub(crate) fn settings() -> (Settings, rustls::RootCertStore) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["portico".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        (
            Settings {
                methods: vec![MethodKind::Peap, MethodKind::Ttls],
                server_name: "portico".into(),
                tunnel: Arc::new(config),
                tls: None,
                identity_rule: crate::pki::names::IdentityRule {
                    fields: vec![crate::pki::names::IdentityField::Upn],
                    domains: vec![],
                },
            },
            roots,
        )
    }

    fn snapshot(password: &str) -> Snapshot {
        let user = User {
            id: 1,
            username: "alice".into(),
            display_name: None,
            password_hash: None,
            nt_hash: Some(mschap::nt_password_hash(password)),
            enabled: true,
            valid_until: None,
            groups: vec![],
            created_at: 0,
            updated_at: 0,
        };
        let mut users = HashMap::new();
        users.insert("alice".to_string(), Arc::new(user));
        Snapshot {
            users,
            ..Default::default()
        }
    }

    /// The peer side: a rustls client and the EAP framing around it.
    struct Peer {
        tls: rustls::ClientConnection,
        typ: u8,
        fragment: usize,
        inbound: Vec<u8>,
    }

    impl Peer {
        fn new(roots: rustls::RootCertStore, typ: u8, fragment: usize) -> Peer {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS12])
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from("portico").unwrap();
            Peer {
                tls: rustls::ClientConnection::new(Arc::new(config), name).unwrap(),
                typ,
                fragment,
                inbound: Vec::new(),
            }
        }

        fn response(id: u8, typ: u8, data: &[u8]) -> Vec<u8> {
            let mut r = vec![2, id, 0, 0, typ];
            r.extend_from_slice(data);
            let len = r.len() as u16;
            r[2..4].copy_from_slice(&len.to_be_bytes());
            r
        }

        /// Drives the conversation until the server asks for something the
        /// peer must answer at the application layer (or ends it).
        fn exchange(
            &mut self,
            conv: &mut Conversation,
            env: (&Settings, &Snapshot),
            first: Step,
        ) -> (Step, Vec<u8>) {
            let mut step = first;
            loop {
                let Step::Challenge(req) = step else {
                    return (step, Vec::new());
                };
                let id = req[1];
                assert_eq!(req[4], self.typ);
                let frame = packet::parse_tls_frame(&req[5..]).unwrap();
                if frame.data.is_empty() && !frame.more() && !self.tls.is_handshaking() {
                    // The server waits for the peer to speak in the tunnel.
                    return (Step::Challenge(req), Vec::new());
                }
                self.inbound.extend_from_slice(frame.data);
                let mut out = Vec::new();
                if !frame.more() && !self.inbound.is_empty() {
                    let data = std::mem::take(&mut self.inbound);
                    self.tls.read_tls(&mut &data[..]).unwrap();
                    self.tls.process_new_packets().unwrap();
                    let mut plain = Vec::new();
                    let _ = self.tls.reader().read_to_end(&mut plain);
                    if !plain.is_empty() && !self.tls.is_handshaking() {
                        return (Step::Challenge(req), plain);
                    }
                }
                if frame.more() {
                    // ACK the fragment.
                    let resp = Self::response(id, self.typ, &[0]);
                    let r = packet::parse_response(&resp).unwrap();
                    step = conv.step(&r, env.0, env.1, 0);
                    continue;
                }
                while self.tls.wants_write() {
                    self.tls.write_tls(&mut out).unwrap();
                }
                step = self.send(conv, env, id, &out);
            }
        }

        /// Sends `bytes` (TLS records) in fragments, consuming the server's
        /// ACKs; returns the server's answer to the last fragment.
        fn send(
            &mut self,
            conv: &mut Conversation,
            env: (&Settings, &Snapshot),
            mut id: u8,
            bytes: &[u8],
        ) -> Step {
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[]]
            } else {
                bytes.chunks(self.fragment).collect()
            };
            for (i, chunk) in chunks.iter().enumerate() {
                let last = i + 1 == chunks.len();
                let flags = if last { 0 } else { FLAG_MORE };
                let total = (i == 0 && !last).then_some(bytes.len());
                let resp = Self::response(id, self.typ, &tls_frame(flags, total, chunk));
                let r = packet::parse_response(&resp).unwrap();
                let step = conv.step(&r, env.0, env.1, 0);
                if last {
                    return step;
                }
                let Step::Challenge(ack) = step else {
                    panic!("no ACK for a fragment")
                };
                assert_eq!(ack.len(), 6, "ACK is an empty request");
                id = ack[1];
            }
            unreachable!()
        }

        fn send_plain(
            &mut self,
            conv: &mut Conversation,
            env: (&Settings, &Snapshot),
            id: u8,
            plain: &[u8],
        ) -> Step {
            self.tls.writer().write_all(plain).unwrap();
            let mut out = Vec::new();
            while self.tls.wants_write() {
                self.tls.write_tls(&mut out).unwrap();
            }
            self.send(conv, env, id, &out)
        }
    }

    fn last_id(step: &Step) -> u8 {
        match step {
            Step::Challenge(r) => r[1],
            _ => panic!("not a challenge"),
        }
    }

    fn peap(password: &str, server_fragment: usize, peer_fragment: usize) -> (Step, Peer) {
        let (settings, roots) = settings();
        let snap = snapshot("right password");
        let env = (&settings, &snap);
        let (mut conv, start) =
            Conversation::start("anonymous", 1, server_fragment, &settings, &snap, 0);
        let mut peer = Peer::new(roots, packet::TYPE_PEAP, peer_fragment);
        // The Start request carries no TLS: answer with the ClientHello.
        let id = last_id(&start);
        let mut hello = Vec::new();
        peer.tls.write_tls(&mut hello).unwrap();
        let step = peer.send(&mut conv, env, id, &hello);
        let (step, plain) = peer.exchange(&mut conv, env, step);
        // Identity request, full header.
        assert_eq!(plain, vec![1, last_id(&step), 0, 5, 1]);
        let step = peer.send_plain(
            &mut conv,
            env,
            last_id(&step),
            &[1, b'a', b'l', b'i', b'c', b'e'],
        );
        let (step, plain) = peer.exchange(&mut conv, env, step);
        assert_eq!(conv.identity, "alice");
        assert_eq!(&plain[..2], &[TYPE_MSCHAPV2, 1]);
        let challenge: [u8; 16] = plain[6..22].try_into().unwrap();
        let ms_id = plain[2];
        let peer_challenge = [7u8; 16];
        let nt = mschap::generate_nt_response(
            &challenge,
            &peer_challenge,
            b"alice",
            &mschap::nt_password_hash(password),
        );
        let mut resp = vec![TYPE_MSCHAPV2, 2, ms_id, 0, 0, 49];
        resp.extend_from_slice(&peer_challenge);
        resp.extend_from_slice(&[0; 8]);
        resp.extend_from_slice(&nt);
        resp.push(0);
        resp.extend_from_slice(b"alice");
        let step = peer.send_plain(&mut conv, env, last_id(&step), &resp);
        let (step, plain) = peer.exchange(&mut conv, env, step);
        if plain.get(1) == Some(&inner::MSCHAPV2_FAILURE) {
            assert!(String::from_utf8_lossy(&plain).contains("E=691"));
            let step = peer.send_plain(
                &mut conv,
                env,
                last_id(&step),
                &[TYPE_MSCHAPV2, inner::MSCHAPV2_FAILURE],
            );
            return (step, peer);
        }
        assert_eq!(&plain[..2], &[TYPE_MSCHAPV2, MSCHAPV2_SUCCESS]);
        let step = peer.send_plain(
            &mut conv,
            env,
            last_id(&step),
            &[TYPE_MSCHAPV2, MSCHAPV2_SUCCESS],
        );
        let (step, plain) = peer.exchange(&mut conv, env, step);
        assert_eq!(plain[4], TYPE_TLV);
        let id = last_id(&step);
        let tlv = [2, id, 0, 11, TYPE_TLV, 0x80, 0x03, 0, 2, 0, 1];
        let step = peer.send_plain(&mut conv, env, id, &tlv);
        (step, peer)
    }

    #[test]
    fn peap_mschapv2_end_to_end_with_matching_keys() {
        for (server_frag, peer_frag) in [(1024, 1024), (64, 100)] {
            let (step, peer) = peap("right password", server_frag, peer_frag);
            let Step::Accept(granted) = step else {
                panic!("not accepted")
            };
            let mut expected = [0u8; 64];
            peer.tls
                .export_keying_material(&mut expected, LABEL_EAP_TLS, None)
                .unwrap();
            assert_eq!(granted.msk, expected.to_vec());
        }
    }

    #[test]
    fn peap_wrong_password_is_rejected() {
        let (step, _) = peap("wrong", 1024, 1024);
        assert!(matches!(step, Step::Reject(RejectReason::BadPassword)));
    }

    #[test]
    fn ttls_mschapv2_uses_the_derived_challenge() {
        let (settings, roots) = settings();
        let snap = snapshot("pw");
        let env = (&settings, &snap);
        let (mut conv, start) = Conversation::start("anonymous", 1, 1024, &settings, &snap, 0);
        // The peer wants TTLS.
        let nak = Peer::response(last_id(&start), TYPE_NAK, &[packet::TYPE_TTLS]);
        let step = conv.step(&packet::parse_response(&nak).unwrap(), &settings, &snap, 0);
        let mut peer = Peer::new(roots, packet::TYPE_TTLS, 1024);
        let mut hello = Vec::new();
        peer.tls.write_tls(&mut hello).unwrap();
        let step = peer.send(&mut conv, env, last_id(&step), &hello);
        // Server flight, then the peer's Finished; the server's Finished
        // comes back with nothing inside the tunnel yet.
        let (step, plain) = peer.exchange(&mut conv, env, step);
        assert!(plain.is_empty() && !peer.tls.is_handshaking());
        let mut derived = [0u8; 17];
        peer.tls
            .export_keying_material(&mut derived, LABEL_TTLS_CHALLENGE, None)
            .unwrap();
        let challenge: [u8; 16] = derived[..16].try_into().unwrap();
        let peer_challenge = [9u8; 16];
        let nt = mschap::generate_nt_response(
            &challenge,
            &peer_challenge,
            b"alice",
            &mschap::nt_password_hash("pw"),
        );
        let mut response = vec![derived[16], 0];
        response.extend_from_slice(&peer_challenge);
        response.extend_from_slice(&[0; 8]);
        response.extend_from_slice(&nt);
        let mut avps = Vec::new();
        push_avp(&mut avps, AVP_USER_NAME, None, b"alice");
        push_avp(
            &mut avps,
            u32::from(MS_CHAP_CHALLENGE),
            Some(VENDOR_MICROSOFT),
            &challenge,
        );
        push_avp(
            &mut avps,
            u32::from(MS_CHAP2_RESPONSE),
            Some(VENDOR_MICROSOFT),
            &response,
        );
        let id = last_id(&step);
        let step = peer.send_plain(&mut conv, env, id, &avps);
        let (step, plain) = peer.exchange(&mut conv, env, step);
        let avps = inner::parse_avps(&plain).unwrap();
        assert_eq!((avps[0].code, avps[0].vendor), (26, VENDOR_MICROSOFT));
        let ack = peer.send(&mut conv, env, last_id(&step), &[]);
        let Step::Accept(granted) = ack else {
            panic!("not accepted")
        };
        let mut expected = [0u8; 64];
        peer.tls
            .export_keying_material(&mut expected, LABEL_TTLS_KEYS, None)
            .unwrap();
        assert_eq!(granted.msk, expected.to_vec());
        assert_eq!(conv.label, "eap-ttls-mschapv2");
    }

    #[test]
    fn unexpected_type_and_second_nak_are_rejected() {
        let (settings, _) = settings();
        let snap = snapshot("pw");
        let (mut conv, start) = Conversation::start("anonymous", 1, 1024, &settings, &snap, 0);
        let md5 = Peer::response(last_id(&start), packet::TYPE_MD5, &[0]);
        let step = conv.step(&packet::parse_response(&md5).unwrap(), &settings, &snap, 0);
        assert!(matches!(step, Step::Reject(RejectReason::EapUnexpected)));
        let (mut conv, start) = Conversation::start("anonymous", 1, 1024, &settings, &snap, 0);
        let nak = Peer::response(last_id(&start), TYPE_NAK, &[packet::TYPE_MD5]);
        let step = conv.step(&packet::parse_response(&nak).unwrap(), &settings, &snap, 0);
        assert!(matches!(step, Step::Reject(RejectReason::EapMethodRefused)));
    }
}
