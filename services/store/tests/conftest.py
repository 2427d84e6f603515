from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from tc_common.events import TelemetrySampled
from tc_store.domain import SaveResult, TelemetryRow

from . import history_events, market_events

NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def sample(vin: str = "5YJ3E7EB0KF000001", minute: int = 0, **fields: Any) -> TelemetrySampled:
    """A valid telemetry sample of ``vin`` taken ``minute`` minutes after NOW."""
    at = NOW + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "vehicle_id": vin,
        "sampled_at": at,
        "fetched_at": at + timedelta(seconds=5),
        "online_state": "online",
        "battery_level_pct": 70.0 + minute,
        "odometer_km": 12_000.0 + minute,
        "charging_state": "Charging",
        "locked": True,
        **fields,
    }
    return TelemetrySampled(**values)


class FakeTelemetryRepo:
    """Keeps rows in a dict keyed like the telemetry primary key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, datetime], TelemetryRow] = {}
        self.calls: list[list[TelemetryRow]] = []
        self.fail_with: Exception | None = None

    async def save_samples(self, rows: Sequence[TelemetryRow]) -> SaveResult:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append(list(rows))
        stored = 0
        for row in rows:
            if row.key not in self.rows:
                self.rows[row.key] = row
                stored += 1
        return SaveResult(stored=stored, duplicates=len(rows) - stored)

    async def ping(self) -> bool:
        return True


@pytest.fixture
def make_sample() -> Callable[..., TelemetrySampled]:
    return sample


@pytest.fixture
def fake_repo() -> FakeTelemetryRepo:
    return FakeTelemetryRepo()


@pytest.fixture
def events() -> ModuleType:
    """Builders of valid market, weather and forecast events (``market_events``)."""
    return market_events


@pytest.fixture
def vehicle_events() -> ModuleType:
    """Builders of valid drive, charge, profile and plan events (``history_events``)."""
    return history_events
