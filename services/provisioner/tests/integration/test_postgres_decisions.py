"""The provisioner's decisions in a real PostgreSQL: the database is the single arbiter.

Two ``PostgresProvisioningDecisions`` on one database, each with its own connection pool, stand
for two provisioner pods during a rolling update (or two processes after a restart).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested, invitation_sha256
from tc_db import invitations
from tc_provisioner.adapters.postgres import FAILURES, PostgresProvisioningDecisions
from tc_provisioner.domain import Decision, Snapshot, decide, is_known_invitation
from tc_provisioner.ports import Policy

from ..support import NOW, request  # noqa: TID252

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CODES = [f"INVITE-{i}" for i in range(8)]
DIGESTS = [invitation_sha256(c) for c in CODES]


def policy_for(r: ProvisioningRequested, *, cap: int, now: datetime) -> Policy:
    def policy(known: Snapshot) -> Decision:
        valid = is_known_invitation(r.invitation_sha256, DIGESTS)
        return decide(r, known, now=now, cap=cap, invitation_valid=valid)

    return policy


@asynccontextmanager
async def provisioner(url: str, **options: float) -> AsyncIterator[PostgresProvisioningDecisions]:
    # A generous pool timeout: the race below queues dozens of decisions on five connections.
    decisions = PostgresProvisioningDecisions(url, connect_timeout_s=60.0, **options)
    await decisions.start()
    try:
        yield decisions
    finally:
        await decisions.close()


async def stored(url: str, query: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(query.encode())
        return await cur.fetchall()


async def test_two_provisioners_racing_share_no_invitation_no_seat_and_not_the_last_seats(
    database_url: str,
) -> None:
    cap = 5
    # Every code is wanted by three different people, and one person's laptop wants them all:
    # more valid requests (32) than codes (8), more codes than seats (5).
    requests = [
        request(code, email=f"person-{i}-{j}@example.org", device="phone")
        for i, code in enumerate(CODES)
        for j in range(3)
    ]
    requests += [request(code, email="same@example.org", device="laptop") for code in CODES]
    requests += [request("GUESSED", email=f"stranger-{j}@example.org") for j in range(3)]
    # The two pods' clocks differ by an hour: an answer decided twice would show it.
    clocks = {"a": NOW, "b": NOW + timedelta(hours=1)}

    async with provisioner(database_url) as a, provisioner(database_url) as b:
        pods = {"a": a, "b": b}

        async def ask(pod: str, r: ProvisioningRequested) -> ProvisioningAcknowledged:
            decision = await pods[pod].decide(r, policy_for(r, cap=cap, now=clocks[pod]))
            return decision.answer

        # Each request reaches both pods at once (a rebalance hands it to both).
        calls = [(pod, r) for r in requests for pod in ("a", "b")]
        first_round = await asyncio.gather(*(ask(pod, r) for pod, r in calls))
        # Later redeliveries, to either pod, find the stored answer.
        second_round = await asyncio.gather(*(ask(pod, r) for pod, r in calls))

    answers: dict[uuid.UUID, set[str]] = {}
    for answer in [*first_round, *second_round]:
        answers.setdefault(answer.request_id, set()).add(answer.model_dump_json())
    assert set(answers) == {r.request_id for r in requests}
    assert [rid for rid, forms in answers.items() if len(forms) != 1] == []

    final = {r.request_id: a for r, a in zip(requests, first_round[::2], strict=True)}
    accepted = [r for r in requests if final[r.request_id].outcome == "accepted"]
    assert len(accepted) == cap
    assert sorted(final[r.request_id].seats_taken for r in accepted) == list(range(1, cap + 1))
    assert len({r.invitation_sha256 for r in accepted}) == cap
    assert len([r for r in accepted if r.email == "same@example.org"]) <= 1
    assert {final[r.request_id].reason for r in requests if r not in accepted} <= {
        f"rejected: the private beta is full ({cap} of {cap})",
        "rejected: the invitation code has already been used",
        "rejected: device 'laptop' already has a seat for this email",
        "rejected: the invitation code is not valid",
    }
    rows = await stored(
        database_url,
        "SELECT count(*), count(*) FILTER (WHERE outcome = 'accepted') FROM provisioning_decisions",
    )
    assert rows == [(len(requests), cap)]


async def test_decision_survives_a_restart_and_a_repeat_gets_the_first_answer(
    database_url: str,
) -> None:
    # Sessions in a time zone other than UTC read decided_at back as +01:00; the republished
    # answer must still be the same bytes.
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        name = conninfo_to_dict(database_url)["dbname"]
        await conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone = 'Europe/Oslo'").format(sql.Identifier(name))
        )
    first = request(CODES[0])
    reuse = request(CODES[0], email="someone-else@example.org")
    async with provisioner(database_url) as before:
        accepted = await before.decide(first, policy_for(first, cap=1, now=NOW))

    later = NOW + timedelta(days=400)
    async with provisioner(database_url) as after:
        repeated = await after.decide(first, policy_for(first, cap=1, now=later))
        reused = await after.decide(reuse, policy_for(reuse, cap=1, now=later))

    assert accepted.answer.outcome == "accepted"
    assert repeated == Decision(answer=accepted.answer, repeated=True)
    assert repeated.answer.model_dump_json() == accepted.answer.model_dump_json()
    assert reused.answer.reason == "rejected: the invitation code has already been used"


async def test_only_the_digest_of_an_accepted_code_is_stored_and_rejections_keep_no_person(
    database_url: str,
) -> None:
    accepted = request(CODES[3], email=" Ada@Example.org", device="Pixel-8")
    rejected = request("GUESSED", email="eve@example.org")
    async with provisioner(database_url) as decisions:
        for r in (accepted, rejected):
            await decisions.decide(r, policy_for(r, cap=10, now=NOW))

    rows = await stored(
        database_url,
        "SELECT outcome, email_casefold, device_casefold, invitation_sha256 "
        "FROM provisioning_decisions ORDER BY outcome",
    )
    assert rows == [
        ("accepted", "ada@example.org", "pixel-8", invitation_sha256(CODES[3])),
        ("rejected", None, None, None),
    ]
    everything = str(await stored(database_url, "SELECT * FROM provisioning_decisions"))
    assert CODES[3] not in everything


async def test_a_decider_kept_waiting_for_the_lock_gives_up_with_a_transient_error(
    database_url: str,
) -> None:
    r = request(CODES[0])
    async with provisioner(database_url, lock_timeout_s=0.5) as decisions:
        # A stuck peer: a transaction holding the decision lock and never finishing.
        async with await psycopg.AsyncConnection.connect(database_url) as peer:
            await peer.execute("LOCK TABLE provisioning_decisions IN SHARE ROW EXCLUSIVE MODE")
            with pytest.raises(psycopg.errors.LockNotAvailable) as waited:
                await decisions.decide(r, policy_for(r, cap=1, now=NOW))
            await peer.rollback()
        # Retried once the peer is gone, it is decided.
        decision = await decisions.decide(r, policy_for(r, cap=1, now=NOW))

    assert FAILURES.kind_of(waited.value) == "transient"
    assert decision.answer.outcome == "accepted"


async def test_an_issued_invitation_admits_once_until_it_expires_or_is_withdrawn(
    database_url: str,
) -> None:
    """Codes from ``tc-admin invite`` live in the invitations table, not in settings: the
    deciding transaction finds them, honours their expiry and withdrawal, and uses them up."""
    async with provisioner(database_url) as decisions:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            fresh = await invitations.issue_invitation(conn, at=NOW, valid_for=timedelta(days=7))
            stale = await invitations.issue_invitation(conn, at=NOW, valid_for=timedelta(hours=1))
            gone = await invitations.issue_invitation(conn, at=NOW, valid_for=timedelta(days=7))
            await invitations.withdraw_invitation(conn, gone.digest[:12], at=NOW)

        later = NOW + timedelta(days=1)

        async def outcome(code: str, device: str) -> str:
            r = request(code, device=device)
            decision = await decisions.decide(r, policy_for(r, cap=5, now=later))
            return decision.answer.outcome

        assert await outcome(fresh.code, "pixel-8") == "accepted"
        assert await outcome(fresh.code, "ipad") == "rejected"  # used up
        assert await outcome(stale.code, "ipad") == "rejected"  # expired a day ago
        assert await outcome(gone.code, "ipad") == "rejected"  # withdrawn
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            states = {
                row.digest: row.state(later) for row in await invitations.list_invitations(conn)
            }
        assert [states[i.digest] for i in (fresh, stale, gone)] == ["used", "expired", "withdrawn"]
