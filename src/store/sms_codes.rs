//! SMS one-time codes for visitor sign-in: only a keyed hash of each code
//! is kept; a code is good for a few minutes, a few guesses and one use.

use sqlx::Row;
use subtle::ConstantTimeEq;

use super::{Result, Store};
use crate::domain::MacAddr;

/// Wrong guesses that burn a code.
pub const MAX_ATTEMPTS: i64 = 5;

pub struct SmsCodes<'a> {
    store: &'a Store,
}

impl<'a> SmsCodes<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        SmsCodes { store }
    }

    pub async fn create(
        &self,
        phone: &str,
        code_hash: &str,
        mac: Option<MacAddr>,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sms_codes (phone, code_hash, mac, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(phone)
        .bind(code_hash)
        .bind(mac.map(|m| m.to_string()))
        .bind(now_ms)
        .bind(expires_at)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Codes sent since `since_ms`: to the number, to the device, in all.
    pub async fn sent_since(
        &self,
        phone: &str,
        mac: Option<MacAddr>,
        since_ms: i64,
    ) -> Result<(i64, i64, i64)> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM sms_codes WHERE phone = $1 AND created_at >= $3) AS by_phone, \
               (SELECT COUNT(*) FROM sms_codes WHERE mac = $2 AND created_at >= $3) AS by_mac, \
               (SELECT COUNT(*) FROM sms_codes WHERE created_at >= $3) AS total",
        )
        .bind(phone)
        .bind(mac.map(|m| m.to_string()).unwrap_or_default())
        .bind(since_ms)
        .fetch_one(&self.store.pool)
        .await?;
        Ok((
            row.try_get("by_phone")?,
            row.try_get("by_mac")?,
            row.try_get("total")?,
        ))
    }

    /// Checks `code_hash` against the newest live code of the number; a
    /// match uses the code up (once, even under concurrent tries), a
    /// mismatch counts against it.
    pub async fn verify(&self, phone: &str, code_hash: &str, now_ms: i64) -> Result<bool> {
        let Some(row) = sqlx::query(
            "SELECT id, code_hash, attempts FROM sms_codes \
             WHERE phone = $1 AND used_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(phone)
        .bind(now_ms)
        .fetch_optional(&self.store.pool)
        .await?
        else {
            return Ok(false);
        };
        let id: i64 = row.try_get("id")?;
        let attempts: i64 = row.try_get("attempts")?;
        let stored: String = row.try_get("code_hash")?;
        if attempts >= MAX_ATTEMPTS {
            return Ok(false);
        }
        if !bool::from(stored.as_bytes().ct_eq(code_hash.as_bytes())) {
            sqlx::query("UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&self.store.pool)
                .await?;
            return Ok(false);
        }
        let n = sqlx::query(
            "UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND attempts < $3",
        )
        .bind(now_ms)
        .bind(id)
        .bind(MAX_ATTEMPTS)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Deletes codes that expired before `before_ms`; returns how many.
    pub async fn purge(&self, before_ms: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sms_codes WHERE expires_at < $1")
            .bind(before_ms)
            .execute(&self.store.pool)
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::both;

    #[tokio::test]
    async fn single_use_expiring_and_limited_guesses() {
        both(|h| async move {
            let s = h.store.sms_codes();
            s.create("13800138000", "h1", None, 1_000, 301_000)
                .await
                .unwrap();
            assert_eq!(
                s.sent_since("13800138000", None, 0).await.unwrap(),
                (1, 0, 1)
            );
            assert!(!s.verify("13800138000", "wrong", 2_000).await.unwrap());
            assert!(s.verify("13800138000", "h1", 2_000).await.unwrap());
            assert!(
                !s.verify("13800138000", "h1", 2_000).await.unwrap(),
                "single use"
            );
            s.create("13800138000", "h2", None, 3_000, 4_000)
                .await
                .unwrap();
            assert!(
                !s.verify("13800138000", "h2", 4_000).await.unwrap(),
                "expired"
            );
            s.create("13800138001", "h3", None, 5_000, 100_000)
                .await
                .unwrap();
            for _ in 0..5 {
                assert!(!s.verify("13800138001", "bad", 6_000).await.unwrap());
            }
            assert!(
                !s.verify("13800138001", "h3", 6_000).await.unwrap(),
                "burnt by guesses"
            );
        })
        .await;
    }
}
