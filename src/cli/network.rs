//! `portico nas` and `portico device`: RADIUS clients and registered devices.

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use super::*;

#[derive(Subcommand, Debug)]
pub enum NasCmd {
    /// Add a NAS; the shared secret is read from standard input.
    Add {
        name: String,
        /// IP address or CIDR the NAS sends from.
        #[arg(long)]
        address: String,
        #[arg(long)]
        secret_stdin: bool,
        /// Vendor profile from ap-profiles/.
        #[arg(long, default_value = "generic")]
        profile: String,
        #[arg(long, default_value_t = 3799)]
        coa_port: u16,
        /// Accept Access-Requests without Message-Authenticator from this
        /// NAS (old firmware only; weakens protection against CVE-2024-3596).
        #[arg(long)]
        legacy_no_message_authenticator: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    Add {
        mac: String,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        mac: String,
    },
}

pub(super) async fn nas_cmd(store: &Store, config: &Config, cmd: NasCmd) -> Result<()> {
    match cmd {
        NasCmd::Add {
            name,
            address,
            secret_stdin,
            profile,
            coa_port,
            legacy_no_message_authenticator,
        } => {
            if !secret_stdin {
                bail!("give the shared secret on standard input with --secret-stdin");
            }
            let address: ipnet::IpNet = address
                .parse()
                .or_else(|_| address.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("--address {address:?} is not an IP address or CIDR"))?;
            let profiles = app::load_profiles(config).map_err(|e| anyhow::anyhow!("{e}"))?;
            if profiles.get(&profile).is_none() {
                bail!(
                    "unknown profile {profile:?}; known: {}",
                    profiles.names().join(", ")
                );
            }
            let secret = read_secret_line("shared secret")?;
            if secret.len() < 8 {
                eprintln!("warning: a shared secret shorter than 8 characters is easy to guess");
            }
            store
                .nas()
                .add(&NewNas {
                    name: name.clone(),
                    address,
                    secret,
                    profile,
                    coa_port,
                    require_message_authenticator: !legacy_no_message_authenticator,
                })
                .await
                .map_err(conflict_context)?;
            println!("added NAS {name} ({address})");
        }
        NasCmd::List { json } => {
            let list = store.nas().list().await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|n| {
                        serde_json::json!({
                            "name": n.name, "address": n.address.to_string(), "profile": n.profile,
                            "coa_port": n.coa_port,
                            "require_message_authenticator": n.require_message_authenticator,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<20} {:<20} {:<14} {:<8} MSG-AUTH",
                    "NAS", "ADDRESS", "PROFILE", "COA"
                );
                for n in list {
                    println!(
                        "{:<20} {:<20} {:<14} {:<8} {}",
                        n.name,
                        n.address.to_string(),
                        n.profile,
                        n.coa_port,
                        if n.require_message_authenticator {
                            "required"
                        } else {
                            "legacy"
                        }
                    );
                }
            }
        }
        NasCmd::Remove { name } => {
            if !store.nas().remove(&name).await? {
                bail!("no NAS {name}");
            }
            println!("removed NAS {name}");
        }
    }
    Ok(())
}

pub(super) async fn device_cmd(store: &Store, cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::Add {
            mac,
            owner,
            description,
            groups,
        } => {
            let mac = MacAddr::parse(&mac)?;
            store
                .devices()
                .add(&Device {
                    mac,
                    owner,
                    description,
                    groups,
                    created_at: now_ms(),
                })
                .await
                .map_err(conflict_context)?;
            println!("registered {mac}");
        }
        DeviceCmd::List { json } => {
            let list = store.devices().list().await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|d| serde_json::json!({"mac": d.mac.to_string(), "owner": d.owner, "description": d.description, "groups": d.groups}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<18} {:<20} {:<20} DESCRIPTION", "MAC", "OWNER", "GROUPS");
                for d in list {
                    println!(
                        "{:<18} {:<20} {:<20} {}",
                        d.mac.to_string(),
                        d.owner.unwrap_or_default(),
                        d.groups.join(";"),
                        d.description.unwrap_or_default()
                    );
                }
            }
        }
        DeviceCmd::Remove { mac } => {
            let mac = MacAddr::parse(&mac)?;
            if !store.devices().remove(mac).await? {
                bail!("no device {mac}");
            }
            println!("removed {mac}");
        }
    }
    Ok(())
}
