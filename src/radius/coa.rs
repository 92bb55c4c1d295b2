//! CoA and Disconnect client (RFC 5176): tell a NAS to end or change a
//! session. Requests carry Message-Authenticator; a lost answer is retried
//! with the same packet (so the NAS can detect the duplicate) and doubling
//! waits; the outcome, ACK or NAK with its Error-Cause, is returned.

use std::net::SocketAddr;
use std::time::Duration;

use radius::core::code::Code;
use radius::core::rfc2865::{
    CALLING_STATION_ID_TYPE, FRAMED_IP_ADDRESS_TYPE, NAS_IP_ADDRESS_TYPE, USER_NAME_TYPE,
};
use radius::core::rfc2866::ACCT_SESSION_ID_TYPE;
use rand::Rng;
use tokio::net::UdpSocket;

use crate::radius::wire;
use crate::store::{AcctSession, Store, StoreError};

pub const ATTR_ERROR_CAUSE: u8 = 101;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoaKind {
    Disconnect,
    Coa,
}

impl CoaKind {
    fn code(self) -> u8 {
        match self {
            CoaKind::Disconnect => Code::DisconnectRequest as u8,
            CoaKind::Coa => Code::CoARequest as u8,
        }
    }
}

/// Which session: as many identifiers as are known (RFC 5176 s3).
#[derive(Debug, Clone, Default)]
pub struct SessionIdentity {
    pub user_name: Option<String>,
    pub acct_session_id: Option<String>,
    pub calling_station_id: Option<String>,
    pub framed_ip: Option<std::net::Ipv4Addr>,
    pub nas_ip: Option<std::net::Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoaOutcome {
    Ack,
    Nak { error_cause: Option<u32> },
}

impl CoaOutcome {
    pub fn describe(&self) -> String {
        match self {
            CoaOutcome::Ack => "ACK".into(),
            CoaOutcome::Nak {
                error_cause: Some(c),
            } => format!("NAK ({c} {})", error_cause_name(*c)),
            CoaOutcome::Nak { error_cause: None } => "NAK".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoaError {
    #[error("no answer from {0} after {1} attempts")]
    NoAnswer(SocketAddr, u32),
    #[error("NAS {0} is no longer configured")]
    NasGone(String),
    #[error("the session has no usable NAS address ({0:?})")]
    NoNasAddress(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode request: {0}")]
    Encode(#[from] wire::WireError),
}

/// How long to wait for an answer and how often to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoaSettings {
    pub timeout: Duration,
    pub attempts: u32,
}

impl CoaKind {
    pub fn name(self) -> &'static str {
        match self {
            CoaKind::Disconnect => "Disconnect-Request",
            CoaKind::Coa => "CoA-Request",
        }
    }
}

/// The interface other services use to act on a session: sends `kind`
/// (with `extra` attributes, e.g. a vendor's re-authenticate command) to
/// the NAS that holds the accounting session, identified as RFC 5176 asks,
/// and records the answer as an event. Returns the NAS's name and answer.
pub async fn for_session(
    store: &Store,
    settings: CoaSettings,
    session: &AcctSession,
    kind: CoaKind,
    extra: &[u8],
) -> Result<(String, CoaOutcome), CoaError> {
    let nas = store
        .nas()
        .get(&session.nas_name)
        .await?
        .ok_or_else(|| CoaError::NasGone(session.nas_name.clone()))?;
    let nas_ip: std::net::IpAddr = session
        .nas_ip
        .parse()
        .map_err(|_| CoaError::NoNasAddress(session.nas_ip.clone()))?;
    let identity = SessionIdentity {
        user_name: session.username.clone(),
        acct_session_id: Some(session.session_id.clone()),
        calling_station_id: session.calling_station.clone(),
        framed_ip: session.framed_ip.as_deref().and_then(|s| s.parse().ok()),
        nas_ip: match nas_ip {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        },
    };
    let mut attrs = identity_attributes(&identity)?;
    attrs.extend_from_slice(extra);
    let target = SocketAddr::new(nas_ip, nas.coa_port);
    let result = send(
        kind,
        target,
        nas.secret.as_bytes(),
        &attrs,
        settings.timeout,
        settings.attempts,
    )
    .await;
    let who = session.username.clone().unwrap_or_default();
    let (severity, message) = match &result {
        Ok(o) => (
            if *o == CoaOutcome::Ack {
                "info"
            } else {
                "warning"
            },
            format!(
                "{} for session {} ({who}): {}",
                kind.name(),
                session.session_id,
                o.describe()
            ),
        ),
        Err(e) => (
            "warning",
            format!("{} for session {}: {e}", kind.name(), session.session_id),
        ),
    };
    store
        .events()
        .record("coa", &nas.name, severity, &message, crate::clock::now_ms())
        .await?;
    Ok((nas.name, result?))
}

/// RFC 5176 s3.5 Error-Cause values.
pub fn error_cause_name(cause: u32) -> &'static str {
    match cause {
        201 => "Residual Session Context Removed",
        202 => "Invalid EAP Packet (Ignored)",
        401 => "Unsupported Attribute",
        402 => "Missing Attribute",
        403 => "NAS Identification Mismatch",
        404 => "Invalid Request",
        405 => "Unsupported Service",
        406 => "Unsupported Extension",
        407 => "Invalid Attribute Value",
        501 => "Administratively Prohibited",
        502 => "Request Not Routable (Proxy)",
        503 => "Session Context Not Found",
        504 => "Session Context Not Removable",
        505 => "Other Proxy Processing Error",
        506 => "Resources Unavailable",
        507 => "Request Initiated",
        508 => "Multiple Session Selection Unsupported",
        _ => "unknown",
    }
}

/// Identification attributes for the request; `extra` (CoA changes) follow.
pub fn identity_attributes(id: &SessionIdentity) -> Result<Vec<u8>, wire::WireError> {
    let mut out = Vec::new();
    if let Some(ip) = id.nas_ip {
        wire::push_attribute(&mut out, NAS_IP_ADDRESS_TYPE, &ip.octets())?;
    }
    if let Some(u) = &id.user_name {
        wire::push_attribute(&mut out, USER_NAME_TYPE, u.as_bytes())?;
    }
    if let Some(s) = &id.acct_session_id {
        wire::push_attribute(&mut out, ACCT_SESSION_ID_TYPE, s.as_bytes())?;
    }
    if let Some(c) = &id.calling_station_id {
        wire::push_attribute(&mut out, CALLING_STATION_ID_TYPE, c.as_bytes())?;
    }
    if let Some(ip) = id.framed_ip {
        wire::push_attribute(&mut out, FRAMED_IP_ADDRESS_TYPE, &ip.octets())?;
    }
    Ok(out)
}

/// Decode an answer to our request; None if it is not one.
pub fn parse_answer(
    kind: CoaKind,
    reply: &[u8],
    identifier: u8,
    request_authenticator: &[u8; 16],
    secret: &[u8],
) -> Option<CoaOutcome> {
    let packet = wire::check_structure(reply).ok()?;
    if packet[1] != identifier || wire::verify_reply(packet, request_authenticator, secret).is_err()
    {
        return None;
    }
    let (ack, nak) = match kind {
        CoaKind::Disconnect => (Code::DisconnectACK as u8, Code::DisconnectNAK as u8),
        CoaKind::Coa => (Code::CoAACK as u8, Code::CoANAK as u8),
    };
    let error_cause = wire::find_attribute(packet, ATTR_ERROR_CAUSE)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(u32::from_be_bytes);
    match packet[0] {
        c if c == ack => Some(CoaOutcome::Ack),
        c if c == nak => Some(CoaOutcome::Nak { error_cause }),
        _ => None,
    }
}

/// Send and wait: `attempts` tries, the wait doubling from `timeout`.
pub async fn send(
    kind: CoaKind,
    target: SocketAddr,
    secret: &[u8],
    attributes: &[u8],
    timeout: Duration,
    attempts: u32,
) -> Result<CoaOutcome, CoaError> {
    let bind: SocketAddr = if target.is_ipv6() {
        "[::]:0"
            .parse()
            .map_err(|_| CoaError::NoAnswer(target, 0))?
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(target).await?;
    let identifier: u8 = rand::thread_rng().gen();
    let request = wire::encode_request(kind.code(), identifier, &[0u8; 16], attributes, secret)?;
    let mut req_auth = [0u8; 16];
    req_auth.copy_from_slice(&request[4..20]);
    let mut buf = vec![0u8; wire::MAX_PACKET_LEN];
    let mut wait = timeout;
    for attempt in 1..=attempts {
        socket.send(&request).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    // ICMP port unreachable: the NAS is not listening; the
                    // next attempt may still reach it after a restart.
                    tracing::debug!(%target, attempt, error = %e, "CoA receive failed");
                    tokio::time::sleep_until(deadline).await;
                    break;
                }
                Ok(Ok(n)) => {
                    if let Some(outcome) =
                        parse_answer(kind, &buf[..n], identifier, &req_auth, secret)
                    {
                        return Ok(outcome);
                    }
                    // Not ours or forged: keep waiting for the real one.
                }
            }
        }
        wait = wait.saturating_mul(2);
    }
    Err(CoaError::NoAnswer(target, attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake NAS answering once with the given code and Error-Cause.
    async fn fake_nas(
        secret: &'static [u8],
        answer_code: u8,
        cause: Option<u32>,
        ignore_first: bool,
    ) -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut seen = 0;
            loop {
                let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
                seen += 1;
                if ignore_first && seen == 1 {
                    continue;
                }
                let req = &buf[..n];
                assert!(wire::verify_accounting_request_authenticator(req, secret));
                assert_eq!(
                    wire::verify_request_message_authenticator(req, secret),
                    wire::MessageAuthenticator::Valid
                );
                let mut attrs = Vec::new();
                if let Some(c) = cause {
                    wire::push_attribute(&mut attrs, ATTR_ERROR_CAUSE, &c.to_be_bytes()).unwrap();
                }
                let mut ra = [0u8; 16];
                ra.copy_from_slice(&req[4..20]);
                let reply = wire::encode_reply(answer_code, req[1], &ra, &attrs, secret).unwrap();
                sock.send_to(&reply, peer).await.unwrap();
            }
        });
        addr
    }

