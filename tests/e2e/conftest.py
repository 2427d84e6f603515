"""Helpers for the end-to-end tests: the whole system runs as real processes."""

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, AssertionError, KeyError) as error:
            last_error = error
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last_error!r})")


def read_whole_topic(bootstrap_servers: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every message currently in ``topic`` (all partitions, from the start to the end offsets)."""

    async def read() -> list[tuple[bytes | None, bytes]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            out: list[tuple[bytes | None, bytes]] = []
            remaining = {tp for tp in tps if end[tp] > 0}
            deadline = time.monotonic() + 60
            while remaining and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        if r.offset < end[tp] and r.value is not None:
                            out.append((r.key, r.value))
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
            assert not remaining, f"could not read {topic} to its end offsets"
            return out
        finally:
            await consumer.stop()

    return asyncio.run(read())
