//! Certificates: loading PEM files, the private CA in the data directory
//! and what it issues (EAP server, management listener), and reading the
//! names in a certificate (EAP-TLS identity, expiry).

pub mod certs;
pub mod names;
