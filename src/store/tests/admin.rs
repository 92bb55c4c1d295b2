//! Administrator accounts, dashboard sessions, API tokens and the audit
//! trail, on both backends.

use super::both;
use crate::domain::AdminRole;
use crate::store::admin_sessions::{NewAdminSession, Stage};
use crate::store::audit::{AuditEntry, AuditQuery};
use crate::store::StoreError;

fn entry(at_ms: i64, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at_ms,
        actor: "secadmin".into(),
        role: "security".into(),
        origin: "192.0.2.7".into(),
        action: action.into(),
        target: target.into(),
        outcome: "ok".into(),
        summary: "{}".into(),
    }
}

#[tokio::test]
async fn admin_accounts_roles_totp_and_state() {
    both(|h| async move {
        let admins = h.store.admins();
        assert_eq!(admins.count().await.unwrap(), 0);
        admins
            .create("sysadmin", "$argon2id$a", AdminRole::System)
            .await
            .unwrap();
        admins
            .create("auditadmin", "$argon2id$b", AdminRole::Audit)
            .await
            .unwrap();
        let err = admins
            .create("sysadmin", "x", AdminRole::Audit)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(admins.count().await.unwrap(), 2);

        let a = admins.get("sysadmin").await.unwrap().unwrap();
        assert_eq!(a.role, AdminRole::System);
        assert!(a.must_change_password && !a.disabled && a.totp_secret.is_none());
        assert!(!format!("{a:?}").contains("argon2id"));

        admins
            .set_password("sysadmin", "$argon2id$new", false)
            .await
            .unwrap();
        let a = admins.get("sysadmin").await.unwrap().unwrap();
        assert_eq!(a.password_hash, "$argon2id$new");
        assert!(!a.must_change_password);
        let err = admins.set_password("eve", "x", false).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");

        // TOTP: sealed at rest, each step used once, in order.
        admins
            .set_totp("sysadmin", b"0123456789abcdefghij", 100)
            .await
            .unwrap();
        let a = admins.get("sysadmin").await.unwrap().unwrap();
        assert_eq!(a.totp_secret.as_deref(), Some(&b"0123456789abcdefghij"[..]));
        assert!(
            !admins.use_totp_step("sysadmin", 100).await.unwrap(),
            "same step twice"
        );
        assert!(
            !admins.use_totp_step("sysadmin", 99).await.unwrap(),
            "an older step"
        );
        assert!(admins.use_totp_step("sysadmin", 101).await.unwrap());
        assert!(!admins.use_totp_step("sysadmin", 101).await.unwrap());
        admins.reset_totp("sysadmin").await.unwrap();
        assert!(admins
            .get("sysadmin")
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .is_none());

        admins
            .set_role("auditadmin", AdminRole::Operator)
            .await
            .unwrap();
        admins.set_disabled("auditadmin", true).await.unwrap();
        let b = admins.get("auditadmin").await.unwrap().unwrap();
        assert_eq!(b.role, AdminRole::Operator);
        assert!(b.disabled);
        let names: Vec<String> = admins
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(names, ["auditadmin", "sysadmin"]);
    })
    .await;
}

