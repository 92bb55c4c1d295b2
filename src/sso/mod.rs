//! Portico as the OpenID Connect provider of the building's apps (issue
//! 15): the signing keys (ES256, sealed with the data key, rotated with a
//! grace period), the clients (`portico oidc client ...`, secrets as
//! argon2id hashes, exact redirect URIs), discovery and JWKS, the
//! authorization request's policy (`authorize`; its pages are the
//! portal's), the token endpoint's grants and userinfo (`grants`),
//! introspection (RFC 7662), revocation (RFC 7009), and Wi-Fi presence
//! for meeting apps (`presence`), and back-channel logout notices to the
//! apps (`backchannel`).

pub mod authorize;
pub mod backchannel;
pub mod grants;
pub mod jwt;
pub mod presence;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::store::oidc::{NewOidcClient, OidcClient};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Jwt(#[from] jwt::JwtError),
    #[error("{0}")]
    Invalid(String),
}

/// Scopes a client may be given.
pub const SCOPES: [&str; 5] = ["openid", "profile", "groups", "phone", "presence:read"];

/// Whether a URL may be an issuer or redirect URI: HTTPS, or HTTP on
/// loopback; absolute, no fragment, no user info.
pub fn check_url(what: &str, url: &str) -> Result<(), SsoError> {
    let bad = |why: &str| Err(SsoError::Invalid(format!("{what} {url:?}: {why}")));
    let Ok(u) = reqwest::Url::parse(url) else {
        return bad("not an absolute URL");
    };
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return bad("no fragment or user info");
    }
    let Some(host) = u.host_str() else {
        return bad("no host");
    };
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bad("must be https (http only on loopback)"),
    }
}

