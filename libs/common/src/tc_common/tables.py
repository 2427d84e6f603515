"""Column lists of the tables that store writes and api reads (the schema itself: tc_db).

Written out rather than derived from the events, so that a field added to an event contract
needs a migration before it is stored or read (store's tests keep the two in step).
"""

from typing import Final

# The telemetry columns in the order store writes them; stored_at is filled in by the database.
TELEMETRY_COLUMNS: Final[tuple[str, ...]] = (
    "vehicle_id",
    "sampled_at",
    "fetched_at",
    "online_state",
    "battery_level_pct",
    "usable_battery_level_pct",
    "battery_range_km",
    "charge_limit_pct",
    "charging_state",
    "charger_power_kw",
    "charge_energy_added_kwh",
    "latitude_deg",
    "longitude_deg",
    "heading_deg",
    "speed_kmh",
    "power_kw",
    "shift_state",
    "odometer_km",
    "inside_temp_c",
    "outside_temp_c",
    "is_climate_on",
    "sentry_mode",
    "locked",
    "scheduled_departure_at",
)
