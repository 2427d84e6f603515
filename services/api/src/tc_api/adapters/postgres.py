"""``TelemetryReader`` over the PostgreSQL tables that the store service writes (schema: tc_db)."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tc_api.domain import Activity, Principal, SortOrder, TelemetryQuery, Vehicle
from tc_api.ports import TelemetryUnavailableError
from tc_common.events import TelemetrySampled
from tc_common.tables import TELEMETRY_COLUMNS

_SELECT_TELEMETRY = sql.SQL("SELECT {columns} FROM telemetry").format(
    columns=sql.SQL(", ").join(sql.Identifier(c) for c in TELEMETRY_COLUMNS)
)
_DIRECTION: dict[SortOrder, sql.Composable] = {"asc": sql.SQL("ASC"), "desc": sql.SQL("DESC")}


def open_pool(url: str, *, max_size: int, timeout_s: float) -> AsyncConnectionPool[Any]:
    """A pool that is not opened yet; ``await pool.open()`` in the app's lifespan.

    Sessions are read-only by default (the api writes nothing but an account key's
    ``last_used_at``, in a transaction that opts in) and a statement may run at most 10 s.
    """
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        timeout=timeout_s,
        open=False,
        name="tc-api",
        check=AsyncConnectionPool.check_connection,
        kwargs={
            "autocommit": True,
            "options": "-c default_transaction_read_only=on -c statement_timeout=10s",
        },
    )


def _vehicle(row: dict[str, Any]) -> Vehicle:
    activity = None
    if row["activity"] is not None:
        activity = Activity(
            state=row["activity"],
            since=row["activity_since"].astimezone(UTC),
            last_seen_at=row["activity_observed_at"].astimezone(UTC),
        )
    return Vehicle(
        vehicle_id=row["vehicle_id"],
        first_sampled_at=row["first_sampled_at"].astimezone(UTC),
        last_sampled_at=row["last_sampled_at"].astimezone(UTC),
        activity=activity,
    )


# A vehicle and its activity (stored from its own topic, so possibly not yet).
_SELECT_VEHICLE = (
    "SELECT v.vehicle_id, v.first_sampled_at, v.last_sampled_at, a.activity, "
    "a.since AS activity_since, a.observed_at AS activity_observed_at "
    "FROM vehicles v LEFT JOIN vehicle_activity a USING (vehicle_id) "
)


@asynccontextmanager
async def pooled_connection(pool: AsyncConnectionPool[Any]) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection from ``pool``; an outage surfaces as ``TelemetryUnavailableError``."""
    try:
        async with pool.connection() as conn:
            yield conn
    # OperationalError covers a lost server, a refused connection and a statement timeout.
    # A missing table or column means the store has not migrated the database (yet): the api
    # may start first, and must answer "retry" rather than 500 until the schema is there.
    except (
        PoolTimeout,
        psycopg.OperationalError,
        psycopg.errors.UndefinedTable,
        psycopg.errors.UndefinedColumn,
    ) as error:
        raise TelemetryUnavailableError(type(error).__name__) from error


class PostgresTelemetryReader:
    """Reads ``vehicles`` and ``telemetry``; outages surface as ``TelemetryUnavailableError``."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    def _connection(self) -> AbstractAsyncContextManager[AsyncConnection[Any]]:
        return pooled_connection(self._pool)

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.execute("SELECT 1")

    async def list_vehicles(self, visible_to: Principal) -> list[Vehicle]:
        async with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            if visible_to.is_operator:
                await cur.execute(_SELECT_VEHICLE + "ORDER BY v.vehicle_id")
            else:
                await cur.execute(
                    _SELECT_VEHICLE + "JOIN account_vehicles o USING (vehicle_id) "
                    "WHERE o.account_id = %s ORDER BY v.vehicle_id",
                    (visible_to.account_id,),
                )
            return [_vehicle(row) for row in await cur.fetchall()]

    async def get_vehicle(self, vehicle_id: str) -> Vehicle | None:
        async with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_SELECT_VEHICLE + "WHERE v.vehicle_id = %s", (vehicle_id,))
            row = await cur.fetchone()
            return _vehicle(row) if row else None

    async def latest_sample(self, vehicle_id: str) -> TelemetrySampled | None:
        statement = sql.SQL("{select} WHERE vehicle_id = %s ORDER BY sampled_at DESC LIMIT 1")
        async with (
            self._connection() as conn,
            conn.cursor(row_factory=class_row(TelemetrySampled)) as cur,
        ):
            await cur.execute(statement.format(select=_SELECT_TELEMETRY), (vehicle_id,))
            return await cur.fetchone()

    async def samples(self, vehicle_id: str, query: TelemetryQuery) -> list[TelemetrySampled]:
        statement = sql.SQL(
            "{select} WHERE vehicle_id = %s AND sampled_at >= %s AND sampled_at < %s "
            "ORDER BY sampled_at {direction} LIMIT %s"
        ).format(select=_SELECT_TELEMETRY, direction=_DIRECTION[query.order])
        async with (
            self._connection() as conn,
            conn.cursor(row_factory=class_row(TelemetrySampled)) as cur,
        ):
            await cur.execute(statement, (vehicle_id, query.from_at, query.to_at, query.limit))
            return await cur.fetchall()
