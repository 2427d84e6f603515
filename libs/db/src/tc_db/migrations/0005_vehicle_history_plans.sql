-- Drive and charge history (from Tessie, via ingest), learned behaviour profiles and charge
-- plans (from the forecast service): store writes them, api reads them. Columns mirror
-- tc_common.events.behaviour (units in the names, UTC times). Ordinary tables here in both
-- storage modes; 0006 turns the two histories that grow without bound into hypertables where
-- TimescaleDB runs, so the column definitions exist exactly once.

-- One row per Tessie drive. Tessie's id is the key: a drive fetched again (overlapping
-- windows, a restart of ingest, an edit on Tessie's side) replaces the stored row. A few rows
-- a day per vehicle, and the key holds no time column: an ordinary table in both modes.
CREATE TABLE IF NOT EXISTS drives (
    vehicle_id text NOT NULL,
    drive_id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    starting_latitude_deg double precision,
    starting_longitude_deg double precision,
    ending_latitude_deg double precision,
    ending_longitude_deg double precision,
    starting_battery_pct double precision,
    ending_battery_pct double precision,
    distance_km double precision NOT NULL CHECK (distance_km >= 0),
    energy_used_kwh double precision,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vehicle_id, drive_id),
    CHECK (ended_at >= started_at)
);

-- "Drives of a vehicle in a window" (api, forecaster).
CREATE INDEX IF NOT EXISTS drives_vehicle_started_idx ON drives (vehicle_id, started_at);

CREATE TABLE IF NOT EXISTS charges (
    vehicle_id text NOT NULL,
    charge_id bigint NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    latitude_deg double precision,
    longitude_deg double precision,
    is_supercharger boolean NOT NULL,
    starting_battery_pct double precision,
    ending_battery_pct double precision,
    energy_added_kwh double precision NOT NULL CHECK (energy_added_kwh >= 0),
    energy_used_kwh double precision CHECK (energy_used_kwh >= 0),
    odometer_km double precision,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vehicle_id, charge_id),
    CHECK (ended_at >= started_at)
);

CREATE INDEX IF NOT EXISTS charges_vehicle_started_idx ON charges (vehicle_id, started_at);

-- The newest profile of each vehicle. The whole event is kept as JSON (its weekday rhythm and
-- locations are read whole); the columns beside it are what queries filter and sort on. A
-- profile replaces the stored one only when it was computed later, so a redelivered older
-- profile changes nothing.
CREATE TABLE IF NOT EXISTS behaviour_profiles (
    vehicle_id text NOT NULL PRIMARY KEY,
    computed_at timestamptz NOT NULL,
    learning_state text NOT NULL,
    days_observed integer NOT NULL CHECK (days_observed >= 0),
    days_until_ready integer NOT NULL CHECK (days_until_ready >= 0),
    days_until_fully_trained integer NOT NULL CHECK (days_until_fully_trained >= 0),
    summary text NOT NULL,
    event jsonb NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);

-- Every profile ever published, to show how the learning progressed.
CREATE TABLE IF NOT EXISTS behaviour_profile_history (
    LIKE behaviour_profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (vehicle_id, computed_at)
);

-- The newest plan of each vehicle (what the dashboard shows), with the same replace rule on
-- issued_at as profiles.
CREATE TABLE IF NOT EXISTS charge_plans (
    vehicle_id text NOT NULL PRIMARY KEY,
    issued_at timestamptz NOT NULL,
    trigger text NOT NULL,
    status text NOT NULL,
    battery_level_pct double precision NOT NULL,
    target_pct double precision NOT NULL,
    energy_to_add_kwh double precision NOT NULL CHECK (energy_to_add_kwh >= 0),
    ready_by_at timestamptz,
    probability_ready double precision NOT NULL,
    currency text NOT NULL,
    expected_cost double precision NOT NULL,
    cost_if_charged_now double precision NOT NULL,
    expected_saving double precision NOT NULL,
    -- When the plan starts charging (its first slot); null when it has no slots.
    first_slot_start_at timestamptz,
    event jsonb NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);

-- Every plan ever issued: plans are scored against the charging that followed.
CREATE TABLE IF NOT EXISTS charge_plan_history (
    LIKE charge_plans INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (vehicle_id, issued_at)
);
