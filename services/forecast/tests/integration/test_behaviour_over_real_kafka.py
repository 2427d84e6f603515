"""Behaviour profiles and charge plans through a real Kafka-protocol broker: three weeks of a
commuter's drives and charges in, a ready profile out; a plugged-in sample and published
prices in, a charge plan out.

The service runs on a clock pinned to moments of ``tc_testkit.moments`` (running at real speed
from there), so what the commuter has done by "now" is the same whenever the test runs."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream

from tc_common.clock import ShiftedClock
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
)
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_devstack import LocalKafka
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import first, keyed, produce
from tc_testkit.market import spot_prices
from tc_testkit.moments import DST_SPRING_FORWARD, SATURDAY_AFTERNOON, Moment, each_moment
from tc_testkit.service_app import until_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def clock(moment: Moment) -> ShiftedClock:
    return ShiftedClock.starting_at(moment.at)


@pytest.fixture
async def running_app(kafka: LocalKafka, clock: ShiftedClock) -> AsyncIterator[AsgiFastStream]:
    settings = ForecastSettings(
        # Groups of this test's own: the session's broker is shared, and a join waits while an
        # earlier app's consumers are still listed in the group (up to the rebalance timeout,
        # which follows max_poll_interval: 5 min by default; these handlers never take 20 s).
        consumer_group=f"forecast-it-{uuid.uuid4().hex[:8]}",
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 20_000},
        behaviour_debounce_s=0.5,
        plan_tick_s=0.2,
        plan_startup_grace_s=0,
    )
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await until_ready(app)
        yield app


@each_moment(in_make_test=(SATURDAY_AFTERNOON, DST_SPRING_FORWARD))
async def test_a_commuters_history_becomes_a_ready_profile_and_a_charge_plan(
    kafka: LocalKafka, running_app: AsgiFastStream, clock: ShiftedClock, moment: Moment
) -> None:
    vin = f"TEST{uuid.uuid4().hex[:13].upper()}"
    car = Commuter(vehicle_id=vin)
    now = clock.now()
    today = now.astimezone(OSLO).date()
    drives, charges = commuter_history(today - timedelta(days=20), 21, car=car)
    drives = [d for d in drives if d.ended_at <= now]
    charges = [c for c in charges if c.ended_at <= now]

    await produce(kafka.bootstrap_servers, DRIVE_RECORDED_V1, drives)
    await produce(kafka.bootstrap_servers, CHARGE_RECORDED_V1, charges)
    profile = await first(
        kafka.bootstrap_servers,
        BEHAVIOUR_PROFILE_UPDATED_V1,
        keyed(vin.encode(), BehaviourProfileUpdated, lambda e: e.learning_state == "ready"),
        timeout_s=90,  # ~30 s on an idle 2-core machine: group joins, then learning
        what="a ready profile",
    )

    assert profile.days_observed == 20
    assert [loc.kind for loc in profile.locations] == ["home"]
    assert profile.summary

    await produce(
        kafka.bootstrap_servers,
        SPOT_PRICES_PUBLISHED_V1,
        [spot_prices(today), spot_prices(today + timedelta(days=1))],
    )
    # The app plans on its own clock: the sample is of its now.
    plugged_in = telemetry_sample(
        vin,
        clock.now(),
        battery_level_pct=30.0,
        charge_limit_pct=80.0,
        charging_state="Stopped",
        latitude_deg=car.home[0],
        longitude_deg=car.home[1],
    )
    await produce(kafka.bootstrap_servers, TELEMETRY_SAMPLED_V1, [plugged_in])
    plan = await first(
        kafka.bootstrap_servers,
        CHARGE_PLAN_PUBLISHED_V1,
        keyed(vin.encode(), ChargePlanPublished, lambda e: e.status in ("planned", "charging_now")),
        what="a charge plan",
    )

    assert plan.battery_level_pct == 30.0
    assert plan.target_source == "learned_need"
    assert plan.energy_to_add_kwh > 5
    assert plan.slots
    assert sum(s.energy_kwh for s in plan.slots) == pytest.approx(plan.energy_to_add_kwh, rel=0.01)
    assert plan.expected_cost <= plan.cost_if_charged_now
