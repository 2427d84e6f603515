"""Writing to and reading from a real Kafka-protocol broker in integration tests.

Every service's integration tests produced messages and read a topic from its start until
they had what they waited for, each with its own consumer loop. These are the one producer and
the one reader. The broker lives for the whole test session and its topics keep what other
tests wrote, so the reader takes a ``keep`` function that picks this test's messages out.

Each takes where the broker is as its bootstrap servers, or as ``KafkaSettings`` (with TLS or
SASL): the clients connect with the services' own ``tc_common.kafka_security.client_options``.
"""

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import ValidationError

from tc_common.events import Event, MessageDeadLettered
from tc_common.kafka_security import client_options
from tc_common.messaging import ensure_topics
from tc_common.settings import KafkaSettings

T = TypeVar("T")
E = TypeVar("E", bound=Event)

# aiokafka ships no type hints: a record has .topic, .partition, .offset, .timestamp, .key and
# .value (bytes or None).
Record = Any
Message = Event | tuple[bytes | None, bytes | None]
"""An event, or a raw ``(key, value)`` pair: a malformed message, or a tombstone (value None)."""
Broker = str | KafkaSettings
"""Where the broker is: its bootstrap servers (plain TCP), or settings (TLS, SASL)."""


def settings_of(broker: Broker) -> KafkaSettings:
    return broker if isinstance(broker, KafkaSettings) else KafkaSettings(bootstrap_servers=broker)


def options_of(broker: Broker) -> dict[str, Any]:
    """aiokafka's connection arguments for ``broker``, as the services build theirs."""
    return client_options(settings_of(broker))


async def produce(bootstrap_servers: Broker, topic: str, messages: Iterable[Message]) -> None:
    """Send ``messages`` to ``topic`` in order, each acknowledged before the next: an event as
    JSON under its own key, a ``(key, value)`` pair as it is (a malformed message, say, or a
    tombstone: value None)."""
    producer = AIOKafkaProducer(**options_of(bootstrap_servers), acks="all")
    await producer.start()
    try:
        for message in messages:
            value: bytes | None
            if isinstance(message, Event):
                key, value = message.kafka_key(), message.model_dump_json().encode()
            else:
                key, value = message
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume(
    bootstrap_servers: Broker,
    topics: str | Sequence[str],
    keep: Callable[[Record], T | None],
    *,
    until: Callable[[list[T]], bool],
    timeout_s: float = 45.0,
) -> list[T]:
    """Read ``topics`` from their start, collecting ``keep(record)`` wherever it is not None,
    until ``until(collected)`` holds or ``timeout_s`` passes; either way return what was
    collected, so the test's own assertions say what is missing."""
    names = [topics] if isinstance(topics, str) else list(topics)
    consumer = AIOKafkaConsumer(
        *names,
        **options_of(bootstrap_servers),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    kept: list[T] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not until(kept):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    kept += [k for k in map(keep, records) if k is not None]
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return kept


async def first(
    bootstrap_servers: Broker,
    topics: str | Sequence[str],
    keep: Callable[[Record], T | None],
    *,
    timeout_s: float = 45.0,
    what: str = "a matching message",
) -> T:
    """The first record of ``topics`` that ``keep`` keeps; the test fails naming ``what`` when
    none comes within ``timeout_s``."""
    found = await consume(bootstrap_servers, topics, keep, until=bool, timeout_s=timeout_s)
    if not found:
        raise AssertionError(f"no {what} on {topics} within {timeout_s}s")
    return found[0]


def event_of(model: type[E], record: Record) -> E | None:
    """The record's value as a ``model`` event, or None when it is not one (a malformed
    message, or another kind of event some other test wrote)."""
    try:
        return model.model_validate_json(record.value or b"")
    except ValidationError:
        return None


def keyed(
    key: bytes, model: type[E], where: Callable[[E], bool] | None = None
) -> Callable[[Record], E | None]:
    """A ``keep`` for ``consume`` and ``first``: the ``model`` events under ``key`` (for which
    ``where`` holds, when given); this test's key tells its messages from other tests'."""

    def keep(record: Record) -> E | None:
        if record.key != key:
            return None
        event = event_of(model, record)
        return event if event is not None and (where is None or where(event)) else None

    return keep


def dead_letters_of(
    key: bytes, source_topic: str | None = None
) -> Callable[[Record], MessageDeadLettered | None]:
    """A ``keep`` for ``consume`` and ``first``: the dead letters of messages under ``key``
    (from ``source_topic``, when given). A letter carries the key's digest, never the key."""
    digest = hashlib.sha256(key).hexdigest()

    def keep(record: Record) -> MessageDeadLettered | None:
        letter = event_of(MessageDeadLettered, record)
        if letter is None or letter.key_sha256 != digest:
            return None
        return letter if source_topic in (None, letter.source_topic) else None

    return keep


async def age_out(bootstrap_servers: Broker, topics: Sequence[str]) -> None:
    """Empty ``topics``, as if every message had aged out of retention: delete them and create
    them again by the topic contract. (Apache Kafka deletes in the background: they are created
    again only once they are gone.)"""
    admin = AIOKafkaAdminClient(**options_of(bootstrap_servers))
    await admin.start()
    try:
        await admin.delete_topics(list(topics))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while set(topics) & set(await admin.list_topics()):
            if loop.time() > deadline:
                raise AssertionError(f"{topics} still there 30 s after being deleted")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    await ensure_topics(settings_of(bootstrap_servers), topics)


async def topics_holding(bootstrap_servers: Broker, needle: bytes) -> set[str]:
    """The topics on the broker with a record whose key or value contains ``needle``: every
    topic, from its start to its end now (internal ones, such as consumer offsets, included)."""
    return (await topics_holding_any(bootstrap_servers, [needle]))[needle]


async def topics_holding_any(
    bootstrap_servers: Broker, needles: Sequence[bytes]
) -> dict[bytes, set[str]]:
    """``topics_holding`` for several needles in one read of the broker: per needle, the
    topics with a record whose key or value contains it."""
    consumer = AIOKafkaConsumer(
        group_id=None, enable_auto_commit=False, **options_of(bootstrap_servers)
    )
    await consumer.start()
    found: dict[bytes, set[str]] = {needle: set() for needle in needles}
    try:
        topics = await consumer.topics()
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        end = await consumer.end_offsets(partitions)
        partitions = [p for p in partitions if end[p] > 0]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        left = {p for p in partitions if await consumer.position(p) < end[p]}
        async with asyncio.timeout(60):
            while left:
                batch = await consumer.getmany(*left, timeout_ms=500)
                for tp, records in batch.items():
                    for r in records:
                        text = (r.key or b"") + b"\0" + (r.value or b"")
                        for needle in needles:
                            if needle in text:
                                found[needle].add(tp.topic)
                    if await consumer.position(tp) >= end[tp]:
                        left.discard(tp)
    finally:
        await consumer.stop()
    return found


async def scratch_topic(bootstrap_servers: Broker, prefix: str) -> str:
    """A new topic of one partition outside the contract (``ensure_topics`` makes only contract
    topics), named ``prefix`` plus a random suffix; its name."""
    topic = f"{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**options_of(bootstrap_servers))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic
