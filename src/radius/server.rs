//! The UDP edge: receive, check, hand to the services, reply. The read loop
//! never waits for the store: a request that would wait gets a task of its
//! own, the number in flight is bounded, and a datagram that finds no free
//! slot is dropped and counted.

use std::borrow::Cow;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use radius::core::rfc2865::PROXY_STATE_TYPE;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::now_ms;
use crate::metrics::{ListenerLabels, Metrics, OutcomeLabels};
use crate::profiles::Profiles;
use crate::radius::accounting::{self, AccountingWriter, AcctAction, AuthLogWriter};
use crate::radius::auth::AuthService;
use crate::radius::directory::{canonical_ip, Directory, NasEntry};
use crate::radius::dupcache::{DuplicateCache, RequestKey, Seen};
use crate::radius::eap::{EapOutcome, EapService};
use crate::radius::policy;
use crate::radius::request::{self, ATTR_EAP_MESSAGE};
use crate::radius::wire::{self, code, MessageAuthenticator};
use crate::store::auth_log::AuthRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    Auth,
    Acct,
}

impl ListenerKind {
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Auth => "radius-auth",
            ListenerKind::Acct => "radius-acct",
        }
    }
}

/// Why a datagram got no answer: the `reason` label of
/// `portico_radius_dropped_total` and the debug log's word for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Larger than a RADIUS packet can be.
    Oversize,
    /// Every in-flight slot was taken.
    Overload,
    /// From an address that is no configured NAS.
    UnknownNas,
    /// Not a well-formed packet, or an accounting request that says nothing.
    Malformed,
    /// A code this listener does not serve.
    UnexpectedCode,
    MissingMessageAuthenticator,
    BadMessageAuthenticator,
    /// Accounting-Request authenticator wrong (wrong shared secret).
    BadAuthenticator,
    /// A retransmission of a request still being answered (counted as a
    /// duplicate, not as a drop).
    InProgress,
    /// Not answered within `radius.request_timeout`.
    Timeout,
    /// The store or the password pool failed: no answer, so the NAS
    /// retries, rather than a reject the user did not earn.
    InternalError,
    /// Accounting not committed: no answer, so the NAS retransmits.
    NotCommitted,
    /// The reply could not be encoded.
    EncodeFailed,
    /// Refused by the EAP state machine (`eap_malformed`, `eap_busy`, ...).
    Eap(&'static str),
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Oversize => "oversize",
            DropReason::Overload => "overload",
            DropReason::UnknownNas => "unknown_nas",
            DropReason::Malformed => "malformed",
            DropReason::UnexpectedCode => "unexpected_code",
            DropReason::MissingMessageAuthenticator => "missing_message_authenticator",
            DropReason::BadMessageAuthenticator => "bad_message_authenticator",
            DropReason::BadAuthenticator => "bad_authenticator",
            DropReason::InProgress => "in_progress",
            DropReason::Timeout => "timeout",
            DropReason::InternalError => "internal_error",
            DropReason::NotCommitted => "not_committed",
            DropReason::EncodeFailed => "encode_failed",
            DropReason::Eap(r) => r,
        }
    }
}

/// What became of one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send these bytes back to the peer.
    Reply(Vec<u8>),
    /// Send nothing, for this reason.
    Drop(DropReason),
}

impl Outcome {
    fn from_encoded(r: Result<Vec<u8>, wire::WireError>) -> Outcome {
        match r {
            Ok(bytes) => Outcome::Reply(bytes),
            Err(_) => Outcome::Drop(DropReason::EncodeFailed),
        }
    }
}

/// Everything a request handler needs, shared by both listeners.
pub struct RadiusContext {
    pub directory: Arc<Directory>,
    pub profiles: Arc<Profiles>,
    pub metrics: Arc<Metrics>,
    pub auth: AuthService,
    /// 802.1X; None when `eap.enabled` is off (EAP is then rejected).
    pub eap: Option<Arc<EapService>>,
    pub accounting: AccountingWriter,
    pub auth_log: AuthLogWriter,
    pub in_flight: Arc<Semaphore>,
    pub max_in_flight: usize,
    pub request_timeout: Duration,
    pub unknown_nas_log: RateLimitedLog,
}

