//! One TLS server session driven through memory buffers: EAP fragments in,
//! TLS records through rustls, EAP fragments out. No sockets.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::{ProtocolVersion, ServerConfig, ServerConnection};

use super::packet::{tls_frame, TlsFrame, FLAG_MORE, MAX_TLS_MESSAGE};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("TLS message over {MAX_TLS_MESSAGE} bytes")]
    TooLong,
    #[error("TLS I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What a received frame amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A fragment with M set: acknowledge it and wait for the rest.
    Fragment,
    /// An empty message: an acknowledgement of our last fragment, or the
    /// peer having nothing to say.
    Ack,
    /// A whole message went through rustls.
    Message,
}

pub struct TlsSession {
    conn: ServerConnection,
    inbound: Vec<u8>,
    outbound: Vec<u8>,
    sent: usize,
}

impl TlsSession {
    pub fn new(config: Arc<ServerConfig>) -> Result<Self, TlsError> {
        Ok(TlsSession {
            conn: ServerConnection::new(config)?,
            inbound: Vec::new(),
            outbound: Vec::new(),
            sent: 0,
        })
    }

    /// Takes one frame from the peer; a complete message is fed to rustls.
    pub fn receive(&mut self, frame: &TlsFrame<'_>) -> Result<Received, TlsError> {
        if frame.data.is_empty() && !frame.more() {
            return Ok(Received::Ack);
        }
        if self.inbound.len() + frame.data.len() > MAX_TLS_MESSAGE {
            return Err(TlsError::TooLong);
        }
        self.inbound.extend_from_slice(frame.data);
        if frame.more() {
            return Ok(Received::Fragment);
        }
        let message = std::mem::take(&mut self.inbound);
        let mut rest = &message[..];
        while !rest.is_empty() {
            if self.conn.read_tls(&mut rest)? == 0 {
                break;
            }
            self.conn.process_new_packets()?;
        }
        Ok(Received::Message)
    }

    /// Moves what rustls wants to send into the outbound buffer.
    pub fn flush(&mut self) -> Result<(), TlsError> {
        if self.sent >= self.outbound.len() {
            self.outbound.clear();
            self.sent = 0;
        }
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.outbound)?;
        }
        Ok(())
    }

    pub fn has_pending(&self) -> bool {
        self.sent < self.outbound.len()
    }

    /// The next outbound fragment as Type-Data (flags, length, bytes). The
    /// first fragment of a message carries the L bit and total length.
    pub fn next_fragment(&mut self, base_flags: u8, fragment_size: usize) -> Vec<u8> {
        let total = self.outbound.len();
        let start = self.sent;
        let end = total.min(start + fragment_size.max(1));
        let more = end < total;
        let flags = if more {
            base_flags | FLAG_MORE
        } else {
            base_flags
        };
        let length = (start == 0).then_some(total);
        let out = tls_frame(flags, length, self.outbound.get(start..end).unwrap_or(&[]));
        self.sent = end;
        if !more {
            self.outbound.clear();
            self.sent = 0;
        }
        out
    }

    pub fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    pub fn is_tls13(&self) -> bool {
        self.conn.protocol_version() == Some(ProtocolVersion::TLSv1_3)
    }

    /// Decrypted application data received so far.
    pub fn read_plaintext(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Err(_) => break,
            }
            if out.len() > MAX_TLS_MESSAGE {
                break;
            }
        }
        out
    }

    /// Encrypts `data` for the peer and queues the records.
    pub fn write_plaintext(&mut self, data: &[u8]) -> Result<(), TlsError> {
        self.conn.writer().write_all(data)?;
        self.flush()
    }

    /// RFC 5705 exporter (for TLS 1.2 without context this is the RFC 5216
    /// PRF(master_secret, label, client_random || server_random)).
    pub fn export(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        len: usize,
    ) -> Result<Vec<u8>, TlsError> {
        Ok(self
            .conn
            .export_keying_material(vec![0u8; len], label, context)?)
    }

    /// The client's end-entity certificate (EAP-TLS).
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref())
    }
}
