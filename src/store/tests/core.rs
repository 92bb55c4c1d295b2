//! Opening, the data key, change_seq and prune.

use sqlx::Row;

use super::{both, now, raw_blob};
use crate::domain::MacAddr;
use crate::store::{
    AcctRecord, AcctStatus, AuthRecord, Backend, NewNas, NewUser, OneTimeCredential, Store,
    StoreError, DATA_KEY_FILE,
};

fn nas(name: &str) -> NewNas {
    NewNas {
        name: name.into(),
        address: "10.0.0.0/24".parse().unwrap(),
        secret: "s3cret-shared".into(),
        profile: "generic".into(),
        coa_port: 3799,
        require_message_authenticator: true,
    }
}

#[tokio::test]
async fn open_creates_private_dir_and_key_and_reopens() {
    both(|h| async move {
        h.store.ping().await.unwrap();
        let key_path = h.data_dir().join(DATA_KEY_FILE);
        let key = std::fs::read(&key_path).unwrap();
        assert_eq!(key.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Reopening runs no migration twice and keeps the key.
        let again = h.reopen().await.unwrap();
        again.ping().await.unwrap();
        assert_eq!(std::fs::read(&key_path).unwrap(), key);
        again.close().await;

        // A nested data directory that does not exist yet is created 0700.
        let nested = h.data_dir().join("a/b");
        if h.store.backend() == Backend::Sqlite {
            let s = Store::open("", &nested, 2).await.unwrap();
            assert!(nested.join("portico.db").exists());
            s.close().await;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&nested).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o700);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_uses_wal_and_tolerates_a_second_process() {
    both(|h| async move {
        if h.store.backend() != Backend::Sqlite {
            return;
        }
        let row = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&h.store.pool)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>(0).unwrap().to_lowercase(), "wal");
        let sync: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&h.store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(sync, 1, "synchronous = NORMAL");
        let fk: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&h.store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(fk, 1);

        // A second store on the same file (the CLI while the server runs):
        // concurrent writers wait on busy_timeout instead of failing.
        let cli = h.reopen().await.unwrap();
        let a = h.store.clone();
        let t1 = tokio::spawn(async move {
            for i in 0..40 {
                a.events()
                    .record("k", "server", "info", &format!("s{i}"), i)
                    .await
                    .unwrap();
            }
        });
        let b = cli.clone();
        let t2 = tokio::spawn(async move {
            let users: Vec<NewUser> = (0..40)
                .map(|i| NewUser {
                    username: format!("u{i}"),
                    ..Default::default()
                })
                .collect();
            for u in &users {
                b.users().add(u).await.unwrap();
            }
        });
        t1.await.unwrap();
        t2.await.unwrap();
        assert_eq!(h.store.users().list().await.unwrap().len(), 40);
        assert_eq!(cli.events().list(100).await.unwrap().len(), 40);
        cli.close().await;
    })
    .await;
}

#[tokio::test]
async fn secrets_are_encrypted_at_rest() {
    both(|h| async move {
        let nt = [0xAB; 16];
        h.store
            .users()
            .add(&NewUser {
                username: "alice".into(),
                nt_hash: Some(nt),
                ..Default::default()
            })
            .await
            .unwrap();
        let raw = raw_blob(&h.store, "SELECT nt_hash_enc FROM users").await;
        assert_eq!(raw.len(), 12 + 16 + 16);
        assert!(!raw.windows(16).any(|w| w == nt));
        assert_eq!(
            h.store.users().get("alice").await.unwrap().unwrap().nt_hash,
            Some(nt)
        );

        h.store.nas().add(&nas("ap1")).await.unwrap();
        let raw = raw_blob(&h.store, "SELECT secret_enc FROM nas").await;
        assert!(!raw.windows(13).any(|w| w == b"s3cret-shared"));

        h.store
            .one_time()
            .create(&OneTimeCredential {
                username: "otp".into(),
                secret: "one-time-pw".into(),
                identity: "bob".into(),
                expires_at: now() + 60_000,
                uses_left: 1,
                mac: None,
                nas_name: None,
            })
            .await
            .unwrap();
        let raw = raw_blob(&h.store, "SELECT secret_enc FROM one_time_credentials").await;
        assert!(!raw.windows(11).any(|w| w == b"one-time-pw"));
    })
    .await;
}

#[tokio::test]
async fn wrong_or_missing_key_is_a_clear_error() {
    both(|h| async move {
        h.store.nas().add(&nas("ap1")).await.unwrap();
        let key_path = h.data_dir().join(DATA_KEY_FILE);
        let good = std::fs::read(&key_path).unwrap();

        // Another key of the right length: refused at open.
        std::fs::write(&key_path, [0x42u8; 32]).unwrap();
        let err = h.reopen().await.unwrap_err();
        assert!(matches!(err, StoreError::Key { .. }), "{err}");
        assert!(err.to_string().contains("does not match"), "{err}");

        // Even a store already open with the wrong key cannot return garbage.
        let key = [0x42u8; 32];
        let wrong = Store {
            pool: h.store.pool.clone(),
            backend: h.store.backend,
            secrets: std::sync::Arc::new(crate::store::secretbox::SecretBox::from_key(
                &key, &key_path,
            )),
        };
        assert!(matches!(
            wrong.nas().get("ap1").await,
            Err(StoreError::Key { .. })
        ));

        // Wrong length.
        std::fs::write(&key_path, [1u8; 16]).unwrap();
        let err = h.reopen().await.unwrap_err();
        assert!(
            err.to_string().contains("expected 32 bytes, found 16"),
            "{err}"
        );

        // Missing while sealed data exists: no new key is made.
        std::fs::remove_file(&key_path).unwrap();
        let err = h.reopen().await.unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!key_path.exists());

        // The right key works again.
        std::fs::write(&key_path, &good).unwrap();
        let s = h.reopen().await.unwrap();
        assert_eq!(
            s.nas().get("ap1").await.unwrap().unwrap().secret,
            "s3cret-shared"
        );

        // Once nothing sealed is left, a lost key may be replaced.
        assert!(s.nas().remove("ap1").await.unwrap());
        s.close().await;
        std::fs::remove_file(&key_path).unwrap();
        let s = h.reopen().await.unwrap();
        assert_ne!(std::fs::read(&key_path).unwrap(), good);
        s.nas().add(&nas("ap2")).await.unwrap();
        s.close().await;
    })
    .await;
}

