-- Issue 15, second part (SQLite; kept in step with
-- migrations/postgres/0009_sso_flows.sql): the authorization code flow,
-- the provider's sign-in sessions, consents, staff TOTP, and presence
-- opt-in.
--
-- Authorization codes, by SHA-256: once used (`used_at`) a second use
-- revokes every token of the family the code started.
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    username TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time INTEGER NOT NULL,
    amr TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);
-- A token's family is the code it descends from (refresh rotation keeps
-- it); `used_at` marks a refresh token already exchanged.
ALTER TABLE oidc_tokens ADD COLUMN family TEXT;
ALTER TABLE oidc_tokens ADD COLUMN used_at INTEGER;
ALTER TABLE oidc_tokens ADD COLUMN auth_time INTEGER;
ALTER TABLE oidc_tokens ADD COLUMN amr TEXT;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
-- Families revoked (a code or refresh token reused, consent withdrawn):
-- a token issued while the revocation ran is checked against this after
-- it is stored.
CREATE TABLE oidc_revoked_families (
    family TEXT PRIMARY KEY,
    revoked_at INTEGER NOT NULL
);
-- Where a client may send the browser after logout (exact match).
ALTER TABLE oidc_clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
-- The ID token's algorithm for the client: ES256, or RS256 for apps that
-- only know RSA.
ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'ES256';
-- The provider's own sign-in (cookie `portico_sso`), by SHA-256.
CREATE TABLE oidc_sessions (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    amr TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_sessions_user ON oidc_sessions (username);
-- Scopes a person agreed to give a client; revocable from the launcher.
CREATE TABLE oidc_consents (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    scopes TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (username, client)
);
-- Staff TOTP (sealed with the data key) for clients that require 2FA.
ALTER TABLE users ADD COLUMN totp_secret_enc BLOB;
-- The last TOTP step used (a code works once).
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- A staff member's mobile number (the `phone_number` claim, with consent).
ALTER TABLE users ADD COLUMN phone TEXT;
-- People who agreed to show meeting apps which room they are in.
CREATE TABLE presence_consents (
    username TEXT PRIMARY KEY,
    granted_at INTEGER NOT NULL
);
