//! WeChat official-account web authorization (OAuth 2.0: authorize, code
//! exchange, user info) and WeCom OAuth for staff (gettoken, getuserinfo),
//! every base URL configurable. Codes are single-use at WeChat; tickets
//! (the QR flow) are single-use here.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::signin::{self, Identity, SignInError};
use super::PortalState;
use crate::config::portal::{WechatConfig, WecomConfig};
use crate::http_client::{self, pct};

const API_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a QR code / OAuth round trip may take.
pub const TICKET_TTL_MS: i64 = 10 * 60 * 1000;
/// WeCom: access token expired or invalid; fetch a new one and retry once.
const WECOM_TOKEN_ERRORS: [i64; 2] = [42001, 40014];

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{api}: errcode {errcode}: {errmsg}")]
    Api {
        api: &'static str,
        errcode: i64,
        errmsg: String,
    },
    #[error("{0}")]
    Http(String),
    #[error("{0}: unexpected answer")]
    Shape(&'static str),
}

/// Which OAuth a ticket runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Wechat,
    Wecom,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Wechat => "wechat",
            Kind::Wecom => "wecom",
        }
    }
}

/// What a ticket remembers: the sealed client context and which browser
/// may pick up the result (the hash of its CSRF cookie).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketContext {
    pub ctx: String,
    pub owner: String,
    pub kind: Kind,
    /// Set when the ticket binds the WeChat or WeCom identity to this
    /// staff account (from the launcher) instead of signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Set when the ticket signs in at the OpenID Connect provider: the
    /// authorization request's query to go back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<String>,
}

/// The authorize page URL (`#wechat_redirect` as WeChat requires).
pub fn authorize_url(
    oauth_base: &str,
    appid: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    agentid: Option<&str>,
) -> String {
    let mut url = format!(
        "{}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope={}&state={}",
        oauth_base.trim_end_matches('/'),
        pct(appid),
        pct(redirect_uri),
        pct(scope),
        pct(state)
    );
    if let Some(a) = agentid.filter(|a| !a.is_empty()) {
        url.push_str(&format!("&agentid={}", pct(a)));
    }
    url.push_str("#wechat_redirect");
    url
}

