"""`AccountErasure` on PostgreSQL: ``tc_db.erasure`` through the store's pool, retried while
the database is away."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from tc_common.events.erasure import ErasureStep
from tc_db import erasure
from tc_db.erasure import ErasureFinished
from tc_store.adapters.postgres import PostgresDatabase


class PostgresAccountErasure:
    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def erase_vehicles(self, vehicle_ids: Sequence[str]) -> dict[str, int]:
        async def erase() -> dict[str, int]:
            async with self._db.connection() as conn:
                removed = await erasure.erase_vehicle_rows(conn, list(vehicle_ids))
                await erasure.refresh_hourly_aggregate(conn)
                return removed

        return await self._db.retrying("erase vehicle rows", erase)

    async def record_step(
        self,
        account_id: UUID,
        requested_at: datetime,
        step: ErasureStep,
        *,
        finished_at: datetime,
        removed: dict[str, int],
    ) -> bool:
        async def record() -> bool:
            async with self._db.connection() as conn:
                return await erasure.record_step(
                    conn, account_id, requested_at, step, finished_at=finished_at, removed=removed
                )

        return await self._db.retrying("record an erasure step", record)

    async def finish(
        self, account_id: UUID, requested_at: datetime, *, at: datetime
    ) -> ErasureFinished:
        async def finish() -> ErasureFinished:
            async with self._db.connection() as conn:
                done = await erasure.finish_erasure(conn, account_id, requested_at, at=at)
                await erasure.refresh_hourly_aggregate(conn)
                return done

        return await self._db.retrying("finish an erasure", finish)
