"""What the forecast service knows of each car between its samples survives a restart (issue 10,
part 2).

A car asleep in the garage, plugged in, sends nothing for hours. The service re-plans it every
``plan_interval_s`` from the plug state and the last plan it holds in memory, and reports state
of charge changes against the level it last reported. Before, a restart forgot both: the
telemetry group resumes after its committed offset, so the sleeping car had no plan until it
woke, and its first sample after the restart was reported as a change though nothing changed.
"""

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import ShiftedClock
from tc_common.events import BehaviourProfileUpdated, ChargePlanPublished, StateOfChargeChanged
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_devstack import LocalKafka
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import Record, age_out, event_of, first, keyed, produce
from tc_testkit.market import spot_prices
from tc_testkit.moments import SATURDAY_AFTERNOON

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def own_kafka() -> Iterator[LocalKafka]:
    """A broker of this test's own: its telemetry topic is emptied, which others must not see."""
    with LocalKafka() as broker:
        yield broker


@contextlib.asynccontextmanager
async def forecast_service(
    kafka: LocalKafka, clock: ShiftedClock, *, plan_interval_s: float = 3600.0
) -> AsyncIterator[None]:
    settings = ForecastSettings(
        # The restarted app joins the groups its predecessor just left: should the broker still
        # count the old consumers in, it holds the joins for the rebalance timeout, which
        # follows max_poll_interval (5 min by default). These handlers never take 20 s.
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 20_000},
        behaviour_debounce_s=0.5,
        plan_tick_s=0.2,
        plan_startup_grace_s=0,
        plan_interval_s=plan_interval_s,
    )
    async with LifespanManager(
        create_app(settings, clock=clock), startup_timeout=60, shutdown_timeout=30
    ):
        yield


def after(
    model: type[StateOfChargeChanged] | type[ChargePlanPublished],
    vin: str,
    since_s: float,
    keep: Callable[..., bool] = lambda e: True,
) -> Callable[[Record], object | None]:
    """Events of ``vin`` the broker stamped after ``since_s`` (wall-clock, like its stamps)."""

    def pick(record: Record) -> object | None:
        event = event_of(model, record)
        if event is None or record.key != vin.encode() or record.timestamp / 1000 < since_s:
            return None
        return event if keep(event) else None

    return pick


async def test_a_restart_remembers_the_sleeping_cars_plug_state_plan_and_reported_charge(
    own_kafka: LocalKafka,
) -> None:
    clock = ShiftedClock.starting_at(SATURDAY_AFTERNOON.at)
    now = clock.now()
    vin = f"MEM{uuid.uuid4().hex[:13].upper()}"
    car = Commuter(vehicle_id=vin)
    drives, charges = commuter_history(now.date() - timedelta(days=20), 21, car=car)
    bootstrap = own_kafka.bootstrap_servers

    def sample(level_pct: float) -> object:
        return telemetry_sample(
            vin,
            clock.now(),
            battery_level_pct=level_pct,
            charge_limit_pct=80.0,
            charging_state="Stopped",
            latitude_deg=car.home[0],
            longitude_deg=car.home[1],
        )

    async with forecast_service(own_kafka, clock):
        await produce(bootstrap, DRIVE_RECORDED_V1, [d for d in drives if d.ended_at <= now])
        await produce(bootstrap, CHARGE_RECORDED_V1, [c for c in charges if c.ended_at <= now])
        await first(
            bootstrap,
            BEHAVIOUR_PROFILE_UPDATED_V1,
            keyed(vin.encode(), BehaviourProfileUpdated, lambda e: e.learning_state == "ready"),
            timeout_s=90,  # ~30 s on an idle 2-core machine: group joins, then learning
            what="a ready profile",
        )
        today = now.date()
        await produce(
            bootstrap,
            SPOT_PRICES_PUBLISHED_V1,
            [spot_prices(today), spot_prices(today + timedelta(days=1))],
        )
        await produce(bootstrap, TELEMETRY_SAMPLED_V1, [sample(30.0)])
        plan = await first(
            bootstrap,
            CHARGE_PLAN_PUBLISHED_V1,
            keyed(
                vin.encode(), ChargePlanPublished, lambda e: e.status in ("planned", "charging_now")
            ),
            what="the plugged-in car's plan",
        )
        reported = await first(
            bootstrap,
            STATE_OF_CHARGE_CHANGED_V1,
            keyed(vin.encode(), StateOfChargeChanged, lambda e: True),
            what="the first level reported",
        )
    assert (plan.battery_level_pct, reported.battery_level_pct) == (30.0, 30.0)

    # The car sleeps on: its samples age out, and nothing new comes until the restart is done.
    await age_out(bootstrap, (TELEMETRY_SAMPLED_V1, DRIVE_RECORDED_V1, CHARGE_RECORDED_V1))
    restarted_at_s = time.time()  # broker timestamps are wall-clock, not the pinned clock
    async with forecast_service(own_kafka, clock, plan_interval_s=2.0):
        replanned = await first(
            bootstrap,
            CHARGE_PLAN_PUBLISHED_V1,
            after(ChargePlanPublished, vin, restarted_at_s),
            timeout_s=60,
            what="a re-plan of the sleeping car after the restart",
        )
        # It wakes at the same level, then charges five points: only the latter is a change.
        await produce(bootstrap, TELEMETRY_SAMPLED_V1, [sample(30.0), sample(35.0)])
        reported_after = await first(
            bootstrap,
            STATE_OF_CHARGE_CHANGED_V1,
            after(StateOfChargeChanged, vin, restarted_at_s),
            what="a level reported after the restart",
        )

    assert isinstance(replanned, ChargePlanPublished)
    # Re-planned on the hour, when the profile relearned from the changelogs came, or when the
    # replayed prices came: each needs the plug state remembered, for the car has sent nothing
    # since; only a sample would have made the triggers the car itself causes.
    assert replanned.trigger not in ("plugged_in", "state_changed")
    assert replanned.battery_level_pct == 30.0
    assert isinstance(reported_after, StateOfChargeChanged)
    assert reported_after.battery_level_pct == 35.0, "the unchanged level was reported again"