    fn ident() -> Vec<u8> {
        identity_attributes(&SessionIdentity {
            user_name: Some("alice".into()),
            acct_session_id: Some("S1".into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn ack_after_a_lost_first_attempt() {
        let addr = fake_nas(b"s3cret", Code::DisconnectACK as u8, None, true).await;
        let out = send(
            CoaKind::Disconnect,
            addr,
            b"s3cret",
            &ident(),
            Duration::from_millis(100),
            3,
        )
        .await
        .unwrap();
        assert_eq!(out, CoaOutcome::Ack);
    }

    #[tokio::test]
    async fn nak_with_error_cause() {
        let addr = fake_nas(b"s3cret", Code::CoANAK as u8, Some(503), false).await;
        let out = send(
            CoaKind::Coa,
            addr,
            b"s3cret",
            &ident(),
            Duration::from_millis(200),
            2,
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            CoaOutcome::Nak {
                error_cause: Some(503)
            }
        );
        assert!(out.describe().contains("Session Context Not Found"));
    }

    #[tokio::test]
    async fn wrong_secret_answers_are_ignored() {
        let addr = fake_nas(b"other", Code::DisconnectACK as u8, None, false).await;
        let err = send(
            CoaKind::Disconnect,
            addr,
            b"s3cret",
            &ident(),
            Duration::from_millis(50),
            2,
        )
        .await;
        assert!(err.is_err());
    }
}
