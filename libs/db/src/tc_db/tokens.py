"""The one writer of ``tessie_tokens`` (migration 0011): each account's Tessie token, sealed.

Only ciphertext comes in (``tc_vault.SealedToken``) and only ciphertext is stored and returned.
Like ``tc_db.accounts``, every mutation is one transaction over the caller's connection, takes
the moment of the change as an argument and returns what to publish, built from the rows after
the change: ``TessieTokenChanged`` on accounts.tessie_tokens.v1 (and ``AccountChanged`` when a
registration linked vehicles).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from tc_common.events.accounts import AccountChanged, SealedTokenRecord, TessieTokenChanged
from tc_db import accounts
from tc_db.accounts import AccountError, AccountNotFoundError
from tc_vault import SealedToken

REGISTERED_BY_CUSTOMER = "registered by the customer"


class TokenNotFoundError(AccountError):
    """The account has never registered a Tessie token."""


@dataclass(frozen=True)
class Registered:
    """A registration's outcome: the token's event and the account's (vehicles linked)."""

    token: TessieTokenChanged
    account: AccountChanged


@dataclass(frozen=True)
class TokenStatus:
    """An account's token as people see it: never the ciphertext."""

    token_id: UUID
    registered_at: datetime
    revoked_at: datetime | None
    vehicle_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredToken:
    """A registered token's row, for key rotation."""

    account_id: UUID
    token_id: UUID
    kek_version: int
    sealed: SealedToken


async def _row(conn: AsyncConnection[Any], account_id: UUID, lock: bool = False) -> Any:
    query = "SELECT * FROM tessie_tokens WHERE account_id = %s" + (" FOR UPDATE" if lock else "")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), (account_id,))
        return await cur.fetchone()


def _event(row: dict[str, Any], reason: str, at: datetime) -> TessieTokenChanged:
    sealed = None
    if row["sealed"] is not None:
        sealed = SealedTokenRecord.model_validate(
            SealedToken.from_bytes(bytes(row["sealed"])).to_json_dict()
        )
    return TessieTokenChanged(
        account_id=row["account_id"],
        token_id=row["token_id"],
        status="registered" if row["revoked_at"] is None else "revoked",
        sealed_token=sealed,
        vehicle_ids=tuple(row["vehicle_ids"]),
        changed_at=at,
        reason=reason,
    )


async def token_status(conn: AsyncConnection[Any], account_id: UUID) -> TokenStatus | None:
    row = await _row(conn, account_id)
    if row is None:
        return None
    return TokenStatus(
        token_id=row["token_id"],
        registered_at=row["registered_at"],
        revoked_at=row["revoked_at"],
        vehicle_ids=tuple(row["vehicle_ids"]),
    )


async def register_token(
    conn: AsyncConnection[Any],
    sealed: SealedToken,
    vehicle_ids: tuple[str, ...],
    *,
    at: datetime,
    reason: str = REGISTERED_BY_CUSTOMER,
) -> Registered:
    """Make ``sealed`` the account's token (replacing any earlier one) and link the vehicles
    Tessie listed for it to the account, in one transaction. Refused, changing nothing, when
    the account may not change or a vehicle belongs to another account."""
    account_id = sealed.account_id
    vins = tuple(sorted({accounts.checked_vehicle_id(v) for v in vehicle_ids}))
    async with conn.transaction():
        account = await _account_event_after_links(conn, account_id, vins, at)
        await conn.execute(
            b"INSERT INTO tessie_tokens (account_id, token_id, kek_version, sealed, vehicle_ids, "
            b"registered_at, updated_at, revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, NULL) "
            b"ON CONFLICT (account_id) DO UPDATE SET token_id = EXCLUDED.token_id, "
            b"kek_version = EXCLUDED.kek_version, sealed = EXCLUDED.sealed, "
            b"vehicle_ids = EXCLUDED.vehicle_ids, registered_at = EXCLUDED.registered_at, "
            b"updated_at = EXCLUDED.updated_at, revoked_at = NULL",
            (
                account_id,
                sealed.token_id,
                sealed.kek_version,
                sealed.to_bytes(),
                list(vins),
                at,
                at,
            ),
        )
        row = await _row(conn, account_id)
        return Registered(token=_event(row, reason, at), account=account)


