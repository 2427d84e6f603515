"""Behaviour of the learned departure model and the benchmark's baseline."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tc_forecast.domain.behaviour.departure import (
    DEFAULT_DURATION_H,
    DepartureDistribution,
    PastSession,
    baseline_departure,
    predict_departure,
)

OSLO = ZoneInfo("Europe/Oslo")
UTC = ZoneInfo("UTC")
# A Monday in winter (no daylight-saving change in the following weeks).
MONDAY = datetime(2024, 1, 8, tzinfo=OSLO)


def at(day: int, hour: float) -> datetime:
    """``day`` days after MONDAY at ``hour`` o'clock (fractions are minutes)."""
    return MONDAY + timedelta(days=day, hours=hour)


def session(day: int, in_hour: float, duration_h: float, energy_kwh: float) -> PastSession:
    start = at(day, in_hour)
    return PastSession(start, start + timedelta(hours=duration_h), energy_kwh)


def commuter(weeks: int, *, first_day: int = 0) -> list[PastSession]:
    """Home at about 17:30 on working days, away again at about 07:30, 8-14 kWh a night."""
    rng = np.random.default_rng(7)
    out = []
    for day in range(first_day, first_day + 7 * weeks):
        if day % 7 >= 5:
            continue
        plug_in = 17.5 + rng.normal(0.0, 0.5)
        leave = 24.0 + 7.5 + rng.normal(0.0, 0.25)
        out.append(session(day, plug_in, leave - plug_in, float(rng.uniform(8.0, 14.0))))
    return out


def hours_of_day(t: datetime) -> float:
    return t.hour + t.minute / 60.0


@pytest.mark.parametrize(
    ("plug_in_hour", "energy_kwh"),
    [(17.0, 10.0), (18.5, 12.0), (20.0, 8.0), (22.0, 6.0)],
)
def test_an_evening_plug_in_of_a_commuter_predicts_a_departure_next_morning(
    plug_in_hour: float, energy_kwh: float
) -> None:
    history = commuter(6)
    plugged_in_at = at(6 * 7 + 1, plug_in_hour)  # a Tuesday after six weeks
    dist = predict_departure(history, plugged_in_at, energy_kwh)
    median = dist.quantile(0.5)
    assert median.date() == (plugged_in_at + timedelta(days=1)).date()
    assert 6.5 <= hours_of_day(median) <= 8.5


def test_a_small_top_up_predicts_a_short_session_even_at_the_usual_evening_hour() -> None:
    # Some evenings the user tops up 5.4 kWh in 1.5 h at 3.6 kW and leaves again; the other
    # evenings the car stays the night and takes 8-14 kWh.
    history = commuter(6)
    for day in range(0, 6 * 7, 4):
        history.append(session(day, 17.5 + (day % 3) * 0.25, 1.5, 5.4))
    history.sort(key=lambda s: s.plugged_in_at)
    top_up = predict_departure(history, at(6 * 7 + 2, 17.5), 3.0)
    night = predict_departure(history, at(6 * 7 + 2, 17.5), 12.0)
    assert top_up.quantile_h(0.5) < 2.0
    assert night.quantile_h(0.5) > 12.0


def test_a_session_lasts_at_least_as_long_as_its_energy_takes_at_the_fastest_power_seen() -> None:
    # Three-hour midday sessions of 3.6 kWh, and once 3.6 kWh in one hour (3.6 kW).
    history = [session(day, 12.0, 3.0, 3.6) for day in range(0, 30, 2)]
    history.append(session(31, 12.0, 1.0, 3.6))
    big = predict_departure(history, at(33, 12.0), 18.0)  # 5 h at 3.6 kW
    unknown = predict_departure(history, at(33, 12.0), None)
    assert big.quantile_h(0.5) >= 5.0
    assert unknown.quantile_h(0.5) == pytest.approx(3.0, abs=0.5)


def test_recent_weeks_weigh_more_than_old_ones() -> None:
    # Eight months ago the car left at 06:00; for the last three weeks it leaves at 09:00.
    old = [
        session(day, 18.0, 12.0, 10.0)
        for day in range(-240, -180)
        if day % 7 < 5  # working days
    ]
    recent = [session(day, 18.0, 15.0, 10.0) for day in range(-21, -1) if day % 7 < 5]
    assert len(old) > 2 * len(recent)
    dist = predict_departure(old + recent, at(1, 18.0), 10.0)
    assert dist.quantile_h(0.5) == pytest.approx(15.0, abs=1.5)


def sleeps_in_on_saturdays(weeks: int) -> list[PastSession]:
    """Away at 07:30 after Monday-Thursday evenings, at 11:30 on Saturdays."""
    history = []
    for day in range(7 * weeks):
        if day % 7 < 4:
            history.append(session(day, 17.5, 14.0, 10.0))
        elif day % 7 == 4:
            history.append(session(day, 17.5, 18.0, 10.0))
    return history


