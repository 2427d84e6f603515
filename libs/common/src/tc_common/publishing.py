"""Handing events to the broker and waiting for its acknowledgement (acks=all).

Used where a change is saved first and told second, and the caller must know the telling
worked before it answers: ``tc-admin`` (one producer per command) and the api (one long-lived
``EventPublisher``, answering a customer only once the broker has the event).
"""

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from tc_common.events.base import Event
from tc_common.kafka_security import client_options
from tc_common.messaging import ensure_topics
from tc_common.settings import KafkaSettings

# Between attempts to reach a broker that does not answer; aiokafka retries sends itself.
RETRY_BACKOFF_MS = 250


class PublishFailedError(Exception):
    pass


def deadline_s(kafka: KafkaSettings) -> float:
    # A broker that never answers must not hang an operator's terminal or a request.
    return kafka.request_timeout_ms / 1000 * 2


def _producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    # Not idempotent, as the services' producers (Tansu refuses InitProducerId); a repeat is
    # harmless on these compacted topics keyed by id.
    return AIOKafkaProducer(
        **client_options(kafka),
        acks="all",
        enable_idempotence=False,
        retry_backoff_ms=RETRY_BACKOFF_MS,
        request_timeout_ms=kafka.request_timeout_ms,
    )


async def prepare(kafka: KafkaSettings, topics: Sequence[str]) -> None:
    """The topics exist (created by the topic contract when missing)."""
    try:
        async with asyncio.timeout(deadline_s(kafka)):
            await ensure_topics(kafka, topics)
    except Exception as error:
        raise PublishFailedError(f"broker {kafka.bootstrap_servers} unusable: {error!r}") from error


async def _send_all(producer: AIOKafkaProducer, messages: Sequence[tuple[str, Event]]) -> None:
    for topic, event in messages:
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.kafka_key())


async def publish(kafka: KafkaSettings, messages: Sequence[tuple[str, Event]]) -> None:
    """Send each ``(topic, event)`` under the event's key, each acknowledged by all in-sync
    replicas before this returns (a producer for this call only)."""
    producer = _producer(kafka)
    try:
        async with asyncio.timeout(deadline_s(kafka)):
            await producer.start()
            try:
                await _send_all(producer, messages)
            finally:
                await producer.stop()
    except Exception as error:
        raise PublishFailedError(f"{error!r}") from error


class EventPublisher:
    """A long-lived producer for a service that publishes on request (the api).

    Started lazily, on the first publish, so the service starts (and answers what needs no
    broker) while the broker is down; a failed start is tried again on the next publish.
    The topics are ensured once, with the producer.
    """

    def __init__(
        self, kafka: KafkaSettings, topics: Sequence[str], *, timeout_s: float | None = None
    ) -> None:
        self._kafka = kafka
        self._topics = tuple(topics)
        # A request waits for its acknowledgement: at most this long, then it is told to retry.
        self._timeout_s = timeout_s if timeout_s is not None else deadline_s(kafka)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                await ensure_topics(self._kafka, self._topics)
                producer = _producer(self._kafka)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish(self, messages: Sequence[tuple[str, Event]]) -> None:
        """Send each ``(topic, event)``, in order, each acknowledged before the next; raise
        ``PublishFailedError`` when the broker does not acknowledge within the deadline."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await _send_all(await self._started(), messages)
        except Exception as error:
            raise PublishFailedError(f"{error!r}") from error

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None
