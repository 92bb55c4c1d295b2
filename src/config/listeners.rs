//! `[http]` (the portal listener) and `[admin]` (the management listener).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
        }
    }
}

/// The management listener. Guests reach the portal listener, so what
/// admins use (dashboard, API, `/metrics`) is served only here.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// HTTPS (true) or plain HTTP, e.g. behind a TLS-terminating proxy.
    pub tls: bool,
    /// PEM certificate chain and key; empty: a certificate issued by the
    /// private CA in `data_dir` (`data_dir/admin/server.pem`).
    #[serde(default, with = "super::opt_text")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, with = "super::opt_text")]
    pub tls_key: Option<PathBuf>,
    /// Names (DNS or IP) the generated certificate is also valid for,
    /// besides this host's name, localhost and the loopback addresses.
    pub server_names: Vec<String>,
    /// Bearer token `/metrics` asks for ("" = none).
    #[serde(default, with = "super::opt_text")]
    pub metrics_token: Option<Secret>,
    /// Separate system, security and audit administrators (MLPS 2.0
    /// level 3). false: one `admin` account with every right.
    pub role_separation: bool,
    /// A TOTP code after the password at every dashboard sign-in.
    pub require_totp: bool,
    /// A dashboard session unused this long ends.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A dashboard session ends this long after sign-in, used or not.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Copy every audit row to this syslog collector (RFC 5424):
    /// `udp://HOST:PORT` or `tcp://HOST:PORT` ("" = none).
    #[serde(default, with = "super::opt_text")]
    pub audit_syslog: Option<SyslogTarget>,
}

/// Where audit rows are forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub transport: SyslogTransport,
    /// `host:port`, resolved at each connection.
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTransport {
    /// RFC 5426: one message per datagram.
    Udp,
    /// RFC 6587 octet counting.
    Tcp,
}

impl super::TextValue for SyslogTarget {
    fn from_text(s: &str) -> Result<Self, String> {
        let (transport, rest) = if let Some(r) = s.strip_prefix("udp://") {
            (SyslogTransport::Udp, r)
        } else if let Some(r) = s.strip_prefix("tcp://") {
            (SyslogTransport::Tcp, r)
        } else {
            return Err(format!(
                "{s:?}: expected udp://HOST:PORT or tcp://HOST:PORT"
            ));
        };
        let port_ok = rest.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(format!(
                "{s:?}: expected a host and a port after the scheme"
            ));
        }
        Ok(SyslogTarget {
            transport,
            address: rest.to_string(),
        })
    }

    fn to_text(&self) -> String {
        let scheme = match self.transport {
            SyslogTransport::Udp => "udp",
            SyslogTransport::Tcp => "tcp",
        };
        format!("{scheme}://{}", self.address)
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            tls: true,
            tls_cert: None,
            tls_key: None,
            server_names: Vec::new(),
            metrics_token: None,
            role_separation: true,
            require_totp: true,
            idle_timeout: Duration::from_secs(15 * 60),
            session_lifetime: Duration::from_secs(8 * 3600),
            audit_syslog: None,
        }
    }
}
