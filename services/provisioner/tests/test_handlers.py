"""The provisioner handler wired into the app's broker, over FastStream's in-memory Kafka, with
its database replaced by an in-memory one (the real one: tests/integration)."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tc_common.clock import FixedClock
from tc_common.events import AccountChanged, MessageDeadLettered, ProvisioningAcknowledged
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    DEAD_LETTER_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
)
from tc_provisioner.main import create_app
from tc_provisioner.settings import ProvisionerSettings

from .support import NOW, UNUSED_DATABASE_URL, InMemoryDecisions, request

CODES = ["WELCOME-ONE", "WELCOME-TWO"]


@pytest.fixture
def decisions() -> InMemoryDecisions:
    return InMemoryDecisions()


@pytest.fixture
def broker(decisions: InMemoryDecisions) -> KafkaBroker:
    settings = ProvisionerSettings(
        postgres={"url": UNUSED_DATABASE_URL},
        beta_cap=1,
        invitation_sha256=tuple(hashlib.sha256(c.encode()).hexdigest() for c in CODES),
    )
    app = create_app(settings, clock=FixedClock(NOW), decisions=decisions)
    assert isinstance(app.broker, KafkaBroker)
    return app.broker


def ack_publisher(broker: KafkaBroker) -> Any:
    (publisher,) = [
        p
        for p in broker.publishers
        if p.topic == PROVISIONING_ACKNOWLEDGED_V1  # type: ignore[attr-defined]
    ]
    return publisher


def published_answers(broker: KafkaBroker) -> list[ProvisioningAcknowledged]:
    mock = ack_publisher(broker).mock
    return [ProvisioningAcknowledged.model_validate(c.args[0]) for c in mock.call_args_list]


async def test_requests_are_answered_in_order_with_the_cap_and_idempotency(
    broker: KafkaBroker,
) -> None:
    first = request("WELCOME-ONE")
    script = [
        first,
        request("WRONG"),
        first,  # a retry: same answer, no second seat
        request("WELCOME-TWO", device="ipad"),
    ]
    async with TestKafkaBroker(broker) as br:
        for r in script:
            await br.publish(r, PROVISIONING_REQUESTED_V2, key=r.kafka_key())

        answers = published_answers(br)

    assert [(a.request_id, a.outcome, a.reason, a.decided_at) for a in answers] == [
        (first.request_id, "accepted", "accepted: seat 1 of 1", NOW),
        (script[1].request_id, "rejected", "rejected: the invitation code is not valid", NOW),
        (first.request_id, "accepted", "accepted: seat 1 of 1", NOW),
        (script[3].request_id, "rejected", "rejected: the private beta is full (1 of 1)", NOW),
    ]


async def test_request_decided_before_by_another_provisioner_gets_that_first_answer(
    broker: KafkaBroker, decisions: InMemoryDecisions
) -> None:
    r = request("WELCOME-ONE")
    earlier = ProvisioningAcknowledged(
        request_id=r.request_id,
        decided_at=NOW - timedelta(days=30),
        outcome="accepted",
        reason="accepted: seat 1 of 1",
        seats_taken=1,
        seats_total=1,
    )
    decisions.book.answers[r.request_id] = earlier

    async with TestKafkaBroker(broker) as br:
        await br.publish(r, PROVISIONING_REQUESTED_V2, key=r.kafka_key())

        answers = published_answers(br)

    assert answers == [earlier]


async def test_answer_is_keyed_by_request_id(broker: KafkaBroker) -> None:
    r = request("WELCOME-ONE")
    async with TestKafkaBroker(broker) as br:
        await br.publish(r, PROVISIONING_REQUESTED_V2, key=r.kafka_key())

        (call,) = ack_publisher(br).mock.call_args_list

    assert ProvisioningAcknowledged.model_validate(call.args[0]).kafka_key() == r.kafka_key()


async def test_malformed_request_is_dead_lettered_and_not_answered(broker: KafkaBroker) -> None:
    dead_letters: list[MessageDeadLettered] = []

    @broker.subscriber(DEAD_LETTER_V1)
    async def spy(letter: MessageDeadLettered) -> None:
        dead_letters.append(letter)

    async with TestKafkaBroker(broker) as br:
        await br.publish({"request_id": "not-a-uuid"}, PROVISIONING_REQUESTED_V2, key=b"k")

        assert not ack_publisher(br).mock.called

    (letter,) = dead_letters
    assert (letter.consumer, letter.source_topic) == ("provisioner", PROVISIONING_REQUESTED_V2)
    assert "request_id" in letter.reason


def published_accounts(broker: KafkaBroker) -> list[AccountChanged]:
    (publisher,) = [
        p
        for p in broker.publishers
        if p.topic == ACCOUNT_CHANGED_V1  # type: ignore[attr-defined]
    ]
    return [AccountChanged.model_validate(c.args[0]) for c in publisher.mock.call_args_list]


async def test_an_accepted_request_opens_the_account_of_its_email_and_a_rejected_one_none(
    broker: KafkaBroker, decisions: InMemoryDecisions
) -> None:
    accepted = request("WELCOME-ONE")
    rejected = request("WRONG")
    async with TestKafkaBroker(broker) as br:
        for r in (accepted, rejected, accepted):  # the last: a redelivery
            await br.publish(r, PROVISIONING_REQUESTED_V2, key=r.kafka_key())
        accounts = published_accounts(br)

    # Published for the acceptance and again for its redelivery: the same account.
    assert len(accounts) == 2
    assert accounts[0] == accounts[1]
    assert (accounts[0].email, accounts[0].state, accounts[0].created_at) == (
        accepted.email,
        "active",
        NOW,
    )
    assert list(decisions.accounts.values()) == [accounts[0]]
