"""The pure weather model: plausible Nordic climate, MET-like forecast runs."""

import itertools
import statistics
from datetime import UTC, datetime, timedelta

from tc_market_fakes.weather import (
    HOURLY_STEPS,
    ZONE_REFERENCE_POINTS,
    forecast,
    latest_run,
    nearest_zone,
    true_weather,
)

OSLO = ZONE_REFERENCE_POINTS["NO1"]
TROMSO = ZONE_REFERENCE_POINTS["NO4"]
NOW = datetime(2025, 11, 3, 12, 7, tzinfo=UTC)


def _monthly_mean_c(lat: float, lon: float, year: int, month: int) -> float:
    start = datetime(year, month, 1, tzinfo=UTC)
    return statistics.mean(
        true_weather(1, lat, lon, start + timedelta(hours=h)).air_temperature_c
        for h in range(0, 28 * 24, 3)
    )


class TestClimate:
    def test_oslo_is_below_freezing_in_january_and_mild_in_july(self) -> None:
        assert -9 < _monthly_mean_c(*OSLO, 2025, 1) < 1
        assert 12 < _monthly_mean_c(*OSLO, 2025, 7) < 22

    def test_tromso_is_colder_than_oslo_in_summer(self) -> None:
        assert _monthly_mean_c(*TROMSO, 2025, 7) < _monthly_mean_c(*OSLO, 2025, 7)

    def test_values_stay_within_physical_ranges(self) -> None:
        for h in range(0, 24 * 365, 7):
            w = true_weather(1, *OSLO, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=h))
            assert 0 <= w.cloud_area_fraction_pct <= 100
            assert 0 <= w.wind_speed_m_per_s < 40
            assert 0 <= w.precipitation_next_hour_mm < 20
            assert -35 < w.air_temperature_c < 35

    def test_a_place_belongs_to_the_nearest_zone(self) -> None:
        assert nearest_zone(63.42, 10.40) == "NO3"
        assert nearest_zone(55.70, 12.60) == "DK2"


class TestForecastRuns:
    def test_the_same_place_and_time_give_the_same_forecast(self) -> None:
        assert forecast(1, *OSLO, NOW) == forecast(1, *OSLO, NOW)

    def test_a_run_is_visible_only_after_it_is_updated_and_runs_advance_every_6_hours(
        self,
    ) -> None:
        seen = set()
        for minutes in range(0, 48 * 60, 20):
            now = NOW + timedelta(minutes=minutes)
            run_at, updated_at = latest_run(1, *OSLO, now)
            assert updated_at <= now < updated_at + timedelta(hours=6, minutes=16)
            assert run_at.hour % 6 == 0
            seen.add(run_at)
        runs = sorted(seen)
        assert {b - a for a, b in itertools.pairwise(runs)} == {timedelta(hours=6)}
        assert len(runs) == 9  # 06Z on day one to 06Z two days later

    def test_hourly_steps_come_first_then_six_hourly_up_to_about_ten_days(self) -> None:
        result = forecast(1, *OSLO, NOW)
        times = [s.time for s in result.steps]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[: HOURLY_STEPS - 1] == [timedelta(hours=1)] * (HOURLY_STEPS - 1)
        assert set(gaps[HOURLY_STEPS:]) == {timedelta(hours=6)}
        assert timedelta(days=9) < times[-1] - times[0] <= timedelta(days=10)
        assert times[0] <= NOW

    def test_next_1_hours_exists_only_in_the_hourly_part_and_the_tail_has_no_blocks(
        self,
    ) -> None:
        steps = forecast(1, *OSLO, NOW).steps
        assert all(s.next_1_hours is not None for s in steps[:HOURLY_STEPS])
        assert all(s.next_1_hours is None for s in steps[HOURLY_STEPS:])
        assert steps[-1].next_6_hours is None
        assert steps[-1].next_12_hours is None
        assert steps[0].next_6_hours is not None

    def test_the_next_run_changes_the_forecast_a_little(self) -> None:
        first = forecast(1, *OSLO, NOW)
        later = forecast(1, *OSLO, NOW + timedelta(hours=6))
        assert later.updated_at > first.updated_at
        common = {s.time: s.instant for s in first.steps}
        diffs = [
            abs(s.instant.air_temperature_c - common[s.time].air_temperature_c)
            for s in later.steps
            if s.time in common
        ]
        assert max(diffs) < 6
