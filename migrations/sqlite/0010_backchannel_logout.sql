-- OpenID Connect Back-Channel Logout (SQLite; kept in step with
-- migrations/postgres/0010_backchannel_logout.sql): apps that register a
-- back-channel URI are told, server to server, when a person signs out at
-- the provider or their account is disabled or removed.
ALTER TABLE oidc_clients ADD COLUMN backchannel_logout_uri TEXT;
-- Logout tokens still to deliver: queued in the same transaction that
-- ends the sign-in (so the CLI queues them too), sent by the running
-- server with retries. `subject` is the `sub` the app knows, kept here
-- because a removed account can no longer be looked up.
CREATE TABLE oidc_logout_notices (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    username TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX oidc_logout_notices_due ON oidc_logout_notices (next_at);
-- A person's tokens are looked up by subject at logout and removal.
CREATE INDEX oidc_tokens_subject ON oidc_tokens (subject, client);
