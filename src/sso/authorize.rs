//! The authorization request (OpenID Connect Core §3.1.2): parsed,
//! checked against the client, and answered with a code once the person
//! is signed in and has agreed. The pages around it (sign-in, consent) are
//! the portal's; this module is the policy.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{random_token, token_hash, SsoError, SsoState};
use crate::store::oidc::{AuthCode, OidcClient};

/// Scopes that need no consent page: the person's name is what signing
/// in to an app means.
pub const WITHOUT_CONSENT: [&str; 2] = ["openid", "profile"];

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client: OidcClient,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `login`: sign in again; `consent`: ask again; `none`: never show a
    /// page.
    pub prompt: Vec<String>,
    /// Seconds since the last active sign-in that the client accepts.
    pub max_age: Option<i64>,
}

/// Why a request is refused, and where the answer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Client or redirect URI unknown: never redirect, show the person.
    Page(String),
    /// Back to the client's (checked) redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl RequestError {
    /// Where the browser goes for a redirectable error.
    pub fn location(&self, issuer: &str) -> Option<String> {
        match self {
            RequestError::Page(_) => None,
            RequestError::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => Some(redirect_with(
                redirect_uri,
                &[
                    ("error", Some(error)),
                    ("error_description", Some(description.as_str())),
                    ("state", state.as_deref()),
                    ("iss", Some(issuer)),
                ],
            )),
        }
    }
}

/// `uri` with `pairs` added to its query (those given).
pub fn redirect_with(uri: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            ser.append_pair(k, v);
        }
    }
    let query = ser.finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses and checks a request's parameters (the query of a GET).
pub async fn parse(s: &SsoState, pairs: &[(String, String)]) -> Result<AuthRequest, RequestError> {
    let page = |m: &str| Err(RequestError::Page(m.to_string()));
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in pairs {
        if !seen.insert(k.as_str()) {
            return page(&format!("parameter {k} given twice"));
        }
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(client_id) = get("client_id") else {
        return page("no client_id");
    };
    let client = match s.store.oidc().client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return page("unknown client"),
        Err(e) => {
            tracing::error!(error = %e, "authorize: client lookup");
            return page("internal error");
        }
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return page("no redirect_uri");
    };
    // Exact match: no prefix, no normalisation, no added query.
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return page("redirect_uri is not registered for this client");
    }
    let state = get("state").map(str::to_string);
    let refuse = |error: &'static str, description: &str| {
        Err(RequestError::Redirect {
            redirect_uri: redirect_uri.to_string(),
            error,
            description: description.to_string(),
            state: state.clone(),
        })
    };
    if state.as_ref().is_some_and(|st| st.len() > 512) {
        return page("state longer than 512 characters");
    }
    if get("request").is_some() || get("request_uri").is_some() {
        return refuse("request_not_supported", "request objects are not supported");
    }
    if get("response_type") != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is served",
        );
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return refuse("invalid_request", "only response_mode=query is served");
    }
    let scopes: Vec<String> = {
        let mut v: Vec<String> = get("scope")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if !scopes.iter().any(|x| x == "openid") {
        return refuse("invalid_scope", "the openid scope is required");
    }
    if let Some(bad) = scopes
        .iter()
        .find(|x| !client.scopes.contains(x) || *x == "presence:read")
    {
        return refuse(
            "invalid_scope",
            &format!("scope {bad} is not this client's"),
        );
    }
    let code_challenge = get("code_challenge").map(str::to_string);
    match (code_challenge.as_deref(), get("code_challenge_method")) {
        (None, _) if client.public => {
            return refuse(
                "invalid_request",
                "PKCE (S256) is required for public clients",
            )
        }
        (None, None) => {}
        (None, Some(_)) => {
            return refuse(
                "invalid_request",
                "code_challenge_method without code_challenge",
            )
        }
        (Some(c), Some("S256")) if (43..=128).contains(&c.len()) && is_b64url(c) => {}
        (Some(_), Some("S256")) => return refuse("invalid_request", "malformed code_challenge"),
        (Some(_), _) => return refuse("invalid_request", "code_challenge_method must be S256"),
    }
    let nonce = get("nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return refuse("invalid_request", "nonce longer than 512 characters");
    }
    let prompt: Vec<String> = get("prompt")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return refuse("invalid_request", "prompt=none with other values");
    }
    if let Some(bad) = prompt
        .iter()
        .find(|p| !["none", "login", "consent", "select_account"].contains(&p.as_str()))
    {
        return refuse("invalid_request", &format!("prompt {bad}"));
    }
    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => return refuse("invalid_request", "max_age"),
        },
    };
    Ok(AuthRequest {
        redirect_uri: redirect_uri.to_string(),
        client,
        scopes,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
    })
}

