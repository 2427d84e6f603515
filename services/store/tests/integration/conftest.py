"""Run the real store app against the real broker and PostgreSQL fixtures."""

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from prometheus_client.parser import text_string_to_metric_families

from tc_common.events import TelemetrySampled
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_store.main import create_app
from tc_store.settings import StoreSettings

Message = TelemetrySampled | tuple[bytes, bytes]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A Kafka client (or any resource) these tests leave open fails the test that leaked it.

    aiokafka only reports an unclosed consumer from ``__del__``, which pytest turns into a
    warning that scrolls by: a store shut down while its subscribers were still joining their
    groups left one behind unnoticed this way.
    """
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.filterwarnings("error::ResourceWarning"))
            item.add_marker(
                pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
            )


@pytest.fixture(autouse=True)
def _collect_leaks_in_the_test_that_made_them() -> Iterator[None]:
    yield
    # A leaked consumer hangs in reference cycles of finished tasks: without a collection here
    # its warning comes at the end of the session, where no test's filter makes it an error.
    gc.collect()


class RunningStore:
    def __init__(self, app: AsgiFastStream) -> None:
        self.app = app

    async def get(self, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://store") as client:
            return await client.get(path)

    async def metric(self, name: str) -> float:
        text = (await self.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    return float(sample.value)
        return 0.0


@pytest.fixture
def consumer_group() -> str:
    # The topic is shared by every test in the session: a group of its own makes this test
    # read it from the start, independent of what other tests committed.
    return f"store-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store_settings(kafka: Any, database_url: str, consumer_group: str) -> StoreSettings:
    return StoreSettings(
        postgres={"url": database_url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        consumer_group=consumer_group,
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
        db_connect_timeout_s=2.0,
    )


@pytest.fixture
def run_store() -> Callable[[StoreSettings], AbstractAsyncContextManager[RunningStore]]:
    @asynccontextmanager
    async def run(settings: StoreSettings) -> AsyncIterator[RunningStore]:
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=90, shutdown_timeout=30):
            yield RunningStore(app)

    return run


@pytest.fixture
def publish(kafka: Any) -> Callable[[Iterable[Message]], Awaitable[None]]:
    """Publish events, or raw ``(key, body)`` pairs, to the telemetry topic."""

    async def send(messages: Iterable[Message]) -> None:
        async with KafkaBroker(kafka.bootstrap_servers) as broker:
            for message in messages:
                if isinstance(message, TelemetrySampled):
                    await broker.publish(message, TELEMETRY_SAMPLED_V1, key=message.kafka_key())
                else:
                    key, body = message
                    await broker.publish(body, TELEMETRY_SAMPLED_V1, key=key)

    return send


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 60.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.2)


async def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(sql.encode(), params)
        return await cur.fetchall()


@pytest.fixture
def helpers() -> Any:
    class Helpers:
        wait_until = staticmethod(wait_until)
        query = staticmethod(query)

    return Helpers
