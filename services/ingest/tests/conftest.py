"""Fixtures of ingest's tests: a Tessie stand-in with one car, the sleeps, metrics, clock and
publisher the code under test is handed, and a Tessie client built on them."""

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.metrics import IngestMetrics
from tc_ingest.settings import TessieSettings
from tc_testkit.recorders import RecordedSleeps, RecordingPublisher

from .support import NOW, TOKEN, VIN_A, FakeTessie


@pytest.fixture
def fake_tessie() -> FakeTessie:
    tessie = FakeTessie()
    tessie.add(VIN_A)
    return tessie


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def metrics() -> IngestMetrics:
    return IngestMetrics(CollectorRegistry())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def make_client(
    fake_tessie: FakeTessie, sleeps: RecordedSleeps, metrics: IngestMetrics, clock: FixedClock
) -> Callable[..., TessieHttpClient]:
    def build(
        token: str = TOKEN, history_page_limit: int = 500, **overrides: Any
    ) -> TessieHttpClient:
        settings = TessieSettings(base_url="https://tessie.test", token=token, **overrides)
        return TessieHttpClient(
            settings,
            transport=fake_tessie.transport(),
            sleep=sleeps,
            jitter=lambda: 0.5,
            on_error=metrics.count_tessie_error,
            clock=clock,
            history_page_limit=history_page_limit,
        )

    return build
