"""The monthly capacity step and what a charge plan adds to it (example tariff:
0–2 kW 130, 2–5 kW 210, 5–10 kW 350, 10–15 kW 520, … NOK/month ex VAT)."""

from datetime import UTC, date, datetime

import pytest

from tc_forecast.adapters.tariff_rules import load_bundled_tariff_rules
from tc_forecast.domain.consumer_price import (
    ConsumerProfile,
    capacity_step,
    daily_peaks_kw,
    marginal_capacity_cost_nok,
)

RULES = load_bundled_tariff_rules()
TARIFF = RULES.grid_tariff_on("example-dso", date(2025, 1, 1))
OSLO_HOUSE = ConsumerProfile(zone="NO1", county="Oslo", grid_tariff_id="example-dso")
BODO_HOUSE = ConsumerProfile(zone="NO4", county="Nordland", grid_tariff_id="example-dso")


def at(day: int, hour_utc: int, month: int = 1) -> datetime:
    return datetime(2025, month, day, hour_utc, tzinfo=UTC)


@pytest.mark.parametrize(
    ("peaks_kw", "step_kw", "nok"),
    [
        pytest.param([], (0, 2), 130, id="no-data-lowest-step"),
        pytest.param([1.9], (0, 2), 130, id="1.9kW-0-2"),
        pytest.param([2.0, 2.0, 2.0], (2, 5), 210, id="exactly-2kW-is-2-5"),
        pytest.param([6.0, 3.0], (2, 5), 210, id="two-days-average-4.5"),
        pytest.param([9.0, 3.0, 3.0, 1.0], (5, 10), 350, id="avg-5.0-is-5-10"),
        pytest.param([30.0, 20.0, 10.0, 1.0], (20, 25), 860, id="avg-20"),
        pytest.param([120.0, 110.0, 100.0], (100, None), 5000, id="over-100kW-open-step"),
    ],
)
def test_capacity_step_is_the_average_of_the_three_highest_days(
    peaks_kw: list[float], step_kw: tuple[float, float | None], nok: float
) -> None:
    by_day = {date(2025, 1, 1 + i): kw for i, kw in enumerate(peaks_kw)}
    step = capacity_step(by_day, TARIFF)
    assert (step.from_kw, step.to_kw) == step_kw
    assert step.nok_per_month_ex_vat == nok
    assert len(step.peak_days) == min(3, len(peaks_kw))


def test_two_peaks_on_the_same_day_count_once() -> None:
    load = {
        at(6, 17): 9.0,
        at(6, 18): 8.0,  # same day as the 9 kW peak: ignored
        at(7, 17): 3.0,
        at(8, 17): 2.5,
        at(9, 3): 1.0,
    }
    peaks = daily_peaks_kw(load)
    assert peaks == {
        date(2025, 1, 6): 9.0,
        date(2025, 1, 7): 3.0,
        date(2025, 1, 8): 2.5,
        date(2025, 1, 9): 1.0,
    }
    step = capacity_step(peaks, TARIFF)
    assert step.average_peak_kw == pytest.approx((9.0 + 3.0 + 2.5) / 3)
    assert (step.from_kw, step.to_kw) == (2, 5)  # (9 + 8 + 3) / 3 would have been 5–10
    assert step.peak_days == (date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8))


def test_days_are_oslo_days() -> None:
    # 22:00Z on 25 October 2025 is 00:00 CEST on the 26th; 23:00Z on the 26th is 00:00 CET
    # on the 27th.
    peaks = daily_peaks_kw(
        {
            datetime(2025, 10, 25, 21, tzinfo=UTC): 1.0,
            datetime(2025, 10, 25, 22, tzinfo=UTC): 7.0,
            datetime(2025, 10, 26, 22, tzinfo=UTC): 4.0,
            datetime(2025, 10, 26, 23, tzinfo=UTC): 5.0,
        }
    )
    assert peaks == {date(2025, 10, 25): 1.0, date(2025, 10, 26): 7.0, date(2025, 10, 27): 5.0}


def test_hour_keys_must_be_hour_starts() -> None:
    with pytest.raises(ValueError, match="not the start of an hour"):
        daily_peaks_kw({datetime(2025, 1, 1, 10, 15, tzinfo=UTC): 3.0})


# Ten January evenings at 3 kW: the household sits in the 2–5 kW step (210 NOK ex VAT).
EVENINGS = {at(day, 17): 3.0 for day in range(6, 16)}


@pytest.mark.parametrize(
    ("added", "profile", "extra_nok"),
    [
        pytest.param({at(7, 1): 11.0}, OSLO_HOUSE, (350 - 210) * 1.25, id="one-11kW-night-5-10"),
        pytest.param(
            {at(d, 1): 11.0 for d in (7, 8, 9)},
            OSLO_HOUSE,
            (520 - 210) * 1.25,
            id="three-11kW-nights-10-15",
        ),
        pytest.param(
            {at(d, 1): 3.0 for d in range(6, 16)}, OSLO_HOUSE, 0.0, id="3kW-nights-no-change"
        ),
        pytest.param({at(7, 17): 2.0}, OSLO_HOUSE, 0.0, id="one-5kW-evening-avg-3.67-no-change"),
        pytest.param(
            {at(d, 17): 2.0 for d in (7, 8, 9)},
            OSLO_HOUSE,
            (350 - 210) * 1.25,
            id="on-top-of-three-peaks-5-10",
        ),
        pytest.param({at(7, 1): 11.0}, BODO_HOUSE, 350 - 210, id="vat-exempt-county"),
        pytest.param(
            {at(7, 1): 11.0, datetime(2025, 2, 3, 1, tzinfo=UTC): 11.0},
            OSLO_HOUSE,
            (350 - 210) * 1.25 + (520 - 130) * 1.25,  # February had no load yet
            id="two-months-each-charged",
        ),
    ],
)
def test_marginal_capacity_cost_is_the_rise_of_the_monthly_step(
    added: dict[datetime, float], profile: ConsumerProfile, extra_nok: float
) -> None:
    assert marginal_capacity_cost_nok(EVENINGS, added, profile, RULES) == pytest.approx(extra_nok)


def test_a_plan_spread_over_the_night_costs_no_capacity_where_one_fast_hour_does() -> None:
    fast = {at(7, 1): 11.0}
    slow = {at(7, h): 2.75 for h in range(1, 5)}  # the same 11 kWh over four hours
    assert marginal_capacity_cost_nok(EVENINGS, slow, OSLO_HOUSE, RULES) == 0.0
    assert marginal_capacity_cost_nok(EVENINGS, fast, OSLO_HOUSE, RULES) > 0.0


def test_peak_average_is_over_the_days_so_far_early_in_the_month() -> None:
    step = capacity_step({date(2025, 1, 1): 12.0}, TARIFF)
    assert step.average_peak_kw == 12.0
    assert step.nok_per_month_ex_vat == 520
    assert step.peak_days == (date(2025, 1, 1),)
