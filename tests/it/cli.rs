//! The CLI as admins' scripts use it.

use crate::helpers::*;

#[test]
fn first_start_creates_admin_and_prints_listeners_once() {
    let env = TestEnv::new(&Db::Sqlite);
    let mut first = env.start();
    let names: Vec<&str> = first
        .admin_accounts
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        ["sysadmin", "secadmin", "auditadmin"],
        "separated roles by default"
    );
    for (_, pw) in &first.admin_accounts {
        assert_eq!(pw.len(), 20);
    }
    first.stop();
    let second = env.start();
    assert!(second.admin_accounts.is_empty(), "shown only once");
    assert!(env.dir.path().join("data/portico.db").exists());
    let list = env.cli_ok(&["admin", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let roles: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["username"].as_str().unwrap(), a["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("auditadmin", "audit"),
            ("secadmin", "security"),
            ("sysadmin", "system")
        ]
    );

    // Small sites: one account with every right.
    let mut single = TestEnv::new(&Db::Sqlite);
    single.set("PORTICO_ADMIN__ROLE_SEPARATION", "false");
    let server = single.start();
    let names: Vec<&str> = server
        .admin_accounts
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["admin"]);
}

#[test]
fn check_config_reports_file_line_and_key() {
    let env = TestEnv::new(&Db::Sqlite);
    let cfg = env.dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "data_dir = \"d\"\n[radius]\nauth_listen = \"127.0.0.1:0\"\nnot_a_key = 3\n",
    )
    .unwrap();
    let out = env.cli(&["--config", cfg.to_str().unwrap(), "check-config"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("line 4") && err.contains("not_a_key"),
        "{err}"
    );

    std::fs::write(&cfg, portico::config::Config::sample()).unwrap();
    let ok = env.cli_ok(&["--config", cfg.to_str().unwrap(), "check-config"], None);
    assert!(ok.contains("configuration ok"), "{ok}");

    let mut env2 = TestEnv::new(&Db::Sqlite);
    env2.set("PORTICO_RADIUS__BOGUS", "1");
    let out = env2.cli(&["check-config"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTICO_RADIUS__BOGUS"));
}

#[test]
fn user_commands_and_csv_import_all_or_nothing() {
    for db in backends() {
        let env = TestEnv::new(&db);
        env.add_user("alice", "pw-alice-1", &["staff"]);
        let dup = env.cli(&["user", "add", "alice", "--password-stdin"], Some("x\n"));
        assert!(!dup.status.success(), "duplicate must fail");
        assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

        let bad = env.dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "username,password,groups\nbob,pw1,staff\n,pw2,\ncarol,,\n",
        )
        .unwrap();
        let out = env.cli(&["user", "import", bad.to_str().unwrap()], None);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("line 3") && err.contains("line 4") && err.contains("nothing imported"),
            "{err}"
        );
        let list = env.cli_ok(&["user", "list", "--json"], None);
        assert!(!list.contains("bob"), "nothing half-imported: {list}");

        let good = env.dir.path().join("good.csv");
        std::fs::write(&good, "username,password,groups,display_name\nbob,pw-bob,staff;wifi,Bob Wang\ncarol,pw-carol,,\n").unwrap();
        let out = env.cli_ok(&["user", "import", good.to_str().unwrap()], None);
        assert!(out.contains("imported 2 users"), "{out}");
        let list: serde_json::Value =
            serde_json::from_str(&env.cli_ok(&["user", "list", "--json"], None)).unwrap();
        let bob = list
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "bob")
            .unwrap();
        assert_eq!(bob["groups"], serde_json::json!(["staff", "wifi"]));
        assert_eq!(bob["has_nt_hash"], true);

        env.cli_ok(
            &[
                "user",
                "passwd",
                "carol",
                "--password-stdin",
                "--no-nt-hash",
            ],
            Some("new-pass\n"),
        );
        let list: serde_json::Value =
            serde_json::from_str(&env.cli_ok(&["user", "list", "--json"], None)).unwrap();
        let carol = list
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "carol")
            .unwrap();
        assert_eq!(carol["has_nt_hash"], false);

        // Never from argv: the password flag takes no value.
        let out = env.cli(&["user", "add", "dan", "--password", "x"], None);
        assert!(!out.status.success());
    }
}

#[test]
fn nas_commands() {
    let env = TestEnv::new(&Db::Sqlite);
    env.cli_ok(
        &[
            "nas",
            "add",
            "ap-3f",
            "--address",
            "10.3.0.0/24",
            "--secret-stdin",
        ],
        Some("s3cret-for-3f\n"),
    );
    let list = env.cli_ok(&["nas", "list", "--json"], None);
    assert!(
        list.contains("10.3.0.0/24") && !list.contains("s3cret"),
        "{list}"
    );
    let out = env.cli(
        &[
            "nas",
            "add",
            "ap-x",
            "--address",
            "not-an-ip",
            "--secret-stdin",
        ],
        Some("abc\n"),
    );
    assert!(!out.status.success());
    let out = env.cli(
        &[
            "nas",
            "add",
            "ap-y",
            "--address",
            "10.0.0.1",
            "--profile",
            "no-such",
            "--secret-stdin",
        ],
        Some("abcdefgh\n"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile"));
    env.cli_ok(&["nas", "remove", "ap-3f"], None);
    assert!(!env.cli_ok(&["nas", "list"], None).contains("ap-3f"));
}
