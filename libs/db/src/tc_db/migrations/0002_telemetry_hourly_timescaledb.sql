-- TimescaleDB: telemetry becomes a hypertable (7-day chunks) compressed after 14 days, and
-- telemetry_hourly a continuous aggregate refreshed every 30 minutes (real-time, so the
-- newest hour is included like in the plain view). One difference remains: a sample arriving
-- late for an hour already materialized counts only from the next refresh on.
--
-- Statements are separated by lines holding only "-- step": the continuous aggregate cannot
-- be created inside a transaction block, so the runner executes each step on its own in
-- autocommit mode. Every step is idempotent, so a run interrupted half-way can be repeated.

CREATE EXTENSION IF NOT EXISTS timescaledb
-- step
SELECT create_hypertable(
    'telemetry', 'sampled_at',
    chunk_time_interval => INTERVAL '7 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    -- 0001 already indexes (vehicle_id, sampled_at) and (sampled_at DESC).
    create_default_indexes => FALSE
)
-- step
ALTER TABLE telemetry SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'vehicle_id',
    timescaledb.compress_orderby = 'sampled_at DESC'
)
-- step
SELECT add_compression_policy('telemetry', INTERVAL '14 days', if_not_exists => TRUE)
-- step
CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = FALSE) AS
SELECT
    vehicle_id,
    time_bucket(INTERVAL '1 hour', sampled_at) AS bucket,
    count(*) AS samples,
    avg(battery_level_pct) AS avg_battery_level_pct,
    min(battery_level_pct) AS min_battery_level_pct,
    max(battery_level_pct) AS max_battery_level_pct,
    max(odometer_km) AS max_odometer_km,
    avg(power_kw) AS avg_power_kw
FROM telemetry
GROUP BY vehicle_id, time_bucket(INTERVAL '1 hour', sampled_at)
WITH NO DATA
-- step
SELECT add_continuous_aggregate_policy(
    'telemetry_hourly',
    start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes',
    if_not_exists => TRUE
)
-- step
INSERT INTO schema_info (key, value) VALUES ('storage_mode', 'timescaledb')
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
