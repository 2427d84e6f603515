"""Kafka plumbing every service shares: the broker, dead letters, topics, health and metrics."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import anyio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from faststream.asgi import AsgiFastStream, AsgiResponse, HttpHandler, get
from faststream.asgi.types import Scope
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, make_asgi_app

from tc_common.consuming import FailurePolicy, failure_middleware
from tc_common.kafka_security import broker_security, client_options
from tc_common.settings import KafkaSettings
from tc_common.topics import CONTRACT

log = logging.getLogger(__name__)


def _polling_in_time(failures: FailurePolicy | None, kafka: KafkaSettings) -> FailurePolicy:
    """The policy, keeping a slow handler's consumer polling well within its poll interval."""
    policy = failures or FailurePolicy()
    within_s = kafka.max_poll_interval_ms / 1000 / 3
    return replace(policy, keep_polling_after_s=min(policy.keep_polling_after_s, within_s))


def build_broker(
    kafka: KafkaSettings,
    *,
    service: str,
    registry: CollectorRegistry,
    failures: FailurePolicy | None = None,
) -> KafkaBroker:
    """A broker with Prometheus metrics and the consumers' ``failures`` policy (dead letters,
    retries; ``tc_common.consuming``), acks from all replicas; its producer is not idempotent
    (see below), so a retried publish can reach the topic twice. It connects with the
    settings' TLS and SASL/SCRAM (``tc_common.kafka_security``)."""
    return KafkaBroker(
        kafka.bootstrap_servers,
        security=broker_security(kafka),
        client_id=f"tc-{service}",
        request_timeout_ms=kafka.request_timeout_ms,
        middlewares=(
            KafkaPrometheusMiddleware(registry=registry, app_name=service),
            failure_middleware(service, registry, _polling_in_time(failures, kafka)),
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


def topic_configs(topic: str, kafka: KafkaSettings) -> dict[str, str]:
    """The broker configuration of ``topic`` by the contract and the deployment's settings."""
    policy = CONTRACT[topic]
    default_ms = -1 if policy.retention is None else int(policy.retention.total_seconds() * 1000)
    configs = {
        "cleanup.policy": "compact" if policy.compacted else "delete",
        "retention.ms": str(kafka.retention_ms.get(topic, default_ms)),
    }
    if kafka.min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(kafka.min_insync_replicas)
    return configs


async def ensure_topics(kafka: KafkaSettings, topics: Sequence[str]) -> dict[str, dict[str, str]]:
    """Create the topics a service needs that do not exist yet, configured by the contract
    (idempotent); returns how existing topics differ from it (each is logged as a warning, not
    changed: an operator decides whether a topic's retention changes)."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # Another service may create it in between: that is the goal anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            t,
                            num_partitions=kafka.partitions,
                            replication_factor=kafka.replication_factor,
                            topic_configs=topic_configs(t, kafka),
                        )
                        for t in missing
                    ]
                )
        return await _drift(admin, [t for t in topics if t in existing], kafka)
    finally:
        await admin.close()


async def _drift(
    admin: AIOKafkaAdminClient, topics: Sequence[str], kafka: KafkaSettings
) -> dict[str, dict[str, str]]:
    if not topics:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    )
    actual: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            actual[name] = {entry[0]: entry[1] for entry in entries}
    drift: dict[str, dict[str, str]] = {}
    for topic in topics:
        wanted = topic_configs(topic, kafka)
        have = actual.get(topic, {})
        differs = {
            k: f"{have.get(k)} (contract: {v})" for k, v in wanted.items() if have.get(k) != v
        }
        if differs:
            drift[topic] = differs
            log.warning("topic %s differs from the topic contract: %s", topic, differs)
    return drift


class ServiceApp(AsgiFastStream):
    """``AsgiFastStream`` whose ``/healthz`` (readiness) asks the broker and any added check,
    and whose shutdown first settles a broker start still under way.

    FastStream starts the broker in a task of its own once the startup hooks ran (the service
    answers HTTP meanwhile) and, on shutdown, stops the broker *before* it cancels that task.
    A subscriber that starts in between creates a Kafka consumer that nothing stops (aiokafka:
    "Unclosed AIOKafkaConsumer"), and an ``after_startup`` hook can start a poller after
    ``on_shutdown`` stopped it. So an early shutdown waits for the start, up to
    ``start_settle_s``, and only then cancels it: aiokafka leaks its bootstrap connection when
    cancelled in the middle of the bootstrap's metadata request ("Unclosed
    AIOKafkaConnection"). A start joins each consumer group in turn, ~5 s a join on the local
    broker.

    Readiness does not wait for the consumers' joins (tried: on the test broker, a group whose
    earlier members had not left yet held the forecast's joins past two minutes).
    """

    start_settle_s: float = 20.0
    _start_task: asyncio.Task[Any] | None = None
    _start_scope: anyio.CancelScope | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readiness_checks: list[Callable[[], Awaitable[bool]]] = []

    def add_readiness_check(self, check: Callable[[], Awaitable[bool]]) -> None:
        """One more dependency ``/healthz`` asks (the store's database, say)."""
        self._readiness_checks.append(check)

    async def ready(self) -> bool:
        if not await self.broker_pings():
            return False
        for check in self._readiness_checks:
            if not await check():
                return False
        return True

    @property
    def broker_started(self) -> bool:
        """Whether the broker's start (producers, consumers, their groups) has finished: the
        lifespan reports started before it has."""
        return self._start_task is not None and self._start_task.done()

    async def broker_pings(self) -> bool:
        broker = self.broker
        return broker is not None and await broker.ping(timeout=5.0)

    async def _start_broker(self) -> None:
        self._start_task = asyncio.current_task()
        with anyio.CancelScope() as self._start_scope:
            await super()._start_broker()

    async def stop(self) -> None:
        start = self._start_task
        if start is not None and start is not asyncio.current_task() and not start.done():
            done, _ = await asyncio.wait({start}, timeout=self.start_settle_s)
            if not done:
                log.info(
                    "shutting down: the broker did not finish starting within %.0f s;"
                    " cancelling its start",
                    self.start_settle_s,
                )
                if self._start_scope is not None:
                    self._start_scope.cancel()
                await asyncio.wait({start})
        await super().stop()


def _readiness(app: ServiceApp) -> HttpHandler:
    @get(
        description="204 when the Kafka broker answers and every other dependency the"
        " service needs (the store's and the provisioner's database) answers too; else 503."
    )
    async def healthz(scope: Scope) -> AsgiResponse:  # noqa: ARG001 - the ASGI signature
        return AsgiResponse(b"", 204 if await app.ready() else 503)

    return healthz


def asgi_app(
    broker: KafkaBroker,
    registry: CollectorRegistry,
    *,
    title: str,
    on_startup: Sequence[Any] = (),
    after_startup: Sequence[Any] = (),
    on_shutdown: Sequence[Any] = (),
) -> ServiceApp:
    """The service app: the broker plus ``/healthz`` (readiness) and ``/metrics``."""
    from faststream.specification import AsyncAPI

    app = ServiceApp(
        broker,
        asgi_routes=[("/metrics", make_asgi_app(registry))],
        specification=AsyncAPI(title=title, version="1.0.0"),
        on_startup=on_startup,
        after_startup=after_startup,
        on_shutdown=on_shutdown,
    )
    app.mount("/healthz", _readiness(app))
    return app
