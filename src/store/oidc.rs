//! The OpenID Connect provider's signing keys and its clients (issue 15).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{conflict_or, from_json, get_bool, now_ms, to_json};
use super::secretbox::Purpose;
use super::{Result, Store, StoreError};

/// A signing key: the private half (PKCS#8) opened from its sealed form.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: Vec<u8>,
    /// The public half as a JWK (JSON text).
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A relying party.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OidcClient {
    pub id: i64,
    pub name: String,
    /// argon2id of the client secret; None for public clients.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub require_2fa: bool,
    pub allow_portal_session: bool,
    /// Where RP-initiated logout may send the browser (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// `ES256` or `RS256`.
    pub id_token_alg: String,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new client, checked by the caller (the SSO service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOidcClient {
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub require_2fa: bool,
    pub allow_portal_session: bool,
    pub post_logout_redirect_uris: Vec<String>,
    pub id_token_alg: String,
    pub backchannel_logout_uri: Option<String>,
}

/// An issued token, by its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub kind: String,
    pub client: String,
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The authorization code the token descends from (its hash), for
    /// revoking a whole family; None for `client_credentials`.
    pub family: Option<String>,
    /// When and how the user signed in (for refreshed ID tokens).
    pub auth_time: Option<i64>,
    pub amr: Option<String>,
    /// A refresh token once exchanged (its reuse revokes the family).
    pub used_at: Option<i64>,
}

/// An authorization code's grant, by the code's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCode {
    pub client: String,
    pub username: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// PKCE S256 challenge (base64url of SHA-256 of the verifier).
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    /// How the user signed in: `pwd`, `pwd otp`, `portal`, `wechat`, ...
    pub amr: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// What taking a code found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the grant.
    Fresh(AuthCode),
    /// Used before: the caller revokes the family.
    Reused(AuthCode),
    Unknown,
}

/// The provider's own sign-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSession {
    pub username: String,
    pub amr: String,
    pub auth_time: i64,
    pub expires_at: i64,
}

pub struct Oidc<'a> {
    store: &'a Store,
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, public, redirect_uris, scopes, require_2fa, \
     allow_portal_session, post_logout_redirect_uris, id_token_alg, backchannel_logout_uri, \
     created_at, updated_at";

