//! Accounting (RFC 2866, 2869): the adapter from an Accounting-Request to a
//! store record, and the group-commit writer. A request is answered only
//! after the transaction holding its row has committed, so an acknowledged
//! record survives even a kill right after the reply.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::domain::MacAddr;
use crate::metrics::Metrics;
use crate::radius::wire;
use crate::radius::wire::attr::*;
use crate::store::accounting::{AcctRecord, AcctStatus};
use crate::store::auth_log::AuthRecord;
use crate::store::Store;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AcctParseError {
    #[error("Acct-Status-Type missing")]
    NoStatus,
    #[error("Acct-Session-Id missing")]
    NoSessionId,
}

/// What to do with a parsed request.
#[derive(Debug)]
pub enum AcctAction {
    Store(Box<AcctRecord>),
    /// Valid but nothing to keep (e.g. Accounting-Failed): answer only.
    AnswerOnly(u32),
}

fn terminate_cause_name(cause: u32) -> String {
    let name = match cause {
        1 => "User-Request",
        2 => "Lost-Carrier",
        3 => "Lost-Service",
        4 => "Idle-Timeout",
        5 => "Session-Timeout",
        6 => "Admin-Reset",
        7 => "Admin-Reboot",
        8 => "Port-Error",
        9 => "NAS-Error",
        10 => "NAS-Request",
        11 => "NAS-Reboot",
        12 => "Port-Unneeded",
        13 => "Port-Preempted",
        14 => "Port-Suspended",
        15 => "Service-Unavailable",
        16 => "Callback",
        17 => "User-Error",
        18 => "Host-Request",
        _ => return format!("Cause-{cause}"),
    };
    name.to_string()
}

/// The attributes an accounting record is made of, first of each type,
/// read in one pass over the packet (the same decoder as every other
/// request, `radius::wire`).
#[derive(Default)]
struct AcctAttributes<'a> {
    status: Option<u32>,
    session_id: Option<&'a [u8]>,
    user_name: Option<&'a [u8]>,
    calling: Option<&'a [u8]>,
    called: Option<&'a [u8]>,
    nas_ip: Option<[u8; 4]>,
    framed_ip: Option<[u8; 4]>,
    delay_s: Option<u32>,
    event_timestamp: Option<u32>,
    input_octets: Option<u32>,
    output_octets: Option<u32>,
    input_gigawords: Option<u32>,
    output_gigawords: Option<u32>,
    input_packets: Option<u32>,
    output_packets: Option<u32>,
    session_time: Option<u32>,
    terminate_cause: Option<u32>,
}

impl<'a> AcctAttributes<'a> {
    fn read(packet: &'a [u8]) -> Self {
        let mut a = AcctAttributes::default();
        // A value of the wrong size counts as absent, like a missing one.
        let int = |v: &[u8]| <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes);
        let ip = |v: &[u8]| <[u8; 4]>::try_from(v).ok();
        for (typ, v) in wire::attributes(packet) {
            let slot_u32 = match typ {
                ACCT_STATUS_TYPE => &mut a.status,
                ACCT_DELAY_TIME => &mut a.delay_s,
                EVENT_TIMESTAMP => &mut a.event_timestamp,
                ACCT_INPUT_OCTETS => &mut a.input_octets,
                ACCT_OUTPUT_OCTETS => &mut a.output_octets,
                ACCT_INPUT_GIGAWORDS => &mut a.input_gigawords,
                ACCT_OUTPUT_GIGAWORDS => &mut a.output_gigawords,
                ACCT_INPUT_PACKETS => &mut a.input_packets,
                ACCT_OUTPUT_PACKETS => &mut a.output_packets,
                ACCT_SESSION_TIME => &mut a.session_time,
                ACCT_TERMINATE_CAUSE => &mut a.terminate_cause,
                _ => {
                    let slot_bytes = match typ {
                        ACCT_SESSION_ID => &mut a.session_id,
                        USER_NAME => &mut a.user_name,
                        CALLING_STATION_ID => &mut a.calling,
                        CALLED_STATION_ID => &mut a.called,
                        NAS_IP_ADDRESS => {
                            a.nas_ip = a.nas_ip.or_else(|| ip(v));
                            continue;
                        }
                        FRAMED_IP_ADDRESS => {
                            a.framed_ip = a.framed_ip.or_else(|| ip(v));
                            continue;
                        }
                        _ => continue,
                    };
                    slot_bytes.get_or_insert(v);
                    continue;
                }
            };
            if slot_u32.is_none() {
                *slot_u32 = int(v);
            }
        }
        a
    }
}

