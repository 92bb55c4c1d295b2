//! The `[portal]` section of the configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// Mount /portal and /capport on the HTTP listener(s).
    pub enabled: bool,
    /// Base URL devices reach the portal at, e.g. "https://wifi.example.cn"
    /// (used in the CAPPORT API and in links handed to APs). Empty: taken
    /// from the request's Host header.
    #[serde(default, with = "super::opt_text")]
    pub public_url: Option<String>,
    /// Profile used by `/portal` without a profile name.
    pub default_profile: String,
    /// Logo, colours and texts; read at run time (edits show within seconds).
    pub branding_dir: PathBuf,
    /// HTTPS listener for the portal and the RFC 8908 API ("" = none).
    #[serde(default, with = "super::opt_text")]
    pub https_listen: Option<SocketAddr>,
    /// PEM certificate chain and private key for `https_listen`.
    #[serde(default, with = "super::opt_text")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, with = "super::opt_text")]
    pub tls_key: Option<PathBuf>,
    /// RFC 8908 venue-info-url ("" = not sent).
    #[serde(default, with = "super::opt_text")]
    pub venue_info_url: Option<String>,
    /// Length of a staff session.
    #[serde(with = "humantime_serde")]
    pub staff_session: Duration,
    /// Length of a session signed in by SMS code.
    #[serde(with = "humantime_serde")]
    pub sms_session: Duration,
    /// Length of a click-through (terms acceptance) session.
    #[serde(with = "humantime_serde")]
    pub click_through_session: Duration,
    /// SSIDs on which visitors may sign in by accepting the terms alone.
    pub click_through_ssids: Vec<String>,
    /// Hosts (names or addresses) the AP login URL may point at besides
    /// the configured NAS clients' addresses (e.g. a controller's virtual
    /// interface such as 192.0.2.1, or Aruba's securelogin name).
    pub allowed_login_hosts: Vec<String>,
    /// Reverse proxies (CIDRs) in front of the portal whose
    /// X-Forwarded-For names the client; from anyone else it is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where Portico itself lets a MAC in (RADIUS MAC authentication,
    /// gateway): "strict" signs in only a browser shown to be that device;
    /// "off" skips the check (a warning is logged at start).
    pub client_check: ClientCheck,
    /// Wrong passwords per account before portal and dashboard sign-in
    /// are locked for a while.
    pub account_lockout: LockoutConfig,
    /// Sign-in attempts (any method) per device MAC per minute.
    pub attempts_per_mac_per_minute: u32,
    /// Sign-in attempts per client source per minute (an IPv4 address, or
    /// an IPv6 /64).
    pub attempts_per_ip_per_minute: u32,
    /// IANA time zone for times on pages and voucher sheets.
    pub time_zone: String,
    /// SSID printed on voucher sheets ("" = none).
    #[serde(default, with = "super::opt_text")]
    pub voucher_ssid: Option<String>,
    /// How long the waiting page looks for the AP's accounting Start.
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    /// How often sessions whose time ran out are ended and logged.
    #[serde(with = "humantime_serde")]
    pub expiry_check: Duration,
    /// CoovaChilli `uamsecret` (must match the chilli configuration).
    #[serde(default, with = "super::opt_text")]
    pub coova_uam_secret: Option<Secret>,
    /// Tiles of the app launcher shown after sign-in.
    pub launcher: Vec<LauncherTile>,
    pub sms: SmsConfig,
    pub wechat: WechatConfig,
    pub wecom: WecomConfig,
    pub gateway: GatewayConfig,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            enabled: true,
            public_url: None,
            default_profile: "generic".into(),
            branding_dir: PathBuf::from("branding"),
            https_listen: None,
            tls_cert: None,
            tls_key: None,
            venue_info_url: None,
            staff_session: Duration::from_secs(8 * 3600),
            sms_session: Duration::from_secs(4 * 3600),
            click_through_session: Duration::from_secs(30 * 60),
            click_through_ssids: Vec::new(),
            allowed_login_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            client_check: ClientCheck::Strict,
            account_lockout: LockoutConfig::default(),
            attempts_per_mac_per_minute: 10,
            attempts_per_ip_per_minute: 30,
            time_zone: "Asia/Shanghai".into(),
            voucher_ssid: None,
            confirm_timeout: Duration::from_secs(30),
            expiry_check: Duration::from_secs(30),
            coova_uam_secret: None,
            sms: SmsConfig::default(),
            wechat: WechatConfig::default(),
            wecom: WecomConfig::default(),
            gateway: GatewayConfig::default(),
            launcher: Vec::new(),
        }
    }
}

