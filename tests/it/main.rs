//! One integration test binary: the real server, real peers, over the wire.

mod helpers;

mod accounting;
mod cli;
mod eap;
mod radius;
mod snmp;
