"""The provisioner app against a real Kafka-protocol broker, including a restart.

The broker lives for the whole test session, so the topics keep what earlier tests wrote;
each test uses its own request ids and invitation codes and asserts relative to that.
"""

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream

from tc_common.clock import FixedClock
from tc_common.events import MessageDeadLettered, ProvisioningAcknowledged, ProvisioningRequested
from tc_common.topics import DEAD_LETTER_V1, PROVISIONING_ACKNOWLEDGED_V1, PROVISIONING_REQUESTED_V1
from tc_devstack import LocalKafka
from tc_provisioner.main import create_app
from tc_provisioner.settings import ProvisionerSettings
from tc_testkit.kafka import consume, produce

from .. import support  # noqa: TID252

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FIRST_START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SECOND_START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def new_codes(n: int) -> list[str]:
    return [f"INVITE-{uuid.uuid4().hex}" for _ in range(n)]


def settings_for(kafka: LocalKafka, codes: list[str], cap: int = 1_000) -> ProvisionerSettings:
    return ProvisionerSettings(
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        beta_cap=cap,
        invitation_sha256=tuple(hashlib.sha256(c.encode()).hexdigest() for c in codes),
    )


def request(code: str, device: str = "pixel-8") -> ProvisioningRequested:
    """A request from a person not seen before."""
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    return support.request(code, email=email, device=device, requested_at=FIRST_START)


async def healthz_status(app: AsgiFastStream) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://provisioner") as client:
        return (await client.get("/healthz", timeout=30)).status_code


@contextlib.asynccontextmanager
async def running(app: AsgiFastStream) -> AsyncIterator[AsgiFastStream]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        # The lifespan reports "started" before the broker has connected; wait for it.
        async with asyncio.timeout(30):
            while True:
                if await healthz_status(app) == 204:
                    break
                await asyncio.sleep(0.2)
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


async def test_requests_are_answered_on_the_acknowledgement_topic(kafka: LocalKafka) -> None:
    (code,) = new_codes(1)
    invited, stranger = request(code), request("GUESSED", device="laptop")
    app = create_app(settings_for(kafka, [code]), clock=FixedClock(FIRST_START))

    async with running(app):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V1, [invited, stranger])
        answers = await answers_to(kafka, [invited, stranger], count=2)

    by_request = {a.request_id: a for a in answers}
    assert set(by_request) == {invited.request_id, stranger.request_id}
    assert by_request[invited.request_id].outcome == "accepted"
    assert by_request[stranger.request_id].reason == "rejected: the invitation code is not valid"


async def test_state_is_rebuilt_from_the_topics_after_a_restart(kafka: LocalKafka) -> None:
    code, other_code = new_codes(2)
    first = request(code)
    async with running(
        create_app(settings_for(kafka, [code, other_code]), clock=FixedClock(FIRST_START))
    ):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V1, [first])
        (before_restart,) = await answers_to(kafka, [first], count=1)

    # A fresh process: empty memory, a later clock, the same topics and consumer group.
    repeat = first
    reused = request(code, device="tablet")
    fresh = request(other_code, device="phone")
    async with running(
        create_app(settings_for(kafka, [code, other_code]), clock=FixedClock(SECOND_START))
    ):
        await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V1, [repeat, reused, fresh])
        answers = await answers_to(kafka, [first, reused, fresh], count=4)

    assert before_restart.outcome == "accepted"
    by_request: dict[uuid.UUID, list[ProvisioningAcknowledged]] = {}
    for answer in answers:
        by_request.setdefault(answer.request_id, []).append(answer)
    # The repeat gets the answer from before the restart (same decision time), not a new seat.
    assert by_request[first.request_id] == [before_restart, before_restart]
    assert [a.reason for a in by_request[reused.request_id]] == [
        "rejected: the invitation code has already been used"
    ]
    (fresh_answer,) = by_request[fresh.request_id]
    assert (fresh_answer.outcome, fresh_answer.decided_at) == ("accepted", SECOND_START)
    assert fresh_answer.seats_taken >= before_restart.seats_taken + 1


async def test_malformed_request_lands_on_the_dead_letter_topic(kafka: LocalKafka) -> None:
    (code,) = new_codes(1)
    key = f"bad-{uuid.uuid4()}".encode()
    after = request(code)
    async with running(create_app(settings_for(kafka, [code]), clock=FixedClock(FIRST_START))):
        await produce(
            kafka.bootstrap_servers, PROVISIONING_REQUESTED_V1, [(key, b'{"email": "x"}'), after]
        )
        letters = await consume_until(kafka, DEAD_LETTER_V1, {key}, count=1)
        answers = await answers_to(kafka, [after], count=1)

    (letter,) = [MessageDeadLettered.model_validate_json(v) for v in letters]
    assert (letter.consumer, letter.source_topic) == ("provisioner", PROVISIONING_REQUESTED_V1)
    assert [a.outcome for a in answers] == ["accepted"]


async def test_metrics_are_served_while_connected(kafka: LocalKafka) -> None:
    async with running(create_app(settings_for(kafka, []))) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://provisioner") as c:
            metrics = await c.get("/metrics")

    assert metrics.status_code == 200
    assert "tc_dead_letters_total" in metrics.text
