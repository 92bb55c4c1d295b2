//! The administrators' side: accounts and roles, the audit trail, and (on
//! the management listener) the dashboard and the JSON API.

pub mod accounts;
pub mod audit;
pub mod import;
pub mod roles;
pub mod syslog;
pub mod totp;
pub mod web;

/// The key of an administrator in the shared account lockout (apart from
/// staff accounts of the same name).
pub fn lockout_key(username: &str) -> String {
    format!("admin:{username}")
}
