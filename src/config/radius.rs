//! `[radius]` and `[eap]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusConfig {
    /// Authentication listener. `[::]:1812` listens on IPv4 and IPv6.
    pub auth_listen: SocketAddr,
    /// Accounting listener.
    pub acct_listen: SocketAddr,
    /// Requests handled at once; beyond this, requests are dropped and counted.
    pub max_in_flight: usize,
    /// A request not answered within this time is abandoned (and counted).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Retransmissions within this window get the cached reply (RFC 5080).
    #[serde(with = "humantime_serde")]
    pub duplicate_window: Duration,
    /// Keep the NT hash that MS-CHAPv2 and PEAP need (encrypted at rest).
    pub store_nt_hash: bool,
    /// Remember verified passwords in memory (keyed HMAC, never the clear
    /// text) so repeated authentications skip the slow password hash.
    pub credential_cache: bool,
    /// How often the in-memory user/NAS tables are checked for changes.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Accounting rows committed in one transaction at most.
    pub accounting_batch: usize,
    /// CoA/Disconnect: time to wait for an answer before retrying.
    #[serde(with = "humantime_serde")]
    pub coa_timeout: Duration,
    /// CoA/Disconnect: attempts in all (with exponential backoff).
    pub coa_attempts: u32,
    /// FreeRADIUS-format dictionary files to load besides the profiles'.
    pub dictionaries: Vec<PathBuf>,
}

impl Default for RadiusConfig {
    fn default() -> Self {
        RadiusConfig {
            auth_listen: "[::]:1812"
                .parse()
                .unwrap_or(SocketAddr::from(([0; 4], 1812))),
            acct_listen: "[::]:1813"
                .parse()
                .unwrap_or(SocketAddr::from(([0; 4], 1813))),
            max_in_flight: 4096,
            request_timeout: Duration::from_secs(5),
            duplicate_window: Duration::from_secs(30),
            store_nt_hash: true,
            credential_cache: true,
            refresh_interval: Duration::from_secs(1),
            accounting_batch: 512,
            coa_timeout: Duration::from_secs(2),
            coa_attempts: 3,
            dictionaries: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EapConfig {
    pub enabled: bool,
    /// Offered in this order: `peap`, `ttls`, `tls` (EAP-TLS needs `client_ca`).
    pub methods: Vec<String>,
    /// Server certificate chain (PEM, leaf first). Empty: a private CA and
    /// server certificate are generated under `data_dir/eap/`.
    #[serde(default, with = "super::opt_text")]
    pub certificate: Option<PathBuf>,
    /// Private key of `certificate` (PEM).
    #[serde(default, with = "super::opt_text")]
    pub private_key: Option<PathBuf>,
    /// CA certificates (PEM) that EAP-TLS client certificates must chain to.
    #[serde(default, with = "super::opt_text")]
    pub client_ca: Option<PathBuf>,
    /// Certificate revocation list (PEM or DER) for EAP-TLS clients.
    #[serde(default, with = "super::opt_text")]
    pub crl: Option<PathBuf>,
    /// Name in the generated server certificate (what devices are told to expect).
    pub server_name: String,
    /// Largest TLS payload per EAP packet; smaller when the NAS sends a smaller Framed-MTU.
    pub fragment_size: usize,
    /// A conversation idle this long is dropped.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Open conversations at most, in all and per NAS.
    pub max_conversations: usize,
    pub max_conversations_per_nas: usize,
    /// Warn in the log this many days before the server certificate expires.
    pub expiry_warning_days: u32,
    /// Offer TLS 1.3 for EAP-TLS (RFC 9190). PEAP and TTLS use TLS 1.2.
    pub tls13: bool,
    /// EAP-TLS: the certificate fields that name the account, tried in
    /// this order: `upn`, `email`, `cn`, `dns`.
    pub tls_identity: Vec<IdentityField>,
    /// EAP-TLS: domains whose UPN or e-mail local part may stand for a
    /// username (`alice@corp.example` as `alice`). Empty: only a whole
    /// value that is a username names the account.
    pub tls_domains: Vec<String>,
}

impl Default for EapConfig {
    fn default() -> Self {
        EapConfig {
            enabled: true,
            methods: vec!["peap".into(), "ttls".into(), "tls".into()],
            certificate: None,
            private_key: None,
            client_ca: None,
            crl: None,
            server_name: "portico".into(),
            fragment_size: 1024,
            idle_timeout: Duration::from_secs(30),
            max_conversations: 20_000,
            max_conversations_per_nas: 5_000,
            expiry_warning_days: 30,
            tls13: true,
            tls_identity: vec![IdentityField::Upn, IdentityField::Email],
            tls_domains: Vec::new(),
        }
    }
}

/// A certificate field that may name the account (`eap.tls_identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityField {
    /// Microsoft User Principal Name (subjectAltName otherName).
    Upn,
    /// subjectAltName e-mail address (rfc822Name).
    Email,
    /// The subject's common name.
    Cn,
    /// subjectAltName DNS names (machine certificates).
    Dns,
}
