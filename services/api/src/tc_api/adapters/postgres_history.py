"""``HistoryReader`` over the drive, charge, profile and plan tables the store service writes."""

from datetime import UTC
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from tc_api.adapters.postgres import pooled_connection
from tc_api.domain import HistoryCounts, PlansQuery, TimeWindow
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)

# Named explicitly, like the telemetry columns, so a field added to the events cannot break
# these queries before a migration adds the column.
_DRIVE_COLUMNS = (
    "vehicle_id",
    "drive_id",
    "started_at",
    "ended_at",
    "starting_latitude_deg",
    "starting_longitude_deg",
    "ending_latitude_deg",
    "ending_longitude_deg",
    "starting_battery_pct",
    "ending_battery_pct",
    "distance_km",
    "energy_used_kwh",
)
_CHARGE_COLUMNS = (
    "vehicle_id",
    "charge_id",
    "started_at",
    "ended_at",
    "latitude_deg",
    "longitude_deg",
    "is_supercharger",
    "starting_battery_pct",
    "ending_battery_pct",
    "energy_added_kwh",
    "energy_used_kwh",
    "odometer_km",
)
_KNOWN = (
    "SELECT EXISTS (SELECT 1 FROM vehicles WHERE vehicle_id = %(v)s)"
    " OR EXISTS (SELECT 1 FROM drives WHERE vehicle_id = %(v)s)"
    " OR EXISTS (SELECT 1 FROM charges WHERE vehicle_id = %(v)s)"
    " OR EXISTS (SELECT 1 FROM behaviour_profiles WHERE vehicle_id = %(v)s)"
    " OR EXISTS (SELECT 1 FROM charge_plans WHERE vehicle_id = %(v)s) AS known"
)


class PostgresHistoryReader:
    """Reads ``drives``, ``charges``, ``behaviour_profiles``, ``charge_plans`` and
    ``charge_plan_history``; outages surface as ``TelemetryUnavailableError``."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def _rows(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with (
            pooled_connection(self._pool) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(query.encode(), params)
            return await cur.fetchall()

    async def is_known(self, vehicle_id: str) -> bool:
        rows = await self._rows(_KNOWN, {"v": vehicle_id})
        return bool(rows[0]["known"])

    async def history_counts(self, vehicle_id: str) -> HistoryCounts:
        rows = await self._rows(
            "SELECT (SELECT count(*) FROM drives WHERE vehicle_id = %(v)s) AS drives,"
            " (SELECT count(*) FROM charges WHERE vehicle_id = %(v)s) AS charges,"
            " least((SELECT min(started_at) FROM drives WHERE vehicle_id = %(v)s),"
            " (SELECT min(started_at) FROM charges WHERE vehicle_id = %(v)s)) AS first",
            {"v": vehicle_id},
        )
        row = rows[0]
        first = row["first"]
        return HistoryCounts(
            drives=int(row["drives"]),
            charges=int(row["charges"]),
            first_started_at=first.astimezone(UTC) if first is not None else None,
        )

    async def drives(self, vehicle_id: str, window: TimeWindow) -> list[DriveRecorded]:
        rows = await self._rows(
            f"SELECT {', '.join(_DRIVE_COLUMNS)} FROM drives WHERE vehicle_id = %(v)s "
            "AND started_at >= %(lo)s AND started_at < %(hi)s ORDER BY started_at, drive_id",
            {"v": vehicle_id, "lo": window.from_at, "hi": window.to_at},
        )
        return [DriveRecorded.model_validate(_utc(row)) for row in rows]

    async def charges(self, vehicle_id: str, window: TimeWindow) -> list[ChargeRecorded]:
        rows = await self._rows(
            f"SELECT {', '.join(_CHARGE_COLUMNS)} FROM charges WHERE vehicle_id = %(v)s "
            "AND started_at >= %(lo)s AND started_at < %(hi)s ORDER BY started_at, charge_id",
            {"v": vehicle_id, "lo": window.from_at, "hi": window.to_at},
        )
        return [ChargeRecorded.model_validate(_utc(row)) for row in rows]

    async def latest_profile(self, vehicle_id: str) -> BehaviourProfileUpdated | None:
        rows = await self._rows(
            "SELECT event FROM behaviour_profiles WHERE vehicle_id = %(v)s", {"v": vehicle_id}
        )
        return BehaviourProfileUpdated.model_validate(rows[0]["event"]) if rows else None

    async def latest_plan(self, vehicle_id: str) -> ChargePlanPublished | None:
        rows = await self._rows(
            "SELECT event FROM charge_plans WHERE vehicle_id = %(v)s", {"v": vehicle_id}
        )
        return ChargePlanPublished.model_validate(rows[0]["event"]) if rows else None

    async def plans(self, vehicle_id: str, query: PlansQuery) -> list[ChargePlanPublished]:
        rows = await self._rows(
            "SELECT event FROM charge_plan_history WHERE vehicle_id = %(v)s "
            "AND issued_at >= %(lo)s AND issued_at < %(hi)s ORDER BY issued_at DESC "
            "LIMIT %(limit)s",
            {
                "v": vehicle_id,
                "lo": query.window.from_at,
                "hi": query.window.to_at,
                "limit": query.limit,
            },
        )
        return [ChargePlanPublished.model_validate(row["event"]) for row in rows]


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    # The session's time zone decides the offset psycopg returns; answers are always UTC.
    return {
        k: v.astimezone(UTC) if k.endswith("_at") and v is not None else v for k, v in row.items()
    }
