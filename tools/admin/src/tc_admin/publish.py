"""The adapter that hands an event to the broker and waits for its acknowledgement."""

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from tc_common.events.base import Event
from tc_common.kafka_security import client_options
from tc_common.messaging import ensure_topics
from tc_common.settings import KafkaSettings


class PublishFailedError(Exception):
    pass


def _deadline_s(kafka: KafkaSettings) -> float:
    # A broker that never answers must not hang an operator's terminal.
    return kafka.request_timeout_ms / 1000 * 2


async def prepare(kafka: KafkaSettings, topics: Sequence[str]) -> None:
    """The topics exist (created by the topic contract when missing)."""
    try:
        async with asyncio.timeout(_deadline_s(kafka)):
            await ensure_topics(kafka, topics)
    except Exception as error:
        raise PublishFailedError(f"broker {kafka.bootstrap_servers} unusable: {error!r}") from error


async def publish(kafka: KafkaSettings, messages: Sequence[tuple[str, Event]]) -> None:
    """Send each ``(topic, event)`` under the event's key, each acknowledged by all in-sync
    replicas before this returns."""
    # Not idempotent, as the services' producers (Tansu refuses InitProducerId); a repeat is
    # harmless on these compacted topics keyed by id.
    producer = AIOKafkaProducer(**client_options(kafka), acks="all", enable_idempotence=False)
    try:
        async with asyncio.timeout(_deadline_s(kafka)):
            await producer.start()
            try:
                for topic, event in messages:
                    await producer.send_and_wait(
                        topic, event.model_dump_json().encode(), key=event.kafka_key()
                    )
            finally:
                await producer.stop()
    except Exception as error:
        raise PublishFailedError(f"{error!r}") from error