/// Text worth storing: valid UTF-8 and not empty.
fn text(v: Option<&[u8]>) -> Option<String> {
    let s = std::str::from_utf8(v?).ok()?;
    (!s.is_empty()).then(|| crate::radius::request::storable_text(s.as_bytes()))
}

fn num(v: Option<u32>) -> i64 {
    v.map(i64::from).unwrap_or(0)
}

/// `packet` has passed the structure and authenticator checks.
pub fn parse_accounting_request(
    packet: &[u8],
    nas_name: &str,
    peer: IpAddr,
    received_ms: i64,
) -> Result<AcctAction, AcctParseError> {
    let a = AcctAttributes::read(packet);
    let status = match a.status.ok_or(AcctParseError::NoStatus)? {
        1 => AcctStatus::Start,
        2 => AcctStatus::Stop,
        3 => AcctStatus::Interim,
        7 => AcctStatus::On,
        8 => AcctStatus::Off,
        other => return Ok(AcctAction::AnswerOnly(other)),
    };
    let session_id = match (status, text(a.session_id)) {
        (_, Some(id)) => id,
        (AcctStatus::On | AcctStatus::Off, None) => String::new(),
        _ => return Err(AcctParseError::NoSessionId),
    };
    let octets = |low: Option<u32>, high: Option<u32>| (num(high) << 32) + num(low);
    let nas_ip = a
        .nas_ip
        .map(|b| IpAddr::V4(Ipv4Addr::from(b)))
        .unwrap_or(peer);
    let event_ms = match a.event_timestamp {
        Some(t) => i64::from(t) * 1000,
        None => received_ms - num(a.delay_s) * 1000,
    };
    let calling = text(a.calling).map(|s| match MacAddr::parse(&s) {
        Ok(mac) => mac.to_string(),
        Err(_) => s,
    });
    Ok(AcctAction::Store(Box::new(AcctRecord {
        nas_name: nas_name.to_string(),
        nas_ip: nas_ip.to_string(),
        session_id,
        status,
        username: text(a.user_name),
        calling_station: calling,
        called_station: text(a.called),
        framed_ip: a.framed_ip.map(|b| Ipv4Addr::from(b).to_string()),
        input_octets: octets(a.input_octets, a.input_gigawords),
        output_octets: octets(a.output_octets, a.output_gigawords),
        input_packets: num(a.input_packets),
        output_packets: num(a.output_packets),
        session_time: num(a.session_time),
        terminate_cause: a.terminate_cause.map(terminate_cause_name),
        event_ms,
        received_ms,
    })))
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("accounting writer has stopped")]
    Stopped,
    #[error("store refused the batch")]
    Store,
}

type Pending = (AcctRecord, oneshot::Sender<Result<(), ()>>);

/// Group commit: requests queue their rows, one task writes whatever is
/// queued in one transaction and then releases every waiting reply.
#[derive(Clone)]
pub struct AccountingWriter {
    tx: mpsc::Sender<Pending>,
}