/// The provider's settings and store.
#[derive(Clone)]
pub struct SsoState {
    pub store: Store,
    /// `https://host/oidc`, no trailing slash.
    pub issuer: String,
    pub key_grace: Duration,
    pub clock: crate::clock::Clock,
    pub code_ttl_ms: i64,
    pub access_ttl_ms: i64,
    pub refresh_ttl_ms: i64,
    pub session_ttl_ms: i64,
    /// See `SsoConfig::presence_idle`.
    pub presence_idle_ms: i64,
    /// Client secrets verified lately (see `VerifiedSecrets`).
    pub verified: Arc<VerifiedSecrets>,
    /// Woken when a sign-out here queued back-channel logout notices.
    pub logout_queued: Arc<tokio::sync::Notify>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SsoState {
    pub fn new(
        store: Store,
        issuer: String,
        cfg: &crate::config::SsoConfig,
        clock: crate::clock::Clock,
    ) -> SsoState {
        SsoState {
            store,
            issuer,
            key_grace: cfg.key_grace,
            clock,
            code_ttl_ms: ms(cfg.code_ttl),
            access_ttl_ms: ms(cfg.access_ttl),
            refresh_ttl_ms: ms(cfg.refresh_ttl),
            session_ttl_ms: ms(cfg.session_ttl),
            presence_idle_ms: ms(cfg.presence_idle),
            verified: Arc::default(),
            logout_queued: Arc::default(),
        }
    }

    /// Signs claims with the current key of algorithm `alg`.
    pub async fn sign(&self, claims: &Value, alg: &str, now_ms: i64) -> Result<String, SsoError> {
        self.sign_typed(claims, alg, "JWT", now_ms).await
    }

    /// The same with header `typ` (`logout+jwt` for logout tokens).
    pub async fn sign_typed(
        &self,
        claims: &Value,
        alg: &str,
        typ: &str,
        now_ms: i64,
    ) -> Result<String, SsoError> {
        let keys = self.store.oidc().keys(now_ms).await?;
        let key = keys
            .iter()
            .find(|k| k.retired_at.is_none() && k.alg == alg)
            .ok_or_else(|| SsoError::Invalid(format!("no {alg} signing key")))?;
        Ok(jwt::sign_typed(
            &key.alg,
            typ,
            &key.kid,
            &key.private_pkcs8,
            claims,
        )?)
    }

    /// The access token presented, if it is one this provider issued and
    /// it is neither revoked nor expired.
    pub async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<crate::store::oidc::IssuedToken>, StoreError> {
        let now = self.clock.now_ms();
        Ok(self
            .store
            .oidc()
            .token(&token_hash(token))
            .await?
            .filter(|t| t.kind == "access" && t.revoked_at.is_none() && t.expires_at > now))
    }

    /// The claims of an ID token this provider signed (its signature
    /// checked against the published keys; expiry not checked, as for an
    /// `id_token_hint`).
    pub async fn verify_own(&self, token: &str) -> Result<Value, SsoError> {
        let claims = jwt::verify(token, &self.jwks(self.clock.now_ms()).await?)?;
        if claims["iss"] != self.issuer.as_str() {
            return Err(SsoError::Invalid("issued elsewhere".into()));
        }
        // Logout tokens (which every back-channel app receives) are signed
        // with the same keys but are never an ID token.
        if claims.get("events").is_some() {
            return Err(SsoError::Invalid("a logout token, not an ID token".into()));
        }
        Ok(claims)
    }

    /// The path the provider's routes live under (the issuer's path).
    pub fn base_path(&self) -> String {
        reqwest::Url::parse(&self.issuer)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_else(|_| "/oidc".into())
    }

    pub fn discovery(&self) -> Value {
        let i = &self.issuer;
        json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "userinfo_endpoint": format!("{i}/userinfo"),
            "jwks_uri": format!("{i}/jwks"),
            "end_session_endpoint": format!("{i}/logout"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": false,
            "revocation_endpoint": format!("{i}/revoke"),
            "introspection_endpoint": format!("{i}/introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ALGORITHMS,
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username", "groups", "phone_number"],
        })
    }

    /// The published keys: the signing one and those retired within the
    /// grace period.
    pub async fn jwks(&self, now_ms: i64) -> Result<Vec<Value>, SsoError> {
        let since = now_ms - i64::try_from(self.key_grace.as_millis()).unwrap_or(i64::MAX);
        self.store
            .oidc()
            .keys(since)
            .await?
            .iter()
            .map(|k| {
                serde_json::from_str(&k.public_jwk)
                    .map_err(|e| SsoError::Invalid(format!("stored JWK: {e}")))
            })
            .collect()
    }
}

/// ID token algorithms: ES256 (the default) and RS256.
pub const ALGORITHMS: [&str; 2] = ["ES256", "RS256"];

async fn new_key(store: &Store, alg: &'static str) -> Result<String, SsoError> {
    let (kid, pkcs8, jwk) = tokio::task::spawn_blocking(move || match alg {
        "RS256" => jwt::generate_rs256(),
        _ => jwt::generate_es256(),
    })
    .await
    .map_err(|e| SsoError::Invalid(e.to_string()))??;
    store
        .oidc()
        .add_key(&kid, alg, &pkcs8, &jwk.to_string())
        .await?;
    Ok(kid)
}

/// Makes a signing key of each algorithm that has none (first start, or
/// an upgrade that brought a new algorithm). True when one was made.
pub async fn ensure_key(store: &Store) -> Result<bool, SsoError> {
    let keys = store.oidc().keys(i64::MAX).await?;
    let mut made = false;
    for alg in ALGORITHMS {
        if !keys.iter().any(|k| k.alg == alg && k.retired_at.is_none()) {
            new_key(store, alg).await?;
            made = true;
        }
    }
    Ok(made)
}

/// Adds a new signing key of each algorithm and retires the others
/// (published for the grace period still). Returns the new kids.
pub async fn rotate_keys(store: &Store, now_ms: i64) -> Result<Vec<String>, SsoError> {
    let mut kids = Vec::new();
    for alg in ALGORITHMS {
        kids.push(new_key(store, alg).await?);
    }
    store.oidc().retire_all_but(&kids, now_ms).await?;
    Ok(kids)
}

/// A client as asked for by the CLI or the dashboard.
#[derive(Clone, Debug, Default)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub scopes: Vec<String>,
    pub require_2fa: bool,
    pub allow_portal_session: bool,
    /// Where RP-initiated logout may return (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// ES256 (default when empty) or RS256.
    pub id_token_alg: String,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// The secret for a confidential client (None: one is generated).
    pub secret: Option<String>,
}

