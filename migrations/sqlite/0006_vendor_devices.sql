-- Issue 13 (SQLite; kept in step with migrations/postgres/0006_vendor_devices.sql).
--
-- Discovered devices are keyed by the device (MAC, else sysObjectID and
-- serial, else address), not by the address they answered on.
CREATE TABLE discovered_devices (
    id INTEGER PRIMARY KEY,
    device_key TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    via TEXT NOT NULL,
    profile TEXT,
    kind TEXT,
    mac TEXT,
    serial TEXT,
    sys_name TEXT,
    sys_descr TEXT,
    sys_object_id TEXT,
    model TEXT,
    seen_ms INTEGER NOT NULL
);
INSERT OR IGNORE INTO discovered_devices
    (device_key, address, via, profile, mac, sys_name, sys_descr, sys_object_id, model, seen_ms)
    SELECT COALESCE('mac:' || mac, 'addr:' || address), address, via, profile, mac, sys_name,
           sys_descr, sys_object_id, model, seen_ms
    FROM discovered;
DROP TABLE discovered;

-- The SSIDs (VAPs) an AP serves, as of its last poll (JSON list).
ALTER TABLE aps ADD COLUMN vaps TEXT;

-- Radio samples, packed: one row per AP per poll holding all its radios
-- (see src/store/radio_pack.rs); radios are numbered per AP in ap_radios.
-- See BENCHMARKS.md for the bytes per radio sample.
CREATE TABLE ap_radios (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (ap_id, slot),
    UNIQUE (ap_id, name)
);
CREATE TABLE radio_polls (
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    -- In minutes here (0 raw, 5, 60), as in PostgreSQL's SMALLINT.
    resolution INTEGER NOT NULL,
    -- The highest channel utilization among the radios (top-N queries).
    busiest INTEGER,
    data BLOB NOT NULL,
    PRIMARY KEY (ap_id, resolution, at_ms)
) WITHOUT ROWID;
CREATE INDEX radio_polls_at ON radio_polls (resolution, at_ms);
-- The old per-radio rows are packed into radio_polls at the first start
-- (store::samples::convert_legacy_radio_samples), then dropped.
DROP INDEX radio_samples_at;
DROP INDEX radio_samples_ap;
ALTER TABLE radio_samples RENAME TO radio_samples_legacy;