/// How far the portal checks that the browser is the device it lets in.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientCheck {
    /// The browser's address must be the redirect's client IP, the IP the
    /// NAS reported for the MAC, or (gateway) the MAC's neighbour entry;
    /// where none of these is known, sign-in is refused.
    Strict,
    /// No check: any browser may sign in any MAC it names.
    Off,
}

/// Account lockout after wrong passwords (portal and dashboard; RADIUS
/// PAP failures count toward it but RADIUS is never locked).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Wrong passwords within `window` that lock the account.
    pub failures: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// How long the lock lasts.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            failures: 10,
            window: Duration::from_secs(15 * 60),
            duration: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LauncherTile {
    pub name: String,
    /// English name; `name` is shown when empty.
    #[serde(default)]
    pub name_en: String,
    /// An emoji or a short text shown as the icon, or an image URL path.
    #[serde(default)]
    pub icon: String,
    pub url: String,
    /// Groups that see the tile; empty: everyone signed in.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The OpenID Connect client (`portico oidc client add NAME`) the app
    /// is: the tile then opens `url` as a third-party-initiated login
    /// (OpenID Connect Core §4: `iss` and `target_link_uri` added), and
    /// the app signs the person in with Portico at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// Which SMS gateway API is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    /// A JSON POST (phone, sign name, template, code, HMAC signature).
    GenericJson,
    /// Alibaba Cloud's SendSms: a form with an HMAC-SHA1 signature.
    Aliyun,
}

impl super::TextValue for SmsProvider {
    fn from_text(s: &str) -> Result<Self, String> {
        match s {
            "generic-json" => Ok(SmsProvider::GenericJson),
            "aliyun" => Ok(SmsProvider::Aliyun),
            other => Err(format!(
                "{other:?}: expected \"generic-json\" or \"aliyun\" (or \"\" for no SMS sign-in)"
            )),
        }
    }

    fn to_text(&self) -> String {
        match self {
            SmsProvider::GenericJson => "generic-json",
            SmsProvider::Aliyun => "aliyun",
        }
        .to_string()
    }
}

/// SMS gateway: an HTTP API taking the phone number, template and code.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// Off when absent or ""; "generic-json", or "aliyun" (Alibaba Cloud's
    /// signed SendSms form).
    #[serde(default, with = "super::opt_text")]
    pub provider: Option<SmsProvider>,
    /// The gateway endpoint, e.g. "https://dysmsapi.aliyuncs.com/".
    #[serde(default, with = "super::opt_text")]
    pub url: Option<String>,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub sign_name: String,
    pub template_code: String,
    #[serde(with = "humantime_serde")]
    pub code_ttl: Duration,
    pub per_phone_per_hour: u32,
    pub per_device_per_hour: u32,
    /// All codes sent per hour (a cost ceiling).
    pub per_hour_total: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: None,
            url: None,
            access_key_id: String::new(),
            access_key_secret: Secret(String::new()),
            sign_name: String::new(),
            template_code: String::new(),
            code_ttl: Duration::from_secs(300),
            per_phone_per_hour: 5,
            per_device_per_hour: 10,
            per_hour_total: 1000,
        }
    }
}

/// WeChat official account web authorization (OAuth 2.0).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    pub enabled: bool,
    pub appid: String,
    pub secret: Secret,
    /// "snsapi_base" (openid only) or "snsapi_userinfo".
    pub scope: String,
    /// Base of the authorize page.
    pub oauth_base: String,
    /// Base of the sns/oauth2 and sns/userinfo APIs.
    pub api_base: String,
    /// Hosts a client may reach before sign-in while it runs OAuth.
    pub walled_garden: Vec<String>,
    #[serde(with = "humantime_serde")]
    pub walled_garden_time: Duration,
    /// Length of a session signed in through WeChat (visitors).
    #[serde(with = "humantime_serde")]
    pub session: Duration,
}

