-- AP inventory and SNMP monitoring (SQLite). Kept column for column in step
-- with migrations/postgres/0002_snmp.sql. Times are i64 ms since the Unix
-- epoch UTC; booleans INTEGER 0/1; lists JSON text.

-- An AP or WLAN controller. SNMP credentials (community or v3 user and
-- passwords) are sealed with the data key as one JSON document.
CREATE TABLE aps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'ap' CHECK (kind IN ('ap', 'controller')),
    mac TEXT UNIQUE,
    address TEXT NOT NULL,
    profile TEXT NOT NULL,
    controller TEXT,
    model TEXT,
    serial TEXT,
    firmware TEXT,
    building TEXT,
    floor TEXT,
    room TEXT,
    x REAL,
    y REAL,
    snmp_version TEXT NOT NULL CHECK (snmp_version IN ('v1', 'v2c', 'v3', 'none')),
    snmp_secret_enc BLOB,
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'up', 'down')),
    failures INTEGER NOT NULL DEFAULT 0,
    last_poll_ms INTEGER,
    last_ok_ms INTEGER,
    last_error TEXT,
    sys_name TEXT,
    sys_descr TEXT,
    sys_object_id TEXT,
    uptime_ticks INTEGER,
    polled_model TEXT,
    polled_serial TEXT,
    polled_firmware TEXT,
    clients INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Devices found by a sweep or listed by a controller, until adopted.
CREATE TABLE discovered (
    address TEXT PRIMARY KEY,
    via TEXT NOT NULL,
    profile TEXT,
    mac TEXT,
    sys_name TEXT,
    sys_descr TEXT,
    sys_object_id TEXT,
    model TEXT,
    seen_ms INTEGER NOT NULL
);

-- Samples. resolution: 0 raw, 300000 five-minute averages, 3600000 hourly.
CREATE TABLE ap_samples (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    up INTEGER NOT NULL,
    uptime_s INTEGER,
    clients INTEGER
);
CREATE INDEX ap_samples_at ON ap_samples (resolution, at_ms);
CREATE INDEX ap_samples_ap ON ap_samples (ap_id, at_ms);

CREATE TABLE radio_samples (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    radio TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    channel INTEGER,
    tx_power INTEGER,
    noise INTEGER,
    utilization INTEGER,
    clients INTEGER
);
CREATE INDEX radio_samples_at ON radio_samples (resolution, at_ms);
CREATE INDEX radio_samples_ap ON radio_samples (ap_id, radio, at_ms);

CREATE TABLE if_samples (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    if_index TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    up INTEGER,
    in_octets INTEGER,
    out_octets INTEGER
);
CREATE INDEX if_samples_at ON if_samples (resolution, at_ms);
CREATE INDEX if_samples_ap ON if_samples (ap_id, at_ms);

-- Per-client signal where the MIB has it (raw only).
CREATE TABLE client_samples (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    mac TEXT,
    ip TEXT,
    username TEXT,
    ap TEXT,
    ssid TEXT,
    rssi INTEGER,
    snr INTEGER
);
CREATE INDEX client_samples_at ON client_samples (at_ms);
CREATE INDEX client_samples_mac ON client_samples (mac, at_ms);

-- Alerts: raised once, cleared on recovery. One open alert per (source, kind, subject).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_ms INTEGER NOT NULL,
    cleared_ms INTEGER
);
CREATE UNIQUE INDEX alerts_open ON alerts (source, kind, subject) WHERE cleared_ms IS NULL;
