"""The retention cutoff, the setting's bounds and one run of the policy, without a database."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from tc_common.clock import FixedClock
from tc_store.domain import MIN_TELEMETRY_RETENTION_DAYS, telemetry_cutoff
from tc_store.metrics import StoreMetrics
from tc_store.retention import TelemetryRetention
from tc_store.settings import StoreSettings

OSLO = ZoneInfo("Europe/Oslo")


class TestTelemetryCutoff:
    def test_unset_keeps_everything(self) -> None:
        assert telemetry_cutoff(datetime(2026, 12, 5, 12, tzinfo=UTC), None) is None

    def test_is_that_many_days_before_now_in_utc(self) -> None:
        now = datetime(2026, 12, 5, 12, 30, tzinfo=UTC)
        cutoff = telemetry_cutoff(now, 30)
        assert cutoff == datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
        assert cutoff is not None
        assert cutoff.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        "now",
        [
            # Both DST changes of 2026 in Oslo lie between now and the cutoff.
            datetime(2026, 4, 5, 8, 0, tzinfo=OSLO),
            datetime(2026, 11, 1, 8, 0, tzinfo=OSLO),
            datetime(2026, 11, 1, 8, 0, tzinfo=timezone(timedelta(hours=-5))),
        ],
    )
    def test_a_dst_change_in_between_moves_nothing(self, now: datetime) -> None:
        cutoff = telemetry_cutoff(now, 14)
        assert cutoff is not None
        assert now - cutoff == timedelta(hours=14 * 24)
        assert cutoff.tzinfo is UTC

    def test_refuses_a_naive_now_and_a_non_positive_period(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            telemetry_cutoff(datetime(2026, 12, 5, 12), 30)  # noqa: DTZ001 (the point)
        with pytest.raises(ValueError, match="at least 1"):
            telemetry_cutoff(datetime(2026, 12, 5, 12, tzinfo=UTC), 0)


class TestRetentionSettings:
    def settings(self, **values: object) -> StoreSettings:
        return StoreSettings(postgres={"url": "postgresql://localhost/x"}, **values)  # type: ignore[arg-type]

    def test_default_keeps_everything_and_runs_hourly(self) -> None:
        settings = self.settings()
        assert settings.telemetry_retention_days is None
        assert settings.retention_interval_s == 3600

    def test_accepts_the_minimum_and_more(self) -> None:
        days = MIN_TELEMETRY_RETENTION_DAYS
        assert self.settings(telemetry_retention_days=days).telemetry_retention_days == days
        assert self.settings(telemetry_retention_days=400).telemetry_retention_days == 400

    @pytest.mark.parametrize("days", [0, 1, MIN_TELEMETRY_RETENTION_DAYS - 1])
    def test_refuses_less_than_the_topic_keeps(self, days: int) -> None:
        with pytest.raises(ValidationError, match="telemetry_retention_days"):
            self.settings(telemetry_retention_days=days)

    def test_too_short_says_why(self) -> None:
        with pytest.raises(ValidationError, match="at least the 7 days"):
            self.settings(telemetry_retention_days=3)

    def test_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("STORE_TELEMETRY_RETENTION_DAYS", "90")
        monkeypatch.setenv("STORE_RETENTION_INTERVAL_S", "600")
        settings = self.settings()
        assert settings.telemetry_retention_days == 90
        assert settings.retention_interval_s == 600

    def test_refuses_a_non_positive_interval(self) -> None:
        with pytest.raises(ValidationError, match="retention_interval_s"):
            self.settings(retention_interval_s=0)


class FakePruner:
    def __init__(self, dropped: int = 0, error: Exception | None = None) -> None:
        self.dropped = dropped
        self.error = error
        self.calls: list[tuple[datetime, int]] = []

    async def drop_telemetry_before(self, cutoff: datetime, *, batch_size: int) -> int:
        self.calls.append((cutoff, batch_size))
        if self.error is not None:
            raise self.error
        return self.dropped


NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def retention(pruner: FakePruner, days: int | None) -> tuple[TelemetryRetention, StoreMetrics]:
    metrics = StoreMetrics.create(CollectorRegistry())
    policy = TelemetryRetention(
        pruner,
        FixedClock(NOW),
        retention_days=days,
        dropped=metrics.telemetry_rows_dropped,
        batch_size=50,
    )
    return policy, metrics


class TestTelemetryRetention:
    async def test_drops_before_the_cutoff_and_counts(self) -> None:
        pruner = FakePruner(dropped=120)
        policy, metrics = retention(pruner, 30)
        assert await policy.run_once() == 120
        assert await policy.run_once() == 120
        assert pruner.calls == [(NOW - timedelta(days=30), 50)] * 2
        assert metrics.telemetry_rows_dropped._value.get() == 240

    async def test_unset_touches_nothing(self) -> None:
        pruner = FakePruner(dropped=5)
        policy, metrics = retention(pruner, None)
        assert await policy.run_once() == 0
        assert pruner.calls == []
        assert metrics.telemetry_rows_dropped._value.get() == 0

    async def test_an_outage_raises_to_the_scheduler_and_counts_nothing(self) -> None:
        pruner = FakePruner(error=psycopg.OperationalError("connection refused"))
        policy, metrics = retention(pruner, 30)
        with pytest.raises(psycopg.OperationalError):
            await policy.run_once()
        assert metrics.telemetry_rows_dropped._value.get() == 0
