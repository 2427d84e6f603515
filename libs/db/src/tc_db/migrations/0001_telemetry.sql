-- Vehicles seen in telemetry and every telemetry sample, one row per (vehicle, sampled_at).
-- The columns mirror tc_common.events.TelemetrySampled (minus schema_version) plus stored_at.

CREATE TABLE IF NOT EXISTS vehicles (
    vehicle_id text PRIMARY KEY,
    first_sampled_at timestamptz NOT NULL,
    last_sampled_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS telemetry (
    vehicle_id text NOT NULL,
    sampled_at timestamptz NOT NULL,
    fetched_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    online_state text NOT NULL,
    battery_level_pct double precision,
    usable_battery_level_pct double precision,
    battery_range_km double precision,
    charge_limit_pct double precision,
    charging_state text,
    charger_power_kw double precision,
    charge_energy_added_kwh double precision,
    latitude_deg double precision,
    longitude_deg double precision,
    heading_deg double precision,
    speed_kmh double precision,
    power_kw double precision,
    shift_state text,
    odometer_km double precision,
    inside_temp_c double precision,
    outside_temp_c double precision,
    is_climate_on boolean,
    sentry_mode boolean,
    locked boolean,
    PRIMARY KEY (vehicle_id, sampled_at)
);

-- "Latest samples across the fleet" and time-range scans that do not start with a vehicle.
CREATE INDEX IF NOT EXISTS telemetry_sampled_at_idx ON telemetry (sampled_at DESC);

-- Facts about how this database was set up, e.g. storage_mode = 'plain' | 'timescaledb'.
CREATE TABLE IF NOT EXISTS schema_info (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
