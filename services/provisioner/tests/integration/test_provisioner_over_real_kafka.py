"""The provisioner app against a real Kafka-protocol broker and a real PostgreSQL, including a
restart after the topics lost every message and a database outage.

The broker lives for the whole test session, so the topics keep what earlier tests wrote;
each test uses its own request ids and invitation codes and asserts relative to that. Each
test has a fresh database of its own.
"""

import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream

from tc_common.clock import FixedClock
from tc_common.events import AccountChanged, ProvisioningAcknowledged, ProvisioningRequested
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    DEAD_LETTER_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
)
from tc_devstack import LocalKafka, LocalPostgres
from tc_provisioner.main import create_app
from tc_provisioner.settings import ProvisionerSettings
from tc_testkit.kafka import age_out, consume, dead_letters_of, first, produce, topics_holding
from tc_testkit.service_app import healthz_status, until_ready
from tc_testkit.waiting import eventually

from .. import support  # noqa: TID252

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FIRST_START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SECOND_START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def new_codes(n: int) -> list[str]:
    return [f"INVITE-{uuid.uuid4().hex}" for _ in range(n)]


PROVISIONING_TOPICS = [PROVISIONING_REQUESTED_V2, PROVISIONING_ACKNOWLEDGED_V1]


def settings_for(
    kafka: LocalKafka, database_url: str, codes: list[str], cap: int = 1_000
) -> ProvisionerSettings:
    return ProvisionerSettings(
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        postgres={"url": database_url},
        beta_cap=cap,
        invitation_sha256=tuple(hashlib.sha256(c.encode()).hexdigest() for c in codes),
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
        db_connect_timeout_s=1.0,
    )


def request(code: str, device: str = "pixel-8") -> ProvisioningRequested:
    """A request from a person not seen before."""
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    return support.request(code, email=email, device=device, requested_at=FIRST_START)


@contextlib.asynccontextmanager
async def running(app: AsgiFastStream) -> AsyncIterator[AsgiFastStream]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await until_ready(app)
        yield app


async def consume_until(kafka: LocalKafka, topic: str, keys: set[bytes], count: int) -> list[bytes]:
    """Values under ``keys`` on ``topic`` from the start in the order they were written, once
    ``count`` arrived (or on timeout)."""
    found = await consume(
        kafka.bootstrap_servers,
        topic,
        lambda r: (r.timestamp, r.offset, r.value) if r.key in keys else None,
        until=lambda found: len(found) >= count,
    )
    return [value for _, _, value in sorted(found)]


async def answers_to(
    kafka: LocalKafka, requests: list[ProvisioningRequested], count: int
) -> list[ProvisioningAcknowledged]:
    values = await consume_until(
        kafka, PROVISIONING_ACKNOWLEDGED_V1, {r.kafka_key() for r in requests}, count
    )
    return [ProvisioningAcknowledged.model_validate_json(v) for v in values]


async def messages_in(bootstrap_servers: str, topics: list[str]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        start = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(end[p] - start[p] for p in partitions)


async def test_requests_are_answered_on_the_acknowledgement_topic(
    kafka: LocalKafka, database_url: str
) -> None:
    (code,) = new_codes(1)
    invited, stranger = request(code), request("GUESSED", device="laptop")
    app = create_app(settings_for(kafka, database_url, [code]), clock=FixedClock(FIRST_START))

    async with running(app):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [invited, stranger])
        answers = await answers_to(kafka, [invited, stranger], count=2)

    by_request = {a.request_id: a for a in answers}
    assert set(by_request) == {invited.request_id, stranger.request_id}
    assert by_request[invited.request_id].outcome == "accepted"
    assert by_request[stranger.request_id].reason == "rejected: the invitation code is not valid"


async def test_an_accepted_request_opens_its_account_in_the_table_and_on_its_topic(
    kafka: LocalKafka, database_url: str
) -> None:
    (code,) = new_codes(1)
    invited, stranger = request(code), request("GUESSED", device="laptop")
    app = create_app(settings_for(kafka, database_url, [code]), clock=FixedClock(FIRST_START))

    async with running(app):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [invited, stranger])
        await answers_to(kafka, [invited, stranger], count=2)
        (account,) = await consume(
            kafka.bootstrap_servers,
            ACCOUNT_CHANGED_V1,
            lambda r: (
                AccountChanged.model_validate_json(r.value)
                if invited.email.encode() in r.value
                else None
            ),
            until=lambda found: len(found) >= 1,
            timeout_s=60,
        )

    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT account_id, email, state FROM accounts")
        rows = await cur.fetchall()
    assert rows == [(account.account_id, invited.email, "active")]
    assert (account.state, account.created_at, account.vehicle_ids) == ("active", FIRST_START, ())


