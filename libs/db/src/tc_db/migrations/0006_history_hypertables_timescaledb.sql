-- TimescaleDB: the two histories that grow without bound become hypertables. drives and
-- charges stay ordinary tables (a few rows a day per vehicle, keyed by Tessie's id rather
-- than by time), and so do the one-row-per-vehicle behaviour_profiles and charge_plans.
--
-- Plans are re-issued whenever prices, the forecast or the car's state change (tens a day per
-- vehicle): 7-day chunks. Profiles change about once a day: 30-day chunks. No compression:
-- plans are re-read to score them against the charging that followed.
--
-- One statement per "-- step" (see 0002); every step is idempotent.

SELECT create_hypertable(
    'charge_plan_history', 'issued_at',
    chunk_time_interval => INTERVAL '7 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    -- The primary key (vehicle_id, issued_at) serves every query.
    create_default_indexes => FALSE
)
-- step
SELECT create_hypertable(
    'behaviour_profile_history', 'computed_at',
    chunk_time_interval => INTERVAL '30 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    create_default_indexes => FALSE
)
