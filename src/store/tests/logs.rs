//! Accounting, the authentication log and events.

use super::both;
use crate::store::{AcctRecord, AcctStatus, AuthRecord, Backend};

fn rec(nas: &str, session: &str, status: AcctStatus, at: i64) -> AcctRecord {
    AcctRecord {
        nas_name: nas.into(),
        nas_ip: "10.0.0.1".into(),
        session_id: session.into(),
        status,
        username: Some("alice".into()),
        calling_station: Some("aa:bb:cc:dd:ee:ff".into()),
        called_station: Some("00-11-22-33-44-55:Staff".into()),
        framed_ip: None,
        input_octets: 0,
        output_octets: 0,
        input_packets: 0,
        output_packets: 0,
        session_time: 0,
        terminate_cause: None,
        event_ms: at,
        received_ms: at + 5,
    }
}

fn with_counters(mut r: AcctRecord, octets: i64, secs: i64) -> AcctRecord {
    r.input_octets = octets;
    r.output_octets = octets * 2;
    r.input_packets = octets / 100;
    r.output_packets = octets / 50;
    r.session_time = secs;
    r.framed_ip = Some("10.1.2.3".into());
    r
}

#[tokio::test]
async fn accounting_is_idempotent_under_retransmission() {
    both(|h| async move {
        let acct = h.store.accounting();
        let start = rec("ap1", "s1", AcctStatus::Start, 1_000_000);

        // Start twice.
        acct.apply_batch(std::slice::from_ref(&start))
            .await
            .unwrap();
        acct.apply_batch(std::slice::from_ref(&start))
            .await
            .unwrap();
        let s = acct.get("ap1", "s1").await.unwrap().unwrap();
        assert_eq!(s.started_ms, 1_000_000);
        assert_eq!(s.updated_ms, 1_000_000);
        assert_eq!(s.stopped_ms, None);
        assert_eq!(s.input_octets, 0);
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(s.calling_station.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(acct.count_records().await.unwrap(), 2);

        // Interim, then an older interim replayed late: counters keep the max.
        let i2 = with_counters(rec("ap1", "s1", AcctStatus::Interim, 1_600_000), 5_000, 600);
        let i1 = with_counters(rec("ap1", "s1", AcctStatus::Interim, 1_300_000), 2_000, 300);
        acct.apply_batch(&[i2]).await.unwrap();
        acct.apply_batch(&[i1]).await.unwrap();
        let s = acct.get("ap1", "s1").await.unwrap().unwrap();
        assert_eq!(
            (
                s.input_octets,
                s.output_octets,
                s.input_packets,
                s.output_packets
            ),
            (5_000, 10_000, 50, 100)
        );
        assert_eq!(s.session_time, 600);
        assert_eq!(s.updated_ms, 1_600_000);
        assert_eq!(s.framed_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(s.started_ms, 1_000_000);

        // A Start retransmitted after interims leaves the counters alone.
        acct.apply_batch(std::slice::from_ref(&start))
            .await
            .unwrap();
        assert_eq!(
            acct.get("ap1", "s1").await.unwrap().unwrap().input_octets,
            5_000
        );

        // Stop, twice.
        let mut stop = with_counters(rec("ap1", "s1", AcctStatus::Stop, 1_900_000), 8_000, 900);
        stop.terminate_cause = Some("User-Request".into());
        acct.apply_batch(&[stop.clone(), stop.clone()])
            .await
            .unwrap();
        let s = acct.get("ap1", "s1").await.unwrap().unwrap();
        assert_eq!(s.stopped_ms, Some(1_900_000));
        assert_eq!(s.terminate_cause.as_deref(), Some("User-Request"));
        assert_eq!(s.input_octets, 8_000);
        assert_eq!(s.session_time, 900);
        assert_eq!(acct.count_records().await.unwrap(), 7);

        // A late interim after the Stop does not reopen the session.
        acct.apply_batch(&[with_counters(
            rec("ap1", "s1", AcctStatus::Interim, 1_800_000),
            7_000,
            800,
        )])
        .await
        .unwrap();
        let s = acct.get("ap1", "s1").await.unwrap().unwrap();
        assert_eq!(s.stopped_ms, Some(1_900_000));
        assert_eq!(s.input_octets, 8_000);
    })
    .await;
}

#[tokio::test]
async fn accounting_stop_or_interim_for_unknown_session_creates_it() {
    both(|h| async move {
        let acct = h.store.accounting();
        let mut stop = with_counters(rec("ap1", "lost", AcctStatus::Stop, 2_000_000), 100, 60);
        stop.terminate_cause = Some("Idle-Timeout".into());
        acct.apply_batch(&[stop]).await.unwrap();
        let s = acct.get("ap1", "lost").await.unwrap().unwrap();
        assert_eq!(s.started_ms, 2_000_000 - 60_000);
        assert_eq!(s.stopped_ms, Some(2_000_000));
        assert_eq!(s.input_octets, 100);
        assert_eq!(s.terminate_cause.as_deref(), Some("Idle-Timeout"));

        acct.apply_batch(&[with_counters(
            rec("ap1", "mid", AcctStatus::Interim, 2_000_000),
            10,
            30,
        )])
        .await
        .unwrap();
        let s = acct.get("ap1", "mid").await.unwrap().unwrap();
        assert_eq!(s.started_ms, 2_000_000 - 30_000);
        assert_eq!(s.stopped_ms, None);
        // Its real Start, arriving late, moves the start earlier only.
        acct.apply_batch(&[rec("ap1", "mid", AcctStatus::Start, 1_960_000)])
            .await
            .unwrap();
        let s = acct.get("ap1", "mid").await.unwrap().unwrap();
        assert_eq!(s.started_ms, 1_960_000);
        assert_eq!(s.input_octets, 10);
        assert!(acct.get("ap1", "never").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn accounting_on_closes_open_sessions_of_that_nas() {
    both(|h| async move {
        let acct = h.store.accounting();
        let mut closed = with_counters(rec("ap1", "done", AcctStatus::Stop, 1_500_000), 1, 1);
        closed.terminate_cause = Some("User-Request".into());
        acct.apply_batch(&[
            rec("ap1", "a", AcctStatus::Start, 1_000_000),
            rec("ap1", "b", AcctStatus::Start, 1_100_000),
            rec("ap2", "c", AcctStatus::Start, 1_100_000),
            rec("ap1", "done", AcctStatus::Start, 1_000_000),
            closed,
        ])
        .await
        .unwrap();
        let mut on = rec("ap1", "", AcctStatus::On, 2_000_000);
        on.username = None;
        acct.apply_batch(&[on.clone()]).await.unwrap();
        for id in ["a", "b"] {
            let s = acct.get("ap1", id).await.unwrap().unwrap();
            assert_eq!(s.stopped_ms, Some(2_000_000), "{id}");
            assert_eq!(s.terminate_cause.as_deref(), Some("NAS-Reboot"), "{id}");
        }
        let s = acct.get("ap1", "done").await.unwrap().unwrap();
        assert_eq!(s.stopped_ms, Some(1_500_000));
        assert_eq!(s.terminate_cause.as_deref(), Some("User-Request"));
        assert_eq!(
            acct.get("ap2", "c").await.unwrap().unwrap().stopped_ms,
            None
        );
        // The On record itself is in the raw log, not a session.
        assert!(acct.get("ap1", "").await.unwrap().is_none());
        assert_eq!(acct.count_records().await.unwrap(), 6);

        // A session started after the reboot survives a late copy of the On.
        acct.apply_batch(&[rec("ap1", "d", AcctStatus::Start, 2_100_000)])
            .await
            .unwrap();
        acct.apply_batch(&[on]).await.unwrap();
        assert_eq!(
            acct.get("ap1", "d").await.unwrap().unwrap().stopped_ms,
            None
        );

        // Accounting-Off closes too.
        acct.apply_batch(&[rec("ap1", "", AcctStatus::Off, 2_200_000)])
            .await
            .unwrap();
        assert_eq!(
            acct.get("ap1", "d").await.unwrap().unwrap().stopped_ms,
            Some(2_200_000)
        );
    })
    .await;
}

#[tokio::test]
async fn one_mixed_batch_keeps_each_sessions_order_and_the_on_off_barrier() {
    both(|h| async move {
        let acct = h.store.accounting();
        let mut batch = Vec::new();
        // 70 sessions on ap1, each Start, Interim, Stop interleaved with the
        // others (as 64 NAS lanes send them), more rows than one statement.
        for step in 0..3 {
            for n in 0..70 {
                let session = format!("m{n}");
                let at = 1_000_000 + step * 60_000 + n;
                batch.push(match step {
                    0 => rec("ap1", &session, AcctStatus::Start, at),
                    1 => with_counters(rec("ap1", &session, AcctStatus::Interim, at), 100, 60),
                    _ => with_counters(rec("ap1", &session, AcctStatus::Stop, at), 200, 120),
                });
            }
        }
        // ap2: a session opened before its NAS reboots (Accounting-On),
        // and one opened after; only the first is closed.
        batch.insert(10, rec("ap2", "before", AcctStatus::Start, 900_000));
        batch.push(rec("ap2", "", AcctStatus::On, 1_500_000));
        batch.push(rec("ap2", "after", AcctStatus::Start, 1_600_000));
        acct.apply_batch(&batch).await.unwrap();

        assert_eq!(acct.count_records().await.unwrap(), 213);
        for n in [0, 33, 69] {
            let s = acct.get("ap1", &format!("m{n}")).await.unwrap().unwrap();
            assert_eq!(s.started_ms, 1_000_000 + n, "m{n}");
            assert_eq!(s.stopped_ms, Some(1_120_000 + n), "m{n}");
            assert_eq!(s.input_octets, 200, "m{n}");
            assert_eq!(s.session_time, 120, "m{n}");
        }
        let before = acct.get("ap2", "before").await.unwrap().unwrap();
        assert_eq!(before.stopped_ms, Some(1_500_000));
        let after = acct.get("ap2", "after").await.unwrap().unwrap();
        assert_eq!(after.stopped_ms, None);
    })
    .await;
}

/// A batch the database refuses leaves no row behind (neither log nor
/// session), and the writer goes on with a fresh connection: no
/// transaction is left open to block the next writer.
#[tokio::test]
async fn a_refused_batch_leaves_nothing_and_the_writer_goes_on() {
    both(|h| async move {
        let refuse: &[&str] = match h.store.backend() {
            Backend::Sqlite => &["CREATE TRIGGER refuse_boom BEFORE INSERT ON acct_sessions \
                 WHEN NEW.session_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"],
            Backend::Postgres => &[
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN \
                 IF NEW.session_id = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON acct_sessions \
                 FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
            ],
        };
        for sql in refuse {
            sqlx::query(sql).execute(&h.store.pool).await.unwrap();
        }
        let acct = h.store.accounting();
        let mut writer = acct.writer();
        let batch = [
            rec("ap1", "fine", AcctStatus::Start, 1_000),
            rec("ap1", "boom", AcctStatus::Start, 1_000),
        ];
        assert!(writer.apply_batch(&batch).await.is_err());
        assert_eq!(acct.count_records().await.unwrap(), 0);
        assert!(acct.get("ap1", "fine").await.unwrap().is_none());

        writer
            .apply_batch(&[rec("ap1", "next", AcctStatus::Start, 2_000)])
            .await
            .unwrap();
        // Another writer is not blocked by a transaction left behind.
        tokio::time::timeout(
            std::time::Duration::from_secs(2),
            acct.apply_batch(&[rec("ap1", "other", AcctStatus::Start, 3_000)]),
        )
        .await
        .expect("no transaction left open")
        .unwrap();
        assert_eq!(acct.count_records().await.unwrap(), 2);
        assert!(acct.get("ap1", "next").await.unwrap().is_some());
    })
    .await;
}

/// In a pool too small to spare them, the log writers give their
/// connection back after each batch instead of starving other queries.
#[tokio::test]
async fn log_writers_do_not_starve_a_one_connection_pool() {
    both(|h| async move {
        let small = crate::store::Store::open(&h.url, h.data_dir(), 1)
            .await
            .unwrap();
        let mut acct_writer = small.accounting().writer();
        let mut appender = small.auth_log().appender();
        let work = async {
            acct_writer
                .apply_batch(&[rec("ap1", "s", AcctStatus::Start, 1_000)])
                .await
                .unwrap();
            appender
                .append(&[auth(1_000, "alice", "accept")])
                .await
                .unwrap();
            assert_eq!(small.accounting().count_records().await.unwrap(), 1);
            assert_eq!(small.auth_log().count().await.unwrap(), 1);
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), work)
            .await
            .expect("no query waits for a connection a writer keeps");
    })
    .await;
}

#[tokio::test]
async fn accounting_list_and_since() {
    both(|h| async move {
        let acct = h.store.accounting();
        acct.apply_batch(&[]).await.unwrap();
        acct.apply_batch(&[
            rec("ap1", "old", AcctStatus::Start, 1_000),
            with_counters(rec("ap1", "old", AcctStatus::Stop, 2_000), 1, 1),
            rec("ap1", "long", AcctStatus::Start, 1_500),
            with_counters(rec("ap1", "long", AcctStatus::Interim, 9_000), 1, 7),
            rec("ap2", "new", AcctStatus::Start, 10_000),
        ])
        .await
        .unwrap();

        let all = acct.list(false, 100).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, vec!["new", "long", "old"]);
        let open = acct.list(true, 100).await.unwrap();
        let ids: Vec<&str> = open.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, vec!["new", "long"]);
        assert_eq!(acct.list(false, 1).await.unwrap().len(), 1);

        // Sessions active since 5000, ordered by start.
        let since = acct.since(5_000).await.unwrap();
        let ids: Vec<&str> = since.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, vec!["long", "new"]);
        assert_eq!(acct.since(0).await.unwrap().len(), 3);
        assert_eq!(acct.count_records().await.unwrap(), 5);
    })
    .await;
}

fn auth(at: i64, user: &str, outcome: &str) -> AuthRecord {
    AuthRecord {
        at_ms: at,
        username: user.into(),
        mac: Some("aa:bb:cc:dd:ee:ff".into()),
        nas_name: "ap1".into(),
        nas_ip: "10.0.0.1".into(),
        ap: Some("00-11-22-33-44-55:Staff".into()),
        method: "eap-peap".into(),
        outcome: outcome.into(),
        reason: if outcome == "accept" {
            "ok".into()
        } else {
            "bad password".into()
        },
        client_ip: Some("10.0.0.9".into()),
        ssid: Some("Staff".into()),
    }
}

#[tokio::test]
async fn auth_log_batch_since_count() {
    both(|h| async move {
        let log = h.store.auth_log();
        assert_eq!(log.count().await.unwrap(), 0);
        log.insert_batch(&[]).await.unwrap();
        let mut nameless = auth(150, "x", "reject");
        nameless.mac = None;
        nameless.ap = None;
        let batch = vec![
            auth(300, "carol", "accept"),
            auth(100, "alice", "accept"),
            auth(200, "bob", "reject"),
            nameless.clone(),
        ];
        log.insert_batch(&batch).await.unwrap();
        assert_eq!(log.count().await.unwrap(), 4);
        let got = log.since(150).await.unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], nameless);
        assert_eq!(got[1], batch[2]);
        assert_eq!(got[2], batch[0]);
        assert!(log.since(301).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn events_record_and_list_newest_first() {
    both(|h| async move {
        let events = h.store.events();
        let a = events
            .record("nas-unknown", "radius", "warning", "from 192.0.2.9", 100)
            .await
            .unwrap();
        let b = events
            .record("ap-down", "snmp", "critical", "ap-3 unreachable", 300)
            .await
            .unwrap();
        let c = events
            .record("trap", "snmp", "info", "coldStart", 200)
            .await
            .unwrap();
        assert!(a > 0 && b > a && c > b);
        let list = events.list(10).await.unwrap();
        let ids: Vec<i64> = list.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![b, c, a]);
        assert_eq!(list[0].kind, "ap-down");
        assert_eq!(list[0].source, "snmp");
        assert_eq!(list[0].severity, "critical");
        assert_eq!(list[0].message, "ap-3 unreachable");
        assert_eq!(list[0].at_ms, 300);
        assert_eq!(events.list(2).await.unwrap().len(), 2);
        assert!(events.list(0).await.unwrap().is_empty());
    })
    .await;
}
