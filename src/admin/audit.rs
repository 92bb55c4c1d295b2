//! Writing the audit trail: who did what, from where, with what outcome.
//! Every change through the dashboard, the API or the CLI goes through
//! [`Auditor::record`], which chains the row in the store and hands a copy
//! to the syslog forwarder when one is configured.

use serde_json::Value;

use super::syslog::SyslogForwarder;
use crate::clock::Clock;
use crate::domain::AdminRole;
use crate::store::audit::{AuditEntry, AuditRow};
use crate::store::{Store, StoreError};

/// Who acts: an administrator (with role and client address), or the
/// command line (the OS user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// The role's name, `cli`, or `-` (a sign-in with an unknown name).
    pub role: String,
    /// Client IP, or `cli`.
    pub origin: String,
}

impl Actor {
    pub fn admin(name: &str, role: AdminRole, origin: &str) -> Actor {
        Actor {
            name: name.to_string(),
            role: role.as_str().to_string(),
            origin: origin.to_string(),
        }
    }

    /// Someone not (yet) known: a failed sign-in.
    pub fn unknown(name: &str, origin: &str) -> Actor {
        Actor {
            name: name.chars().take(64).collect(),
            role: "-".into(),
            origin: origin.to_string(),
        }
    }

    /// The command line, as the OS user who ran it (through sudo: the one
    /// who called sudo).
    pub fn cli() -> Actor {
        let user = ["SUDO_USER", "USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Actor {
            name: user,
            role: "cli".into(),
            origin: "cli".into(),
        }
    }

    /// Portico itself (first start, retention).
    pub fn portico() -> Actor {
        Actor {
            name: "portico".into(),
            role: "system".into(),
            origin: "local".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused: no right, wrong password, locked.
    Denied,
    /// Tried and failed (e.g. the NAS did not answer).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Clone)]
pub struct Auditor {
    store: Store,
    clock: Clock,
    forward: Option<SyslogForwarder>,
}

impl Auditor {
    pub fn new(store: Store, clock: Clock, forward: Option<SyslogForwarder>) -> Auditor {
        Auditor {
            store,
            clock,
            forward,
        }
    }

    /// Records one row. `summary` is a JSON object of what changed (before
    /// and after), never a secret.
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        summary: Value,
    ) -> Result<AuditRow, StoreError> {
        let entry = AuditEntry {
            at_ms: self.clock.now_ms(),
            actor: actor.name.clone(),
            role: actor.role.clone(),
            origin: actor.origin.clone(),
            action: action.to_string(),
            target: target.to_string(),
            outcome: outcome.as_str().to_string(),
            summary: summary.to_string(),
        };
        let row = self.store.audit().append(&entry).await?;
        if let Some(f) = &self.forward {
            f.send(&row);
        }
        Ok(row)
    }

    /// Waits until the rows recorded so far reached the syslog collector
    /// (at most 3 s): for the CLI, which exits right after.
    pub async fn flush(&self) {
        if let Some(f) = &self.forward {
            f.flush(std::time::Duration::from_secs(3)).await;
        }
    }

    /// Removes rows older than `before_ms`, recording it as a row.
    pub async fn prune(&self, before_ms: i64) -> Result<u64, StoreError> {
        let actor = Actor::portico();
        let entry = AuditEntry {
            at_ms: self.clock.now_ms(),
            actor: actor.name,
            role: actor.role,
            origin: actor.origin,
            action: String::new(),
            target: "audit_log".into(),
            outcome: Outcome::Ok.as_str().into(),
            summary: String::new(),
        };
        self.store.audit().prune(before_ms, &entry).await
    }
}
