"""The drive, charge, profile and plan tables (0005, 0006) against a real PostgreSQL.

Like test_market_migrations.py, every test runs in whichever mode the cluster supports (plain,
or TimescaleDB with ``PG_BIN`` pointing at such an installation) and checks that mode's objects.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tc_common.events.behaviour import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_db import apply_migrations, load_migrations

from .cluster import cluster_mode, connect, rows

TABLES = (
    "drives",
    "charges",
    "behaviour_profiles",
    "behaviour_profile_history",
    "charge_plans",
    "charge_plan_history",
)
HYPERTABLES = {
    "charge_plan_history": ("issued_at", timedelta(days=7)),
    "behaviour_profile_history": ("computed_at", timedelta(days=30)),
}
T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


async def primary_key(conn: psycopg.AsyncConnection, table: str) -> list[str]:
    found = await rows(
        conn,
        "SELECT a.attname FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON TRUE "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.pos",
        (table,),
    )
    return [name for (name,) in found]


async def columns(conn: psycopg.AsyncConnection, table: str) -> list[str]:
    found = await rows(
        conn,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [name for (name,) in found]


def event_fields(event: type[Any]) -> set[str]:
    return set(event.model_fields) - {"schema_version"}


class TestLoadHistoryMigrations:
    def test_tables_are_defined_once_and_only_the_conversion_has_two_variants(self) -> None:
        by_name = {m.name: m for m in load_migrations()}
        tables = by_name["0005_vehicle_history_plans"]
        conversion = by_name["0006_history_hypertables"]

        assert tables.timescaledb_sql is None
        assert all(f"CREATE TABLE IF NOT EXISTS {t} (" in tables.sql for t in TABLES)
        steps = conversion.steps("timescaledb")
        assert len(steps) == len(HYPERTABLES)
        assert all(any(f"'{t}'" in s for s in steps) for t in HYPERTABLES)
        assert "create_hypertable" not in conversion.steps("plain")[0]


@pytest.mark.integration
class TestHistoryTables:
    async def test_keys_are_what_the_upserts_rely_on(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            keys = {t: await primary_key(conn, t) for t in TABLES}

        assert keys == {
            "drives": ["vehicle_id", "drive_id"],
            "charges": ["vehicle_id", "charge_id"],
            "behaviour_profiles": ["vehicle_id"],
            "behaviour_profile_history": ["vehicle_id", "computed_at"],
            "charge_plans": ["vehicle_id"],
            "charge_plan_history": ["vehicle_id", "issued_at"],
        }

    async def test_episode_tables_hold_every_field_of_their_event(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            drives = await columns(conn, "drives")
            charges = await columns(conn, "charges")

        assert set(drives) == event_fields(DriveRecorded) | {"stored_at"}
        assert set(charges) == event_fields(ChargeRecorded) | {"stored_at"}

    async def test_histories_have_the_columns_of_their_latest_table(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            profiles = await columns(conn, "behaviour_profiles")
            profile_history = await columns(conn, "behaviour_profile_history")
            plans = await columns(conn, "charge_plans")
            plan_history = await columns(conn, "charge_plan_history")

        assert profile_history == profiles
        assert plan_history == plans
        assert set(profiles) - {"event", "stored_at"} <= event_fields(BehaviourProfileUpdated)
        assert set(plans) - {"event", "stored_at", "first_slot_start_at"} <= event_fields(
            ChargePlanPublished
        )

    async def test_history_copies_keep_the_checks_and_defaults(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            await conn.execute(
                "INSERT INTO behaviour_profile_history (vehicle_id, computed_at, learning_state, "
                "days_observed, days_until_ready, days_until_fully_trained, summary, event) "
                "VALUES ('VIN1', %s, 'learning', 3, 11, 27, '', '{}')",
                (T0,),
            )
            ((stored_at,),) = await rows(conn, "SELECT stored_at FROM behaviour_profile_history")
            with pytest.raises(psycopg.errors.CheckViolation):
                await conn.execute(
                    "INSERT INTO behaviour_profile_history (vehicle_id, computed_at, "
                    "learning_state, days_observed, days_until_ready, days_until_fully_trained, "
                    "summary, event) VALUES ('VIN1', %s, 'learning', -1, 0, 0, '', '{}')",
                    (T0 + timedelta(days=1),),
                )

        assert stored_at is not None

    async def test_an_episode_that_ends_before_it_starts_is_refused(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            with pytest.raises(psycopg.errors.CheckViolation):
                await conn.execute(
                    "INSERT INTO drives (vehicle_id, drive_id, started_at, ended_at, distance_km) "
                    "VALUES ('VIN1', 1, %s, %s, 10)",
                    (T0, T0 - timedelta(minutes=1)),
                )

    async def test_histories_are_hypertables_exactly_in_timescale_mode(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            ((has_catalog,),) = await rows(
                conn, "SELECT to_regnamespace('timescaledb_information') IS NOT NULL"
            )
            dimensions = (
                await rows(
                    conn,
                    "SELECT hypertable_name, column_name, time_interval "
                    "FROM timescaledb_information.dimensions "
                    "WHERE hypertable_name = ANY(%s) ORDER BY hypertable_name",
                    (list(TABLES),),
                )
                if has_catalog
                else []
            )

        if mode == "timescaledb":
            assert dimensions == sorted((t, c, i) for t, (c, i) in HYPERTABLES.items())
        else:
            assert dimensions == []
