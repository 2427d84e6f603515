"""``AccountRegistry`` over the accounts tables and ``tessie_tokens``, through ``tc_db``.

The pool's sessions are read-only by default (the api mostly reads); each change here runs in a
transaction that opts in to writing, and ``tc_db`` does the rest (its own transaction nests as a
savepoint). What the customer changes is decided and written by ``tc_db``, the same code that
tc-admin uses.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tc_api.adapters.postgres import pooled_connection
from tc_api.domain import AccountView, TokenState
from tc_common.events.accounts import AccountChanged, TessieTokenChanged
from tc_db import accounts, erasure, tokens
from tc_db.erasure import ErasureRequested
from tc_db.export import AccountArchive
from tc_db.tokens import Registered
from tc_vault import SealedToken

REVOKED_BY_CUSTOMER = "revoked by the customer"


class PostgresAccountRegistry:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection[Any]]:
        async with pooled_connection(self._pool) as conn, conn.transaction():
            await conn.execute("SET TRANSACTION READ WRITE")
            # A row locked by tc-admin must not hold the request for the statement timeout.
            await conn.execute("SET LOCAL lock_timeout = '5s'")
            yield conn

    async def account(self, account_id: UUID) -> AccountView:
        async with pooled_connection(self._pool) as conn:
            event = await accounts.account_event(conn, account_id)
            token = await tokens.token_status(conn, account_id)
        return AccountView(
            account_id=event.account_id,
            email=event.email,
            state=event.state,
            vehicle_ids=event.vehicle_ids,
            created_at=event.created_at.astimezone(UTC),
            token=None
            if token is None
            else TokenState(
                token_id=token.token_id,
                registered_at=token.registered_at.astimezone(UTC),
                revoked_at=token.revoked_at.astimezone(UTC) if token.revoked_at else None,
                vehicle_ids=token.vehicle_ids,
            ),
        )

    async def register_token(
        self, sealed: SealedToken, vehicle_ids: tuple[str, ...], at: datetime
    ) -> Registered:
        async with self._writing() as conn:
            return await tokens.register_token(conn, sealed, vehicle_ids, at=at)

    async def revoke_token(self, account_id: UUID, at: datetime) -> TessieTokenChanged:
        async with self._writing() as conn:
            return await tokens.revoke_token(conn, account_id, at=at, reason=REVOKED_BY_CUSTOMER)

    async def change_email(self, account_id: UUID, email: str, at: datetime) -> AccountChanged:
        async with self._writing() as conn:
            return await accounts.change_email(conn, account_id, email, at=at, by="the customer")

    async def request_erasure(self, account_id: UUID, at: datetime) -> ErasureRequested:
        async with self._writing() as conn:
            return await erasure.request_erasure(conn, account_id, at=at)

    async def export(self, account_id: UUID, at: datetime) -> AsyncIterator[bytes]:
        # The connection is held while the archive streams out, its snapshot with it.
        async with pooled_connection(self._pool) as conn:
            archive = AccountArchive(conn, account_id, at=at)
            await archive.open()
            async for chunk in archive.chunks():
                yield chunk
