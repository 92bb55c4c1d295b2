//! `portico oidc ...`: the OpenID Connect provider's clients and keys;
//! `portico room ...`: the rooms presence answers for.

use anyhow::{bail, Result};
use clap::Subcommand;

use super::read_stdin_lines;
use crate::sso::{self, ClientSpec};
use crate::store::Store;

/// Rooms for Wi-Fi presence (meeting check-in).
#[derive(Subcommand, Debug)]
pub enum RoomCmd {
    /// Name the room the given APs serve (comma-separated AP names).
    Add {
        name: String,
        #[arg(long, value_delimiter = ',', required = true)]
        aps: Vec<String>,
    },
    /// Rooms and their APs: set by hand, and coverage rooms with APs inside.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Take every AP out of a room set by hand.
    Remove { name: String },
}

pub async fn room_cmd(store: &Store, cmd: RoomCmd) -> Result<()> {
    match cmd {
        RoomCmd::Add { name, aps } => {
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 64 || name.contains('/') {
                bail!("room name: 1 to 64 characters, no '/'");
            }
            let aps: Vec<String> = aps
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            let n = store.presence().set_room(&name, &aps).await?;
            println!("room {name}: {n} AP(s) ({})", aps.join(", "));
        }
        RoomCmd::List { json } => {
            let rooms = sso::presence::rooms(store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let list: Vec<_> = rooms.values().collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in rooms.values() {
                    println!("{}\t{}", r.name, r.aps.join(","));
                }
            }
        }
        RoomCmd::Remove { name } => {
            let n = store.presence().clear_room(&name).await?;
            if n == 0 {
                bail!("no AP is in room {name}");
            }
            println!("room {name} removed from {n} AP(s)");
        }
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum OidcCmd {
    /// Relying parties: the building's apps.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Add a new signing key; the old ones stay in the JWKS for sso.key_grace.
    RotateKeys,
}

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// Register an app. A confidential client's secret is printed once
    /// (or read from standard input with --secret-stdin).
    Add {
        name: String,
        /// Exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE required).
        #[arg(long)]
        public: bool,
        /// Scopes it may ask for (repeatable; default openid profile).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Staff sign in with password and TOTP for this app.
        #[arg(long)]
        require_2fa: bool,
        /// A device signed in at the portal is signed in here too.
        #[arg(long)]
        allow_portal_session: bool,
        /// Where the app may send people after logout (exact; repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// ID token signature: ES256 (default) or RS256.
        #[arg(long, default_value = "ES256")]
        id_token_alg: String,
        /// Where the app is told, server to server, that a person signed
        /// out or their account was disabled or removed (Back-Channel
        /// Logout 1.0).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Change an app in place (its secret, tokens and consents stay;
    /// taking a scope away revokes its tokens). A list given replaces the
    /// whole list.
    Set {
        name: String,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Forget every post-logout redirect URI.
        #[arg(long, conflicts_with = "post_logout_redirect_uris")]
        no_post_logout_redirect_uris: bool,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long, value_name = "true|false")]
        require_2fa: Option<bool>,
        #[arg(long, value_name = "true|false")]
        allow_portal_session: Option<bool>,
        #[arg(long)]
        id_token_alg: Option<String>,
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Stop telling the app by back channel.
        #[arg(long, conflicts_with = "backchannel_logout_uri")]
        no_backchannel_logout: bool,
    },
    /// Give a confidential app a new secret, printed once; the old one
    /// stops working at once.
    RotateSecret {
        name: String,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

/// Repeatable `--scope` values, each possibly several words.
fn scope_words(scopes: &[String]) -> Vec<String> {
    scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_string)
        .collect()
}

pub async fn oidc_cmd(store: &Store, cmd: OidcCmd) -> Result<()> {
    match cmd {
        OidcCmd::RotateKeys => {
            let kids = sso::rotate_keys(store, crate::clock::now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for kid in kids {
                println!(
                    "new signing key {kid}; the previous keys stay published for sso.key_grace"
                );
            }
        }
        OidcCmd::Client(ClientCmd::Add {
            name,
            redirect_uris,
            public,
            scopes,
            require_2fa,
            allow_portal_session,
            post_logout_redirect_uris,
            id_token_alg,
            backchannel_logout_uri,
            secret_stdin,
        }) => {
            let secret = if secret_stdin {
                if public {
                    bail!("a public client has no secret");
                }
                read_stdin_lines(1, "client secret")?.into_iter().next()
            } else {
                None
            };
            let spec = ClientSpec {
                name,
                redirect_uris,
                public,
                scopes: scope_words(&scopes),
                require_2fa,
                allow_portal_session,
                post_logout_redirect_uris,
                id_token_alg,
                backchannel_logout_uri,
                secret,
            };
            let (client, secret) = sso::add_client(store, &spec)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "client {} added ({}, scopes {})",
                client.name,
                if client.public {
                    "public"
                } else {
                    "confidential"
                },
                client.scopes.join(" ")
            );
            if let Some(secret) = secret {
                println!("client secret (shown once): {secret}");
            }
        }
        OidcCmd::Client(ClientCmd::List { json }) => {
            let all = store.oidc().clients().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                println!(
                    "{:<20} {:<12} {:<28} {:<5} {:<7} {:<6} {:<11} REDIRECT URIS",
                    "NAME", "TYPE", "SCOPES", "2FA", "PORTAL", "ALG", "BACKCHANNEL"
                );
                for c in all {
                    println!(
                        "{:<20} {:<12} {:<28} {:<5} {:<7} {:<6} {:<11} {}",
                        c.name,
                        if c.public { "public" } else { "confidential" },
                        c.scopes.join(" "),
                        if c.require_2fa { "yes" } else { "no" },
                        if c.allow_portal_session { "yes" } else { "no" },
                        c.id_token_alg,
                        if c.backchannel_logout_uri.is_some() {
                            "yes"
                        } else {
                            "no"
                        },
                        c.redirect_uris.join(" ")
                    );
                }
            }
        }
        OidcCmd::Client(ClientCmd::Set {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            no_post_logout_redirect_uris,
            scopes,
            require_2fa,
            allow_portal_session,
            id_token_alg,
            backchannel_logout_uri,
            no_backchannel_logout,
        }) => {
            let listed = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let change = sso::ClientChange {
                redirect_uris: listed(redirect_uris),
                post_logout_redirect_uris: if no_post_logout_redirect_uris {
                    Some(Vec::new())
                } else {
                    listed(post_logout_redirect_uris)
                },
                scopes: listed(scope_words(&scopes)),
                require_2fa,
                allow_portal_session,
                id_token_alg,
                backchannel_logout_uri: if no_backchannel_logout {
                    Some(None)
                } else {
                    backchannel_logout_uri.map(Some)
                },
            };
            let (client, revoked) = sso::change_client(store, &name, &change)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "client {} changed (scopes {})",
                client.name,
                client.scopes.join(" ")
            );
            if revoked > 0 {
                println!(
                    "{revoked} tokens revoked: the change took something away (people sign in to the app again)"
                );
            }
        }
        OidcCmd::Client(ClientCmd::RotateSecret { name }) => {
            let (secret, revoked) = sso::rotate_secret(store, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("client secret (shown once): {secret}");
            if revoked > 0 {
                println!("{revoked} service tokens made with the old secret revoked");
            }
        }
        OidcCmd::Client(ClientCmd::Remove { name }) => {
            if !store.oidc().remove_client(&name).await? {
                bail!("no client {name}");
            }
            println!("client {name} removed");
        }
    }
    Ok(())
}
