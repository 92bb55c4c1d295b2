//! Append-only log of authentication outcomes.

use sqlx::Row;

use super::batch::{AnyQuery, BatchConnection, BatchStatement};
use super::{Backend, Result, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRecord {
    pub at_ms: i64,
    pub username: String,
    pub mac: Option<String>,
    pub nas_name: String,
    pub nas_ip: String,
    /// Called-Station-Id.
    pub ap: Option<String>,
    /// pap, chap, mschapv2, mac, eap-peap, ...
    pub method: String,
    /// accept or reject; for portal sessions also sign-out and expired.
    pub outcome: String,
    pub reason: String,
    /// The client's IP address, where known (portal sign-ins).
    pub client_ip: Option<String>,
    pub ssid: Option<String>,
}

pub struct AuthLog<'a> {
    store: &'a Store,
}

impl<'a> AuthLog<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        AuthLog { store }
    }

    /// Inserts the batch in one transaction.
    pub async fn insert_batch(&self, records: &[AuthRecord]) -> Result<()> {
        self.appender().append(records).await
    }

    /// An appender that keeps one connection across batches (see
    /// [`BatchConnection`]).
    pub fn appender(&self) -> AuthLogAppender {
        AuthLogAppender {
            conn: BatchConnection::new(self.store),
        }
    }

    /// Whether the RADIUS server accepted a request for this client MAC
    /// (canonical form) at or after `since_ms`: how the portal knows an AP
    /// really took the one-time credentials it handed over. The portal's
    /// own sign-in rows do not count.
    pub async fn accepted_for_mac(&self, mac: &str, since_ms: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS hit FROM auth_log WHERE at_ms >= $1 AND mac = $2 \
             AND outcome = 'accept' AND method NOT LIKE 'portal%' LIMIT 1",
        )
        .bind(since_ms)
        .bind(mac)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Records at or after `since_ms`, oldest first.
    pub async fn since(&self, since_ms: i64) -> Result<Vec<AuthRecord>> {
        sqlx::query(
            "SELECT at_ms, username, mac, nas_name, nas_ip, ap, method, outcome, reason, \
             client_ip, ssid FROM auth_log WHERE at_ms >= $1 ORDER BY at_ms, id",
        )
        .bind(since_ms)
        .fetch_all(&self.store.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AuthRecord {
                at_ms: r.try_get("at_ms")?,
                username: r.try_get("username")?,
                mac: r.try_get("mac")?,
                nas_name: r.try_get("nas_name")?,
                nas_ip: r.try_get("nas_ip")?,
                ap: r.try_get("ap")?,
                method: r.try_get("method")?,
                outcome: r.try_get("outcome")?,
                reason: r.try_get("reason")?,
                client_ip: r.try_get("client_ip")?,
                ssid: r.try_get("ssid")?,
            })
        })
        .collect()
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM auth_log")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }
}

/// Inserts `records` inside a transaction the caller holds (a few rows:
/// one statement each).
pub(super) async fn insert_in(
    tx: &mut super::Tx,
    backend: Backend,
    records: &[AuthRecord],
) -> Result<()> {
    for r in records {
        let one = AuthRows(std::slice::from_ref(r));
        one.bind(sqlx::query(&one.sql(backend)))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// See [`AuthLog::appender`].
pub struct AuthLogAppender {
    conn: BatchConnection,
}

impl AuthLogAppender {
    /// Inserts the batch in one transaction.
    pub async fn append(&mut self, records: &[AuthRecord]) -> Result<()> {
        let statements: Vec<AuthRows<'_>> = super::rows::statement_chunks(records)
            .map(AuthRows)
            .collect();
        self.conn.write(&statements).await
    }
}

/// One multi-row INSERT (a few fixed sizes, 11 columns x 64 rows at most:
/// under every backend's bound-parameter limit).
struct AuthRows<'r>(&'r [AuthRecord]);

impl BatchStatement for AuthRows<'_> {
    fn sql(&self, backend: Backend) -> String {
        format!(
            "INSERT INTO auth_log (at_ms, username, mac, nas_name, nas_ip, ap, method, \
             outcome, reason, client_ip, ssid) VALUES {}",
            super::rows::values_placeholders(backend, self.0.len(), 11)
        )
    }

    fn rows(&self) -> usize {
        self.0.len()
    }

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        // Text bound as &str: the driver borrows it instead of copying.
        self.0.iter().fold(q, |q, r| {
            q.bind(r.at_ms)
                .bind(r.username.as_str())
                .bind(r.mac.as_deref())
                .bind(r.nas_name.as_str())
                .bind(r.nas_ip.as_str())
                .bind(r.ap.as_deref())
                .bind(r.method.as_str())
                .bind(r.outcome.as_str())
                .bind(r.reason.as_str())
                .bind(r.client_ip.as_deref())
                .bind(r.ssid.as_deref())
        })
    }
}
