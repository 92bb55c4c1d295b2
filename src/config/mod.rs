//! Configuration: a TOML file, `PORTICO_*` environment overrides, defaults,
//! and validation with messages that name the file, line and key.
//!
//! Every key can be overridden by `PORTICO_<SECTION>__<KEY>` (top-level keys
//! by `PORTICO_<KEY>`); e.g. `PORTICO_RADIUS__AUTH_LISTEN=127.0.0.1:0`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod listeners;
pub mod portal;
mod radius;
mod snmp;

pub use listeners::{AdminConfig, HttpConfig, SyslogTarget, SyslogTransport};
pub use portal::PortalConfig;
pub use radius::{EapConfig, IdentityField, RadiusConfig};
pub use snmp::{ReachabilityMode, SnmpConfig, SnmpTrapUser};

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "PORTICO_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {var}: {reason}")]
    Env { var: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A value written in the config file as text. Optional ones are `None`
/// when absent or `""` (so an older file's `key = ""` still means off).
pub trait TextValue: Sized {
    fn from_text(s: &str) -> Result<Self, String>;
    fn to_text(&self) -> String;
}

impl TextValue for String {
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
    fn to_text(&self) -> String {
        self.clone()
    }
}

impl TextValue for PathBuf {
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(PathBuf::from(s))
    }
    fn to_text(&self) -> String {
        self.display().to_string()
    }
}

impl TextValue for std::net::SocketAddr {
    fn from_text(s: &str) -> Result<Self, String> {
        s.parse()
            .map_err(|_| format!("{s:?} is not an address:port"))
    }
    fn to_text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for Secret {
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(Secret(s.to_string()))
    }
    fn to_text(&self) -> String {
        self.0.clone()
    }
}

/// `#[serde(with = "opt_text")]` for `Option<T: TextValue>`.
pub(crate) mod opt_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::TextValue;

    pub fn serialize<S: Serializer, T: TextValue>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&v.to_text()),
            // "" reads back as None.
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TextValue>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        T::from_text(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// A secret from the config file; `Debug` and `Display` never print it.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database, the data key and generated certificates live.
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub runtime: RuntimeConfig,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    /// The management listener: dashboard, API, metrics.
    pub admin: AdminConfig,
    pub radius: RadiusConfig,
    pub retention: RetentionConfig,
    pub profiles: ProfilesConfig,
    /// Captive portal, CAPPORT API and app launcher.
    pub portal: PortalConfig,
    pub eap: EapConfig,
    /// SNMP polling, traps and alerts.
    pub snmp: SnmpConfig,
    /// Floor plans, RF prediction, KPIs and holes.
    pub coverage: CoverageConfig,
    /// The OpenID Connect provider of the building's apps.
    pub sso: SsoConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            log: LogConfig::default(),
            runtime: RuntimeConfig::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            admin: AdminConfig::default(),
            radius: RadiusConfig::default(),
            retention: RetentionConfig::default(),
            profiles: ProfilesConfig::default(),
            portal: PortalConfig::default(),
            eap: EapConfig::default(),
            snmp: SnmpConfig::default(),
            coverage: CoverageConfig::default(),
            sso: SsoConfig::default(),
        }
    }
}

/// `[sso]`: Portico as the apps' OpenID Connect provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// The issuer URL; empty: `portal.public_url` + `/oidc` (and no
    /// provider when that is not set either). HTTPS except on loopback.
    pub issuer: String,
    /// How long a rotated-out signing key stays in the JWKS.
    #[serde(with = "humantime_serde")]
    pub key_grace: std::time::Duration,
    /// How long an authorization code may wait for its exchange.
    #[serde(with = "humantime_serde")]
    pub code_ttl: std::time::Duration,
    /// Access and ID tokens' lifetime.
    #[serde(with = "humantime_serde")]
    pub access_ttl: std::time::Duration,
    /// A refresh token's lifetime (each refresh issues a new one).
    #[serde(with = "humantime_serde")]
    pub refresh_ttl: std::time::Duration,
    /// How long a sign-in at the provider (password, WeChat) lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: std::time::Duration,
    /// Presence: an accounting session whose NAS sends interim updates
    /// counts as here until this long after the last one (a NAS that
    /// lost the Stop); sessions without interim updates count until Stop.
    #[serde(with = "humantime_serde")]
    pub presence_idle: std::time::Duration,
}