def test_friday_evenings_follow_earlier_fridays_not_the_working_week() -> None:
    history = sleeps_in_on_saturdays(weeks=6)
    friday = predict_departure(history, at(42 + 4, 17.5), 10.0)
    tuesday = predict_departure(history, at(42 + 1, 17.5), 10.0)
    # Although the other nights are four times as many, most of a Friday's mass is on the
    # Saturday late-morning departure; a Tuesday's is on the 07:30 departure.
    assert friday.quantile_h(0.5) > tuesday.quantile_h(0.5) + 1.5
    half_past_nine = timedelta(hours=16.0)
    left_friday = friday.prob_departed_by(friday.plugged_in_at + half_past_nine)
    left_tuesday = tuesday.prob_departed_by(tuesday.plugged_in_at + half_past_nine)
    assert left_tuesday > 0.75
    assert left_friday < left_tuesday - 0.2
    assert tuesday.quantile_h(0.5) == pytest.approx(14.0, abs=1.0)


def test_without_history_the_median_is_the_default_with_a_wide_low_tail() -> None:
    dist = predict_departure([], at(0, 18.0), 10.0)
    assert dist.quantile_h(0.5) == pytest.approx(DEFAULT_DURATION_H)
    assert dist.quantile_h(0.05) < 2.0
    assert dist.quantile_h(0.95) > 30.0


def test_the_evening_before_a_public_holiday_follows_earlier_fridays() -> None:
    history = sleeps_in_on_saturdays(weeks=6)
    wednesday = at(42 + 2, 17.5)
    holiday = (wednesday + timedelta(days=1)).date()  # say, Ascension Day on the Thursday
    before_holiday = predict_departure(history, wednesday, 10.0, days_off={holiday})
    ordinary = predict_departure(history, wednesday, 10.0)
    assert ordinary.quantile_h(0.5) == pytest.approx(14.0, abs=1.0)
    assert before_holiday.quantile_h(0.5) > ordinary.quantile_h(0.5) + 1.5
    half_past_nine = before_holiday.plugged_in_at + timedelta(hours=16.0)
    assert before_holiday.prob_departed_by(half_past_nine) < (
        ordinary.prob_departed_by(half_past_nine) - 0.2
    )


def test_a_session_that_needs_more_energy_than_alike_top_ups_is_predicted_longer() -> None:
    # Afternoon top-ups that unplug after about an hour and a half with 3-5 kWh, never full
    # power all along (a 7 kW charger seen once in a while).
    history = [session(d, 14.0, 1.0 + 0.1 * (d % 5), 3.0 + 0.5 * (d % 5)) for d in range(30)]
    history.append(session(30, 9.0, 2.0, 14.0))
    small = predict_departure(history, at(31, 14.0), 4.0)
    larger = predict_departure(history, at(31, 14.0), 6.0)
    # Ignoring the energy would predict the same 1.2-1.4 h for both; in proportion to
    # (1 + kWh) the larger one stays about 7/5 as long.
    assert larger.quantile_h(0.5) == pytest.approx(small.quantile_h(0.5) * 7.0 / 5.0, rel=0.15)


def test_with_two_alike_nights_the_low_tail_stays_wide() -> None:
    # The planner charges by a low quantile: two nights are too little evidence to promise
    # the car stays 13 hours.
    few = predict_departure(commuter(8)[:2], at(3, 17.5), 10.0)
    # The median moves from the generic prior towards the two nights, not yet onto them.
    assert DEFAULT_DURATION_H + 2.0 < few.quantile_h(0.5) < 14.0
    assert few.quantile_h(0.05) < 3.0


def test_with_many_alike_nights_the_low_tail_tightens_but_keeps_a_margin() -> None:
    many = predict_departure(commuter(8), at(8 * 7 + 1, 17.5), 10.0)
    assert many.quantile_h(0.5) == pytest.approx(14.0, abs=1.0)
    assert 8.0 < many.quantile_h(0.1) < 0.9 * many.quantile_h(0.5)
    assert many.quantile_h(0.01) < many.quantile_h(0.1)


def test_zero_length_sessions_are_ignored() -> None:
    history = commuter(4)
    glitches = [session(day, 12.0, 0.0, 0.0) for day in range(28)]
    with_glitches = predict_departure(history + glitches, at(29, 17.5), 10.0)
    without = predict_departure(history, at(29, 17.5), 10.0)
    np.testing.assert_allclose(with_glitches.durations_h, without.durations_h)
    np.testing.assert_allclose(with_glitches.weights, without.weights)


def test_history_in_another_zone_is_read_in_the_plug_in_zone() -> None:
    history = commuter(6)
    in_utc = [
        PastSession(s.plugged_in_at.astimezone(UTC), s.plugged_out_at.astimezone(UTC), s.energy_kwh)
        for s in history
    ]
    local = predict_departure(history, at(43, 18.0), 10.0)
    mixed = predict_departure(in_utc, at(43, 18.0), 10.0)
    np.testing.assert_allclose(mixed.durations_h, local.durations_h)
    np.testing.assert_allclose(mixed.weights, local.weights)


