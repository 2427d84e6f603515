"""Helpers of the end-to-end tests (the whole system runs as real processes)."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
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
        except (httpx.HTTPError, AssertionError, KeyError, TypeError) as error:
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


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _mentioning(text: str) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def process_tree(pid: int, marker: str) -> set[int]:
    """``pid``, every process whose command line mentions ``marker``, and all their
    descendants (the services run in sessions of their own, so not all are children)."""
    children = _children()
    found = {pid} | _mentioning(marker)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def still_alive(pids: set[int], marker: str) -> set[int]:
    """Which of ``pids``, and of the processes mentioning ``marker``, still run."""
    return {pid for pid in pids | _mentioning(marker) if _alive(pid)}
