"""The database (pool, migrations, retries on outages) and the telemetry repository, on PostgreSQL
(plain or TimescaleDB)."""

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from prometheus_client import Counter
from psycopg import sql

from tc_common.consuming import FailurePolicy
from tc_common.tables import TELEMETRY_COLUMNS
from tc_db import StorageMode, apply_migrations, storage_mode
from tc_db.pool import TRANSIENT_ERRORS, PostgresPool
from tc_store.domain import (
    SaveResult,
    TelemetryRow,
    WriteResult,
    dedupe_rows,
    vehicle_spans,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


# How the store's consumers answer a failed write: a value the database refuses (out of range,
# a CHECK or NOT NULL violated) fails the same way every time, so it is dead-lettered; an
# outage is waited out.
FAILURES = FailurePolicy(
    permanent=(psycopg.DataError, psycopg.IntegrityError), transient=TRANSIENT_ERRORS
)

_INSERT_TELEMETRY = sql.SQL(
    "INSERT INTO telemetry ({columns}) VALUES ({values}) "
    "ON CONFLICT (vehicle_id, sampled_at) DO NOTHING"
).format(
    columns=sql.SQL(", ").join(sql.Identifier(c) for c in TELEMETRY_COLUMNS),
    values=sql.SQL(", ").join(sql.Placeholder() for _ in TELEMETRY_COLUMNS),
)

_UPSERT_VEHICLE = """
    INSERT INTO vehicles (vehicle_id, first_sampled_at, last_sampled_at)
    VALUES (%s, %s, %s)
    ON CONFLICT (vehicle_id) DO UPDATE SET
        first_sampled_at = least(vehicles.first_sampled_at, excluded.first_sampled_at),
        last_sampled_at = greatest(vehicles.last_sampled_at, excluded.last_sampled_at),
        updated_at = now()
"""


# One batch of the retention delete: a bounded statement keeps each transaction (its locks, its
# WAL, a replica's lag) small however much is due.
_DELETE_TELEMETRY_BATCH = """
    DELETE FROM telemetry WHERE ctid IN (
        SELECT ctid FROM telemetry WHERE sampled_at < %s LIMIT %s
    )
"""

DEFAULT_RETENTION_BATCH = 10_000


class PostgresDatabase(PostgresPool):
    """A psycopg connection pool with the migrations applied and retries on outages.

    Call `start` before use (opens the pool and applies the migrations, waiting for the
    database as long as it takes) and `close` at shutdown. Repositories run their
    transactions through `retrying` on a `connection`.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_max_size: int = 5,
        retries: Counter | None = None,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 15.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            url,
            name="tc-store",
            pool_max_size=pool_max_size,
            on_retry=retries.inc if retries is not None else None,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
            connect_timeout_s=connect_timeout_s,
        )
        self._mode: StorageMode | None = None

    @property
    def mode(self) -> StorageMode:
        """How the database stores telemetry, known once `start` returned."""
        if self._mode is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        return self._mode

    async def start(self, *, retention_days: int | None = None) -> None:
        await self.open_pool()

        async def migrate() -> list[str]:
            async with self.connection() as conn:
                applied = await apply_migrations(conn, retention_days=retention_days)
                self._mode = await storage_mode(conn)
                return applied

        applied = await self.retrying("apply migrations", migrate)
        log.info("database schema ready (applied now: %s)", ", ".join(applied) or "none")

    async def write_many(
        self, what: str, statement: sql.Composed, rows: Sequence[tuple[Any, ...]]
    ) -> WriteResult:
        """Run ``statement`` for every row in one transaction, retried while the database is
        away; rows the statement left alone (duplicates, older revisions) count as unchanged."""
        if not rows:
            return WriteResult(written=0, unchanged=0)

        async def write() -> WriteResult:
            async with self.connection() as conn, conn.transaction(), conn.cursor() as cur:
                await cur.executemany(statement, rows)
                written = max(cur.rowcount, 0)  # executemany sums the rows affected
            return WriteResult(written=written, unchanged=len(rows) - written)

        return await self.retrying(what, write)


class PostgresTelemetryRepo(PostgresDatabase):
    """`TelemetryRepo` on a `PostgresDatabase`."""

    async def save_samples(self, rows: Sequence[TelemetryRow]) -> SaveResult:
        unique = dedupe_rows(rows)
        if not unique:
            return SaveResult(stored=0, duplicates=0)

        async def write() -> SaveResult:
            async with self.connection() as conn, conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(_INSERT_TELEMETRY, [row.values for row in unique])
                    stored = max(cur.rowcount, 0)  # executemany sums the rows affected
                    for span in vehicle_spans(unique):
                        await cur.execute(
                            _UPSERT_VEHICLE,
                            (span.vehicle_id, span.first_sampled_at, span.last_sampled_at),
                        )
                return SaveResult(stored=stored, duplicates=len(rows) - stored)

        return await self.retrying("store telemetry", write)

    async def drop_telemetry_before(
        self, cutoff: datetime, *, batch_size: int = DEFAULT_RETENTION_BATCH
    ) -> int:
        """Delete telemetry sampled before ``cutoff``, ``batch_size`` rows per transaction
        until none is left; returns how many rows went.

        Plain PostgreSQL only: on TimescaleDB the retention policy registered by the migrations
        drops whole chunks. Not retried: an outage raises, and the next run picks up where this
        one stopped (every committed batch stays deleted).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if self.mode != "plain":
            raise RuntimeError("TimescaleDB drops telemetry chunks by its retention policy")
        dropped = 0
        while True:
            async with self.connection() as conn, conn.transaction():
                cur = await conn.execute(_DELETE_TELEMETRY_BATCH, (cutoff, batch_size))
                deleted = max(cur.rowcount, 0)
            dropped += deleted
            if deleted < batch_size:
                return dropped
