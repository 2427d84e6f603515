"""The migrations against a real PostgreSQL, in whichever mode its cluster supports.

The process cluster is Debian's plain PostgreSQL on a fresh machine, or one with TimescaleDB
(``PG_BIN`` pointing at such an installation). Every test runs on both: each derives the
expected mode from the cluster itself and checks what that mode must (and must not) create.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tc_common.events import TelemetrySampled
from tc_db import (
    HOURLY_REFRESH_WINDOW_DAYS,
    StorageMode,
    apply_migrations,
    apply_migrations_sync,
    load_migrations,
    storage_mode,
    timescaledb_usable,
)
from tc_db import migrate as migrate_module
from tc_db.migrate import Migration

from .cluster import cluster_mode, connect

ALL_MIGRATIONS = [m.name for m in load_migrations()]

# Sample times in these tests lie long before any plausible "now": the TimescaleDB refresh
# policy (which first runs the moment it is created) only touches the last few days, so it
# never materializes an hour half-way through a test's inserts nor races its own refreshes.


async def timescale_rows(conn: psycopg.AsyncConnection, query: str) -> list[tuple[Any, ...]]:
    """Rows of a ``timescaledb_information`` query; none where the extension is not created."""
    cur = await conn.execute("SELECT to_regnamespace('timescaledb_information') IS NOT NULL")
    exists = await cur.fetchone()
    if exists is None or not exists[0]:
        return []
    cur = await conn.execute(query.encode())
    return await cur.fetchall()


async def materialize_hourly(conn: psycopg.AsyncConnection, mode: StorageMode) -> None:
    """What the refresh policy does in the background; a plain view has nothing to store."""
    if mode == "timescaledb":
        await conn.execute(
            "CALL refresh_continuous_aggregate('telemetry_hourly', "
            "'2025-03-09 00:00+00', '2025-03-12 00:00+00')"
        )


async def insert_telemetry(
    conn: psycopg.AsyncConnection,
    rows: list[tuple[str, datetime, float | None, float | None, float | None]],
) -> None:
    for vin, at, soc, odo, power in rows:
        await conn.execute(
            "INSERT INTO telemetry (vehicle_id, sampled_at, fetched_at, online_state, "
            "battery_level_pct, odometer_km, power_kw) "
            "VALUES (%s, %s, %s, 'online', %s, %s, %s)",
            (vin, at, at, soc, odo, power),
        )


async def hourly(conn: psycopg.AsyncConnection) -> list[tuple[Any, ...]]:
    cur = await conn.execute(
        "SELECT vehicle_id, bucket, samples, avg_battery_level_pct, "
        "min_battery_level_pct, max_battery_level_pct, max_odometer_km, avg_power_kw "
        "FROM telemetry_hourly ORDER BY vehicle_id, bucket"
    )
    return await cur.fetchall()


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

    def test_retention_guard_uses_the_refresh_window_of_the_hourly_policy(self) -> None:
        hourly = next(m for m in load_migrations() if m.name == "0002_telemetry_hourly")
        (policy,) = [s for s in hourly.steps("timescaledb") if "aggregate_policy" in s]
        assert f"start_offset => INTERVAL '{HOURLY_REFRESH_WINDOW_DAYS} days'" in policy


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

    async def test_storage_mode_is_recorded_and_matches_what_the_cluster_can_load(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            expected = await cluster_mode(conn)
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
        assert usable == (expected == "timescaledb")
        assert after == expected
        # A continuous aggregate is listed as a view as well: readers cannot tell them apart.
        assert hourly_kind == ("VIEW",)

    async def test_the_cluster_preloads_timescaledb_exactly_when_its_installation_ships_it(
        self, database_url: str
    ) -> None:
        # Guards the fixture: a TimescaleDB installation started without the preload would
        # quietly run every test here in plain mode.
        async with await connect(database_url) as conn:
            cur = await conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
            )
            shipped = await cur.fetchone()
            mode = await cluster_mode(conn)
        assert shipped == (mode == "timescaledb",)

    async def test_later_migrations_follow_the_recorded_mode_not_the_server(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A database created on plain PostgreSQL and later served by a TimescaleDB server
        # keeps plain tables, so a newer migration must take its plain variant there too.
        probe = Migration(
            name="9999_probe",
            sql="INSERT INTO schema_info (key, value) VALUES ('probe', 'plain')",
            timescaledb_sql="INSERT INTO schema_info (key, value) VALUES ('probe', 'timescaledb')",
        )
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            await conn.execute("UPDATE schema_info SET value = 'plain' WHERE key = 'storage_mode'")
            monkeypatch.setattr(
                migrate_module, "load_migrations", lambda: (*load_migrations(), probe)
            )
            applied = await apply_migrations(conn)
            cur = await conn.execute("SELECT value FROM schema_info WHERE key = 'probe'")
            chosen = await cur.fetchone()
        assert applied == ["9999_probe"]
        assert chosen == ("plain",)

    async def test_an_hourly_migration_cut_short_is_repeated_over_compressed_data(
        self, database_url: str
    ) -> None:
        # Worst case of a run that died after its last step but before recording itself:
        # every step runs a second time, over data that has meanwhile been compressed.
        rows = [
            ("VIN1", datetime(2025, 3, 10, 6, m, tzinfo=UTC), 50.0 + m, None, None) for m in (0, 30)
        ]
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            await insert_telemetry(conn, rows)
            compressed = await timescale_rows(
                conn, "SELECT compress_chunk(c) FROM show_chunks('telemetry') c"
            )
            await conn.execute("DELETE FROM schema_migrations WHERE name = '0002_telemetry_hourly'")
            repeated = await apply_migrations(conn)
            recorded = await storage_mode(conn)
            numbers = await hourly(conn)
        assert len(compressed) == (1 if mode == "timescaledb" else 0)
        assert repeated == ["0002_telemetry_hourly"]
        assert recorded == mode
        assert numbers == [
            ("VIN1", datetime(2025, 3, 10, 6, tzinfo=UTC), 2, 65.0, 50.0, 80.0, None, None)
        ]

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
class TestTimescaleObjects:
    """What exists only in TimescaleDB mode, and must not exist in plain mode."""

    async def test_telemetry_is_a_hypertable_of_week_long_chunks_exactly_in_timescale_mode(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            dimensions = await timescale_rows(
                conn,
                "SELECT hypertable_name, column_name, time_interval "
                "FROM timescaledb_information.dimensions "
                "WHERE hypertable_schema = 'public' AND hypertable_name = 'telemetry'",
            )
        if mode == "timescaledb":
            assert dimensions == [("telemetry", "sampled_at", timedelta(days=7))]
        else:
            assert dimensions == []

    async def test_compression_and_hourly_refresh_are_scheduled_exactly_in_timescale_mode(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            jobs = await timescale_rows(
                conn,
                "SELECT proc_name, hypertable_name, config ->> 'compress_after', "
                "config ->> 'start_offset', config ->> 'end_offset' "
                "FROM timescaledb_information.jobs "
                "WHERE hypertable_name IN ('telemetry', 'telemetry_hourly') ORDER BY proc_name",
            )
            compression = await timescale_rows(
                conn,
                "SELECT hypertable::text, segmentby, orderby "
                "FROM timescaledb_information.hypertable_compression_settings "
                "WHERE hypertable = 'telemetry'::regclass",
            )
            aggregates = await timescale_rows(
                conn,
                "SELECT view_name, materialized_only "
                "FROM timescaledb_information.continuous_aggregates",
            )
        if mode == "timescaledb":
            assert jobs == [
                ("policy_compression", "telemetry", "14 days", None, None),
                (
                    "policy_refresh_continuous_aggregate",
                    "telemetry_hourly",
                    None,
                    "3 days",
                    "01:00:00",
                ),
            ]
            assert compression == [("telemetry", "vehicle_id", "sampled_at DESC")]
            # Real-time: the hour not yet materialized is read from raw rows, as in the view.
            assert aggregates == [("telemetry_hourly", False)]
        else:
            assert (jobs, compression, aggregates) == ([], [], [])

    async def test_retention_policy_follows_retention_days_only_in_timescale_mode(
        self, database_url: str
    ) -> None:
        query = (
            "SELECT hypertable_name, config ->> 'drop_after' FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_retention'"
        )
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn, retention_days=30)
            with_retention = await timescale_rows(conn, query)
            await apply_migrations(conn, retention_days=45)
            changed = await timescale_rows(conn, query)
            await apply_migrations(conn, retention_days=None)
            without = await timescale_rows(conn, query)
        if mode == "timescaledb":
            assert (with_retention, changed) == (
                [("telemetry", "30 days")],
                [("telemetry", "45 days")],
            )
        else:
            assert (with_retention, changed) == ([], [])
        assert without == []

    async def test_a_runner_that_does_not_manage_retention_leaves_the_policy_as_it_is(
        self, database_url: str
    ) -> None:
        # The provisioner migrates at start too; it must not remove the store's retention.
        query = (
            "SELECT hypertable_name, config ->> 'drop_after' FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_retention'"
        )
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn, retention_days=30)
            await apply_migrations(conn, manage_retention=False)
            kept = await timescale_rows(conn, query)
            with pytest.raises(ValueError, match="manages retention"):
                await apply_migrations(conn, retention_days=10, manage_retention=False)
        assert kept == ([("telemetry", "30 days")] if mode == "timescaledb" else [])

    async def test_retention_inside_the_refresh_window_is_refused_before_any_change_on_timescale(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            if mode == "timescaledb":
                with pytest.raises(ValueError, match="refresh window"):
                    await apply_migrations(conn, retention_days=HOURLY_REFRESH_WINDOW_DAYS)
                assert await storage_mode(conn) is None  # no migration ran
                # It applies with a retention that reaches past the window.
                applied = await apply_migrations(
                    conn, retention_days=HOURLY_REFRESH_WINDOW_DAYS + 1
                )
            else:
                # Plain PostgreSQL keeps everything and ignores retention altogether.
                applied = await apply_migrations(conn, retention_days=HOURLY_REFRESH_WINDOW_DAYS)
        assert applied == ALL_MIGRATIONS


@pytest.mark.integration
class TestTelemetryHourly:
    async def test_hourly_rollup_aggregates_per_vehicle_and_hour_before_and_after_refresh(
        self, database_url: str
    ) -> None:
        rows = [
            ("VIN1", datetime(2025, 3, 10, 6, 10, tzinfo=UTC), 50.0, 1000.0, 10.0),
            ("VIN1", datetime(2025, 3, 10, 6, 50, tzinfo=UTC), 60.0, 1010.0, 20.0),
            ("VIN1", datetime(2025, 3, 10, 7, 5, tzinfo=UTC), 61.0, 1011.0, None),
            ("VIN2", datetime(2025, 3, 10, 6, 20, tzinfo=UTC), 80.0, 5.0, -3.0),
        ]
        expected = [
            ("VIN1", datetime(2025, 3, 10, 6, tzinfo=UTC), 2, 55.0, 50.0, 60.0, 1010.0, 15.0),
            ("VIN1", datetime(2025, 3, 10, 7, tzinfo=UTC), 1, 61.0, 61.0, 61.0, 1011.0, None),
            ("VIN2", datetime(2025, 3, 10, 6, tzinfo=UTC), 1, 80.0, 80.0, 80.0, 5.0, -3.0),
        ]
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            await insert_telemetry(conn, rows)
            computed_on_read = await hourly(conn)
            await materialize_hourly(conn, mode)
            materialized = await hourly(conn)
            # A sample late for an hour already materialized counts once the rollup refreshes.
            await insert_telemetry(
                conn, [("VIN2", datetime(2025, 3, 10, 6, 40, tzinfo=UTC), 70.0, 6.0, -1.0)]
            )
            await materialize_hourly(conn, mode)
            refreshed = await hourly(conn)
        assert computed_on_read == expected
        assert materialized == expected
        assert refreshed == [
            *expected[:2],
            ("VIN2", datetime(2025, 3, 10, 6, tzinfo=UTC), 2, 75.0, 70.0, 80.0, 6.0, -2.0),
        ]


@pytest.mark.integration
class TestApplyMigrationsSync:
    def test_sync_variant_migrates_then_reports_nothing_new(self, database_url: str) -> None:
        first = apply_migrations_sync(database_url)
        second = apply_migrations_sync(database_url)
        assert (first, second) == (ALL_MIGRATIONS, [])

    async def test_sync_variant_works_from_inside_an_event_loop(self, database_url: str) -> None:
        assert apply_migrations_sync(database_url) == ALL_MIGRATIONS
