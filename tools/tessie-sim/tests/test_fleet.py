"""The fleet model: deterministic, physically plausible, consistent with its own history."""

import itertools
import statistics
import time
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from tc_tessie_sim.fleet import (
    CHARGE_EFFICIENCY,
    OSLO,
    Activity,
    SimulatedCar,
    SleepStatus,
    VehicleProfile,
    build_fleet,
    build_profile,
    plan_day,
)

WEEK_START = datetime(2025, 3, 10, tzinfo=OSLO)  # a Monday


def _profile(**changes: object) -> VehicleProfile:
    return replace(build_profile(0, seed=7, sentry_at_home=False), **changes)  # type: ignore[arg-type]


def _local(t_s: int) -> datetime:
    return datetime.fromtimestamp(t_s, OSLO)


class TestBuildFleet:
    def test_same_arguments_build_the_same_fleet(self) -> None:
        assert build_fleet(5, seed=3, sentry_share=0.4) == build_fleet(5, seed=3, sentry_share=0.4)

    def test_vins_look_like_tesla_vins_and_are_unique(self) -> None:
        vins = [p.vin for p in build_fleet(12, seed=1)]
        assert len(set(vins)) == 12
        for vin in vins:
            assert len(vin) == 17
            assert vin.isalnum()
            assert vin.isupper()
            assert not set("IOQ") & set(vin)

    @pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.5, 2), (1.0, 4)])
    def test_sentry_share_decides_how_many_cars_keep_sentry_on_at_home(
        self, share: float, expected: int
    ) -> None:
        fleet = build_fleet(4, seed=1, sentry_share=share)
        assert sum(p.sentry_at_home for p in fleet) == expected

    def test_cars_live_in_norway(self) -> None:
        for p in build_fleet(6, seed=2):
            assert 57.9 < p.home.latitude_deg < 71.2
            assert 4.5 < p.home.longitude_deg < 31.1


class TestDeterminism:
    def test_the_same_instant_yields_the_same_state_in_a_fresh_simulation(self) -> None:
        profile = _profile()
        t = int((WEEK_START + timedelta(days=2, hours=8, minutes=13)).timestamp())
        warm = SimulatedCar(profile)
        for days_back in (30, 1, 0):  # fill the memo in an unusual order first
            warm.state_at(t - days_back * 86_400)
        assert SimulatedCar(profile).state_at(t) == warm.state_at(t)

    def test_history_is_the_same_whenever_it_is_asked_for(self) -> None:
        profile = _profile()
        first = SimulatedCar(profile).drives(WEEK_START, WEEK_START + timedelta(days=7))
        second_car = SimulatedCar(profile)
        second_car.state_at(WEEK_START + timedelta(days=60))
        assert second_car.drives(WEEK_START, WEEK_START + timedelta(days=7)) == first

    def test_different_seeds_give_different_lives(self) -> None:
        a = SimulatedCar(_profile(seed=1)).drives(WEEK_START, WEEK_START + timedelta(days=7))
        b = SimulatedCar(_profile(seed=2)).drives(WEEK_START, WEEK_START + timedelta(days=7))
        assert [d.started_at_s for d in a] != [d.started_at_s for d in b]

    def test_instants_before_the_simulation_epoch_are_refused(self) -> None:
        with pytest.raises(ValueError, match="starts on"):
            SimulatedCar(_profile()).state_at(datetime(2023, 6, 1, tzinfo=OSLO))

    def test_a_state_is_cheap_enough_to_serve_many_requests_per_second(self) -> None:
        car = SimulatedCar(_profile())
        t0 = int(WEEK_START.timestamp())
        car.snapshot_at(t0)
        started = time.perf_counter()
        for i in range(500):
            car.snapshot_at(t0 + i * 97)
        assert time.perf_counter() - started < 1.0


