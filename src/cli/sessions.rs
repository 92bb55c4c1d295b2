//! `portico session` and `portico auth-log`: accounting sessions, Disconnect/CoA, the authentication log.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;

use super::*;
use crate::admin::web::export::{session_csv_fields, SESSION_CSV_HEADER};

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    List {
        /// Only sessions not yet stopped.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send a Disconnect-Request (or CoA-Request) for a session to its NAS.
    Disconnect {
        /// Acct-Session-Id.
        session_id: String,
        /// NAS name, needed when several NASes use the same session id.
        #[arg(long)]
        nas: Option<String>,
        /// Send CoA-Request (re-authenticate) instead of Disconnect-Request.
        #[arg(long)]
        coa: bool,
    },
    /// Export sessions started since DATE as CSV.
    Export {
        #[arg(long)]
        since: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuthLogCmd {
    /// Export authentication results since DATE as CSV.
    Export {
        #[arg(long)]
        since: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

pub(super) async fn session_cmd(store: &Store, config: &Config, cmd: SessionCmd) -> Result<()> {
    match cmd {
        SessionCmd::List { open, limit, json } => {
            let list = store.accounting().list(open, limit).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "nas": s.nas_name, "nas_ip": s.nas_ip, "session_id": s.session_id,
                            "username": s.username, "mac": s.calling_station, "ap": s.called_station,
                            "framed_ip": s.framed_ip, "started": fmt_ms(s.started_ms),
                            "updated": fmt_ms(s.updated_ms), "stopped": s.stopped_ms.map(fmt_ms),
                            "input_octets": s.input_octets, "output_octets": s.output_octets,
                            "session_time": s.session_time, "terminate_cause": s.terminate_cause,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<14} {:<20} {:<16} {:<18} {:<20} {:>12} {:>12} STOPPED",
                    "NAS", "SESSION", "USER", "MAC", "STARTED", "IN", "OUT"
                );
                for s in list {
                    println!(
                        "{:<14} {:<20} {:<16} {:<18} {:<20} {:>12} {:>12} {}",
                        s.nas_name,
                        s.session_id,
                        s.username.unwrap_or_default(),
                        s.calling_station.unwrap_or_default(),
                        fmt_ms(s.started_ms),
                        s.input_octets,
                        s.output_octets,
                        fmt_opt_ms(s.stopped_ms)
                    );
                }
            }
        }
        SessionCmd::Disconnect {
            session_id,
            nas,
            coa,
        } => {
            let kind = if coa {
                coa::CoaKind::Coa
            } else {
                coa::CoaKind::Disconnect
            };
            let (nas_row, outcome) =
                disconnect(store, config, &session_id, nas.as_deref(), kind).await?;
            match outcome {
                coa::CoaOutcome::Ack => println!("{} acknowledged by {nas_row}", kind.name()),
                other => bail!("{} refused by {nas_row}: {}", kind.name(), other.describe()),
            }
        }
        SessionCmd::Export { since, output } => {
            let rows = store.accounting().since(parse_date(&since)?).await?;
            let mut w = csv_writer(output.as_deref())?;
            w.write_record(SESSION_CSV_HEADER)?;
            for s in &rows {
                w.write_record(session_csv_fields(s, fmt_ms))?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

/// Sends Disconnect/CoA for a stored session to its NAS and records the
/// outcome as an event. Returns the NAS name and the outcome.
pub async fn disconnect(
    store: &Store,
    config: &Config,
    session_id: &str,
    nas: Option<&str>,
    kind: coa::CoaKind,
) -> Result<(String, coa::CoaOutcome)> {
    let candidates = store
        .accounting()
        .open_by_session_id(session_id, nas)
        .await?;
    let session = match candidates.as_slice() {
        [] => bail!(
            "no open session {session_id:?}{}",
            nas.map(|n| format!(" on {n}")).unwrap_or_default()
        ),
        [one] => one,
        _ => bail!("session id {session_id:?} is open on several NASes; name one with --nas"),
    };
    let settings = coa::CoaSettings {
        timeout: config.radius.coa_timeout,
        attempts: config.radius.coa_attempts,
    };
    Ok(coa::for_session(store, settings, session, kind, &[]).await?)
}

pub async fn auth_log_cmd(store: &Store, cmd: AuthLogCmd) -> Result<()> {
    let AuthLogCmd::Export { since, output } = cmd;
    let rows = store.auth_log().since(parse_date(&since)?).await?;
    let mut w = csv_writer(output.as_deref())?;
    // New columns go at the end: scripts read the first nine by place.
    w.write_record([
        "time",
        "username",
        "mac",
        "nas",
        "nas_ip",
        "ap",
        "method",
        "outcome",
        "reason",
        "client_ip",
        "ssid",
    ])?;
    for r in rows {
        w.write_record([
            fmt_ms(r.at_ms),
            r.username,
            r.mac.unwrap_or_default(),
            r.nas_name,
            r.nas_ip,
            r.ap.unwrap_or_default(),
            r.method,
            r.outcome,
            r.reason,
            r.client_ip.unwrap_or_default(),
            r.ssid.unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
