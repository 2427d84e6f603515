"""Keeps each vehicle's charge plan current and publishes it.

Inputs: telemetry (plug state, SoC, charge limit, position), the behaviour profiles
(``BehaviourRunner``), published spot prices and price forecasts. A plan is (re)made when the
car plugs in, when its SoC or charging state changes materially, when new prices or a new
forecast for its zone arrive, when its profile changes, and every ``interval_s`` while it is
plugged in. Triggers only mark a vehicle; a background loop plans them in a worker thread, so
the Kafka consumer is never held up by planning, and a burst of triggers is one plan.

A car that is not plugged in, or whose profile is still learning, gets a plan with status
``not_plugged_in``/``learning`` only when that status is new for it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tc_common.clock import Clock
from tc_common.events import (
    ChargePlanPublished,
    PlanSlot,
    PriceForecastPublished,
    SpotPricesPublished,
    TelemetrySampled,
)
from tc_common.events.behaviour import PlanStatus, PlanTrigger, TargetSource
from tc_common.events.telemetry import ChargingState
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.departure import (
    DepartureDistribution,
    PastSession,
    predict_departure,
)
from tc_forecast.domain.behaviour.episodes import past_sessions
from tc_forecast.domain.behaviour.profile import BehaviourProfile, learned_target_pct
from tc_forecast.domain.planner.model import PlanRequest
from tc_forecast.domain.planner.plan import plan_charge
from tc_forecast.periodic import PeriodicTask
from tc_forecast.plan_prices import ConsumerPricer, PriceView, ZonePrices
from tc_forecast.ports import PublishFailedError

log = logging.getLogger(__name__)

Trigger = PlanTrigger
# When several triggers wait for one vehicle, the plan is published under the most telling.
_PRIORITY: tuple[Trigger, ...] = (
    "plugged_in",
    "state_changed",
    "profile_updated",
    "prices_published",
    "forecast_updated",
    "scheduled",
)
_QUIET_STATUSES = ("not_plugged_in", "learning")

DeparturePredictor = Callable[
    [Sequence[PastSession], datetime, float | None], DepartureDistribution
]


# Owners leave around, not exactly at, the time they scheduled: plans are done this much before
# it. Measured with bench_planner's --scheduled-* what-if (PLANNER.md).
SCHEDULED_DEPARTURE_MARGIN_MIN = 15.0


@dataclass(frozen=True)
class PlanSettings:
    risk_target: float = 0.95
    default_zone: str = "NO1"
    vehicle_zones: Mapping[str, str] = field(default_factory=dict)
    vehicle_targets_pct: Mapping[str, float] = field(default_factory=dict)
    reserve_pct: float = 20.0
    default_charger_kw: float = 11.0
    default_efficiency: float = 0.9
    default_charge_limit_pct: float = 80.0
    soc_step_pct: float = 5.0
    interval_s: float = 3600.0
    horizon_h: float = 168.0
    min_energy_kwh: float = 0.5
    currency: str = "NOK"
    timezone: str = "Europe/Oslo"  # the customer's: clock times in reasons are in it
    # How much the planner believes the departure the owner scheduled in the car, and how far
    # ahead such a schedule counts (a schedule days away is not about this plug-in).
    scheduled_departure_trust: float = 0.9
    scheduled_departure_horizon_h: float = 36.0
    scheduled_departure_margin_min: float = SCHEDULED_DEPARTURE_MARGIN_MIN

    def zone_of(self, vehicle_id: str) -> str:
        return self.vehicle_zones.get(vehicle_id, self.default_zone)


@dataclass(frozen=True)
class LiveState:
    """What the latest telemetry says about a vehicle (missing fields keep earlier values)."""

    sampled_at: datetime
    battery_level_pct: float | None
    charge_limit_pct: float | None
    charging_state: ChargingState | None
    latitude_deg: float | None
    longitude_deg: float | None
    charger_power_kw: float | None
    plugged_in_at: datetime | None  # None: not plugged in
    scheduled_departure_at: datetime | None = None  # the owner's, when scheduled in the car

    @property
    def plugged(self) -> bool:
        return self.plugged_in_at is not None


def _local_hhmm(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def fold_telemetry(
    previous: LiveState | None, sample: TelemetrySampled, *, arrived_at: datetime | None
) -> LiveState | None:
    """The vehicle's state after ``sample``; ``None`` when the sample is not newer.

    ``arrived_at`` is when the car last stopped driving: the plug-in time of a car seen
    plugged in on its first sample with a charging state (the service did not see it plug in).
    """
    if previous is not None and sample.sampled_at <= previous.sampled_at:
        return None
    charging = sample.charging_state or (previous.charging_state if previous else None)
    plugged = charging is not None and charging != "Disconnected"
    plugged_in_at: datetime | None = None
    if plugged:
        if previous is None or previous.charging_state is None:
            plugged_in_at = arrived_at or sample.sampled_at
        else:
            plugged_in_at = previous.plugged_in_at or sample.sampled_at

    def keep(new: float | None, old: float | None) -> float | None:
        return new if new is not None else old

    return LiveState(
        sampled_at=sample.sampled_at,
        battery_level_pct=keep(
            sample.battery_level_pct, previous.battery_level_pct if previous else None
        ),
        charge_limit_pct=keep(
            sample.charge_limit_pct, previous.charge_limit_pct if previous else None
        ),
        charging_state=charging,
        latitude_deg=keep(sample.latitude_deg, previous.latitude_deg if previous else None),
        longitude_deg=keep(sample.longitude_deg, previous.longitude_deg if previous else None),
        charger_power_kw=sample.charger_power_kw,
        plugged_in_at=plugged_in_at,
        # A sample without charge state (asleep car) says nothing about the schedule either.
        scheduled_departure_at=(
            sample.scheduled_departure_at
            if sample.charging_state is not None or previous is None
            else previous.scheduled_departure_at
        ),
    )


def telemetry_trigger(
    previous: LiveState | None,
    current: LiveState,
    planned_soc_pct: float | None,
    *,
    soc_step_pct: float,
) -> Trigger | None:
    """Whether the new state is worth a new plan, and why."""
    if current.charging_state is None:
        return None  # plugged in or not is unknown yet: nothing to say
    if previous is None or previous.charging_state is None:
        return "state_changed"
    if current.plugged and not previous.plugged:
        return "plugged_in"
    if current.plugged != previous.plugged:
        return "state_changed"
    if not current.plugged:
        return None
    if (
        current.charging_state != previous.charging_state
        or current.charge_limit_pct != previous.charge_limit_pct
        or current.scheduled_departure_at != previous.scheduled_departure_at
    ):
        return "state_changed"
    soc = current.battery_level_pct
    if (
        soc is not None
        and planned_soc_pct is not None
        and abs(soc - planned_soc_pct) >= soc_step_pct
    ):
        return "state_changed"
    return None


@dataclass(frozen=True)
class PlanInputs:
    """Everything one plan is made of: a snapshot, safe to hand to a worker thread."""

    vehicle_id: str
    now: datetime
    trigger: Trigger
    live: LiveState
    profile: BehaviourProfile | None
    prices: PriceView
    pricer: ConsumerPricer
    settings: PlanSettings
    predict: DeparturePredictor = predict_departure


@dataclass(frozen=True)
class _Target:
    pct: float
    source: TargetSource
    why: str


def _target(inputs: PlanInputs, limit_pct: float) -> _Target:
    customer = inputs.settings.vehicle_targets_pct.get(inputs.vehicle_id)
    if customer is not None:
        if customer > limit_pct:
            return _Target(limit_pct, "charge_limit", "your target, capped by the charge limit")
        return _Target(customer, "customer", "your target")
    learned = (
        learned_target_pct(inputs.profile, reserve_pct=inputs.settings.reserve_pct)
        if inputs.profile is not None
        else None
    )
    if learned is None:
        return _Target(limit_pct, "charge_limit", "the charge limit")
    if learned > limit_pct:
        return _Target(limit_pct, "charge_limit", "the learned need, capped by the charge limit")
    days = inputs.profile.days_between_plug_ins if inputs.profile else 1
    span = "the next day" if days == 1 else f"the next {days} days"
    return _Target(
        round(learned, 1),
        "learned_need",
        f"what {span} usually take plus a {inputs.settings.reserve_pct:.0f} % reserve",
    )


def decide_plan(inputs: PlanInputs) -> ChargePlanPublished | None:
    """The plan to publish for a vehicle now; ``None`` when nothing sensible can be said (no
    battery level known, or no price for the current slot)."""
    live, s, profile = inputs.live, inputs.settings, inputs.profile
    soc = live.battery_level_pct
    if soc is None:
        return None
    limit = live.charge_limit_pct or s.default_charge_limit_pct
    target = _target(inputs, limit)
    location = profile.location_near(live.latitude_deg, live.longitude_deg) if profile else None
    efficiency = (location.efficiency if location else None) or s.default_efficiency
    if location is not None and location.effective_power_kw:
        power_kw = location.effective_power_kw / efficiency  # pack-side kW to the wall
    elif live.charger_power_kw and live.charger_power_kw > 0.5:
        power_kw = live.charger_power_kw
    else:
        power_kw = s.default_charger_kw
    capacity = profile.capacity_kwh if profile else 75.0
    energy = max(0.0, (target.pct - soc) / 100.0 * capacity)
    base: dict[str, object] = {
        "vehicle_id": inputs.vehicle_id,
        "issued_at": inputs.now,
        "trigger": inputs.trigger,
        "battery_level_pct": soc,
        "target_pct": target.pct,
        "target_source": target.source,
        "charger_power_kw": round(power_kw, 2),
        "efficiency": efficiency,
        "risk_target": s.risk_target,
        "currency": s.currency,
    }

    def quiet(status: PlanStatus, reason: str) -> ChargePlanPublished:
        return ChargePlanPublished.model_validate(
            {
                **base,
                "status": status,
                "energy_to_add_kwh": 0.0,
                "probability_ready": 1.0 if soc >= target.pct else 0.0,
                "expected_cost": 0.0,
                "cost_p10": 0.0,
                "cost_p90": 0.0,
                "cost_if_charged_now": 0.0,
                "expected_saving": 0.0,
                "reason": reason,
            }
        )

    if live.plugged_in_at is None:
        return quiet("not_plugged_in", "The car is not plugged in; it is planned once it is.")
    if profile is None or not profile.is_ready:
        day = profile.days_observed if profile else 0
        ready = profile.days_until_ready if profile else 14
        return quiet(
            "learning",
            f"Still learning how the car is used (day {day}, ready in {ready} days); "
            "until then it charges as it always has.",
        )

    history = past_sessions(
        profile.sessions,
        before=live.plugged_in_at,
        latitude_deg=location.latitude_deg if location else live.latitude_deg,
        longitude_deg=location.longitude_deg if location else live.longitude_deg,
    )
    departure = inputs.predict(history, live.plugged_in_at, energy).given_still_plugged_at(
        inputs.now
    )
    declared = live.scheduled_departure_at
    if declared is not None and not (
        inputs.now < declared <= inputs.now + timedelta(hours=s.scheduled_departure_horizon_h)
    ):
        declared = None
    if declared is not None:
        departure = departure.with_declared_departure(
            declared - timedelta(minutes=s.scheduled_departure_margin_min),
            s.scheduled_departure_trust,
        )
    base |= {
        "departure_p10_at": departure.quantile(0.1),
        "departure_p50_at": departure.quantile(0.5),
        "departure_p90_at": departure.quantile(0.9),
    }
    if energy < s.min_energy_kwh:
        nothing = quiet(
            "not_needed",
            f"Already at {soc:.0f} %, at or above the target of {target.pct:.0f} % "
            f"({target.why}); no charging needed.",
        )
        return nothing.model_copy(update={"probability_ready": 1.0, "ready_by_at": inputs.now})

    prices = inputs.pricer.price_slots(inputs.prices)
    if not prices or prices[0].start_at > inputs.now:
        return None
    plan = plan_charge(
        PlanRequest(
            # The plan speaks in the zone of ``now``: the customer's, not UTC.
            now=inputs.now.astimezone(ZoneInfo(s.timezone)),
            energy_needed_kwh=energy,
            charger_power_kw=power_kw,
            efficiency=efficiency,
            departure=departure,
            prices=prices,
            risk_target=s.risk_target,
            currency=s.currency,
        )
    )
    return ChargePlanPublished.model_validate(
        {
            **base,
            "status": "charging_now" if plan.charge_now else "planned",
            "energy_to_add_kwh": round(plan.energy_to_add_kwh, 3),
            "ready_by_at": plan.ready_by_at,
            "probability_ready": min(1.0, max(0.0, plan.probability_ready)),
            "expected_cost": round(plan.expected_cost, 2),
            "cost_p10": round(plan.cost_p10, 2),
            "cost_p90": round(plan.cost_p90, 2),
            "cost_if_charged_now": round(plan.cost_if_charged_now, 2),
            "expected_saving": round(plan.expected_saving, 2),
            "slots": tuple(
                PlanSlot(
                    start_at=p.start_at,
                    end_at=p.end_at,
                    energy_kwh=round(p.energy_kwh, 3),
                    power_kw=round(p.power_kw, 2),
                    price_per_kwh=round(p.price_per_kwh, 4),
                    price_is_forecast=p.is_forecast,
                )
                for p in plan.slots
            ),
            "reason": f"{plan.reason} Target {target.pct:.0f} %: {target.why}."
            + (
                f" Your scheduled departure at {_local_hhmm(declared, s.timezone)} is taken "
                "as the time to be ready by."
                if declared is not None
                else ""
            ),
        }
    )


@dataclass(frozen=True)
class PublishedPlan:
    status: PlanStatus
    issued_at: datetime
    battery_level_pct: float


async def _unbound(_event: object) -> None:
    raise RuntimeError("PlanRunner output is not bound to a publisher")


class PlanRunner:
    def __init__(
        self,
        *,
        clock: Clock,
        behaviour: BehaviourRunner,
        pricer: ConsumerPricer,
        settings: PlanSettings | None = None,
        publish: Callable[[ChargePlanPublished], Awaitable[None]] | None = None,
        tick_s: float = 1.0,
        startup_grace_s: float = 0.0,
        predict: DeparturePredictor = predict_departure,
    ) -> None:
        self._clock = clock
        self._predict = predict
        self._behaviour = behaviour
        self._pricer = pricer
        self.settings = settings or PlanSettings()
        self._publish = publish or _unbound
        self._after_publish: Callable[[str], Awaitable[None]] | None = None
        self._grace = timedelta(seconds=startup_grace_s)
        self._started_at: datetime | None = None
        self.prices = ZonePrices()
        self._live: dict[str, LiveState] = {}
        self._pending: dict[str, Trigger] = {}
        self._published: dict[str, PublishedPlan] = {}
        # Held while a plan is published and remembered: forgetting a vehicle waits for it, so
        # nothing of the vehicle reaches a topic after its erasure.
        self._publishing = asyncio.Lock()
        self._loop = PeriodicTask("plan-runner", tick_s, self.tick, log)
        behaviour.add_listener(self._on_profile)

    def bind(
        self,
        *,
        publish: Callable[[ChargePlanPublished], Awaitable[None]],
        published: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``publish`` hands a plan to the broker; ``published(vehicle_id)`` is told afterwards
        (the service remembers the vehicle's last plan across restarts)."""
        self._publish = publish
        self._after_publish = published

    # --- inputs (cheap: called on the consumer) ------------------------------------------

    def _mark(self, vehicle_id: str, trigger: Trigger) -> None:
        known = self._pending.get(vehicle_id)
        if known is None or _PRIORITY.index(trigger) < _PRIORITY.index(known):
            self._pending[vehicle_id] = trigger

    def on_telemetry(self, sample: TelemetrySampled) -> None:
        vin = sample.vehicle_id
        previous = self._live.get(vin)
        arrived_at = (
            self._behaviour.last_arrival(vin, sample.sampled_at)
            if previous is None or previous.charging_state is None
            else None
        )
        current = fold_telemetry(previous, sample, arrived_at=arrived_at)
        if current is None:
            return
        self._live[vin] = current
        last = self._published.get(vin)
        trigger = telemetry_trigger(
            previous,
            current,
            last.battery_level_pct if last else None,
            soc_step_pct=self.settings.soc_step_pct,
        )
        if trigger is not None:
            self._mark(vin, trigger)

    def on_prices(self, event: SpotPricesPublished) -> None:
        if self.prices.add_spot(event, self._clock.now()):
            self._mark_zone(event.zone, "prices_published")

    def on_forecast(self, event: PriceForecastPublished) -> None:
        self.prices.add_forecast(event)
        self._mark_zone(event.zone, "forecast_updated")

    def _mark_zone(self, zone: str, trigger: Trigger) -> None:
        for vin, live in self._live.items():
            if live.plugged and self.settings.zone_of(vin) == zone:
                self._mark(vin, trigger)

    async def _on_profile(self, profile: BehaviourProfile) -> None:
        if profile.vehicle_id in self._live:
            self._mark(profile.vehicle_id, "profile_updated")

    # --- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._started_at = self._clock.now()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def tick(self) -> list[ChargePlanPublished]:
        """Plan every vehicle with a waiting trigger or a due hourly re-plan."""
        now = self._clock.now()
        # Right after a start the episode topics are still being replayed: a plan made now
        # would be made without the vehicle's history.
        if self._started_at is not None and now - self._started_at < self._grace:
            return []
        interval = timedelta(seconds=self.settings.interval_s)
        for vin, live in self._live.items():
            last = self._published.get(vin)
            if (
                live.plugged
                and last is not None
                and last.status not in _QUIET_STATUSES
                and now - last.issued_at >= interval
            ):
                self._mark(vin, "scheduled")
        published = []
        for vin in sorted(self._pending):
            if not self._behaviour.is_settled(vin):
                continue  # its profile is about to change: plan with the new one
            trigger = self._pending.pop(vin)
            try:
                event = await self.plan(vin, trigger, now)
            except PublishFailedError as error:
                # The broker is away: the vehicle stays due, the next tick plans it again.
                self._pending.setdefault(vin, trigger)
                log.warning("plan for a vehicle not published (%s); retrying", error)
                continue
            except Exception:
                log.exception("plan for a vehicle failed")
                continue
            if event is not None:
                published.append(event)
        return published

    async def plan(
        self, vehicle_id: str, trigger: Trigger, now: datetime
    ) -> ChargePlanPublished | None:
        live = self._live.get(vehicle_id)
        if live is None:
            return None
        inputs = PlanInputs(
            vehicle_id=vehicle_id,
            now=now,
            trigger=trigger,
            live=live,
            profile=self._behaviour.profile(vehicle_id),
            prices=self.prices.view(
                self.settings.zone_of(vehicle_id), now, timedelta(hours=self.settings.horizon_h)
            ),
            pricer=self._pricer,
            settings=self.settings,
            predict=self._predict,
        )
        event = await asyncio.to_thread(decide_plan, inputs)
        if event is None:
            log.info("no plan for %s yet (no battery level or no prices)", vehicle_id[-6:])
            return None
        async with self._publishing:
            if vehicle_id not in self._live:
                return None  # forgotten (erased) while the plan was being made
            last = self._published.get(vehicle_id)
            if event.status in _QUIET_STATUSES and last is not None and last.status == event.status:
                return None
            try:
                await self._publish(event)
            except Exception as error:
                raise PublishFailedError(f"{type(error).__name__}: {error}") from error
            self._published[vehicle_id] = PublishedPlan(event.status, now, event.battery_level_pct)
            if self._after_publish is not None:
                try:
                    await self._after_publish(vehicle_id)
                except Exception as error:
                    # The plan is out; only its memory is late: the next change writes it again.
                    log.warning("plan of a vehicle published but not remembered: %s", error)
        return event

    async def forget(self, vehicle_id: str) -> dict[str, int]:
        """Forget the vehicle's live state, pending trigger and last plan (its erasure, or its
        memory's tombstone); how many entries were forgotten."""
        async with self._publishing:
            self._pending.pop(vehicle_id, None)
            return {
                "memory.live_states": int(self._live.pop(vehicle_id, None) is not None),
                "memory.plans": int(self._published.pop(vehicle_id, None) is not None),
            }

    def snapshot(self, vehicle_id: str) -> tuple[LiveState | None, PublishedPlan | None]:
        """What a restart would need of the vehicle: its live state and its last plan."""
        return self._live.get(vehicle_id), self._published.get(vehicle_id)

    def restore(self, vehicle_id: str, live: LiveState | None, plan: PublishedPlan | None) -> None:
        """Take back what ``snapshot`` gave before a restart; newer knowledge is kept."""
        known = self._live.get(vehicle_id)
        if live is not None and (known is None or known.sampled_at < live.sampled_at):
            self._live[vehicle_id] = live
        last = self._published.get(vehicle_id)
        if plan is not None and (last is None or last.issued_at < plan.issued_at):
            self._published[vehicle_id] = plan

    def live_state(self, vehicle_id: str) -> LiveState | None:
        return self._live.get(vehicle_id)