/// A client's settings, checked: URLs, scopes and the algorithm.
fn checked(spec: &ClientSpec) -> Result<NewOidcClient, SsoError> {
    let name = spec.name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !name.chars().any(|c| c.is_ascii_alphanumeric())
    {
        return Err(SsoError::Invalid(
            "client name: 1 to 64 of A-Z a-z 0-9 - _ .".into(),
        ));
    }
    if spec.redirect_uris.is_empty() || spec.redirect_uris.len() > 20 {
        return Err(SsoError::Invalid("give 1 to 20 redirect URIs".into()));
    }
    for uri in &spec.redirect_uris {
        check_url("redirect URI", uri)?;
    }
    if spec.post_logout_redirect_uris.len() > 20 {
        return Err(SsoError::Invalid(
            "give at most 20 post-logout redirect URIs".into(),
        ));
    }
    for uri in &spec.post_logout_redirect_uris {
        check_url("post-logout redirect URI", uri)?;
    }
    let backchannel_logout_uri = spec
        .backchannel_logout_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if let Some(uri) = backchannel_logout_uri {
        check_url("back-channel logout URI", uri)?;
    }
    let id_token_alg = match spec.id_token_alg.trim() {
        "" => "ES256".to_string(),
        a if ALGORITHMS.contains(&a) => a.to_string(),
        a => {
            return Err(SsoError::Invalid(format!(
                "ID token algorithm {a:?} (one of {})",
                ALGORITHMS.join(", ")
            )))
        }
    };
    let mut scopes: Vec<String> = if spec.scopes.is_empty() {
        vec!["openid".into(), "profile".into()]
    } else {
        spec.scopes.clone()
    };
    scopes.sort();
    scopes.dedup();
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(SsoError::Invalid(format!(
            "scope {bad:?} (one of {})",
            SCOPES.join(", ")
        )));
    }
    Ok(NewOidcClient {
        name: name.to_string(),
        secret_hash: None,
        redirect_uris: spec.redirect_uris.clone(),
        scopes,
        require_2fa: spec.require_2fa,
        allow_portal_session: spec.allow_portal_session,
        post_logout_redirect_uris: spec.post_logout_redirect_uris.clone(),
        id_token_alg,
        backchannel_logout_uri: backchannel_logout_uri.map(str::to_string),
    })
}

/// A new random client secret (64 hex digits).
fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash_secret(secret: &str) -> Result<String, SsoError> {
    crate::credentials::hash_password(secret).map_err(|e| SsoError::Invalid(e.to_string()))
}

/// Registers a client; for a confidential one, returns the secret (shown
/// once; only its hash is kept).
pub async fn add_client(
    store: &Store,
    spec: &ClientSpec,
) -> Result<(OidcClient, Option<String>), SsoError> {
    let mut new = checked(spec)?;
    let secret = match (spec.public, &spec.secret) {
        (true, Some(_)) => return Err(SsoError::Invalid("a public client has no secret".into())),
        (true, None) => None,
        (false, Some(s)) if s.len() < 32 => {
            return Err(SsoError::Invalid(
                "a client secret needs 32 characters or more".into(),
            ))
        }
        (false, Some(s)) => Some(s.clone()),
        (false, None) => Some(new_secret()),
    };
    new.secret_hash = secret.as_deref().map(hash_secret).transpose()?;
    let client = store.oidc().add_client(&new).await?;
    Ok((client, secret.filter(|_| spec.secret.is_none())))
}

/// Changes to a registered client; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct ClientChange {
    /// Replaces the whole list.
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub require_2fa: Option<bool>,
    pub allow_portal_session: Option<bool>,
    pub id_token_alg: Option<String>,
    /// `Some(None)` stops telling the app by back channel.
    pub backchannel_logout_uri: Option<Option<String>>,
}

