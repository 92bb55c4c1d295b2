-- Portal trust (SQLite). Kept column for column in step with
-- migrations/postgres/0004_portal_trust.sql.

-- One-time credentials are bound to the client MAC and the NAS they were
-- issued for (NULL: not bound, e.g. a login host from
-- portal.allowed_login_hosts that is no NAS).
ALTER TABLE one_time_credentials ADD COLUMN mac TEXT;
ALTER TABLE one_time_credentials ADD COLUMN nas_name TEXT;

-- The legal log needs the client's IP address and the SSID beside the
-- identity, MAC, NAS and AP.
ALTER TABLE auth_log ADD COLUMN client_ip TEXT;
ALTER TABLE auth_log ADD COLUMN ssid TEXT;

-- Why a portal session ended (sign-out, expired, revoked), the NAS that
-- holds the client (for the log rows of its end), and the page the person
-- asked for (a link on the launcher).
ALTER TABLE portal_sessions ADD COLUMN end_reason TEXT;
ALTER TABLE portal_sessions ADD COLUMN nas_name TEXT;
ALTER TABLE portal_sessions ADD COLUMN nas_ip TEXT;
ALTER TABLE portal_sessions ADD COLUMN original_url TEXT;
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);

-- Wrong passwords per account (portal, dashboard, RADIUS PAP) within a
-- window, and the lock they caused. Shared by every node.
CREATE TABLE account_lockouts (
    username TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    locked_until INTEGER
);

-- Which NAS holds a client and at which address (the portal's client
-- check, CoA and Disconnect after sign-in and sign-out): one index range
-- per MAC instead of every session of the last hours.
CREATE INDEX acct_sessions_mac ON acct_sessions (calling_station, started_ms);
