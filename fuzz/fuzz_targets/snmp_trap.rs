//! SNMP trap decoding: arbitrary bytes through `snmp::trap::decode` (v1,
//! v2c and, with a configured user, v3 authPriv) and through
//! `snmp::trap::handle` as if from a known AP. Neither may panic; an
//! accepted trap must name its source.

#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portico::config::{Secret, SnmpTrapUser};
use portico::profiles::Profiles;
use portico::snmp::trap::{self, Outcome, Source, Sources};

struct Setup {
    users: Vec<trap::V3Security>,
    sources: Sources,
    profiles: Profiles,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let user = SnmpTrapUser {
            user: "fuzz".into(),
            auth_protocol: "sha256".into(),
            auth_password: Secret("fuzz-auth-pass".into()),
            priv_protocol: "aes128".into(),
            priv_password: Secret("fuzz-priv-pass".into()),
        };
        let sources = Sources::default();
        sources.replace(
            [(
                "127.0.0.1".parse().expect("ip"),
                Source {
                    name: "ap".into(),
                    profile: "generic".into(),
                    community: Some("public".into()),
                },
            )]
            .into_iter()
            .collect(),
        );
        Setup {
            users: portico::snmp::service::trap_security(&user)
                .into_iter()
                .collect(),
            sources,
            profiles: Profiles::builtin_generic(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let _ = trap::decode(data, &s.users);
    let from: SocketAddr = "127.0.0.1:9999".parse().expect("addr");
    if let Outcome::Accept(ev, _) = trap::handle(data, from, &s.sources, &s.profiles, &s.users, 0) {
        assert_eq!(ev.source, "ap");
    }
});
