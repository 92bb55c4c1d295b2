//! Simulated RADIUS accounting for the fleet simulator: each simulated
//! client gets a session (Start, an Interim-Update every interval, Stop at
//! the end) sent to a RADIUS accounting server, so the demo shows sessions
//! next to the SNMP data. Fire and forget: answers are counted, not waited
//! for, and nothing is retried.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use portico::radius::wire;
use portico::radius::wire::attr::*;

const ACCOUNTING_REQUEST: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Start = 1,
    Stop = 2,
    Interim = 3,
}

/// One simulated client session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimSession {
    pub ap: usize,
    pub client: u32,
}

impl SimSession {
    fn mac(&self) -> String {
        let a = self.ap as u32;
        format!(
            "02-51-{:02X}-{:02X}-{:02X}-{:02X}",
            (a >> 8) & 0xff,
            a & 0xff,
            (self.client >> 8) & 0xff,
            self.client & 0xff
        )
    }
}

fn push_u32(a: &mut Vec<u8>, typ: u8, v: u32) -> Result<(), wire::WireError> {
    wire::push_attribute(a, typ, &v.to_be_bytes())
}

/// The Accounting-Request for one session at one phase; `step` counts the
/// interims so far (counters grow with it).
pub fn request(
    s: &SimSession,
    phase: Phase,
    step: u32,
    identifier: u8,
    secret: &[u8],
) -> Result<Vec<u8>, wire::WireError> {
    let mut a = Vec::with_capacity(160);
    push_u32(&mut a, ACCT_STATUS_TYPE, phase as u32)?;
    wire::push_attribute(
        &mut a,
        ACCT_SESSION_ID,
        format!("sim-{}-{}", s.ap, s.client).as_bytes(),
    )?;
    wire::push_attribute(
        &mut a,
        USER_NAME,
        format!("sim-user-{}", s.client).as_bytes(),
    )?;
    wire::push_attribute(&mut a, NAS_IP_ADDRESS, &[127, 0, 0, 1])?;
    push_u32(&mut a, NAS_PORT, s.client)?;
    wire::push_attribute(
        &mut a,
        NAS_IDENTIFIER,
        format!("sim-{:04}", s.ap + 1).as_bytes(),
    )?;
    wire::push_attribute(
        &mut a,
        CALLED_STATION_ID,
        format!(
            "02-50-00-00-{:02X}-{:02X}:Staff",
            (s.ap >> 8) & 0xff,
            s.ap & 0xff
        )
        .as_bytes(),
    )?;
    wire::push_attribute(&mut a, CALLING_STATION_ID, s.mac().as_bytes())?;
    let c = s.client;
    wire::push_attribute(
        &mut a,
        FRAMED_IP_ADDRESS,
        &[10, 100, ((c >> 8) & 0xff) as u8, (c & 0xff) as u8],
    )?;
    if phase != Phase::Start {
        push_u32(&mut a, ACCT_SESSION_TIME, 60 * step)?;
        push_u32(&mut a, ACCT_INPUT_OCTETS, 250_000u32.saturating_mul(step))?;
        push_u32(
            &mut a,
            ACCT_OUTPUT_OCTETS,
            1_500_000u32.saturating_mul(step),
        )?;
    }
    if phase == Phase::Stop {
        push_u32(&mut a, ACCT_TERMINATE_CAUSE, 1)?;
    }
    wire::encode_request(ACCOUNTING_REQUEST, identifier, &[0u8; 16], &a, secret)
}

#[derive(Debug, Default)]
pub struct AcctStats {
    pub sent: AtomicU64,
    pub answered: AtomicU64,
}

/// Sends Start for every session, an Interim-Update every `interval`, and
/// Stop when `stop` fires. At most `rate` requests per second.
pub async fn run(
    target: SocketAddr,
    secret: Vec<u8>,
    sessions: Vec<SimSession>,
    interval: Duration,
    rate: u32,
    stop: CancellationToken,
) -> std::io::Result<Arc<AcctStats>> {
    let bind: SocketAddr = if target.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .map_err(std::io::Error::other)?;
    let sock = Arc::new(UdpSocket::bind(bind).await?);
    let stats = Arc::new(AcctStats::default());
    let (rs, rstats, rstop) = (sock.clone(), stats.clone(), stop.clone());
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            tokio::select! {
                _ = rstop.cancelled() => return,
                r = rs.recv_from(&mut buf) => if r.is_ok() { rstats.answered.fetch_add(1, Ordering::Relaxed); },
            }
        }
    });
    let gap = Duration::from_secs(1) / rate.max(1);
    let mut id: u8 = 0;
    let mut send_all = |phase: Phase, step: u32| {
        let list: Vec<Vec<u8>> = sessions
            .iter()
            .filter_map(|s| {
                id = id.wrapping_add(1);
                request(s, phase, step, id, &secret).ok()
            })
            .collect();
        list
    };
    let mut step = 0u32;
    let mut batch = send_all(Phase::Start, step);
    loop {
        for pkt in &batch {
            if stop.is_cancelled() {
                break;
            }
            if sock.send_to(pkt, target).await.is_ok() {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(gap).await;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        step += 1;
        batch = send_all(Phase::Interim, step);
    }
    for pkt in send_all(Phase::Stop, step + 1) {
        if sock.send_to(&pkt, target).await.is_ok() {
            stats.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    reader.abort();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_verify_with_the_secret() {
        let s = SimSession { ap: 3, client: 7 };
        let pkt = request(&s, Phase::Interim, 2, 9, b"sim-secret").unwrap();
        assert!(wire::verify_accounting_request_authenticator(
            &pkt,
            b"sim-secret"
        ));
        assert!(!wire::verify_accounting_request_authenticator(
            &pkt, b"other"
        ));
        assert_eq!(wire::packet_code(&pkt), Some(ACCOUNTING_REQUEST));
        assert_eq!(
            wire::find_attribute(&pkt, ACCT_STATUS_TYPE),
            Some(&[0, 0, 0, 3][..])
        );
        assert_eq!(
            wire::find_attribute(&pkt, ACCT_SESSION_TIME),
            Some(&[0, 0, 0, 120][..])
        );
        assert_eq!(
            wire::find_attribute(&pkt, CALLING_STATION_ID),
            Some(&b"02-51-00-03-00-07"[..])
        );
    }
}
