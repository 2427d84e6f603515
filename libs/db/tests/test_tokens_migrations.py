"""The Tessie tokens' table (0011) against a real PostgreSQL: whoever writes it, a registered
token has its ciphertext and key version and a revoked one has neither, one token per account,
and the index rotation reads with is there."""

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from tc_db import apply_migrations

from .cluster import connect, rows

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

INSERT = (
    "INSERT INTO tessie_tokens (account_id, token_id, kek_version, sealed, registered_at, "
    "updated_at, revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


async def _account(conn: psycopg.AsyncConnection) -> uuid.UUID:
    account_id = uuid.uuid4()
    email = f"{account_id}@example.test"
    await conn.execute(
        "INSERT INTO accounts (account_id, email, email_casefold, state, created_at, changed_at) "
        "VALUES (%s, %s, %s, 'active', %s, %s)",
        (account_id, email, email, AT, AT),
    )
    return account_id


@pytest.mark.parametrize(
    ("kek_version", "sealed", "revoked_at"),
    [(1, None, None), (None, b"ciphertext", None), (1, b"ciphertext", AT), (None, None, None)],
    ids=[
        "registered-without-ciphertext",
        "ciphertext-without-version",
        "revoked-with-ciphertext",
        "neither-registered-nor-revoked",
    ],
)
async def test_a_token_row_is_either_registered_with_its_ciphertext_or_revoked_without(
    database_url: str, kek_version: int | None, sealed: bytes | None, revoked_at: datetime | None
) -> None:
    async with await connect(database_url) as conn:
        await apply_migrations(conn)
        account_id = await _account(conn)
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute(
                INSERT, (account_id, uuid.uuid4(), kek_version, sealed, AT, AT, revoked_at)
            )


async def test_one_token_per_account(database_url: str) -> None:
    async with await connect(database_url) as conn:
        await apply_migrations(conn)
        account_id = await _account(conn)
        await conn.execute(INSERT, (account_id, uuid.uuid4(), 1, b"ciphertext", AT, AT, None))
        with pytest.raises(psycopg.errors.UniqueViolation):
            await conn.execute(INSERT, (account_id, uuid.uuid4(), 1, b"other", AT, AT, None))


async def test_rotation_finds_the_other_key_versions_through_an_index(database_url: str) -> None:
    async with await connect(database_url) as conn:
        await apply_migrations(conn)
        indexes = await rows(
            conn, "SELECT indexdef FROM pg_indexes WHERE tablename = 'tessie_tokens'"
        )
    assert any("(kek_version)" in i and "sealed IS NOT NULL" in i for (i,) in indexes)