async fn get_json(api: &'static str, url: &str) -> Result<serde_json::Value, OAuthError> {
    let r = http_client::request("GET", url, None, API_TIMEOUT)
        .await
        .map_err(|e| OAuthError::Http(format!("{api}: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).map_err(|_| OAuthError::Shape(api))?;
    let errcode = v.get("errcode").and_then(|c| c.as_i64()).unwrap_or(0);
    if errcode != 0 {
        return Err(OAuthError::Api {
            api,
            errcode,
            errmsg: v
                .get("errmsg")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string(),
        });
    }
    if !(200..300).contains(&r.status) {
        return Err(OAuthError::Http(format!("{api}: HTTP {}", r.status)));
    }
    Ok(v)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatUser {
    pub openid: String,
    pub nickname: Option<String>,
}

/// Code exchange (and user info with snsapi_userinfo).
pub async fn wechat_user(cfg: &WechatConfig, code: &str) -> Result<WechatUser, OAuthError> {
    let base = cfg.api_base.trim_end_matches('/');
    let url = format!(
        "{base}/sns/oauth2/access_token?appid={}&secret={}&code={}&grant_type=authorization_code",
        pct(&cfg.appid),
        pct(cfg.secret.expose()),
        pct(code)
    );
    let tok = get_json("sns/oauth2/access_token", &url).await?;
    let openid = tok["openid"]
        .as_str()
        .filter(|o| !o.is_empty())
        .ok_or(OAuthError::Shape("sns/oauth2/access_token"))?
        .to_string();
    let mut nickname = None;
    if cfg.scope == "snsapi_userinfo" {
        let access = tok["access_token"]
            .as_str()
            .ok_or(OAuthError::Shape("sns/oauth2/access_token"))?;
        let url = format!(
            "{base}/sns/userinfo?access_token={}&openid={}&lang=zh_CN",
            pct(access),
            pct(&openid)
        );
        let info = get_json("sns/userinfo", &url).await?;
        nickname = info["nickname"].as_str().map(str::to_string);
    }
    Ok(WechatUser { openid, nickname })
}

/// WeCom's access token, cached until shortly before it expires.
pub struct WecomToken {
    cached: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl Default for WecomToken {
    fn default() -> Self {
        WecomToken {
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

impl WecomToken {
    async fn get(&self, cfg: &WecomConfig, fresh: bool) -> Result<String, OAuthError> {
        let mut c = self.cached.lock().await;
        if !fresh {
            if let Some((t, until)) = c.as_ref() {
                if Instant::now() < *until {
                    return Ok(t.clone());
                }
            }
        }
        let url = format!(
            "{}/cgi-bin/gettoken?corpid={}&corpsecret={}",
            cfg.api_base.trim_end_matches('/'),
            pct(&cfg.corpid),
            pct(cfg.corpsecret.expose())
        );
        let v = get_json("cgi-bin/gettoken", &url).await?;
        let token = v["access_token"]
            .as_str()
            .ok_or(OAuthError::Shape("cgi-bin/gettoken"))?
            .to_string();
        let secs = v["expires_in"].as_u64().unwrap_or(7200);
        // Renew a minute early (or at once for very short lifetimes).
        let keep = Duration::from_secs(secs.saturating_sub(60));
        *c = Some((token.clone(), Instant::now() + keep));
        Ok(token)
    }
}

/// The WeCom userid behind a code (members only).
pub async fn wecom_userid(state: &PortalState, code: &str) -> Result<String, OAuthError> {
    let cfg = &state.config.wecom;
    let mut fresh = false;
    loop {
        let token = state.wecom_token.get(cfg, fresh).await?;
        let url = format!(
            "{}/cgi-bin/auth/getuserinfo?access_token={}&code={}",
            cfg.api_base.trim_end_matches('/'),
            pct(&token),
            pct(code)
        );
        match get_json("cgi-bin/auth/getuserinfo", &url).await {
            Ok(v) => {
                return v["userid"]
                    .as_str()
                    .or_else(|| v["UserId"].as_str())
                    .filter(|u| !u.is_empty())
                    .map(str::to_string)
                    .ok_or(OAuthError::Shape("cgi-bin/auth/getuserinfo"))
            }
            Err(OAuthError::Api { errcode, .. })
                if !fresh && WECOM_TOKEN_ERRORS.contains(&errcode) =>
            {
                fresh = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The identity string and method stored on a completed ticket.
pub async fn resolve(
    state: &PortalState,
    kind: Kind,
    code: &str,
) -> Result<(String, &'static str), OAuthError> {
    match kind {
        Kind::Wechat => {
            let user = wechat_user(&state.config.wechat, code).await?;
            match state
                .store
                .wechat_links()
                .username("wechat", &user.openid)
                .await
            {
                Ok(Some(username)) => Ok((username, "wechat-staff")),
                Ok(None) => Ok((format!("wechat:{}", user.openid), "wechat")),
                Err(e) => Err(OAuthError::Http(e.to_string())),
            }
        }
        Kind::Wecom => {
            let userid = wecom_userid(state, code).await?;
            match state.store.wechat_links().username("wecom", &userid).await {
                Ok(Some(username)) => Ok((username, "wecom")),
                Ok(None) => Ok((userid, "wecom")),
                Err(e) => Err(OAuthError::Http(e.to_string())),
            }
        }
    }
}

/// The raw external identity behind a code (an openid or a WeCom
/// userid), for binding it to an account.
pub async fn external_id(
    state: &PortalState,
    kind: Kind,
    code: &str,
) -> Result<String, OAuthError> {
    match kind {
        Kind::Wechat => Ok(wechat_user(&state.config.wechat, code).await?.openid),
        Kind::Wecom => wecom_userid(state, code).await,
    }
}

/// The grant for a completed ticket: staff for linked or WeCom accounts
/// (which must exist and be enabled), a visitor session otherwise.
pub async fn identity_for(
    state: &PortalState,
    identity: &str,
    method: &str,
    now_ms: i64,
) -> Result<Identity, SignInError> {
    match method {
        "wechat-staff" | "wecom" => {
            let user = state
                .store
                .users()
                .get(identity)
                .await?
                .ok_or(SignInError::NotLinked)?;
            if !signin::account_usable(&user, now_ms) {
                return Err(SignInError::NotLinked);
            }
            let mut who = signin::staff_identity(
                state,
                &user.username,
                user.groups.clone(),
                user.valid_until,
                now_ms,
            );
            who.method = if method == "wecom" { "wecom" } else { "wechat" };
            Ok(who)
        }
        _ => {
            let ms = i64::try_from(state.config.wechat.session.as_millis()).unwrap_or(i64::MAX);
            Ok(Identity {
                identity: identity.to_string(),
                method: "wechat",
                groups: Vec::new(),
                expires_at: now_ms.saturating_add(ms),
                phone: None,
            })
        }
    }
}

/// WeChat's in-app browser says so in its User-Agent.
pub fn is_wechat_browser(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| ua.contains("MicroMessenger"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_shape() {
        let u = authorize_url(
            "https://open.weixin.qq.com/",
            "wx123",
            "http://p/portal/wechat/callback",
            "snsapi_base",
            "t1",
            None,
        );
        assert_eq!(
            u,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx123&redirect_uri=http%3A%2F%2Fp%2Fportal%2Fwechat%2Fcallback&response_type=code&scope=snsapi_base&state=t1#wechat_redirect"
        );
        assert!(
            authorize_url("b", "c", "r", "s", "t", Some("1000002")).contains("&agentid=1000002#")
        );
        assert!(is_wechat_browser(Some(
            "Mozilla/5.0 ... MicroMessenger/8.0.40"
        )));
        assert!(!is_wechat_browser(Some("Mozilla/5.0 Chrome")));
    }
}