impl Default for SsoConfig {
    fn default() -> Self {
        SsoConfig {
            issuer: String::new(),
            key_grace: std::time::Duration::from_secs(24 * 3600),
            code_ttl: std::time::Duration::from_secs(60),
            access_ttl: std::time::Duration::from_secs(3600),
            refresh_ttl: std::time::Duration::from_secs(8 * 3600),
            session_ttl: std::time::Duration::from_secs(8 * 3600),
            presence_idle: std::time::Duration::from_secs(30 * 60),
        }
    }
}

impl SsoConfig {
    /// The issuer: `sso.issuer`, else the portal's public URL + `/oidc`.
    pub fn issuer_of(&self, portal_public_url: Option<&str>) -> Option<String> {
        let configured = self.issuer.trim().trim_end_matches('/');
        if !configured.is_empty() {
            return Some(configured.to_string());
        }
        portal_public_url
            .map(|u| format!("{}/oidc", u.trim_end_matches('/')))
            .filter(|u| !u.is_empty())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let issuer = self.issuer.trim();
        if !issuer.is_empty() {
            let ok = issuer.starts_with("https://")
                || ["http://127.", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| issuer.starts_with(p));
            if !ok || issuer.contains('#') || issuer.contains('?') {
                return Err(ConfigError::Invalid(
                    "sso.issuer must be an https:// URL (http only on loopback), without query or fragment".into(),
                ));
            }
        }
        let secs = std::time::Duration::from_secs;
        for (key, value, min, max) in [
            ("code_ttl", self.code_ttl, secs(1), secs(600)),
            ("access_ttl", self.access_ttl, secs(60), secs(24 * 3600)),
            ("refresh_ttl", self.refresh_ttl, secs(60), secs(30 * 86400)),
            ("session_ttl", self.session_ttl, secs(60), secs(30 * 86400)),
            ("presence_idle", self.presence_idle, secs(1), secs(86400)),
        ] {
            if value < min || value > max {
                return Err(ConfigError::Invalid(format!(
                    "sso.{key} must be between {} and {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                )));
            }
        }
        if self.key_grace < std::time::Duration::from_secs(60) {
            return Err(ConfigError::Invalid(
                "sso.key_grace must be at least 1m".into(),
            ));
        }
        Ok(())
    }
}

/// `[coverage]`: how floors are predicted and judged.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageConfig {
    /// Grid cell size (m).
    pub resolution: f64,
    /// Signal a place needs to count as covered (dBm); below it, holes.
    pub target_dbm: f64,
    /// Smallest hole that is reported (m²).
    pub hole_min_area: f64,
    /// Height of a phone or laptop above its floor (m).
    pub receiver_height: f64,
    /// Regulatory domain of the channel plan: `cn`, `etsi` or `fcc`.
    pub region: String,
    /// How often the floors are predicted again and their holes raised
    /// or cleared as alerts.
    #[serde(with = "humantime_serde")]
    pub alert_interval: std::time::Duration,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        CoverageConfig {
            resolution: 0.5,
            target_dbm: -67.0,
            hole_min_area: 4.0,
            receiver_height: 1.0,
            region: "cn".into(),
            alert_interval: std::time::Duration::from_secs(300),
        }
    }
}

impl CoverageConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if !(0.1..=5.0).contains(&self.resolution) {
            return bad("coverage.resolution must be between 0.1 and 5 (metres)");
        }
        if !(-100.0..=-30.0).contains(&self.target_dbm) {
            return bad("coverage.target_dbm must be between -100 and -30 (dBm)");
        }
        if !(0.0..=10_000.0).contains(&self.hole_min_area) {
            return bad("coverage.hole_min_area must be between 0 and 10000 (m²)");
        }
        if !(0.0..=10.0).contains(&self.receiver_height) {
            return bad("coverage.receiver_height must be between 0 and 10 (metres)");
        }
        if self.alert_interval < std::time::Duration::from_millis(100) {
            return bad("coverage.alert_interval must be at least 100ms");
        }
        if !matches!(self.region.as_str(), "cn" | "etsi" | "fcc") {
            return bad("coverage.region must be cn, etsi or fcc");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Threads that run the listeners and handlers. 0: one less than the
    /// cores (at least one), which leaves a core to the store's thread and
    /// password hashing and avoids cross-thread wake-ups on small machines.
    pub worker_threads: usize,
}

impl RuntimeConfig {
    /// The number of worker threads to start.
    pub fn effective_worker_threads(&self) -> usize {
        if self.worker_threads > 0 {
            return self.worker_threads;
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        cores.saturating_sub(1).max(1)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` for a terminal, `json` for a log collector.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,portico::radius=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty: SQLite in `data_dir/portico.db`. `postgres://...` for PostgreSQL.
    #[serde(default, with = "opt_text")]
    pub url: Option<Secret>,
    pub max_connections: u32,
    /// Nice value (0-19) of SQLite's connection threads: above 0 lets
    /// request handling go first when every core is busy.
    pub sqlite_thread_nice: i32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 8,
            sqlite_thread_nice: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days to keep authentication logs, accounting and events. The PRC
    /// Cybersecurity Law asks for at least 180 days of network logs.
    pub days: u32,
    /// Allow fewer than 180 days (a test lab, not a production site).
    pub allow_below_legal_minimum: bool,
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            days: 180,
            allow_below_legal_minimum: false,
            prune_interval: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfilesConfig {
    /// Directory of vendor profiles; empty uses the built-in generic profile.
    pub dir: PathBuf,
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        ProfilesConfig {
            dir: PathBuf::from("ap-profiles"),
        }
    }
}

/// 802.1X: EAP methods, certificates and conversation limits.
/// The legal minimum for network logs (days).
pub const LEGAL_MINIMUM_RETENTION_DAYS: u32 = 180;

impl Config {
    /// Load from an optional file, then apply `PORTICO_*` overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (String::new(), "(defaults)".to_string()),
        };
        Self::from_toml_str(&text, &origin, env)
    }

