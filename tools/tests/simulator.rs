//! The fleet simulator, polled by the controller's own SNMP client: each
//! shipped profile's tables are served and its counters move.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use portico::profiles::Profiles;
use portico::snmp::client::{Credentials, RequestOptions, SnmpStats};
use portico::snmp::scheduler::poll_device;
use portico_tools::simulator::{bind, run, SimConfig};

fn shipped() -> Profiles {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ap-profiles");
    Profiles::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

fn opts() -> RequestOptions {
    RequestOptions {
        timeout: Duration::from_millis(1500),
        retries: 1,
        ..RequestOptions::default()
    }
}

#[tokio::test]
async fn simulator_serves_each_profile_and_changes_values() {
    let profiles = shipped();
    for name in ["generic", "cisco-wlc", "aruba", "huawei"] {
        let Some(p) = profiles.get(name).cloned() else {
            continue;
        };
        let cfg = SimConfig {
            count: 2,
            period: Duration::from_millis(200),
            ..SimConfig::default()
        };
        let socks = bind(&cfg).await.unwrap();
        let addrs: Vec<SocketAddr> = socks.iter().map(|s| s.local_addr().unwrap()).collect();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(run(Arc::new(p.clone()), cfg.clone(), socks, stop.clone()));
        let creds = Credentials::V2c {
            community: "public".into(),
        };
        let r = poll_device(addrs[1], &creds, &p, opts(), Arc::new(SnmpStats::default()))
            .await
            .unwrap();
        assert_eq!(
            r.system.name.as_deref(),
            Some(format!("sim-{name}-1").as_str())
        );
        assert!(!r.radios.is_empty(), "{name}: no radios");
        if p.snmp.ap_table.is_some() {
            assert_eq!(r.aps.len(), 4, "{name}");
            assert!(
                r.aps.iter().all(|a| a.up == Some(true)),
                "{name}: {:?}",
                r.aps
            );
            assert!(
                r.radios.iter().all(|x| r.ap_of(&x.ap).is_some()),
                "{name}: {:?}",
                r.radios
            );
        }
        assert!(r.interfaces.len() == 3);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let later = poll_device(addrs[1], &creds, &p, opts(), Arc::new(SnmpStats::default()))
            .await
            .unwrap();
        assert_ne!(
            r.interfaces[0].in_octets, later.interfaces[0].in_octets,
            "{name}: counters move"
        );
        stop.cancel();
        task.await.unwrap();
    }
}
