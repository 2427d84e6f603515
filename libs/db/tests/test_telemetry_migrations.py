"""0007: the scheduled departure column added to telemetry that already holds data.

Like the other migration tests, every test runs in whichever mode the cluster supports (plain,
or TimescaleDB with ``PG_BIN`` pointing at such an installation); on TimescaleDB the existing
rows sit in a compressed chunk when the column is added.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tc_db import StorageMode, apply_migrations, load_migrations
from tc_db import migrate as migrate_module

from .cluster import cluster_mode, connect, rows

DEPARTURE_MIGRATION = "0007_telemetry_scheduled_departure"
T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
DEPARTURE_AT = datetime(2025, 3, 11, 6, 30, tzinfo=UTC)


async def insert_sample(
    conn: psycopg.AsyncConnection, at: datetime, *, departure_at: datetime | None = None
) -> None:
    columns = "vehicle_id, sampled_at, fetched_at, online_state, battery_level_pct"
    values = "%s, %s, %s, 'online', 60"
    params: tuple[Any, ...] = ("VIN1", at, at)
    if departure_at is not None:
        columns += ", scheduled_departure_at"
        values += ", %s"
        params += (departure_at,)
    await conn.execute(f"INSERT INTO telemetry ({columns}) VALUES ({values})".encode(), params)


async def compressed_chunks(conn: psycopg.AsyncConnection, mode: StorageMode) -> int:
    if mode == "plain":
        return 0
    found = await rows(
        conn,
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'telemetry' AND is_compressed",
    )
    return int(found[0][0])


@pytest.mark.integration
class TestScheduledDepartureColumn:
    async def test_the_column_is_a_nullable_timestamp_with_time_zone(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            found = await rows(
                conn,
                "SELECT data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_name = 'telemetry' AND column_name = 'scheduled_departure_at'",
            )
        assert found == [("timestamp with time zone", "YES", None)]

    async def test_telemetry_stored_before_it_gains_the_column_keeps_its_rows_as_null(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        earlier = tuple(m for m in load_migrations() if m.name < DEPARTURE_MIGRATION)
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            with monkeypatch.context() as patched:
                patched.setattr(migrate_module, "load_migrations", lambda: earlier)
                await apply_migrations(conn)
            await insert_sample(conn, T0)
            if mode == "timescaledb":
                await conn.execute("SELECT compress_chunk(c) FROM show_chunks('telemetry') c")
            compressed_before = await compressed_chunks(conn, mode)

            applied = await apply_migrations(conn)
            await insert_sample(conn, T0 + timedelta(minutes=1), departure_at=DEPARTURE_AT)
            stored = await rows(
                conn,
                "SELECT sampled_at, battery_level_pct, scheduled_departure_at FROM telemetry "
                "ORDER BY sampled_at",
            )
        assert compressed_before == (1 if mode == "timescaledb" else 0)
        assert applied[0] == DEPARTURE_MIGRATION
        assert stored == [
            (T0, 60.0, None),
            (T0 + timedelta(minutes=1), 60.0, DEPARTURE_AT),
        ]
