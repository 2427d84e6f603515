-- What each vehicle is doing as ingest last saw it (VehicleActivityObserved): asleep, awake,
-- driving, charging or offline, since when, and when that was last checked. One row per
-- vehicle, replaced by newer observations; the API shows it next to the vehicle, so that a car
-- whose telemetry does not grow can be told asleep rather than broken.
--
-- A table of its own rather than columns of vehicles: activity arrives on its own topic and
-- may be stored before the vehicle's first sample is. One file for both storage modes (a small
-- table, not a hypertable).

CREATE TABLE IF NOT EXISTS vehicle_activity (
    vehicle_id text PRIMARY KEY,
    activity text NOT NULL CHECK (activity IN ('asleep', 'awake', 'driving', 'charging', 'offline')),
    since timestamptz NOT NULL,
    observed_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    CHECK (since <= observed_at)
);
