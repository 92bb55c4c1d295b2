//! Voucher batches for visitors: codes that admins print and hand out.
//! A code's session runs `duration` from its first use, on at most
//! `devices` devices; unused codes stop working at the batch expiry.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{clean_groups, conflict_or, from_json, to_json};
use super::{Result, Store, StoreError};
use crate::domain::MacAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBatch {
    pub duration_s: i64,
    pub devices: i64,
    pub expires_at: i64,
    pub note: String,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherBatch {
    pub id: i64,
    pub created_at: i64,
    pub duration_s: i64,
    pub devices: i64,
    pub expires_at: i64,
    pub note: String,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voucher {
    pub code: String,
    pub batch_id: i64,
    pub first_used_at: Option<i64>,
    pub devices_used: i64,
}

/// What a successful redemption grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub batch: VoucherBatch,
    /// First use plus the batch duration.
    pub session_ends_at: i64,
}

/// Why a code was refused. The portal shows one message for all of them
/// except "used up", so that the answer does not help guessing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedeemRefusal {
    Unknown,
    Expired,
    UsedUp,
}

pub struct Vouchers<'a> {
    store: &'a Store,
}

const BATCH_COLS: &str = "id, created_at, duration_s, devices, expires_at, note, groups";

impl<'a> Vouchers<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Vouchers { store }
    }

    /// Creates a batch with the given codes (made by the caller) in one
    /// transaction. `Conflict` if a code exists already.
    pub async fn create_batch(
        &self,
        batch: &NewBatch,
        codes: &[String],
        now_ms: i64,
    ) -> Result<VoucherBatch> {
        if batch.duration_s <= 0 || batch.devices <= 0 {
            return Err(StoreError::Invalid(
                "voucher duration and devices must be positive".into(),
            ));
        }
        if batch.expires_at <= now_ms {
            return Err(StoreError::Invalid("voucher expiry is in the past".into()));
        }
        if codes.is_empty() {
            return Err(StoreError::Invalid(
                "a batch needs at least one code".into(),
            ));
        }
        let groups = clean_groups(&batch.groups)?;
        let mut tx = self.store.begin_write().await?;
        let sql = format!(
            "INSERT INTO voucher_batches (created_at, duration_s, devices, expires_at, note, groups) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {BATCH_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(now_ms)
            .bind(batch.duration_s)
            .bind(batch.devices)
            .bind(batch.expires_at)
            .bind(&batch.note)
            .bind(to_json(&groups)?)
            .fetch_one(&mut *tx)
            .await?;
        let created = batch_from_row(&row)?;
        for code in codes {
            sqlx::query("INSERT INTO vouchers (code, batch_id) VALUES ($1, $2)")
                .bind(code)
                .bind(created.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict_or(e, || format!("voucher {code}")))?;
        }
        tx.commit().await?;
        Ok(created)
    }

    pub async fn batches(&self) -> Result<Vec<VoucherBatch>> {
        let sql = format!("SELECT {BATCH_COLS} FROM voucher_batches ORDER BY id");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(batch_from_row)
            .collect()
    }

    pub async fn batch(&self, id: i64) -> Result<Option<VoucherBatch>> {
        let sql = format!("SELECT {BATCH_COLS} FROM voucher_batches WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .map(|r| batch_from_row(&r))
            .transpose()
    }

    /// The codes of a batch in creation order.
    pub async fn codes(&self, batch_id: i64) -> Result<Vec<Voucher>> {
        sqlx::query(
            "SELECT code, batch_id, first_used_at, devices_used FROM vouchers \
             WHERE batch_id = $1 ORDER BY code",
        )
        .bind(batch_id)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Voucher {
                code: r.try_get("code")?,
                batch_id: r.try_get("batch_id")?,
                first_used_at: r.try_get("first_used_at")?,
                devices_used: r.try_get("devices_used")?,
            })
        })
        .collect()
    }

    /// Uses `code` for `mac`: a device already on the code signs in again
    /// for the time left; a new device takes a slot if one is free. One
    /// transaction, so two devices cannot both take the last slot.
    pub async fn redeem(
        &self,
        code: &str,
        mac: MacAddr,
        now_ms: i64,
    ) -> Result<std::result::Result<Redeemed, RedeemRefusal>> {
        let mut tx = self.store.begin_write().await?;
        let sql = format!(
            "SELECT v.first_used_at, v.devices_used, {} FROM vouchers v \
             JOIN voucher_batches b ON b.id = v.batch_id WHERE v.code = $1",
            BATCH_COLS
                .split(", ")
                .map(|c| format!("b.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let Some(row) = sqlx::query(&sql)
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(RedeemRefusal::Unknown));
        };
        let batch = batch_from_row(&row)?;
        let first_used_at: Option<i64> = row.try_get("first_used_at")?;
        let devices_used: i64 = row.try_get("devices_used")?;
        let mac_text = mac.to_string();
        let known = sqlx::query("SELECT used_at FROM voucher_uses WHERE code = $1 AND mac = $2")
            .bind(code)
            .bind(&mac_text)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let start = first_used_at.unwrap_or(now_ms);
        let ends = start.saturating_add(batch.duration_s.saturating_mul(1000));
        if first_used_at.is_none() && batch.expires_at <= now_ms {
            return Ok(Err(RedeemRefusal::Expired));
        }
        if ends <= now_ms {
            return Ok(Err(RedeemRefusal::Expired));
        }
        if !known {
            if devices_used >= batch.devices {
                return Ok(Err(RedeemRefusal::UsedUp));
            }
            let n = sqlx::query(
                "UPDATE vouchers SET devices_used = devices_used + 1, \
                 first_used_at = COALESCE(first_used_at, $1) \
                 WHERE code = $2 AND devices_used < $3",
            )
            .bind(now_ms)
            .bind(code)
            .bind(batch.devices)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(Err(RedeemRefusal::UsedUp));
            }
            sqlx::query("INSERT INTO voucher_uses (code, mac, used_at) VALUES ($1, $2, $3)")
                .bind(code)
                .bind(&mac_text)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(Redeemed {
            batch,
            session_ends_at: ends,
        }))
    }
}