impl AccountingWriter {
    pub fn spawn(
        store: Store,
        batch: usize,
        metrics: Arc<Metrics>,
    ) -> (AccountingWriter, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Pending>(batch * 4);
        let handle = tokio::spawn(async move {
            let mut records = Vec::with_capacity(batch);
            let mut waiters = Vec::with_capacity(batch);
            let mut writer = store.accounting().writer();
            while let Some((rec, done)) = rx.recv().await {
                records.push(rec);
                waiters.push(done);
                // The first record after a commit usually has company on
                // its way (the NAS answers each response with its next
                // request): let the listeners hand those over before the
                // batch is closed, rather than commit a batch of one and
                // make the rest wait a whole commit.
                tokio::task::yield_now().await;
                while records.len() < batch {
                    match rx.try_recv() {
                        Ok((rec, done)) => {
                            records.push(rec);
                            waiters.push(done);
                        }
                        Err(_) => break,
                    }
                }
                let result = writer.apply_batch(&records).await;
                let ok = match &result {
                    Ok(()) => {
                        metrics.accounting_batches.inc();
                        metrics.accounting_rows.inc_by(records.len() as u64);
                        Ok(())
                    }
                    Err(e) => {
                        // No reply is sent; the NAS retransmits.
                        metrics.store_errors.inc();
                        tracing::error!(error = %e, rows = records.len(), "accounting commit failed");
                        Err(())
                    }
                };
                for w in waiters.drain(..) {
                    let _ = w.send(ok);
                }
                records.clear();
            }
        });
        (AccountingWriter { tx }, handle)
    }

    /// Resolves once the record is committed.
    pub async fn commit(&self, record: AcctRecord) -> Result<(), CommitError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.tx
            .send((record, done_tx))
            .await
            .map_err(|_| CommitError::Stopped)?;
        match done_rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => Err(CommitError::Store),
            Err(_) => Err(CommitError::Stopped),
        }
    }
}

/// Authentication results go to the store in batches, off the reply path.
/// The queue is bounded: when it is full, handlers wait (back-pressure
/// through the in-flight limit) instead of dropping log records.
#[derive(Clone)]
pub struct AuthLogWriter {
    tx: mpsc::Sender<AuthRecord>,
}

