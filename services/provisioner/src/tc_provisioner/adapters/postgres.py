"""The provisioner's decisions in PostgreSQL (table ``provisioning_decisions``, migration 0009;
the operator's issued invitations, ``invitations``, migration 0012, are read with them):
the one arbiter of every provisioner process, however many run and however long ago they
decided."""

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg

from tc_common.consuming import FailurePolicy
from tc_common.events import AccountChanged, ProvisioningAcknowledged, ProvisioningRequested
from tc_db import accounts, apply_migrations
from tc_db.pool import TRANSIENT_ERRORS, PostgresPool
from tc_provisioner.domain import Decision, Snapshot, seat_key
from tc_provisioner.ports import Policy

log = logging.getLogger(__name__)

T = TypeVar("T")

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
        ),
        (
            SELECT expires_at FROM invitations
            WHERE invitation_sha256 = %(digest)s AND withdrawn_at IS NULL
        )
"""

_INSERT = """
    INSERT INTO provisioning_decisions (
        request_id, outcome, reason, seats_taken, seats_total, decided_at,
        email_casefold, device_casefold, invitation_sha256
    ) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


class PostgresProvisioningDecisions(PostgresPool):
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
        super().__init__(
            url,
            name="tc-provisioner",
            pool_max_size=pool_max_size,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
            connect_timeout_s=connect_timeout_s,
        )
        self._lock_timeout_ms = round(lock_timeout_s * 1000)

    async def start(self) -> None:
        await self.open_pool()

        async def migrate() -> list[str]:
            async with self.connection() as conn:
                # The telemetry retention policy is the store's to set: leave it alone.
                return await apply_migrations(conn, manage_retention=False)

        # Only the start waits out an outage here; decisions are retried by the consumer.
        applied = await self.retrying("apply migrations", migrate)
        log.info("database schema ready (applied now: %s)", ", ".join(applied) or "none")

    async def decide(self, request: ProvisioningRequested, policy: Policy) -> Decision:
        email, device = seat_key(request)
        digest = request.invitation_sha256
        async with self.connection() as conn, conn.transaction():
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
            seats_taken, seat_taken, invitation_used, invitation_expires_at = counts
            decision = policy(
                Snapshot(
                    earlier=_answer(request.request_id, earlier) if earlier else None,
                    seats_taken=int(seats_taken),
                    seat_taken=bool(seat_taken),
                    invitation_used=bool(invitation_used),
                    invitation_expires_at=invitation_expires_at,
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

    async def open_account(self, email: str, *, at: datetime) -> AccountChanged:
        async with self.connection() as conn:
            return await accounts.create_account(conn, email, at=at)


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
