"""`VehicleHistoryRepo` on PostgreSQL: drives, charges, behaviour profiles and charge plans."""

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from tc_store.adapters.postgres import PostgresDatabase
from tc_store.adapters.postgres_market import upsert_statement
from tc_store.domain import ActivityRow, ChargeRow, DriveRow, PlanRow, ProfileRow, WriteResult


def _differs(table: str, columns: Sequence[str]) -> sql.Composed:
    """The stored row differs from ``excluded`` in any of ``columns`` (NULL-safe)."""
    return sql.SQL("({stored}) IS DISTINCT FROM ({new})").format(
        stored=sql.SQL(", ").join(sql.Identifier(table, c) for c in columns),
        new=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in columns),
    )


_DRIVE_KEY = ("vehicle_id", "drive_id")
_CHARGE_KEY = ("vehicle_id", "charge_id")
# Tessie may edit a record after the fact: the newest delivery wins, but an identical
# redelivery (overlapping fetch windows, a restart of ingest) writes nothing.
_UPSERT_DRIVES = upsert_statement(
    "drives",
    DriveRow,
    _DRIVE_KEY,
    _differs("drives", [c for c in DriveRow._fields if c not in _DRIVE_KEY]),
    touch=("stored_at",),
)
_UPSERT_CHARGES = upsert_statement(
    "charges",
    ChargeRow,
    _CHARGE_KEY,
    _differs("charges", [c for c in ChargeRow._fields if c not in _CHARGE_KEY]),
    touch=("stored_at",),
)
_INSERT_PROFILE_HISTORY = upsert_statement(
    "behaviour_profile_history", ProfileRow, ("vehicle_id", "computed_at"), None
)
_UPSERT_PROFILE = upsert_statement(
    "behaviour_profiles",
    ProfileRow,
    ("vehicle_id",),
    sql.SQL("excluded.computed_at > behaviour_profiles.computed_at"),
    touch=("stored_at",),
)
_INSERT_PLAN_HISTORY = upsert_statement(
    "charge_plan_history", PlanRow, ("vehicle_id", "issued_at"), None
)
_UPSERT_PLAN = upsert_statement(
    "charge_plans",
    PlanRow,
    ("vehicle_id",),
    sql.SQL("excluded.issued_at > charge_plans.issued_at"),
    touch=("stored_at",),
)
# The rule of VehicleHistoryRepo.save_activity, atomically in one statement.
_UPSERT_ACTIVITY = sql.SQL(
    """
    INSERT INTO vehicle_activity (vehicle_id, activity, since, observed_at)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (vehicle_id) DO UPDATE SET
        since = CASE
            WHEN vehicle_activity.activity = excluded.activity
                AND excluded.since <= vehicle_activity.observed_at
            THEN LEAST(vehicle_activity.since, excluded.since)
            ELSE excluded.since
        END,
        activity = excluded.activity,
        observed_at = excluded.observed_at,
        stored_at = now()
    WHERE excluded.observed_at > vehicle_activity.observed_at
    """
).format()


class PostgresVehicleHistoryRepo:
    """`VehicleHistoryRepo` sharing the pool, migrations and retries of a `PostgresDatabase`."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def save_drives(self, rows: Sequence[DriveRow]) -> WriteResult:
        return await self._database.write_many("store drives", _UPSERT_DRIVES, rows)

    async def save_charges(self, rows: Sequence[ChargeRow]) -> WriteResult:
        return await self._database.write_many("store charges", _UPSERT_CHARGES, rows)

    async def save_behaviour_profile(self, row: ProfileRow) -> WriteResult:
        return await self._latest_and_history(
            "store behaviour profile", _INSERT_PROFILE_HISTORY, _UPSERT_PROFILE, row
        )

    async def save_activity(self, row: ActivityRow) -> WriteResult:
        return await self._database.write_many("store vehicle activity", _UPSERT_ACTIVITY, [row])

    async def save_charge_plan(self, row: PlanRow) -> WriteResult:
        return await self._latest_and_history(
            "store charge plan", _INSERT_PLAN_HISTORY, _UPSERT_PLAN, row
        )

    async def _latest_and_history(
        self, what: str, history: sql.Composed, latest: sql.Composed, row: tuple[Any, ...]
    ) -> WriteResult:
        async def write() -> WriteResult:
            async with (
                self._database.connection() as conn,
                conn.transaction(),
                conn.cursor() as cur,
            ):
                await cur.execute(history, row)
                written = max(cur.rowcount, 0)
                await cur.execute(latest, row)
            return WriteResult(written=written, unchanged=1 - written)

        return await self._database.retrying(what, write)
