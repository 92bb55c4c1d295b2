-- Issue 15 (SQLite; kept in step with migrations/postgres/0008_oidc.sql).
--
-- The OpenID Connect provider's signing keys: the private key (PKCS#8)
-- sealed with the data key, the public half as a JWK. A rotated key stays
-- in the JWKS for sso.key_grace after `retired_at`.
CREATE TABLE oidc_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_enc BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
-- Relying parties (the building's apps). Secrets are argon2id hashes;
-- lists are JSON.
CREATE TABLE oidc_clients (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash TEXT,
    public INTEGER NOT NULL DEFAULT 0,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    require_2fa INTEGER NOT NULL DEFAULT 0,
    allow_portal_session INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Tokens the provider issued (only their SHA-256 is kept): access tokens
-- (client_credentials and, later, the code flow) with their scopes; a
-- revoked or expired token is inactive at introspection.
CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client TEXT NOT NULL,
    subject TEXT,
    scopes TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