#[tokio::test]
async fn sessions_end_when_idle_or_past_their_lifetime() {
    both(|h| async move {
        let sessions = h.store.admin_sessions();
        let t0 = 1_700_000_000_000;
        sessions
            .create(&NewAdminSession {
                id_hash: "h1",
                username: "sysadmin",
                stage: Stage::Totp,
                csrf: "c1",
                now_ms: t0,
                expires_at: t0 + 8 * 3_600_000,
                ip: Some("192.0.2.7"),
                user_agent: Some("test"),
            })
            .await
            .unwrap();
        let idle = 15 * 60_000;
        let s = sessions
            .touch("h1", t0 + 1_000, idle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.stage, Stage::Totp);
        assert_eq!(s.last_seen_at, t0, "not written again within seconds");
        // Advancing replaces the id: the old one opens nothing.
        sessions.advance("h1", "h2", Stage::Ready).await.unwrap();
        assert!(sessions
            .touch("h1", t0 + 2_000, idle)
            .await
            .unwrap()
            .is_none());
        let s = sessions
            .touch("h2", t0 + 10 * 60_000, idle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((s.stage, s.last_seen_at), (Stage::Ready, t0 + 10 * 60_000));
        // 15 min idle after the last use: gone.
        assert!(sessions
            .touch("h2", t0 + 25 * 60_000 + 1, idle)
            .await
            .unwrap()
            .is_none());
        // Used every 10 min, it still ends at its absolute lifetime.
        let mut t = t0 + 10 * 60_000;
        sessions.touch("h2", t, idle).await.unwrap().unwrap();
        while t + 10 * 60_000 < t0 + 8 * 3_600_000 {
            t += 10 * 60_000;
            assert!(
                sessions.touch("h2", t, idle).await.unwrap().is_some(),
                "at {t}"
            );
        }
        assert!(sessions
            .touch("h2", t0 + 8 * 3_600_000, idle)
            .await
            .unwrap()
            .is_none());

        sessions
            .set_pending_totp("h2", b"pending-secret-bytes")
            .await
            .unwrap();
        assert_eq!(sessions.delete_for("sysadmin").await.unwrap(), 1);
        assert_eq!(sessions.prune(t0, idle).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn api_tokens_expire_and_revoke() {
    both(|h| async move {
        let s = h.store.admin_sessions();
        let t0 = 1_700_000_000_000;
        s.create_token("sysadmin", "ci", "hash-ci", t0, Some(t0 + 1000))
            .await
            .unwrap();
        s.create_token("sysadmin", "forever", "hash-f", t0, None)
            .await
            .unwrap();
        let err = s
            .create_token("sysadmin", "ci", "hash-x", t0, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let t = s.use_token("hash-ci", t0 + 10).await.unwrap().unwrap();
        assert_eq!((t.username.as_str(), t.name.as_str()), ("sysadmin", "ci"));
        assert_eq!(t.last_used_at, Some(t0 + 10));
        assert!(
            s.use_token("hash-ci", t0 + 1000).await.unwrap().is_none(),
            "expired"
        );
        assert!(s.use_token("nope", t0).await.unwrap().is_none());
        s.revoke_token("sysadmin", "forever", t0 + 5).await.unwrap();
        assert!(
            s.use_token("hash-f", t0 + 6).await.unwrap().is_none(),
            "revoked"
        );
        assert!(s.revoke_token("sysadmin", "forever", t0 + 7).await.is_err());
        assert_eq!(s.tokens(Some("sysadmin")).await.unwrap().len(), 2);
        assert!(s.tokens(Some("other")).await.unwrap().is_empty());
        assert_eq!(s.tokens(None).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn audit_rows_chain_and_verify() {
    both(|h| async move {
        let audit = h.store.audit();
        let empty = audit.verify().await.unwrap();
        assert_eq!((empty.rows, empty.broken), (0, None));
        for i in 0..12 {
            let row = audit
                .append(&entry(
                    1_000 + i,
                    if i % 2 == 0 {
                        "user.create"
                    } else {
                        "nas.update"
                    },
                    &format!("t{i}"),
                ))
                .await
                .unwrap();
            assert_eq!(row.seq, i + 1);
        }
        let report = audit.verify().await.unwrap();
        assert_eq!(
            (report.rows, report.first_seq, report.last_seq),
            (12, Some(1), Some(12))
        );
        assert_eq!(report.broken, None);

        let users = audit
            .search(&AuditQuery {
                action: Some("user".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(users.len(), 6);
        assert!(
            users.windows(2).all(|w| w[0].seq > w[1].seq),
            "newest first"
        );
        let page = audit
            .search(&AuditQuery {
                before_seq: Some(5),
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 3]);
        // `_` and `%` in a filter are literal.
        let none = audit
            .search(&AuditQuery {
                action: Some("user_".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());

        // The tables refuse changes.
        let err = sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
            .execute(&h.store.pool)
            .await;
        assert!(err.is_err(), "UPDATE must be refused");
        let err = sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&h.store.pool)
            .await;
        assert!(err.is_err(), "DELETE must be refused");
    })
    .await;
}

/// Someone with the database (and the rights to drop the guard) rewrites
/// one row: verify names that row.
#[tokio::test]
async fn tampering_is_found_and_named() {
    both(|h| async move {
        let audit = h.store.audit();
        for i in 0..5 {
            audit
                .append(&entry(1_000 + i, "user.create", "x"))
                .await
                .unwrap();
        }
        let drop_guard = match h.store.backend() {
            crate::store::Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
            crate::store::Backend::Postgres => "DROP TRIGGER audit_log_guard ON audit_log",
        };
        sqlx::query(drop_guard)
            .execute(&h.store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
            .execute(&h.store.pool)
            .await
            .unwrap();
        let report = audit.verify().await.unwrap();
        let (seq, why) = report.broken.expect("broken");
        assert_eq!(seq, 3, "{why}");
        assert!(why.contains("changed"), "{why}");
    })
    .await;
}

#[tokio::test]
async fn prune_removes_old_rows_and_leaves_a_checkable_mark() {
    both(|h| async move {
        let audit = h.store.audit();
        for i in 0..6 {
            audit
                .append(&entry(1_000 * (i + 1), "user.create", "x"))
                .await
                .unwrap();
        }
        let mut by = entry(10_000, "", "audit_log");
        by.actor = "portico".into();
        assert_eq!(audit.prune(0, &by).await.unwrap(), 0, "nothing old enough");
        assert_eq!(audit.prune(3_500, &by).await.unwrap(), 3);
        let report = audit.verify().await.unwrap();
        assert_eq!(report.broken, None, "{report:?}");
        assert_eq!((report.first_seq, report.last_seq), (Some(4), Some(7)));
        let mark = audit
            .search(&AuditQuery {
                action: Some("audit.prune".into()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(mark.len(), 1);
        assert!(
            mark[0].summary.contains("\"through_seq\":3"),
            "{}",
            mark[0].summary
        );
        // Deletion outside a prune is still refused afterwards.
        assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 4")
            .execute(&h.store.pool)
            .await
            .is_err());
    })
    .await;
}

/// Removing the newest rows (and rolling the head back by hand) is what a
/// chain alone cannot see; removing rows without moving the head is.
#[tokio::test]
async fn rows_removed_from_the_end_are_found() {
    both(|h| async move {
        let audit = h.store.audit();
        for i in 0..4 {
            audit
                .append(&entry(1_000 + i, "user.create", "x"))
                .await
                .unwrap();
        }
        sqlx::query("UPDATE audit_head SET pruning = $1 WHERE id = 1")
            .bind(true)
            .execute(&h.store.pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 4")
            .execute(&h.store.pool)
            .await
            .unwrap();
        let report = audit.verify().await.unwrap();
        let (seq, why) = report.broken.expect("broken");
        assert_eq!(seq, 4, "{why}");
        // A row removed from the middle.
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&h.store.pool)
            .await
            .unwrap();
        let (seq, why) = audit.verify().await.unwrap().broken.expect("broken");
        assert_eq!(seq, 2, "{why}");
    })
    .await;
}

#[tokio::test]
async fn nas_request_counts_of_every_node_add_up_per_hour() {
    use crate::store::nas::RequestStats;
    both(|h| async move {
        let nas = h.store.nas();
        let hour: i64 = 1_800_000_000_000; // a whole hour
        let s = |requests, with_ma, last_ms| RequestStats {
            requests,
            with_ma,
            last_ms,
        };
        // Two nodes report the same hour; an older hour and another NAS.
        nas.add_request_stats("ap-1", hour, s(10, 10, hour + 5))
            .await
            .unwrap();
        nas.add_request_stats("ap-1", hour, s(30, 10, hour + 9))
            .await
            .unwrap();
        nas.add_request_stats("ap-1", hour - 3_600_000, s(5, 0, hour - 1))
            .await
            .unwrap();
        nas.add_request_stats("legacy", hour, s(4, 0, hour + 2))
            .await
            .unwrap();
        let now = nas.request_stats_since(hour).await.unwrap();
        assert_eq!(now["ap-1"], s(40, 20, hour + 9));
        assert_eq!(now["ap-1"].share(), Some(50.0));
        assert_eq!(now["legacy"].share(), Some(0.0));
        let day = nas.request_stats_since(hour - 3_600_000).await.unwrap();
        assert_eq!(day["ap-1"].requests, 45);
        assert_eq!(nas.prune_request_stats(hour).await.unwrap(), 1);
        assert_eq!(RequestStats::default().share(), None);
    })
    .await;
}
