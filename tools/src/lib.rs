//! Tools that test and load the controller from outside; not part of it:
//! the SNMP agent and fleet simulator behind `portico-sim`, and the RADIUS
//! accounting simulator it can drive. The RADIUS load generator is the
//! `portico-radload` binary.

#![forbid(unsafe_code)]

/// The agent lives in the controller now (`portico simulate --walk`).
pub use portico::snmp::agent;
pub mod sim_acct;
pub mod simulator;
