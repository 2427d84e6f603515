-- TimescaleDB: the tables that grow without bound become hypertables. exchange_rates (three
-- rows a business day) and price_anomalies (rare) stay ordinary tables.
--
-- Partitioned by the time the queries start from: spot prices by slot (30-day chunks, about
-- 35 000 quarter-hours of twelve zones), weather runs by updated_at and forecasts by
-- issued_at (7-day chunks: a run or an issue is read whole, the newest ones most). No
-- compression: prices are corrected (revisions) and forecasts re-read long after they land.
--
-- One statement per "-- step" (see 0002); every step is idempotent.

SELECT create_hypertable(
    'spot_prices', 'start_at',
    chunk_time_interval => INTERVAL '30 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    -- The primary key (zone, start_at, resolution_min) serves every query.
    create_default_indexes => FALSE
)
-- step
SELECT create_hypertable(
    'weather_forecasts', 'updated_at',
    chunk_time_interval => INTERVAL '7 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    create_default_indexes => FALSE
)
-- step
SELECT create_hypertable(
    'price_forecasts', 'issued_at',
    chunk_time_interval => INTERVAL '7 days',
    if_not_exists => TRUE,
    migrate_data => TRUE,
    create_default_indexes => FALSE
)
