"""Charge plans for vehicles: when they are made, what goes in, what comes out."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tc_common.clock import FixedClock
from tc_common.events import (
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    PriceForecastPublished,
    SpotPricesPublished,
    TelemetrySampled,
)
from tc_common.events.telemetry import ChargingState
from tc_forecast.adapters.tariff_rules import load_bundled_tariff_rules
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.departure import DepartureDistribution, PastSession
from tc_forecast.domain.behaviour.profile import BehaviourProfile, build_profile
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.plan_prices import ConsumerPricer, ZonePrices
from tc_forecast.plan_runner import (
    LiveState,
    PlanInputs,
    PlanRunner,
    PlanSettings,
    Trigger,
    decide_plan,
    fold_telemetry,
    telemetry_trigger,
)
from tc_testkit.events import telemetry_sample
from tc_testkit.market import dear_days_cheap_nights, market_midnight, price_forecast, spot_prices

OSLO = ZoneInfo("Europe/Oslo")
CAR = Commuter()
VIN = CAR.vehicle_id
FIRST = date(2026, 1, 5)
DAY = FIRST + timedelta(days=21)  # a Monday, three weeks in
EVENING = datetime(DAY.year, DAY.month, DAY.day, 17, tzinfo=OSLO).astimezone(UTC)
RULES = load_bundled_tariff_rules()
SPOT_VAT = ConsumerPricer(mode="spot_incl_vat", rules=None)


def history(days: int = 21) -> tuple[list[DriveRecorded], list[ChargeRecorded]]:
    """``days`` whole days before ``DAY`` and ``DAY`` up to ``EVENING`` (home from work)."""
    drives, charges = commuter_history(DAY - timedelta(days=days), days + 1)
    return (
        [d for d in drives if d.ended_at <= EVENING],
        [c for c in charges if c.ended_at <= EVENING],
    )


def ready_profile(days: int = 21) -> BehaviourProfile:
    drives, charges = history(days)
    profile = build_profile(VIN, drives, charges, EVENING)
    assert profile is not None
    return profile


def live(
    soc: float | None = 35.0,
    *,
    plugged_at: datetime | None = EVENING - timedelta(minutes=30),
    limit: float | None = 80.0,
    at: datetime = EVENING,
    state: ChargingState | None = "Stopped",
) -> LiveState:
    return LiveState(
        sampled_at=at,
        battery_level_pct=soc,
        charge_limit_pct=limit,
        charging_state=state if plugged_at or state is None else "Disconnected",
        latitude_deg=CAR.home[0],
        longitude_deg=CAR.home[1],
        charger_power_kw=None,
        plugged_in_at=plugged_at,
    )


def inputs(
    state: LiveState,
    *,
    profile: BehaviourProfile | None = None,
    prices: Sequence[SpotPricesPublished] = (),
    forecasts: Sequence[PriceForecastPublished] = (),
    settings: PlanSettings | None = None,
    pricer: ConsumerPricer = SPOT_VAT,
    now: datetime = EVENING,
) -> PlanInputs:
    book = ZonePrices()
    for p in prices:
        book.add_spot(p, now)
    for f in forecasts:
        book.add_forecast(f)
    return PlanInputs(
        vehicle_id=VIN,
        now=now,
        trigger="plugged_in",
        live=state,
        profile=profile if profile is not None else ready_profile(),
        prices=book.view("NO1", now, timedelta(days=7)),
        pricer=pricer,
        settings=settings or PlanSettings(),
        predict=leaves_next_morning,
    )


TONIGHT = (spot_prices(DAY), spot_prices(DAY + timedelta(days=1)))


def leaves_next_morning(
    history: Sequence[PastSession], plugged_in_at: datetime, energy_kwh: float | None
) -> DepartureDistribution:
    """A departure model that is sure of the next 07:00-08:00 (local): the plan's tests
    should not hang on how well the learned departure model does."""
    local = plugged_in_at.astimezone(OSLO)
    morning = local.replace(hour=7, minute=30, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    hours = (morning - plugged_in_at).total_seconds() / 3600
    return DepartureDistribution(
        plugged_in_at, np.array([hours - 0.5, hours, hours + 0.5]), np.ones(3)
    )


# --- telemetry --------------------------------------------------------------------------


def sample(
    minute: int, *, soc: float | None = 40.0, state: ChargingState | None = "Stopped", **kw: object
) -> TelemetrySampled:
    at = EVENING + timedelta(minutes=minute)
    return telemetry_sample(VIN, at, battery_level_pct=soc, charging_state=state, **kw)


ARRIVED = EVENING - timedelta(hours=2)


@pytest.mark.parametrize(
    ("name", "previous", "new", "plugged_in_at"),
    [
        ("first sample, plugged in: since the car arrived", None, sample(0), ARRIVED),
        ("first sample, unplugged", None, sample(0, state="Disconnected"), None),
        (
            "plugs in while watched: since the sample",
            live(plugged_at=None, at=EVENING - timedelta(minutes=5)),
            sample(0, state="Charging"),
            EVENING,
        ),
        (
            "an asleep car without charging state stays plugged in",
            live(plugged_at=EVENING - timedelta(hours=1), at=EVENING - timedelta(minutes=5)),
            sample(0, soc=None, state=None),
            EVENING - timedelta(hours=1),
        ),
        (
            "first charging state after an unknown one: since the car arrived",
            live(plugged_at=None, at=EVENING - timedelta(minutes=5), state=None),
            sample(0, state="Stopped"),
            ARRIVED,
        ),
        (
            "unplugs",
            live(plugged_at=EVENING - timedelta(hours=1), at=EVENING - timedelta(minutes=5)),
            sample(0, state="Disconnected"),
            None,
        ),
    ],
)
def test_telemetry_tells_when_the_car_was_plugged_in(
    name: str, previous: LiveState | None, new: TelemetrySampled, plugged_in_at: datetime | None
) -> None:
    state = fold_telemetry(previous, new, arrived_at=ARRIVED)
    assert state is not None
    assert state.plugged_in_at == plugged_in_at, name


def test_an_old_sample_changes_nothing_and_missing_fields_keep_their_values() -> None:
    known = live(soc=55.0, at=EVENING)
    assert fold_telemetry(known, sample(-1), arrived_at=None) is None
    later = fold_telemetry(known, sample(1, soc=None, state=None), arrived_at=None)
    assert later is not None
    assert (later.battery_level_pct, later.charge_limit_pct, later.charging_state) == (
        55.0,
        80.0,
        "Stopped",
    )


def test_the_scheduled_departure_follows_the_car_and_survives_an_asleep_sample() -> None:
    at_seven = EVENING + timedelta(hours=14)
    scheduled = fold_telemetry(
        live(at=EVENING - timedelta(minutes=5)),
        sample(0, scheduled_departure_at=at_seven),
        arrived_at=None,
    )
    assert scheduled is not None
    assert scheduled.scheduled_departure_at == at_seven
    asleep = fold_telemetry(scheduled, sample(1, soc=None, state=None), arrived_at=None)
    assert asleep is not None
    assert asleep.scheduled_departure_at == at_seven
    turned_off = fold_telemetry(asleep, sample(2), arrived_at=None)
    assert turned_off is not None
    assert turned_off.scheduled_departure_at is None


PLUGGED = live(soc=40.0)
UNPLUGGED = live(soc=40.0, plugged_at=None)


@pytest.mark.parametrize(
    ("name", "previous", "current", "planned_soc", "expected"),
    [
        ("the first sample", None, PLUGGED, None, "state_changed"),
        ("the first sample, plug state unknown", None, live(40.0, state=None), None, None),
        ("plugs in", UNPLUGGED, PLUGGED, 40.0, "plugged_in"),
        ("unplugs", PLUGGED, UNPLUGGED, 40.0, "state_changed"),
        ("stays unplugged while driving", UNPLUGGED, live(30.0, plugged_at=None), 40.0, None),
        ("SoC up 2 points", PLUGGED, live(42.0), 40.0, None),
        ("SoC up 5 points", PLUGGED, live(45.0), 40.0, "state_changed"),
        ("starts charging", PLUGGED, live(40.0, state="Charging"), 40.0, "state_changed"),
        ("charge limit raised", PLUGGED, live(40.0, limit=90.0), 40.0, "state_changed"),
        (
            "departure scheduled",
            PLUGGED,
            replace(PLUGGED, scheduled_departure_at=EVENING + timedelta(hours=14)),
            40.0,
            "state_changed",
        ),
    ],
)
def test_a_plan_is_remade_only_on_material_state_changes(
    name: str,
    previous: LiveState | None,
    current: LiveState,
    planned_soc: float | None,
    expected: Trigger | None,
) -> None:
    assert telemetry_trigger(previous, current, planned_soc, soc_step_pct=5.0) == expected, name


# --- deciding a plan --------------------------------------------------------------------


def test_a_plugged_in_ready_car_gets_a_plan_for_its_learned_need_in_the_cheap_night() -> None:
    plan = decide_plan(inputs(live(35.0), prices=TONIGHT))

    assert plan is not None
    profile = ready_profile()
    assert plan.target_source == "learned_need"
    assert profile.energy_need_kwh is not None
    assert plan.target_pct == pytest.approx(
        20 + profile.energy_need_kwh / profile.capacity_kwh * 100, abs=0.1
    )
    assert plan.energy_to_add_kwh == pytest.approx(
        (plan.target_pct - 35.0) / 100 * profile.capacity_kwh, rel=0.01
    )
    assert plan.status == "planned"  # 17:00 is dear; the night is cheap
    assert sum(s.energy_kwh for s in plan.slots) == pytest.approx(plan.energy_to_add_kwh, rel=1e-3)
    assert all(
        s.start_at.astimezone(OSLO).hour >= 21 or s.start_at.astimezone(OSLO).hour < 7
        for s in plan.slots
    )
    assert plan.expected_cost < plan.cost_if_charged_now
    assert plan.expected_saving == pytest.approx(
        plan.cost_if_charged_now - plan.expected_cost, abs=0.02
    )
    # Home charging as learned: 7.4 kW at the wall, 90 % into the pack.
    assert plan.charger_power_kw == pytest.approx(CAR.charger_kw, rel=0.02)
    assert plan.efficiency == pytest.approx(CAR.efficiency, abs=0.01)
    assert plan.departure_p50_at is not None
    assert plan.departure_p50_at > EVENING
    assert plan.probability_ready >= 0.95
    assert "Target" in plan.reason


def test_a_departure_scheduled_in_the_car_is_the_time_to_be_ready_by() -> None:
    # The learned model says 07:30; the owner scheduled 22:30, early in the cheap night.
    half_past_ten = datetime(DAY.year, DAY.month, DAY.day, 22, 30, tzinfo=OSLO)
    state = replace(live(35.0), scheduled_departure_at=half_past_ten.astimezone(UTC))
    unscheduled = decide_plan(inputs(live(35.0), prices=TONIGHT))
    plan = decide_plan(inputs(state, prices=TONIGHT))

    assert plan is not None
    assert unscheduled is not None
    assert plan.energy_to_add_kwh == pytest.approx(unscheduled.energy_to_add_kwh)
    assert max(s.end_at for s in plan.slots) <= half_past_ten
    assert max(s.end_at for s in unscheduled.slots) > half_past_ten  # it would have waited
    assert plan.probability_ready >= 0.9
    assert "Your scheduled departure at 22:30" in plan.reason
    assert "scheduled departure" not in unscheduled.reason


@pytest.mark.parametrize(
    ("name", "scheduled_at"),
    [
        ("already past", EVENING - timedelta(hours=1)),
        ("beyond the horizon: not about this plug-in", EVENING + timedelta(hours=40)),
    ],
)
def test_a_scheduled_departure_that_is_not_ahead_is_ignored(
    name: str, scheduled_at: datetime
) -> None:
    plain = decide_plan(inputs(live(35.0), prices=TONIGHT))
    plan = decide_plan(
        inputs(replace(live(35.0), scheduled_departure_at=scheduled_at), prices=TONIGHT)
    )
    assert plan is not None
    assert plain is not None
    assert plan.slots == plain.slots, name
    assert plan.reason == plain.reason, name


def test_spot_prices_are_priced_with_vat_in_nok_per_kwh() -> None:
    plan = decide_plan(inputs(live(35.0), prices=TONIGHT))
    assert plan is not None
    # 40 EUR/MWh at 11.5 NOK/EUR = 46 øre/kWh; with 25 % VAT 0.575 NOK/kWh.
    assert [s.price_per_kwh for s in plan.slots] == pytest.approx([0.575] * len(plan.slots))


def test_consumer_prices_add_grid_tariff_and_taxes() -> None:
    pricer = ConsumerPricer(mode="consumer", rules=RULES)
    plain = decide_plan(inputs(live(35.0), prices=TONIGHT))
    consumer = decide_plan(inputs(live(35.0), prices=TONIGHT, pricer=pricer))
    assert plain is not None
    assert consumer is not None
    # Elavgift, Enova fee and the night grid tariff come on top of the spot price.
    assert consumer.slots[0].price_per_kwh > plain.slots[0].price_per_kwh + 0.2


@pytest.mark.parametrize(
    ("name", "customer_pct", "soc", "limit", "status", "target", "source"),
    [
        ("customer target", 70.0, 35.0, 80.0, "planned", 70.0, "customer"),
        ("customer target above the limit", 95.0, 35.0, 80.0, "planned", 80.0, "charge_limit"),
        ("already above the customer target", 50.0, 60.0, 80.0, "not_needed", 50.0, "customer"),
        ("learned need above a low limit", None, 35.0, 45.0, "planned", 45.0, "charge_limit"),
    ],
)
def test_the_target_is_the_customers_or_the_learned_need_capped_by_the_charge_limit(
    name: str,
    customer_pct: float | None,
    soc: float,
    limit: float,
    status: str,
    target: float,
    source: str,
) -> None:
    settings = PlanSettings(vehicle_targets_pct={VIN: customer_pct} if customer_pct else {})
    plan = decide_plan(inputs(live(soc, limit=limit), prices=TONIGHT, settings=settings))
    assert plan is not None
    assert (plan.status, plan.target_pct, plan.target_source) == (status, target, source), name
    if status == "not_needed":
        assert (plan.energy_to_add_kwh, plan.slots, plan.probability_ready) == (0.0, (), 1.0)


def test_a_car_plugged_in_during_the_cheap_hours_charges_now() -> None:
    late = EVENING + timedelta(hours=13)  # 06:00 local next morning, a cheap hour
    plan = decide_plan(
        inputs(
            live(30.0, plugged_at=late - timedelta(minutes=10), at=late), prices=TONIGHT, now=late
        )
    )
    assert plan is not None
    assert plan.status == "charging_now"
    assert plan.slots[0].start_at == late


def test_forecast_prices_extend_the_published_ones_at_the_implied_rate() -> None:
    # Only tonight until 23:00 is published; tomorrow is a forecast in EUR.
    published = spot_prices(DAY, dear_days_cheap_nights(23), eur_nok=None)
    published = published.model_copy(
        update={
            "slots": tuple(
                s.model_copy(update={"price_nok_ore_per_kwh": s.price_eur_per_mwh * 12.0 / 10})
                for s in published.slots
            ),
            "eur_nok": None,
        }
    )
    ahead = price_forecast(published.slots[-1].end_at, slots=24, p50_eur_per_mwh=10.0)
    plan = decide_plan(inputs(live(35.0), prices=[published], forecasts=[ahead]))

    assert plan is not None
    assert any(s.price_is_forecast for s in plan.slots)
    # 10 EUR/MWh at the 12.0 NOK/EUR the published slots imply, with VAT: 0.15 NOK/kWh.
    forecast_prices = [s.price_per_kwh for s in plan.slots if s.price_is_forecast]
    assert forecast_prices == pytest.approx([0.15] * len(forecast_prices))
    # The range reflects the forecast's p10..p90 band.
    assert plan.cost_p10 < plan.expected_cost < plan.cost_p90


@pytest.mark.parametrize(
    ("name", "state", "profile_days", "status"),
    [
        ("not plugged in", live(50.0, plugged_at=None), 21, "not_plugged_in"),
        ("still learning", live(50.0), 6, "learning"),
    ],
)
def test_without_a_plug_or_a_ready_profile_the_plan_says_why(
    name: str, state: LiveState, profile_days: int, status: str
) -> None:
    plan = decide_plan(inputs(state, profile=ready_profile(profile_days), prices=TONIGHT))
    assert plan is not None
    assert (plan.status, plan.energy_to_add_kwh, plan.slots) == (status, 0.0, ()), name


def test_the_departure_model_sees_only_earlier_sessions_at_this_place() -> None:
    seen: list[tuple[list[PastSession], datetime, float | None]] = []

    def spy(
        history: Sequence[PastSession], plugged_in_at: datetime, energy_kwh: float | None
    ) -> DepartureDistribution:
        seen.append((list(history), plugged_in_at, energy_kwh))
        return leaves_next_morning(history, plugged_in_at, energy_kwh)

    plugged_at = EVENING - timedelta(minutes=20)
    plan = decide_plan(
        replace(inputs(live(35.0, plugged_at=plugged_at), prices=TONIGHT), predict=spy)
    )

    assert plan is not None
    ((history_seen, at, energy),) = seen
    assert at == plugged_at
    assert energy == pytest.approx(plan.energy_to_add_kwh, rel=0.01)
    assert len(history_seen) >= 3
    assert all(s.plugged_out_at <= plugged_at for s in history_seen)
    # Sessions are overnight at home: plugged in after work, out at the next commute.
    assert all(s.plugged_in_at.astimezone(OSLO).hour >= 12 for s in history_seen)


def test_no_plan_without_a_battery_level_or_without_prices() -> None:
    assert decide_plan(inputs(live(None), prices=TONIGHT)) is None
    assert decide_plan(inputs(live(35.0), prices=())) is None


# --- the runner ---------------------------------------------------------------------------


class Harness:
    def __init__(self, now: datetime = EVENING, **settings: object) -> None:
        self.clock = FixedClock(now)
        self.behaviour = BehaviourRunner(clock=self.clock, debounce_s=0.1)
        self.plans: list[ChargePlanPublished] = []
        self.broker_up = True
        self.runner = PlanRunner(
            clock=self.clock,
            behaviour=self.behaviour,
            pricer=SPOT_VAT,
            settings=PlanSettings(**settings),  # type: ignore[arg-type]
            predict=leaves_next_morning,
        )

        async def keep(event: ChargePlanPublished) -> None:
            if not self.broker_up:
                raise ConnectionError("broker unreachable")
            self.plans.append(event)

        async def ignore(_event: object) -> None:
            return None

        self.runner.bind(publish=keep)
        self.behaviour.bind(publish=ignore)

    async def learn(self, days: int = 21) -> None:
        drives, charges = history(days)
        for d in drives:
            self.behaviour.on_drive(d)
        for c in charges:
            self.behaviour.on_charge(c)
        self.clock.advance(timedelta(seconds=1))
        await self.behaviour.tick()

    def telemetry(self, soc: float | None, state: ChargingState | None = "Stopped") -> None:
        at = self.clock.now()
        self.runner.on_telemetry(
            telemetry_sample(
                VIN,
                at,
                battery_level_pct=soc,
                charging_state=state,
                charge_limit_pct=80,
                latitude_deg=CAR.home[0],
                longitude_deg=CAR.home[1],
            )
        )

    async def step(self, minutes: float = 1) -> list[tuple[str, str]]:
        self.clock.advance(timedelta(minutes=minutes))
        return [(p.trigger, p.status) for p in await self.runner.tick()]


async def test_a_plan_the_broker_refused_is_made_again_at_the_next_tick() -> None:
    h = Harness()
    await h.learn()
    for p in TONIGHT:
        h.runner.on_prices(p)
    h.telemetry(35.0, "Stopped")
    h.broker_up = False
    assert await h.step() == []

    h.broker_up = True
    assert await h.step() == [("state_changed", "planned")]
    assert [p.trigger for p in h.plans] == ["state_changed"]


async def test_the_runner_plans_on_plug_in_and_on_material_changes_only() -> None:
    h = Harness()
    await h.learn()
    for p in TONIGHT:
        h.runner.on_prices(p)

    h.telemetry(50.0, "Disconnected")
    assert await h.step() == [("state_changed", "not_plugged_in")]
    h.telemetry(50.0, "Disconnected")
    assert await h.step() == []  # nothing new to say
    h.telemetry(35.0, "Stopped")
    assert await h.step() == [("plugged_in", "planned")]
    h.telemetry(36.0, "Stopped")
    assert await h.step() == []  # a point of SoC is not news
    h.telemetry(41.0, "Stopped")
    assert await h.step() == [("state_changed", "planned")]
    assert await h.step(60) == [("scheduled", "planned")]  # hourly while plugged in
    h.telemetry(60.0, "Disconnected")
    assert await h.step() == [("state_changed", "not_plugged_in")]


async def test_new_prices_and_forecasts_replan_plugged_in_cars_of_their_zone_only() -> None:
    h = Harness()
    await h.learn()
    h.runner.on_prices(TONIGHT[0])
    h.telemetry(35.0, "Stopped")
    assert await h.step() == [("state_changed", "planned")]

    h.runner.on_prices(TONIGHT[1])
    assert await h.step() == [("prices_published", "planned")]
    h.runner.on_prices(TONIGHT[1])  # the same day again
    h.runner.on_prices(spot_prices(DAY + timedelta(days=1), zone="NO3"))
    h.runner.on_prices(spot_prices(DAY - timedelta(days=10)))  # a replayed past day
    assert await h.step() == []
    h.runner.on_forecast(
        price_forecast(TONIGHT[1].slots[-1].end_at, slots=24, p50_eur_per_mwh=50.0)
    )
    assert await h.step() == [("forecast_updated", "planned")]


async def test_a_learning_car_is_told_so_once() -> None:
    h = Harness()
    await h.learn(days=6)
    for p in TONIGHT:
        h.runner.on_prices(p)
    h.telemetry(35.0, "Stopped")
    assert await h.step() == [("state_changed", "learning")]
    h.telemetry(45.0, "Charging")
    assert await h.step() == []
    assert await h.step(90) == []  # no hourly re-plan of a quiet status


async def test_plans_wait_until_new_episodes_are_folded_into_the_profile() -> None:
    h = Harness()
    await h.learn()
    for p in TONIGHT:
        h.runner.on_prices(p)
    drives, _ = history()
    h.behaviour.on_drive(drives[-1].model_copy(update={"drive_id": 99_999}))
    h.telemetry(35.0, "Stopped")
    h.clock.advance(timedelta(seconds=0.05))
    assert await h.runner.tick() == []  # the profile is about to change
    h.clock.advance(timedelta(seconds=1))
    await h.behaviour.tick()
    assert [p.status for p in await h.runner.tick()] == ["planned"]


async def test_no_plans_during_the_start_up_grace() -> None:
    h = Harness()
    await h.learn()
    for p in TONIGHT:
        h.runner.on_prices(p)
    runner = PlanRunner(
        clock=h.clock,
        behaviour=h.behaviour,
        pricer=SPOT_VAT,
        startup_grace_s=10,
        predict=leaves_next_morning,
    )
    out: list[ChargePlanPublished] = []

    async def keep(event: ChargePlanPublished) -> None:
        out.append(event)

    runner.bind(publish=keep)
    runner.start()
    try:
        for p in TONIGHT:
            runner.on_prices(p)
        h.telemetry(35.0)
        runner.on_telemetry(
            telemetry_sample(VIN, h.clock.now(), battery_level_pct=35.0, charging_state="Stopped")
        )
        assert await runner.tick() == []
        h.clock.advance(timedelta(seconds=11))
        assert [p.status for p in await runner.tick()] == ["planned"]
    finally:
        await runner.stop()


# --- prices for plans -------------------------------------------------------------------


def test_a_later_revision_replaces_a_slot_and_an_earlier_one_does_not() -> None:
    book = ZonePrices()
    first = spot_prices(DAY)
    corrected = first.model_copy(
        update={
            "revision": 1,
            "slots": tuple(
                s.model_copy(update={"price_nok_ore_per_kwh": 1.0}) for s in first.slots
            ),
        }
    )
    assert book.add_spot(first, EVENING)
    assert book.add_spot(corrected, EVENING)
    assert not book.add_spot(first, EVENING)  # the stale revision is ignored
    view = book.view("NO1", EVENING, timedelta(days=1))
    assert {s.price_nok_ore_per_kwh for s in view.published} == {1.0}
    assert view.published[0].start_at <= EVENING < view.published[0].end_at


def test_forecast_slots_never_overlap_published_ones() -> None:
    book = ZonePrices()
    book.add_spot(spot_prices(DAY), EVENING)
    # An old forecast that starts before the newest published day ends.
    book.add_forecast(price_forecast(market_midnight(DAY), slots=48, p50_eur_per_mwh=30.0))
    view = book.view("NO1", EVENING, timedelta(days=7))
    assert view.forecast[0][0] == market_midnight(DAY + timedelta(days=1))
    slots = SPOT_VAT.price_slots(view)
    assert all(a.end_at <= b.start_at for a, b in pairwise(slots))


@pytest.mark.parametrize(
    ("name", "zone", "day", "expected_nok_per_kwh"),
    [
        # 40 EUR/MWh × 11.5 / 10 = 46 øre; +25 % VAT.
        ("a zone outside Norway: spot with VAT", "SE3", DAY, 0.575),
        ("a date no rule covers: spot with VAT", "NO1", date(2031, 1, 6), 0.575),
    ],
)
def test_consumer_pricing_falls_back_to_spot_with_vat(
    name: str, zone: str, day: date, expected_nok_per_kwh: float
) -> None:
    book = ZonePrices()
    book.add_spot(spot_prices(day, zone=zone), market_midnight(day))
    view = book.view(zone, market_midnight(day), timedelta(hours=1))
    (slot,) = ConsumerPricer(mode="consumer", rules=RULES).price_slots(view)
    assert slot.p50_per_kwh == pytest.approx(expected_nok_per_kwh), name
