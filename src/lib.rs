//! Portico: wireless network controller and captive portal.
//!
//! Layers: pure codecs (`radius::wire`, `radius::mschap`, `radius::dictionary`),
//! services that hold policy (`radius::policy`, `radius::auth`), and I/O at
//! the edges (`radius::server`, `http`, `store`).

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod coverage;
pub mod credentials;
pub mod csv_import;
pub mod csv_line;
pub mod domain;
pub mod gateway;
pub mod http_client;
pub mod lockout;
pub mod metrics;
pub mod periodic;
pub mod pki;
pub mod portal;
pub mod profiles;
pub mod qr;
pub mod radius;
pub mod rate_limit;
pub mod snmp;
pub mod sso;
pub mod store;
pub mod tls;
