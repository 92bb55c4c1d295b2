//! `portico admin` (administrator accounts and API tokens) and `portico
//! audit` (verify and export the audit trail). Passwords come on standard
//! input; tokens are printed once.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::json;

use super::{csv_writer, parse_date, read_secret_line};
use crate::admin::accounts::Accounts;
use crate::admin::audit::{Actor, Auditor};
use crate::clock::now_ms;
use crate::config::Config;
use crate::domain::AdminRole;
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// Add an administrator; the first password is read from standard input
    /// and must be changed at the first sign-in.
    Add {
        name: String,
        /// system, security, audit or operator (admin only without role
        /// separation).
        #[arg(long)]
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a password (read from standard input); it must be changed at
    /// the next sign-in, and the account's sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove the TOTP enrolment: the next sign-in enrols a new app.
    ResetTotp {
        name: String,
    },
    /// Change the role (ends the account's sessions).
    SetRole {
        name: String,
        #[arg(long)]
        role: String,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    /// Lift a lock after too many wrong passwords.
    Unlock {
        name: String,
    },
    /// API tokens (Authorization: Bearer), carrying their admin's role.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a token and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        admin: String,
        #[arg(long)]
        name: String,
        /// Lifetime, e.g. 90d or 12h; none: until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    List {
        #[arg(long)]
        admin: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Revoke {
        #[arg(long)]
        admin: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check the chain of the audit trail; names the first broken row and
    /// exits with status 1 if there is one.
    Verify,
    /// Audit rows as CSV (oldest first).
    Export {
        /// YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

fn role_arg(s: &str) -> Result<AdminRole> {
    AdminRole::parse(s).map_err(anyhow::Error::msg)
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

pub async fn admin_cmd(
    store: &Store,
    config: &Config,
    auditor: &Auditor,
    cmd: AdminCmd,
) -> Result<()> {
    let accounts = Accounts::new(store.clone(), auditor.clone(), config.admin.role_separation);
    let actor = Actor::cli();
    match cmd {
        AdminCmd::Add {
            name,
            role,
            password_stdin,
        } => {
            if !password_stdin {
                bail!("give the first password on standard input with --password-stdin");
            }
            let role = role_arg(&role)?;
            let pw = read_secret_line("password")?;
            accounts.add(&actor, &name, role, &pw).await?;
            println!("added administrator {name} ({role}); the password must be changed at the first sign-in");
        }
        AdminCmd::List { json } => {
            let admins = store.admins().list().await?;
            if json {
                let list: Vec<_> = admins
                    .iter()
                    .map(|a| {
                        json!({
                            "username": a.username,
                            "role": a.role.as_str(),
                            "display_name": a.display_name,
                            "totp_enrolled": a.totp_secret.is_some(),
                            "must_change_password": a.must_change_password,
                            "disabled": a.disabled,
                            "created_at": a.created_at,
                            "last_sign_in_at": a.last_sign_in_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "{:<20} {:<9} {:<5} {:<8} {:<8} last sign-in",
                    "name", "role", "totp", "state", "password"
                )?;
                for a in admins {
                    writeln!(
                        out,
                        "{:<20} {:<9} {:<5} {:<8} {:<8} {}",
                        a.username,
                        a.role.as_str(),
                        if a.totp_secret.is_some() { "yes" } else { "no" },
                        if a.disabled { "disabled" } else { "enabled" },
                        if a.must_change_password {
                            "change"
                        } else {
                            "set"
                        },
                        when(a.last_sign_in_at),
                    )?;
                }
            }
        }
        AdminCmd::Passwd {
            name,
            password_stdin,
        } => {
            if !password_stdin {
                bail!("give the password on standard input with --password-stdin");
            }
            let pw = read_secret_line("password")?;
            accounts.set_password(&actor, &name, &pw, true).await?;
            println!("password of {name} set; it must be changed at the next sign-in");
        }
        AdminCmd::ResetTotp { name } => {
            accounts.reset_totp(&actor, &name).await?;
            println!("TOTP of {name} removed; the next sign-in enrols a new app");
        }
        AdminCmd::SetRole { name, role } => {
            let role = role_arg(&role)?;
            accounts.set_role(&actor, &name, role).await?;
            println!("{name} is now {role}");
        }
        AdminCmd::Disable { name } => {
            accounts.set_disabled(&actor, &name, true).await?;
            println!("disabled {name}");
        }
        AdminCmd::Enable { name } => {
            accounts.set_disabled(&actor, &name, false).await?;
            println!("enabled {name}");
        }
        AdminCmd::Unlock { name } => {
            let key = crate::admin::lockout_key(&name);
            let lifted = store.lockouts().unlock(&key).await?;
            auditor
                .record(
                    &actor,
                    "admin.unlock",
                    &name,
                    crate::admin::audit::Outcome::Ok,
                    json!({"was_locked": lifted}),
                )
                .await?;
            println!(
                "{name}: {}",
                if lifted {
                    "lock lifted"
                } else {
                    "was not locked"
                }
            );
        }
        AdminCmd::Token(cmd) => token_cmd(store, &accounts, &actor, cmd).await?,
    }
    Ok(())
}

async fn token_cmd(store: &Store, accounts: &Accounts, actor: &Actor, cmd: TokenCmd) -> Result<()> {
    match cmd {
        TokenCmd::Create {
            admin,
            name,
            expires,
        } => {
            let now = now_ms();
            let expires_at = match expires {
                Some(e) => {
                    let d = humantime::parse_duration(&e)
                        .with_context(|| format!("--expires {e:?} is not a duration (e.g. 90d)"))?;
                    Some(now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
                }
                None => None,
            };
            let (token, _) = accounts
                .create_token(actor, &admin, &name, now, expires_at)
                .await?;
            println!("{token}");
            eprintln!(
                "token {name} of {admin} created{}; shown once, store it now",
                expires_at
                    .map(|t| format!(", valid until {}", when(Some(t))))
                    .unwrap_or_default()
            );
        }
        TokenCmd::List { admin, json } => {
            let tokens = store.admin_sessions().tokens(admin.as_deref()).await?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({
                            "admin": t.username, "name": t.name, "created_at": t.created_at,
                            "expires_at": t.expires_at, "last_used_at": t.last_used_at,
                            "revoked_at": t.revoked_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "{:<16} {:<20} {:<16} {:<16} {:<16} state",
                    "admin", "name", "created", "expires", "last used"
                )?;
                for t in tokens {
                    writeln!(
                        out,
                        "{:<16} {:<20} {:<16} {:<16} {:<16} {}",
                        t.username,
                        t.name,
                        when(Some(t.created_at)),
                        when(t.expires_at),
                        when(t.last_used_at),
                        if t.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "live"
                        }
                    )?;
                }
            }
        }
        TokenCmd::Revoke { admin, name } => {
            accounts
                .revoke_token(actor, &admin, &name, now_ms())
                .await?;
            println!("revoked token {name} of {admin}");
        }
    }
    Ok(())
}

/// Exit status 1 (after printing) when the chain is broken.
pub async fn audit_cmd(store: &Store, cmd: AuditCmd) -> Result<()> {
    match cmd {
        AuditCmd::Verify => {
            let report = store.audit().verify().await?;
            match report.broken {
                None => {
                    println!(
                        "audit trail intact: {} rows{}",
                        report.rows,
                        match (report.first_seq, report.last_seq) {
                            (Some(a), Some(b)) => format!(" ({a} to {b})"),
                            _ => String::new(),
                        }
                    );
                }
                Some((seq, why)) => {
                    println!("audit trail BROKEN at row {seq}: {why}");
                    bail!("audit trail broken at row {seq}");
                }
            }
        }
        AuditCmd::Export { since, output } => {
            let since_ms = since
                .as_deref()
                .map(parse_date)
                .transpose()?
                .unwrap_or(i64::MIN);
            let mut w = csv_writer(output.as_deref())?;
            w.write_record([
                "seq",
                "time",
                "actor",
                "role",
                "origin",
                "action",
                "target",
                "outcome",
                "summary",
                "prev_hash",
                "hash",
            ])?;
            let mut after = 0;
            loop {
                let rows = store.audit().page(after, since_ms, 5_000).await?;
                let Some(last) = rows.last() else { break };
                after = last.seq;
                for r in &rows {
                    let time = chrono::DateTime::from_timestamp_millis(r.at_ms)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    w.write_record([
                        r.seq.to_string().as_str(),
                        &time,
                        &r.actor,
                        &r.role,
                        &r.origin,
                        &r.action,
                        &r.target,
                        &r.outcome,
                        &r.summary,
                        &r.prev_hash,
                        &r.hash,
                    ])?;
                }
            }
            w.flush()?;
        }
    }
    Ok(())
}
