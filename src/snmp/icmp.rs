//! ICMP echo for reachability, through one raw socket (needs root or
//! CAP_NET_RAW; without it the scheduler decides by SNMP alone). IPv4 only.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request (type 8) with id, sequence and a short payload.
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"portico-reach");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// (id, seq) of an echo reply in a raw IPv4 datagram (IP header first).
pub fn parse_reply(datagram: &[u8]) -> Option<(u16, u16)> {
    let ihl = usize::from(datagram.first()? & 0x0f) * 4;
    let icmp = datagram.get(ihl..)?;
    if *icmp.first()? != 0 {
        return None;
    }
    let id = u16::from_be_bytes([*icmp.get(4)?, *icmp.get(5)?]);
    let seq = u16::from_be_bytes([*icmp.get(6)?, *icmp.get(7)?]);
    Some((id, seq))
}

type Waiters = Arc<Mutex<HashMap<(Ipv4Addr, u16), oneshot::Sender<()>>>>;

pub struct Pinger {
    // A raw socket driven through tokio's datagram readiness (same
    // recv_from/send_to calls as UDP).
    socket: Arc<UdpSocket>,
    id: u16,
    seq: AtomicU16,
    waiters: Waiters,
}

impl Pinger {
    pub fn open() -> std::io::Result<Pinger> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
        s.set_nonblocking(true)?;
        let std_sock: std::net::UdpSocket = s.into();
        let socket = Arc::new(UdpSocket::from_std(std_sock)?);
        let waiters: Waiters = Arc::new(Mutex::new(HashMap::new()));
        let id = rand::random::<u16>();
        let (rs, rw) = (socket.clone(), waiters.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((n, from)) = rs.recv_from(&mut buf).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let (IpAddr::V4(ip), Some((rid, seq))) =
                    (from.ip(), buf.get(..n).and_then(parse_reply))
                else {
                    continue;
                };
                if rid != id {
                    continue;
                }
                if let Some(tx) = rw.lock().ok().and_then(|mut m| m.remove(&(ip, seq))) {
                    let _ = tx.send(());
                }
            }
        });
        Ok(Pinger {
            socket,
            id,
            seq: AtomicU16::new(0),
            waiters,
        })
    }

    /// True when `ip` answers an echo within `timeout`.
    pub async fn ping(&self, ip: IpAddr, timeout: Duration) -> bool {
        let IpAddr::V4(v4) = super::trap::canonical(ip) else {
            return false;
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.waiters.lock() {
            m.insert((v4, seq), tx);
        }
        let pkt = echo_request(self.id, seq);
        let sent = self
            .socket
            .send_to(&pkt, SocketAddr::new(IpAddr::V4(v4), 0))
            .await
            .is_ok();
        let ok = sent && matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())));
        if let Ok(mut m) = self.waiters.lock() {
            m.remove(&(v4, seq));
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_and_parse() {
        let p = echo_request(0x1234, 7);
        assert_eq!(checksum(&p), 0);
        let mut reply = vec![0x45u8];
        reply.extend_from_slice(&[0u8; 19]);
        let mut icmp = p.clone();
        icmp[0] = 0;
        reply.extend_from_slice(&icmp);
        assert_eq!(parse_reply(&reply), Some((0x1234, 7)));
        assert_eq!(parse_reply(&[0x4f]), None);
        assert_eq!(parse_reply(&[]), None);
    }

    #[tokio::test]
    async fn pings_loopback_when_permitted() {
        let Ok(p) = Pinger::open() else {
            eprintln!("skipping: no raw socket permission");
            return;
        };
        assert!(
            p.ping("127.0.0.1".parse().unwrap(), Duration::from_secs(2))
                .await
        );
    }
}
