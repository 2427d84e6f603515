-- Plain PostgreSQL: telemetry stays an ordinary table and telemetry_hourly is a view computed
-- on read, with exactly the columns of the TimescaleDB continuous aggregate, so readers need
-- not know which storage mode a database runs in.

CREATE OR REPLACE VIEW telemetry_hourly AS
SELECT
    vehicle_id,
    date_trunc('hour', sampled_at) AS bucket,
    count(*) AS samples,
    avg(battery_level_pct) AS avg_battery_level_pct,
    min(battery_level_pct) AS min_battery_level_pct,
    max(battery_level_pct) AS max_battery_level_pct,
    max(odometer_km) AS max_odometer_km,
    avg(power_kw) AS avg_power_kw
FROM telemetry
GROUP BY vehicle_id, date_trunc('hour', sampled_at);

INSERT INTO schema_info (key, value) VALUES ('storage_mode', 'plain')
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
