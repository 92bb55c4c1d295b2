//! One integration test binary: the real server, real peers, over the wire.

mod helpers;

mod accounting;
mod admin_cli;
mod admin_e2e;
mod admin_schemathesis;
mod admin_web;
mod cli;
mod coverage;
mod eap;
mod fuzz_corpus;
mod layering;
mod packaging;
mod portal;
mod portal_bench;
mod portal_e2e;
mod portal_fakes;
mod portal_gateway;
mod portal_https;
mod portal_support;
mod portal_trust;
mod portal_wechat;
mod radius;
mod snmp;
mod snmp_walks;
mod sso;
mod sso_authlib;
mod sso_backchannel;
mod sso_e2e;
mod sso_flow;
mod sso_presence;
