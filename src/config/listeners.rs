//! `[http]` (the portal listener) and `[admin]` (the management listener).

use std::net::SocketAddr;
use std::path::PathBuf;

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
        }
    }
}