async def _account_event_after_links(
    conn: AsyncConnection[Any], account_id: UUID, vins: tuple[str, ...], at: datetime
) -> AccountChanged:
    # Nested in the caller's transaction (a savepoint): a refused link undoes the whole
    # registration. Only an active account may register (link_vehicles checks it).
    return await accounts.link_vehicles(
        conn, account_id, vins, at=at, by="the customer's Tessie token"
    )


async def revoke_token(
    conn: AsyncConnection[Any], account_id: UUID, *, at: datetime, reason: str
) -> TessieTokenChanged:
    """Revoke the account's token: its ciphertext is erased, its id and times kept. Idempotent
    (a revoked token keeps its first revocation time and is reported again, so a revocation
    whose publish failed can be published by repeating it)."""
    async with conn.transaction():
        if await _one_account(conn, account_id) is None:
            raise AccountNotFoundError(f"no account {account_id}")
        row = await _row(conn, account_id, lock=True)
        if row is None:
            raise TokenNotFoundError(f"account {account_id} has no Tessie token")
        if row["revoked_at"] is None:
            await conn.execute(
                b"UPDATE tessie_tokens SET sealed = NULL, kek_version = NULL, "
                b"revoked_at = GREATEST(registered_at, %s), "
                b"updated_at = GREATEST(registered_at, %s) WHERE account_id = %s",
                (at, at, account_id),
            )
            row = await _row(conn, account_id)
        return _event(row, reason, at)


async def _one_account(conn: AsyncConnection[Any], account_id: UUID) -> Any:
    cur = await conn.execute(b"SELECT 1 FROM accounts WHERE account_id = %s", (account_id,))
    return await cur.fetchone()


async def tokens_to_rewrap(conn: AsyncConnection[Any], current_version: int) -> list[StoredToken]:
    """The registered tokens wrapped by another key version than ``current_version``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            b"SELECT account_id, token_id, kek_version, sealed FROM tessie_tokens "
            b"WHERE sealed IS NOT NULL AND (kek_version < %s OR kek_version > %s) "
            b"ORDER BY account_id",
            (current_version, current_version),
        )
        return [
            StoredToken(
                account_id=r["account_id"],
                token_id=r["token_id"],
                kek_version=r["kek_version"],
                sealed=SealedToken.from_bytes(bytes(r["sealed"])),
            )
            for r in await cur.fetchall()
        ]


async def store_rewrapped(
    conn: AsyncConnection[Any], before: StoredToken, rewrapped: SealedToken, *, at: datetime
) -> TessieTokenChanged | None:
    """Replace ``before``'s record by ``rewrapped`` (the same token, its data key wrapped by
    another key version) only if the row still holds ``before``: a token re-registered or
    revoked meanwhile wins, and None is returned (nothing to publish)."""
    if (rewrapped.account_id, rewrapped.token_id) != (before.account_id, before.token_id):
        raise ValueError("a re-wrapped record must keep its account and token id")
    async with conn.transaction():
        cur = await conn.execute(
            b"UPDATE tessie_tokens SET kek_version = %s, sealed = %s, "
            b"updated_at = GREATEST(registered_at, %s) "
            b"WHERE account_id = %s AND token_id = %s AND kek_version = %s "
            b"AND revoked_at IS NULL",
            (
                rewrapped.kek_version,
                rewrapped.to_bytes(),
                at,
                before.account_id,
                before.token_id,
                before.kek_version,
            ),
        )
        if cur.rowcount != 1:
            return None
        row = await _row(conn, before.account_id)
        return _event(row, f"re-wrapped (key {rewrapped.kek_version})", at)


async def current_token_event(
    conn: AsyncConnection[Any], account_id: UUID, *, at: datetime
) -> TessieTokenChanged | None:
    """The account's token state as an event, to publish again; None without a token."""
    row = await _row(conn, account_id)
    return None if row is None else _event(row, "republished by an operator", at)
