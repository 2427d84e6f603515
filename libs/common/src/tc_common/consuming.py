"""What a consumer does when its handler fails: retry, wait, or dead-letter; never stall.

FastStream, left alone, nacks a failed message and fetches it again at once: a message that
fails the same way every time (a body that is not JSON, a value the database refuses) blocks
its partition forever and burns a core. Here every failure is sorted:

- **permanent** (the message itself is wrong: schema, JSON, nesting, a value the database
  refuses): dead-lettered at once, with the reason, and the partition moves on;
- **transient** (the database or the broker is away): retried in place with capped
  exponential backoff for as long as it takes, each pause logged and counted;
- **anything else**: retried a few times with backoff, then dead-lettered as permanent.

A handler that takes long (waiting out a database outage) would let the consumer fall out of
its group once ``max_poll_interval_ms`` passes without a poll, and its offset commit would
then fail. While a handler runs long, the consumer's partitions are paused and it keeps
polling (paused partitions return nothing), which keeps it in the group.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from tc_common.dead_letters import body_bytes, sha256_hex, shape_of, values_of, withhold
from tc_common.events import MessageDeadLettered
from tc_common.logging import redact
from tc_common.topics import DEAD_LETTER_V1

log = logging.getLogger(__name__)

FailureKind = Literal["permanent", "transient", "unknown"]

# Wrong in the message itself: it will fail the same way however often it is tried.
# (A body too deeply nested for the JSON decoder raises RecursionError.)
ALWAYS_PERMANENT: tuple[type[BaseException], ...] = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    RecursionError,
)
# The broker is away: the message is fine, try again once it is back.
ALWAYS_TRANSIENT: tuple[type[BaseException], ...] = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class FailurePolicy:
    """How a service's consumers answer a failed handler; a service adds the errors of its own
    adapters (the store: the database's)."""

    permanent: tuple[type[BaseException], ...] = ()
    transient: tuple[type[BaseException], ...] = ()
    max_attempts: int = 3
    """Tries of a message failing with an error that is neither, before it is dead-lettered."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    keep_polling_after_s: float = 5.0
    """A handler running longer than this gets its consumer paused and polled meanwhile."""

    def kind_of(self, error: BaseException) -> FailureKind:
        if isinstance(error, ALWAYS_PERMANENT + self.permanent):
            return "permanent"
        if isinstance(error, ALWAYS_TRANSIENT + self.transient):
            return "transient"
        return "unknown"

    def delay_s(self, attempt: int, jitter: float) -> float:
        """Capped exponential backoff with equal jitter (``jitter`` in [0, 1))."""
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * jitter


def reason_of(error: BaseException, msg: StreamMessage[Any] | None = None) -> str:
    """One line saying why, without echoing input values or secrets: schema errors without
    their input, and any other error's text with every value of ``msg`` withheld (a database
    error, say, quotes the value it refused)."""
    why = _reason(error)
    if msg is None:
        return why
    key = getattr(msg.raw_message, "key", None)
    return withhold(why, values_of(body_bytes(msg.body), key if isinstance(key, bytes) else None))


def _reason(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for err in error.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "message"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)[:2000]
    if isinstance(error, RecursionError):
        return "the body is nested too deeply to decode"
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8 text, so not JSON"
    if isinstance(error, json.JSONDecodeError):
        # The message names a line and column, not the content.
        return f"the body is not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
    return redact(f"{type(error).__name__}: {error}")[:2000]


def _body_problem(body: Any) -> str | None:
    """Why the body is not JSON at all, if it is not: a framework that could not decode it
    hands the raw bytes to the schema, whose complaint ("not a dictionary") hides the cause."""
    if not isinstance(body, bytes | str):
        return None
    try:
        json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        return reason_of(error)
    return None


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.dead_letters = Counter(
            "tc_dead_letters_total",
            "Messages this service rejected and sent to the dead-letter topic.",
            ["topic"],
            registry=registry,
        )
        self.retries = Counter(
            "tc_consumer_retries_total",
            "Handler failures retried in place, by kind (transient: the database or broker "
            "was away; unknown: an unexpected error, retried a bounded number of times).",
            ["topic", "kind"],
            registry=registry,
        )
        self.waiting = Gauge(
            "tc_consumer_waiting",
            "1 while a consumer of the topic waits to retry a failed message.",
            ["topic"],
            registry=registry,
        )


def failure_middleware(
    service: str,
    registry: CollectorRegistry,
    policy: FailurePolicy,
    *,
    jitter: Callable[[], float] = random.random,
) -> type[BaseMiddleware]:
    """The consume middleware that applies ``policy`` (see the module docstring).

    A dead letter is published *before* the handler returns, so the offset of the bad message
    is committed only once its dead letter is durable: nothing is lost.
    """
    metrics = ConsumerMetrics(registry)

    class FailureMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
            record = msg.raw_message
            topic = str(getattr(record, "topic", "?"))
            attempt = 0
            while True:
                attempt += 1
                try:
                    return await _keeping_membership(call_next(msg), msg, policy)
                except Exception as error:
                    kind = policy.kind_of(error)
                    if kind == "permanent" or (
                        kind == "unknown" and attempt >= policy.max_attempts
                    ):
                        why = _body_problem(msg.body) or reason_of(error, msg)
                        if kind == "unknown":
                            why = f"{why} (failed {attempt} times)"
                        broker: KafkaBroker = self.context.get("broker")
                        await _dead_letter(broker, service, msg, why)
                        metrics.dead_letters.labels(topic=topic).inc()
                        return None
                    delay_s = policy.delay_s(attempt, jitter())
                    metrics.retries.labels(topic=topic, kind=kind).inc()
                    log.warning(
                        "%s[%s]@%s failed (%s, attempt %d): %s; retrying in %.1f s",
                        topic,
                        getattr(record, "partition", "?"),
                        getattr(record, "offset", "?"),
                        kind,
                        attempt,
                        reason_of(error, msg),
                        delay_s,
                    )
                    metrics.waiting.labels(topic=topic).set(1)
                    try:
                        await _keeping_membership(asyncio.sleep(delay_s), msg, policy)
                    finally:
                        metrics.waiting.labels(topic=topic).set(0)

    return FailureMiddleware


async def _dead_letter(
    broker: KafkaBroker, service: str, msg: StreamMessage[Any], why: str
) -> None:
    """Publish where the message is, why it failed and its shape; none of its values (its key
    can be a VIN, its body an invitation code or an email address): ``tc_common.dead_letters``."""
    record = msg.raw_message
    key = getattr(record, "key", None)
    raw = body_bytes(msg.body)
    letter = MessageDeadLettered(
        consumer=service,
        source_topic=getattr(record, "topic", "?"),
        source_partition=getattr(record, "partition", None),
        source_offset=getattr(record, "offset", None),
        key_sha256=sha256_hex(key) if isinstance(key, bytes) else None,
        payload=shape_of(raw),
        body_sha256=sha256_hex(raw),
        body_bytes=len(raw),
        reason=why,
        failed_at=datetime.now(UTC),
    )
    await broker.publish(letter, DEAD_LETTER_V1, key=letter.kafka_key())
    log.warning(
        "dead-lettered %s[%s]@%s: %s",
        letter.source_topic,
        letter.source_partition,
        letter.source_offset,
        letter.reason,
    )


async def _keeping_membership(
    work: Awaitable[Any], msg: StreamMessage[Any], policy: FailurePolicy
) -> Any:
    """Await ``work``; if it takes longer than ``policy.keep_polling_after_s``, pause the
    consumer's partitions and poll meanwhile, so that it stays in its group."""
    task = asyncio.ensure_future(work)
    consumer = getattr(msg, "consumer", None)
    if not all(hasattr(consumer, name) for name in ("pause", "getmany", "assignment")):
        return await task  # a test broker's consumer: nothing to keep
    try:
        done, _ = await asyncio.wait({task}, timeout=policy.keep_polling_after_s)
        if done:
            return task.result()
        with _paused(consumer):
            while not task.done():
                await _poll_paused(consumer)
                await asyncio.wait({task}, timeout=policy.keep_polling_after_s)
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.contextmanager
def _paused(consumer: Any) -> Iterator[None]:
    partitions = set(consumer.assignment()) - set(consumer.paused())
    consumer.pause(*partitions)
    try:
        yield
    finally:
        still_assigned = partitions & set(consumer.assignment())
        consumer.resume(*still_assigned)


async def _poll_paused(consumer: Any) -> None:
    """One poll that fetches nothing but tells the group the consumer is alive. A partition
    assigned meanwhile (a rebalance) is not paused: whatever it returned is handed back by
    seeking to its first offset, so the subscriber reads it in turn."""
    fetched = await consumer.getmany(timeout_ms=0)
    for partition, records in fetched.items():
        if records:
            consumer.seek(partition, records[0].offset)
