"""What the store's handler tests share: fakes of its repositories, how to read its metrics and
its dead letters.

The history handler tests wire the market repository in too, and used to import its fake from
test_market_handlers.py; the telemetry fake lived in conftest.py. Each fake records every write
and answers like the real repository: a row it has seen before is a duplicate, or unchanged.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.events import MessageDeadLettered
from tc_common.topics import DEAD_LETTER_V1
from tc_store import domain
from tc_store.adapters.postgres import FAILURES
from tc_store.domain import SaveResult, TelemetryRow, WriteResult

# The store's own failure policy with quick retries, for handler tests on the test broker.
QUICK_FAILURES = replace(FAILURES, backoff_initial_s=0.01, backoff_max_s=0.05)


class FakeTelemetryRepo:
    """Keeps rows in a dict keyed like the telemetry primary key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, datetime], TelemetryRow] = {}
        self.calls: list[list[TelemetryRow]] = []
        self.fail_with: Exception | None = None
        self.fail_times: int | None = None  # None: every call fails while fail_with is set

    async def save_samples(self, rows: Sequence[TelemetryRow]) -> SaveResult:
        if self.fail_with is not None and self.fail_times != 0:
            if self.fail_times is not None:
                self.fail_times -= 1
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


class RecordingRepo:
    """Records every write as (method, rows); reports rows already seen as unchanged, and
    raises ``fail_with`` when set, like a database that is down."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []
        self.seen: set[tuple[str, tuple[Any, ...]]] = set()
        self.fail_with: Exception | None = None

    async def _save(self, method: str, rows: Sequence[tuple[Any, ...]]) -> WriteResult:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((method, list(rows)))
        new = {(method, tuple(row)) for row in rows} - self.seen
        self.seen |= new
        return WriteResult(written=len(new), unchanged=len(rows) - len(new))


class FakeMarketRepo(RecordingRepo):
    async def save_spot_prices(self, rows: Sequence[domain.SpotPriceRow]) -> WriteResult:
        return await self._save("spot_prices", rows)

    async def save_exchange_rates(self, rows: Sequence[domain.ExchangeRateRow]) -> WriteResult:
        return await self._save("exchange_rates", rows)

    async def save_weather_forecast(self, rows: Sequence[domain.WeatherForecastRow]) -> WriteResult:
        return await self._save("weather_forecast", rows)

    async def save_price_forecast(self, rows: Sequence[domain.PriceForecastRow]) -> WriteResult:
        return await self._save("price_forecast", rows)

    async def save_price_anomalies(self, rows: Sequence[domain.PriceAnomalyRow]) -> WriteResult:
        return await self._save("price_anomalies", rows)


class FakeHistoryRepo(RecordingRepo):
    async def save_drives(self, rows: Sequence[domain.DriveRow]) -> WriteResult:
        return await self._save("drives", rows)

    async def save_charges(self, rows: Sequence[domain.ChargeRow]) -> WriteResult:
        return await self._save("charges", rows)

    async def save_behaviour_profile(self, row: domain.ProfileRow) -> WriteResult:
        return await self._save("behaviour_profile", [row])

    async def save_charge_plan(self, row: domain.PlanRow) -> WriteResult:
        return await self._save("charge_plan", [row])

    async def save_activity(self, row: domain.ActivityRow) -> WriteResult:
        return await self._save("activity", [row])


def rows_metric(registry: CollectorRegistry, kind: str, table: str) -> float:
    """The store's count of rows ``kind`` ("written" or "unchanged") in ``table``."""
    return registry.get_sample_value(f"tc_store_rows_{kind}_total", {"table": table}) or 0.0


def dead_letters(broker: KafkaBroker) -> list[MessageDeadLettered]:
    """Every dead letter ``broker`` publishes while a test runs it (subscribe before start)."""
    received: list[MessageDeadLettered] = []

    @broker.subscriber(DEAD_LETTER_V1, group_id="probe")
    async def collect(letter: MessageDeadLettered) -> None:
        received.append(letter)

    return received
