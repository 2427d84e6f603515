"""The one writer of the accounts tables (migration 0010): accounts, their vehicles, API keys.

Every mutation is one transaction over the caller's connection, takes the moment of the change
as an argument (the caller's clock, never ``datetime.now`` here), and returns the event that
tells the rest of the system, built from the rows *after* the change. Mutations are idempotent:
repeating one changes nothing and returns the same current state, so a caller whose publish
failed after the commit can simply run it again and publish what it gets.

An API key is stored only as its SHA-256 digest; ``issue_key`` returns the key itself once.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from tc_common.events.accounts import (
    VEHICLE_ID_PATTERN,
    AccountChanged,
    ApiKeyChanged,
    api_key_sha256,
    new_api_key,
)

EMAIL_MAX = 254
LABEL_MAX = 64
_VEHICLE_ID = re.compile(VEHICLE_ID_PATTERN)


class AccountError(Exception):
    """A change refused: the message says why, in words an operator can act on."""


class InvalidInputError(AccountError):
    pass


class AccountNotFoundError(AccountError):
    pass


class KeyNotFoundError(AccountError):
    pass


class VehicleOwnedElsewhereError(AccountError):
    pass


class AccountNotChangeableError(AccountError):
    """The account's state forbids the change (erased, being erased, suspended)."""


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: ``key`` is shown once and is stored nowhere."""

    key: str
    event: ApiKeyChanged


@dataclass(frozen=True)
class AccountSummary:
    account_id: UUID
    email: str
    state: str
    created_at: datetime
    changed_at: datetime
    vehicles: int
    active_keys: int


@dataclass(frozen=True)
class KeySummary:
    """A key as people see it: never its digest."""

    key_id: UUID
    label: str
    issued_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


# --- decisions (pure) ---------------------------------------------------------------------


def normalised_email(email: str) -> tuple[str, str]:
    """The address as kept and its case-folded form (one account per person); refused with
    InvalidInputError when it is no address."""
    kept = email.strip()
    local, at, domain = kept.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in kept):
        raise InvalidInputError(f"not an email address: {email!r}")
    if len(kept) > EMAIL_MAX:
        raise InvalidInputError(f"an email address has at most {EMAIL_MAX} characters")
    return kept, kept.casefold()


def checked_vehicle_id(vin: str) -> str:
    if not _VEHICLE_ID.fullmatch(vin):
        raise InvalidInputError(f"not a vehicle id (1-32 letters and digits): {vin!r}")
    return vin


def checked_label(label: str) -> str:
    if len(label) > LABEL_MAX:
        raise InvalidInputError(f"a key's label has at most {LABEL_MAX} characters")
    return label


def _changeable(account_id: UUID, state: str, allowed: tuple[str, ...], what: str) -> None:
    if state not in allowed:
        raise AccountNotChangeableError(f"account {account_id} is {state}: cannot {what}")


# --- reads ----------------------------------------------------------------------------------


async def _one(conn: AsyncConnection[Any], query: str, params: tuple[Any, ...]) -> Any:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchone()


async def _locked_account(conn: AsyncConnection[Any], account_id: UUID) -> dict[str, Any]:
    row = await _one(conn, "SELECT * FROM accounts WHERE account_id = %s FOR UPDATE", (account_id,))
    if row is None:
        raise AccountNotFoundError(f"no account {account_id}")
    return dict(row)


async def _account_event(
    conn: AsyncConnection[Any], account_id: UUID, reason: str
) -> AccountChanged:
    row = await _one(conn, "SELECT * FROM accounts WHERE account_id = %s", (account_id,))
    if row is None:
        raise AccountNotFoundError(f"no account {account_id}")
    cur = await conn.execute(
        b"SELECT vehicle_id FROM account_vehicles WHERE account_id = %s ORDER BY vehicle_id",
        (account_id,),
    )
    vehicles = tuple(v for (v,) in await cur.fetchall())
    return AccountChanged(
        account_id=row["account_id"],
        email=row["email"],
        state=row["state"],
        vehicle_ids=vehicles,
        created_at=row["created_at"],
        changed_at=row["changed_at"],
        reason=reason,
    )


async def _key_event(conn: AsyncConnection[Any], key_id: UUID) -> ApiKeyChanged:
    row = await _one(conn, "SELECT * FROM api_keys WHERE key_id = %s", (key_id,))
    if row is None:
        raise KeyNotFoundError(f"no API key {key_id}")
    return ApiKeyChanged(
        key_id=row["key_id"],
        account_id=row["account_id"],
        key_sha256=row["key_sha256"],
        label=row["label"],
        issued_at=row["issued_at"],
        revoked_at=row["revoked_at"],
    )


async def list_accounts(conn: AsyncConnection[Any]) -> list[AccountSummary]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            b"SELECT a.account_id, a.email, a.state, a.created_at, a.changed_at, "
            b"(SELECT count(*) FROM account_vehicles v WHERE v.account_id = a.account_id) "
            b"AS vehicles, "
            b"(SELECT count(*) FROM api_keys k WHERE k.account_id = a.account_id "
            b"AND k.revoked_at IS NULL) AS active_keys "
            b"FROM accounts a ORDER BY a.created_at, a.account_id"
        )
        return [AccountSummary(**row) for row in await cur.fetchall()]


async def list_keys(conn: AsyncConnection[Any], account_id: UUID) -> list[KeySummary]:
    async with conn.transaction():
        if await _one(conn, "SELECT 1 FROM accounts WHERE account_id = %s", (account_id,)) is None:
            raise AccountNotFoundError(f"no account {account_id}")
        async with conn.cursor(row_factory=dict_row) as cur:
            # The digest is left out on purpose: this is what people read.
            await cur.execute(
                b"SELECT key_id, label, issued_at, revoked_at, last_used_at FROM api_keys "
                b"WHERE account_id = %s ORDER BY issued_at, key_id",
                (account_id,),
            )
            return [KeySummary(**row) for row in await cur.fetchall()]


async def current_events(
    conn: AsyncConnection[Any], account_id: UUID
) -> tuple[AccountChanged, list[ApiKeyChanged]]:
    """The account's and its keys' current state as events: what to publish again when an
    earlier publish did not reach the broker (the topics are compacted by id, so a repeat is
    harmless)."""
    async with conn.transaction():
        account = await _account_event(conn, account_id, "republished by an operator")
        cur = await conn.execute(
            b"SELECT key_id FROM api_keys WHERE account_id = %s ORDER BY issued_at, key_id",
            (account_id,),
        )
        keys = [await _key_event(conn, key_id) for (key_id,) in await cur.fetchall()]
    return account, keys


# --- mutations ------------------------------------------------------------------------------


async def create_account(conn: AsyncConnection[Any], email: str, *, at: datetime) -> AccountChanged:
    """The account of ``email``: a new one, or the existing non-erased one of the same
    case-folded address (idempotent; one account per person)."""
    kept, casefold = normalised_email(email)
    async with conn.transaction():
        # ON CONFLICT on the partial unique index: two operators creating the same account at
        # once end with one row, not an error.
        cur = await conn.execute(
            b"INSERT INTO accounts (account_id, email, email_casefold, state, created_at, "
            b"changed_at) VALUES (%s, %s, %s, 'active', %s, %s) "
            b"ON CONFLICT (email_casefold) WHERE state <> 'erased' DO NOTHING",
            (uuid.uuid4(), kept, casefold, at, at),
        )
        created = cur.rowcount == 1
        row = await _one(
            conn,
            "SELECT account_id FROM accounts WHERE email_casefold = %s AND state <> 'erased'",
            (casefold,),
        )
        return await _account_event(
            conn,
            row["account_id"],
            "created by an operator" if created else "already existed; state republished",
        )


async def link_vehicle(
    conn: AsyncConnection[Any], account_id: UUID, vin: str, *, at: datetime
) -> AccountChanged:
    """Give the account the vehicle; refused when another account owns it (idempotent)."""
    vin = checked_vehicle_id(vin)
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        _changeable(account_id, account["state"], ("active", "suspended"), "link a vehicle")
        cur = await conn.execute(
            b"INSERT INTO account_vehicles (vehicle_id, account_id, linked_at) "
            b"VALUES (%s, %s, %s) ON CONFLICT (vehicle_id) DO NOTHING",
            (vin, account_id, at),
        )
        if cur.rowcount == 1:
            await _touch(conn, account_id, at)
        else:
            owner = await _one(
                conn, "SELECT account_id FROM account_vehicles WHERE vehicle_id = %s", (vin,)
            )
            if owner is not None and owner["account_id"] != account_id:
                raise VehicleOwnedElsewhereError(
                    f"vehicle {vin} belongs to another account; unlink it there first"
                )
        return await _account_event(conn, account_id, "a vehicle linked by an operator")


async def link_vehicles(
    conn: AsyncConnection[Any],
    account_id: UUID,
    vins: tuple[str, ...],
    *,
    at: datetime,
    by: str,
) -> AccountChanged:
    """Give an active account every vehicle of ``vins`` at once (those it has stay), or none
    when one of them belongs to another account. ``by`` says who linked them, for the event."""
    vins = tuple(checked_vehicle_id(v) for v in vins)
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        _changeable(account_id, account["state"], ("active",), "link vehicles")
        cur = await conn.execute(
            b"SELECT vehicle_id FROM account_vehicles WHERE vehicle_id = ANY(%s) "
            b"AND account_id <> %s ORDER BY vehicle_id",
            (list(vins), account_id),
        )
        taken = [v for (v,) in await cur.fetchall()]
        if taken:
            raise VehicleOwnedElsewhereError(
                f"vehicle {taken[0]} belongs to another account; the operator can unlink it there"
            )
        linked = 0
        for vin in vins:
            cur = await conn.execute(
                b"INSERT INTO account_vehicles (vehicle_id, account_id, linked_at) "
                b"VALUES (%s, %s, %s) ON CONFLICT (vehicle_id) DO NOTHING",
                (vin, account_id, at),
            )
            linked += cur.rowcount
        if linked:
            await _touch(conn, account_id, at)
        return await _account_event(conn, account_id, f"vehicles linked by {by}")


async def unlink_vehicle(
    conn: AsyncConnection[Any], account_id: UUID, vin: str, *, at: datetime
) -> AccountChanged:
    """Take the vehicle from the account (idempotent); another account's vehicle is refused."""
    vin = checked_vehicle_id(vin)
    async with conn.transaction():
        await _locked_account(conn, account_id)
        cur = await conn.execute(
            b"DELETE FROM account_vehicles WHERE vehicle_id = %s AND account_id = %s",
            (vin, account_id),
        )
        if cur.rowcount == 1:
            await _touch(conn, account_id, at)
        elif (
            await _one(conn, "SELECT 1 FROM account_vehicles WHERE vehicle_id = %s", (vin,))
            is not None
        ):
            raise VehicleOwnedElsewhereError(
                f"vehicle {vin} belongs to another account, not this one"
            )
        return await _account_event(conn, account_id, "a vehicle unlinked by an operator")


