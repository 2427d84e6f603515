"""The simulator over HTTP at every moment of ``tc_testkit.moments``: what it serves agrees
with itself whatever the day and hour (sleeping, driving, charging, across a DST jump and the
new year), for the demo fleet and for cars that also sleep at home."""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tc_common.clock import FixedClock
from tc_tessie_sim.fleet import Activity, SimulatedCar, SleepStatus, build_fleet
from tc_tessie_sim.server import RunningSimulator
from tc_testkit.fleet import SENTRY_SHARES, SIM_TOKEN, serving_fleet
from tc_testkit.moments import MOMENTS, Moment, each_moment

STEPS = 4
STEP = timedelta(seconds=30)


# One simulator per fleet for the whole module (its cars remember what they replayed), its
# clock set to each test's moment.
_CLOCK = FixedClock(MOMENTS[0].at)


@pytest.fixture(scope="module", params=SENTRY_SHARES.values(), ids=SENTRY_SHARES.keys())
def fleet(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    with serving_fleet(request.param, _CLOCK) as running:
        yield running


@pytest.fixture
def clock(moment: Moment) -> FixedClock:
    _CLOCK.set(moment.at)
    return _CLOCK


@pytest.fixture
def sim(fleet: RunningSimulator, clock: FixedClock) -> RunningSimulator:
    return fleet


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {SIM_TOKEN}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as c:
        yield c


@each_moment()
def test_status_and_cached_state_agree_as_time_passes(
    moment: Moment, sim: RunningSimulator, client: httpx.Client, clock: FixedClock
) -> None:
    for _ in range(STEPS):
        now_s = clock.now().timestamp()
        for vin, car in sim.simulator.cars.items():
            truth = car.state_at(clock.now())
            status = client.get(f"/{vin}/status").json()["status"]
            state = client.get(f"/{vin}/state").json()
            stamp_s = state["charge_state"]["timestamp"] / 1000
            assert status == truth.sleep.value, (moment, vin)
            assert stamp_s <= now_s
            if truth.sleep is SleepStatus.ASLEEP:
                assert state["state"] == "asleep"
                assert truth.fell_asleep_at_s is not None
                assert stamp_s <= truth.fell_asleep_at_s  # frozen as it fell asleep
            else:
                assert state["state"] == "online"
                assert now_s - stamp_s < 10  # refreshed every 10 s while awake
            drive = state["drive_state"]
            if truth.activity is Activity.DRIVING:
                assert drive["shift_state"] in ("D", "R")
                assert drive["speed"] is not None
            elif truth.sleep is not SleepStatus.ASLEEP:
                assert drive["shift_state"] is None
                assert drive["speed"] is None
            assert 0 <= state["charge_state"]["battery_level"] <= 100
        clock.advance(STEP)
    assert sum(sim.stats()["wakes"].values()) == 0  # /status and cached reads never wake


@each_moment()
def test_history_up_to_the_moment_is_finished_and_ends_where_the_car_is(
    moment: Moment, sim: RunningSimulator, client: httpx.Client, clock: FixedClock
) -> None:
    now = clock.now()
    window = {
        "from": int((now - timedelta(days=7)).timestamp()),
        "to": int(now.timestamp()),
        "distance_format": "km",
    }
    for vin, car in sim.simulator.cars.items():
        drives = client.get(f"/{vin}/drives", params=window).json()["results"]
        charges = client.get(f"/{vin}/charges", params=window).json()["results"]
        assert drives, f"{moment}: a week without a drive"
        assert all(r["ended_at"] <= now.timestamp() for r in drives + charges)
        odometer_km = car.state_at(now).odometer_km
        newest = max(drives, key=lambda d: d["ended_at"])
        assert newest["ending_odometer"] <= odometer_km + 0.01
        if car.state_at(now).activity is Activity.PARKED:
            assert newest["ending_odometer"] == pytest.approx(odometer_km, abs=0.01)


def test_the_moments_cover_sleeping_driving_and_charging_cars() -> None:
    """The matrix is only worth its time if the fleet does different things at its moments."""
    seen: set[str] = set()
    for share in (1.0, 0.0):
        cars = [SimulatedCar(p) for p in build_fleet(3, 1, share)]
        for m in MOMENTS:
            for car in cars:
                s = car.state_at(m.at)
                seen.add(s.sleep.value)
                seen.add(s.activity.value)
                seen.add("charging" if s.charging_state == "Charging" else "not-charging")
    assert {"asleep", "awake", "driving", "parked", "charging"} <= seen
