"""Plug-in sessions from recorded drives and charges."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events import ChargeRecorded, DriveRecorded
from tc_forecast.domain.behaviour.episodes import (
    distance_m,
    past_sessions,
    plug_sessions,
    unique_charges,
    unique_drives,
)
from tc_testkit import history

HOME = (63.4000, 10.4000)
WORK = (63.4300, 10.6500)
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def drive(
    drive_id: int,
    start_h: float,
    end_h: float,
    to: tuple[float, float] = HOME,
    frm: tuple[float, float] = WORK,
) -> DriveRecorded:
    return history.drive(
        at(start_h),
        drive_id=drive_id,
        ended_at=at(end_h),
        starting_latitude_deg=frm[0],
        starting_longitude_deg=frm[1],
        ending_latitude_deg=to[0],
        ending_longitude_deg=to[1],
    )


def charge(
    charge_id: int,
    start_h: float,
    end_h: float,
    kwh: float = 10.0,
    where: tuple[float, float] = HOME,
    *,
    supercharger: bool = False,
) -> ChargeRecorded:
    return history.charge(
        at(start_h),
        charge_id=charge_id,
        ended_at=at(end_h),
        latitude_deg=where[0],
        longitude_deg=where[1],
        is_supercharger=supercharger,
        energy_added_kwh=kwh,
        energy_used_kwh=kwh / 0.9,
    )


@pytest.mark.parametrize(
    ("name", "drives", "charges", "expected"),
    [
        (
            "a scheduled charge: plugged in on arrival, out at the next drive",
            [drive(1, 16, 16.5), drive(2, 31, 31.5, to=WORK, frm=HOME)],
            [charge(1, 25, 28)],
            [(16.5, 31.0, 10.0)],
        ),
        (
            "a paused and resumed charge is one session",
            [drive(1, 16, 16.5), drive(2, 31, 31.5, to=WORK, frm=HOME)],
            [charge(1, 17, 18, 5.0), charge(2, 25, 27, 7.0)],
            [(16.5, 31.0, 12.0)],
        ),
        (
            "a charge elsewhere than where the drive ended starts its own plug-in",
            [drive(1, 16, 16.5, to=WORK, frm=HOME), drive(2, 20, 20.5, frm=WORK)],
            [charge(1, 18, 19, where=(63.5, 10.9))],
            [(18.0, 20.0, 10.0)],
        ),
        (
            "a car plugged in long after it arrived is plugged in when it charged",
            [drive(1, 0, 0.5), drive(2, 50, 50.5, to=WORK, frm=HOME)],
            [charge(1, 30, 32)],
            [(30.0, 50.0, 10.0)],
        ),
        (
            "a car that has not driven since is still plugged in",
            [drive(1, 16, 16.5)],
            [charge(1, 17, 19)],
            [(16.5, None, 10.0)],
        ),
        (
            "two nights are two sessions",
            [
                drive(1, 16, 16.5),
                drive(2, 31, 31.5, to=WORK, frm=HOME),
                drive(3, 40, 40.5),
                drive(4, 55, 55.5, to=WORK, frm=HOME),
            ],
            [charge(1, 17, 19), charge(2, 41, 43, 8.0)],
            [(16.5, 31.0, 10.0), (40.5, 55.0, 8.0)],
        ),
    ],
)
def test_plug_sessions_run_from_arrival_to_the_next_drive(
    name: str,
    drives: list[DriveRecorded],
    charges: list[ChargeRecorded],
    expected: list[tuple[float, float | None, float]],
) -> None:
    sessions = plug_sessions(unique_drives(drives), unique_charges(charges))

    def hours(t: datetime | None) -> float | None:
        return None if t is None else round((t - T0).total_seconds() / 3600, 6)

    found = [
        (hours(s.plugged_in_at), hours(s.plugged_out_at), s.energy_added_kwh) for s in sessions
    ]
    assert found == expected, name


def test_a_republished_episode_replaces_the_earlier_copy() -> None:
    first = charge(1, 17, 19, 10.0)
    corrected = charge(1, 17, 20, 14.0)
    assert unique_charges([first, corrected]) == [corrected]
    assert unique_drives([drive(1, 16, 16.5), drive(1, 16, 16.6)])[0].ended_at == at(16.6)


def test_past_sessions_keep_only_finished_routine_sessions_at_the_place() -> None:
    drives = [
        drive(1, 16, 16.5),
        drive(2, 31, 31.5, to=WORK, frm=HOME),  # charges at work
        drive(3, 40, 40.5, to=HOME, frm=WORK),
        drive(4, 55, 55.5, to=(62.0, 9.0), frm=HOME),  # a Supercharger stop on a trip
        drive(5, 56, 57, to=HOME, frm=(62.0, 9.0)),
        drive(6, 60, 60.5, to=WORK, frm=HOME),
        drive(7, 61, 61.5, to=HOME, frm=WORK),  # then a week at home, plugged in
        drive(8, 61 + 24 * 7, 62 + 24 * 7, to=WORK, frm=HOME),
    ]
    charges = [
        charge(1, 17, 19),
        charge(2, 32, 34, where=WORK),
        charge(3, 55.6, 55.9, where=(62.0, 9.0), supercharger=True),
        charge(4, 62, 64),
    ]
    sessions = plug_sessions(drives, charges)
    assert len(sessions) == 4

    at_home = past_sessions(sessions, before=at(1000), latitude_deg=HOME[0], longitude_deg=HOME[1])
    at_work = past_sessions(sessions, before=at(1000), latitude_deg=WORK[0], longitude_deg=WORK[1])
    early = past_sessions(sessions, before=at(35))

    assert [(s.plugged_in_at, s.plugged_out_at) for s in at_home] == [(at(16.5), at(31))]
    assert [(s.plugged_in_at, s.plugged_out_at) for s in at_work] == [(at(31.5), at(40))]
    assert [s.plugged_out_at for s in early] == [at(31)]


def test_distance_is_great_circle_metres() -> None:
    # One degree of latitude is about 111.2 km everywhere.
    assert distance_m(63.0, 10.0, 64.0, 10.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(*HOME, *HOME) == 0.0