/// Changes a client in place, checked like a new one. Its secret stays;
/// its tokens, unused codes and consents stay too unless the change takes
/// something away (a scope, a redirect URI, the portal session as sign-in,
/// or adds the second factor): then they end in the same transaction, so
/// nothing given under the old settings outlives them. The client after,
/// and how many tokens were revoked.
pub async fn change_client(
    store: &Store,
    name: &str,
    change: &ClientChange,
) -> Result<(OidcClient, u64), SsoError> {
    let Some(old) = store.oidc().client(name).await? else {
        return Err(SsoError::Store(StoreError::NotFound(format!(
            "client {name}"
        ))));
    };
    let spec = ClientSpec {
        name: old.name.clone(),
        redirect_uris: change
            .redirect_uris
            .clone()
            .unwrap_or_else(|| old.redirect_uris.clone()),
        public: old.public,
        scopes: change.scopes.clone().unwrap_or_else(|| old.scopes.clone()),
        require_2fa: change.require_2fa.unwrap_or(old.require_2fa),
        allow_portal_session: change
            .allow_portal_session
            .unwrap_or(old.allow_portal_session),
        post_logout_redirect_uris: change
            .post_logout_redirect_uris
            .clone()
            .unwrap_or_else(|| old.post_logout_redirect_uris.clone()),
        id_token_alg: change
            .id_token_alg
            .clone()
            .unwrap_or_else(|| old.id_token_alg.clone()),
        backchannel_logout_uri: change
            .backchannel_logout_uri
            .clone()
            .unwrap_or_else(|| old.backchannel_logout_uri.clone()),
        secret: None,
    };
    let mut new = checked(&spec)?;
    new.secret_hash = old.secret_hash.clone();
    let tightened = old.scopes.iter().any(|s| !new.scopes.contains(s))
        || old
            .redirect_uris
            .iter()
            .any(|u| !new.redirect_uris.contains(u))
        || (new.require_2fa && !old.require_2fa)
        || (old.allow_portal_session && !new.allow_portal_session);
    Ok(store
        .oidc()
        .update_client(&new, old.updated_at, tightened)
        .await?)
}

/// Gives a confidential client a new secret (shown once); the old one
/// stops working at once, and the service tokens minted with it
/// (`client_credentials`) are revoked. The secret, and how many tokens.
pub async fn rotate_secret(store: &Store, name: &str) -> Result<(String, u64), SsoError> {
    let Some(old) = store.oidc().client(name).await? else {
        return Err(SsoError::Store(StoreError::NotFound(format!(
            "client {name}"
        ))));
    };
    if old.public {
        return Err(SsoError::Invalid(format!(
            "{name} is a public client: it has no secret"
        )));
    }
    let secret = new_secret();
    let revoked = store
        .oidc()
        .set_client_secret(name, &hash_secret(&secret)?)
        .await?;
    Ok((secret, revoked))
}

async fn discovery(State(s): State<Arc<SsoState>>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(s.discovery()),
    )
        .into_response()
}

