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
pub mod cli;
pub mod config;
pub mod context;
pub mod handoff;
pub mod http_client;
pub mod i18n;
pub mod launcher;
pub mod limits;
pub mod pages;
pub mod profile;
pub mod signin;
pub mod sms;
pub mod tls;
pub mod tokens;
pub mod vouchers;
pub mod web;
pub mod wechat;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::profiles::Profiles;
use crate::store::Store;

pub use config::PortalConfig;
pub use web::router;

/// Everything the portal's handlers share.
pub struct PortalState {
    pub store: Store,
    pub profiles: Arc<Profiles>,
    pub config: PortalConfig,
    pub keys: tokens::PortalKeys,
    pub branding: branding::BrandingSource,
    pub per_mac: limits::RateLimiter,
    pub per_ip: limits::RateLimiter,
    /// argon2id verifications at once (CPU- and memory-heavy).
    pub hash_slots: Arc<Semaphore>,
    /// RADIUS CoA client settings for sign-out and revocation.
    pub coa_timeout: Duration,
    pub coa_attempts: u32,
    /// WeCom's access token cache.
    pub wecom_token: wechat::WecomToken,
    /// Gateway mode's nftables control, when enabled.
    pub gateway: Option<crate::gateway::Gateway>,
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
        PortalState {
            branding: branding::BrandingSource::new(config.branding_dir.clone()),
            per_mac: limits::RateLimiter::new(config.attempts_per_mac_per_minute, minute),
            per_ip: limits::RateLimiter::new(config.attempts_per_ip_per_minute, minute),
            hash_slots: Arc::new(Semaphore::new(cores)),
            coa_timeout: Duration::from_secs(2),
            coa_attempts: 3,
            wecom_token: wechat::WecomToken::default(),
            gateway: None,
            store,
            profiles,
            config,
            keys,
        }
    }
}

/// Housekeeping: expired SMS codes and QR tickets go after a day; portal
/// sessions (who used which device and number) after the retention period.
pub async fn maintenance(
    store: Store,
    retention_days: u32,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    crate::periodic::every(every, stop, || async {
        let now = crate::radius::server::now_ms();
        let day_ago = now - 86_400_000;
        let keep_from = now - i64::from(retention_days) * 86_400_000;
        let codes = store.sms_codes().purge(day_ago).await;
        let tickets = store.tickets().purge(day_ago).await;
        let sessions = store.portal_sessions().purge(keep_from).await;
        match (codes, tickets, sessions) {
            (Ok(c), Ok(t), Ok(s)) => {
                tracing::debug!(
                    sms_codes = c,
                    tickets = t,
                    sessions = s,
                    "portal records pruned"
                )
            }
            (c, t, s) => tracing::warn!(?c, ?t, ?s, "portal pruning failed"),
        }
    })
    .await;
}
