//! `portico voucher create|list|print`: visitor voucher batches.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::config::Config;
use crate::portal::branding::Branding;
use crate::portal::i18n::Lang;
use crate::portal::vouchers::{generate_code, print_sheet, SheetOptions};
use crate::store::vouchers::NewBatch;
use crate::store::{Store, StoreError};

#[derive(Subcommand, Debug)]
pub enum VoucherCmd {
    /// Create a batch of codes and print them.
    Create {
        /// How many codes.
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Session length from a code's first use, e.g. 4h or 2d.
        #[arg(long, default_value = "4h")]
        duration: humantime::Duration,
        /// Devices that may use one code.
        #[arg(long, default_value_t = 1)]
        devices: u32,
        /// Unused codes stop working after this long, e.g. 30d.
        #[arg(long, default_value = "30d")]
        valid_for: humantime::Duration,
        #[arg(long, default_value = "")]
        note: String,
        /// Groups the visitor's session gets (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List batches with how many codes are in use.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write the printable HTML sheet of a batch.
    Print {
        batch: i64,
        /// zh (default) or en.
        #[arg(long, default_value = "zh")]
        lang: String,
        /// The Wi-Fi network to print on the cards (default: portal.voucher_ssid).
        #[arg(long)]
        ssid: Option<String>,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Most codes in one batch.
const MAX_BATCH: u32 = 10_000;

pub async fn voucher_cmd(store: &Store, config: &Config, cmd: VoucherCmd) -> Result<()> {
    let now = crate::clock::now_ms();
    match cmd {
        VoucherCmd::Create {
            count,
            duration,
            devices,
            valid_for,
            note,
            groups,
            json,
        } => {
            if count == 0 || count > MAX_BATCH {
                bail!("--count must be 1 to {MAX_BATCH}");
            }
            if devices == 0 {
                bail!("--devices must be at least 1");
            }
            let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let batch = NewBatch {
                duration_s: secs(duration.into()),
                devices: i64::from(devices),
                expires_at: now.saturating_add(secs(valid_for.into()).saturating_mul(1000)),
                note,
                groups,
            };
            // A clash between random 59-bit codes is next to impossible;
            // try again with fresh codes rather than fail if it happens.
            let mut attempt = 0;
            let (created, codes) = loop {
                let codes: Vec<String> = (0..count).map(|_| generate_code()).collect();
                match store.vouchers().create_batch(&batch, &codes, now).await {
                    Ok(b) => break (b, codes),
                    Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
                    Err(e) => return Err(e.into()),
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "batch": created.id, "codes": codes })
                );
            } else {
                println!("batch {}", created.id);
                for c in codes {
                    println!("{c}");
                }
            }
            Ok(())
        }
        VoucherCmd::List { json } => {
            let mut rows = Vec::new();
            for b in store.vouchers().batches().await? {
                let codes = store.vouchers().codes(b.id).await?;
                let used = codes.iter().filter(|c| c.first_used_at.is_some()).count();
                rows.push((b, codes.len(), used));
            }
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(b, n, used)| {
                        serde_json::json!({
                            "batch": b.id, "codes": n, "used": used,
                            "duration_s": b.duration_s, "devices": b.devices,
                            "expires_at_ms": b.expires_at, "note": b.note, "groups": b.groups,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                println!("batch  codes  used  duration  devices  expires               note");
                for (b, n, used) in rows {
                    println!(
                        "{:<6} {:<6} {:<5} {:<9} {:<8} {:<21} {}",
                        b.id,
                        n,
                        used,
                        humantime::format_duration(Duration::from_secs(
                            u64::try_from(b.duration_s).unwrap_or(0)
                        )),
                        b.devices,
                        chrono::DateTime::from_timestamp_millis(b.expires_at)
                            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default(),
                        b.note
                    );
                }
            }
            Ok(())
        }
        VoucherCmd::Print {
            batch,
            lang,
            ssid,
            output,
        } => {
            let lang = match lang.as_str() {
                "zh" => Lang::Zh,
                "en" => Lang::En,
                other => bail!("--lang {other:?}: use zh or en"),
            };
            let b = store
                .vouchers()
                .batch(batch)
                .await?
                .with_context(|| format!("no voucher batch {batch}"))?;
            let codes: Vec<String> = store
                .vouchers()
                .codes(batch)
                .await?
                .into_iter()
                .filter(|c| c.first_used_at.is_none())
                .map(|c| c.code)
                .collect();
            let branding = match Branding::load(&config.portal.branding_dir) {
                Ok(Some(b)) => b,
                Ok(None) => Branding::builtin(),
                Err(e) => bail!("branding: {e}"),
            };
            let time_zone: chrono_tz::Tz =
                config.portal.time_zone.parse().map_err(|_| {
                    anyhow::anyhow!("portal.time_zone {:?}", config.portal.time_zone)
                })?;
            let ssid = ssid
                .or_else(|| config.portal.voucher_ssid.clone())
                .unwrap_or_default();
            let opts = SheetOptions {
                lang,
                time_zone,
                ssid: Some(ssid.as_str()),
            };
            let html = print_sheet(&b, &codes, &branding, &opts)?;
            match output {
                Some(p) => {
                    std::fs::write(&p, html).with_context(|| format!("writing {}", p.display()))?
                }
                None => std::io::stdout().write_all(html.as_bytes())?,
            }
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum WechatCmd {
    /// Link a WeChat openid or WeCom userid to a staff account.
    Link {
        /// wechat (official-account openid) or wecom (userid).
        kind: String,
        external_id: String,
        username: String,
    },
    /// Remove a link.
    Unlink { kind: String, external_id: String },
}

pub async fn wechat_cmd(store: &Store, cmd: WechatCmd) -> Result<()> {
    let now = crate::clock::now_ms();
    match cmd {
        WechatCmd::Link {
            kind,
            external_id,
            username,
        } => {
            if store.users().get(&username).await?.is_none() {
                bail!("no user {username:?}");
            }
            store
                .wechat_links()
                .link(&kind, &external_id, &username, now)
                .await?;
            println!("linked {kind} {external_id} to {username}");
        }
        WechatCmd::Unlink { kind, external_id } => {
            if !store.wechat_links().unlink(&kind, &external_id).await? {
                bail!("no {kind} link for {external_id:?}");
            }
            println!("unlinked {kind} {external_id}");
        }
    }
    Ok(())
}