def test_the_energy_is_optional() -> None:
    dist = predict_departure(commuter(6), at(43, 18.0), None)
    assert 6.5 <= hours_of_day(dist.quantile(0.5)) <= 8.5


def _cases() -> Iterable[DepartureDistribution]:
    history = commuter(6)
    yield predict_departure([], at(0, 18.0), 10.0)
    yield predict_departure(history[:1], at(2, 18.0), 10.0)
    yield predict_departure(history, at(43, 18.0), 10.0)
    yield predict_departure(history, at(43, 12.0), 2.0)
    yield predict_departure(history, at(45, 18.0), None)


@pytest.mark.parametrize("dist", list(_cases()))
def test_quantiles_are_monotone_and_weights_sum_to_one(dist: DepartureDistribution) -> None:
    qs = np.linspace(0.0, 1.0, 101)
    values = [dist.quantile_h(q) for q in qs]
    assert all(a <= b for a, b in pairwise(values))
    assert dist.weights.sum() == pytest.approx(1.0)
    assert (dist.durations_h > 0.0).all()
    assert dist.prob_departed_by(dist.quantile(0.9)) >= 0.9 - 1e-9


@pytest.mark.parametrize("hours_later", [2.0, 10.0, 14.0, 15.0])
def test_conditioning_on_still_plugged_in_removes_earlier_samples(hours_later: float) -> None:
    dist = predict_departure(commuter(6), at(43, 17.5), 10.0)
    now = dist.plugged_in_at + timedelta(hours=hours_later)
    later = dist.given_still_plugged_at(now)
    assert (later.durations_h > hours_later).all()
    assert later.prob_departed_by(now) == 0.0
    assert later.weights.sum() == pytest.approx(1.0)
    # The surviving samples keep their relative weights.
    kept = dist.durations_h > hours_later
    np.testing.assert_allclose(later.weights, dist.weights[kept] / dist.weights[kept].sum())
    assert later.quantile_h(0.5) >= dist.quantile_h(0.5)


def test_conditioning_past_every_sample_assumes_a_short_stay() -> None:
    dist = predict_departure(commuter(2), at(15, 17.5), 10.0)
    beyond = float(dist.durations_h.max()) + 1.0
    later = dist.given_still_plugged_at(dist.plugged_in_at + timedelta(hours=beyond))
    assert later.quantile_h(0.0) == pytest.approx(beyond + 0.25)


@pytest.mark.parametrize(
    ("history", "plugged_in_at", "expected_h"),
    [
        # No history: the default.
        ([], at(1, 18.0), DEFAULT_DURATION_H),
        # Weekday plug-in: median of the Monday-Friday durations only (10, 12, 20 -> 12).
        (
            [
                session(0, 18.0, 10.0, 5.0),
                session(1, 18.0, 20.0, 5.0),
                session(4, 18.0, 12.0, 5.0),  # a Friday is a weekday
                session(5, 18.0, 40.0, 5.0),
            ],
            at(8, 18.0),
            12.0,
        ),
        # Weekend plug-in: median of Saturday-Sunday durations (even count -> mean of two).
        (
            [
                session(0, 18.0, 10.0, 5.0),
                session(5, 18.0, 40.0, 5.0),
                session(6, 18.0, 30.0, 5.0),
            ],
            at(12, 18.0),
            35.0,
        ),
        # A weekend plug-in with only weekday history: the default.
        ([session(0, 18.0, 10.0, 5.0)], at(5, 18.0), DEFAULT_DURATION_H),
        # Zero-length sessions are glitches, not durations.
        ([session(0, 18.0, 0.0, 0.0), session(1, 18.0, 8.0, 5.0)], at(2, 18.0), 8.0),
    ],
)
def test_the_baseline_is_the_weekday_type_median(
    history: list[PastSession], plugged_in_at: datetime, expected_h: float
) -> None:
    assert baseline_departure(history, plugged_in_at) == pytest.approx(expected_h)


def test_a_declared_departure_takes_its_trust_and_leaves_the_rest_to_the_learned_model() -> None:
    learned = predict_departure(commuter(6), at(6 * 7 + 1, 17.5), 10.0)  # about 07:30
    half_past_one = learned.plugged_in_at + timedelta(hours=8)
    mixed = learned.with_declared_departure(half_past_one, 0.9)
    just_before = half_past_one - timedelta(minutes=1)
    assert mixed.prob_departed_by(half_past_one) == pytest.approx(
        0.9 + 0.1 * learned.prob_departed_by(half_past_one)
    )
    assert mixed.prob_departed_by(just_before) == pytest.approx(
        0.1 * learned.prob_departed_by(just_before)
    )
    assert learned.with_declared_departure(half_past_one, 0.0) is learned
    assert learned.with_declared_departure(learned.plugged_in_at, 0.9) is learned
    with pytest.raises(ValueError, match="trust"):
        learned.with_declared_departure(half_past_one, 1.5)
