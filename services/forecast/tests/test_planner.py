"""The charge planner on small constructed cases: prices, departures and what it decides."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tc_forecast.domain.behaviour.departure import DepartureDistribution
from tc_forecast.domain.planner.model import PlanRequest, PriceSlot
from tc_forecast.domain.planner.plan import plan_charge

T0 = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)  # a Monday evening, plug-in time


def slots(
    prices: Sequence[float],
    start: datetime = T0,
    minutes: int = 60,
    forecast_from: int | None = None,
    spread: float = 0.0,
) -> tuple[PriceSlot, ...]:
    """Consecutive slots; from ``forecast_from`` on they are forecasts with a +-spread band."""
    out = []
    for i, p in enumerate(prices):
        fc = forecast_from is not None and i >= forecast_from
        out.append(
            PriceSlot(
                start_at=start + timedelta(minutes=minutes * i),
                end_at=start + timedelta(minutes=minutes * (i + 1)),
                p10_per_kwh=p - spread if fc else p,
                p50_per_kwh=p,
                p90_per_kwh=p + spread if fc else p,
                is_forecast=fc,
            )
        )
    return tuple(out)


def leaves_after(
    hours: Sequence[float], weights: Sequence[float] | None = None
) -> DepartureDistribution:
    d = np.array(hours, dtype=float)
    w = np.ones_like(d) if weights is None else np.array(weights, dtype=float)
    return DepartureDistribution(T0, d, w)


def request(
    prices: tuple[PriceSlot, ...],
    energy_kwh: float,
    departure: DepartureDistribution,
    now: datetime = T0,
    risk_target: float = 0.95,
    power_kw: float = 4.0,
    efficiency: float = 1.0,
) -> PlanRequest:
    return PlanRequest(
        now=now,
        energy_needed_kwh=energy_kwh,
        charger_power_kw=power_kw,
        efficiency=efficiency,
        departure=departure,
        prices=prices,
        risk_target=risk_target,
        currency="EUR",
    )


def hours_used(plan_slots: Sequence[object]) -> list[int]:
    return sorted(int((s.start_at - T0) / timedelta(hours=1)) for s in plan_slots)  # type: ignore[attr-defined]


def test_plan_charges_in_the_cheapest_hours() -> None:
    prices = slots([0.30, 0.25, 0.10, 0.05, 0.08, 0.20, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40])
    plan = plan_charge(request(prices, 12.0, leaves_after([13.0])))
    assert hours_used(plan.slots) == [2, 3, 4]
    assert plan.energy_to_add_kwh == pytest.approx(12.0)
    assert plan.expected_cost == pytest.approx(4.0 * (0.10 + 0.05 + 0.08))
    assert plan.cost_if_charged_now == pytest.approx(4.0 * (0.30 + 0.25 + 0.10))
    assert plan.expected_saving == pytest.approx(plan.cost_if_charged_now - plan.expected_cost)
    assert not plan.charge_now
    assert "3 cheapest hours" in plan.reason


def test_plan_never_charges_past_the_risk_deadline() -> None:
    # The cheapest hours (8, 9) lie after the 10 % of departures that leave at 7 h.
    prices = slots([0.30, 0.30, 0.30, 0.20, 0.25, 0.30, 0.30, 0.30, 0.01, 0.01, 0.30])
    departure = leaves_after([7.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0])
    plan = plan_charge(request(prices, 8.0, departure, risk_target=0.95))
    assert all(s.end_at <= T0 + timedelta(hours=7) for s in plan.slots)
    assert hours_used(plan.slots) == [3, 4]
    assert plan.probability_ready == pytest.approx(1.0)
    # A lower risk target lets it wait for the cheap night hours.
    relaxed = plan_charge(request(prices, 8.0, departure, risk_target=0.85))
    assert hours_used(relaxed.slots) == [8, 9]
    assert relaxed.probability_ready == pytest.approx(0.9)


def test_infeasible_plan_charges_now_and_says_so() -> None:
    prices = slots([0.30, 0.30, 0.05, 0.05, 0.05, 0.05])
    plan = plan_charge(request(prices, 12.0, leaves_after([2.0, 6.0])))
    assert plan.charge_now
    assert hours_used(plan.slots) == [0, 1, 2]
    assert plan.expected_saving == pytest.approx(0.0)
    assert "cannot be done" in plan.reason


def test_zero_energy_needs_no_charging() -> None:
    plan = plan_charge(request(slots([0.2] * 6), 0.0, leaves_after([5.0])))
    assert plan.slots == ()
    assert plan.expected_cost == 0.0
    assert plan.probability_ready == 1.0
    assert not plan.charge_now
    assert "No charging needed" in plan.reason


def test_partial_last_slot_and_efficiency_losses_are_paid_for() -> None:
    prices = slots([0.40, 0.10, 0.20, 0.40, 0.40])
    plan = plan_charge(request(prices, 5.4, leaves_after([5.0]), efficiency=0.9))
    # 6 kWh at the wall: all of hour 1 (4 kWh) and half of hour 2 (2 kWh).
    assert hours_used(plan.slots) == [1, 2]
    assert plan.slots[1].end_at == T0 + timedelta(hours=2, minutes=30)
    assert plan.expected_cost == pytest.approx(4 * 0.10 + 2 * 0.20)
    assert plan.ready_by_at == T0 + timedelta(hours=2, minutes=30)


def test_forecast_slots_uncertainty_widens_the_cost_range() -> None:
    published = slots([0.30, 0.10, 0.10, 0.30])
    forecast = slots([0.30, 0.10, 0.10, 0.30], forecast_from=0, spread=0.05)
    sure = plan_charge(request(published, 8.0, leaves_after([4.0])))
    unsure = plan_charge(request(forecast, 8.0, leaves_after([4.0])))
    assert sure.cost_p10 == pytest.approx(sure.expected_cost) == pytest.approx(sure.cost_p90)
    assert unsure.expected_cost == pytest.approx(sure.expected_cost)
    assert unsure.cost_p10 == pytest.approx(sure.expected_cost - 8.0 * 0.05)
    assert unsure.cost_p90 == pytest.approx(sure.expected_cost + 8.0 * 0.05)
    assert all(s.is_forecast for s in unsure.slots)


@pytest.mark.parametrize(
    ("hours", "weights", "ready_h", "expected"),
    [
        ([5.0, 7.0, 9.0, 11.0], None, 2.0, 1.0),
        ([1.0, 3.0, 9.0, 11.0], [1, 1, 1, 1], 2.0, 0.75),
        ([1.5, 3.0, 9.0, 11.0], [3, 1, 1, 5], 2.0, 0.7),
    ],
)
def test_probability_ready_matches_the_departure_distribution(
    hours: list[float], weights: list[float] | None, ready_h: float, expected: float
) -> None:
    # Flat prices: charging at once is as cheap as anything, so it is ready after 2 hours.
    plan = plan_charge(request(slots([0.2] * 12), 8.0, leaves_after(hours, weights)))
    assert plan.ready_by_at == T0 + timedelta(hours=ready_h)
    assert plan.probability_ready == pytest.approx(expected)
    assert plan.charge_now


def test_plan_splits_over_separate_cheap_hours() -> None:
    prices = slots([0.30, 0.05, 0.30, 0.30, 0.06, 0.30, 0.30, 0.30])
    plan = plan_charge(request(prices, 8.0, leaves_after([8.0])))
    assert hours_used(plan.slots) == [1, 4]
    assert plan.expected_cost == pytest.approx(4 * 0.05 + 4 * 0.06)


def test_plan_charges_a_first_part_now_when_an_early_departure_is_likely() -> None:
    # 30 % leave within the first hour; the rest stay the night. Waiting for the cheap hours
    # 6 and 7 is safe once the first hour has passed, so only that hour charges at once.
    prices = slots([0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.02, 0.02, 0.30, 0.30, 0.30])
    departure = leaves_after([0.5, 10.0], [0.3, 0.7])
    plan = plan_charge(request(prices, 12.0, departure, risk_target=0.99))
    assert hours_used(plan.slots) == [0, 6, 7]
    assert plan.charge_now
    assert "now in case you leave soon" in plan.reason
    assert plan.expected_cost == pytest.approx(4 * 0.30 + 8 * 0.02)
    # Waiting for everything would leave 30 % of departures short: not within the target.
    assert not any(s.start_at == T0 + timedelta(hours=6) for s in plan.slots[:1])


def test_quarter_hour_prices_are_planned_at_their_resolution() -> None:
    quarter = [0.30] * 16
    quarter[5] = quarter[6] = quarter[11] = 0.05
    quarter[12] = 0.06
    prices = slots(quarter, minutes=15)
    plan = plan_charge(request(prices, 4.0, leaves_after([4.0]), power_kw=4.0))
    starts = sorted(round((s.start_at - T0) / timedelta(minutes=15)) for s in plan.slots)
    assert starts == [5, 6, 11, 12]
    assert plan.expected_cost == pytest.approx(1.0 * (0.05 + 0.05 + 0.05 + 0.06))
    assert plan.energy_to_add_kwh == pytest.approx(4.0)


def test_a_higher_risk_target_plans_earlier() -> None:
    prices = slots([0.30, 0.25, 0.20, 0.15, 0.10, 0.05, 0.04, 0.03, 0.02, 0.01, 0.30])
    departure = leaves_after(list(np.linspace(4.0, 10.0, 61)))
    ends = []
    for target in (0.5, 0.8, 0.95, 0.999):
        plan = plan_charge(request(prices, 8.0, departure, risk_target=target))
        assert plan.ready_by_at is not None
        assert plan.probability_ready >= target - 1e-9
        ends.append(plan.ready_by_at)
    assert ends == sorted(ends, reverse=True)
    assert ends[0] > ends[-1]


def test_a_conditioned_departure_lets_a_later_replan_wait_longer() -> None:
    prices = slots([0.30] * 8 + [0.01, 0.01] + [0.30] * 4)
    departure = leaves_after([2.0, 2.5, 11.0, 11.5, 12.0])
    at_plug_in = plan_charge(request(prices, 8.0, departure, risk_target=0.9))
    assert at_plug_in.charge_now
    later = T0 + timedelta(hours=3)
    replanned = plan_charge(
        request(prices, 8.0, departure.given_still_plugged_at(later), now=later, risk_target=0.9)
    )
    assert hours_used(replanned.slots) == [8, 9]
    assert not replanned.charge_now


def test_local_times_in_the_reason_follow_the_zone_of_now_and_slots_are_utc() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    prices = slots([0.30, 0.25, 0.10, 0.05, 0.08, 0.20])
    now = T0.astimezone(oslo)
    plan = plan_charge(request(prices, 4.0, leaves_after([5.0]), now=now))
    assert plan.slots[0].start_at.utcoffset() == timedelta(0)
    assert plan.slots[0].start_at == T0 + timedelta(hours=3)
    assert "before 00:00" in plan.reason  # 23:00 UTC is midnight in Oslo in January


def test_a_plan_across_the_night_the_clocks_go_back_counts_real_hours() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; the local hour 02-03 comes twice.
    oslo = ZoneInfo("Europe/Oslo")
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 CEST
    prices = slots([0.30, 0.06, 0.05, 0.04, 0.30, 0.30], start=start)
    now = (start + timedelta(minutes=30)).astimezone(oslo)
    plan = plan_charge(
        PlanRequest(
            now=now,
            energy_needed_kwh=10.0,
            charger_power_kw=4.0,
            efficiency=1.0,
            departure=DepartureDistribution(start, np.array([6.0]), np.ones(1)),
            prices=prices,
            risk_target=0.95,
            currency="EUR",
        )
    )

    # 2.5 hours of charging in the three cheap real hours 00:00-03:00 UTC, in time order.
    assert [s.start_at for s in plan.slots] == sorted(s.start_at for s in plan.slots)
    assert all(s.end_at > s.start_at for s in plan.slots)
    assert sum((s.end_at - s.start_at for s in plan.slots), timedelta()) == timedelta(hours=2.5)
    assert plan.slots[0].start_at == start + timedelta(hours=1)
    assert "2.5 cheapest hours" in plan.reason


@pytest.mark.parametrize(
    ("penalty", "waits"),
    [
        (0.0, True),  # any saving is worth a 4 % risk
        (5.0, True),  # saves 4 * (0.30 - 0.02) * 2 = 2.24 > 5 * 0.04
        (100.0, False),  # 100 * 0.04 = 4 > 2.24: charge at once
    ],
)
def test_waiting_must_save_more_than_the_penalty_times_its_risk(
    penalty: float, waits: bool
) -> None:
    prices = slots([0.30, 0.30, 0.30, 0.30, 0.02, 0.02, 0.30, 0.30])
    departure = leaves_after([3.0] + [9.0] * 24)  # 4 % leave after three hours
    req = request(prices, 8.0, departure, risk_target=0.9)
    plan = plan_charge(replace(req, short_penalty=penalty))
    if waits:
        assert hours_used(plan.slots) == [4, 5]
        assert plan.probability_short == pytest.approx(0.04)
        assert not plan.charge_now
    else:
        assert hours_used(plan.slots) == [0, 1]
        assert plan.probability_short == 0.0
        assert "waiting for cheaper hours would risk leaving short" in plan.reason


def test_probability_short_never_exceeds_the_risk_allowance() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        prices = slots(list(rng.uniform(0.0, 0.5, 24)))
        departure = leaves_after(list(rng.uniform(0.5, 20.0, 30)))
        target = float(rng.uniform(0.6, 0.99))
        plan = plan_charge(
            replace(
                request(prices, float(rng.uniform(1, 20)), departure, risk_target=target),
                short_penalty=0.0,
            )
        )
        assert plan.probability_short <= 1.0 - target + 1e-9
        assert plan.expected_cost <= plan.cost_if_charged_now + 1e-9
        assert plan.energy_to_add_kwh == pytest.approx(
            sum(s.energy_kwh for s in plan.slots), abs=1e-9
        )


def test_without_prices_ahead_there_is_no_plan() -> None:
    past = slots([0.2, 0.2], start=T0 - timedelta(hours=3))
    plan = plan_charge(request(past, 8.0, leaves_after([5.0])))
    assert plan.slots == ()
    assert plan.ready_by_at is None
    assert not plan.charge_now
    assert "No prices" in plan.reason


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_charge(
            request(slots([0.2] * 4), 8.0, leaves_after([5.0]), now=T0.replace(tzinfo=None))
        )
