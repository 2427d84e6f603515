"""The provisioner's table (0009) against a real PostgreSQL: the constraints hold whoever writes.

The provisioner decides one request at a time under a table lock; these tests write around it,
straight in SQL, to show that the database itself refuses a second seat for one device, a second
use of one invitation, and a decision that does not say what it took.
"""

import hashlib
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from tc_common.events import ProvisioningAcknowledged
from tc_db import apply_migrations, load_migrations

from .cluster import connect, rows

DIGEST = hashlib.sha256(b"INVITE-1").hexdigest()
OTHER_DIGEST = hashlib.sha256(b"INVITE-2").hexdigest()
DECIDED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

INSERT = (
    "INSERT INTO provisioning_decisions (request_id, outcome, reason, seats_taken, seats_total, "
    "decided_at, email_casefold, device_casefold, invitation_sha256) "
    "VALUES (%s, %s, 'why', 1, 10, %s, %s, %s, %s)"
)


async def decide(
    conn: psycopg.AsyncConnection,
    outcome: str,
    email: str | None,
    device: str | None,
    digest: str | None,
    request_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        INSERT, (request_id or uuid.uuid4(), outcome, DECIDED_AT, email, device, digest)
    )


def test_the_table_is_one_file_for_both_storage_modes() -> None:
    (migration,) = [m for m in load_migrations() if m.name == "0009_provisioning"]
    assert migration.timescaledb_sql is None


@pytest.mark.integration
class TestProvisioningDecisions:
    async def test_a_decision_row_holds_every_field_of_its_answer(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            found = await rows(
                conn,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'provisioning_decisions'",
            )
        assert set(ProvisioningAcknowledged.model_fields) - {"schema_version"} <= {
            name for (name,) in found
        }

    async def test_one_seat_per_email_and_device(self, database_url: str) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            await decide(conn, "accepted", "ada@example.org", "pixel-8", DIGEST)
            with pytest.raises(psycopg.errors.UniqueViolation, match="one_seat_per_device"):
                await decide(conn, "accepted", "ada@example.org", "pixel-8", OTHER_DIGEST)
            # Another device of the same person is another seat.
            await decide(conn, "accepted", "ada@example.org", "ipad", OTHER_DIGEST)

    async def test_one_use_per_invitation_while_rejections_use_up_nothing(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            for _ in range(3):
                await decide(conn, "rejected", None, None, None)
            await decide(conn, "accepted", "ada@example.org", "pixel-8", DIGEST)
            with pytest.raises(psycopg.errors.UniqueViolation, match="one_use_per_invitation"):
                await decide(conn, "accepted", "bob@example.org", "pixel-8", DIGEST)

    async def test_a_request_id_is_decided_once(self, database_url: str) -> None:
        request_id = uuid.uuid4()
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            await decide(conn, "rejected", None, None, None, request_id=request_id)
            with pytest.raises(psycopg.errors.UniqueViolation):
                await decide(conn, "rejected", None, None, None, request_id=request_id)

    @pytest.mark.parametrize(
        ("outcome", "email", "device", "digest"),
        [
            pytest.param("accepted", "ada@example.org", "pixel-8", None, id="accepted-no-invite"),
            pytest.param("accepted", None, "pixel-8", DIGEST, id="accepted-no-seat"),
            pytest.param(
                "rejected", "ada@example.org", "pixel-8", None, id="rejected-keeps-person"
            ),
            pytest.param("rejected", None, None, DIGEST, id="rejected-uses-invitation"),
            pytest.param("accepted", "a@example.org", "p", "INVITE-1", id="code-not-digest"),
            pytest.param("maybe", None, None, None, id="unknown-outcome"),
        ],
    )
    async def test_a_decision_must_say_exactly_what_it_took(
        self,
        database_url: str,
        outcome: str,
        email: str | None,
        device: str | None,
        digest: str | None,
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            with pytest.raises(psycopg.errors.CheckViolation):
                await decide(conn, outcome, email, device, digest)
