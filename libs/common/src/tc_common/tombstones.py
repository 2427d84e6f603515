"""Tombstones: a null value under a key, which tells a compacted topic to drop the key.

FastStream's publishers cannot send one (``None`` is sent as an empty value, which compaction
keeps), so this adapter sends them with aiokafka directly, each acknowledged by every in-sync
replica before it returns. A consumer of a compacted topic must expect them: the record's value
is ``None``.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaMessage

from tc_common.kafka_security import client_options
from tc_common.settings import KafkaSettings


async def send_tombstones(kafka: KafkaSettings, tombstones: Iterable[tuple[str, bytes]]) -> int:
    """Send a tombstone for each ``(topic, key)``; returns how many were sent. Raises when the
    broker does not acknowledge within twice the request timeout (the caller retries)."""
    wanted = list(tombstones)
    if not wanted:
        return 0
    # Not idempotent, as the services' producers (Tansu refuses InitProducerId); a repeated
    # tombstone is harmless.
    producer = AIOKafkaProducer(**client_options(kafka), acks="all", enable_idempotence=False)
    async with asyncio.timeout(kafka.request_timeout_ms / 1000 * 2):
        await producer.start()
        try:
            for topic, key in wanted:
                await producer.send_and_wait(topic, None, key=key)
        finally:
            await producer.stop()
    return len(wanted)


async def null_is_tombstone(
    msg: KafkaMessage, original: Callable[[KafkaMessage], Awaitable[Any]]
) -> Any:
    """A subscriber's decoder (``decoder=null_is_tombstone``): a tombstone (a null value)
    decodes as ``None``, anything else as FastStream decodes it; the handler's parameter is
    then ``Event | None``. An empty value is not a tombstone: it stays a malformed message."""
    if getattr(msg.raw_message, "value", b"") is None:
        return None
    return await original(msg)