class TestEnergy:
    def test_driving_uses_charge_and_adds_distance(self) -> None:
        car = SimulatedCar(_profile())
        drives = car.drives(WEEK_START, WEEK_START + timedelta(days=7))
        assert len(drives) >= 6
        for d in drives:
            before, after = car.state_at(d.started_at_s - 1), car.state_at(d.ended_at_s)
            assert after.battery_level_pct < before.battery_level_pct
            assert after.odometer_km == pytest.approx(before.odometer_km + d.distance_km)
            expected_pct = d.energy_kwh / car.profile.battery_kwh * 100
            drop = before.battery_level_pct - after.battery_level_pct
            assert drop == pytest.approx(expected_pct, abs=0.05)

    def test_charging_adds_about_charger_power_times_time_minus_losses(self) -> None:
        profile = _profile(charger_kw=7.4, charge_limit_pct=90)
        car = SimulatedCar(profile)
        charge = next(
            c
            for c in car.charges(WEEK_START, WEEK_START + timedelta(days=14))
            if c.ended_at_s - c.started_at_s > 3600
        )
        t = charge.started_at_s
        start, later = car.state_at(t), car.state_at(t + 1800)
        assert later.charging_state == "Charging"
        assert later.charger_power_kw == 7.4
        added_kwh = (later.battery_level_pct - start.battery_level_pct) / 100 * profile.battery_kwh
        assert added_kwh == pytest.approx(7.4 * CHARGE_EFFICIENCY * 0.5, rel=0.01)
        assert later.charge_energy_added_kwh == pytest.approx(added_kwh, rel=0.01)
        assert charge.energy_used_kwh > charge.energy_added_kwh

    def test_charging_stops_at_the_limit(self) -> None:
        profile = _profile(charger_kw=11.0, charge_limit_pct=80)
        car = SimulatedCar(profile)
        for c in car.charges(WEEK_START, WEEK_START + timedelta(days=7)):
            done = car.state_at(c.ended_at_s + 600)
            assert done.battery_level_pct == pytest.approx(80.0)
            assert done.charging_state == "Complete"

    def test_sentry_at_home_drains_the_battery_faster_than_sleeping(self) -> None:
        # Never plugging in (until below 50 %) leaves nights where the battery just sits there.
        drops: dict[bool, list[float]] = {False: [], True: []}
        for sentry in (False, True):
            car = SimulatedCar(_profile(plug_in_below_pct=0.0, sentry_at_home=sentry))
            for night in range(28):
                evening = WEEK_START + timedelta(days=night, hours=23, minutes=45)
                morning = evening + timedelta(hours=5)
                a, b = car.state_at(evening), car.state_at(morning)
                if (
                    a.activity is Activity.PARKED
                    and b.activity is Activity.PARKED
                    and not (a.plugged_in or b.plugged_in)
                ):
                    drops[sentry].append(a.battery_level_pct - b.battery_level_pct)
        assert drops[False]
        assert drops[True]
        assert min(drops[False]) > 0
        assert statistics.mean(drops[True]) > 5 * statistics.mean(drops[False])


class TestSleep:
    def test_a_car_without_sentry_sleeps_at_night_unless_it_charges(self) -> None:
        car = SimulatedCar(_profile(sentry_at_home=False))
        asleep_nights = 0
        for night in range(21):
            state = car.state_at(WEEK_START + timedelta(days=night, hours=3))
            if state.charging_state != "Charging":
                assert state.sleep is SleepStatus.ASLEEP
                assert state.sentry_mode is False
                asleep_nights += 1
        assert asleep_nights >= 15

    def test_a_car_with_sentry_at_home_stays_awake_all_night(self) -> None:
        car = SimulatedCar(_profile(sentry_at_home=True))
        for night in range(14):
            state = car.state_at(WEEK_START + timedelta(days=night, hours=3))
            assert state.sleep is SleepStatus.AWAKE
            assert state.sentry_mode is True

    def test_an_idle_car_waits_then_falls_asleep_fifteen_minutes_after_its_last_activity(
        self,
    ) -> None:
        car = SimulatedCar(_profile(sentry_at_home=False))
        drive_to_work = car.drives(WEEK_START, WEEK_START + timedelta(days=1))[0]
        end = drive_to_work.ended_at_s
        assert car.state_at(end - 60).sleep is SleepStatus.AWAKE
        assert car.state_at(end + 60).sleep is SleepStatus.AWAKE
        assert car.state_at(end + 10 * 60).sleep is SleepStatus.WAITING_FOR_SLEEP
        assert car.state_at(end + 16 * 60).sleep is SleepStatus.ASLEEP

    def test_a_wake_keeps_the_car_awake_for_another_fifteen_minutes(self) -> None:
        car = SimulatedCar(_profile(sentry_at_home=False))
        end = car.drives(WEEK_START, WEEK_START + timedelta(days=1))[0].ended_at_s
        woke = end + 3600
        assert car.state_at(woke + 60).sleep is SleepStatus.ASLEEP
        assert car.state_at(woke + 60, last_poke_s=woke).sleep is SleepStatus.AWAKE
        assert car.state_at(woke + 16 * 60, last_poke_s=woke).sleep is SleepStatus.ASLEEP

    def test_the_cache_of_an_asleep_car_is_frozen_at_the_moment_it_fell_asleep(self) -> None:
        car = SimulatedCar(_profile(sentry_at_home=False))
        end = car.drives(WEEK_START, WEEK_START + timedelta(days=1))[0].ended_at_s
        one, two = car.snapshot_at(end + 3600), car.snapshot_at(end + 4 * 3600)
        assert one.status is SleepStatus.ASLEEP
        assert one.snapshot_at_s == two.snapshot_at_s
        assert end + 15 * 60 - 10 < one.snapshot_at_s <= end + 15 * 60
        assert one.online_state == "asleep"

    def test_the_cache_of_an_awake_car_refreshes_every_ten_seconds(self) -> None:
        car = SimulatedCar(_profile(sentry_at_home=True))
        t = int((WEEK_START + timedelta(hours=2)).timestamp()) + 7
        snap = car.snapshot_at(t)
        assert snap.snapshot_at_s == t - t % 10
        assert snap.status is SleepStatus.AWAKE


