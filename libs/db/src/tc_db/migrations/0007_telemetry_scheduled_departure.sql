-- The departure the owner scheduled in the car (TelemetrySampled.scheduled_departure_at, UTC),
-- NULL when none is scheduled and in every sample stored before it was read.
--
-- One file for both storage modes: on TimescaleDB (2.x) a nullable column without a default
-- can be added to a hypertable with compressed chunks, and the compressed rows read as NULL
-- without being rewritten. telemetry_hourly does not use it, so neither variant of that view
-- changes.

ALTER TABLE telemetry ADD COLUMN IF NOT EXISTS scheduled_departure_at timestamptz NULL;