fn batch_from_row(row: &AnyRow) -> Result<VoucherBatch> {
    Ok(VoucherBatch {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        duration_s: row.try_get("duration_s")?,
        devices: row.try_get("devices")?,
        expires_at: row.try_get("expires_at")?,
        note: row.try_get("note")?,
        groups: from_json(&row.try_get::<String, _>("groups")?, "voucher groups")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::both;

    fn mac(n: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, n])
    }

    #[tokio::test]
    async fn redeem_limits_devices_and_time() {
        both(|h| async move {
            let v = h.store.vouchers();
            let batch = NewBatch {
                duration_s: 60,
                devices: 2,
                expires_at: 100_000,
                note: "lobby".into(),
                groups: vec!["visitors".into()],
            };
            let b = v
                .create_batch(&batch, &["AAAA-BBBB".into(), "CCCC-DDDD".into()], 1_000)
                .await
                .unwrap();
            assert!(matches!(
                v.create_batch(&batch, &["AAAA-BBBB".into()], 1_000).await,
                Err(StoreError::Conflict(_))
            ));
            assert_eq!(v.codes(b.id).await.unwrap().len(), 2);
            let r = v.redeem("AAAA-BBBB", mac(1), 2_000).await.unwrap().unwrap();
            assert_eq!(r.session_ends_at, 62_000);
            assert_eq!(r.batch.groups, ["visitors"]);
            // Same device again: same end, no slot taken.
            let again = v.redeem("AAAA-BBBB", mac(1), 3_000).await.unwrap().unwrap();
            assert_eq!(again.session_ends_at, 62_000);
            v.redeem("AAAA-BBBB", mac(2), 3_000).await.unwrap().unwrap();
            assert_eq!(
                v.redeem("AAAA-BBBB", mac(3), 3_000).await.unwrap(),
                Err(RedeemRefusal::UsedUp)
            );
            assert_eq!(
                v.redeem("AAAA-BBBB", mac(1), 62_000).await.unwrap(),
                Err(RedeemRefusal::Expired)
            );
            assert_eq!(
                v.redeem("NOPE", mac(1), 3_000).await.unwrap(),
                Err(RedeemRefusal::Unknown)
            );
            // Unused code past the batch expiry.
            assert_eq!(
                v.redeem("CCCC-DDDD", mac(1), 100_000).await.unwrap(),
                Err(RedeemRefusal::Expired)
            );
            assert_eq!(v.batches().await.unwrap().len(), 1);
        })
        .await;
    }
}
