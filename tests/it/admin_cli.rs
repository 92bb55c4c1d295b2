//! `portico admin` and `portico audit` against the real binary: accounts,
//! tokens, the audit rows every CLI change leaves, tamper detection, and
//! the copy sent to a syslog collector.

use std::net::UdpSocket;
use std::time::Duration;

use crate::helpers::{backends, Db, TestEnv};

fn export(env: &TestEnv) -> Vec<csv::StringRecord> {
    let out = env.cli_ok(&["audit", "export"], None);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    r.records().map(|r| r.expect("csv row")).collect()
}

#[test]
fn admin_accounts_tokens_and_their_audit_rows() {
    for db in backends() {
        let mut env = TestEnv::new(&db);
        env.set("USER", "opsuser");
        let weak = env.cli(
            &[
                "admin",
                "add",
                "helpdesk",
                "--role",
                "operator",
                "--password-stdin",
            ],
            Some("short\n"),
        );
        assert!(!weak.status.success());
        assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12"));
        let all_rights = env.cli(
            &[
                "admin",
                "add",
                "root2",
                "--role",
                "admin",
                "--password-stdin",
            ],
            Some("Long-enough-Pass-1\n"),
        );
        assert!(
            !all_rights.status.success(),
            "admin role needs role_separation = false"
        );
        env.cli_ok(
            &[
                "admin",
                "add",
                "helpdesk",
                "--role",
                "operator",
                "--password-stdin",
            ],
            Some("Long-enough-Pass-1\n"),
        );
        let list = env.cli_ok(&["admin", "list"], None);
        assert!(
            list.contains("helpdesk") && list.contains("operator"),
            "{list}"
        );

        // A token is printed once, on stdout alone.
        let token = env.cli_ok(
            &[
                "admin",
                "token",
                "create",
                "--admin",
                "helpdesk",
                "--name",
                "ci",
                "--expires",
                "90d",
            ],
            None,
        );
        let token = token.trim();
        assert!(token.starts_with("pat_") && token.len() == 68, "{token}");
        let tokens = env.cli_ok(&["admin", "token", "list", "--json"], None);
        assert!(
            tokens.contains("\"ci\"") && !tokens.contains(token),
            "{tokens}"
        );
        env.cli_ok(
            &[
                "admin", "token", "revoke", "--admin", "helpdesk", "--name", "ci",
            ],
            None,
        );
        env.cli_ok(&["admin", "disable", "helpdesk"], None);
        env.cli_ok(&["admin", "enable", "helpdesk"], None);
        env.cli_ok(&["admin", "reset-totp", "helpdesk"], None);
        env.cli_ok(
            &["admin", "passwd", "helpdesk", "--password-stdin"],
            Some("Another-Long-Pass-2\n"),
        );
        // A change outside `admin` is audited too; a failed one as failed.
        env.add_user("alice", "pw-alice-1", &["staff"]);
        let _ = env.cli(&["user", "remove", "nobody-here"], None);

        let rows = export(&env);
        let actions: Vec<(&str, &str, &str, &str)> =
            rows.iter().map(|r| (&r[2], &r[5], &r[6], &r[7])).collect();
        for expected in [
            ("opsuser", "admin.create", "helpdesk", "ok"),
            ("opsuser", "token.create", "helpdesk/ci", "ok"),
            ("opsuser", "token.revoke", "helpdesk/ci", "ok"),
            ("opsuser", "admin.disable", "helpdesk", "ok"),
            ("opsuser", "admin.enable", "helpdesk", "ok"),
            ("opsuser", "admin.reset-totp", "helpdesk", "ok"),
            ("opsuser", "admin.passwd", "helpdesk", "ok"),
            ("opsuser", "user.add", "alice", "ok"),
        ] {
            assert!(
                actions.contains(&expected),
                "{expected:?} not in {actions:?}"
            );
        }
        assert!(
            actions.iter().any(|a| a.1 == "user.remove" && a.3 != "ok"),
            "{actions:?}"
        );
        for r in &rows {
            assert_eq!(&r[3], "cli");
            assert!(
                !r[8].contains("Long-enough") && !r[8].contains("pw-alice"),
                "no secrets: {}",
                &r[8]
            );
        }
        let verify = env.cli_ok(&["audit", "verify"], None);
        assert!(verify.contains("audit trail intact"), "{verify}");
        eprintln!("{}: ok", db.name());
    }
}

/// Rewrite one row behind Portico's back (dropping the guard trigger, as
/// someone with database rights could): `audit verify` fails and names it.
#[test]
fn audit_verify_names_a_tampered_row() {
    for db in backends() {
        let env = TestEnv::new(&db);
        for name in ["u1", "u2", "u3", "u4"] {
            env.add_user(name, "pw-user-123", &["staff"]);
        }
        assert!(env.cli_ok(&["audit", "verify"], None).contains("intact"));
        let rows = export(&env);
        let victim = rows.iter().find(|r| &r[6] == "u2").expect("row of u2")[0].to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            match &db {
                Db::Sqlite => {
                    let path = env.dir.path().join("data/portico.db");
                    let mut c =
                        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                            .await
                            .unwrap();
                    sqlx::query("DROP TRIGGER audit_log_no_update")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    sqlx::query("UPDATE audit_log SET target = 'someone-else' WHERE seq = ?")
                        .bind(victim.parse::<i64>().unwrap())
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
                Db::Postgres(url) => {
                    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                    sqlx::query("DROP TRIGGER audit_log_guard ON audit_log")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    sqlx::query("UPDATE audit_log SET target = 'someone-else' WHERE seq = $1")
                        .bind(victim.parse::<i64>().unwrap())
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
            }
        });
        let out = env.cli(&["audit", "verify"], None);
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("BROKEN at row {victim}")),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn audit_rows_reach_a_syslog_collector() {
    let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut env = TestEnv::new(&Db::Sqlite);
    env.set("USER", "opsuser");
    env.set(
        "PORTICO_ADMIN__AUDIT_SYSLOG",
        &format!("udp://{}", collector.local_addr().unwrap()),
    );
    env.add_user("bob", "pw-bob-1234", &["staff"]);
    let mut buf = [0u8; 4096];
    let n = collector.recv(&mut buf).expect("a syslog datagram");
    let msg = String::from_utf8_lossy(&buf[..n]);
    assert!(msg.starts_with("<85>1 "), "{msg}");
    assert!(msg.contains(" portico ") && msg.contains(" user.add [audit@32473 seq=\"1\" actor=\"opsuser\" role=\"cli\" origin=\"cli\" action=\"user.add\" target=\"bob\" outcome=\"ok\""), "{msg}");
}
