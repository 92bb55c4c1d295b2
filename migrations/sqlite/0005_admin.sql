-- The dashboard and API (SQLite). Kept column for column in step with
-- migrations/postgres/0005_admin.sql.

-- Administrator accounts with the separated roles of MLPS 2.0 level 3:
-- system, security, audit, operator; `admin` (every right) only where
-- admin.role_separation = false. TOTP secrets are sealed with the data key.
CREATE TABLE admins_v2 (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'system', 'security', 'audit', 'operator')),
    display_name TEXT,
    totp_secret_enc BLOB,
    totp_last_step INTEGER,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    last_sign_in_at INTEGER
);
INSERT INTO admins_v2 (username, password_hash, role, must_change_password, disabled,
                       created_at, updated_at, password_changed_at)
    SELECT username, password_hash,
           CASE role WHEN 'auditor' THEN 'audit' ELSE role END,
           1, 0, created_at, created_at, created_at
    FROM admins;
DROP TABLE admins;
ALTER TABLE admins_v2 RENAME TO admins;

-- Dashboard sessions, shared by every node. The cookie holds a random
-- token; only its SHA-256 is stored. `stage` is how far sign-in got.
CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('totp', 'setup', 'ready')),
    csrf TEXT NOT NULL,
    pending_totp_enc BLOB,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX admin_sessions_user ON admin_sessions (username);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- API tokens: shown once, stored as SHA-256, carrying their admin's role.
CREATE TABLE admin_tokens (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER,
    UNIQUE (username, name)
);

-- The audit trail: append-only, each row's MAC covers the one before it
-- (audit_head holds the end of the chain). Updates are refused always;
-- deletes only while audit_head.pruning is set, inside the retention prune,
-- which writes a row of its own.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    origin TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    pruning INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_head (id, seq, hash, pruning) VALUES (1, 0, '', 0);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN (SELECT pruning FROM audit_head WHERE id = 1) = 0
BEGIN SELECT RAISE(ABORT, 'audit_log rows are removed only by the retention prune'); END;

-- Alerts: acknowledged by whom and when; maintenance windows silence the
-- alerts of chosen APs (empty list: every AP) between two times.
ALTER TABLE alerts ADD COLUMN acked_ms INTEGER;
ALTER TABLE alerts ADD COLUMN acked_by TEXT;
CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    aps TEXT NOT NULL DEFAULT '[]',
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX maintenance_windows_end ON maintenance_windows (ends_at);

-- Access-Requests per NAS and hour, and how many carried a valid
-- Message-Authenticator (the BlastRADIUS view). Added to, never replaced.
CREATE TABLE nas_request_stats (
    nas_name TEXT NOT NULL,
    hour_ms INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    with_ma INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (nas_name, hour_ms)
);

-- The dashboard's searches: one index range per user or MAC, and the open
-- sessions without a scan.
CREATE INDEX auth_log_user ON auth_log (username, at_ms);
CREATE INDEX auth_log_mac ON auth_log (mac, at_ms);
CREATE INDEX acct_sessions_user ON acct_sessions (username, started_ms);
CREATE INDEX acct_sessions_ip ON acct_sessions (framed_ip, started_ms);
CREATE INDEX acct_sessions_live ON acct_sessions (started_ms) WHERE stopped_ms IS NULL;
