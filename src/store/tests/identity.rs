//! Users, groups and dashboard admins.

use super::both;
use crate::store::{Group, NewUser, StoreError};

fn user(name: &str, groups: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: Some(format!("{name} display")),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        nt_hash: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        valid_until: None,
    }
}

#[tokio::test]
async fn users_add_get_list_and_conflict() {
    both(|h| async move {
        let users = h.store.users();
        let mut alice = user("alice", &["staff", "wifi", "staff"]);
        alice.nt_hash = Some([7; 16]);
        alice.valid_until = Some(1_900_000_000_000);
        let added = users.add(&alice).await.unwrap();
        assert!(added.id > 0);
        assert_eq!(added.username, "alice");
        assert_eq!(added.display_name.as_deref(), Some("alice display"));
        assert_eq!(added.password_hash, alice.password_hash);
        assert_eq!(added.nt_hash, Some([7; 16]));
        assert!(added.enabled);
        assert_eq!(added.valid_until, Some(1_900_000_000_000));
        assert_eq!(added.groups, vec!["staff", "wifi"]);
        assert!(added.created_at > 0);
        assert_eq!(added.created_at, added.updated_at);
        assert_eq!(users.get("alice").await.unwrap().unwrap(), added);
        assert!(users.get("nobody").await.unwrap().is_none());

        // Groups named by a user are created with no policy.
        let staff = h.store.groups().get("staff").await.unwrap().unwrap();
        assert_eq!(
            staff,
            Group {
                name: "staff".into(),
                ..Default::default()
            }
        );

        let err = users.add(&user("alice", &[])).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(err.to_string(), "user alice already exists");

        let err = users.add(&user("  ", &[])).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        let err = users.add(&user("bob", &[""])).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        assert!(users.get("bob").await.unwrap().is_none());

        let bob = users
            .add(&NewUser {
                username: "bob".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(bob.password_hash, None);
        assert_eq!(bob.nt_hash, None);
        assert!(bob.groups.is_empty());

        let list = users.list().await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], added);
        assert_eq!(list[1], bob);
    })
    .await;
}

