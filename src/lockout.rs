//! Account lockout after wrong passwords: the policy over
//! `store::lockouts`, shared by the portal (and the dashboard) which honour
//! the lock, and RADIUS PAP, whose failures count toward it but which is
//! never locked itself (a lock there would let anyone who can make an AP
//! send requests lock staff out of the Wi-Fi).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::store::{Store, StoreError};

/// Failure counts written in the background at once (RADIUS); beyond this
/// a failure is not counted (and logged at debug level), so a flood of
/// wrong passwords cannot queue work without limit.
const BACKGROUND_WRITES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong passwords within `window` that lock the account.
    pub failures: u32,
    pub window: Duration,
    /// How long a lock lasts.
    pub duration: Duration,
}

impl From<&crate::config::portal::LockoutConfig> for LockoutPolicy {
    fn from(c: &crate::config::portal::LockoutConfig) -> Self {
        LockoutPolicy {
            failures: c.failures,
            window: c.window,
            duration: c.duration,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("account locked until {until} ms")]
    Locked { until: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct AccountLockout {
    store: Store,
    policy: LockoutPolicy,
    background: Arc<Semaphore>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl AccountLockout {
    pub fn new(store: Store, policy: LockoutPolicy) -> Self {
        AccountLockout {
            store,
            policy,
            background: Arc::new(Semaphore::new(BACKGROUND_WRITES)),
        }
    }

    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    /// `Locked` while a lock is in force: the caller refuses the sign-in
    /// before looking at the password.
    pub async fn check(&self, username: &str, now_ms: i64) -> Result<(), LockError> {
        match self.store.lockouts().locked_until(username, now_ms).await? {
            Some(until) => Err(LockError::Locked { until }),
            None => Ok(()),
        }
    }

    /// Counts one wrong password for an existing account (`via`: portal,
    /// dashboard, radius). Returns the end of the lock when this failure
    /// locked the account; that is also logged and recorded as an event.
    pub async fn failed(
        &self,
        username: &str,
        via: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let p = self.policy;
        let count = self
            .store
            .lockouts()
            .record_failure(
                username,
                now_ms,
                ms(p.window),
                i64::from(p.failures),
                ms(p.duration),
            )
            .await?;
        let Some(until) = count.locked_now else {
            return Ok(None);
        };
        let message = format!(
            "account {username} locked for {} after {} wrong passwords within {} (the last through {via})",
            humantime::format_duration(p.duration),
            p.failures,
            humantime::format_duration(p.window),
        );
        tracing::warn!(user = %username, via, "{message}");
        self.store
            .events()
            .record("account-locked", username, "warning", &message, now_ms)
            .await?;
        Ok(Some(until))
    }

    /// A right password: the failures so far are forgotten.
    pub async fn succeeded(&self, username: &str) {
        if let Err(e) = self.store.lockouts().clear_failures(username).await {
            tracing::warn!(user = %username, error = %e, "clearing password failures failed");
        }
    }

    /// `failed` without waiting (RADIUS answers first), bounded.
    pub fn failed_in_background(&self, username: String, via: &'static str, now_ms: i64) {
        let Ok(permit) = self.background.clone().try_acquire_owned() else {
            tracing::debug!(user = %username, "password failure not counted: too many writes under way");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = this.failed(&username, via, now_ms).await {
                tracing::warn!(user = %username, error = %e, "counting a password failure failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_after_the_limit_and_records_an_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("", dir.path(), 2).await.unwrap();
        let l = AccountLockout::new(
            store.clone(),
            LockoutPolicy {
                failures: 3,
                window: Duration::from_secs(60),
                duration: Duration::from_secs(60),
            },
        );
        let t = 1_000_000;
        assert!(l.check("alice", t).await.is_ok());
        assert_eq!(l.failed("alice", "portal", t).await.unwrap(), None);
        l.succeeded("alice").await;
        assert_eq!(l.failed("alice", "radius", t).await.unwrap(), None);
        assert_eq!(l.failed("alice", "radius", t).await.unwrap(), None);
        assert_eq!(
            l.failed("alice", "portal", t).await.unwrap(),
            Some(t + 60_000)
        );
        assert!(matches!(
            l.check("alice", t + 1).await,
            Err(LockError::Locked { until }) if until == t + 60_000
        ));
        assert!(l.check("alice", t + 60_000).await.is_ok());
        let events = store.events().list(10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "account-locked");
        assert_eq!(events[0].source, "alice");
        assert!(
            events[0].message.contains("portal"),
            "{}",
            events[0].message
        );
    }
}
