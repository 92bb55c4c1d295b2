//! The token endpoint's grants (`authorization_code` with PKCE,
//! `refresh_token` with rotation, `client_credentials`), the ID token, and
//! userinfo. Reuse is treated as theft: a second use of a code revokes
//! every token issued from it, and a rotated-out refresh token presented
//! again revokes its whole family.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::authorize::pkce_ok;
use super::{
    authenticated, field, form_of, oauth_error, random_token, token_hash, SsoError, SsoState,
};
use crate::store::oidc::{CodeUse, IssuedToken, OidcClient};

fn server_error(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what}");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
    )
}

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

/// The client at the token endpoint: a confidential one authenticates
/// (Basic or body); a public one names itself with `client_id` only.
async fn token_client(
    s: &SsoState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<(String, String)>, OidcClient), Response> {
    let form = form_of(body);
    let presents_secret =
        headers.contains_key(header::AUTHORIZATION) || field(&form, "client_secret").is_some();
    if presents_secret {
        return authenticated(s, headers, body).await;
    }
    let refused = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    };
    let Some(id) = field(&form, "client_id") else {
        return Err(refused());
    };
    match s.store.oidc().client(id).await {
        Ok(Some(c)) if c.public => Ok((form, c)),
        Ok(_) => Err(refused()),
        Err(e) => Err(server_error("token: client", e)),
    }
}

/// `POST <issuer>/token`.
pub(super) async fn token(
    State(s): State<Arc<SsoState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, client) = match token_client(&s, &headers, &body).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let now = s.clock.now_ms();
    let answer = match field(&form, "grant_type") {
        Some("client_credentials") if !client.public => {
            client_credentials(&s, &form, &client, now).await
        }
        Some("authorization_code") => authorization_code(&s, &form, &client, now).await,
        Some("refresh_token") => refresh(&s, &form, &client, now).await,
        Some("client_credentials") => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "a public client cannot use client_credentials",
        )),
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type",
        )),
    };
    match answer {
        Ok(v) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(v),
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn client_credentials(
    s: &SsoState,
    form: &[(String, String)],
    client: &OidcClient,
    now: i64,
) -> Result<Value, Response> {
    // A service gets the scopes it asks for among its own, never openid
    // or profile (there is no user).
    let allowed: Vec<String> = client
        .scopes
        .iter()
        .filter(|x| *x != "openid" && *x != "profile")
        .cloned()
        .collect();
    let asked = narrowed_scopes(form, &allowed, "is not this client's").map_err(|r| *r)?;
    let access = random_token();
    let issued = IssuedToken {
        kind: "access".into(),
        client: client.name.clone(),
        subject: None,
        scopes: asked.clone(),
        issued_at: now,
        expires_at: now + s.access_ttl_ms,
        revoked_at: None,
        family: None,
        auth_time: None,
        amr: None,
        used_at: None,
    };
    s.store
        .oidc()
        .add_token(&token_hash(&access), &issued)
        .await
        .map_err(|e| server_error("token", e))?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": s.access_ttl_ms / 1000,
        "scope": asked.join(" "),
    }))
}

/// The form's `scope` (all of `allowed` when absent): never wider than
/// `allowed`, else the `invalid_scope` answer.
fn narrowed_scopes(
    form: &[(String, String)],
    allowed: &[String],
    why: &str,
) -> Result<Vec<String>, Box<Response>> {
    let Some(sc) = field(form, "scope") else {
        return Ok(allowed.to_vec());
    };
    let mut asked: Vec<String> = sc.split_whitespace().map(str::to_string).collect();
    asked.sort();
    asked.dedup();
    match asked.iter().find(|a| !allowed.contains(a)) {
        Some(bad) => Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope {bad} {why}"),
        ))),
        None => Ok(asked),
    }
}

/// No refresh token outlives the sign-in it came from by more than this.
pub const REFRESH_MAX_MS: i64 = 30 * 86_400_000;

/// What a user grant carries into the tokens it issues.
struct Grant<'a> {
    client: &'a OidcClient,
    username: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: i64,
    amr: String,
    family: String,
}