async def test_an_invitation_code_is_on_no_topic_of_the_broker(
    kafka: LocalKafka, database_url: str
) -> None:
    """The code is a secret (whoever holds it takes a seat): the edge sends its digest, and
    nothing on the bus, not the request, the answer or the offsets, holds the code. Before,
    ``provisioning.requested.v1`` carried it in clear for as long as the topic kept messages."""
    (code,) = new_codes(1)
    invited = request(code)
    app = create_app(settings_for(kafka, database_url, [code]), clock=FixedClock(FIRST_START))

    async with running(app):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [invited])
        (answer,) = await answers_to(kafka, [invited], count=1)

    assert answer.outcome == "accepted"
    assert await topics_holding(kafka.bootstrap_servers, invited.kafka_key()) >= {
        PROVISIONING_REQUESTED_V2,
        PROVISIONING_ACKNOWLEDGED_V1,
    }, "the scan cannot find what is there"
    assert await topics_holding(kafka.bootstrap_servers, code.encode()) == set()


async def test_restart_after_the_topics_lost_every_message_resumes_from_the_database(
    kafka: LocalKafka, database_url: str
) -> None:
    used, spare, late = new_codes(3)
    settings = settings_for(kafka, database_url, [used, spare, late], cap=2)
    first = request(used)
    async with running(create_app(settings, clock=FixedClock(FIRST_START))):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [first])
        (before_restart,) = await answers_to(kafka, [first], count=1)

    # Months later, say: retention dropped every request and every answer.
    await age_out(kafka.bootstrap_servers, PROVISIONING_TOPICS)
    emptied = await messages_in(kafka.bootstrap_servers, PROVISIONING_TOPICS)

    # A fresh process with a later clock, the same database.
    reused = request(used, device="tablet")
    fresh = request(spare, device="phone")
    too_late = request(late, device="watch")
    async with running(create_app(settings, clock=FixedClock(SECOND_START))):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [first, reused, fresh])
        answers = await answers_to(kafka, [first, reused, fresh], count=3)
        # Only once the last seat is taken: the next valid request finds the beta full.
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [too_late])
        (late_answer,) = await answers_to(kafka, [too_late], count=1)

    assert emptied == 0
    assert (before_restart.outcome, before_restart.decided_at) == ("accepted", FIRST_START)
    by_request = {a.request_id: a for a in answers}
    assert len(answers) == len(by_request) == 3
    # The repeat gets the very answer from before the restart (bytes and all), not a new seat.
    assert by_request[first.request_id].model_dump_json() == before_restart.model_dump_json()
    assert by_request[reused.request_id].reason == (
        "rejected: the invitation code has already been used"
    )
    assert (by_request[fresh.request_id].reason, by_request[fresh.request_id].decided_at) == (
        "accepted: seat 2 of 2",
        SECOND_START,
    )
    assert late_answer.reason == "rejected: the private beta is full (2 of 2)"


async def metrics_text(app: AsgiFastStream) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://provisioner") as client:
        return (await client.get("/metrics", timeout=30)).text


TRANSIENT_RETRY = re.compile(
    r'^tc_consumer_retries_total\{kind="transient",topic="provisioning\.requested\.v2"\} '
    r"[1-9]",
    re.MULTILINE,
)


async def test_database_outage_makes_it_unready_and_requests_wait_for_the_database(
    kafka: LocalKafka, own_postgres: LocalPostgres
) -> None:
    (code,) = new_codes(1)
    during = request(code)
    app = create_app(settings_for(kafka, own_postgres.url, [code]), clock=FixedClock(FIRST_START))
    async with running(app):
        own_postgres.stop()
        unready = await healthz_status(app)
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [during])

        async def retrying() -> bool:
            return TRANSIENT_RETRY.search(await metrics_text(app)) is not None

        await eventually(
            retrying, timeout_s=60, what="the request retried against the stopped database"
        )
        own_postgres.start()
        answers = await answers_to(kafka, [during], count=1)
        ready = await healthz_status(app)
        metrics = await metrics_text(app)

    assert (unready, ready) == (503, 204)
    assert [(a.outcome, a.reason) for a in answers] == [("accepted", "accepted: seat 1 of 1000")]
    # Waited out, not given up on.
    assert 'tc_dead_letters_total{topic="provisioning.requested.v2"}' not in metrics


async def test_malformed_request_lands_on_the_dead_letter_topic_without_its_values(
    kafka: LocalKafka, database_url: str
) -> None:
    """An old-style request (the invitation code in clear, no digest) is refused; its letter
    says where it was and what shape it had, never the email or the code."""
    (code,) = new_codes(1)
    key = f"bad-{uuid.uuid4()}".encode()
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    old_style = json.dumps({"email": email, "invitation_code": code}).encode()
    after = request(code)
    settings = settings_for(kafka, database_url, [code])
    async with running(create_app(settings, clock=FixedClock(FIRST_START))):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [(key, old_style), after])
        letter = await first(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            dead_letters_of(key, PROVISIONING_REQUESTED_V2),
            what="the old-style request's dead letter",
        )
        answers = await answers_to(kafka, [after], count=1)

    assert letter.consumer == "provisioner"
    assert letter.body_sha256 == hashlib.sha256(old_style).hexdigest()
    assert email not in letter.model_dump_json()
    assert code not in letter.model_dump_json()
    assert [a.outcome for a in answers] == ["accepted"]


async def test_metrics_are_served_while_connected(kafka: LocalKafka, database_url: str) -> None:
    async with running(create_app(settings_for(kafka, database_url, []))) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://provisioner") as c:
            metrics = await c.get("/metrics")

    assert metrics.status_code == 200
    assert "tc_dead_letters_total" in metrics.text