#[tokio::test]
async fn users_updates_and_not_found() {
    both(|h| async move {
        let users = h.store.users();
        users.add(&user("carol", &["a"])).await.unwrap();

        users
            .set_password("carol", "$argon2id$new", Some([9; 16]))
            .await
            .unwrap();
        let c = users.get("carol").await.unwrap().unwrap();
        assert_eq!(c.password_hash.as_deref(), Some("$argon2id$new"));
        assert_eq!(c.nt_hash, Some([9; 16]));
        assert!(c.updated_at >= c.created_at);

        users.clear_nt_hash("carol").await.unwrap();
        assert_eq!(users.get("carol").await.unwrap().unwrap().nt_hash, None);
        users
            .set_password("carol", "$argon2id$x", Some([1; 16]))
            .await
            .unwrap();
        users
            .set_password("carol", "$argon2id$y", None)
            .await
            .unwrap();
        assert_eq!(users.get("carol").await.unwrap().unwrap().nt_hash, None);

        users.set_enabled("carol", false).await.unwrap();
        assert!(!users.get("carol").await.unwrap().unwrap().enabled);
        users.set_enabled("carol", true).await.unwrap();
        assert!(users.get("carol").await.unwrap().unwrap().enabled);

        users.set_valid_until("carol", Some(5)).await.unwrap();
        assert_eq!(
            users.get("carol").await.unwrap().unwrap().valid_until,
            Some(5)
        );
        users.set_valid_until("carol", None).await.unwrap();
        assert_eq!(users.get("carol").await.unwrap().unwrap().valid_until, None);

        users
            .set_groups("carol", &["b".into(), "c".into()])
            .await
            .unwrap();
        assert_eq!(
            users.get("carol").await.unwrap().unwrap().groups,
            vec!["b", "c"]
        );
        users.set_groups("carol", &[]).await.unwrap();
        assert!(users.get("carol").await.unwrap().unwrap().groups.is_empty());

        for err in [
            users.set_password("ghost", "h", None).await.unwrap_err(),
            users.set_enabled("ghost", true).await.unwrap_err(),
            users.set_groups("ghost", &["a".into()]).await.unwrap_err(),
            users.set_valid_until("ghost", None).await.unwrap_err(),
            users.clear_nt_hash("ghost").await.unwrap_err(),
        ] {
            assert!(matches!(err, StoreError::NotFound(_)), "{err}");
            assert_eq!(err.to_string(), "user ghost not found");
        }

        assert!(users.remove("carol").await.unwrap());
        assert!(!users.remove("carol").await.unwrap());
        assert!(users.get("carol").await.unwrap().is_none());
        // Memberships went with the user; the group stays.
        assert!(h.store.groups().members("b").await.unwrap().is_empty());
        assert!(h.store.groups().get("b").await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn users_import_is_all_or_nothing() {
    both(|h| async move {
        let users = h.store.users();
        users.add(&user("existing", &[])).await.unwrap();

        // A duplicate of an existing user fails the whole batch.
        let batch = vec![
            user("n1", &["new-group"]),
            user("n2", &[]),
            user("existing", &[]),
        ];
        let err = users.import(&batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(users.list().await.unwrap().len(), 1);
        assert!(h.store.groups().get("new-group").await.unwrap().is_none());

        // So does a duplicate inside the batch, or an invalid name.
        let err = users
            .import(&[user("d", &[]), user("d", &[])])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let err = users
            .import(&[user("ok", &[]), user("", &[])])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        assert_eq!(users.list().await.unwrap().len(), 1);

        let many: Vec<NewUser> = (0..200)
            .map(|i| {
                let mut u = user(&format!("bulk{i:03}"), &["bulk"]);
                u.nt_hash = Some([i as u8; 16]);
                u
            })
            .collect();
        assert_eq!(users.import(&many).await.unwrap(), 200);
        assert_eq!(users.list().await.unwrap().len(), 201);
        assert_eq!(h.store.groups().members("bulk").await.unwrap().len(), 200);
        assert_eq!(
            users.get("bulk042").await.unwrap().unwrap().nt_hash,
            Some([42; 16])
        );
        assert_eq!(users.import(&[]).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn groups_upsert_get_list_members_remove() {
    both(|h| async move {
        let groups = h.store.groups();
        let staff = Group {
            name: "staff".into(),
            vlan: Some("20".into()),
            session_timeout: Some(28_800),
            idle_timeout: Some(900),
            filter_id: Some("staff-acl".into()),
            class: Some("staff".into()),
            reply_attributes: vec![
                ("Aruba-User-Role".into(), "staff".into()),
                ("Reply-Message".into(), "Welcome, \"staff\"".into()),
            ],
            allowed_methods: vec!["eap-peap".into(), "mschapv2".into()],
        };
        groups.upsert(&staff).await.unwrap();
        assert_eq!(groups.get("staff").await.unwrap().unwrap(), staff);

        let mut changed = staff.clone();
        changed.vlan = None;
        changed.session_timeout = Some(u32::MAX);
        changed.reply_attributes.clear();
        groups.upsert(&changed).await.unwrap();
        assert_eq!(groups.get("staff").await.unwrap().unwrap(), changed);

        groups
            .upsert(&Group {
                name: "guests".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let names: Vec<String> = groups
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(names, vec!["guests", "staff"]);
        assert!(groups.get("nope").await.unwrap().is_none());
        let err = groups
            .upsert(&Group {
                name: " ".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");

        let users = h.store.users();
        for n in ["zed", "amy"] {
            users
                .add(&NewUser {
                    username: n.into(),
                    groups: vec!["staff".into(), "guests".into()],
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        assert_eq!(groups.members("staff").await.unwrap(), vec!["amy", "zed"]);
        assert!(groups.members("nope").await.unwrap().is_empty());

        // Removing a group removes its memberships, not its members.
        assert!(groups.remove("staff").await.unwrap());
        assert!(!groups.remove("staff").await.unwrap());
        assert!(groups.get("staff").await.unwrap().is_none());
        assert_eq!(
            users.get("amy").await.unwrap().unwrap().groups,
            vec!["guests"]
        );
        assert!(groups.members("staff").await.unwrap().is_empty());
    })
    .await;
}
