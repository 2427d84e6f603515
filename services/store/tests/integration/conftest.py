"""Run the real store app against the real broker and PostgreSQL fixtures."""

import gc
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_store.adapters.postgres import PostgresDatabase
from tc_store.main import create_app
from tc_store.settings import StoreSettings
from tc_testkit.kafka import Message, produce

from .support import RunningStore


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
    # What the tests before this one left in reference cycles (in a full run, other packages'
    # tests, which do not check for leaks) is collected first, quietly: it is not this test's.
    # A full CI run blamed the first store test for a socket left by an earlier package.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    yield
    # A leaked consumer hangs in reference cycles of finished tasks: without a collection here
    # its warning comes at the end of the session, where no test's filter makes it an error.
    gc.collect()


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
        await produce(kafka.bootstrap_servers, TELEMETRY_SAMPLED_V1, messages)

    return send


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[PostgresDatabase]:
    """The store's database adapter on a fresh, migrated database."""
    db = PostgresDatabase(database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.close()
