//! Forwarding of audit rows to a syslog collector: RFC 5424 messages over
//! UDP (RFC 5426, one per datagram) or TCP (RFC 6587 octet counting). The
//! formatter is a few lines of our own: the crates that exist tie
//! themselves to the `log` facade and blocking sockets.
//!
//! The audit row in the store is the record; the copy is best effort. The
//! queue is bounded, and a message that does not fit is dropped and counted
//! (`portico_audit_syslog_dropped_total`) rather than slowing the change
//! that made it.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use crate::config::{SyslogTarget, SyslogTransport};
use crate::store::audit::AuditRow;

/// authpriv (10): security and authorization messages.
const FACILITY: u8 = 10;
const QUEUE: usize = 4096;
/// The example private enterprise number of RFC 5612, for our SD-ID.
const SD_ID: &str = "audit@32473";

/// Escapes a structured-data parameter value (RFC 5424 6.3.3).
fn param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: printable US-ASCII without spaces, at most `max`, or
/// the nil value.
fn header_field(value: &str, max: usize) -> String {
    let v: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// One audit row as an RFC 5424 message (without transport framing).
pub fn format(row: &AuditRow, hostname: &str) -> String {
    let severity = if row.outcome == "ok" { 5 } else { 4 };
    let pri = u16::from(FACILITY) * 8 + severity;
    let ts = chrono::DateTime::from_timestamp_millis(row.at_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        "<{pri}>1 {ts} {host} portico {pid} {msgid} [{SD_ID} seq=\"{seq}\" actor=\"{actor}\" role=\"{role}\" origin=\"{origin}\" action=\"{action}\" target=\"{target}\" outcome=\"{outcome}\" hash=\"{hash}\"] \u{feff}{summary}",
        host = header_field(hostname, 255),
        pid = std::process::id(),
        msgid = header_field(&row.action, 32),
        seq = row.seq,
        actor = param(&row.actor),
        role = param(&row.role),
        origin = param(&row.origin),
        action = param(&row.action),
        target = param(&row.target),
        outcome = param(&row.outcome),
        hash = row.hash,
        summary = row.summary,
    )
}

/// Octet-counting frame (RFC 6587 3.4.1).
pub fn tcp_frame(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

enum Message {
    Row(Box<AuditRow>),
    /// Answered once everything queued before it was sent (or given up).
    Flush(oneshot::Sender<()>),
}

/// The sending half: cheap to clone, never blocks. The sender task ends
/// when the last clone is dropped.
#[derive(Clone)]
pub struct SyslogForwarder {
    tx: mpsc::Sender<Message>,
    dropped: prometheus_client::metrics::counter::Counter,
}

impl SyslogForwarder {
    /// Starts the sender task for `target`.
    pub fn start(
        target: SyslogTarget,
        dropped: prometheus_client::metrics::counter::Counter,
    ) -> SyslogForwarder {
        let (tx, rx) = mpsc::channel(QUEUE);
        let host = hostname();
        tokio::spawn(run(target, host, rx));
        SyslogForwarder { tx, dropped }
    }

    pub fn send(&self, row: &AuditRow) {
        if self
            .tx
            .try_send(Message::Row(Box::new(row.clone())))
            .is_err()
        {
            self.dropped.inc();
        }
    }

    /// Waits (at most `limit`) until what was queued is sent: the CLI
    /// calls this before it exits.
    pub async fn flush(&self, limit: Duration) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(limit, wait).await;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

async fn run(target: SyslogTarget, host: String, mut rx: mpsc::Receiver<Message>) {
    let mut tcp: Option<TcpStream> = None;
    let mut udp: Option<UdpSocket> = None;
    while let Some(message) = rx.recv().await {
        let row = match message {
            Message::Row(row) => row,
            Message::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let message = format(&row, &host);
        let sent = match target.transport {
            SyslogTransport::Udp => send_udp(&mut udp, &target.address, &message).await,
            SyslogTransport::Tcp => send_tcp(&mut tcp, &target.address, &message).await,
        };
        if let Err(e) = sent {
            tracing::warn!(collector = %target.address, error = %e, seq = row.seq, "audit row not forwarded to syslog");
            tcp = None;
            // A collector that is down is not retried for every row.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn send_udp(
    sock: &mut Option<UdpSocket>,
    address: &str,
    message: &str,
) -> std::io::Result<()> {
    if sock.is_none() {
        let target = tokio::net::lookup_host(address)
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other("the collector's name has no address"))?;
        let bind: std::net::SocketAddr = if target.is_ipv4() {
            "0.0.0.0:0".parse().map_err(std::io::Error::other)?
        } else {
            "[::]:0".parse().map_err(std::io::Error::other)?
        };
        let s = UdpSocket::bind(bind).await?;
        s.connect(target).await?;
        *sock = Some(s);
    }
    match sock {
        Some(s) => s.send(message.as_bytes()).await.map(|_| ()),
        None => Ok(()),
    }
}

async fn send_tcp(
    conn: &mut Option<TcpStream>,
    address: &str,
    message: &str,
) -> std::io::Result<()> {
    if conn.is_none() {
        let c = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address))
            .await
            .map_err(|_| std::io::Error::other("connection timed out"))??;
        *conn = Some(c);
    }
    match conn {
        Some(c) => c.write_all(&tcp_frame(message)).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> AuditRow {
        AuditRow {
            seq: 7,
            at_ms: 1_700_000_000_123,
            actor: "sec\"admin".into(),
            role: "security".into(),
            origin: "192.0.2.1".into(),
            action: "admin.passwd".into(),
            target: "sys]admin".into(),
            outcome: "ok".into(),
            summary: "{\"must_change\":true}".into(),
            prev_hash: "ab".into(),
            hash: "cd".into(),
        }
    }

    #[test]
    fn rfc_5424_header_structured_data_and_escapes() {
        let m = format(&row(), "ctl 1");
        assert!(
            m.starts_with("<85>1 2023-11-14T22:13:20.123Z ctl1 portico "),
            "{m}"
        );
        assert!(
            m.contains(" admin.passwd [audit@32473 seq=\"7\" actor=\"sec\\\"admin\""),
            "{m}"
        );
        assert!(m.contains("target=\"sys\\]admin\""), "{m}");
        assert!(m.ends_with("] \u{feff}{\"must_change\":true}"), "{m}");
        let mut denied = row();
        denied.outcome = "denied".into();
        assert!(format(&denied, "").starts_with("<84>1 2023-11-14T22:13:20.123Z - portico "));
    }

    #[test]
    fn octet_counting_frame() {
        assert_eq!(tcp_frame("<85>1 x"), b"7 <85>1 x".to_vec());
        assert_eq!(tcp_frame("é"), "2 é".as_bytes().to_vec());
    }
}