    pub fn from_toml_str(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // First pass: the file alone, so that errors point at its lines.
        let file_cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: describe_toml_error(text, &e),
        })?;
        let mut table = toml::Value::try_from(&file_cfg)
            .map_err(|e| ConfigError::Invalid(format!("cannot re-serialize: {e}")))?;
        let mut any_override = false;
        // Keys that are optional and unset are absent from `table`: the
        // sample file, which writes every key down, says they exist and
        // what type they take.
        let schema: toml::Value = toml::from_str(Self::sample()).map_err(|e| {
            ConfigError::Invalid(format!("the built-in sample does not parse: {e}"))
        })?;
        for (var, value) in env {
            let Some(key) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if is_reserved_env(key) {
                continue;
            }
            apply_env_override(&mut table, &schema, &var, key, &value)?;
            any_override = true;
        }
        let cfg: Config = if any_override {
            table
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Env {
                    var: "PORTICO_*".into(),
                    reason: e.message().to_string(),
                })?
        } else {
            file_cfg
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retention.days < LEGAL_MINIMUM_RETENTION_DAYS
            && !self.retention.allow_below_legal_minimum
        {
            return Err(ConfigError::Invalid(format!(
                "retention.days = {} is below the legal minimum of {} days for network logs; \
                 set retention.allow_below_legal_minimum = true only for a test lab",
                self.retention.days, LEGAL_MINIMUM_RETENTION_DAYS
            )));
        }
        if self.radius.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "radius.max_in_flight must be at least 1".into(),
            ));
        }
        if self.radius.accounting_batch == 0 {
            return Err(ConfigError::Invalid(
                "radius.accounting_batch must be at least 1".into(),
            ));
        }
        if self.radius.coa_attempts == 0 {
            return Err(ConfigError::Invalid(
                "radius.coa_attempts must be at least 1".into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if !(0..=19).contains(&self.database.sqlite_thread_nice) {
            return Err(ConfigError::Invalid(
                "database.sqlite_thread_nice must be between 0 and 19".into(),
            ));
        }
        let eap = &self.eap;
        if !(64..=3000).contains(&eap.fragment_size) {
            return Err(ConfigError::Invalid(
                "eap.fragment_size must be between 64 and 3000".into(),
            ));
        }
        if eap.max_conversations == 0 || eap.max_conversations_per_nas == 0 {
            return Err(ConfigError::Invalid(
                "eap.max_conversations and eap.max_conversations_per_nas must be at least 1".into(),
            ));
        }
        if let Some(m) = eap
            .methods
            .iter()
            .find(|m| !matches!(m.as_str(), "peap" | "ttls" | "tls"))
        {
            return Err(ConfigError::Invalid(format!(
                "eap.methods: unknown method {m:?} (peap, ttls, tls)"
            )));
        }
        if eap.tls_identity.is_empty() {
            return Err(ConfigError::Invalid(
                "eap.tls_identity must name at least one field (upn, email, cn, dns)".into(),
            ));
        }
        if eap.certificate.is_some() != eap.private_key.is_some() {
            return Err(ConfigError::Invalid(
                "eap.certificate and eap.private_key must be set together".into(),
            ));
        }
        if self.admin.tls_cert.is_some() != self.admin.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "admin.tls_cert and admin.tls_key must be set together".into(),
            ));
        }
        if self.admin.listen == self.http.listen && self.http.listen.port() != 0 {
            return Err(ConfigError::Invalid(
                "admin.listen must differ from http.listen (guests reach the portal listener)"
                    .into(),
            ));
        }
        self.portal.validate()?;
        self.snmp.validate()?;
        self.coverage.validate()?;
        self.sso.validate()?;
        let url = self.database.url.as_ref().map(Secret::expose).unwrap_or("");
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database.url must be empty (SQLite in data_dir), sqlite:..., or postgres://..."
                    .into(),
            ));
        }
        Ok(())
    }

    /// The sample file with every default written down, as shipped in the repo.
    pub fn sample() -> &'static str {
        include_str!("../../portico.example.toml")
    }
}

