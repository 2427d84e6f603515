"""The provisioner's decisions in PostgreSQL (table ``provisioning_decisions``, migration 0009):
the one arbiter of every provisioner process, however many run and however long ago they
decided."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool

from tc_common.consuming import FailurePolicy
from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested
from tc_common.logging import redact
from tc_db import apply_migrations
from tc_provisioner.domain import Decision, Snapshot, seat_key
from tc_provisioner.ports import Policy

log = logging.getLogger(__name__)

T = TypeVar("T")

# "The database is not reachable right now": refused, restarting, connection lost, no pooled
# connection in time, or the decision lock not granted within LOCK_TIMEOUT_S (LockNotAvailable
# is an OperationalError). The consumer retries these in place for as long as it takes.
TRANSIENT_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)

# A value the database refuses fails the same way every time: dead-letter it.
# A unique violation cannot happen under the decision lock; if something writes around it, it
# is an unexpected error: tried a few times (a retry finds the other writer's row), then
# dead-lettered.
FAILURES = FailurePolicy(permanent=(psycopg.DataError,), transient=TRANSIENT_ERRORS)

# A decider holding the lock answers in milliseconds. One that does not (a provisioner cut off
# mid-transaction, until the server notices) must not hold every other one up silently: the
# wait ends in LockNotAvailable, which the consumer retries with backoff, logged and counted.
LOCK_TIMEOUT_S = 10.0

# SHARE ROW EXCLUSIVE conflicts with itself and with the ROW EXCLUSIVE lock of every insert:
# one decision at a time, across processes, while readers are not blocked. Everything read
# after it in this READ COMMITTED transaction sees every decision committed before it.
_LOCK = "LOCK TABLE provisioning_decisions IN SHARE ROW EXCLUSIVE MODE"

_EARLIER = """
    SELECT decided_at, outcome, reason, seats_taken, seats_total
    FROM provisioning_decisions
    WHERE request_id = %s
"""

_SNAPSHOT = """
    SELECT
        (SELECT count(*) FROM provisioning_decisions WHERE outcome = 'accepted'),
        EXISTS (
            SELECT 1 FROM provisioning_decisions
            WHERE outcome = 'accepted' AND email_casefold = %(email)s
                AND device_casefold = %(device)s
        ),
        EXISTS (
            SELECT 1 FROM provisioning_decisions
            WHERE outcome = 'accepted' AND invitation_sha256 = %(digest)s
        )
"""

_INSERT = """
    INSERT INTO provisioning_decisions (
        request_id, outcome, reason, seats_taken, seats_total, decided_at,
        email_casefold, device_casefold, invitation_sha256
    ) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


class PostgresProvisioningDecisions:
    """`ProvisioningDecisions` on a psycopg connection pool.

    `start` opens the pool and applies the migrations (``tc_db``; safe from several processes
    at once), waiting out an unreachable database with capped exponential backoff; `close` at
    shutdown. `decide` does not retry: it raises the transient errors above, which the
    consumer's failure policy (`FAILURES`) retries with backoff, keeping its group membership.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_max_size: int = 5,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 15.0,
        connect_timeout_s: float = 5.0,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._pool_max_size = pool_max_size
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._connect_timeout_s = connect_timeout_s
        self._lock_timeout_ms = round(lock_timeout_s * 1000)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None

    async def start(self) -> None:
        if self._pool is None:
            self._pool = AsyncConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_max_size,
                open=False,
                timeout=self._connect_timeout_s,
                # A connection from before a database restart is dead: check it on checkout
                # rather than failing the first decision after every outage.
                check=AsyncConnectionPool.check_connection,
                kwargs={"connect_timeout": max(1, round(self._connect_timeout_s))},
                name="tc-provisioner",
            )
            await self._pool.open(wait=False)

        async def migrate() -> list[str]:
            async with self._connection() as conn:
                # The telemetry retention policy is the store's to set: leave it alone.
                return await apply_migrations(conn, manage_retention=False)

        applied = await self._waiting_out_outages("apply migrations", migrate)
        log.info("database schema ready (applied now: %s)", ", ".join(applied) or "none")

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

    async def decide(self, request: ProvisioningRequested, policy: Policy) -> Decision:
        email, device = seat_key(request)
        digest = request.invitation_sha256
        async with self._connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT set_config('lock_timeout', %s, true)", (f"{self._lock_timeout_ms}ms",)
            )
            await conn.execute(_LOCK)
            cur = await conn.execute(_EARLIER, (request.request_id,))
            earlier = await cur.fetchone()
            cur = await conn.execute(
                _SNAPSHOT, {"email": email, "device": device, "digest": digest}
            )
            counts = await cur.fetchone()
            assert counts is not None  # a SELECT without FROM returns one row
            seats_taken, seat_taken, invitation_used = counts
            decision = policy(
                Snapshot(
                    earlier=_answer(request.request_id, earlier) if earlier else None,
                    seats_taken=int(seats_taken),
                    seat_taken=bool(seat_taken),
                    invitation_used=bool(invitation_used),
                )
            )
            if not decision.repeated:
                answer, claim = decision.answer, decision.claim
                await conn.execute(
                    _INSERT,
                    (
                        answer.request_id,
                        answer.outcome,
                        answer.reason,
                        answer.seats_taken,
                        answer.seats_total,
                        answer.decided_at,
                        claim.seat[0] if claim else None,
                        claim.seat[1] if claim else None,
                        claim.invitation_digest if claim else None,
                    ),
                )
        return decision

    def _connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        if self._pool is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        return self._pool.connection()

    async def _waiting_out_outages(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it succeeds, backing off while the database is away.

        The same approach as the store's ``PostgresDatabase.retrying`` (services do not import
        each other); only the start needs it, decisions are retried by the consumer.
        """
        attempt = 0
        while True:
            try:
                return await operation()
            except TRANSIENT_ERRORS as error:
                attempt += 1
                delay_s = min(self._retry_max_s, self._retry_initial_s * 2 ** (attempt - 1))
                log.warning(
                    "%s failed (attempt %d, database unreachable: %s); retrying in %.1f s",
                    what,
                    attempt,
                    redact(str(error).strip(), extra_secrets=_password(self._url)),
                    delay_s,
                )
                await asyncio.sleep(delay_s)


def _answer(request_id: UUID, row: tuple[Any, ...]) -> ProvisioningAcknowledged:
    decided_at, outcome, reason, seats_taken, seats_total = row
    return ProvisioningAcknowledged(
        request_id=request_id,
        # The session's time zone may be any: the answer is republished exactly as first sent.
        decided_at=decided_at.astimezone(UTC),
        outcome=outcome,
        reason=reason,
        seats_taken=seats_taken,
        seats_total=seats_total,
    )


def _password(url: str) -> tuple[str, ...]:
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return ()
    return (str(password),) if password else ()