/// Logs at most once per interval and says how many were suppressed, so a
/// scan from an unknown address cannot flood the log.
pub struct RateLimitedLog {
    interval_ms: u64,
    epoch: Instant,
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    pub fn new(interval: Duration) -> Self {
        RateLimitedLog {
            interval_ms: interval.as_millis() as u64,
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Some(suppressed count) when this event may be logged.
    pub fn permit(&self) -> Option<u64> {
        let now = self.epoch.elapsed().as_millis() as u64 + self.interval_ms;
        let last = self.last_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= self.interval_ms
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// A UDP socket for a listener: dual-stack when bound to `[::]`, with large
/// kernel buffers so bursts are absorbed rather than dropped by the kernel.
pub fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    // Best effort: the kernel caps these at net.core.[rw]mem_max.
    let _ = socket.set_recv_buffer_size(8 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Runs one listener until `shutdown`, then waits (up to the request
/// timeout) for the requests in flight to be answered. One receive loop per
/// runtime worker shares the socket, so every core can take datagrams.
pub async fn serve(
    kind: ListenerKind,
    socket: Arc<UdpSocket>,
    ctx: Arc<RadiusContext>,
    dups: Arc<DuplicateCache>,
    shutdown: CancellationToken,
) {
    let loops = tokio::runtime::Handle::current()
        .metrics()
        .num_workers()
        .max(1);
    let mut others = tokio::task::JoinSet::new();
    for _ in 1..loops {
        others.spawn(receive_loop(
            kind,
            socket.clone(),
            ctx.clone(),
            dups.clone(),
            shutdown.clone(),
        ));
    }
    receive_loop(kind, socket, ctx.clone(), dups, shutdown).await;
    while others.join_next().await.is_some() {}
    // Drain: every permit back means every handler has finished.
    let all = ctx.max_in_flight as u32;
    let _ = tokio::time::timeout(ctx.request_timeout, ctx.in_flight.acquire_many(all)).await;
}

async fn receive_loop(
    kind: ListenerKind,
    socket: Arc<UdpSocket>,
    ctx: Arc<RadiusContext>,
    dups: Arc<DuplicateCache>,
    shutdown: CancellationToken,
) {
    // One byte more than the largest packet, to tell oversized datagrams.
    let mut buf = vec![0u8; wire::MAX_PACKET_LEN + 1];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => r,
        };
        let (len, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!(error = %e, listener = kind.name(), "recv failed");
                continue;
            }
        };
        let started = Instant::now();
        if len > wire::MAX_PACKET_LEN {
            ctx.metrics
                .dropped(kind.name(), DropReason::Oversize.as_str());
            continue;
        }
        let Ok(permit) = ctx.in_flight.clone().try_acquire_owned() else {
            ctx.metrics
                .dropped(kind.name(), DropReason::Overload.as_str());
            continue;
        };
        let mut job = Box::pin(answer(
            kind,
            socket.clone(),
            ctx.clone(),
            dups.clone(),
            buf[..len].to_vec(),
            peer,
            started,
            permit,
        ));
        // Most requests (cached credentials, replays, Status-Server) are
        // answered without waiting for anything: finish those right here,
        // and hand only those that must wait (store, password hashing,
        // group commit) to a task of their own. The no-op waker is fine:
        // the task polls the job again with its own waker at once.
        let waiting = {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            job.as_mut().poll(&mut cx).is_pending()
        };
        if waiting {
            tokio::spawn(job);
        }
    }
}

/// One datagram from receipt to reply; holds its in-flight permit to the end.
#[allow(clippy::too_many_arguments)]
async fn answer(
    kind: ListenerKind,
    socket: Arc<UdpSocket>,
    ctx: Arc<RadiusContext>,
    dups: Arc<DuplicateCache>,
    datagram: Vec<u8>,
    peer: SocketAddr,
    started: Instant,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    ctx.metrics.radius_in_flight.inc();
    if let Outcome::Reply(reply) = process(kind, &ctx, &dups, &datagram, peer, started).await {
        if let Err(e) = socket.send_to(&reply, peer).await {
            tracing::warn!(%peer, error = %e, "sending reply failed");
        }
    }
    ctx.metrics.radius_in_flight.dec();
    drop(permit);
}

/// Everything between a received datagram and the reply to send (if any):
/// no socket here, so tests and the fuzzer drive it directly. Every drop
/// is counted here, by its reason.
pub async fn process(
    kind: ListenerKind,
    ctx: &RadiusContext,
    dups: &DuplicateCache,
    datagram: &[u8],
    peer: SocketAddr,
    started: Instant,
) -> Outcome {
    let listener = kind.name();
    let outcome = decide(kind, ctx, dups, datagram, peer, started).await;
    match &outcome {
        Outcome::Drop(DropReason::InProgress) => {}
        Outcome::Drop(reason) => {
            ctx.metrics.dropped(listener, reason.as_str());
            tracing::debug!(%peer, listener, reason = reason.as_str(), "request dropped");
        }
        Outcome::Reply(_) => {}
    }
    outcome
}

async fn decide(
    kind: ListenerKind,
    ctx: &RadiusContext,
    dups: &DuplicateCache,
    datagram: &[u8],
    peer: SocketAddr,
    started: Instant,
) -> Outcome {
    let listener = kind.name();
    let snap = ctx.directory.get();
    let Some(nas) = snap.nas.lookup(peer.ip()) else {
        if let Some(suppressed) = ctx.unknown_nas_log.permit() {
            tracing::warn!(%peer, listener, suppressed, "dropped request from an address that is no configured NAS");
        }
        return Outcome::Drop(DropReason::UnknownNas);
    };
    let packet = match wire::check_structure(datagram) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(%peer, nas = %nas.name, error = %e, "malformed RADIUS packet");
            return Outcome::Drop(DropReason::Malformed);
        }
    };
    let packet_code = packet[0];
    let expected = match kind {
        ListenerKind::Auth => matches!(packet_code, code::ACCESS_REQUEST | code::STATUS_SERVER),
        ListenerKind::Acct => {
            matches!(packet_code, code::ACCOUNTING_REQUEST | code::STATUS_SERVER)
        }
    };
    if !expected {
        return Outcome::Drop(DropReason::UnexpectedCode);
    }
    if let Err(reason) = check_authenticity(packet_code, packet, &nas) {
        return Outcome::Drop(reason);
    }
    let counters = ctx.metrics.nas_counters(&nas.name);
    counters.request(packet_code);
    ctx.metrics
        .radius_requests_all
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if packet_code == code::ACCESS_REQUEST {
        let with_ma = wire::find_attribute(packet, wire::ATTR_MESSAGE_AUTHENTICATOR).is_some();
        counters.access_request(with_ma, crate::clock::now_ms());
    }

    let mut authenticator = [0u8; 16];
    authenticator.copy_from_slice(&packet[4..20]);
    let key = RequestKey {
        peer,
        identifier: packet[1],
        authenticator,
    };
    let duplicate = match dups.check(&key, started) {
        Seen::New => None,
        Seen::InProgress => Some(Outcome::Drop(DropReason::InProgress)),
        Seen::Replay(reply) => Some(Outcome::Reply(reply)),
    };
    if let Some(outcome) = duplicate {
        ctx.metrics
            .radius_duplicates
            .get_or_create(&ListenerLabels {
                listener: Cow::Borrowed(listener),
            })
            .inc();
        return outcome;
    }

    let span = tracing::debug_span!("radius", nas = %nas.name, listener, code = packet_code);
    let work = async {
        match packet_code {
            code::STATUS_SERVER => status_reply(kind, packet, &nas),
            code::ACCESS_REQUEST => access_reply(ctx, packet, &nas, &snap, peer.ip()).await,
            _ => accounting_reply(ctx, packet, &nas, peer.ip()).await,
        }
    }
    .instrument(span);
    let outcome = match tokio::time::timeout(ctx.request_timeout, work).await {
        Ok(o) => o,
        Err(_) => Outcome::Drop(DropReason::Timeout),
    };
    match &outcome {
        Outcome::Reply(reply) => {
            counters.reply(reply[0]);
            dups.complete(key, reply.clone());
        }
        Outcome::Drop(_) => dups.abandon(&key),
    }
    ctx.metrics
        .radius_latency
        .get_or_create(&ListenerLabels {
            listener: Cow::Borrowed(listener),
        })
        .observe(started.elapsed().as_secs_f64());
    outcome
}

/// The checks that protect against forged packets (CVE-2024-3596 among
/// them).
fn check_authenticity(packet_code: u8, packet: &[u8], nas: &NasEntry) -> Result<(), DropReason> {
    let ma = wire::verify_request_message_authenticator(packet, &nas.secret);
    match packet_code {
        code::ACCESS_REQUEST | code::STATUS_SERVER => match ma {
            MessageAuthenticator::Valid => Ok(()),
            MessageAuthenticator::Invalid => Err(DropReason::BadMessageAuthenticator),
            MessageAuthenticator::Absent => {
                // Only a NAS explicitly marked legacy may omit it, and never
                // with EAP (RFC 3579) or Status-Server (RFC 5997).
                let eap = wire::find_attribute(packet, ATTR_EAP_MESSAGE).is_some();
                if packet_code == code::ACCESS_REQUEST && !nas.require_message_authenticator && !eap
                {
                    Ok(())
                } else {
                    Err(DropReason::MissingMessageAuthenticator)
                }
            }
        },
        _ => {
            if !wire::verify_accounting_request_authenticator(packet, &nas.secret) {
                return Err(DropReason::BadAuthenticator);
            }
            if ma == MessageAuthenticator::Invalid {
                return Err(DropReason::BadMessageAuthenticator);
            }
            Ok(())
        }
    }
}

fn request_authenticator(packet: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let Some(src) = packet.get(4..20) {
        a.copy_from_slice(src);
    }
    a
}

fn echo_proxy_state(packet: &[u8], out: &mut Vec<u8>) {
    for (typ, value) in wire::attributes(packet) {
        if typ == PROXY_STATE_TYPE {
            let _ = wire::push_attribute(out, PROXY_STATE_TYPE, value);
        }
    }
}

/// RFC 5997: Status-Server is answered with Access-Accept on the
/// authentication port and Accounting-Response on the accounting port.
fn status_reply(kind: ListenerKind, packet: &[u8], nas: &NasEntry) -> Outcome {
    let reply_code = match kind {
        ListenerKind::Auth => code::ACCESS_ACCEPT,
        ListenerKind::Acct => code::ACCOUNTING_RESPONSE,
    };
    let mut attrs = Vec::new();
    echo_proxy_state(packet, &mut attrs);
    Outcome::from_encoded(wire::encode_reply(
        reply_code,
        packet[1],
        &request_authenticator(packet),
        &attrs,
        &nas.secret,
    ))
}

/// A decided Access-Request, ready to be counted, logged and encoded.
struct Verdict {
    code: u8,
    attrs: Vec<u8>,
    identity: String,
    method: &'static str,
    outcome: &'static str,
    reason: String,
}

async fn access_reply(
    ctx: &RadiusContext,
    packet: &[u8],
    nas: &NasEntry,
    snap: &crate::radius::directory::Snapshot,
    peer: IpAddr,
) -> Outcome {
    let req = request::parse_access_request(packet);
    let now = now_ms();
    if req.has_eap_message {
        if let Some(eap) = &ctx.eap {
            // Boxed: the EAP state machine is large and most requests are
            // not EAP; unboxed it would be copied with every task.
            return Box::pin(eap_reply(ctx, eap, packet, &req, nas, peer, now)).await;
        }
    }
    let decision = ctx
        .auth
        .authenticate(&req, nas, snap, now)
        .instrument(tracing::debug_span!("auth", user = %req.user_name_str()))
        .await;
    if decision.result.as_ref().err() == Some(&policy::RejectReason::InternalError) {
        return Outcome::Drop(DropReason::InternalError);
    }
    let mut attrs = Vec::new();
    let (reply_code, outcome, reason) = match &decision.result {
        Ok(accepted) => {
            attrs.extend_from_slice(&accepted.extra_attributes);
            let profile = ctx.profiles.get(&nas.profile);
            let (policy_attrs, problems) = policy::reply_attributes(&accepted.grant, profile);
            for p in problems {
                tracing::warn!(nas = %nas.name, user = %decision.identity, problem = %p, "reply attribute left out");
            }
            attrs.extend_from_slice(&policy_attrs);
            (code::ACCESS_ACCEPT, "accept", String::new())
        }
        Err(reason) => {
            if *reason == policy::RejectReason::ChapNeedsClearSecret {
                tracing::warn!(nas = %nas.name, user = %decision.identity, "CHAP refused for a staff account: {}", reason.as_str());
            }
            (code::ACCESS_REJECT, "reject", reason.as_str().to_string())
        }
    };
    let verdict = Verdict {
        code: reply_code,
        attrs,
        identity: decision.identity,
        method: decision.method.as_str(),
        outcome,
        reason,
    };
    finish_access(ctx, packet, &req, nas, peer, now, verdict).await
}

/// EAP: challenges go straight out; final answers are logged like any
/// other, under the inner identity, with the outer one in the reason.
async fn eap_reply(
    ctx: &RadiusContext,
    eap: &EapService,
    packet: &[u8],
    req: &request::AccessRequest<'_>,
    nas: &NasEntry,
    peer: IpAddr,
    now: i64,
) -> Outcome {
    let snap = ctx.directory.get();
    let outcome = eap
        .handle(&ctx.auth, req, packet, nas, snap, now)
        .instrument(tracing::debug_span!("eap", outer = %req.user_name_str()))
        .await;
    let verdict = match outcome {
        EapOutcome::Drop(reason) => return Outcome::Drop(DropReason::Eap(reason)),
        EapOutcome::Challenge(mut attrs) => {
            echo_proxy_state(packet, &mut attrs);
            return Outcome::from_encoded(wire::encode_reply(
                code::ACCESS_CHALLENGE,
                req.identifier,
                &req.authenticator,
                &attrs,
                &nas.secret,
            ));
        }
        EapOutcome::Accept {
            mut attributes,
            grant,
            log,
        } => {
            let profile = ctx.profiles.get(&nas.profile);
            let (policy_attrs, problems) = policy::reply_attributes(&grant, profile);
            for p in problems {
                tracing::warn!(nas = %nas.name, user = %log.identity, problem = %p, "reply attribute left out");
            }
            attributes.extend_from_slice(&policy_attrs);
            Verdict {
                code: code::ACCESS_ACCEPT,
                attrs: attributes,
                identity: log.identity,
                method: log.method,
                outcome: "accept",
                reason: format!("outer identity {:?}", log.outer_identity),
            }
        }
        EapOutcome::Reject {
            attributes,
            reason,
            log,
        } => Verdict {
            code: code::ACCESS_REJECT,
            attrs: attributes,
            identity: log.identity,
            method: log.method,
            outcome: "reject",
            reason: format!(
                "{}; outer identity {:?}",
                reason.as_str(),
                log.outer_identity
            ),
        },
    };
    finish_access(ctx, packet, req, nas, peer, now, verdict).await
}

async fn finish_access(
    ctx: &RadiusContext,
    packet: &[u8],
    req: &request::AccessRequest<'_>,
    nas: &NasEntry,
    peer: IpAddr,
    now: i64,
    verdict: Verdict,
) -> Outcome {
    let Verdict {
        code: reply_code,
        mut attrs,
        identity,
        method,
        outcome,
        reason,
    } = verdict;
    echo_proxy_state(packet, &mut attrs);
    ctx.metrics
        .auth_outcomes
        .get_or_create(&OutcomeLabels {
            method: Cow::Borrowed(method),
            outcome: Cow::Borrowed(outcome),
        })
        .inc();
    tracing::debug!(nas = %nas.name, user = %identity, method = %method, outcome, reason = %reason, "access request");
    ctx.auth_log
        .record(AuthRecord {
            at_ms: now,
            username: identity,
            mac: req.calling_mac().map(|m| m.to_string()),
            nas_name: nas.name.clone(),
            nas_ip: req
                .nas_ip_address
                .map(IpAddr::V4)
                .unwrap_or(canonical_ip(peer))
                .to_string(),
            ap: req.called_station_str(),
            method: method.to_string(),
            outcome: outcome.to_string(),
            reason,
            client_ip: None,
            ssid: None,
        })
        .await;
    match wire::encode_reply(
        reply_code,
        req.identifier,
        &req.authenticator,
        &attrs,
        &nas.secret,
    ) {
        Ok(r) => Outcome::Reply(r),
        Err(e) => {
            // Too many attributes for one packet: a reject is the safe answer.
            tracing::error!(nas = %nas.name, error = %e, "reply does not fit; rejecting");
            let mut ps = Vec::new();
            echo_proxy_state(packet, &mut ps);
            Outcome::from_encoded(wire::encode_reply(
                code::ACCESS_REJECT,
                req.identifier,
                &req.authenticator,
                &ps,
                &nas.secret,
            ))
        }
    }
}

async fn accounting_reply(
    ctx: &RadiusContext,
    packet: &[u8],
    nas: &NasEntry,
    peer: IpAddr,
) -> Outcome {
    let action =
        match accounting::parse_accounting_request(packet, &nas.name, canonical_ip(peer), now_ms())
        {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(nas = %nas.name, error = %e, "accounting request dropped");
                return Outcome::Drop(DropReason::Malformed);
            }
        };
    match action {
        AcctAction::Store(record) => {
            if let Err(e) = ctx.accounting.commit(*record).await {
                // No answer: the NAS retransmits and nothing is lost.
                tracing::warn!(nas = %nas.name, error = %e, "accounting not committed; not answering");
                return Outcome::Drop(DropReason::NotCommitted);
            }
        }
        AcctAction::AnswerOnly(status) => {
            tracing::debug!(nas = %nas.name, status, "accounting status not stored");
        }
    }
    let mut attrs = Vec::new();
    echo_proxy_state(packet, &mut attrs);
    Outcome::from_encoded(wire::encode_accounting_response(
        packet[1],
        &request_authenticator(packet),
        &attrs,
        &nas.secret,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_log_counts_suppressed() {
        let log = RateLimitedLog::new(Duration::from_secs(3600));
        assert_eq!(log.permit(), Some(0));
        assert_eq!(log.permit(), None);
        assert_eq!(log.permit(), None);
        let log = RateLimitedLog::new(Duration::from_millis(0));
        assert!(log.permit().is_some());
    }
}
