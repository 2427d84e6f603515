"""Tombstones reach a real Kafka-protocol broker as null values, which compaction drops."""

from typing import Any

import pytest

from tc_common.settings import KafkaSettings
from tc_common.tombstones import send_tombstones
from tc_testkit.kafka import consume, produce, scratch_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def test_a_tombstone_is_a_null_value_under_the_key_not_an_empty_one(kafka: Any) -> None:
    topic = await scratch_topic(kafka.bootstrap_servers, "test.tombstones")
    await produce(kafka.bootstrap_servers, topic, [(b"account-1", b"{}"), (b"account-2", b"{}")])

    sent = await send_tombstones(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers), [(topic, b"account-1")]
    )

    records = await consume(
        kafka.bootstrap_servers, topic, lambda r: (r.key, r.value), until=lambda got: len(got) >= 3
    )
    assert sent == 1
    assert records[-1] == (b"account-1", None)
    assert (b"account-2", b"{}") in records


async def test_nothing_to_erase_sends_nothing_and_needs_no_broker() -> None:
    unreachable = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    assert await send_tombstones(unreachable, []) == 0
