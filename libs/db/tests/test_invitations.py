"""tc_db.invitations against a real PostgreSQL: codes shown once, kept as digests."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tc_common.events.provisioning import invitation_sha256
from tc_db import apply_migrations, invitations
from tc_db.accounts import InvalidInputError

from .cluster import connect, rows

AT = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)

pytestmark = pytest.mark.integration


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await connect(database_url) as c:
        await apply_migrations(c)
        yield c


async def test_an_issued_code_is_stored_only_as_its_digest_and_open_until_it_expires(
    conn: psycopg.AsyncConnection,
) -> None:
    issued = await invitations.issue_invitation(conn, at=AT, valid_for=timedelta(days=14))
    assert issued.digest == invitation_sha256(issued.code)
    stored = await rows(
        conn, "SELECT * FROM invitations WHERE invitation_sha256 = %s", (issued.digest,)
    )
    assert issued.code not in repr(stored)
    (row,) = [r for r in await invitations.list_invitations(conn) if r.digest == issued.digest]
    assert row.state(AT + timedelta(days=13)) == "open"
    assert row.state(AT + timedelta(days=14)) == "expired"


async def test_a_used_invitation_cannot_be_withdrawn(conn: psycopg.AsyncConnection) -> None:
    issued = await invitations.issue_invitation(conn, at=AT, valid_for=timedelta(days=1))
    await conn.execute(
        "INSERT INTO provisioning_decisions (request_id, outcome, reason, seats_taken,"
        " seats_total, decided_at, email_casefold, device_casefold, invitation_sha256)"
        " VALUES (%s, 'accepted', 'accepted: seat 1 of 100', 1, 100, %s, 'a@b.c', 'ipad', %s)",
        (uuid.uuid4(), AT, issued.digest),
    )
    with pytest.raises(InvalidInputError, match="used already"):
        await invitations.withdraw_invitation(conn, issued.digest[:8], at=AT)
    with pytest.raises(invitations.InvitationNotFoundError):
        await invitations.withdraw_invitation(conn, "0" * 64, at=AT)