class TestHistory:
    def test_drives_and_charges_match_the_states_they_caused(self) -> None:
        car = SimulatedCar(_profile(charger_kw=3.6))
        drives = car.drives(WEEK_START, WEEK_START + timedelta(days=7))
        charges = car.charges(WEEK_START, WEEK_START + timedelta(days=7))
        for d in drives:
            middle = car.state_at((d.started_at_s + d.ended_at_s) // 2)
            assert middle.activity is Activity.DRIVING
            assert middle.speed_kmh is not None
            assert middle.shift_state == "D"
            parked = car.state_at(d.started_at_s - 60)
            assert parked.speed_kmh is None
            assert parked.shift_state is None
        for earlier, later in itertools.pairwise(drives):
            assert later.starting_odometer_km == pytest.approx(earlier.ending_odometer_km)
        for c in charges:
            assert car.state_at((c.started_at_s + c.ended_at_s) // 2).charging_state == "Charging"
            assert car.state_at(c.ended_at_s + 1).charging_state != "Charging"
            homecoming = [d for d in drives if d.ended_at_s <= c.started_at_s][-1]
            assert homecoming.end.saved_name == "Home"
            assert c.started_at_s - homecoming.ended_at_s == 120
            assert c.starting_soc_pct == pytest.approx(
                car.state_at(c.started_at_s).battery_level_pct
            )

    def test_a_charge_is_cut_short_when_the_car_leaves(self) -> None:
        profile = _profile(charger_kw=0.5, charge_limit_pct=100)
        car = SimulatedCar(profile)
        charges = car.charges(WEEK_START, WEEK_START + timedelta(days=14))
        departures = {
            d.started_at_s for d in car.drives(WEEK_START, WEEK_START + timedelta(days=15))
        }
        cut = [c for c in charges if c.ended_at_s in departures]
        assert cut
        for c in cut:
            assert c.ending_soc_pct < 100
            assert car.state_at(c.ended_at_s).activity is Activity.DRIVING
            assert car.state_at(c.ended_at_s).charging_state == "Disconnected"

    def test_only_episodes_within_the_window_are_listed(self) -> None:
        car = SimulatedCar(_profile())
        lo, hi = WEEK_START + timedelta(days=1), WEEK_START + timedelta(days=3)
        for d in car.drives(lo, hi):
            assert lo.timestamp() <= d.started_at_s
            assert d.ended_at_s <= hi.timestamp()


class TestRhythm:
    def _departures(self, profile: VehicleProfile, days: range, start: date) -> list[datetime]:
        out = []
        for n in days:
            trip = plan_day(profile, start + timedelta(days=n)).trip
            if trip is not None:
                out.append(_local(trip.depart_s))
        return out

    def test_weekdays_go_to_work_and_weekends_go_elsewhere_later_and_less_often(self) -> None:
        profile = _profile()
        plans = [plan_day(profile, date(2025, 1, 6) + timedelta(days=n)) for n in range(52 * 7)]
        weekday = [p.trip for p in plans if p.trip and p.day.weekday() < 5]
        weekend = [p.trip for p in plans if p.trip and p.day.weekday() >= 5]
        assert all(t.destination.saved_name == "Work" for t in weekday)
        assert all(t.destination.saved_name is None for t in weekend)

        def minute(t_s: int) -> int:
            return _local(t_s).hour * 60 + _local(t_s).minute

        weekend_mean = statistics.mean(minute(t.depart_s) for t in weekend)
        weekday_mean = statistics.mean(minute(t.depart_s) for t in weekday)
        assert weekend_mean > weekday_mean + 60
        assert len(weekday) / (52 * 5) > 0.85
        assert len(weekend) / (52 * 2) < 0.8

    def test_departures_keep_local_time_across_the_switch_to_summer_time(self) -> None:
        profile = _profile()
        dst = date(2025, 3, 31)  # the Monday after clocks went forward

        def weekday_minutes(start: date, utc: bool) -> float:
            deps = [d for d in self._departures(profile, range(28), start) if d.weekday() < 5]
            if utc:
                return statistics.mean((d.timestamp() % 86_400) / 60 for d in deps)
            return statistics.mean(d.hour * 60 + d.minute for d in deps)

        winter, summer = dst - timedelta(days=28), dst
        assert abs(weekday_minutes(summer, utc=False) - weekday_minutes(winter, utc=False)) < 20
        utc_shift = weekday_minutes(winter, utc=True) - weekday_minutes(summer, utc=True)
        assert utc_shift == pytest.approx(60, abs=20)


def test_over_a_year_episodes_never_overlap_and_the_battery_stays_in_bounds() -> None:
    lo, hi = datetime(2025, 1, 1, tzinfo=OSLO), datetime(2026, 1, 1, tzinfo=OSLO)
    for profile in build_fleet(4, seed=11, sentry_share=0.5):
        car = SimulatedCar(profile)
        drives, charges = car.drives(lo, hi), car.charges(lo, hi)
        assert len(drives) > 300
        assert len(charges) > 150
        for a, b in itertools.pairwise(drives):
            assert a.ended_at_s <= b.started_at_s
            assert b.starting_odometer_km == pytest.approx(a.ending_odometer_km)
        for earlier, later in itertools.pairwise(charges):
            assert earlier.ended_at_s <= later.started_at_s
        for d in drives:
            assert 9.9 <= d.ending_soc_pct < d.starting_soc_pct <= 100
            assert _local(d.ended_at_s).date() == _local(d.started_at_s).date()
        for c in charges:
            assert c.starting_soc_pct < c.ending_soc_pct <= profile.charge_limit_pct + 1e-9


def test_sentry_everywhere_keeps_a_car_awake_at_work_too() -> None:
    from datetime import UTC, datetime

    from tc_tessie_sim.fleet import SleepStatus, build_fleet, state_at

    # A Tuesday late morning (UTC): commuters are parked at work.
    at = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    home_only = build_fleet(3, seed=1, sentry_share=1.0)
    everywhere = build_fleet(3, seed=1, sentry_share=1.0, sentry_everywhere=True)
    asleep_home_only = [state_at(p, at).sleep for p in home_only]
    asleep_everywhere = [state_at(p, at).sleep for p in everywhere]
    assert SleepStatus.ASLEEP in asleep_home_only
    assert SleepStatus.ASLEEP not in asleep_everywhere


class TestPlugInHabits:
    FOUR_WEEKS = (WEEK_START, WEEK_START + timedelta(days=28))

    def test_habits_differ_across_the_fleet_relative_to_each_charge_limit(self) -> None:
        fleet = build_fleet(8, seed=1)

        gaps = [p.charge_limit_pct - p.plug_in_below_pct for p in fleet]

        always = [p.plug_in_below_pct == 100.0 for p in fleet]
        assert always == [True, False, True, False] * 2
        assert [g for g, a in zip(gaps, always, strict=True) if not a] == [15.0, 10.0] * 2

    def test_an_every_evening_plugger_charges_after_nearly_every_day_out(self) -> None:
        car = SimulatedCar(build_fleet(1, seed=1)[0])
        drives, charges = car.drives(*self.FOUR_WEEKS), car.charges(*self.FOUR_WEEKS)
        days_out = {_local(d.started_at_s).date() for d in drives}

        charge_days = {_local(c.started_at_s).date() for c in charges}
        assert len(charge_days & days_out) >= 0.9 * len(days_out)
        # Plugged in right after the homecoming drive.
        homecomings = {d.ended_at_s for d in drives if d.end.saved_name == "Home"}
        assert all(c.started_at_s - 120 in homecomings for c in charges)

    def test_a_driver_who_waits_plugs_in_only_once_the_battery_is_down(self) -> None:
        profile = build_fleet(2, seed=1)[1]
        car = SimulatedCar(profile)
        drives, charges = car.drives(*self.FOUR_WEEKS), car.charges(*self.FOUR_WEEKS)
        days_out = {_local(d.started_at_s).date() for d in drives}

        assert all(c.starting_soc_pct < profile.plug_in_below_pct for c in charges)
        assert 0.25 * len(days_out) <= len(charges) <= 0.75 * len(days_out)
        # Unplugged nights: the car is parked at home, not charging, below its limit.
        night = [
            car.state_at(
                int(datetime.combine(day, datetime.min.time(), OSLO).timestamp()) + 3 * 3600
            )
            for day in sorted(days_out)
        ]
        assert any(not s.plugged_in and s.at_home for s in night)
