//! Wrong passwords per account within a window, and the lock they cause.
//! In the store (not in memory) so that every node counts the same
//! failures and honours the same lock.

use sqlx::Row;

use super::{Result, Store};

/// What one more wrong password did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures in the current window, this one included (0 right after
    /// the account was locked: the count starts again).
    pub failures: i64,
    /// Set when this failure locked the account: until when.
    pub locked_now: Option<i64>,
}

pub struct AccountLockouts<'a> {
    store: &'a Store,
}

impl<'a> AccountLockouts<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        AccountLockouts { store }
    }

    /// The end of a lock still in force at `now_ms`, if any.
    pub async fn locked_until(&self, username: &str, now_ms: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT locked_until FROM account_lockouts WHERE username = $1 AND locked_until > $2",
        )
        .bind(username)
        .bind(now_ms)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(match row {
            Some(r) => r.try_get("locked_until")?,
            None => None,
        })
    }

    /// Counts one wrong password. A window older than `window_ms` starts
    /// again at 1; at `max_failures` the account is locked for `lock_ms`
    /// and the count restarts. Of several callers racing over the same
    /// failure, exactly one sees `locked_now`.
    pub async fn record_failure(
        &self,
        username: &str,
        now_ms: i64,
        window_ms: i64,
        max_failures: i64,
        lock_ms: i64,
    ) -> Result<FailureCount> {
        let window_over = now_ms.saturating_sub(window_ms);
        let row = sqlx::query(
            "INSERT INTO account_lockouts (username, window_start, failures, locked_until) \
             VALUES ($1, $2, 1, NULL) ON CONFLICT (username) DO UPDATE SET \
             failures = CASE WHEN account_lockouts.window_start <= $3 THEN 1 \
                 ELSE account_lockouts.failures + 1 END, \
             window_start = CASE WHEN account_lockouts.window_start <= $4 \
                 THEN excluded.window_start ELSE account_lockouts.window_start END \
             RETURNING failures",
        )
        .bind(username)
        .bind(now_ms)
        .bind(window_over)
        .bind(window_over)
        .fetch_one(&self.store.pool)
        .await?;
        let failures: i64 = row.try_get("failures")?;
        if failures < max_failures {
            return Ok(FailureCount {
                failures,
                locked_now: None,
            });
        }
        let until = now_ms.saturating_add(lock_ms);
        let locked = sqlx::query(
            "UPDATE account_lockouts SET locked_until = $1, failures = 0, window_start = $2 \
             WHERE username = $3 AND failures >= $4 \
             AND (locked_until IS NULL OR locked_until <= $5)",
        )
        .bind(until)
        .bind(now_ms)
        .bind(username)
        .bind(max_failures)
        .bind(now_ms)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(FailureCount {
            failures: if locked > 0 { 0 } else { failures },
            locked_now: (locked > 0).then_some(until),
        })
    }

    /// Forgets the failures after a right password (a lock in force stays:
    /// the caller refuses before checking the password).
    pub async fn clear_failures(&self, username: &str) -> Result<()> {
        sqlx::query(
            "UPDATE account_lockouts SET failures = 0 WHERE username = $1 AND failures > 0",
        )
        .bind(username)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Lifts a lock (an administrator's decision).
    pub async fn unlock(&self, username: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM account_lockouts WHERE username = $1")
            .bind(username)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::both;

    const WINDOW: i64 = 15 * 60_000;
    const LOCK: i64 = 15 * 60_000;

    #[tokio::test]
    async fn failures_lock_once_and_windows_restart() {
        both(|h| async move {
            let l = h.store.lockouts();
            let t = 1_000_000;
            for i in 1..=9 {
                let c = l
                    .record_failure("alice", t + i, WINDOW, 10, LOCK)
                    .await
                    .unwrap();
                assert_eq!((c.failures, c.locked_now), (i, None));
            }
            assert_eq!(l.locked_until("alice", t + 9).await.unwrap(), None);
            let c = l
                .record_failure("alice", t + 10, WINDOW, 10, LOCK)
                .await
                .unwrap();
            assert_eq!(c.locked_now, Some(t + 10 + LOCK));
            assert_eq!(
                l.locked_until("alice", t + 11).await.unwrap(),
                Some(t + 10 + LOCK)
            );
            // Others are not affected; a right password does not lift it.
            assert_eq!(l.locked_until("bob", t + 11).await.unwrap(), None);
            l.clear_failures("alice").await.unwrap();
            assert!(l.locked_until("alice", t + 12).await.unwrap().is_some());
            // Over once the time is up.
            assert_eq!(l.locked_until("alice", t + 10 + LOCK).await.unwrap(), None);

            // A window that ran out starts again at 1.
            l.record_failure("carol", t, WINDOW, 10, LOCK)
                .await
                .unwrap();
            let c = l
                .record_failure("carol", t + WINDOW + 1, WINDOW, 10, LOCK)
                .await
                .unwrap();
            assert_eq!(c.failures, 1);
            assert!(l.unlock("alice").await.unwrap());
            assert!(!l.unlock("nobody").await.unwrap());
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_failures_lock_exactly_once() {
        both(|h| async move {
            let t = 5_000_000;
            let tasks: Vec<_> = (0..30)
                .map(|_| {
                    let store = h.store.clone();
                    tokio::spawn(async move {
                        store
                            .lockouts()
                            .record_failure("dave", t, WINDOW, 10, LOCK)
                            .await
                            .unwrap()
                    })
                })
                .collect();
            let mut locks = 0;
            for task in tasks {
                if task.await.unwrap().locked_now.is_some() {
                    locks += 1;
                }
            }
            assert_eq!(locks, 1);
        })
        .await;
    }
}
