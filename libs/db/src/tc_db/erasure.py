"""GDPR erasure in the database: request, erase a vehicle's rows, record steps, finish.

An erasure is a small saga over the bus (``tc_common.events.erasure``): ``request_erasure``
marks the account ``erasure_pending`` (its keys revoked at once) and opens the audit record
(``erasures``); each service erases its part and reports a step; the store erases the rows
here (``erase_vehicle_rows``) and, once every step is in (``record_step``), ``finish_erasure``
blanks the account. Every function is idempotent and takes the moment as an argument, so a
service that stops halfway simply does the same again.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus

from tc_common.events.accounts import AccountChanged, ApiKeyChanged
from tc_common.events.erasure import ERASURE_STEPS, ErasureStep
from tc_db.accounts import (
    AccountNotChangeableError,
    _account_event,
    _key_event,
    _locked_account,
)

# Every table that holds a vehicle's data, keyed by ``vehicle_id``: the telemetry hypertable
# (its hourly aggregate follows it), the newest-per-vehicle tables and their histories.
VEHICLE_TABLES: tuple[str, ...] = (
    "telemetry",
    "vehicle_activity",
    "drives",
    "charges",
    "behaviour_profiles",
    "behaviour_profile_history",
    "charge_plans",
    "charge_plan_history",
    "vehicles",
)
# Tables of the account itself that go with the erasure (the account row stays, blanked).
ACCOUNT_TABLES: tuple[str, ...] = ("tessie_tokens", "account_vehicles", "api_keys")


@dataclass(frozen=True)
class ErasureRequested:
    """What to publish: the account now ``erasure_pending`` (with its VINs) and its keys
    revoked. ``requested_at`` names this erasure in the steps that follow."""

    account: AccountChanged
    keys: list[ApiKeyChanged]
    requested_at: datetime


@dataclass(frozen=True)
class ErasureFinished:
    """The account blanked (``erased``), and the keys that were its own on the bus."""

    account: AccountChanged
    key_ids: list[UUID] = field(default_factory=list)


async def request_erasure(
    conn: AsyncConnection[Any], account_id: UUID, *, at: datetime
) -> ErasureRequested:
    """Mark the account ``erasure_pending`` and revoke its keys; idempotent (a pending one
    gets its first request back; an erased one is refused: nothing is left to erase)."""
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        if account["state"] == "erased":
            raise AccountNotChangeableError(f"account {account_id} is erased already")
        if account["state"] != "erasure_pending":
            await conn.execute(
                b"UPDATE accounts SET state = 'erasure_pending', "
                b"changed_at = GREATEST(created_at, %s) WHERE account_id = %s",
                (at, account_id),
            )
            await conn.execute(
                b"UPDATE api_keys SET revoked_at = GREATEST(issued_at, %s) "
                b"WHERE account_id = %s AND revoked_at IS NULL",
                (at, account_id),
            )
        event = await _account_event(conn, account_id, "erasure requested")
        await conn.execute(
            b"INSERT INTO erasures (account_id, requested_at) VALUES (%s, %s) "
            b"ON CONFLICT DO NOTHING",
            (account_id, event.changed_at),
        )
        cur = await conn.execute(
            b"SELECT key_id FROM api_keys WHERE account_id = %s ORDER BY issued_at, key_id",
            (account_id,),
        )
        keys = [await _key_event(conn, key_id) for (key_id,) in await cur.fetchall()]
    return ErasureRequested(account=event, keys=keys, requested_at=event.changed_at)


async def erase_vehicle_rows(
    conn: AsyncConnection[Any], vehicle_ids: tuple[str, ...] | list[str]
) -> dict[str, int]:
    """Delete every row of these vehicles, in one transaction; rows deleted per table."""
    removed: dict[str, int] = {}
    if not vehicle_ids:
        return removed
    async with conn.transaction():
        for table in VEHICLE_TABLES:
            cur = await conn.execute(
                sql.SQL("DELETE FROM {} WHERE vehicle_id = ANY(%s)").format(sql.Identifier(table)),
                (list(vehicle_ids),),
            )
            removed[table] = cur.rowcount
    return removed


async def refresh_hourly_aggregate(conn: AsyncConnection[Any]) -> None:
    """With TimescaleDB the hourly aggregate keeps materialised buckets of deleted rows until
    it is refreshed: refresh it whole (outside any transaction). A plain view needs nothing."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        await conn.commit()  # a pooled connection may hold an implicit transaction
    was_autocommit = conn.autocommit
    await conn.set_autocommit(True)
    try:
        cur = await conn.execute(
            b"SELECT 1 FROM pg_matviews WHERE matviewname = 'telemetry_hourly' "
            b"UNION ALL SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
        )
        if len(await cur.fetchall()) == 2:
            await conn.execute(b"CALL refresh_continuous_aggregate('telemetry_hourly', NULL, NULL)")
    finally:
        await conn.set_autocommit(was_autocommit)


