//! RADIUS: codecs, policy and listeners.

pub mod accounting;
pub mod auth;
pub mod chap;
pub mod coa;
pub mod dictionary;
pub mod directory;
pub mod dupcache;
pub mod eap;
pub mod mschap;
pub mod policy;
pub mod request;
pub mod server;
pub mod wire;