impl Default for WechatConfig {
    fn default() -> Self {
        WechatConfig {
            enabled: false,
            appid: String::new(),
            secret: Secret(String::new()),
            scope: "snsapi_base".into(),
            oauth_base: "https://open.weixin.qq.com".into(),
            api_base: "https://api.weixin.qq.com".into(),
            walled_garden: vec![
                "open.weixin.qq.com".into(),
                "api.weixin.qq.com".into(),
                "res.wx.qq.com".into(),
                "long.open.weixin.qq.com".into(),
            ],
            walled_garden_time: Duration::from_secs(120),
            session: Duration::from_secs(4 * 3600),
        }
    }
}

/// WeCom (enterprise WeChat) OAuth for staff.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WecomConfig {
    pub enabled: bool,
    pub corpid: String,
    pub corpsecret: Secret,
    pub agentid: String,
    pub oauth_base: String,
    pub api_base: String,
}

impl Default for WecomConfig {
    fn default() -> Self {
        WecomConfig {
            enabled: false,
            corpid: String::new(),
            corpsecret: Secret(String::new()),
            agentid: String::new(),
            oauth_base: "https://open.weixin.qq.com".into(),
            api_base: "https://qyapi.weixin.qq.com".into(),
        }
    }
}

/// Gateway mode (Linux, root): Portico is the clients' router.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    pub enabled: bool,
    /// Interface facing the clients.
    pub interface: String,
    /// nftables table (family inet) Portico owns.
    pub nft_table: String,
    /// Port of the portal that unauthorised HTTP is redirected to.
    pub portal_port: u16,
    /// Addresses reachable before sign-in besides DNS (CIDRs).
    pub walled_garden: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            enabled: false,
            interface: String::new(),
            nft_table: "portico".into(),
            portal_port: 8080,
            walled_garden: Vec::new(),
        }
    }
}

impl PortalConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.https_listen.is_some() && (self.tls_cert.is_none() || self.tls_key.is_none()) {
            return invalid("portal.https_listen needs portal.tls_cert and portal.tls_key".into());
        }
        let url = self.public_url.as_deref().unwrap_or("");
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return invalid(format!(
                "portal.public_url {:?} must start with http:// or https://",
                self.public_url
            ));
        }
        if self.attempts_per_mac_per_minute == 0 || self.attempts_per_ip_per_minute == 0 {
            return invalid("portal.attempts_per_*_per_minute must be at least 1".into());
        }
        if self.expiry_check.is_zero() {
            return invalid("portal.expiry_check must be above 0".into());
        }
        let lock = &self.account_lockout;
        if lock.failures == 0 || lock.window.is_zero() || lock.duration.is_zero() {
            return invalid(
                "portal.account_lockout: failures, window and duration must be above 0".into(),
            );
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return invalid(format!(
                "portal.time_zone {:?} is not an IANA time zone such as \"Asia/Shanghai\"",
                self.time_zone
            ));
        }
        for host in &self.allowed_login_hosts {
            if host.is_empty()
                || host.len() > 253
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
            {
                return invalid(format!(
                    "portal.allowed_login_hosts: {host:?} is not a host name or address"
                ));
            }
        }
        for t in &self.launcher {
            if !(t.url.starts_with("https://")
                || t.url.starts_with("http://")
                || t.url.starts_with('/'))
            {
                return invalid(format!(
                    "portal.launcher {:?}: url must be http(s):// or a path",
                    t.name
                ));
            }
        }
        if self.sms.provider.is_some() && self.sms.url.is_none() {
            return invalid("portal.sms.url is required when portal.sms.provider is set".into());
        }
        if self.wechat.enabled
            && (self.wechat.appid.is_empty() || self.wechat.secret.expose().is_empty())
        {
            return invalid("portal.wechat needs appid and secret when enabled".into());
        }
        if !matches!(
            self.wechat.scope.as_str(),
            "snsapi_base" | "snsapi_userinfo"
        ) {
            return invalid(format!(
                "portal.wechat.scope {:?}: expected snsapi_base or snsapi_userinfo",
                self.wechat.scope
            ));
        }
        if self.wecom.enabled
            && (self.wecom.corpid.is_empty() || self.wecom.corpsecret.expose().is_empty())
        {
            return invalid("portal.wecom needs corpid and corpsecret when enabled".into());
        }
        if self.gateway.enabled && self.gateway.interface.is_empty() {
            return invalid("portal.gateway.interface is required when gateway mode is on".into());
        }
        if self.gateway.enabled && self.public_url.is_none() {
            return invalid(
                "portal.public_url is required in gateway mode (redirected clients ask for other hosts)"
                    .into(),
            );
        }
        Ok(())
    }
}
