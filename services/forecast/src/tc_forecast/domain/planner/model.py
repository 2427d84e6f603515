"""The planner's inputs and outputs (pure value objects; no pydantic, no I/O).

Contract shared by the planner, the forecast service and ``bench_planner``:

    plan_charge(request: PlanRequest) -> ChargePlan

(in ``tc_forecast.domain.planner.plan``). Prices are per slot, in one currency per kWh drawn
from the grid; a published slot has p10 == p50 == p90.
"""

from dataclasses import dataclass, field
from datetime import datetime

from tc_forecast.domain.behaviour.departure import DepartureDistribution


@dataclass(frozen=True)
class PriceSlot:
    start_at: datetime
    end_at: datetime
    p10_per_kwh: float
    p50_per_kwh: float
    p90_per_kwh: float
    is_forecast: bool


@dataclass(frozen=True)
class PlanRequest:
    now: datetime
    energy_needed_kwh: float  # into the pack
    charger_power_kw: float  # at the wall
    efficiency: float  # pack energy / wall energy
    departure: DepartureDistribution  # already conditioned on "still plugged in at now"
    prices: tuple[PriceSlot, ...]  # sorted, covering now .. (ideally) past the latest departure
    risk_target: float = 0.95  # wanted probability of being ready at departure
    currency: str = "NOK"
    # What leaving short of "charging at once" is worth avoiding, in currency per departure:
    # a deferral must save at least this times its risk. None: SHORT_PENALTY_KWH (plan.py) of
    # energy at the mean expected price of the slots.
    short_penalty: float | None = None


@dataclass(frozen=True)
class PlannedSlot:
    start_at: datetime
    end_at: datetime
    energy_kwh: float  # into the pack
    power_kw: float  # at the wall
    price_per_kwh: float  # expected (p50) price
    is_forecast: bool


@dataclass(frozen=True)
class ChargePlan:
    slots: tuple[PlannedSlot, ...]
    energy_to_add_kwh: float
    ready_by_at: datetime | None
    probability_ready: float
    expected_cost: float
    cost_p10: float
    cost_p90: float
    cost_if_charged_now: float
    expected_saving: float
    reason: str
    charge_now: bool  # whether the slot containing ``now`` is a charging slot
    notes: tuple[str, ...] = field(default=())
    # P(the car leaves with less than charging at once would have given it): the risk the plan
    # takes by waiting for cheaper slots (0 when it charges at once).
    probability_short: float = 0.0