/// Variables that configure the process but are not config keys.
fn is_reserved_env(key: &str) -> bool {
    matches!(key, "CONFIG" | "LOG")
}

fn apply_env_override(
    table: &mut toml::Value,
    schema: &toml::Value,
    var: &str,
    key: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let path: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
    let unknown = || ConfigError::Env {
        var: var.to_string(),
        reason: format!(
            "no config key {} (unknown keys are rejected)",
            path.join(".")
        ),
    };
    if path.iter().any(String::is_empty) {
        return Err(unknown());
    }
    let mut node = table;
    let mut shape = Some(schema);
    for part in &path[..path.len() - 1] {
        node = node.get_mut(part.as_str()).ok_or_else(unknown)?;
        shape = shape.and_then(|s| s.get(part.as_str()));
        if !node.is_table() {
            return Err(unknown());
        }
    }
    let last = path.last().ok_or_else(unknown)?;
    let table = node.as_table_mut().ok_or_else(unknown)?;
    // An unset optional key: its place in the sample gives its type.
    if !table.contains_key(last.as_str()) {
        let example = shape
            .and_then(|s| s.get(last.as_str()))
            .cloned()
            .ok_or_else(unknown)?;
        table.insert(last.clone(), example);
    }
    let slot = table.get_mut(last.as_str()).ok_or_else(unknown)?;
    // The default's type says how to read the text: strings stay strings
    // (so a secret "12345" is not turned into a number).
    let value = match slot {
        toml::Value::String(_) => toml::Value::String(raw.to_string()),
        toml::Value::Table(_) => {
            return Err(ConfigError::Env {
                var: var.to_string(),
                reason: format!("{} is a section, not a key", path.join(".")),
            })
        }
        _ => {
            let doc = format!("v = {raw}");
            let parsed: toml::Table = toml::from_str(&doc).map_err(|_| ConfigError::Env {
                var: var.to_string(),
                reason: format!("{raw:?} is not a valid value for {}", path.join(".")),
            })?;
            parsed.get("v").cloned().ok_or_else(unknown)?
        }
    };
    *slot = value;
    Ok(())
}

