-- Issue 14 (SQLite; kept in step with migrations/postgres/0007_coverage.sql).
--
-- Buildings and their floors. A floor's walls and areas are edited as a
-- whole (PUT /api/v1/floors/{id}/walls), so each is one JSON list:
-- walls [{x1, y1, x2, y2, material, loss_db?}], areas [{kind, name,
-- seats?, points}] with kind outline, excluded or room. Metres from the
-- plan's top-left corner, y downwards.
CREATE TABLE buildings (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- Per-building material losses overriding the defaults (JSON object
    -- name -> [2.4, 5, 6] dB), or NULL.
    materials TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE floors (
    id INTEGER PRIMARY KEY,
    building_id INTEGER NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    width_m REAL NOT NULL,
    height_m REAL NOT NULL,
    storey_height_m REAL NOT NULL DEFAULT 3.5,
    -- The plan image (PNG or JPEG; SVG is rasterised on upload).
    plan BLOB,
    plan_type TEXT,
    walls TEXT NOT NULL DEFAULT '[]',
    areas TEXT NOT NULL DEFAULT '[]',
    -- Distance exponents fitted from measurements (JSON), or NULL.
    calibration TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (building_id, name)
);
-- Where an AP hangs: one place per AP.
CREATE TABLE ap_placements (
    ap_id INTEGER PRIMARY KEY REFERENCES aps (id) ON DELETE CASCADE,
    floor_id INTEGER NOT NULL REFERENCES floors (id) ON DELETE CASCADE,
    x REAL NOT NULL,
    y REAL NOT NULL,
    z REAL NOT NULL,
    antenna_gain_dbi REAL NOT NULL DEFAULT 0,
    -- Transmit power overrides per band (JSON {"2.4": 17, "5": 20}), or NULL.
    tx_power TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ap_placements_floor ON ap_placements (floor_id);
-- Measured signals at known places (survey taps, AP-to-AP neighbour
-- reports), for calibration and beside the prediction on the map.
CREATE TABLE survey_points (
    id INTEGER PRIMARY KEY,
    floor_id INTEGER NOT NULL REFERENCES floors (id) ON DELETE CASCADE,
    x REAL NOT NULL,
    y REAL NOT NULL,
    band TEXT NOT NULL,
    ap_name TEXT NOT NULL,
    rssi_dbm REAL NOT NULL,
    source TEXT NOT NULL,
    taken_by TEXT,
    taken_at INTEGER NOT NULL
);
CREATE INDEX survey_points_floor ON survey_points (floor_id, taken_at);
-- What controllers' RRM lists report: AP `reporter` (MAC, else name)
-- hears `neighbour` (radio MAC or BSSID) at `rssi` dBm; newest only.
CREATE TABLE ap_neighbours (
    reporter TEXT NOT NULL,
    neighbour TEXT NOT NULL,
    band TEXT NOT NULL,
    channel INTEGER,
    rssi INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (reporter, neighbour, band)
);
