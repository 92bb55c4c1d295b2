-- Core schema (SQLite). Kept column for column in step with
-- migrations/postgres/0001_core.sql. Booleans are INTEGER 0/1 (sqlx's Any
-- driver cannot read columns declared BOOLEAN); times are i64 ms since the
-- Unix epoch UTC.

-- Bumped by triggers on every change to the cached tables below, in the same
-- transaction as the change, so a reader that sees the new value sees the data.
CREATE TABLE change_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO change_seq (id, seq) VALUES (1, 0);

CREATE TABLE store_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT,
    password_hash TEXT,
    nt_hash_enc BLOB,
    enabled INTEGER NOT NULL DEFAULT 1,
    valid_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    vlan TEXT,
    session_timeout INTEGER,
    idle_timeout INTEGER,
    filter_id TEXT,
    class TEXT,
    reply_attributes TEXT NOT NULL DEFAULT '[]',
    allowed_methods TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE user_groups (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id);

CREATE TABLE nas (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    secret_enc BLOB NOT NULL,
    profile TEXT NOT NULL,
    coa_port INTEGER NOT NULL,
    require_message_authenticator INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE devices (
    mac TEXT PRIMARY KEY,
    owner TEXT,
    description TEXT,
    groups TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);

CREATE TABLE authorizations (
    id INTEGER PRIMARY KEY,
    mac TEXT NOT NULL,
    identity TEXT NOT NULL,
    method TEXT NOT NULL,
    groups TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX authorizations_mac_expires ON authorizations (mac, expires_at);

CREATE TABLE one_time_credentials (
    username TEXT PRIMARY KEY,
    secret_enc BLOB NOT NULL,
    identity TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    uses_left INTEGER NOT NULL
);
CREATE INDEX one_time_credentials_expires ON one_time_credentials (expires_at);

CREATE TABLE acct_sessions (
    id INTEGER PRIMARY KEY,
    nas_name TEXT NOT NULL,
    nas_ip TEXT NOT NULL,
    session_id TEXT NOT NULL,
    username TEXT,
    calling_station TEXT,
    called_station TEXT,
    framed_ip TEXT,
    started_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    stopped_ms INTEGER,
    input_octets INTEGER NOT NULL DEFAULT 0,
    output_octets INTEGER NOT NULL DEFAULT 0,
    input_packets INTEGER NOT NULL DEFAULT 0,
    output_packets INTEGER NOT NULL DEFAULT 0,
    session_time INTEGER NOT NULL DEFAULT 0,
    terminate_cause TEXT,
    UNIQUE (nas_name, session_id)
);
CREATE INDEX acct_sessions_started ON acct_sessions (started_ms);
-- Accounting-On/Off closes the open sessions of one NAS.
CREATE INDEX acct_sessions_open ON acct_sessions (nas_name, stopped_ms);

-- Append-only copy of every accounting request: the legal log.
CREATE TABLE accounting_records (
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    event_ms INTEGER NOT NULL,
    nas_name TEXT NOT NULL,
    nas_ip TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    username TEXT,
    calling_station TEXT,
    called_station TEXT,
    framed_ip TEXT,
    input_octets INTEGER NOT NULL,
    output_octets INTEGER NOT NULL,
    input_packets INTEGER NOT NULL,
    output_packets INTEGER NOT NULL,
    session_time INTEGER NOT NULL,
    terminate_cause TEXT
);
CREATE INDEX accounting_records_received ON accounting_records (received_ms);

CREATE TABLE auth_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    username TEXT NOT NULL,
    mac TEXT,
    nas_name TEXT NOT NULL,
    nas_ip TEXT NOT NULL,
    ap TEXT,
    method TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX auth_log_at ON auth_log (at_ms);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX events_at ON events (at_ms);

CREATE TABLE admins (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    created_at INTEGER NOT NULL
);

-- change_seq triggers (SQLite has row-level triggers only).
CREATE TRIGGER users_ins AFTER INSERT ON users BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER users_upd AFTER UPDATE ON users BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER users_del AFTER DELETE ON users BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER groups_ins AFTER INSERT ON groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER groups_upd AFTER UPDATE ON groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER groups_del AFTER DELETE ON groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER user_groups_ins AFTER INSERT ON user_groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER user_groups_upd AFTER UPDATE ON user_groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER user_groups_del AFTER DELETE ON user_groups BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER nas_ins AFTER INSERT ON nas BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER nas_upd AFTER UPDATE ON nas BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER nas_del AFTER DELETE ON nas BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER devices_ins AFTER INSERT ON devices BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER devices_upd AFTER UPDATE ON devices BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER devices_del AFTER DELETE ON devices BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_ins AFTER INSERT ON authorizations BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_upd AFTER UPDATE ON authorizations BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER authorizations_del AFTER DELETE ON authorizations BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER one_time_credentials_ins AFTER INSERT ON one_time_credentials BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER one_time_credentials_upd AFTER UPDATE ON one_time_credentials BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER one_time_credentials_del AFTER DELETE ON one_time_credentials BEGIN UPDATE change_seq SET seq = seq + 1 WHERE id = 1; END;
