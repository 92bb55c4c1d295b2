//! `[snmp]`: polling, traps and alerts.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// How the SNMP scheduler decides that an AP is reachable.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReachabilityMode {
    /// ICMP echo when the process may open a raw socket, else SNMP.
    Auto,
    Icmp,
    Snmp,
}

/// An SNMPv3 user that traps may come from (keys are localised with the
/// sender's engine id).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SnmpTrapUser {
    pub user: String,
    /// md5, sha1, sha224, sha256, sha384, sha512; empty: noAuthNoPriv.
    #[serde(default)]
    pub auth_protocol: String,
    #[serde(default)]
    pub auth_password: Secret,
    /// des, aes128, aes192, aes256; empty: no privacy.
    #[serde(default)]
    pub priv_protocol: String,
    #[serde(default)]
    pub priv_password: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnmpConfig {
    /// Poll the inventory and receive traps.
    pub enabled: bool,
    /// Each AP is polled this often (spread over the interval).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Trap receiver (UDP; 162 needs root).
    pub trap_listen: SocketAddr,
    /// First attempt's timeout; each retry doubles it.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub retries: u32,
    /// GETBULK max-repetitions (shared by the columns of one walk).
    pub max_repetitions: u32,
    /// Polls in flight at once.
    pub concurrency: usize,
    /// An AP is down after this many failed cycles in a row.
    pub down_after: u32,
    /// `auto` (ICMP when permitted, else SNMP), `icmp` or `snmp`.
    pub reachability: ReachabilityMode,
    /// How often the inventory is re-read.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Raw samples are kept this long, then 5-minute averages, then hourly.
    #[serde(with = "humantime_serde")]
    pub keep_raw: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_five_minute: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_hourly: Duration,
    /// Alert thresholds per radio (0 turns one off): channel utilization in
    /// percent, clients, noise floor in dBm (alert at or above).
    pub alert_utilization: i64,
    pub alert_clients_per_radio: i64,
    pub alert_noise_floor: i64,
    /// `http(s)://host[:port]/path` that receives raised and cleared alerts as JSON.
    #[serde(default, with = "super::opt_text")]
    pub alert_webhook: Option<String>,
    /// SNMPv3 users for traps.
    pub trap_users: Vec<SnmpTrapUser>,
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            enabled: true,
            poll_interval: Duration::from_secs(60),
            trap_listen: SocketAddr::from(([0, 0, 0, 0], 1162)),
            timeout: Duration::from_secs(2),
            retries: 2,
            max_repetitions: 25,
            concurrency: 256,
            down_after: 3,
            reachability: ReachabilityMode::Auto,
            refresh_interval: Duration::from_secs(10),
            keep_raw: Duration::from_secs(48 * 3600),
            keep_five_minute: Duration::from_secs(30 * 86_400),
            keep_hourly: Duration::from_secs(365 * 86_400),
            alert_utilization: 80,
            alert_clients_per_radio: 50,
            alert_noise_floor: -75,
            alert_webhook: None,
            trap_users: Vec::new(),
        }
    }
}

impl SnmpConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(format!("snmp.{m}")));
        if self.poll_interval < Duration::from_millis(100) {
            return bad("poll_interval must be at least 100ms");
        }
        if self.timeout.is_zero() {
            return bad("timeout must be above zero");
        }
        if self.concurrency == 0 || self.down_after == 0 {
            return bad("concurrency and down_after must be at least 1");
        }
        if !(1..=1000).contains(&self.max_repetitions) {
            return bad("max_repetitions must be 1 to 1000");
        }
        let hook = self.alert_webhook.as_deref().unwrap_or("");
        if !(hook.is_empty() || hook.starts_with("http://") || hook.starts_with("https://")) {
            return bad("alert_webhook must be empty or an http(s):// URL");
        }
        for u in &self.trap_users {
            if u.user.is_empty() {
                return bad("trap_users: user is empty");
            }
            let auth_ok = u.auth_protocol.is_empty()
                || crate::domain::AuthProtocol::parse(&u.auth_protocol).is_some();
            let priv_ok = u.priv_protocol.is_empty()
                || crate::domain::PrivProtocol::parse(&u.priv_protocol).is_some();
            if !auth_ok || !priv_ok {
                return bad(&format!("trap_users: user {}: unknown protocol", u.user));
            }
            if !u.priv_protocol.is_empty() && u.auth_protocol.is_empty() {
                return bad(&format!(
                    "trap_users: user {}: privacy needs authentication",
                    u.user
                ));
            }
        }
        Ok(())
    }
}
