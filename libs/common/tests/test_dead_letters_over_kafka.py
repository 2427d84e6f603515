"""Dead letters through a real Kafka-protocol broker: an error that quotes the message's values
(as a database error or a handler's own does) reaches ``ops.deadletter.v1`` without them."""

import hashlib
import json
import uuid
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tc_common.consuming import FailurePolicy
from tc_common.events import MessageDeadLettered
from tc_common.messaging import build_broker, ensure_topics
from tc_common.settings import KafkaSettings
from tc_common.topics import DEAD_LETTER_V1
from tc_testkit.kafka import Record, event_of, first, produce, scratch_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

QUICK = FailurePolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)


async def test_an_error_quoting_the_message_is_dead_lettered_without_its_values(
    kafka: Any,
) -> None:
    """Before issue 10 part 4 the letter held the body, the key and the error's text as they
    were: the VIN, the email address and the invitation code in clear."""
    topic = await scratch_topic(kafka.bootstrap_servers, "test.deadletters")
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers)
    await ensure_topics(settings, [DEAD_LETTER_V1])
    vin = f"5YJ3E7EB{uuid.uuid4().hex[:9].upper()}"
    email, code = f"{uuid.uuid4().hex[:8]}@example.com", f"INV-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"vehicle_id": vin, "email": email, "invitation_code": code}).encode()
    broker = build_broker(
        settings, service="letters-test", registry=CollectorRegistry(), failures=QUICK
    )

    @broker.subscriber(topic, group_id=f"g-{topic}", auto_offset_reset="earliest")
    async def refuse(message: dict[str, str]) -> None:
        raise LookupError(
            f"no seat for {message['email']} with {message['invitation_code']} "
            f"(vehicle {message['vehicle_id']})"
        )

    await produce(kafka.bootstrap_servers, topic, [(vin.encode(), body)])
    await broker.start()
    try:

        def mine(record: Record) -> tuple[Record, MessageDeadLettered] | None:
            letter = event_of(MessageDeadLettered, record)
            return (record, letter) if letter and letter.source_topic == topic else None

        record, letter = await first(kafka.bootstrap_servers, DEAD_LETTER_V1, mine, timeout_s=60)
    finally:
        await broker.stop()

    raw = record.value + (record.key or b"")
    assert [v for v in (vin, email, code) if v.encode() in raw] == []
    assert letter.reason == (
        "LookupError: no seat for <withheld> with <withheld> (vehicle <withheld>) (failed 2 times)"
    )
    assert (letter.source_partition, letter.source_offset) == (0, 0)
    assert letter.body_sha256 == hashlib.sha256(body).hexdigest()
    assert letter.key_sha256 == hashlib.sha256(vin.encode()).hexdigest()
    # invitation_code is in no contract (requests carry its digest since v2): even the name of
    # a key the contracts do not define is withheld, for a key can be data.
    assert letter.payload == "{vehicle_id: string(17), email: string(20), <key>: string(16)}"
