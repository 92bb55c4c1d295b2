//! Captive portal: landing routes per vendor profile, sign-in methods
//! (staff password, vouchers, SMS codes, WeChat/WeCom, click-through),
//! authorizers (RADIUS MAC authorization, form post-back with one-time
//! credentials, gateway mode), the RFC 8908 CAPPORT API and the app
//! launcher.
//!
//! Layers: `context`, `handoff`, `profile`, `i18n`, `tokens` are pure;
//! `signin` holds the decisions and talks to the store; `web` is the HTTP
//! edge; `tls` serves it over HTTPS.

pub mod branding;
pub mod capport;
pub mod context;
pub mod handoff;
pub mod i18n;
pub mod launcher;
pub mod legal_log;

pub mod pages;
pub mod signin;
pub mod sms;
pub mod tokens;
pub mod trust;
pub mod vouchers;
pub mod web;
pub mod wechat;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::profiles::Profiles;
use crate::store::Store;

pub use crate::config::PortalConfig;
pub use web::router;

/// Everything the portal's handlers share.
pub struct PortalState {
    pub store: Store,
    pub profiles: Arc<Profiles>,
    pub config: PortalConfig,
    pub keys: tokens::PortalKeys,
    pub branding: branding::BrandingSource,
    pub per_mac: crate::rate_limit::RateLimiter<crate::domain::MacAddr>,
    /// Per IPv4 address or IPv6 /64 (see `rate_limit::source_key`).
    pub per_ip: crate::rate_limit::RateLimiter<std::net::IpAddr>,
    /// Wrong passwords per account (shared with RADIUS and the dashboard).
    pub lockout: crate::lockout::AccountLockout,
    /// DNS look-ups of AP login hosts under way at once.
    pub dns_lookups: Arc<Semaphore>,
    /// argon2id verifications at once (CPU- and memory-heavy).
    pub hash_slots: Arc<Semaphore>,
    /// RADIUS CoA client settings for sign-out and revocation.
    pub coa_timeout: Duration,
    pub coa_attempts: u32,
    /// WeCom's access token cache.
    pub wecom_token: wechat::WecomToken,
    /// Gateway mode's nftables control, when enabled.
    pub gateway: Option<crate::gateway::Gateway>,
    /// The port of the portal's HTTPS listener, as bound (None: no HTTPS).
    pub https_port: Option<u16>,
    /// The portal's time (a manual clock in tests).
    pub clock: crate::clock::Clock,
    /// Coverage settings, for the staff survey page.
    pub coverage: crate::config::CoverageConfig,
    /// The OpenID Connect provider, when one runs: its sign-in and
    /// consent pages are the portal's.
    pub sso: Option<Arc<crate::sso::SsoState>>,
}

impl PortalState {
    pub fn new(
        store: Store,
        profiles: Arc<Profiles>,
        config: PortalConfig,
        keys: tokens::PortalKeys,
    ) -> PortalState {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let minute = Duration::from_secs(60);
        let lockout =
            crate::lockout::AccountLockout::new(store.clone(), (&config.account_lockout).into());
        PortalState {
            lockout,
            dns_lookups: Arc::new(Semaphore::new(trust::DNS_LOOKUPS)),
            branding: branding::BrandingSource::new(config.branding_dir.clone()),
            per_mac: crate::rate_limit::RateLimiter::new(
                config.attempts_per_mac_per_minute,
                minute,
            ),
            per_ip: crate::rate_limit::RateLimiter::new(config.attempts_per_ip_per_minute, minute),
            hash_slots: Arc::new(Semaphore::new(cores)),
            coa_timeout: Duration::from_secs(2),
            coa_attempts: 3,
            wecom_token: wechat::WecomToken::default(),
            gateway: None,
            https_port: None,
            clock: crate::clock::Clock::System,
            coverage: crate::config::CoverageConfig::default(),
            sso: None,
            store,
            profiles,
            config,
            keys,
        }
    }
}

/// Portal sessions whose time ran out are ended, each with its row in the
/// authentication log, at most this many per pass.
const EXPIRIES_PER_PASS: i64 = 1000;

/// Ends the portal sessions whose time ran out and logs each end.
pub async fn log_expiries(store: &Store, now_ms: i64) -> Result<usize, crate::store::StoreError> {
    let mut total = 0;
    loop {
        let ended = store
            .portal_sessions()
            .expire_due(now_ms, EXPIRIES_PER_PASS)
            .await?;
        if ended.is_empty() {
            return Ok(total);
        }
        total += ended.len();
        let rows: Vec<_> = ended
            .iter()
            .map(|s| legal_log::end_record(s, "expired", s.expires_at))
            .collect();
        store.auth_log().insert_batch(&rows).await?;
        if ended.len() < EXPIRIES_PER_PASS as usize {
            return Ok(total);
        }
    }
}

/// Housekeeping: expired sessions are ended and logged (every
/// `expiry_every`); expired SMS codes and QR tickets go after a day;
/// portal sessions (who used which device and number) after the
/// retention period.
pub async fn maintenance(
    store: Store,
    retention_days: u32,
    every: Duration,
    expiry_every: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let expiry_store = store.clone();
    let expiry_stop = stop.clone();
    let expiries = tokio::spawn(async move {
        crate::periodic::every(expiry_every, expiry_stop, || async {
            match log_expiries(&expiry_store, crate::clock::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "portal sessions expired"),
                Err(e) => tracing::warn!(error = %e, "ending expired portal sessions failed"),
            }
        })
        .await;
    });
    crate::periodic::every(every, stop, || async {
        let now = crate::clock::now_ms();
        let day_ago = now - 86_400_000;
        let keep_from = now - i64::from(retention_days) * 86_400_000;
        let codes = store.sms_codes().purge(day_ago).await;
        let tickets = store.tickets().purge(day_ago).await;
        let sessions = store.portal_sessions().purge(keep_from).await;
        // The provider's codes, tokens and sessions a day past expiry
        // (kept that long so a late reuse is still recognised and refused).
        let oidc = store.oidc().purge(day_ago).await;
        match (codes, tickets, sessions, oidc) {
            (Ok(c), Ok(t), Ok(s), Ok(o)) => {
                tracing::debug!(
                    sms_codes = c,
                    tickets = t,
                    sessions = s,
                    oidc = o,
                    "portal records pruned"
                )
            }
            (c, t, s, o) => tracing::warn!(?c, ?t, ?s, ?o, "portal pruning failed"),
        }
    })
    .await;
    let _ = expiries.await;
}