#[tokio::test]
async fn change_seq_increases_on_every_cached_write() {
    both(|h| async move {
        let s = &h.store;
        let mut last = s.change_seq().await.unwrap();
        macro_rules! bumped {
            ($what:expr) => {{
                let now_seq = s.change_seq().await.unwrap();
                assert!(now_seq > last, "{} did not bump change_seq", $what);
                last = now_seq;
            }};
        }
        s.users()
            .add(&NewUser {
                username: "u".into(),
                groups: vec!["staff".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        bumped!("users.add");
        s.users().set_enabled("u", false).await.unwrap();
        bumped!("users.set_enabled");
        s.users().set_groups("u", &["guests".into()]).await.unwrap();
        bumped!("users.set_groups");
        s.groups()
            .upsert(&crate::store::Group {
                name: "staff".into(),
                vlan: Some("10".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        bumped!("groups.upsert");
        s.groups().remove("guests").await.unwrap();
        bumped!("groups.remove");
        s.nas().add(&nas("ap")).await.unwrap();
        bumped!("nas.add");
        s.nas().set_secret("ap", "other").await.unwrap();
        bumped!("nas.set_secret");
        let mac = MacAddr::parse("aa:bb:cc:dd:ee:ff").unwrap();
        s.devices()
            .add(&crate::store::Device {
                mac,
                owner: None,
                description: None,
                groups: vec![],
                created_at: 0,
            })
            .await
            .unwrap();
        bumped!("devices.add");
        s.authorizations()
            .grant(mac, "bob", "portal", &[], now() + 1000)
            .await
            .unwrap();
        bumped!("authorizations.grant");
        s.authorizations().revoke(mac, now()).await.unwrap();
        bumped!("authorizations.revoke");
        s.one_time()
            .create(&OneTimeCredential {
                username: "x".into(),
                secret: "y".into(),
                identity: "z".into(),
                expires_at: now() + 1000,
                uses_left: 1,
                mac: None,
                nas_name: None,
            })
            .await
            .unwrap();
        bumped!("one_time.create");
        assert!(s.one_time().consume("x", now()).await.unwrap());
        bumped!("one_time.consume");
        s.devices().remove(mac).await.unwrap();
        bumped!("devices.remove");
        s.users().remove("u").await.unwrap();
        bumped!("users.remove");

        // Logs are not cached: they leave the counter alone.
        s.events().record("k", "s", "info", "m", 1).await.unwrap();
        s.auth_log()
            .insert_batch(&[AuthRecord {
                at_ms: 1,
                username: "u".into(),
                mac: None,
                nas_name: "ap".into(),
                nas_ip: "10.0.0.1".into(),
                ap: None,
                method: "pap".into(),
                outcome: "accept".into(),
                reason: "ok".into(),
                client_ip: None,
                ssid: None,
            }])
            .await
            .unwrap();
        assert_eq!(s.change_seq().await.unwrap(), last);
    })
    .await;
}

fn acct(session: &str, status: AcctStatus, at: i64) -> AcctRecord {
    AcctRecord {
        nas_name: "ap".into(),
        nas_ip: "10.0.0.1".into(),
        session_id: session.into(),
        status,
        username: Some("bob".into()),
        calling_station: None,
        called_station: None,
        framed_ip: None,
        input_octets: 0,
        output_octets: 0,
        input_packets: 0,
        output_packets: 0,
        session_time: 0,
        terminate_cause: None,
        event_ms: at,
        received_ms: at,
    }
}

#[tokio::test]
async fn prune_removes_old_rows_only() {
    both(|h| async move {
        let s = &h.store;
        for at in [100, 200, 300] {
            s.events().record("k", "s", "info", "m", at).await.unwrap();
            s.auth_log()
                .insert_batch(&[AuthRecord {
                    at_ms: at,
                    username: "u".into(),
                    mac: Some("aa:bb:cc:dd:ee:ff".into()),
                    nas_name: "ap".into(),
                    nas_ip: "10.0.0.1".into(),
                    ap: None,
                    method: "pap".into(),
                    outcome: "reject".into(),
                    reason: "bad password".into(),
                    client_ip: None,
                    ssid: None,
                }])
                .await
                .unwrap();
        }
        s.accounting()
            .apply_batch(&[
                acct("old-stopped", AcctStatus::Start, 100),
                acct("old-stopped", AcctStatus::Stop, 150),
                acct("old-open", AcctStatus::Start, 100),
                acct("new-stopped", AcctStatus::Start, 100),
                acct("new-stopped", AcctStatus::Stop, 300),
            ])
            .await
            .unwrap();
        let report = s.prune(250).await.unwrap();
        assert_eq!(
            report,
            crate::store::PruneReport {
                auth_log: 2,
                sessions: 1,
                accounting_records: 4,
                events: 2,
            }
        );
        assert_eq!(s.auth_log().count().await.unwrap(), 1);
        assert_eq!(s.events().list(10).await.unwrap().len(), 1);
        assert_eq!(s.accounting().count_records().await.unwrap(), 1);
        assert!(s
            .accounting()
            .get("ap", "old-stopped")
            .await
            .unwrap()
            .is_none());
        assert!(s
            .accounting()
            .get("ap", "old-open")
            .await
            .unwrap()
            .is_some());
        assert!(s
            .accounting()
            .get("ap", "new-stopped")
            .await
            .unwrap()
            .is_some());
        assert_eq!(s.prune(250).await.unwrap(), Default::default());
    })
    .await;
}
