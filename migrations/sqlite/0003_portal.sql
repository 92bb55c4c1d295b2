-- Captive portal (SQLite). Kept column for column in step with
-- migrations/postgres/0003_portal.sql. Times are i64 ms since the Unix
-- epoch UTC; lists of names are JSON text.

-- A signed-in device: the browser holds a random token, the table its
-- SHA-256 (a stolen database gives no usable cookies).
CREATE TABLE portal_sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    mac TEXT NOT NULL,
    ip TEXT,
    identity TEXT NOT NULL,
    method TEXT NOT NULL,
    phone TEXT,
    groups TEXT NOT NULL DEFAULT '[]',
    profile TEXT NOT NULL,
    ssid TEXT,
    ap_mac TEXT,
    authorization_id INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX portal_sessions_ip ON portal_sessions (ip, expires_at);
CREATE INDEX portal_sessions_mac ON portal_sessions (mac, expires_at);

CREATE TABLE voucher_batches (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    -- Session length from the first use, seconds.
    duration_s INTEGER NOT NULL,
    devices INTEGER NOT NULL,
    -- Unused codes stop working at this time.
    expires_at INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '[]'
);

-- Codes are printed on paper and must be shown again on the print view,
-- so they are kept as written; guessing is stopped by their length and
-- by rate limits on the portal.
CREATE TABLE vouchers (
    code TEXT PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES voucher_batches (id) ON DELETE CASCADE,
    first_used_at INTEGER,
    devices_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vouchers_batch ON vouchers (batch_id);

CREATE TABLE voucher_uses (
    code TEXT NOT NULL REFERENCES vouchers (code) ON DELETE CASCADE,
    mac TEXT NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (code, mac)
);

-- SMS one-time codes: only a keyed hash of the code is kept.
CREATE TABLE sms_codes (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    mac TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX sms_codes_phone ON sms_codes (phone, created_at);

-- WeChat (openid) and WeCom (userid) identities linked to staff accounts.
CREATE TABLE wechat_links (
    kind TEXT NOT NULL CHECK (kind IN ('wechat', 'wecom')),
    external_id TEXT NOT NULL,
    username TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, external_id)
);

-- One-time links behind a QR code: the waiting device polls, the phone
-- completes. Only the ticket's SHA-256 is kept.
CREATE TABLE portal_tickets (
    ticket_hash TEXT PRIMARY KEY,
    context TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    opened_at INTEGER,
    identity TEXT,
    method TEXT,
    completed_at INTEGER
);
