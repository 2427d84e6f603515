"""The database schema that store writes and api reads: versioned SQL migrations.

Tables: ``vehicles``, ``telemetry`` (one row per vehicle and ``sampled_at``), the
``telemetry_hourly`` rollup (a TimescaleDB continuous aggregate, or a plain view with the same
columns), the market, weather and forecast tables (0003, 0004), ``drives``, ``charges``,
``behaviour_profiles`` (+ ``behaviour_profile_history``) and ``charge_plans`` (+
``charge_plan_history``) (0005, 0006), ``vehicle_activity`` (0008), the provisioner's own
``provisioning_decisions`` (0009), ``accounts``, ``account_vehicles`` and ``api_keys``
(0010, written only through ``tc_db.accounts``), ``schema_info`` and ``schema_migrations``.
"""

from tc_db.migrate import (
    HOURLY_REFRESH_WINDOW_DAYS,
    StorageMode,
    apply_migrations,
    apply_migrations_sync,
    load_migrations,
    storage_mode,
    timescaledb_usable,
)

__all__ = [
    "HOURLY_REFRESH_WINDOW_DAYS",
    "StorageMode",
    "apply_migrations",
    "apply_migrations_sync",
    "load_migrations",
    "storage_mode",
    "timescaledb_usable",
]