/// toml's message plus the line number, so admins can find the spot.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", err.message())
        }
        None => err.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn sample_file_parses_and_equals_defaults() {
        let cfg = Config::from_toml_str(Config::sample(), "sample", env(&[])).unwrap();
        let defaults = Config::default();
        assert_eq!(
            toml::to_string(&cfg).unwrap(),
            toml::to_string(&defaults).unwrap(),
            "portico.example.toml must write down exactly the defaults"
        );
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = "data_dir = \"x\"\n[radius]\nauth_listen = \"127.0.0.1:0\"\nbogus = 1\n";
        let err = Config::from_toml_str(text, "portico.toml", env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("portico.toml"), "{msg}");
        assert!(msg.contains("line 4"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn env_overrides_apply_by_type() {
        let cfg = Config::from_toml_str(
            "",
            "x",
            env(&[
                ("PORTICO_DATA_DIR", "/tmp/p"),
                ("PORTICO_RADIUS__AUTH_LISTEN", "127.0.0.1:0"),
                ("PORTICO_RADIUS__MAX_IN_FLIGHT", "7"),
                ("PORTICO_RADIUS__DUPLICATE_WINDOW", "10s"),
                ("PORTICO_DATABASE__URL", "postgres://u@h/db"),
                ("PORTICO_RADIUS__STORE_NT_HASH", "false"),
                ("PORTICO_CONFIG", "ignored.toml"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/p"));
        assert_eq!(cfg.radius.auth_listen.port(), 0);
        assert_eq!(cfg.radius.max_in_flight, 7);
        assert_eq!(cfg.radius.duplicate_window, Duration::from_secs(10));
        assert_eq!(
            cfg.database.url.as_ref().map(Secret::expose),
            Some("postgres://u@h/db")
        );
        assert!(!cfg.radius.store_nt_hash);
    }

    #[test]
    fn env_unknown_key_and_bad_value_are_refused() {
        let err =
            Config::from_toml_str("", "x", env(&[("PORTICO_RADIUS__NOPE", "1")])).unwrap_err();
        assert!(err.to_string().contains("PORTICO_RADIUS__NOPE"), "{err}");
        let err = Config::from_toml_str("", "x", env(&[("PORTICO_RADIUS__MAX_IN_FLIGHT", "lots")]))
            .unwrap_err();
        assert!(err.to_string().contains("MAX_IN_FLIGHT"), "{err}");
        let err = Config::from_toml_str("", "x", env(&[("PORTICO_HTTP__LISTEN", "nonsense")]))
            .unwrap_err();
        assert!(err.to_string().contains("PORTICO_"), "{err}");
        let err = Config::from_toml_str("", "x", env(&[("PORTICO_RADIUS", "x")])).unwrap_err();
        assert!(err.to_string().contains("section"), "{err}");
        let err = Config::from_toml_str("[database]\nsqlite_thread_nice = -5\n", "x", env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("sqlite_thread_nice"), "{err}");
    }

    #[test]
    fn optional_values_are_none_when_absent_or_empty_and_settable_from_the_environment() {
        let d = Config::default();
        assert!(d.database.url.is_none() && d.portal.public_url.is_none());
        assert!(d.portal.sms.provider.is_none() && d.eap.client_ca.is_none());
        // An older file's "" still means off.
        let text =
            "[database]\nurl = \"\"\n[portal]\npublic_url = \"\"\n[portal.sms]\nprovider = \"\"\n";
        let cfg = Config::from_toml_str(text, "old.toml", env(&[])).unwrap();
        assert!(cfg.database.url.is_none() && cfg.portal.public_url.is_none());
        assert!(cfg.portal.sms.provider.is_none());
        let cfg = Config::from_toml_str(
            "",
            "x",
            env(&[
                ("PORTICO_PORTAL__PUBLIC_URL", "https://wifi.example.cn"),
                ("PORTICO_PORTAL__HTTPS_LISTEN", "127.0.0.1:8443"),
                ("PORTICO_PORTAL__TLS_CERT", "/etc/portico/portal.pem"),
                ("PORTICO_PORTAL__TLS_KEY", "/etc/portico/portal.key"),
                ("PORTICO_PORTAL__SMS__PROVIDER", "aliyun"),
                ("PORTICO_PORTAL__SMS__URL", "https://dysmsapi.aliyuncs.com/"),
                ("PORTICO_EAP__CLIENT_CA", "/etc/portico/devices.pem"),
                ("PORTICO_ADMIN__METRICS_TOKEN", "12345"),
                ("PORTICO_SNMP__ALERT_WEBHOOK", "http://127.0.0.1:9/hook"),
            ]),
        )
        .unwrap();
        assert_eq!(
            cfg.portal.public_url.as_deref(),
            Some("https://wifi.example.cn")
        );
        assert_eq!(
            cfg.portal.https_listen,
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(cfg.portal.sms.provider, Some(portal::SmsProvider::Aliyun));
        assert_eq!(
            cfg.eap.client_ca.as_deref(),
            Some(Path::new("/etc/portico/devices.pem"))
        );
        assert_eq!(
            cfg.admin.metrics_token.as_ref().map(Secret::expose),
            Some("12345"),
            "a secret of digits stays text"
        );
        assert!(cfg.snmp.alert_webhook.is_some());
        // Alternatives are checked; so is a half-set pair.
        let e = Config::from_toml_str("", "x", env(&[("PORTICO_PORTAL__SMS__PROVIDER", "pigeon")]))
            .unwrap_err();
        assert!(e.to_string().contains("generic-json"), "{e}");
        let e = Config::from_toml_str("[portal]\nhttps_listen = \"127.0.0.1:1\"\n", "x", env(&[]))
            .unwrap_err();
        assert!(e.to_string().contains("tls_cert"), "{e}");
    }

    #[test]
    fn retention_below_legal_minimum_needs_explicit_consent() {
        let err = Config::from_toml_str("[retention]\ndays = 30\n", "x", env(&[])).unwrap_err();
        assert!(err.to_string().contains("180"), "{err}");
        Config::from_toml_str(
            "[retention]\ndays = 30\nallow_below_legal_minimum = true\n",
            "x",
            env(&[]),
        )
        .unwrap();
    }

    #[test]
    fn secrets_do_not_print() {
        let mut cfg = Config::default();
        cfg.database.url = Some(Secret("postgres://user:hunter2@db/x".into()));
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
