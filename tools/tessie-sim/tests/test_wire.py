"""Tessie's wire shapes of the simulated cars: the scheduled departure a car shows."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from tc_tessie_sim.fleet import OSLO, VehicleProfile, build_fleet, state_at
from tc_tessie_sim.wire import charge_state

MONDAY = date(2025, 3, 10)
NEXT_MONDAY = MONDAY + timedelta(days=7)


def _fleet() -> list[VehicleProfile]:
    return build_fleet(3, seed=1)


def _scheduler() -> VehicleProfile:
    [profile] = [p for p in _fleet() if p.uses_scheduled_departure]
    return profile


def _shown(profile: VehicleProfile, at: datetime) -> dict[str, object]:
    t_s = int(at.timestamp())
    return charge_state(profile, state_at(profile, t_s), t_s * 1000)


def _usual(profile: VehicleProfile, day: date) -> int:
    minutes = round(profile.rhythm[day.weekday()].departure_min_mean)
    return int(
        (
            datetime(day.year, day.month, day.day, tzinfo=OSLO) + timedelta(minutes=minutes)
        ).timestamp()
    )


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def test_exactly_one_car_of_the_default_fleet_uses_scheduled_departure() -> None:
    assert [p.uses_scheduled_departure for p in _fleet()] == [False, False, True]
    assert sum(p.uses_scheduled_departure for p in build_fleet(8, seed=1)) == 1


@pytest.mark.parametrize(
    ("at", "departure_day", "enabled"),
    [
        (_local(MONDAY, 4), MONDAY, True),
        (_local(MONDAY, 12), MONDAY + timedelta(days=1), True),
        (_local(MONDAY + timedelta(days=3), 23, 59), MONDAY + timedelta(days=4), True),
        (_local(MONDAY + timedelta(days=4), 4), MONDAY + timedelta(days=4), True),
        (_local(MONDAY + timedelta(days=4), 12), NEXT_MONDAY, True),
        (_local(MONDAY + timedelta(days=5), 9), NEXT_MONDAY, False),
        (_local(MONDAY + timedelta(days=6), 23), NEXT_MONDAY, False),
    ],
    ids=[
        "monday-before-its-departure",
        "monday-after-its-departure",
        "thursday-night",
        "friday-before-its-departure",
        "friday-after-its-departure",
        "saturday",
        "sunday-night",
    ],
)
def test_the_scheduling_car_shows_its_next_working_day_departure_enabled_on_working_days(
    at: datetime, departure_day: date, enabled: bool
) -> None:
    profile = _scheduler()

    shown = _shown(profile, at)

    assert shown["scheduled_departure_time"] == _usual(profile, departure_day)
    assert shown["scheduled_departure_time_minutes"] == round(
        profile.rhythm[departure_day.weekday()].departure_min_mean
    )
    assert shown["preconditioning_enabled"] is enabled
    assert shown["off_peak_charging_enabled"] is False


def test_at_the_departure_instant_the_car_already_shows_the_next_one() -> None:
    profile = _scheduler()
    departure_s = _usual(profile, MONDAY)

    shown = _shown(profile, datetime.fromtimestamp(departure_s, OSLO))

    assert shown["scheduled_departure_time"] == _usual(profile, MONDAY + timedelta(days=1))


@pytest.mark.parametrize(
    "at",
    [_local(MONDAY, 4), _local(MONDAY, 12), _local(MONDAY + timedelta(days=5), 12)],
    ids=["monday-morning", "monday-noon", "saturday-noon"],
)
def test_other_cars_show_the_days_usual_departure_with_the_feature_off(at: datetime) -> None:
    for profile in (p for p in _fleet() if not p.uses_scheduled_departure):
        shown = _shown(profile, at)

        assert shown["scheduled_departure_time"] == _usual(profile, at.date())
        assert shown["preconditioning_enabled"] is False
        assert shown["off_peak_charging_enabled"] is False


def test_the_scheduling_car_without_the_habit_shows_what_the_others_show() -> None:
    profile = _scheduler()
    plain = replace(profile, uses_scheduled_departure=False)
    noon = _local(MONDAY, 12)

    shown = _shown(plain, noon)

    assert shown["scheduled_departure_time"] == _usual(profile, MONDAY)
    assert shown["preconditioning_enabled"] is False