async fn authorization_code(
    s: &SsoState,
    form: &[(String, String)],
    client: &OidcClient,
    now: i64,
) -> Result<Value, Response> {
    let Some(code) = field(form, "code") else {
        return Err(invalid_grant("no code"));
    };
    let family = token_hash(code);
    let grant = match s.store.oidc().take_code(&family, now).await {
        Ok(CodeUse::Fresh(g)) => g,
        Ok(CodeUse::Reused(g)) => {
            // Someone has the code twice: the first exchange may have been
            // the thief's. Everything issued from it goes.
            match s.store.oidc().revoke_family(&family, now).await {
                Ok(n) => tracing::warn!(client = %g.client, user = %g.username, revoked = n,
                    "sso: authorization code used twice; its tokens are revoked"),
                Err(e) => return Err(server_error("token: revoke family", e)),
            }
            return Err(invalid_grant("code already used"));
        }
        Ok(CodeUse::Unknown) => return Err(invalid_grant("unknown code")),
        Err(e) => return Err(server_error("token: code", e)),
    };
    if grant.client != client.name {
        return Err(invalid_grant("code was issued to another client"));
    }
    if grant.expires_at <= now {
        return Err(invalid_grant("code expired"));
    }
    if field(form, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant("redirect_uri differs from the request's"));
    }
    // The client may have been changed since the code was issued.
    if !client.redirect_uris.contains(&grant.redirect_uri) {
        return Err(invalid_grant("redirect_uri is no longer registered"));
    }
    match (&grant.code_challenge, field(form, "code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce_ok(verifier, challenge) => {}
        (Some(_), Some(_)) => return Err(invalid_grant("code_verifier does not match")),
        (Some(_), None) => return Err(invalid_grant("code_verifier missing")),
        (None, Some(_)) => return Err(invalid_grant("no code_challenge was sent")),
        (None, None) => {}
    }
    issue(
        s,
        Grant {
            client,
            username: grant.username,
            scopes: grant.scopes,
            nonce: grant.nonce,
            auth_time: grant.auth_time,
            amr: grant.amr,
            family,
        },
        now,
    )
    .await
}

async fn refresh(
    s: &SsoState,
    form: &[(String, String)],
    client: &OidcClient,
    now: i64,
) -> Result<Value, Response> {
    let Some(presented) = field(form, "refresh_token") else {
        return Err(invalid_grant("no refresh_token"));
    };
    let hash = token_hash(presented);
    let old = match s.store.oidc().token(&hash).await {
        Ok(Some(t)) if t.kind == "refresh" && t.client == client.name => t,
        Ok(_) => return Err(invalid_grant("unknown refresh token")),
        Err(e) => return Err(server_error("token: refresh", e)),
    };
    let (Some(family), Some(username)) = (old.family.clone(), old.subject.clone()) else {
        return Err(invalid_grant("unknown refresh token"));
    };
    if old.revoked_at.is_some() || old.expires_at <= now {
        return Err(invalid_grant("refresh token revoked or expired"));
    }
    match s.store.oidc().use_refresh(&hash, now).await {
        Ok(true) => {}
        Ok(false) => {
            match s.store.oidc().revoke_family(&family, now).await {
                Ok(n) => tracing::warn!(client = %client.name, user = %username, revoked = n,
                    "sso: a rotated refresh token came back; its family is revoked"),
                Err(e) => return Err(server_error("token: revoke family", e)),
            }
            return Err(invalid_grant("refresh token already used"));
        }
        Err(e) => return Err(server_error("token: refresh", e)),
    }
    // A narrower scope may be asked for, never a wider one.
    let scopes = narrowed_scopes(form, &old.scopes, "was not granted").map_err(|r| *r)?;
    issue(
        s,
        Grant {
            client,
            username,
            scopes,
            nonce: None,
            auth_time: old.auth_time.unwrap_or(old.issued_at),
            amr: old.amr.clone().unwrap_or_default(),
            family,
        },
        now,
    )
    .await
}