async fn jwks(State(s): State<Arc<SsoState>>) -> Response {
    match s.jwks(crate::clock::now_ms()).await {
        Ok(keys) => (
            [(header::CACHE_CONTROL, "public, max-age=300")],
            Json(json!({ "keys": keys })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "jwks");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// An OAuth error answer (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(crate) fn form_of(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .take(32)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The client a request authenticates as: HTTP Basic (RFC 6749 §2.3.1,
/// form-encoded id and secret) or `client_id`/`client_secret` in the body.
/// A public client has no secret and cannot authenticate here.
async fn authenticate(
    s: &SsoState,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Option<OidcClient> {
    let store = &s.store;
    let decode = |v: &str| {
        form_urlencoded::parse(format!("v={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let (id, secret) = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(auth) => {
            let raw = auth.strip_prefix("Basic ")?;
            let text =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw.trim())
                    .ok()?;
            let text = String::from_utf8(text).ok()?;
            let (id, secret) = text.split_once(':')?;
            (decode(id)?, decode(secret)?)
        }
        None => (
            field(form, "client_id")?.to_string(),
            field(form, "client_secret")?.to_string(),
        ),
    };
    let client = store.oidc().client(&id).await.ok().flatten()?;
    let hash = client.secret_hash.clone()?;
    let now = s.clock.now_ms();
    let seen = s.verified.recent(&hash, &secret, now);
    if seen {
        return Some(client);
    }
    let (h, presented) = (hash.clone(), secret.clone());
    let ok = tokio::task::spawn_blocking(move || {
        crate::credentials::verify_password(presented.as_bytes(), &h)
    })
    .await
    .unwrap_or(false);
    if ok {
        s.verified.remember(&hash, &secret, now);
    }
    ok.then_some(client)
}

/// Client secrets verified lately: argon2id costs tens of milliseconds,
/// and an app calls the token endpoint for every sign-in and refresh. A
/// hit needs the same stored hash (a re-registered client misses) and the
/// same secret; entries last `VERIFIED_TTL_MS`. Only digests are kept.
#[derive(Default)]
pub struct VerifiedSecrets {
    seen: std::sync::Mutex<std::collections::HashMap<[u8; 32], i64>>,
}

const VERIFIED_TTL_MS: i64 = 300_000;
const VERIFIED_MAX: usize = 4096;

impl VerifiedSecrets {
    fn key(hash: &str, secret: &str) -> [u8; 32] {
        let mut d = Sha256::new();
        d.update(hash.as_bytes());
        d.update([0u8]);
        d.update(secret.as_bytes());
        d.finalize().into()
    }

    fn recent(&self, hash: &str, secret: &str, now_ms: i64) -> bool {
        let key = Self::key(hash, secret);
        self.seen
            .lock()
            .map(|m| m.get(&key).is_some_and(|until| *until > now_ms))
            .unwrap_or(false)
    }

    fn remember(&self, hash: &str, secret: &str, now_ms: i64) {
        if let Ok(mut m) = self.seen.lock() {
            if m.len() >= VERIFIED_MAX {
                m.retain(|_, until| *until > now_ms);
                if m.len() >= VERIFIED_MAX {
                    m.clear();
                }
            }
            m.insert(Self::key(hash, secret), now_ms + VERIFIED_TTL_MS);
        }
    }
}

/// The request's form and the client it authenticates as, or the
/// `invalid_client` answer (RFC 6749 §5.2) to send instead.
pub(crate) async fn authenticated(
    s: &SsoState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<(String, String)>, OidcClient), Response> {
    let form = form_of(body);
    match authenticate(s, headers, &form).await {
        Some(client) => Ok((form, client)),
        None => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )),
    }
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Only this digest of a code, token or session is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits, base64url: codes, tokens, session cookies.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

/// `POST <issuer>/introspect` (RFC 7662): active only for a token issued
/// to the asking client (its audience), unrevoked and unexpired.
async fn introspect(State(s): State<Arc<SsoState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, client) = match authenticated(&s, &headers, &body).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let inactive = || Json(json!({"active": false})).into_response();
    let Some(tok) = field(&form, "token") else {
        return inactive();
    };
    let now = s.clock.now_ms();
    match s.store.oidc().token(&token_hash(tok)).await {
        Ok(Some(t)) if t.client == client.name && t.revoked_at.is_none() && t.expires_at > now => {
            let sub = match t.subject.as_deref() {
                Some(u) => match s.store.users().get(u).await {
                    Ok(Some(user)) if user.usable(now) => Some(grants::subject_of(&user)),
                    _ => return inactive(),
                },
                None => None,
            };
            Json(json!({
                "active": true,
                "scope": t.scopes.join(" "),
                "client_id": t.client,
                "aud": t.client,
                "sub": sub,
                "username": t.subject,
                "token_kind": t.kind,
                "iss": s.issuer,
                "iat": t.issued_at / 1000,
                "exp": t.expires_at / 1000,
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Ok(_) => inactive(),
        Err(e) => {
            tracing::error!(error = %e, "introspect");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            )
        }
    }
}

/// `POST <issuer>/revoke` (RFC 7009): 200 whatever the token was.
async fn revoke(State(s): State<Arc<SsoState>>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, client) = match authenticated(&s, &headers, &body).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    if let Some(tok) = field(&form, "token") {
        let at = s.clock.now_ms();
        let hash = token_hash(tok);
        // A refresh token takes its family (the access tokens from the
        // same sign-in) with it (RFC 7009 §2.1).
        let family = match s.store.oidc().token(&hash).await {
            Ok(Some(t)) if t.client == client.name && t.kind == "refresh" => t.family,
            _ => None,
        };
        let done = match family {
            Some(f) => s.store.oidc().revoke_family(&f, at).await.map(|_| true),
            None => s.store.oidc().revoke_token(&hash, &client.name, at).await,
        };
        if let Err(e) = done {
            tracing::error!(error = %e, "revoke");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            );
        }
    }
    StatusCode::OK.into_response()
}

/// On a plain-HTTP listener when HTTPS serves the issuer: every
/// provider path answers 308 to the same path and query on the issuer.
pub fn https_redirect(state: &Arc<SsoState>) -> Router {
    let base = state.base_path();
    // The issuer is its origin followed by the base path.
    let origin: Arc<str> = Arc::from(
        state
            .issuer
            .strip_suffix(base.as_str())
            .unwrap_or(&state.issuer),
    );
    let go = move |axum::extract::OriginalUri(uri): axum::extract::OriginalUri| {
        let origin = origin.clone();
        async move {
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            axum::response::Redirect::permanent(&format!("{origin}{}{query}", uri.path()))
        }
    };
    Router::new()
        .route(&format!("{base}/{{*rest}}"), axum::routing::any(go.clone()))
        .route("/api/v1/presence/{*rest}", axum::routing::any(go))
}

/// The provider's routes, under the issuer's path.
pub fn router(state: Arc<SsoState>) -> Router {
    let base = state.base_path();
    Router::new()
        .route(
            &format!("{base}/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(&format!("{base}/jwks"), get(jwks))
        .route(&format!("{base}/token"), post(grants::token))
        .route(
            &format!("{base}/userinfo"),
            get(grants::userinfo).post(grants::userinfo),
        )
        .route("/api/v1/presence/rooms/{room}", get(presence::room_now))
        .route(
            "/api/v1/presence/rooms/{room}/arrivals",
            get(presence::room_arrivals),
        )
        .route(&format!("{base}/introspect"), post(introspect))
        .route(&format!("{base}/revoke"), post(revoke))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_secrets_need_the_same_hash_and_secret_and_expire() {
        let v = VerifiedSecrets::default();
        assert!(!v.recent("$argon2id$a", "s3cret", 0));
        v.remember("$argon2id$a", "s3cret", 0);
        assert!(v.recent("$argon2id$a", "s3cret", 1_000));
        assert!(!v.recent("$argon2id$a", "other", 1_000), "another secret");
        assert!(
            !v.recent("$argon2id$b", "s3cret", 1_000),
            "the client was registered again"
        );
        assert!(!v.recent("$argon2id$a", "s3cret", VERIFIED_TTL_MS + 1));
        for i in 0..VERIFIED_MAX + 10 {
            v.remember("$argon2id$a", &i.to_string(), 0);
        }
        assert!(v.seen.lock().map(|m| m.len()).unwrap_or(0) <= VERIFIED_MAX);
    }

    #[test]
    fn urls_https_or_loopback_only() {
        for ok in [
            "https://meet.example.cn/cb",
            "http://127.0.0.1:9/cb",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
        ] {
            assert!(check_url("redirect URI", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://meet.example.cn/cb",
            "https://a.cn/cb#frag",
            "https://user:pw@a.cn/cb",
            "/relative",
            "javascript:alert(1)",
            "",
        ] {
            assert!(check_url("redirect URI", bad).is_err(), "{bad}");
        }
    }
}