class EmailTakenError(AccountError):
    pass


async def change_email(
    conn: AsyncConnection[Any], account_id: UUID, email: str, *, at: datetime, by: str
) -> AccountChanged:
    """Rectify the account's address (idempotent); refused when another account has it."""
    kept, casefold = normalised_email(email)
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        _changeable(account_id, account["state"], ("active", "suspended"), "change its email")
        if account["email"] != kept:
            taken = await _one(
                conn,
                "SELECT 1 FROM accounts WHERE email_casefold = %s AND state <> 'erased' "
                "AND account_id <> %s",
                (casefold, account_id),
            )
            if taken is not None:
                raise EmailTakenError("another account has that email address")
            await conn.execute(
                b"UPDATE accounts SET email = %s, email_casefold = %s, "
                b"changed_at = GREATEST(created_at, %s) WHERE account_id = %s",
                (kept, casefold, at, account_id),
            )
        return await _account_event(conn, account_id, f"email rectified by {by}")


async def account_event(conn: AsyncConnection[Any], account_id: UUID) -> AccountChanged:
    """The account's current state as an event (for reading; ``reason`` says so)."""
    return await _account_event(conn, account_id, "read")


async def suspend(conn: AsyncConnection[Any], account_id: UUID, *, at: datetime) -> AccountChanged:
    return await _set_state(conn, account_id, "suspended", at, "suspended by an operator")


