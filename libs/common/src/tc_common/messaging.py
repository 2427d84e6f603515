"""Kafka plumbing every service shares: the broker, dead letters, topics, health and metrics."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import BaseMiddleware
from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from prometheus_client import CollectorRegistry, Counter, make_asgi_app
from pydantic import ValidationError

from tc_common.events import MessageDeadLettered
from tc_common.logging import redact
from tc_common.settings import KafkaSettings
from tc_common.topics import DEAD_LETTER_V1

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 6


def short_reason(error: ValidationError) -> str:
    """Validation errors as one line: ``field: message; ...`` without echoing input values."""
    parts = []
    for err in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)[:2000]


def dead_letter_middleware(service: str, registry: CollectorRegistry) -> type[BaseMiddleware]:
    """A consume middleware that turns a message that fails its schema into a dead letter.

    The dead letter is published *before* the handler returns, so the offset of the bad message
    is committed only once its dead letter is durable on the broker: nothing is lost and the
    partition is not blocked by a poison message.
    """
    dead_letters = Counter(
        "tc_dead_letters_total",
        "Messages this service rejected and sent to the dead-letter topic.",
        ["topic"],
        registry=registry,
    )

    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
            try:
                return await call_next(msg)
            except ValidationError as error:
                record = msg.raw_message
                topic = getattr(record, "topic", "?")
                key = getattr(record, "key", None)
                letter = MessageDeadLettered(
                    consumer=service,
                    source_topic=topic,
                    source_partition=getattr(record, "partition", None),
                    source_offset=getattr(record, "offset", None),
                    key=key.decode("utf-8", "replace") if isinstance(key, bytes) else None,
                    payload=redact(
                        msg.body.decode("utf-8", "replace")
                        if isinstance(msg.body, bytes)
                        else str(msg.body)
                    ),
                    reason=short_reason(error),
                    failed_at=datetime.now(UTC),
                )
                broker: KafkaBroker = self.context.get("broker")
                await broker.publish(letter, DEAD_LETTER_V1, key=letter.kafka_key())
                dead_letters.labels(topic=topic).inc()
                log.warning(
                    "dead-lettered %s[%s]@%s: %s",
                    topic,
                    letter.source_partition,
                    letter.source_offset,
                    letter.reason,
                )
                return None

    return DeadLetterMiddleware


def build_broker(kafka: KafkaSettings, *, service: str, registry: CollectorRegistry) -> KafkaBroker:
    """A broker with Prometheus metrics and dead-lettering, acks from all replicas; its producer
    is not idempotent (see below), so a retried publish can reach the topic twice."""
    return KafkaBroker(
        kafka.bootstrap_servers,
        client_id=f"tc-{service}",
        request_timeout_ms=kafka.request_timeout_ms,
        middlewares=(
            KafkaPrometheusMiddleware(registry=registry, app_name=service),
            dead_letter_middleware(service, registry),
        ),
        # Every publish waits for the broker's acknowledgement: a message is never handed on
        # (or its source offset committed) before it is durable.
        acks="all",
        # Not idempotent: Tansu, the broker of the tests and `make run`, answers aiokafka's
        # InitProducerId with error -1, so an idempotent producer cannot start there
        # (libs/common/tests/test_messaging_over_kafka.py). Consumers read at least once anyway,
        # so a duplicate is nothing new to them (the store, for one, upserts by key).
        enable_idempotence=False,
        logger=logging.getLogger(f"tc.{service}.broker"),
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Sequence[str], partitions: int = DEFAULT_PARTITIONS
) -> None:
    """Create the topics a service needs when they do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # Another service may create it in between: that is the goal anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
    finally:
        await admin.close()


class _ServiceApp(AsgiFastStream):
    """``AsgiFastStream`` whose shutdown first settles a broker start still under way.

    FastStream starts the broker in a task of its own once the startup hooks ran (the service
    answers HTTP meanwhile) and, on shutdown, stops the broker *before* it cancels that task.
    A subscriber that starts in between creates a Kafka consumer that nothing stops (aiokafka:
    "Unclosed AIOKafkaConsumer"; the group only notices the member is gone at its session
    timeout), and an ``after_startup`` hook can start a poller after ``on_shutdown`` stopped
    it. So a shutdown that comes early cancels the subscribers still joining their groups and
    waits for the start task to finish; the broker's stop then closes every consumer there is.
    """

    _start_task: asyncio.Task[Any] | None = None
    _start_scope: anyio.CancelScope | None = None

    async def _start_broker(self) -> None:
        self._start_task = asyncio.current_task()
        with anyio.CancelScope() as self._start_scope:
            await super()._start_broker()

    async def stop(self) -> None:
        start = self._start_task
        if start is not None and start is not asyncio.current_task() and not start.done():
            log.info("shutting down before the broker finished starting: cancelling its start")
            if self._start_scope is not None:
                self._start_scope.cancel()
            await asyncio.wait({start})
        await super().stop()


def asgi_app(
    broker: KafkaBroker,
    registry: CollectorRegistry,
    *,
    title: str,
    on_startup: Sequence[Any] = (),
    after_startup: Sequence[Any] = (),
    on_shutdown: Sequence[Any] = (),
) -> AsgiFastStream:
    """The service app: the broker plus ``/healthz`` (broker reachable) and ``/metrics``."""
    from faststream.specification import AsyncAPI

    return _ServiceApp(
        broker,
        asgi_routes=[
            ("/healthz", make_ping_asgi(broker, timeout=5.0)),
            ("/metrics", make_asgi_app(registry)),
        ],
        specification=AsyncAPI(title=title, version="1.0.0"),
        on_startup=on_startup,
        after_startup=after_startup,
        on_shutdown=on_shutdown,
    )
