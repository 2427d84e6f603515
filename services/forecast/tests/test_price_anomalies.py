"""Price anomalies: what gets flagged and, as importantly, what does not."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_forecast.domain.anomalies import (
    BandPoint,
    PricePoint,
    detect_price_anomalies,
)

T0 = datetime(2026, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def prices(values: list[float], start: datetime = T0) -> list[PricePoint]:
    return [
        PricePoint(start + i * HOUR, start + (i + 1) * HOUR, float(v)) for i, v in enumerate(values)
    ]


# Two weeks of ordinary prices around 50 EUR/MWh with a daily wiggle.
REFERENCE = prices([50 + (i % 24 - 12) * 0.8 for i in range(24 * 14)], T0 - 14 * 24 * HOUR)


def kinds(found: list) -> list[str]:  # type: ignore[type-arg]
    return [a.kind for a in found]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param([50.0] * 24, [], id="ordinary-day-flags-nothing"),
        pytest.param([50.0] * 23 + [400.0], ["spike"], id="one-400-hour-is-a-spike"),
        pytest.param([50.0] * 23 + [-3.0], ["negative"], id="one-negative-hour"),
        pytest.param([50.0] * 23 + [62.0], [], id="a-modest-rise-is-not-a-spike"),
    ],
)
def test_spikes_and_negative_prices_against_two_weeks_of_history(
    day: list[float], expected: list[str]
) -> None:
    assert kinds(detect_price_anomalies(prices(day), REFERENCE)) == expected


def test_a_crisis_hour_in_the_history_does_not_hide_the_next_spike() -> None:
    history = [*REFERENCE[:-1], PricePoint(T0 - HOUR, T0, 3000.0)]
    found = detect_price_anomalies(prices([50.0] * 23 + [400.0]), history)
    assert kinds(found) == ["spike"]


def band(p10: float, p50: float, p90: float, n: int) -> list[BandPoint]:
    return [BandPoint(T0 + i * HOUR, p10, p50, p90) for i in range(n)]


@pytest.mark.parametrize(
    ("day", "expected_runs"),
    [
        pytest.param([50.0] * 24, 0, id="inside-the-band"),
        pytest.param([50.0] * 10 + [80.0] * 4 + [50.0] * 10, 1, id="four-hours-above-p90"),
        pytest.param([50.0] * 10 + [80.0] * 3 + [50.0] * 11, 0, id="three-hours-is-noise"),
        pytest.param([30.0] * 6 + [50.0] * 12 + [30.0] * 6, 2, id="two-runs-below-p10"),
        pytest.param([80.0, 20.0] * 12, 0, id="alternating-sides-is-not-a-run"),
    ],
)
def test_regime_shift_needs_a_run_of_slots_outside_the_band(
    day: list[float], expected_runs: int
) -> None:
    found = detect_price_anomalies(prices(day), REFERENCE, band=band(40, 50, 60, 24))
    shifts = [a for a in found if a.kind == "regime_shift"]
    assert len(shifts) == expected_runs
    for shift in shifts:
        assert shift.expected_eur_per_mwh == pytest.approx(50.0)
        assert "consecutive slots" in shift.detail


def test_slots_without_a_forecast_never_count_as_a_regime_shift() -> None:
    found = detect_price_anomalies(prices([80.0] * 24), REFERENCE, band=[])
    assert "regime_shift" not in kinds(found)


def test_no_history_means_no_spike_judgement_but_negatives_still_count() -> None:
    assert kinds(detect_price_anomalies(prices([999.0, -1.0]), [])) == ["negative"]