async def resume(conn: AsyncConnection[Any], account_id: UUID, *, at: datetime) -> AccountChanged:
    return await _set_state(conn, account_id, "active", at, "resumed by an operator")


async def _set_state(
    conn: AsyncConnection[Any], account_id: UUID, state: str, at: datetime, reason: str
) -> AccountChanged:
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        # Only between active and suspended: erasure has its own path, and is not undone here.
        _changeable(account_id, account["state"], ("active", "suspended"), f"make it {state}")
        if account["state"] != state:
            await conn.execute(
                b"UPDATE accounts SET state = %s, changed_at = GREATEST(created_at, %s) "
                b"WHERE account_id = %s",
                (state, at, account_id),
            )
        return await _account_event(conn, account_id, reason)


async def _touch(conn: AsyncConnection[Any], account_id: UUID, at: datetime) -> None:
    # GREATEST: a clock behind the account's creation must not break changed_at >= created_at.
    await conn.execute(
        b"UPDATE accounts SET changed_at = GREATEST(created_at, %s) WHERE account_id = %s",
        (at, account_id),
    )


async def _insert_key(
    conn: AsyncConnection[Any], account_id: UUID, digest: str, label: str, at: datetime
) -> UUID:
    key_id = uuid.uuid4()
    await conn.execute(
        b"INSERT INTO api_keys (key_id, account_id, key_sha256, label, issued_at) "
        b"VALUES (%s, %s, %s, %s, %s)",
        (key_id, account_id, digest, label, at),
    )
    return key_id


