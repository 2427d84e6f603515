"""The learned behaviour profile: rhythm, energy, charging places, learning state, changes."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tc_common.events import WeekdayRhythm
from tc_forecast.domain.behaviour.episodes import distance_m
from tc_forecast.domain.behaviour.profile import (
    BehaviourProfile,
    ProfileConfig,
    build_profile,
    learned_target_pct,
    profile_changed,
    weighted_quantile,
)
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history

OSLO = ZoneInfo("Europe/Oslo")
CAR = Commuter()
FIRST = date(2026, 1, 5)  # a Monday


def morning(day: date) -> datetime:
    """05:00 local on ``day``: before the car leaves, after the night."""
    return datetime(day.year, day.month, day.day, 5, tzinfo=OSLO).astimezone(UTC)


def profile_after(days: int, **kwargs: object) -> BehaviourProfile:
    drives, charges = commuter_history(FIRST, days, **kwargs)  # type: ignore[arg-type]
    profile = build_profile(CAR.vehicle_id, drives, charges, morning(FIRST + timedelta(days)))
    assert profile is not None
    return profile


def weekday_median(profile: BehaviourProfile, field: str) -> float:
    values = [getattr(w, field) for w in profile.weekdays[:5]]
    return sorted(values)[2]


@pytest.mark.parametrize(
    ("values", "weights", "q", "expected"),
    [
        ([1, 2, 3, 4], [1, 1, 1, 1], 0.5, 2.5),
        ([1, 2, 3, 4], [1, 1, 1, 1], 0.0, 1.0),  # never extrapolates
        ([1, 2, 3, 4], [1, 1, 1, 1], 1.0, 4.0),
        ([1, 2, 3, 4], [1, 1, 1, 100], 0.5, 3.97),  # a heavy value pulls the median
        ([5, 1], [1, 1], 0.5, 3.0),  # order does not matter
        ([1, 2], [0, 0], 0.5, None),
        ([], [], 0.5, None),
    ],
)
def test_weighted_quantile(
    values: list[float], weights: list[float], q: float, expected: float | None
) -> None:
    found = weighted_quantile(values, weights, q)
    assert found == (None if expected is None else pytest.approx(expected, abs=0.01))


@pytest.mark.parametrize(
    ("days", "state", "until_ready", "until_fully_trained"),
    [
        (1, "learning", 13, 29),
        (13, "learning", 1, 17),
        (14, "ready", 0, 16),
        (29, "ready", 0, 1),
        (30, "fully_trained", 0, 0),
        (45, "fully_trained", 0, 0),
    ],
)
def test_learning_state_follows_the_days_observed(
    days: int, state: str, until_ready: int, until_fully_trained: int
) -> None:
    profile = profile_after(days)
    assert (
        profile.days_observed,
        profile.learning_state,
        profile.days_until_ready,
        profile.days_until_fully_trained,
    ) == (days, state, until_ready, until_fully_trained)


def test_no_history_is_no_profile() -> None:
    assert build_profile(CAR.vehicle_id, [], [], morning(FIRST)) is None


def test_a_commuter_profile_learns_rhythm_energy_and_home_charging() -> None:
    profile = profile_after(21)

    # Weekdays: leaves about 07:30, back about 16:15 + the drive (local wall-clock time).
    assert weekday_median(profile, "first_departure_p50_min") == pytest.approx(7.5 * 60, abs=10)
    assert weekday_median(profile, "last_return_p50_min") == pytest.approx(16.2 * 60, abs=20)
    for w in profile.weekdays[:5]:
        assert w.first_departure_p10_min is not None
        assert w.first_departure_p90_min is not None
        assert w.first_departure_p10_min <= w.first_departure_p50_min <= w.first_departure_p90_min  # type: ignore[operator]
    # Weekends are driven less, and later.
    weekday_share = sum(w.drive_probability for w in profile.weekdays[:5]) / 5
    weekend_share = sum(w.drive_probability for w in profile.weekdays[5:]) / 2
    assert weekend_share < 0.8 < weekday_share
    assert profile.weekdays[5].first_departure_p50_min > 9 * 60  # type: ignore[operator]
    # Two commutes of ~16-17.6 km at 0.17 kWh/km.
    assert weekday_median(profile, "distance_p50_km") == pytest.approx(33, abs=2)
    assert weekday_median(profile, "energy_p50_kwh") == pytest.approx(33 * 0.17, abs=0.5)

    (home,) = profile.locations
    assert home.kind == "home"
    assert distance_m(home.latitude_deg, home.longitude_deg, *CAR.home) < 100
    assert home.share_of_sessions == 1.0
    assert home.effective_power_kw == pytest.approx(CAR.charger_kw * CAR.efficiency, rel=0.02)
    assert home.efficiency == pytest.approx(CAR.efficiency, abs=0.01)
    assert profile.capacity_kwh == pytest.approx(CAR.capacity_kwh, rel=0.03)
    assert profile.consumption_kwh_per_km == pytest.approx(CAR.consumption_kwh_per_km, rel=0.02)
    # It plugs in below 60 %: about every fourth day; the need covers those days.
    assert home.plug_in_probability_per_day is not None
    assert 0.15 < home.plug_in_probability_per_day < 0.4
    assert profile.days_between_plug_ins == pytest.approx(
        1 / home.plug_in_probability_per_day, abs=1
    )
    assert profile.energy_need_kwh is not None
    assert profile.daily_energy_p90_kwh is not None
    assert profile.energy_need_kwh >= profile.daily_energy_p90_kwh
    assert profile.energy_need_kwh <= profile.days_between_plug_ins * 7.0
    assert "leaves at 07:" in profile.summary
    assert profile.event().learning_state == "ready"


def test_a_holiday_away_does_not_move_the_weekday_rhythm() -> None:
    days = 63
    plain = profile_after(days)
    # The last fortnight but one at a cabin 130 km away, with late mornings.
    holiday = (FIRST + timedelta(days=42), FIRST + timedelta(days=52))
    away = profile_after(days, holiday=holiday)

    absent = [r.day for r in away.days if r.absent]
    assert absent[0] == holiday[0]
    assert absent[-1] == holiday[1]
    for a, p in zip(away.weekdays[:5], plain.weekdays[:5], strict=True):
        # Late mornings at the cabin would move the p90 departure by hours.
        assert a.first_departure_p90_min == pytest.approx(p.first_departure_p90_min, abs=25)
        assert a.first_departure_p50_min == pytest.approx(p.first_departure_p50_min, abs=25)
        # And the 150 km drives there and back would dominate the p90 energy.
        assert a.energy_p90_kwh == pytest.approx(p.energy_p90_kwh, abs=1.0)
    assert away.home_location is not None
    assert (
        distance_m(away.home_location.latitude_deg, away.home_location.longitude_deg, *CAR.home)
        < 100
    )
    assert away.energy_need_kwh == pytest.approx(plain.energy_need_kwh, rel=0.25)


def test_recent_weeks_outweigh_older_ones() -> None:
    early = Commuter(depart_min=7 * 60)
    late = Commuter(depart_min=9 * 60)
    old_drives, old_charges = commuter_history(FIRST, 56, car=early)
    new_drives, new_charges = commuter_history(FIRST + timedelta(days=56), 28, car=late, seed=2)
    # Ids of the second period continue after the first.
    new_drives = [d.model_copy(update={"drive_id": d.drive_id + 10_000}) for d in new_drives]
    new_charges = [c.model_copy(update={"charge_id": c.charge_id + 10_000}) for c in new_charges]
    now = morning(FIRST + timedelta(days=84))

    profile = build_profile(CAR.vehicle_id, old_drives + new_drives, old_charges + new_charges, now)
    unweighted = build_profile(
        CAR.vehicle_id,
        old_drives + new_drives,
        old_charges + new_charges,
        now,
        ProfileConfig(half_life_days=1e9),
    )

    assert profile is not None
    assert unweighted is not None
    # Two thirds of the days leave at 07:00, but the last four weeks weigh more.
    assert weekday_median(unweighted, "first_departure_p50_min") == pytest.approx(7 * 60, abs=15)
    assert weekday_median(profile, "first_departure_p50_min") == pytest.approx(9 * 60, abs=15)


def test_the_rhythm_is_wall_clock_time_across_a_daylight_saving_change() -> None:
    # 2026-03-29: clocks go forward; the commuter still leaves at 07:30 local.
    drives, charges = commuter_history(date(2026, 3, 16), 28)
    profile = build_profile(CAR.vehicle_id, drives, charges, morning(date(2026, 4, 13)))
    assert profile is not None
    for w in profile.weekdays[:5]:
        assert w.first_departure_p50_min == pytest.approx(7.5 * 60, abs=15)


def test_only_whole_days_before_today_count() -> None:
    drives, charges = commuter_history(FIRST, 15)
    day = FIRST + timedelta(days=14)  # the 15th day, a Monday
    at_noon = datetime(day.year, day.month, day.day, 12, tzinfo=OSLO).astimezone(UTC)
    at_dawn = morning(day)
    noon = build_profile(CAR.vehicle_id, drives, charges, at_noon)
    dawn = build_profile(CAR.vehicle_id, drives, charges, at_dawn)
    assert noon is not None
    assert dawn is not None
    assert noon.days_observed == dawn.days_observed == 14
    # The morning's drive to work is not yet a day of the rhythm.
    assert [r.day for r in noon.days] == [r.day for r in dawn.days]


def _nudged(profile: BehaviourProfile, **changes: object) -> BehaviourProfile:
    monday = profile.weekdays[0]
    return replace(profile, weekdays=(monday.model_copy(update=changes), *profile.weekdays[1:]))


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("nothing moved", lambda p: p, False),
        ("a day more while ready", lambda p: replace(p, days_observed=p.days_observed + 1), True),
        (
            "a departure 5 minutes later",
            lambda p: _nudged(p, first_departure_p50_min=p.weekdays[0].first_departure_p50_min + 5),
            False,
        ),
        (
            "a departure 20 minutes later",
            lambda p: _nudged(
                p, first_departure_p50_min=p.weekdays[0].first_departure_p50_min + 20
            ),
            True,
        ),
        (
            "drive probability down by 0.2",
            lambda p: _nudged(p, drive_probability=p.weekdays[0].drive_probability - 0.2),
            True,
        ),
        (
            "energy need up 30 %",
            lambda p: replace(p, energy_need_kwh=(p.energy_need_kwh or 0) * 1.3),
            True,
        ),
        (
            "home charging power up 20 %",
            lambda p: replace(
                p,
                locations=(
                    p.locations[0].model_copy(
                        update={"effective_power_kw": p.locations[0].effective_power_kw * 1.2}
                    ),
                ),
            ),
            True,
        ),
        ("learning state", lambda p: replace(p, learning_state="fully_trained"), True),
    ],
)
def test_a_profile_is_news_only_when_it_moved_materially(
    name: str, change: object, expected: bool
) -> None:
    profile = profile_after(20)
    assert callable(change)
    assert profile_changed(profile, change(profile)) is expected, name


def test_a_first_profile_and_daily_progress_are_news_but_not_a_fully_trained_day_count() -> None:
    trained = profile_after(40)
    assert profile_changed(None, trained)
    assert not profile_changed(trained, replace(trained, days_observed=41))
    learning = profile_after(5)
    assert profile_changed(learning, profile_after(6))


def test_the_same_history_a_day_later_changes_only_the_day_count() -> None:
    drives, charges = commuter_history(FIRST, 40)
    now = morning(FIRST + timedelta(days=40))
    today = build_profile(CAR.vehicle_id, drives, charges, now)
    # An hour later nothing new happened: the weights moved a little, not the profile.
    later = build_profile(CAR.vehicle_id, drives, charges, now + timedelta(hours=1))
    assert today is not None
    assert later is not None
    assert not profile_changed(today, later)


@pytest.mark.parametrize(
    ("need_kwh", "reserve_pct", "expected"),
    [(15.0, 20.0, 40.0), (0.0, 20.0, 20.0), (90.0, 20.0, 100.0), (None, 20.0, None)],
)
def test_learned_target_covers_the_need_above_the_reserve(
    need_kwh: float | None, reserve_pct: float, expected: float | None
) -> None:
    profile = replace(profile_after(20), energy_need_kwh=need_kwh, capacity_kwh=75.0)
    assert learned_target_pct(profile, reserve_pct=reserve_pct) == (
        None if expected is None else pytest.approx(expected)
    )


def test_a_learning_profile_says_which_day_it_is() -> None:
    profile = profile_after(5)
    assert profile.summary.startswith("Learning the driving rhythm: day 5 of 14")
    assert isinstance(profile.weekdays[0], WeekdayRhythm)
