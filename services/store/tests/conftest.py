import pytest
from prometheus_client import CollectorRegistry

from .support import FakeTelemetryRepo


@pytest.fixture
def fake_repo() -> FakeTelemetryRepo:
    return FakeTelemetryRepo()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()
