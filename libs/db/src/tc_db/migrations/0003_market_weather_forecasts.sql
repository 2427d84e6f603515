-- Market data, weather and price forecasts: store writes them from the market, weather and
-- forecast topics; api and the forecaster read them. Columns mirror the events in
-- tc_common.events.market, .weather and .price_forecast (units in the names, UTC times).
-- Ordinary tables here in both storage modes; 0004 turns the large ones into hypertables
-- where TimescaleDB runs, so the column definitions exist exactly once.

-- One row per slot. The key holds the resolution because a zone can have both an hourly and a
-- 15-minute series for the same hour (sources moved to 15-minute MTUs at different times).
-- Corrections arrive as a higher revision of the whole day; store keeps the highest revision
-- (ties: the later fetched_at), so a late redelivery of an old revision changes nothing.
CREATE TABLE IF NOT EXISTS spot_prices (
    zone text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    resolution_min smallint NOT NULL CHECK (resolution_min IN (15, 60)),
    price_eur_per_mwh double precision NOT NULL,
    price_nok_ore_per_kwh double precision,
    delivery_date date NOT NULL,
    source text NOT NULL,
    revision integer NOT NULL CHECK (revision >= 0),
    fetched_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (zone, start_at, resolution_min),
    CHECK (end_at > start_at)
);

-- Units of each currency per 1 EUR on one business day (Norges Bank publishes no weekends).
CREATE TABLE IF NOT EXISTS exchange_rates (
    rate_date date NOT NULL,
    currency text NOT NULL,
    per_eur double precision NOT NULL CHECK (per_eur > 0),
    source text NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (rate_date, currency)
);

-- Every model run is kept (updated_at identifies the run): the forecaster learns from what
-- the weather forecast said at the time, not from what a later run knew.
CREATE TABLE IF NOT EXISTS weather_forecasts (
    location_id text NOT NULL,
    updated_at timestamptz NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    air_temperature_c double precision,
    wind_speed_m_per_s double precision,
    cloud_area_fraction_pct double precision,
    precipitation_mm double precision,
    latitude_deg double precision NOT NULL,
    longitude_deg double precision NOT NULL,
    source text NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (location_id, updated_at, start_at),
    CHECK (end_at > start_at)
);

CREATE INDEX IF NOT EXISTS weather_forecasts_slot_idx
    ON weather_forecasts (location_id, start_at, updated_at DESC);

-- The newest run's value for every slot start of every location (older runs still fill the
-- slots that newer runs no longer cover, e.g. the past).
CREATE OR REPLACE VIEW weather_latest AS
SELECT DISTINCT ON (location_id, start_at)
    location_id,
    start_at,
    end_at,
    updated_at,
    air_temperature_c,
    wind_speed_m_per_s,
    cloud_area_fraction_pct,
    precipitation_mm,
    latitude_deg,
    longitude_deg,
    source,
    fetched_at
FROM weather_forecasts
ORDER BY location_id, start_at, updated_at DESC;

-- Every issued forecast is kept, so forecasts can be scored against the prices that followed.
CREATE TABLE IF NOT EXISTS price_forecasts (
    zone text NOT NULL,
    issued_at timestamptz NOT NULL,
    model text NOT NULL,
    known_until timestamptz NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    p10_eur_per_mwh double precision NOT NULL,
    p50_eur_per_mwh double precision NOT NULL,
    p90_eur_per_mwh double precision NOT NULL,
    PRIMARY KEY (zone, issued_at, start_at),
    CHECK (end_at > start_at)
);

-- All slots of the newest forecast of each zone.
CREATE OR REPLACE VIEW price_forecast_latest AS
SELECT f.zone, f.issued_at, f.model, f.known_until, f.start_at, f.end_at,
    f.p10_eur_per_mwh, f.p50_eur_per_mwh, f.p90_eur_per_mwh
FROM price_forecasts AS f
JOIN (
    SELECT zone, max(issued_at) AS issued_at FROM price_forecasts GROUP BY zone
) AS newest USING (zone, issued_at);

CREATE TABLE IF NOT EXISTS price_anomalies (
    zone text NOT NULL,
    kind text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    price_eur_per_mwh double precision NOT NULL,
    expected_eur_per_mwh double precision,
    detected_at timestamptz NOT NULL,
    detail text NOT NULL,
    PRIMARY KEY (zone, kind, start_at),
    CHECK (end_at > start_at)
);

-- "Anomalies of a zone in a window" regardless of kind.
CREATE INDEX IF NOT EXISTS price_anomalies_zone_start_idx ON price_anomalies (zone, start_at);
