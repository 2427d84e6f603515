"""``AccountDirectory`` over the accounts tables (migration 0010): who holds a key, and which
vehicles an account owns. Written by the provisioner and tc-admin; the api only records when an
account key was last used."""

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from tc_api.adapters.postgres import pooled_connection
from tc_api.domain import KEY_USE_RESOLUTION, AccountKey

_log = logging.getLogger(__name__)

_FIND_KEY = (
    "SELECT k.key_id, k.account_id, a.state, k.last_used_at "
    "FROM api_keys k JOIN accounts a USING (account_id) "
    "WHERE k.key_sha256 = %s AND k.revoked_at IS NULL"
)
# The condition repeats the caller's check so that concurrent requests (several api pods) still
# write at most once a minute per key.
_RECORD_USE = (
    "UPDATE api_keys SET last_used_at = %(now)s "
    "WHERE key_id = %(key_id)s AND (last_used_at IS NULL OR last_used_at <= %(stale_before)s)"
)


class PostgresAccountDirectory:
    """Reads ``api_keys``, ``accounts`` and ``account_vehicles``; outages surface as
    ``TelemetryUnavailableError``, except from ``record_key_use``, which never raises."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def find_key(self, key_sha256: str) -> AccountKey | None:
        async with (
            pooled_connection(self._pool) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(_FIND_KEY, (key_sha256,))
            row = await cur.fetchone()
        if row is None:
            return None
        last_used = row["last_used_at"]
        return AccountKey(
            key_id=row["key_id"],
            account_id=row["account_id"],
            account_state=row["state"],
            last_used_at=last_used.astimezone(UTC) if last_used is not None else None,
        )

    async def record_key_use(self, key_id: UUID, now: datetime) -> None:
        try:
            async with pooled_connection(self._pool) as conn, conn.transaction():
                # The pool's sessions are read-only by default (the api reads everything
                # else); this one statement opts in. A short lock timeout: a key row locked by
                # tc-admin must not hold up the request for the statement timeout.
                await conn.execute("SET TRANSACTION READ WRITE")
                await conn.execute("SET LOCAL lock_timeout = '500ms'")
                await conn.execute(
                    _RECORD_USE,
                    {"now": now, "key_id": key_id, "stale_before": now - KEY_USE_RESOLUTION},
                )
        except Exception:  # bookkeeping only: the request is authorised already
            _log.warning("could not record the use of api key %s", key_id, exc_info=True)

    async def owns(self, account_id: UUID, vehicle_id: str) -> bool:
        async with pooled_connection(self._pool) as conn:
            cur = await conn.execute(
                "SELECT 1 FROM account_vehicles WHERE account_id = %s AND vehicle_id = %s",
                (account_id, vehicle_id),
            )
            return await cur.fetchone() is not None