impl AuthRequest {
    pub fn prompts(&self, what: &str) -> bool {
        self.prompt.iter().any(|p| p == what)
    }

    /// Scopes the person must agree to (beyond `openid profile`).
    pub fn needs_consent(&self, remembered: Option<&[String]>) -> bool {
        if self.prompts("consent") {
            return true;
        }
        self.scopes
            .iter()
            .filter(|x| !WITHOUT_CONSENT.contains(&x.as_str()))
            .any(|x| !remembered.is_some_and(|r| r.contains(x)))
    }

    /// Whether a sign-in at `auth_time_ms` is recent enough for the
    /// request (`max_age`, `prompt=login`).
    pub fn sign_in_fresh(&self, auth_time_ms: i64, now_ms: i64) -> bool {
        self.max_age
            .is_none_or(|m| now_ms - auth_time_ms <= m.saturating_mul(1000))
    }

    /// The redirect for a refusal after parsing (login_required,
    /// access_denied...).
    pub fn error(&self, error: &'static str, description: &str) -> RequestError {
        RequestError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: self.state.clone(),
        }
    }
}

/// Issues a code for the signed-in person: the redirect to send them to.
pub async fn issue_code(
    s: &SsoState,
    req: &AuthRequest,
    username: &str,
    auth_time_ms: i64,
    amr: &str,
    now_ms: i64,
) -> Result<String, SsoError> {
    let code = random_token();
    s.store
        .oidc()
        .add_code(
            &token_hash(&code),
            &AuthCode {
                client: req.client.name.clone(),
                username: username.to_string(),
                redirect_uri: req.redirect_uri.clone(),
                scopes: req.scopes.clone(),
                nonce: req.nonce.clone(),
                code_challenge: req.code_challenge.clone(),
                auth_time: auth_time_ms,
                amr: amr.to_string(),
                issued_at: now_ms,
                expires_at: now_ms + s.code_ttl_ms,
            },
        )
        .await?;
    Ok(redirect_with(
        &req.redirect_uri,
        &[
            ("code", Some(&code)),
            ("state", req.state.as_deref()),
            ("iss", Some(&s.issuer)),
        ],
    ))
}

/// PKCE S256 (RFC 7636 §4.6): BASE64URL(SHA256(verifier)) == challenge,
/// the verifier 43 to 128 unreserved characters.
pub fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let unreserved = verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !(43..=128).contains(&verifier.len()) || !unreserved {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    use subtle::ConstantTimeEq;
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b() {
        // The RFC's example verifier and challenge.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(verifier, challenge));
        assert!(!pkce_ok(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            challenge
        ));
        assert!(!pkce_ok("short", challenge));
        assert!(!pkce_ok(&format!("{verifier}!"), challenge));
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_with(
                "https://a.cn/cb?x=1",
                &[("code", Some("c d")), ("state", None)]
            ),
            "https://a.cn/cb?x=1&code=c+d"
        );
        assert_eq!(
            redirect_with("https://a.cn/cb", &[("error", Some("access_denied"))]),
            "https://a.cn/cb?error=access_denied"
        );
    }
}
