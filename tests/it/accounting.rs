//! Durability: every Accounting-Request that got an answer is in the store,
//! even when the server is killed with SIGKILL in the middle of a load.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::*;

#[test]
fn sigkill_during_accounting_load_loses_no_acknowledged_record() {
    for db in backends() {
        let env = TestEnv::new(&db);
        env.add_loopback_nas("ap-load", &[]);
        let mut server = env.start();
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = 16;
        let per_worker = 2000; // bounded: at most 32,000 requests
        let deadline = Instant::now() + Duration::from_secs(60);
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (acked, count, stop) = (acked.clone(), count.clone(), stop.clone());
                let target = server.acct;
                std::thread::spawn(move || {
                    let client = RawClient::new(target);
                    client
                        .socket
                        .set_read_timeout(Some(Duration::from_millis(300)))
                        .ok();
                    for i in 0..per_worker {
                        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                            break;
                        }
                        let session = format!("W{w}-{i}");
                        let req =
                            acct_request((i % 256) as u8, 1, &session, "loaduser", SECRET, &[]);
                        if let Some(reply) = client.exchange(&req) {
                            if reply.len() >= 20 && reply[0] == 5 && reply[1] == req[1] {
                                acked.lock().unwrap().push(session);
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                        } else {
                            // Server gone (or slow): stop this worker after the kill.
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        while count.load(Ordering::Relaxed) < 1500 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().unwrap();
        }
        let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
        assert!(
            acked.len() >= 1500,
            "[{}] load too small: {}",
            db.name(),
            acked.len()
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        let stored: HashSet<String> = rt.block_on(async {
            let store = env.open_store().await;
            store
                .accounting()
                .list(false, i64::MAX)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.session_id)
                .collect()
        });
        let lost: Vec<&String> = acked.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "[{}] {} acknowledged records lost, e.g. {:?}",
            db.name(),
            lost.len(),
            lost.iter().take(5).collect::<Vec<_>>()
        );
        eprintln!(
            "[{}] {} acknowledged, {} stored, none lost",
            db.name(),
            acked.len(),
            stored.len()
        );
    }
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let env = TestEnv::new(&Db::Sqlite);
    env.add_loopback_nas("ap", &[]);
    let mut server = env.start();
    let client = RawClient::new(server.acct);
    assert!(client
        .exchange(&acct_request(1, 1, "S-term", "u", SECRET, &[]))
        .is_some());
    let status = server.stop();
    assert!(status.success(), "exit status {status:?}\n{}", server.log());
    assert!(server.log().contains("stopped"));
}
