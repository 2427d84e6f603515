"""The services' shared broker against a real Kafka-protocol broker (Tansu, or Apache Kafka
with ``TC_TESTCONTAINERS=1``)."""

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from tc_common.messaging import build_broker
from tc_common.settings import KafkaSettings
from tc_devstack.kafka import LocalKafka
from tc_testkit.kafka import first, scratch_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def test_a_service_broker_publishes_to_the_local_broker(kafka: Any) -> None:
    topic = await scratch_topic(kafka.bootstrap_servers, "test.messaging")
    broker = build_broker(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        service="messaging-test",
        registry=CollectorRegistry(),
    )

    await broker.start()
    try:
        await broker.publish(b"hello", topic, key=b"k")
    finally:
        await broker.stop()

    record = await first(kafka.bootstrap_servers, topic, lambda r: r, timeout_s=30)
    assert (record.key, record.value) == (b"k", b"hello")


async def test_the_local_broker_cannot_start_an_idempotent_producer(kafka: Any) -> None:
    """Why ``build_broker``'s producer is not idempotent (see the comment there).

    Tansu answers aiokafka's InitProducerId request with error -1 (UnknownError), so an
    idempotent producer never starts against the broker of the tests and of ``make run``. When
    this test fails, the broker grants producer ids: turn idempotence on in ``build_broker``
    and delete this test.
    """
    if not isinstance(kafka, LocalKafka):
        pytest.skip("Apache Kafka grants producer ids; this is about the local Tansu broker")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    try:
        with pytest.raises(KafkaError):
            await producer.start()
    finally:
        await producer.stop()
