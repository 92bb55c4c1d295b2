//! schemathesis (from PyPI, in the virtualenv `.ci/run` makes) against the
//! generated OpenAPI document: a bounded number of generated requests per
//! operation, and none may answer 5xx or break the documented schema.

use std::process::Command;

use crate::helpers::*;

/// The schemathesis executable: `PORTICO_SCHEMATHESIS`, or the virtualenv
/// under target/ that `.ci/run` makes.
fn schemathesis() -> Option<String> {
    if let Ok(p) = std::env::var("PORTICO_SCHEMATHESIS") {
        return Some(p);
    }
    let venv = repo_path("target/schemathesis-venv/bin/schemathesis");
    venv.exists().then(|| venv.display().to_string())
}

#[test]
fn generated_requests_get_no_server_error_and_match_the_schema() {
    let Some(bin) = schemathesis() else {
        assert!(
            std::env::var("CI").is_err(),
            "schemathesis is required in CI (.ci/run installs it in target/schemathesis-venv)"
        );
        eprintln!(
            "skipping: schemathesis not installed (run .ci/run, or set PORTICO_SCHEMATHESIS)"
        );
        return;
    };
    for db in backends() {
        let mut env = TestEnv::new(&db);
        // One account with every right: every operation is exercised.
        env.set("PORTICO_ADMIN__ROLE_SEPARATION", "false");
        let server = env.start();
        env.add_loopback_nas("lab", &[]);
        let token = env.cli_ok(
            &[
                "admin",
                "token",
                "create",
                "--admin",
                "admin",
                "--name",
                "schemathesis",
            ],
            None,
        );
        let schema = format!("http://{}/api/v1/openapi.json", server.admin);
        // schemathesis keeps a cache in its working directory: a temporary one.
        let workdir = tempfile::tempdir().expect("workdir");
        let out = Command::new(&bin)
            .current_dir(workdir.path())
            .args(["run", &schema])
            .args([
                "--header",
                &format!("Authorization: Bearer {}", token.trim()),
            ])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "25", "--seed", "42", "--workers", "1"])
            .args(["--request-timeout", "10"])
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .expect("run schemathesis");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{} schemathesis found problems:\n{text}",
            db.name()
        );
        assert!(!server.log().contains("panicked"), "no panic in the server");
    }
}
