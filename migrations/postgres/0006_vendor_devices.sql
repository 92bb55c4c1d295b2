-- Issue 13 (PostgreSQL; kept in step with migrations/sqlite/0006_vendor_devices.sql).
--
-- Discovered devices are keyed by the device (MAC, else sysObjectID and
-- serial, else address), not by the address they answered on.
CREATE TABLE discovered_devices (
    id BIGSERIAL PRIMARY KEY,
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
    seen_ms BIGINT NOT NULL
);
INSERT INTO discovered_devices
    (device_key, address, via, profile, mac, sys_name, sys_descr, sys_object_id, model, seen_ms)
    SELECT COALESCE('mac:' || mac, 'addr:' || address), address, via, profile, mac, sys_name,
           sys_descr, sys_object_id, model, seen_ms
    FROM discovered
    ON CONFLICT (device_key) DO NOTHING;
DROP TABLE discovered;

-- The SSIDs (VAPs) an AP serves, as of its last poll (JSON list).
ALTER TABLE aps ADD COLUMN vaps TEXT;

-- Radio samples, packed: one row per AP per poll holding all its radios
-- (see src/store/radio_pack.rs); radios are numbered per AP in ap_radios.
-- The time index is BRIN: samples arrive in time order, and a B-tree on
-- time would cost more per row than the sample itself.
CREATE TABLE ap_radios (
    ap_id BIGINT NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    slot BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (ap_id, slot),
    UNIQUE (ap_id, name)
);
CREATE TABLE radio_polls (
    -- Narrow types: this table holds a year of samples.
    at_ms BIGINT NOT NULL,
    ap_id INTEGER NOT NULL REFERENCES aps (id) ON DELETE CASCADE,
    -- In minutes here (0 raw, 5, 60), to fit a SMALLINT.
    resolution SMALLINT NOT NULL,
    -- The highest channel utilization among the radios (top-N queries).
    busiest SMALLINT,
    data BYTEA NOT NULL,
    PRIMARY KEY (ap_id, resolution, at_ms)
);
CREATE INDEX radio_polls_at ON radio_polls USING brin (at_ms);
-- Downsampling finds the raw and five-minute rows to roll up without
-- reading a year of hourly ones.
CREATE INDEX radio_polls_to_roll ON radio_polls (resolution, at_ms) WHERE resolution < 60;
-- The old per-radio rows are packed into radio_polls at the first start
-- (store::samples::convert_legacy_radio_samples), then dropped.
DROP INDEX radio_samples_at;
DROP INDEX radio_samples_ap;
ALTER TABLE radio_samples RENAME TO radio_samples_legacy;