/// Access, refresh and ID tokens for a user grant.
async fn issue(s: &SsoState, g: Grant<'_>, now: i64) -> Result<Value, Response> {
    // Nothing beyond what the client may have now (its scopes may have
    // been narrowed since the code or refresh token was issued).
    if let Some(gone) = g.scopes.iter().find(|x| !g.client.scopes.contains(x)) {
        let _ = s.store.oidc().revoke_family(&g.family, now).await;
        return Err(invalid_grant(&format!(
            "scope {gone} was taken from the client"
        )));
    }
    let user = match s.store.users().get(&g.username).await {
        Ok(Some(u)) if u.usable(now) => u,
        Ok(_) => {
            let _ = s.store.oidc().revoke_family(&g.family, now).await;
            return Err(invalid_grant("the account is disabled or gone"));
        }
        Err(e) => return Err(server_error("token: user", e)),
    };
    let access = random_token();
    let refresh = random_token();
    let base = IssuedToken {
        kind: "access".into(),
        client: g.client.name.clone(),
        subject: Some(user.username.clone()),
        scopes: g.scopes.clone(),
        issued_at: now,
        expires_at: now + s.access_ttl_ms,
        revoked_at: None,
        family: Some(g.family.clone()),
        auth_time: Some(g.auth_time),
        amr: Some(g.amr.clone()),
        used_at: None,
    };
    let refresh_row = IssuedToken {
        kind: "refresh".into(),
        // Each rotation extends by refresh_ttl, never past 30 days from
        // the sign-in itself.
        expires_at: (now + s.refresh_ttl_ms).min(g.auth_time + REFRESH_MAX_MS),
        ..base.clone()
    };
    for (text, row) in [(&access, &base), (&refresh, &refresh_row)] {
        if let Err(e) = s.store.oidc().add_token(&token_hash(text), row).await {
            return Err(server_error("token: store", e));
        }
    }
    // A revocation that ran while these were made (reuse detected on
    // another request) covers them too.
    match s.store.oidc().family_revoked(&g.family).await {
        Ok(false) => {}
        Ok(true) => {
            let _ = s.store.oidc().revoke_family(&g.family, now).await;
            return Err(invalid_grant("the grant was revoked"));
        }
        Err(e) => return Err(server_error("token: family", e)),
    }
    let mut claims = user_claims(s, &user, &g.scopes)
        .await
        .map_err(|e| server_error("token: claims", e))?;
    let at_hash = URL_SAFE_NO_PAD.encode(&Sha256::digest(access.as_bytes())[..16]);
    claims.insert("iss".into(), json!(s.issuer));
    claims.insert("aud".into(), json!(g.client.name));
    claims.insert("azp".into(), json!(g.client.name));
    claims.insert("iat".into(), json!(now / 1000));
    claims.insert("exp".into(), json!((now + s.access_ttl_ms) / 1000));
    claims.insert("auth_time".into(), json!(g.auth_time / 1000));
    claims.insert("at_hash".into(), json!(at_hash));
    claims.insert(
        "amr".into(),
        json!(g.amr.split_whitespace().collect::<Vec<_>>()),
    );
    if let Some(n) = &g.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    let id_token = s
        .sign(&Value::Object(claims), &g.client.id_token_alg, now)
        .await
        .map_err(|e| server_error("token: sign", e))?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": s.access_ttl_ms / 1000,
        "refresh_token": refresh,
        "id_token": id_token,
        "scope": g.scopes.join(" "),
    }))
}

/// The stable subject of a user: a digest of the account's id and
/// creation time (never the username, which can be reused after an
/// account is removed; nor the bare id, which SQLite may hand out again
/// and which would tell the account's row number).
pub fn subject_of(user: &crate::store::users::User) -> String {
    crate::store::oidc::subject_of(user.id, user.created_at)
}

/// The claims the scopes release about a user.
pub async fn user_claims(
    s: &SsoState,
    user: &crate::store::users::User,
    scopes: &[String],
) -> Result<Map<String, Value>, SsoError> {
    let has = |x: &str| scopes.iter().any(|y| y == x);
    let mut c = Map::new();
    c.insert("sub".into(), json!(subject_of(user)));
    if has("profile") {
        let name = user
            .display_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| user.username.clone());
        c.insert("name".into(), json!(name));
        c.insert("preferred_username".into(), json!(user.username));
    }
    if has("groups") {
        c.insert("groups".into(), json!(user.groups));
    }
    if has("phone") {
        if let Some(p) = s.store.users().phone(&user.username).await? {
            c.insert("phone_number".into(), json!(p));
            c.insert("phone_number_verified".into(), json!(false));
        }
    }
    Ok(c)
}

/// `GET|POST <issuer>/userinfo` with `Authorization: Bearer`.
pub(super) async fn userinfo(State(s): State<Arc<SsoState>>, headers: HeaderMap) -> Response {
    let refuse = |error: &str| {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"{error}\""),
            )],
        )
            .into_response()
    };
    let Some(tok) = super::bearer(&headers) else {
        return refuse("invalid_request");
    };
    let now = s.clock.now_ms();
    let t = match s.live_access_token(tok).await {
        Ok(Some(t)) if t.scopes.iter().any(|x| x == "openid") => t,
        Ok(_) => return refuse("invalid_token"),
        Err(e) => return server_error("userinfo", e),
    };
    let Some(username) = t.subject.as_deref() else {
        return refuse("invalid_token");
    };
    let user = match s.store.users().get(username).await {
        Ok(Some(u)) if u.usable(now) => u,
        Ok(_) => return refuse("invalid_token"),
        Err(e) => return server_error("userinfo", e),
    };
    match user_claims(&s, &user, &t.scopes).await {
        Ok(c) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(Value::Object(c)),
        )
            .into_response(),
        Err(e) => server_error("userinfo", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, created_at: i64) -> crate::store::users::User {
        crate::store::users::User {
            id,
            username: "zhang".into(),
            display_name: None,
            password_hash: None,
            nt_hash: None,
            enabled: true,
            valid_until: None,
            groups: vec![],
            created_at,
            updated_at: created_at,
        }
    }

    #[test]
    fn a_reused_row_id_is_a_new_subject() {
        let first = subject_of(&user(2, 1_000));
        assert_eq!(first, subject_of(&user(2, 1_000)), "stable");
        assert_ne!(first, subject_of(&user(2, 2_000)), "same id, new account");
        assert_eq!(first.len(), 32);
    }
}