async def issue_key(
    conn: AsyncConnection[Any], account_id: UUID, *, label: str = "", at: datetime
) -> IssuedKey:
    """A new key for an active account; only its digest is stored, the key is returned once."""
    label = checked_label(label)
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        _changeable(account_id, account["state"], ("active",), "issue a key")
        key = new_api_key()
        key_id = await _insert_key(conn, account_id, api_key_sha256(key), label, at)
        return IssuedKey(key=key, event=await _key_event(conn, key_id))


MIN_CHOSEN_KEY_LENGTH = 16


async def register_key(
    conn: AsyncConnection[Any], account_id: UUID, key: str, *, label: str = "", at: datetime
) -> ApiKeyChanged:
    """Register a key chosen elsewhere (``make run``'s ``API_KEY``, or the key it generated for
    a run directory on an earlier start) for an active account; only its digest is stored.
    Idempotent: the same key again returns its current state; a key another account holds is
    refused."""
    label = checked_label(label)
    if len(key) < MIN_CHOSEN_KEY_LENGTH:
        raise InvalidInputError(f"a key has at least {MIN_CHOSEN_KEY_LENGTH} characters")
    digest = api_key_sha256(key)
    async with conn.transaction():
        account = await _locked_account(conn, account_id)
        _changeable(account_id, account["state"], ("active",), "register a key")
        held = await _one(
            conn, "SELECT key_id, account_id FROM api_keys WHERE key_sha256 = %s", (digest,)
        )
        if held is None:
            key_id = await _insert_key(conn, account_id, digest, label, at)
        elif held["account_id"] != account_id:
            raise InvalidInputError("that key is held by another account; choose another")
        else:
            key_id = held["key_id"]
        return await _key_event(conn, key_id)


async def revoke_key(conn: AsyncConnection[Any], key_id: UUID, *, at: datetime) -> ApiKeyChanged:
    """Revoke the key (idempotent: a revoked key keeps its first revocation time)."""
    async with conn.transaction():
        await conn.execute(
            b"UPDATE api_keys SET revoked_at = GREATEST(issued_at, %s) "
            b"WHERE key_id = %s AND revoked_at IS NULL",
            (at, key_id),
        )
        return await _key_event(conn, key_id)
