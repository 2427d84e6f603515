"""The behaviour and plan runners at every moment of ``tc_testkit.moments``.

A commuter with three weeks of history plugs in at home at the moment; the day-ahead prices
published by then are known. Whatever the hour, weekday, DST night or year-end, the profile is
ready and the plan is sound: slots ahead, in order, inside the published prices, never more
energy than needed; and an hour later (across the DST jump or the new year) it still is.
"""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from tc_common.clock import FixedClock
from tc_common.events import ChargePlanPublished, SpotPricesPublished, TelemetrySampled
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.plan_prices import ConsumerPricer
from tc_forecast.plan_runner import PlanRunner, PlanSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.market import market_midnight, spot_prices
from tc_testkit.moments import Moment, each_moment

OSLO = ZoneInfo("Europe/Oslo")
CAR = Commuter()
VIN = CAR.vehicle_id
# Nord Pool publishes the next delivery day at about 13:00 CET.
PUBLISHED_BEFORE_DELIVERY = timedelta(hours=11)


def day_ahead(day: date) -> SpotPricesPublished:
    """Hourly prices of one delivery day (23 or 25 hours on DST days), dear by day and cheap at
    night, as published the day before."""
    return spot_prices(day, fetched_at=market_midnight(day) - PUBLISHED_BEFORE_DELIVERY)


def plugged_in_at_home(at: datetime) -> TelemetrySampled:
    return telemetry_sample(
        VIN,
        at,
        battery_level_pct=30.0,
        charging_state="Stopped",
        charge_limit_pct=90.0,
        latitude_deg=CAR.home[0],
        longitude_deg=CAR.home[1],
    )


def assert_sound(plan: ChargePlanPublished, now: datetime, priced_until: datetime) -> None:
    assert plan.status in ("planned", "charging_now"), plan.reason
    assert plan.slots
    assert all(a.end_at <= b.start_at for a, b in pairwise(plan.slots))
    assert plan.slots[0].start_at >= now
    assert plan.slots[-1].end_at <= priced_until
    # Each slot lies within one price hour (the first and last may be partial).
    hour = timedelta(hours=1)
    assert all(
        timedelta(0) < s.end_at - s.start_at <= hour
        and (s.end_at - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
        == s.start_at.replace(minute=0, second=0, microsecond=0)
        for s in plan.slots
    )
    assert sum(s.energy_kwh for s in plan.slots) <= plan.energy_to_add_kwh + 1e-6
    assert plan.cost_p10 <= plan.expected_cost <= plan.cost_p90
    assert 0.0 <= plan.probability_ready <= 1.0
    assert plan.departure_p50_at is not None
    assert plan.departure_p50_at > now
    assert plan.reason


@each_moment()
async def test_a_plugged_in_commuter_gets_a_sound_plan_now_and_an_hour_later(
    moment: Moment,
) -> None:
    now = moment.at.astimezone(UTC)
    clock = FixedClock(now)
    behaviour = BehaviourRunner(clock=clock, debounce_s=0.1)
    runner = PlanRunner(
        clock=clock,
        behaviour=behaviour,
        pricer=ConsumerPricer(mode="spot_incl_vat", rules=None),
        settings=PlanSettings(),
    )
    plans: list[ChargePlanPublished] = []

    async def keep(event: ChargePlanPublished) -> None:
        plans.append(event)

    async def ignore(_event: object) -> None:
        return None

    runner.bind(publish=keep)
    behaviour.bind(publish=ignore)

    today = now.astimezone(OSLO).date()
    drives, charges = commuter_history(today - timedelta(days=21), 22, car=CAR)
    for drive in drives:
        if drive.ended_at <= now:
            behaviour.on_drive(drive)
    for charge in charges:
        if charge.ended_at <= now:
            behaviour.on_charge(charge)
    clock.advance(timedelta(seconds=1))
    await behaviour.tick()
    profile = behaviour.profile(VIN)
    assert profile is not None
    assert profile.learning_state != "learning", moment

    published = [
        day_ahead(day)
        for day in (today - timedelta(days=1) + timedelta(days=i) for i in range(3))
        if day_ahead(day).fetched_at <= now
    ]
    for prices in published:
        runner.on_prices(prices)
    priced_until = published[-1].slots[-1].end_at

    runner.on_telemetry(plugged_in_at_home(clock.now()))
    # Seconds, not minutes: the DST moments are 30 s before the jump, and the first plan must
    # be made before it and reach across it.
    clock.advance(timedelta(seconds=1))
    first = await runner.tick()
    # The first sample the runner sees: a state change (it was not watching the plug-in).
    assert [p.trigger for p in first] == ["state_changed"], moment
    assert_sound(first[0], clock.now(), priced_until)

    clock.advance(timedelta(minutes=61))
    runner.on_telemetry(plugged_in_at_home(clock.now()))
    later = await runner.tick()
    assert [p.trigger for p in later] == ["scheduled"], moment
    assert_sound(later[0], clock.now(), priced_until)
    assert later[0].energy_to_add_kwh == pytest.approx(first[0].energy_to_add_kwh)
