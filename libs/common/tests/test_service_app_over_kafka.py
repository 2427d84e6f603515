"""The service app every Kafka service runs (``tc_common.messaging.asgi_app``): what an early
shutdown leaves behind. Against a real Kafka-protocol broker."""

import asyncio
import gc
import uuid
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import CollectorRegistry

from tc_common.messaging import ServiceApp, asgi_app, build_broker
from tc_common.settings import KafkaSettings
from tc_testkit.kafka import scratch_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def service_app(bootstrap_servers: str, topic: str) -> ServiceApp:
    broker = build_broker(
        KafkaSettings(bootstrap_servers=bootstrap_servers),
        service="service-app-test",
        registry=CollectorRegistry(),
    )

    # Two consumers in groups of their own: a start has more than one subscriber to get through.
    @broker.subscriber(topic, group_id=f"service-app-{uuid.uuid4().hex[:8]}")
    async def first(body: bytes) -> None: ...

    @broker.subscriber(topic, group_id=f"service-app-{uuid.uuid4().hex[:8]}")
    async def second(body: bytes) -> None: ...

    return asgi_app(broker, CollectorRegistry(), title="service app test")


@pytest.mark.filterwarnings("error::ResourceWarning")
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
async def test_a_shutdown_while_the_broker_starts_leaves_no_kafka_client_open(kafka: Any) -> None:
    """A service stopped right after it started (a deploy rolled back, a test that passed fast)
    closes every consumer and connection it opened: none is left for the garbage collector to
    report ("Unclosed AIOKafkaConnection", "Unclosed AIOKafkaConsumer")."""
    topic = await scratch_topic(kafka.bootstrap_servers, "test.service-app")
    for delay_s in (0.0, 0.1, 0.3):
        app = await service_app(kafka.bootstrap_servers, topic)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            await asyncio.sleep(delay_s)
        assert not any(s.running for s in (app.broker.subscribers if app.broker else []))
        del app
        # What leaked is reported from __del__: collect now, inside this test's filters.
        gc.collect()
