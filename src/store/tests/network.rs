//! NAS clients, devices, authorizations and one-time credentials.

use super::{both, now};
use crate::domain::MacAddr;
use crate::store::{Device, NewNas, OneTimeCredential, StoreError};

fn mac(s: &str) -> MacAddr {
    MacAddr::parse(s).unwrap()
}

#[tokio::test]
async fn nas_add_get_list_set_secret_remove() {
    both(|h| async move {
        let nas = h.store.nas();
        let new = NewNas {
            name: "floor3-wlc".into(),
            address: "192.0.2.10/32".parse().unwrap(),
            secret: "radius-secret-ü".into(),
            profile: "cisco-wlc".into(),
            coa_port: 1700,
            require_message_authenticator: false,
        };
        let added = nas.add(&new).await.unwrap();
        assert!(added.id > 0);
        assert_eq!(added.name, new.name);
        assert_eq!(added.address, new.address);
        assert_eq!(added.secret, new.secret);
        assert_eq!(added.profile, "cisco-wlc");
        assert_eq!(added.coa_port, 1700);
        assert!(!added.require_message_authenticator);
        assert!(added.created_at > 0);
        assert!(!format!("{added:?}").contains("radius-secret"));
        assert_eq!(nas.get("floor3-wlc").await.unwrap().unwrap(), added);

        let err = nas.add(&new).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(err.to_string(), "NAS floor3-wlc already exists");

        let v6 = nas
            .add(&NewNas {
                name: "aps-v6".into(),
                address: "2001:db8::/48".parse().unwrap(),
                secret: "x".into(),
                profile: "generic".into(),
                coa_port: 3799,
                require_message_authenticator: true,
            })
            .await
            .unwrap();
        assert_eq!(v6.address.to_string(), "2001:db8::/48");
        assert!(v6.require_message_authenticator);
        let names: Vec<String> = nas
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(names, vec!["aps-v6", "floor3-wlc"]);

        let err = nas
            .add(&NewNas {
                name: "empty".into(),
                secret: String::new(),
                ..new.clone()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");

        nas.set_secret("floor3-wlc", "rotated").await.unwrap();
        assert_eq!(
            nas.get("floor3-wlc").await.unwrap().unwrap().secret,
            "rotated"
        );
        let err = nas.set_secret("ghost", "x").await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");

        assert!(nas.remove("floor3-wlc").await.unwrap());
        assert!(!nas.remove("floor3-wlc").await.unwrap());
        assert!(nas.get("floor3-wlc").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn devices_add_get_list_remove() {
    both(|h| async move {
        let devices = h.store.devices();
        let printer = Device {
            mac: mac("AA-BB-CC-00-11-22"),
            owner: Some("facilities".into()),
            description: Some("printer, room 301".into()),
            groups: vec!["printers".into()],
            created_at: 0,
        };
        devices.add(&printer).await.unwrap();
        let got = devices.get(printer.mac).await.unwrap().unwrap();
        assert_eq!(got.mac.to_string(), "aa:bb:cc:00:11:22");
        assert_eq!(got.owner, printer.owner);
        assert_eq!(got.description, printer.description);
        assert_eq!(got.groups, printer.groups);
        assert!(got.created_at > 0);

        let err = devices.add(&printer).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");

        let phone = Device {
            mac: mac("00:00:5e:00:53:01"),
            owner: None,
            description: None,
            groups: vec![],
            created_at: 0,
        };
        devices.add(&phone).await.unwrap();
        let list = devices.list().await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].mac, phone.mac);
        assert!(devices
            .get(mac("00:00:00:00:00:01"))
            .await
            .unwrap()
            .is_none());

        assert!(devices.remove(printer.mac).await.unwrap());
        assert!(!devices.remove(printer.mac).await.unwrap());
        assert_eq!(devices.list().await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn authorizations_grant_active_revoke() {
    both(|h| async move {
        let auth = h.store.authorizations();
        let m = mac("02:00:00:00:00:01");
        let t = now();
        assert!(auth.active(m, t).await.unwrap().is_none());

        let first = auth
            .grant(m, "alice", "staff", &["staff".into()], t + 60_000)
            .await
            .unwrap();
        assert!(first.id > 0);
        assert_eq!(first.mac, m);
        assert_eq!(first.identity, "alice");
        assert_eq!(first.method, "staff");
        assert_eq!(first.groups, vec!["staff"]);
        assert_eq!(first.expires_at, t + 60_000);
        assert_eq!(first.revoked_at, None);
        assert_eq!(auth.active(m, t).await.unwrap().unwrap(), first);

        // The latest grant wins.
        let second = auth
            .grant(m, "alice", "voucher", &[], t + 30_000)
            .await
            .unwrap();
        assert_eq!(auth.active(m, t).await.unwrap().unwrap().id, second.id);
        // Expired is not active.
        assert!(auth.active(m, t + 60_000).await.unwrap().is_none());

        let other = mac("02:00:00:00:00:02");
        auth.grant(other, "bob", "wechat", &[], t + 10_000)
            .await
            .unwrap();
        auth.grant(other, "bob", "wechat", &[], t - 1)
            .await
            .unwrap();
        let active = auth.list_active(t).await.unwrap();
        assert_eq!(active.len(), 3);
        assert!(active
            .windows(2)
            .all(|w| w[0].expires_at <= w[1].expires_at));

        assert_eq!(auth.revoke(m, t).await.unwrap(), 2);
        assert_eq!(auth.revoke(m, t).await.unwrap(), 0);
        assert!(auth.active(m, t).await.unwrap().is_none());
        let active = auth.list_active(t).await.unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].mac, other);
    })
    .await;
}

fn otc(username: &str, uses: i64, expires_at: i64) -> OneTimeCredential {
    OneTimeCredential {
        username: username.into(),
        secret: format!("{username}-secret"),
        identity: "visitor@example.org".into(),
        expires_at,
        uses_left: uses,
        mac: Some("aa:bb:cc:00:11:22".into()),
        nas_name: Some("ap-1".into()),
    }
}

#[tokio::test]
async fn one_time_create_get_consume_purge() {
    both(|h| async move {
        let ot = h.store.one_time();
        let t = now();
        let c = otc("guest-1", 2, t + 60_000);
        ot.create(&c).await.unwrap();
        assert_eq!(ot.get("guest-1").await.unwrap().unwrap(), c);
        assert!(!format!("{c:?}").contains("guest-1-secret"));
        let err = ot.create(&c).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert!(ot.get("nobody").await.unwrap().is_none());

        assert!(ot.consume("guest-1", t).await.unwrap());
        assert_eq!(ot.get("guest-1").await.unwrap().unwrap().uses_left, 1);
        assert!(ot.consume("guest-1", t).await.unwrap());
        assert!(!ot.consume("guest-1", t).await.unwrap());
        assert_eq!(ot.get("guest-1").await.unwrap().unwrap().uses_left, 0);
        assert!(!ot.consume("nobody", t).await.unwrap());

        ot.create(&otc("guest-2", 5, t + 1_000)).await.unwrap();
        assert!(!ot.consume("guest-2", t + 1_000).await.unwrap(), "expired");
        ot.create(&otc("guest-3", 1, t + 60_000)).await.unwrap();

        // Expired and used-up ones go; live ones stay.
        assert_eq!(ot.purge_expired(t + 1_000).await.unwrap(), 2);
        assert!(ot.get("guest-1").await.unwrap().is_none());
        assert!(ot.get("guest-2").await.unwrap().is_none());
        assert!(ot.get("guest-3").await.unwrap().is_some());
        // The name can be issued again.
        ot.create(&otc("guest-1", 1, t + 60_000)).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_consume_exactly_once_under_concurrency() {
    both(|h| async move {
        let t = now();
        for i in 0..20 {
            let name = format!("race-{i}");
            h.store
                .one_time()
                .create(&otc(&name, 1, t + 60_000))
                .await
                .unwrap();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let store = h.store.clone();
                    let name = name.clone();
                    tokio::spawn(async move { store.one_time().consume(&name, t).await.unwrap() })
                })
                .collect();
            let mut wins = 0;
            for task in tasks {
                if task.await.unwrap() {
                    wins += 1;
                }
            }
            assert_eq!(wins, 1, "{name} consumed {wins} times");
        }
    })
    .await;
}