fn client_of(r: &AnyRow) -> Result<OidcClient> {
    Ok(OidcClient {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        secret_hash: r.try_get("secret_hash")?,
        public: get_bool(r, "public")?,
        redirect_uris: from_json(&r.try_get::<String, _>("redirect_uris")?, "redirect_uris")?,
        scopes: from_json(&r.try_get::<String, _>("scopes")?, "scopes")?,
        require_2fa: get_bool(r, "require_2fa")?,
        allow_portal_session: get_bool(r, "allow_portal_session")?,
        post_logout_redirect_uris: from_json(
            &r.try_get::<String, _>("post_logout_redirect_uris")?,
            "post_logout_redirect_uris",
        )?,
        id_token_alg: r.try_get("id_token_alg")?,
        backchannel_logout_uri: r.try_get("backchannel_logout_uri")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl<'a> Oidc<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Oidc { store }
    }

    /// Keeps a new signing key (its private half sealed with the data key).
    pub async fn add_key(
        &self,
        kid: &str,
        alg: &str,
        private_pkcs8: &[u8],
        public_jwk: &str,
    ) -> Result<()> {
        let sealed = self.store.secrets().seal(Purpose::OidcKey, private_pkcs8)?;
        sqlx::query(
            "INSERT INTO oidc_keys (kid, alg, private_enc, public_jwk, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kid)
        .bind(alg)
        .bind(sealed)
        .bind(public_jwk)
        .bind(now_ms())
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("key {kid}")))?;
        Ok(())
    }

    /// Retires every key but those in `keep` (they stay published for
    /// the grace).
    pub async fn retire_all_but(&self, keep: &[String], at_ms: i64) -> Result<u64> {
        let mut n = 0;
        for k in self.keys(i64::MAX).await? {
            if k.retired_at.is_none() && !keep.contains(&k.kid) {
                n += sqlx::query(
                    "UPDATE oidc_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
                )
                .bind(at_ms)
                .bind(&k.kid)
                .execute(&self.store.pool)
                .await?
                .rows_affected();
            }
        }
        Ok(n)
    }

    /// Keys not retired, or retired after `published_since_ms`, newest
    /// first: the first is the one that signs.
    pub async fn keys(&self, published_since_ms: i64) -> Result<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_enc, public_jwk, created_at, retired_at FROM oidc_keys \
             WHERE retired_at IS NULL OR retired_at >= $1 ORDER BY created_at DESC, kid",
        )
        .bind(published_since_ms)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let sealed: Vec<u8> = r.try_get("private_enc")?;
                Ok(SigningKey {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    private_pkcs8: self.store.secrets().open(Purpose::OidcKey, &sealed)?,
                    public_jwk: r.try_get("public_jwk")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    pub async fn add_client(&self, c: &NewOidcClient) -> Result<OidcClient> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO oidc_clients (name, secret_hash, public, redirect_uris, scopes, require_2fa, \
             allow_portal_session, post_logout_redirect_uris, id_token_alg, backchannel_logout_uri, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, $11, $8, $8)",
        )
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(c.secret_hash.is_none())
        .bind(to_json(&c.redirect_uris)?)
        .bind(to_json(&c.scopes)?)
        .bind(c.require_2fa)
        .bind(c.allow_portal_session)
        .bind(now)
        .bind(to_json(&c.post_logout_redirect_uris)?)
        .bind(&c.id_token_alg)
        .bind(&c.backchannel_logout_uri)
        .execute(&self.store.pool)
        .await
        .map_err(|e| conflict_or(e, || format!("client {}", c.name)))?;
        self.client(&c.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("client {}", c.name)))
    }

    /// Writes a client's settings (all but its name and type) in place,
    /// if it is still as read (`seen_updated_at`; else Conflict). With
    /// `tightened` (a scope, redirect URI or sign-in allowance taken away),
    /// in the same transaction: its tokens and their families revoked, its
    /// unused codes dropped and its consents forgotten, so nothing given
    /// under the old settings outlives them. The client, and how many
    /// tokens were revoked.
    pub async fn update_client(
        &self,
        c: &NewOidcClient,
        seen_updated_at: i64,
        tightened: bool,
    ) -> Result<(OidcClient, u64)> {
        let mut tx = self.store.begin_write().await?;
        let now = now_ms().max(seen_updated_at + 1);
        let n = sqlx::query(
            "UPDATE oidc_clients SET redirect_uris = $1, scopes = $2, require_2fa = $3, \
             allow_portal_session = $4, post_logout_redirect_uris = $5, id_token_alg = $6, \
             backchannel_logout_uri = $7, updated_at = $8 WHERE name = $9 AND updated_at = $10",
        )
        .bind(to_json(&c.redirect_uris)?)
        .bind(to_json(&c.scopes)?)
        .bind(c.require_2fa)
        .bind(c.allow_portal_session)
        .bind(to_json(&c.post_logout_redirect_uris)?)
        .bind(&c.id_token_alg)
        .bind(&c.backchannel_logout_uri)
        .bind(now)
        .bind(&c.name)
        .bind(seen_updated_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "client {} was changed or removed meanwhile; read it again",
                c.name
            )));
        }
        let mut revoked = 0;
        if tightened {
            revoked = revoke_client_grants(&mut tx, &c.name, now).await?;
            for sql in [
                "DELETE FROM oidc_codes WHERE client = $1 AND used_at IS NULL",
                "DELETE FROM oidc_consents WHERE client = $1",
            ] {
                sqlx::query(sql).bind(&c.name).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        let client = self
            .client(&c.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("client {}", c.name)))?;
        Ok((client, revoked))
    }

    /// A confidential client's new secret (its argon2id hash); the
    /// service tokens (`client_credentials`) minted with the old one are
    /// revoked with it. How many were.
    pub async fn set_client_secret(&self, name: &str, secret_hash: &str) -> Result<u64> {
        let mut tx = self.store.begin_write().await?;
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE oidc_clients SET secret_hash = $1, updated_at = $2 \
             WHERE name = $3 AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("confidential client {name}")));
        }
        let revoked = sqlx::query(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE client = $2 AND subject IS NULL \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    pub async fn client(&self, name: &str) -> Result<Option<OidcClient>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE name = $1");
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.store.pool)
            .await?
            .as_ref()
            .map(client_of)
            .transpose()
    }

    pub async fn clients(&self) -> Result<Vec<OidcClient>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY name");
        sqlx::query(&sql)
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(client_of)
            .collect()
    }

    /// Keeps an issued token by the SHA-256 (hex) of its text.
    pub async fn add_token(&self, token_hash: &str, t: &IssuedToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, kind, client, subject, scopes, issued_at, \
             expires_at, family, auth_time, amr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token_hash)
        .bind(&t.kind)
        .bind(&t.client)
        .bind(&t.subject)
        .bind(to_json(&t.scopes)?)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(&t.family)
        .bind(t.auth_time)
        .bind(&t.amr)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn token(&self, token_hash: &str) -> Result<Option<IssuedToken>> {
        let row = sqlx::query(
            "SELECT kind, client, subject, scopes, issued_at, expires_at, revoked_at, family, \
             auth_time, amr, used_at FROM oidc_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.store.pool)
        .await?;
        row.map(|r| {
            Ok(IssuedToken {
                kind: r.try_get("kind")?,
                client: r.try_get("client")?,
                subject: r.try_get("subject")?,
                scopes: from_json(&r.try_get::<String, _>("scopes")?, "scopes")?,
                issued_at: r.try_get("issued_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
                family: r.try_get("family")?,
                auth_time: r.try_get("auth_time")?,
                amr: r.try_get("amr")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// Revokes a token of `client` (RFC 7009: someone else's is left).
    pub async fn revoke_token(&self, token_hash: &str, client: &str, at_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE token_hash = $2 AND client = $3 \
             AND revoked_at IS NULL",
        )
        .bind(at_ms)
        .bind(token_hash)
        .bind(client)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Marks a refresh token exchanged; false when it was already (or
    /// revoked): the caller then revokes its family.
    pub async fn use_refresh(&self, token_hash: &str, at_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' \
             AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(at_ms)
        .bind(token_hash)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Revokes every token descending from one code, and marks the
    /// family revoked (see `family_revoked`).
    pub async fn revoke_family(&self, family: &str, at_ms: i64) -> Result<u64> {
        sqlx::query(
            "INSERT INTO oidc_revoked_families (family, revoked_at) VALUES ($1, $2) \
             ON CONFLICT (family) DO NOTHING",
        )
        .bind(family)
        .bind(at_ms)
        .execute(&self.store.pool)
        .await?;
        let r = sqlx::query(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
        )
        .bind(at_ms)
        .bind(family)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Whether the family was revoked: checked after new tokens of the
    /// family are stored, so a revocation racing a refresh wins.
    pub async fn family_revoked(&self, family: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM oidc_revoked_families WHERE family = $1")
                .bind(family)
                .fetch_optional(&self.store.pool)
                .await?
                .is_some(),
        )
    }

    /// Revokes the tokens a person holds at a client (consent withdrawn).
    pub async fn revoke_user_tokens(&self, subject: &str, client: &str, at_ms: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE subject = $2 AND client = $3 \
             AND revoked_at IS NULL",
        )
        .bind(at_ms)
        .bind(subject)
        .bind(client)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn add_code(&self, code_hash: &str, c: &AuthCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_codes (code_hash, client, username, redirect_uri, scopes, nonce, \
             code_challenge, auth_time, amr, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(code_hash)
        .bind(&c.client)
        .bind(&c.username)
        .bind(&c.redirect_uri)
        .bind(to_json(&c.scopes)?)
        .bind(&c.nonce)
        .bind(&c.code_challenge)
        .bind(c.auth_time)
        .bind(&c.amr)
        .bind(c.issued_at)
        .bind(c.expires_at)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Takes a code: the first call marks it used and answers `Fresh`;
    /// later calls answer `Reused` (the same grant, for revocation).
    pub async fn take_code(&self, code_hash: &str, at_ms: i64) -> Result<CodeUse> {
        let first = sqlx::query(
            "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(at_ms)
        .bind(code_hash)
        .execute(&self.store.pool)
        .await?
        .rows_affected()
            > 0;
        let row = sqlx::query(
            "SELECT client, username, redirect_uri, scopes, nonce, code_challenge, auth_time, amr, \
             issued_at, expires_at FROM oidc_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(r) = row else {
            return Ok(CodeUse::Unknown);
        };
        let code = AuthCode {
            client: r.try_get("client")?,
            username: r.try_get("username")?,
            redirect_uri: r.try_get("redirect_uri")?,
            scopes: from_json(&r.try_get::<String, _>("scopes")?, "scopes")?,
            nonce: r.try_get("nonce")?,
            code_challenge: r.try_get("code_challenge")?,
            auth_time: r.try_get("auth_time")?,
            amr: r.try_get("amr")?,
            issued_at: r.try_get("issued_at")?,
            expires_at: r.try_get("expires_at")?,
        };
        Ok(if first {
            CodeUse::Fresh(code)
        } else {
            CodeUse::Reused(code)
        })
    }

    pub async fn add_session(&self, session_hash: &str, s: &SsoSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_sessions (session_hash, username, amr, auth_time, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash)
        .bind(&s.username)
        .bind(&s.amr)
        .bind(s.auth_time)
        .bind(s.expires_at)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, session_hash: &str) -> Result<Option<SsoSession>> {
        let row = sqlx::query(
            "SELECT username, amr, auth_time, expires_at FROM oidc_sessions WHERE session_hash = $1",
        )
        .bind(session_hash)
        .fetch_optional(&self.store.pool)
        .await?;
        row.map(|r| {
            Ok(SsoSession {
                username: r.try_get("username")?,
                amr: r.try_get("amr")?,
                auth_time: r.try_get("auth_time")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn remove_session(&self, session_hash: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM oidc_sessions WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The scopes a person agreed to give a client, if ever.
    pub async fn consent(&self, username: &str, client: &str) -> Result<Option<Vec<String>>> {
        let row =
            sqlx::query("SELECT scopes FROM oidc_consents WHERE username = $1 AND client = $2")
                .bind(username)
                .bind(client)
                .fetch_optional(&self.store.pool)
                .await?;
        row.map(|r| from_json(&r.try_get::<String, _>("scopes")?, "scopes"))
            .transpose()
    }

    /// Every client a person agreed to, with the scopes, by client name.
    pub async fn consents_of(&self, username: &str) -> Result<Vec<(String, Vec<String>, i64)>> {
        let rows = sqlx::query(
            "SELECT client, scopes, granted_at FROM oidc_consents WHERE username = $1 ORDER BY client",
        )
        .bind(username)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("client")?,
                    from_json(&r.try_get::<String, _>("scopes")?, "scopes")?,
                    r.try_get("granted_at")?,
                ))
            })
            .collect()
    }

    pub async fn grant_consent(
        &self,
        username: &str,
        client: &str,
        scopes: &[String],
        at_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_consents (username, client, scopes, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username, client) DO UPDATE SET scopes = excluded.scopes, \
             granted_at = excluded.granted_at",
        )
        .bind(username)
        .bind(client)
        .bind(to_json(&scopes)?)
        .bind(at_ms)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn withdraw_consent(&self, username: &str, client: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM oidc_consents WHERE username = $1 AND client = $2")
            .bind(username)
            .bind(client)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Drops codes, tokens and sessions that expired before `before_ms`.
    pub async fn purge(&self, before_ms: i64) -> Result<u64> {
        let mut n = 0;
        n += sqlx::query("DELETE FROM oidc_revoked_families WHERE revoked_at < $1")
            .bind(before_ms - 90 * 86_400_000)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        // A logout notice undelivered since then is given up.
        n += sqlx::query("DELETE FROM oidc_logout_notices WHERE created_at < $1")
            .bind(before_ms)
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        for table in ["oidc_codes", "oidc_tokens", "oidc_sessions"] {
            n += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                .bind(before_ms)
                .execute(&self.store.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// Signs a person out at the provider in every browser and at every
    /// app told by back channel: queues a logout notice for each such app
    /// where they hold a token and revokes those tokens (and their
    /// families, so a refresh running meanwhile issues nothing that
    /// lives). How many notices were queued.
    pub async fn sign_out_everywhere(
        &self,
        username: &str,
        subject: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<u64> {
        let mut tx = self.store.begin_write().await?;
        let n = queue_logout_notices(&mut tx, username, subject, reason, at_ms).await?;
        sqlx::query("DELETE FROM oidc_sessions WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Notices due by `now_ms`, oldest first.
    pub async fn due_logout_notices(&self, now_ms: i64, limit: i64) -> Result<Vec<LogoutNotice>> {
        let rows = sqlx::query(
            "SELECT id, client, username, subject, reason, created_at, attempts, next_at \
             FROM oidc_logout_notices WHERE next_at <= $1 ORDER BY next_at, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogoutNotice {
                    id: r.try_get("id")?,
                    client: r.try_get("client")?,
                    username: r.try_get("username")?,
                    subject: r.try_get("subject")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                    attempts: r.try_get("attempts")?,
                    next_at: r.try_get("next_at")?,
                })
            })
            .collect()
    }

    /// Takes a due notice for sending until `lease_until` (when, if this
    /// node stops, another tries it): false when another node took it
    /// first (its `next_at` moved).
    pub async fn claim_logout_notice(&self, n: &LogoutNotice, lease_until: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_logout_notices SET next_at = $1 WHERE id = $2 AND next_at = $3",
        )
        .bind(lease_until)
        .bind(n.id)
        .bind(n.next_at)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A notice delivered (or given up): gone.
    pub async fn drop_logout_notice(&self, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM oidc_logout_notices WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// A failed delivery: tried again at `next_at`.
    pub async fn retry_logout_notice(&self, id: i64, next_at: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE oidc_logout_notices SET attempts = attempts + 1, next_at = $1, \
             last_error = $2 WHERE id = $3",
        )
        .bind(next_at)
        .bind(error)
        .bind(id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Notices waiting, for the dashboard and metrics.
    pub async fn pending_logout_notices(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM oidc_logout_notices")
            .fetch_one(&self.store.pool)
            .await?
            .try_get("n")?)
    }

    /// Removes a client with its consents; its tokens are revoked (so a
    /// client registered again under the name inherits nothing).
    pub async fn remove_client(&self, name: &str) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        let n = sqlx::query("DELETE FROM oidc_clients WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            for sql in [
                "DELETE FROM oidc_consents WHERE client = $1",
                "DELETE FROM oidc_logout_notices WHERE client = $1",
                "DELETE FROM oidc_codes WHERE client = $1",
            ] {
                sqlx::query(sql).bind(name).execute(&mut *tx).await?;
            }
            revoke_client_grants(&mut tx, name, now_ms()).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }
}

/// A logout token still to send to an app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutNotice {
    pub id: i64,
    pub client: String,
    pub username: String,
    /// The `sub` the app knows the person by.
    pub subject: String,
    /// `logout`, `disabled` or `removed` (for the log).
    pub reason: String,
    pub created_at: i64,
    pub attempts: i64,
    /// When it is (next) due; a claim moves it.
    pub next_at: i64,
}

/// The `sub` of an account: a digest of its id and creation time (stable,
/// and never the same for a later account of the same name or row id).
pub fn subject_of(id: i64, created_at: i64) -> String {
    use sha2::{Digest, Sha256};
    let text = format!("portico-sub:{id}:{created_at}");
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Revokes a client's unrevoked tokens with their families (a refresh
/// running meanwhile is caught by the family check); how many tokens.
async fn revoke_client_grants(tx: &mut super::Tx, client: &str, at_ms: i64) -> Result<u64> {
    sqlx::query(
        "INSERT INTO oidc_revoked_families (family, revoked_at) SELECT DISTINCT family, $1 \
         FROM oidc_tokens WHERE client = $2 AND family IS NOT NULL AND revoked_at IS NULL \
         ON CONFLICT (family) DO NOTHING",
    )
    .bind(at_ms)
    .bind(client)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE client = $2 AND revoked_at IS NULL",
    )
    .bind(at_ms)
    .bind(client)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// The apps told by back channel, as a condition on `client`.
const TOLD_APPS: &str =
    "client IN (SELECT name FROM oidc_clients WHERE backchannel_logout_uri IS NOT NULL)";

/// Inside a transaction that ends a person's sign-in: one notice per app
/// with a back-channel URI where they hold an unrevoked token (expired
/// ones too: the app's own session may outlive them), and those tokens
/// and their families revoked.
pub(super) async fn queue_logout_notices(
    tx: &mut super::Tx,
    username: &str,
    subject: &str,
    reason: &str,
    at_ms: i64,
) -> Result<u64> {
    let n = sqlx::query(&format!(
        "INSERT INTO oidc_logout_notices (client, username, subject, reason, created_at, \
         attempts, next_at) SELECT DISTINCT client, $1, $2, $3, $4, 0, $4 FROM oidc_tokens \
         WHERE subject = $1 AND revoked_at IS NULL AND {TOLD_APPS}"
    ))
    .bind(username)
    .bind(subject)
    .bind(reason)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    revoke_tokens_of(tx, username, TOLD_APPS, at_ms).await?;
    Ok(n)
}

/// Revokes a person's unrevoked tokens matching `condition` (SQL on
/// `oidc_tokens`, no parameters) with their families: a token a refresh
/// stores while this runs is caught by the family check after it.
pub(super) async fn revoke_tokens_of(
    tx: &mut super::Tx,
    username: &str,
    condition: &str,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO oidc_revoked_families (family, revoked_at) SELECT DISTINCT family, $1 \
         FROM oidc_tokens WHERE subject = $2 AND family IS NOT NULL AND revoked_at IS NULL \
         AND {condition} ON CONFLICT (family) DO NOTHING"
    ))
    .bind(at_ms)
    .bind(username)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL \
         AND {condition}"
    ))
    .bind(at_ms)
    .bind(username)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{both, raw_blob};
    use super::*;

    #[tokio::test]
    async fn keys_sealed_rotated_and_clients_round_trip() {
        both(|h| async move {
            let o = h.store.oidc();
            o.add_key("k1", "ES256", b"private-one", "{\"kid\":\"k1\"}")
                .await
                .unwrap();
            let blob = raw_blob(&h.store, "SELECT private_enc FROM oidc_keys").await;
            assert!(
                !blob.windows(11).any(|w| w == b"private-one"),
                "sealed at rest"
            );
            assert!(matches!(
                o.add_key("k1", "ES256", b"x", "{}").await,
                Err(StoreError::Conflict(_))
            ));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            o.add_key("k2", "ES256", b"private-two", "{\"kid\":\"k2\"}")
                .await
                .unwrap();
            assert_eq!(o.retire_all_but(&["k2".into()], 1_000).await.unwrap(), 1);
            let keys = o.keys(0).await.unwrap();
            assert_eq!(
                keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
                ["k2", "k1"]
            );
            assert_eq!(keys[1].private_pkcs8, b"private-one");
            assert!(!format!("{:?}", keys[0]).contains("private-two"));
            // Past its grace, the retired key is no longer published.
            let keys = o.keys(2_000).await.unwrap();
            assert_eq!(
                keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
                ["k2"]
            );

            let new = NewOidcClient {
                name: "meetings".into(),
                secret_hash: Some("$argon2id$v=19$...".into()),
                redirect_uris: vec!["https://meet.example.cn/cb".into()],
                scopes: vec!["openid".into(), "profile".into()],
                require_2fa: true,
                allow_portal_session: false,
                post_logout_redirect_uris: vec![],
                id_token_alg: "ES256".into(),
                backchannel_logout_uri: Some("https://meet.example.cn/bcl".into()),
            };
            let c = o.add_client(&new).await.unwrap();
            assert!(!c.public && c.require_2fa && !c.allow_portal_session);
            assert_eq!(c.redirect_uris, new.redirect_uris);
            assert_eq!(c.backchannel_logout_uri, new.backchannel_logout_uri);
            assert!(matches!(
                o.add_client(&new).await,
                Err(StoreError::Conflict(_))
            ));
            let public = o
                .add_client(&NewOidcClient {
                    name: "drafting".into(),
                    secret_hash: None,
                    allow_portal_session: true,
                    ..new.clone()
                })
                .await
                .unwrap();
            assert!(public.public && public.allow_portal_session);
            assert_eq!(o.clients().await.unwrap().len(), 2);
            assert!(o.remove_client("meetings").await.unwrap());
            assert!(!o.remove_client("meetings").await.unwrap());
            assert!(o.client("meetings").await.unwrap().is_none());

            let t = IssuedToken {
                kind: "access".into(),
                client: "drafting".into(),
                subject: None,
                scopes: vec!["presence:read".into()],
                issued_at: 10,
                expires_at: 20,
                revoked_at: None,
                family: None,
                auth_time: None,
                amr: None,
                used_at: None,
            };
            o.add_token("h1", &t).await.unwrap();
            assert_eq!(o.token("h1").await.unwrap(), Some(t.clone()));
            assert!(o.token("h2").await.unwrap().is_none());
            assert!(!o.revoke_token("h1", "someone-else", 15).await.unwrap());
            assert!(o.revoke_token("h1", "drafting", 15).await.unwrap());
            assert!(!o.revoke_token("h1", "drafting", 16).await.unwrap(), "once");
            assert_eq!(
                o.token("h1").await.unwrap().and_then(|t| t.revoked_at),
                Some(15)
            );

            // Codes: the first take is fresh, the second a reuse.
            let code = AuthCode {
                client: "drafting".into(),
                username: "zhang".into(),
                redirect_uri: "https://draft.example.cn/cb".into(),
                scopes: vec!["openid".into()],
                nonce: Some("n-1".into()),
                code_challenge: Some("abc".into()),
                auth_time: 5,
                amr: "pwd".into(),
                issued_at: 10,
                expires_at: 70,
            };
            o.add_code("c1", &code).await.unwrap();
            assert_eq!(
                o.take_code("c1", 11).await.unwrap(),
                CodeUse::Fresh(code.clone())
            );
            assert_eq!(o.take_code("c1", 12).await.unwrap(), CodeUse::Reused(code));
            assert_eq!(o.take_code("c2", 12).await.unwrap(), CodeUse::Unknown);
            // A family: refresh used once, then the family revoked.
            let refresh = IssuedToken {
                kind: "refresh".into(),
                subject: Some("zhang".into()),
                family: Some("c1".into()),
                expires_at: 1_000,
                ..t.clone()
            };
            o.add_token("r1", &refresh).await.unwrap();
            o.add_token(
                "a1",
                &IssuedToken {
                    kind: "access".into(),
                    ..refresh.clone()
                },
            )
            .await
            .unwrap();
            assert!(o.use_refresh("r1", 20).await.unwrap());
            assert!(!o.use_refresh("r1", 21).await.unwrap(), "once");
            assert!(
                !o.use_refresh("a1", 21).await.unwrap(),
                "not a refresh token"
            );
            assert!(!o.family_revoked("c1").await.unwrap());
            assert_eq!(o.revoke_family("c1", 22).await.unwrap(), 2);
            assert!(o.family_revoked("c1").await.unwrap());
            assert_eq!(
                o.token("a1").await.unwrap().and_then(|t| t.revoked_at),
                Some(22)
            );
            // Sessions and consents.
            let session = SsoSession {
                username: "zhang".into(),
                amr: "pwd".into(),
                auth_time: 5,
                expires_at: 100,
            };
            o.add_session("s1", &session).await.unwrap();
            assert_eq!(o.session("s1").await.unwrap(), Some(session));
            assert!(o.remove_session("s1").await.unwrap());
            assert!(o.session("s1").await.unwrap().is_none());
            assert!(o.consent("zhang", "drafting").await.unwrap().is_none());
            let scopes = vec!["openid".to_string(), "phone".to_string()];
            o.grant_consent("zhang", "drafting", &scopes[..1], 1)
                .await
                .unwrap();
            o.grant_consent("zhang", "drafting", &scopes, 2)
                .await
                .unwrap();
            assert_eq!(
                o.consent("zhang", "drafting").await.unwrap(),
                Some(scopes.clone())
            );
            assert_eq!(
                o.consents_of("zhang").await.unwrap(),
                vec![("drafting".to_string(), scopes, 2)]
            );
            assert!(o.withdraw_consent("zhang", "drafting").await.unwrap());
            assert!(o.consents_of("zhang").await.unwrap().is_empty());
            assert!(o.purge(1_001).await.unwrap() >= 3);
        })
        .await;
    }

    /// zhang's refresh token at `client`, family f1, not expiring.
    fn zhangs_token(client: &str) -> IssuedToken {
        IssuedToken {
            kind: "refresh".into(),
            client: client.into(),
            subject: Some("zhang".into()),
            scopes: vec!["openid".into()],
            issued_at: 1,
            expires_at: i64::MAX / 2,
            revoked_at: None,
            family: Some("f1".into()),
            auth_time: Some(1),
            amr: Some("pwd".into()),
            used_at: None,
        }
    }

    /// A confidential client asking for `openid` only.
    fn test_client(name: &str, backchannel: Option<&str>) -> NewOidcClient {
        NewOidcClient {
            name: name.into(),
            secret_hash: Some("$argon2id$x".into()),
            redirect_uris: vec!["https://m.example.cn/cb".into()],
            scopes: vec!["openid".into()],
            require_2fa: false,
            allow_portal_session: false,
            post_logout_redirect_uris: vec![],
            id_token_alg: "ES256".into(),
            backchannel_logout_uri: backchannel.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn removing_an_account_or_client_leaves_nothing_to_inherit() {
        both(|h| async move {
            let s = &h.store;
            s.users()
                .add(&crate::store::users::NewUser {
                    username: "zhang".into(),
                    display_name: None,
                    password_hash: None,
                    nt_hash: None,
                    groups: vec![],
                    valid_until: None,
                })
                .await
                .unwrap();
            let o = s.oidc();
            let token = |client: &str| IssuedToken {
                kind: "access".into(),
                ..zhangs_token(client)
            };
            o.add_token("t-meeting", &token("meeting")).await.unwrap();
            o.add_token("t-drafting", &token("drafting")).await.unwrap();
            o.grant_consent("zhang", "meeting", &["groups".into()], 1)
                .await
                .unwrap();
            o.add_session(
                "s1",
                &SsoSession {
                    username: "zhang".into(),
                    amr: "pwd".into(),
                    auth_time: 1,
                    expires_at: i64::MAX / 2,
                },
            )
            .await
            .unwrap();
            s.presence().opt_in("zhang", 1).await.unwrap();
            s.wechat_links()
                .link("wechat", "o-zhang", "zhang", 1)
                .await
                .unwrap();
            o.add_client(&test_client("meeting", None)).await.unwrap();

            // The client goes: its tokens and consents with it.
            assert!(o.remove_client("meeting").await.unwrap());
            assert!(o
                .token("t-meeting")
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some());
            assert!(o
                .token("t-drafting")
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_none());
            assert!(o.consent("zhang", "meeting").await.unwrap().is_none());

            // The account goes: sessions, consents, presence, bindings and
            // tokens keyed by its name with it.
            o.grant_consent("zhang", "drafting", &["groups".into()], 1)
                .await
                .unwrap();
            assert!(s.users().remove("zhang").await.unwrap());
            assert!(o.session("s1").await.unwrap().is_none());
            assert!(o.consents_of("zhang").await.unwrap().is_empty());
            assert!(s.presence().opted_in("zhang").await.unwrap().is_none());
            assert!(s.wechat_links().links_of("zhang").await.unwrap().is_empty());
            assert!(o
                .token("t-drafting")
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some());
            assert!(!s.users().remove("zhang").await.unwrap());
        })
        .await;
    }

    #[tokio::test]
    async fn a_client_changed_in_place_or_from_a_stale_read() {
        both(|h| async move {
            let o = h.store.oidc();
            let c = o.add_client(&test_client("meeting", None)).await.unwrap();
            o.add_token("t1", &zhangs_token("meeting")).await.unwrap();
            o.grant_consent("zhang", "meeting", &["groups".into()], 1)
                .await
                .unwrap();
            // Giving more: nothing ends.
            let mut wider = test_client("meeting", Some("https://m.example.cn/bcl"));
            wider.redirect_uris.push("https://m.example.cn/cb2".into());
            let (after, revoked) = o.update_client(&wider, c.updated_at, false).await.unwrap();
            assert_eq!((after.redirect_uris.len(), revoked), (2, 0));
            assert!(after.updated_at > c.updated_at);
            // From a stale read: refused, nothing written.
            assert!(matches!(
                o.update_client(&test_client("meeting", None), c.updated_at, true)
                    .await,
                Err(StoreError::Conflict(_))
            ));
            assert_eq!(o.client("meeting").await.unwrap().unwrap(), after);
            assert!(o.token("t1").await.unwrap().unwrap().revoked_at.is_none());
            // Taking away: tokens with their family, consents, codes end.
            let (_, revoked) = o
                .update_client(&test_client("meeting", None), after.updated_at, true)
                .await
                .unwrap();
            assert_eq!(revoked, 1);
            assert!(o.family_revoked("f1").await.unwrap());
            assert!(o.consent("zhang", "meeting").await.unwrap().is_none());
        })
        .await;
    }

    #[tokio::test]
    async fn sign_outs_queue_logout_notices_for_apps_told_by_back_channel() {
        both(|h| async move {
            let s = &h.store;
            let o = s.oidc();
            let new_user = |name: &str| crate::store::users::NewUser {
                username: name.into(),
                ..Default::default()
            };
            let zhang = s.users().add(&new_user("zhang")).await.unwrap();
            o.add_client(&test_client("meeting", Some("https://m.example.cn/bcl")))
                .await
                .unwrap();
            o.add_client(&test_client("drafting", None)).await.unwrap();
            let now = 1_000_000;
            let token = |client: &str, expires_at: i64| IssuedToken {
                kind: "refresh".into(),
                client: client.into(),
                subject: Some("zhang".into()),
                scopes: vec!["openid".into()],
                issued_at: 1,
                expires_at,
                revoked_at: None,
                family: Some(format!("f-{client}")),
                auth_time: Some(1),
                amr: Some("pwd".into()),
                used_at: None,
            };
            async fn live(o: &Oidc<'_>, hash: &str) -> bool {
                o.token(hash).await.unwrap().unwrap().revoked_at.is_none()
            }
            o.add_token("m1", &token("meeting", now + 60_000))
                .await
                .unwrap();
            o.add_token("m2", &token("meeting", now + 90_000))
                .await
                .unwrap();
            o.add_token("d1", &token("drafting", now + 60_000))
                .await
                .unwrap();
            let subject = subject_of(zhang.id, zhang.created_at);

            // Signed out: one notice for the app with a back channel (two
            // tokens there, one notice), its tokens revoked; the other
            // app's token is the caller's business.
            assert_eq!(
                o.sign_out_everywhere("zhang", &subject, "logout", now)
                    .await
                    .unwrap(),
                1
            );
            assert!(!live(&o, "m1").await && !live(&o, "m2").await);
            assert!(live(&o, "d1").await);
            // Their families too: a refresh running meanwhile is caught.
            assert!(o.family_revoked("f-meeting").await.unwrap());
            assert!(!o.family_revoked("f-drafting").await.unwrap());
            // Nothing live left at the app: nothing more to tell.
            assert_eq!(
                o.sign_out_everywhere("zhang", &subject, "logout", now)
                    .await
                    .unwrap(),
                0
            );
            let due = o.due_logout_notices(now, 10).await.unwrap();
            assert_eq!(due.len(), 1);
            assert_eq!(
                (
                    due[0].client.as_str(),
                    due[0].subject.as_str(),
                    due[0].attempts
                ),
                ("meeting", subject.as_str(), 0)
            );
            assert!(o.due_logout_notices(now - 1, 10).await.unwrap().is_empty());
            // One node claims it; another, having read it too, cannot.
            assert!(o.claim_logout_notice(&due[0], now + 5).await.unwrap());
            assert!(!o.claim_logout_notice(&due[0], now + 5).await.unwrap());
            assert!(o.due_logout_notices(now, 10).await.unwrap().is_empty());
            o.retry_logout_notice(due[0].id, now + 10_000, "refused")
                .await
                .unwrap();
            assert!(o.due_logout_notices(now, 10).await.unwrap().is_empty());
            let again = o.due_logout_notices(now + 10_000, 10).await.unwrap();
            assert_eq!(again[0].attempts, 1);
            assert!(o.drop_logout_notice(again[0].id).await.unwrap());
            assert_eq!(o.pending_logout_notices().await.unwrap(), 0);

            // Disabled: the app is told, every token and session ends.
            o.add_token("m3", &token("meeting", i64::MAX / 2))
                .await
                .unwrap();
            s.users().set_enabled("zhang", false).await.unwrap();
            assert!(!live(&o, "m3").await && !live(&o, "d1").await);
            let due = o.due_logout_notices(i64::MAX / 4, 10).await.unwrap();
            assert_eq!(
                due.iter()
                    .map(|n| (n.reason.as_str(), n.subject.as_str()))
                    .collect::<Vec<_>>(),
                [("disabled", subject.as_str())]
            );
            s.users().set_enabled("zhang", true).await.unwrap();
            assert_eq!(o.pending_logout_notices().await.unwrap(), 1);

            // Removed: told with the subject the app knew, though the
            // account can no longer be looked up.
            o.add_token("m4", &token("meeting", i64::MAX / 2))
                .await
                .unwrap();
            assert!(s.users().remove("zhang").await.unwrap());
            let due = o.due_logout_notices(i64::MAX / 4, 10).await.unwrap();
            assert_eq!(due.len(), 2);
            assert_eq!(
                (due[1].reason.as_str(), due[1].subject.as_str()),
                ("removed", subject.as_str())
            );
            assert!(matches!(
                s.users().set_enabled("zhang", false).await,
                Err(StoreError::NotFound(_))
            ));
            // The app removed: its notices go with it.
            assert!(o.remove_client("meeting").await.unwrap());
            assert_eq!(o.pending_logout_notices().await.unwrap(), 0);
            // Undelivered since the purge's cut-off: dropped.
            o.add_client(&test_client("meeting", Some("https://m.example.cn/bcl")))
                .await
                .unwrap();
            let li = s.users().add(&new_user("li")).await.unwrap();
            let mut t = token("meeting", 5);
            t.subject = Some("li".into());
            o.add_token("l2", &t).await.unwrap();
            // An expired token still says li used the app: told.
            let li_sub = subject_of(li.id, li.created_at);
            assert_eq!(
                o.sign_out_everywhere("li", &li_sub, "logout", now)
                    .await
                    .unwrap(),
                1
            );
            o.purge(i64::MAX / 4).await.unwrap();
            assert_eq!(o.pending_logout_notices().await.unwrap(), 0);
        })
        .await;
    }
}
