"""A psycopg connection pool that waits out database outages: what every service writing its
own tables (the store, the provisioner) opens, checks and retries the same way.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from tc_common.logging import redact

T = TypeVar("T")

# "The database is not reachable right now": refused, restarting, connection lost, no pooled
# connection in time (a lock not granted within lock_timeout is an OperationalError too).
# Anything else is a bug and is not retried here.
TRANSIENT_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


def backoff_delays_s(initial_s: float, maximum_s: float, factor: float = 2.0) -> Iterator[float]:
    """Retry delays growing by ``factor`` from ``initial_s`` and then staying at ``maximum_s``."""
    delay = initial_s
    while True:
        yield min(delay, maximum_s)
        delay = min(delay * factor, maximum_s)


class PostgresPool:
    """A pool opened without waiting for the database, whose connections are checked on
    checkout, with a ``retrying`` that backs off while the database is away.

    Subclasses open it in their ``start`` (``open_pool``, then their migrations through
    ``retrying``) and run their transactions on ``connection``.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        pool_max_size: int = 5,
        on_retry: Callable[[], None] | None = None,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 15.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._url = url
        self._name = name
        self._pool_max_size = pool_max_size
        self._on_retry = on_retry
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._connect_timeout_s = connect_timeout_s
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None

    async def open_pool(self) -> None:
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_max_size,
                open=False,
                timeout=self._connect_timeout_s,
                # A connection from before a database restart is dead: check it on checkout
                # rather than failing the first transaction after every outage.
                check=AsyncConnectionPool.check_connection,
                kwargs={"connect_timeout": max(1, round(self._connect_timeout_s))},
                name=self._name,
            )
            await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def ping(self) -> bool:
        if self._pool is None:
            return False
        try:
            async with self._pool.connection(timeout=self._connect_timeout_s) as conn:
                await conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        if self._pool is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        return self._pool.connection()

    async def retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it succeeds, backing off while the database is away.

        A commit whose outcome is unknown (connection lost during COMMIT) is simply repeated:
        callers retry only idempotent work.
        """
        delays = backoff_delays_s(self._retry_initial_s, self._retry_max_s)
        attempt = 0
        while True:
            try:
                return await operation()
            except TRANSIENT_ERRORS as error:
                attempt += 1
                delay_s = next(delays)
                if self._on_retry is not None:
                    self._on_retry()
                # The message of a libpq error names host and port, never the password, but
                # redact anyway in case a URL ends up in it. Logged as the service's adapter.
                logging.getLogger(type(self).__module__).warning(
                    "%s failed (attempt %d, database unreachable: %s); retrying in %.1f s",
                    what,
                    attempt,
                    redact(str(error).strip(), extra_secrets=_password(self._url)),
                    delay_s,
                )
                await asyncio.sleep(delay_s)


def _password(url: str) -> tuple[str, ...]:
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return ()
    return (str(password),) if password else ()
