//! `portico user` and `portico group`: staff accounts and their groups' reply policy.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::*;

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user; the password is read from standard input.
    Add {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        /// Group membership (repeat for several).
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Do not keep the NT hash (MS-CHAPv2/PEAP will not work for this user).
        #[arg(long)]
        no_nt_hash: bool,
        /// Account expiry, YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Set a new password, read from standard input.
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        no_nt_hash: bool,
    },
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Lift a lock after too many wrong passwords (portal and dashboard).
    Unlock {
        username: String,
    },
    Remove {
        username: String,
    },
    /// Replace the user's groups.
    SetGroups {
        username: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Set the mobile number apps may read with consent (`phone`
    /// scope); without PHONE, remove it.
    SetPhone {
        username: String,
        phone: Option<String>,
    },
    /// Enrol an authenticator for apps that require two-step sign-in
    /// (prints the key once); with --remove, take it away.
    Totp {
        username: String,
        #[arg(long)]
        remove: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Import users from CSV: header row, columns username,password and
    /// optionally groups (`;`-separated) and display_name. A file with any
    /// bad row imports nothing.
    Import {
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct GroupPolicy {
    /// VLAN id or name (Tunnel-Private-Group-Id).
    #[arg(long)]
    vlan: Option<String>,
    /// Session-Timeout in seconds.
    #[arg(long)]
    session_timeout: Option<u32>,
    /// Idle-Timeout in seconds.
    #[arg(long)]
    idle_timeout: Option<u32>,
    #[arg(long)]
    filter_id: Option<String>,
    #[arg(long)]
    class: Option<String>,
    /// Extra reply attribute by dictionary name, e.g. Aruba-User-Role=staff (repeatable).
    #[arg(long = "reply")]
    reply: Vec<String>,
    /// Allowed methods (pap, mschapv2, chap, mac, eap); default all.
    #[arg(long = "method")]
    methods: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Create or replace a group's policy.
    Set {
        name: String,
        #[command(flatten)]
        policy: GroupPolicy,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

fn nt_hash_for(config: &Config, no_nt_hash: bool, password: &str) -> Option<[u8; 16]> {
    (config.radius.store_nt_hash && !no_nt_hash).then(|| mschap::nt_password_hash(password))
}

pub(super) async fn user_cmd(store: &Store, config: &Config, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            username,
            password_stdin,
            groups,
            display_name,
            no_nt_hash,
            valid_until,
        } => {
            let username = validate_username(&username)
                .map_err(anyhow::Error::msg)?
                .to_string();
            let (password_hash, nt_hash) = if password_stdin {
                let pw = read_secret_line("password")?;
                credentials::check_new_password(&pw)?;
                let nt = nt_hash_for(config, no_nt_hash, &pw);
                (Some(hash_blocking(pw).await?), nt)
            } else {
                (None, None)
            };
            let valid_until = valid_until.as_deref().map(parse_date).transpose()?;
            store
                .users()
                .add(&NewUser {
                    username: username.clone(),
                    display_name,
                    password_hash,
                    nt_hash,
                    groups,
                    valid_until,
                })
                .await
                .map_err(conflict_context)?;
            println!("added user {username}");
        }
        UserCmd::Passwd {
            username,
            password_stdin,
            no_nt_hash,
        } => {
            if !password_stdin {
                bail!("give the new password on standard input with --password-stdin");
            }
            let pw = read_secret_line("password")?;
            credentials::check_new_password(&pw)?;
            let nt = nt_hash_for(config, no_nt_hash, &pw);
            let hash = hash_blocking(pw).await?;
            store.users().set_password(&username, &hash, nt).await?;
            println!("password changed for {username}");
        }
        UserCmd::Disable { username } => {
            store.users().set_enabled(&username, false).await?;
            println!("disabled {username}");
        }
        UserCmd::Enable { username } => {
            store.users().set_enabled(&username, true).await?;
            println!("enabled {username}");
        }
        UserCmd::Unlock { username } => {
            if store.lockouts().unlock(&username).await? {
                println!("unlocked {username}");
            } else {
                println!("{username} had no wrong passwords on record");
            }
        }
        UserCmd::Remove { username } => {
            if !store.users().remove(&username).await? {
                bail!("no user {username}");
            }
            println!("removed {username}");
        }
        UserCmd::SetGroups { username, groups } => {
            store.users().set_groups(&username, &groups).await?;
            println!("{username}: groups {}", groups.join(", "));
        }
        UserCmd::SetPhone { username, phone } => {
            // Stored in E.164 (the `phone_number` claim's form).
            let phone = match phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                None => None,
                Some(p) => match crate::portal::sms::normalize_phone(p) {
                    Some(n) if n.starts_with('+') => Some(n),
                    Some(n) => Some(format!("+86{n}")),
                    None => bail!("phone {p:?}: a mainland mobile number or +country number"),
                },
            };
            store.users().set_phone(&username, phone.as_deref()).await?;
            match phone {
                Some(p) => println!("{username}: phone {p}"),
                None => println!("{username}: phone removed"),
            }
        }
        UserCmd::Totp { username, remove } => {
            if remove {
                store.users().set_totp(&username, None).await?;
                println!("{username}: authenticator removed");
            } else {
                let secret = crate::admin::totp::new_secret();
                store.users().set_totp(&username, Some(&secret)).await?;
                println!(
                    "authenticator key for {username} (shown once): {}",
                    crate::admin::totp::secret_base32(&secret)
                );
                println!(
                    "{}",
                    crate::admin::totp::otpauth_uri(&secret, "Portico", &username)
                );
            }
        }
        UserCmd::List { json } => {
            let users = store.users().list().await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "username": u.username,
                            "display_name": u.display_name,
                            "enabled": u.enabled,
                            "groups": u.groups,
                            "valid_until": u.valid_until.map(fmt_ms),
                            "has_password": u.password_hash.is_some(),
                            "has_nt_hash": u.nt_hash.is_some(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<24} {:<8} {:<8} {:<24} VALID-UNTIL",
                    "USERNAME", "ENABLED", "NT-HASH", "GROUPS"
                );
                for u in users {
                    println!(
                        "{:<24} {:<8} {:<8} {:<24} {}",
                        u.username,
                        if u.enabled { "yes" } else { "no" },
                        if u.nt_hash.is_some() { "yes" } else { "no" },
                        u.groups.join(";"),
                        fmt_opt_ms(u.valid_until)
                    );
                }
            }
        }
        UserCmd::Import { file } => import_users(store, config, &file).await?,
    }
    Ok(())
}

async fn import_users(store: &Store, config: &Config, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    match crate::admin::import::import_users(store, config.radius.store_nt_hash, &text).await {
        Ok(n) => {
            println!("imported {n} users");
            Ok(())
        }
        Err(crate::admin::import::ImportError::Lines(lines)) => {
            for e in &lines {
                eprintln!("{}: {e}", file.display());
            }
            bail!("{} error(s); nothing imported", lines.len())
        }
        Err(e) => Err(e.into()),
    }
}

fn parse_reply_pairs(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("--reply {p:?}: expected ATTRIBUTE=VALUE"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

pub(super) async fn group_cmd(store: &Store, cmd: GroupCmd) -> Result<()> {
    match cmd {
        GroupCmd::Set { name, policy } => {
            let methods: Vec<String> = policy
                .methods
                .iter()
                .map(|m| m.to_ascii_lowercase())
                .collect();
            for m in &methods {
                if !["pap", "chap", "mschapv2", "mac", "eap"].contains(&m.as_str()) {
                    bail!("unknown method {m:?} (pap, chap, mschapv2, mac, eap)");
                }
            }
            let group = Group {
                name: name.clone(),
                vlan: policy.vlan,
                session_timeout: policy.session_timeout,
                idle_timeout: policy.idle_timeout,
                filter_id: policy.filter_id,
                class: policy.class,
                reply_attributes: parse_reply_pairs(&policy.reply)?,
                allowed_methods: methods,
            };
            store.groups().upsert(&group).await?;
            println!("group {name} saved");
        }
        GroupCmd::List { json } => {
            let groups = store.groups().list().await?;
            if json {
                let rows: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "name": g.name, "vlan": g.vlan, "session_timeout": g.session_timeout,
                            "idle_timeout": g.idle_timeout, "filter_id": g.filter_id, "class": g.class,
                            "reply": g.reply_attributes, "methods": g.allowed_methods,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<20} {:<8} {:<10} {:<10} {:<16} CLASS",
                    "GROUP", "VLAN", "SESSION", "IDLE", "FILTER-ID"
                );
                for g in groups {
                    println!(
                        "{:<20} {:<8} {:<10} {:<10} {:<16} {}",
                        g.name,
                        g.vlan.unwrap_or_default(),
                        g.session_timeout.map(|t| t.to_string()).unwrap_or_default(),
                        g.idle_timeout.map(|t| t.to_string()).unwrap_or_default(),
                        g.filter_id.unwrap_or_default(),
                        g.class.unwrap_or_default()
                    );
                }
            }
        }
        GroupCmd::Remove { name } => {
            if !store.groups().remove(&name).await? {
                bail!("no group {name}");
            }
            println!("removed group {name}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::admin::import::parse_user_csv;
    use crate::cli::parse_date;

    #[test]
    fn csv_good_file() {
        let rows = parse_user_csv(
            "username,password,groups,display_name\nalice,pw1,staff;wifi,Alice Li\nbob,pw2,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].groups, vec!["staff", "wifi"]);
        assert_eq!(rows[0].display_name.as_deref(), Some("Alice Li"));
        assert_eq!(rows[1].groups, Vec::<String>::new());
    }

    #[test]
    fn csv_bad_rows_named_by_line() {
        let errs =
            parse_user_csv("username,password\nalice,pw\n,nopw\nalice,again\nbob,\n").unwrap_err();
        let all = errs.join("\n");
        assert!(all.contains("line 3"), "{all}");
        assert!(all.contains("line 4") && all.contains("twice"), "{all}");
        assert!(all.contains("line 5"), "{all}");
        assert!(!all.contains("line 2"), "{all}");
    }

    #[test]
    fn csv_bad_header_and_ragged_rows() {
        assert!(parse_user_csv("user,pass\na,b\n").is_err());
        assert!(parse_user_csv("username,password,shoe\na,b,c\n").unwrap_err()[0].contains("shoe"));
        assert!(parse_user_csv("username,password\na,b,c\n").is_err());
        assert!(parse_user_csv("").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_date("yesterday").is_err());
    }
}
