//! SNMP monitoring: profile-driven polling of APs and controllers, the trap
//! receiver, reachability and alerts, and the walk tools (`ap test --walk`,
//! `simulate --walk`). (The fleet simulator is a tool, in `tools/`.)
//!
//! The codec and v3 security are the `snmp2` crate's; this module adds what
//! it leaves out: request timeouts and retries, table walks, the trap
//! listener socket, and the few BER messages it cannot build (Inform
//! acknowledgements).
//!
//! Layers: [`oid`], [`value`], [`ber`] and [`trap`] decode; [`collect`]
//! turns walks into normalised observations per the profile; [`poller`]
//! and [`scheduler`] do the I/O; [`alerts`] decides on plain values.

pub mod agent;
pub mod alerts;
pub mod ber;
pub mod client;
pub mod collect;
pub mod discover;
pub mod events;
pub mod icmp;
pub mod oid;
pub mod reach;
pub mod scheduler;
pub mod trap;
pub mod value;
pub mod walkfile;
pub mod webhook;

use crate::store::aps::SnmpSecret;
use client::{AuthProtocol, Credentials, PrivProtocol, V3User};

/// The poller's credentials from the stored ones; None when not polled or
/// a stored protocol name is unknown.
pub fn credentials_of(s: &SnmpSecret) -> Option<Credentials> {
    Some(match s {
        SnmpSecret::None => return None,
        SnmpSecret::V1 { community } => Credentials::V1 {
            community: community.clone(),
        },
        SnmpSecret::V2c { community } => Credentials::V2c {
            community: community.clone(),
        },
        SnmpSecret::V3 {
            user,
            auth_protocol,
            auth_password,
            priv_protocol,
            priv_password,
        } => {
            let auth = match (auth_protocol, auth_password) {
                (Some(p), Some(pw)) => Some((AuthProtocol::parse(p)?, pw.clone())),
                (None, None) => None,
                _ => return None,
            };
            let privacy = match (priv_protocol, priv_password) {
                (Some(p), Some(pw)) => Some((PrivProtocol::parse(p)?, pw.clone())),
                (None, None) => None,
                _ => return None,
            };
            Credentials::V3(V3User {
                user: user.clone(),
                auth,
                privacy,
            })
        }
    })
}
pub mod service;