async def record_step(
    conn: AsyncConnection[Any],
    account_id: UUID,
    requested_at: datetime,
    step: ErasureStep,
    *,
    finished_at: datetime,
    removed: dict[str, int],
) -> bool:
    """Note a step in the audit record (the first report of a step wins); whether every step
    of the erasure is now in."""
    entry = {step: {"finished_at": finished_at.isoformat(), "removed": removed}}
    async with conn.transaction():
        # A step may report before the request's record exists (another service was quicker
        # than this one's own request handling): the record is created by whichever comes first.
        await conn.execute(
            b"INSERT INTO erasures (account_id, requested_at, steps) VALUES (%s, %s, %s) "
            b"ON CONFLICT (account_id, requested_at) "
            b"DO UPDATE SET steps = %s::jsonb || erasures.steps",
            (account_id, requested_at, json.dumps(entry), json.dumps(entry)),
        )
        cur = await conn.execute(
            b"SELECT steps FROM erasures WHERE account_id = %s AND requested_at = %s",
            (account_id, requested_at),
        )
        row = await cur.fetchone()
    assert row is not None  # just written
    return all(s in row[0] for s in ERASURE_STEPS)


async def finish_erasure(
    conn: AsyncConnection[Any], account_id: UUID, requested_at: datetime, *, at: datetime
) -> ErasureFinished:
    """Blank the account: its vehicles' rows erased again (whatever arrived in flight), its
    token, vehicle links and keys deleted, its provisioning records stripped of email and
    device, its email emptied, state ``erased``; the audit record closed. Idempotent."""
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        cur = await conn.execute(
            b"SELECT vehicle_id FROM account_vehicles WHERE account_id = %s", (account_id,)
        )
        vehicles = [v for (v,) in await cur.fetchall()]
        await erase_vehicle_rows(conn, vehicles)
        cur = await conn.execute(
            b"SELECT key_id FROM api_keys WHERE account_id = %s ORDER BY key_id", (account_id,)
        )
        key_ids = [k for (k,) in await cur.fetchall()]
        for table in ACCOUNT_TABLES:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE account_id = %s").format(sql.Identifier(table)),
                (account_id,),
            )
        if account["email_casefold"]:
            # The seat and the used invitation stay counted (the beta cap and single use hold);
            # who held them does not.
            await conn.execute(
                b"UPDATE provisioning_decisions SET "
                b"email_casefold = 'erased:' || request_id::text, device_casefold = 'erased' "
                b"WHERE outcome = 'accepted' AND email_casefold = %s",
                (account["email_casefold"],),
            )
        await conn.execute(
            b"UPDATE accounts SET email = '', email_casefold = '', state = 'erased', "
            b"changed_at = GREATEST(created_at, %s) WHERE account_id = %s",
            (at, account_id),
        )
        await conn.execute(
            b"UPDATE erasures SET finished_at = COALESCE(finished_at, %s) "
            b"WHERE account_id = %s AND requested_at = %s",
            (at, account_id, requested_at),
        )
        event = await _account_event(conn, account_id, "erased")
    return ErasureFinished(account=event, key_ids=key_ids)
