//! An independent relying party against the provider: authlib (PyPI), in
//! the virtualenv `.ci/run` makes, runs tests/oidc/authlib_rp.py —
//! discovery, the code flow with PKCE through the sign-in and consent
//! pages, the ID token verified by authlib against the published keys,
//! userinfo, refresh rotation with family revocation on reuse, and
//! RP-initiated logout — once as a confidential client (client_secret_basic,
//! a scope needing consent) and once as a public one, on both backends.

use std::path::Path;
use std::process::Command;

use crate::helpers::{in_ci, on_each_backend, repo_path, Db};
use crate::sso_flow::{client_secret, provider_env};

const USER: &str = "zhang";
const PASSWORD: &str = "Zhang-pass-2026";
const RP: &str = "http://127.0.0.1:9/cb";
const BYE: &str = "http://127.0.0.1:9/bye";

/// A Python with authlib and requests: `PORTICO_AUTHLIB_PYTHON`, or the
/// virtualenv under target/ that `.ci/run` makes.
fn authlib_python() -> Option<String> {
    let python = match std::env::var("PORTICO_AUTHLIB_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let venv = repo_path("target/authlib-venv/bin/python");
            if !venv.exists() {
                return None;
            }
            venv.display().to_string()
        }
    };
    let usable = Command::new(&python)
        .args(["-c", "import authlib, requests"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    usable.then_some(python)
}

#[test]
fn authlib_client_runs_the_code_flow() {
    let Some(python) = authlib_python() else {
        assert!(
            !in_ci(),
            "authlib is required in CI (.ci/run installs it in target/authlib-venv)"
        );
        eprintln!("skipping: authlib not installed (run .ci/run, or set PORTICO_AUTHLIB_PYTHON)");
        return;
    };
    on_each_backend(|db| {
        let python = python.clone();
        async move { tokio::task::block_in_place(|| run(&db, &python)) }
    });
}

fn run(db: &Db, python: &str) {
    let which = db.name();
    let (env, issuer) = provider_env(db);
    env.add_user(USER, PASSWORD, &["staff"]);
    // Confidential, asking for more than the name (so consent is shown),
    // with a logout return address; and a public one (PKCE only).
    let out = env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "meeting",
            "--redirect-uri",
            RP,
            "--scope",
            "openid profile groups",
            "--post-logout-redirect-uri",
            BYE,
        ],
        None,
    );
    let secret = client_secret(&out);
    env.cli_ok(
        &[
            "oidc",
            "client",
            "add",
            "drafting",
            "--redirect-uri",
            RP,
            "--public",
        ],
        None,
    );
    let server = env.start();
    let script = repo_path("tests/oidc/authlib_rp.py");

    let common = [
        "--issuer",
        issuer.as_str(),
        "--redirect-uri",
        RP,
        "--username",
        USER,
        "--password",
        PASSWORD,
    ];
    let mut confidential: Vec<&str> = common.to_vec();
    confidential.extend([
        "--client-id",
        "meeting",
        "--client-secret",
        secret.as_str(),
        "--scope",
        "openid profile groups",
        "--post-logout-redirect-uri",
        BYE,
    ]);
    rp(python, &script, &confidential, which, "confidential client");

    let mut public: Vec<&str> = common.to_vec();
    public.extend(["--client-id", "drafting", "--scope", "openid profile"]);
    rp(python, &script, &public, which, "public client");

    assert!(
        !server.log().contains("panicked"),
        "{which}: no panic in the server"
    );
    drop(server);
}

/// Runs the relying party; it must succeed and say so.
fn rp(python: &str, script: &Path, args: &[&str], which: &str, what: &str) {
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("run the authlib relying party");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("authlib rp: ok"),
        "{which}: authlib relying party ({what}) failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}
