"""The migrations against a real PostgreSQL (this machine's has no TimescaleDB: plain mode)."""

import asyncio
import os
from datetime import UTC, datetime

import psycopg
import pytest

from tc_common.events import TelemetrySampled
from tc_db import (
    apply_migrations,
    apply_migrations_sync,
    load_migrations,
    storage_mode,
    timescaledb_usable,
)

ALL_MIGRATIONS = [m.name for m in load_migrations()]


async def connect(url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def columns(conn: psycopg.AsyncConnection, table: str) -> dict[str, str]:
    cur = await conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return dict(await cur.fetchall())


class TestLoadMigrations:
    def test_migrations_are_ordered_by_name_and_start_with_telemetry(self) -> None:
        assert ALL_MIGRATIONS[0] == "0001_telemetry"
        assert sorted(ALL_MIGRATIONS) == ALL_MIGRATIONS
        assert len(set(ALL_MIGRATIONS)) == len(ALL_MIGRATIONS)

    def test_hourly_rollup_has_a_timescaledb_variant_run_step_by_step(self) -> None:
        hourly = next(m for m in load_migrations() if m.name == "0002_telemetry_hourly")
        plain_steps = hourly.steps("plain")
        timescale_steps = hourly.steps("timescaledb")
        assert len(plain_steps) == 1
        assert "CREATE OR REPLACE VIEW telemetry_hourly" in plain_steps[0]
        # The continuous aggregate must be a statement of its own: it cannot share a
        # transaction (or an implicit multi-statement one) with anything else.
        (cagg,) = [s for s in timescale_steps if "timescaledb.continuous" in s]
        assert cagg.count(";") == 0
        assert any("create_hypertable" in s for s in timescale_steps)
        assert any("add_compression_policy" in s for s in timescale_steps)
        assert any("add_continuous_aggregate_policy" in s for s in timescale_steps)
        assert "'timescaledb'" in timescale_steps[-1]


@pytest.mark.integration
class TestApplyMigrations:
    async def test_fresh_database_gets_every_migration_and_the_telemetry_tables(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            applied = await apply_migrations(conn)
            telemetry = await columns(conn, "telemetry")
            vehicles = await columns(conn, "vehicles")
        assert applied == ALL_MIGRATIONS
        assert list(vehicles) == ["vehicle_id", "first_sampled_at", "last_sampled_at", "updated_at"]
        assert set(telemetry) == (set(TelemetrySampled.model_fields) - {"schema_version"}) | {
            "stored_at"
        }
        assert telemetry["sampled_at"] == "timestamp with time zone"
        assert telemetry["battery_level_pct"] == "double precision"
        assert telemetry["locked"] == "boolean"

    async def test_telemetry_primary_key_is_vehicle_and_sampled_at(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            cur = await conn.execute(
                "SELECT a.attname FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = 'telemetry'::regclass AND i.indisprimary ORDER BY a.attnum"
            )
            key = [row[0] for row in await cur.fetchall()]
        assert key == ["vehicle_id", "sampled_at"]

    async def test_second_run_applies_nothing_and_keeps_data(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            await conn.execute(
                "INSERT INTO vehicles (vehicle_id, first_sampled_at, last_sampled_at) "
                "VALUES ('VIN1', now(), now())"
            )
            again = await apply_migrations(conn)
            cur = await conn.execute("SELECT count(*) FROM vehicles")
            kept = await cur.fetchone()
            cur = await conn.execute("SELECT name FROM schema_migrations ORDER BY name")
            recorded = [row[0] for row in await cur.fetchall()]
        assert again == []
        assert kept == (1,)
        assert recorded == ALL_MIGRATIONS

    async def test_concurrent_runners_apply_each_migration_exactly_once(
        self, database_url: str
    ) -> None:
        conns = [await connect(database_url) for _ in range(6)]
        try:
            results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        finally:
            for c in conns:
                await c.close()
        applied = [name for result in results for name in result]
        assert sorted(applied) == ALL_MIGRATIONS
        assert sum(1 for result in results if result) == 1

    async def test_storage_mode_is_recorded_and_plain_on_the_process_cluster(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            before = await storage_mode(conn)
            usable = await timescaledb_usable(conn)
            await apply_migrations(conn, retention_days=30)
            after = await storage_mode(conn)
            cur = await conn.execute(
                "SELECT table_type FROM information_schema.tables "
                "WHERE table_name = 'telemetry_hourly'"
            )
            hourly_kind = await cur.fetchone()
        assert before is None
        assert after == ("timescaledb" if usable else "plain")
        if os.environ.get("TC_TESTCONTAINERS") != "1":
            # The process-based cluster (CI, this machine) is Debian's PostgreSQL alone.
            assert (usable, after) == (False, "plain")
        # A continuous aggregate is listed as a view as well: readers cannot tell them apart.
        assert hourly_kind == ("VIEW",)

    async def test_connection_inside_a_transaction_is_refused(self, database_url: str) -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute("SELECT 1")  # opens the implicit transaction
            with pytest.raises(ValueError, match="outside any transaction"):
                await apply_migrations(conn)

    async def test_caller_autocommit_setting_is_restored(self, database_url: str) -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await apply_migrations(conn)
            assert conn.autocommit is False


@pytest.mark.integration
class TestTelemetryHourly:
    async def test_hourly_view_aggregates_per_vehicle_and_hour(self, database_url: str) -> None:
        rows = [
            ("VIN1", datetime(2026, 11, 25, 6, 10, tzinfo=UTC), 50.0, 1000.0, 10.0),
            ("VIN1", datetime(2026, 11, 25, 6, 50, tzinfo=UTC), 60.0, 1010.0, 20.0),
            ("VIN1", datetime(2026, 11, 25, 7, 5, tzinfo=UTC), 61.0, 1011.0, None),
            ("VIN2", datetime(2026, 11, 25, 6, 20, tzinfo=UTC), 80.0, 5.0, -3.0),
        ]
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            for vin, at, soc, odo, power in rows:
                await conn.execute(
                    "INSERT INTO telemetry (vehicle_id, sampled_at, fetched_at, online_state, "
                    "battery_level_pct, odometer_km, power_kw) "
                    "VALUES (%s, %s, %s, 'online', %s, %s, %s)",
                    (vin, at, at, soc, odo, power),
                )
            cur = await conn.execute(
                "SELECT vehicle_id, bucket, samples, avg_battery_level_pct, "
                "min_battery_level_pct, max_battery_level_pct, max_odometer_km, avg_power_kw "
                "FROM telemetry_hourly ORDER BY vehicle_id, bucket"
            )
            hourly = await cur.fetchall()
        assert hourly == [
            ("VIN1", datetime(2026, 11, 25, 6, tzinfo=UTC), 2, 55.0, 50.0, 60.0, 1010.0, 15.0),
            ("VIN1", datetime(2026, 11, 25, 7, tzinfo=UTC), 1, 61.0, 61.0, 61.0, 1011.0, None),
            ("VIN2", datetime(2026, 11, 25, 6, tzinfo=UTC), 1, 80.0, 80.0, 80.0, 5.0, -3.0),
        ]


@pytest.mark.integration
class TestApplyMigrationsSync:
    def test_sync_variant_migrates_then_reports_nothing_new(self, database_url: str) -> None:
        first = apply_migrations_sync(database_url)
        second = apply_migrations_sync(database_url)
        assert (first, second) == (ALL_MIGRATIONS, [])

    async def test_sync_variant_works_from_inside_an_event_loop(self, database_url: str) -> None:
        assert apply_migrations_sync(database_url) == ALL_MIGRATIONS