impl AuthLogWriter {
    pub fn spawn(
        store: Store,
        metrics: Arc<Metrics>,
    ) -> (AuthLogWriter, tokio::task::JoinHandle<()>) {
        const BATCH: usize = 2048;
        const LINGER: std::time::Duration = std::time::Duration::from_millis(100);
        let (tx, mut rx) = mpsc::channel::<AuthRecord>(BATCH * 8);
        let handle = tokio::spawn(async move {
            let mut records = Vec::with_capacity(BATCH);
            let mut appender = store.auth_log().appender();
            while let Some(rec) = rx.recv().await {
                records.push(rec);
                // Linger briefly so the store sees a few large transactions
                // instead of many small ones; nobody waits on these rows.
                let linger = tokio::time::sleep(LINGER);
                tokio::pin!(linger);
                while records.len() < BATCH {
                    tokio::select! {
                        _ = &mut linger => break,
                        next = rx.recv() => match next {
                            Some(rec) => records.push(rec),
                            None => break,
                        },
                    }
                }
                // Retry a failing store a few times before giving up on
                // this batch, so a brief lock or network blip loses nothing.
                let mut attempt = 0;
                loop {
                    match appender.append(&records).await {
                        Ok(()) => break,
                        Err(e) if attempt < 5 => {
                            attempt += 1;
                            tracing::warn!(error = %e, attempt, "auth log write failed, retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt))
                                .await;
                        }
                        Err(e) => {
                            metrics.store_errors.inc();
                            tracing::error!(error = %e, rows = records.len(), "auth log records lost");
                            break;
                        }
                    }
                }
                records.clear();
            }
        });
        (AuthLogWriter { tx }, handle)
    }

    pub async fn record(&self, record: AuthRecord) {
        if self.tx.send(record).await.is_err() {
            tracing::error!("auth log writer has stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use radius::core::code::Code;
    use radius::core::packet::Packet;
    use radius::core::{rfc2865, rfc2866, rfc2869};

    fn request(build: impl FnOnce(&mut Packet)) -> Vec<u8> {
        let mut p = Packet::new(Code::AccountingRequest, b"secret");
        build(&mut p);
        p.encode().unwrap()
    }

    #[test]
    fn parses_counters_with_gigawords() {
        let bytes = request(|p| {
            rfc2866::add_acct_status_type(p, 3);
            rfc2866::add_acct_session_id(p, "S1");
            rfc2865::add_user_name(p, "alice");
            rfc2865::add_calling_station_id(p, "AA-BB-CC-DD-EE-FF");
            rfc2866::add_acct_input_octets(p, 5);
            rfc2869::add_acct_input_gigawords(p, 2);
            rfc2866::add_acct_output_octets(p, 7);
            rfc2866::add_acct_session_time(p, 60);
        });
        let AcctAction::Store(r) =
            parse_accounting_request(&bytes, "ap1", "127.0.0.1".parse().unwrap(), 1_000_000)
                .unwrap()
        else {
            panic!("expected a record")
        };
        assert_eq!(r.status, AcctStatus::Interim);
        assert_eq!(r.input_octets, (2i64 << 32) + 5);
        assert_eq!(r.output_octets, 7);
        assert_eq!(r.calling_station.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(r.nas_ip, "127.0.0.1");
        assert_eq!(r.event_ms, 1_000_000);
    }

    #[test]
    fn event_timestamp_nas_and_framed_ip_and_odd_sizes() {
        let bytes = request(|p| {
            rfc2866::add_acct_status_type(p, 1);
            rfc2866::add_acct_session_id(p, "S2");
            rfc2865::add_nas_ip_address(p, &"10.0.0.2".parse().unwrap());
            rfc2865::add_framed_ip_address(p, &"10.0.0.9".parse().unwrap());
            rfc2866::add_acct_delay_time(p, 5);
        });
        let AcctAction::Store(r) =
            parse_accounting_request(&bytes, "ap1", "127.0.0.1".parse().unwrap(), 1_000_000)
                .unwrap()
        else {
            panic!("expected a record")
        };
        assert_eq!(
            (r.nas_ip.as_str(), r.framed_ip.as_deref()),
            ("10.0.0.2", Some("10.0.0.9"))
        );
        assert_eq!(
            r.event_ms,
            1_000_000 - 5_000,
            "received minus Acct-Delay-Time"
        );
        // Event-Timestamp wins; a status of the wrong size is no status.
        let mut raw = request(|p| {
            rfc2866::add_acct_status_type(p, 3);
            rfc2866::add_acct_session_id(p, "S3");
        });
        let mut ts = vec![55u8, 6];
        ts.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        raw.extend_from_slice(&ts);
        let len = u16::try_from(raw.len()).unwrap();
        raw[2..4].copy_from_slice(&len.to_be_bytes());
        let AcctAction::Store(r) =
            parse_accounting_request(&raw, "ap1", "127.0.0.1".parse().unwrap(), 0).unwrap()
        else {
            panic!("expected a record")
        };
        assert_eq!(r.event_ms, 1_700_000_000_000);
        let mut bad = vec![4u8, 1, 0, 0];
        bad.extend_from_slice(&[0u8; 16]);
        bad.extend_from_slice(&[40, 5, 0, 0, 3]);
        let len = u16::try_from(bad.len()).unwrap();
        bad[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            parse_accounting_request(&bad, "n", "::1".parse().unwrap(), 0).unwrap_err(),
            AcctParseError::NoStatus
        );
    }

    #[test]
    fn missing_fields_are_errors_not_panics() {
        let bytes = request(|p| rfc2866::add_acct_session_id(p, "S1"));
        assert_eq!(
            parse_accounting_request(&bytes, "n", "::1".parse().unwrap(), 0).unwrap_err(),
            AcctParseError::NoStatus
        );
        let bytes = request(|p| rfc2866::add_acct_status_type(p, 1));
        assert_eq!(
            parse_accounting_request(&bytes, "n", "::1".parse().unwrap(), 0).unwrap_err(),
            AcctParseError::NoSessionId
        );
        let bytes = request(|p| rfc2866::add_acct_status_type(p, 7));
        assert!(matches!(
            parse_accounting_request(&bytes, "n", "::1".parse().unwrap(), 0).unwrap(),
            AcctAction::Store(_)
        ));
    }
}
