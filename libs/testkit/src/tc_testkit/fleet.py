"""The simulated fleet's truth, for tests that check what the system says about it.

The simulator is a deterministic function of time, so a test can ask what any car was doing at
any instant (the moment ingest observed it, say) and compare with what the system reports.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from tc_common.clock import Clock
from tc_common.events import VehicleActivity
from tc_tessie_sim.fleet import Activity, SimulatedCar, SleepStatus, build_fleet
from tc_tessie_sim.server import RunningSimulator, running_simulator

# What `make run` and the dev stack simulate (tc_devstack.stack.StackConfig's defaults).
DEMO_SEED = 1
DEMO_SENTRY_SHARE = 1.0
SIM_TOKEN = "sim-token-123456"
# The fleets the moment matrix runs with: make run's, where sentry keeps a car awake at home,
# and one whose cars also fall asleep at home (every car asleep on a weekday night).
SENTRY_SHARES = {"sentry-at-home": DEMO_SENTRY_SHARE, "sleeps-at-home": 0.0}


@contextmanager
def serving_fleet(sentry_share: float, clock: Clock) -> Iterator[RunningSimulator]:
    """Three cars of seed 1 on a simulator over HTTP whose time is ``clock``'s."""
    with running_simulator(
        token=SIM_TOKEN, vehicles=3, seed=DEMO_SEED, sentry_share=sentry_share, now=clock
    ) as running:
        yield running


def demo_fleet(vehicles: int = 3) -> dict[str, SimulatedCar]:
    """The cars of ``make run``'s simulated fleet, by VIN."""
    return {
        p.vin: SimulatedCar(p)
        for p in build_fleet(vehicles, seed=DEMO_SEED, sentry_share=DEMO_SENTRY_SHARE)
    }


def activity_at(car: SimulatedCar, at: datetime) -> VehicleActivity:
    """What a correct observer reports the car doing at ``at``."""
    state = car.state_at(at)
    if state.sleep is SleepStatus.ASLEEP:
        return "asleep"
    if state.activity is Activity.DRIVING:
        return "driving"
    if state.charging_state == "Charging":
        return "charging"
    return "awake"


def cached_snapshot_at(car: SimulatedCar, at: datetime) -> datetime:
    """When the snapshot Tessie's cache serves at ``at`` was taken (for an asleep car: as it
    fell asleep)."""
    return datetime.fromtimestamp(car.snapshot_at(at).snapshot_at_s, tz=at.tzinfo)
