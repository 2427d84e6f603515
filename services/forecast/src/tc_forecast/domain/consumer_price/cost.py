"""What a charge plan costs: energy at the consumer price, split at the support cap, plus the
rise of the month's capacity charge."""

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tc_forecast.domain.consumer_price.capacity import marginal_capacity_cost_nok
from tc_forecast.domain.consumer_price.local_time import hour_start, oslo_month
from tc_forecast.domain.consumer_price.price import (
    ConsumerPriceBreakdown,
    consumer_price,
    hourly_mean_spots,
)
from tc_forecast.domain.consumer_price.profile import ConsumerProfile, SpotSlotLike
from tc_forecast.domain.consumer_price.rulebook import TariffRules

_ORE_PER_NOK = 100.0


@dataclass(frozen=True, kw_only=True)
class ChargeCostLine:
    """One slot of the plan; ``supported_kwh`` of ``energy_kwh`` fell under the support cap."""

    start_at: datetime
    end_at: datetime
    energy_kwh: float
    supported_kwh: float
    price: ConsumerPriceBreakdown
    cost_nok: float


@dataclass(frozen=True, kw_only=True)
class ChargeCost:
    """A plan's cost in NOK. Component sums are ex VAT; ``vat_nok`` is the VAT on all of them.

    ``energy_cost_nok`` = spot + markup + grid energy + elavgift + enova + VAT − support, where
    ``support_credit_nok`` includes its VAT (negative when Norgespris charges a difference).
    ``capacity_nok`` is the plan's marginal capacity charge incl. VAT, ``None`` when the
    household's other load was not given (then it is not in ``total_nok``).
    """

    energy_kwh: float
    spot_nok: float
    markup_nok: float
    grid_energy_nok: float
    elavgift_nok: float
    enova_nok: float
    vat_nok: float
    support_credit_nok: float
    energy_cost_nok: float
    capacity_nok: float | None
    total_nok: float
    lines: tuple[ChargeCostLine, ...]
    assumed_rules: tuple[str, ...]


def charge_cost(
    slots: Sequence[SpotSlotLike],
    plan_kwh_by_slot: Mapping[datetime, float],
    profile: ConsumerProfile,
    rules: TariffRules,
    *,
    month_consumption_kwh: float,
    eur_nok: float | None = None,
    existing_load_kw_by_hour: Mapping[datetime, float] | None = None,
) -> ChargeCost:
    """Cost of charging ``plan_kwh_by_slot[slot.start_at]`` kWh in each slot.

    ``slots`` are the priced slots (sorted, complete hours for the hourly support basis);
    every plan key MUST be the ``start_at`` of one of them. ``month_consumption_kwh`` is the
    metering point's consumption so far in the month of the plan's first slot; a later month starts
    at 0 kWh. The plan's own energy counts towards the support cap as it goes, and a slot that
    crosses the cap is split. ``existing_load_kw_by_hour`` (aware UTC hour starts) enables the
    capacity charge; see ``marginal_capacity_cost_nok``.
    """
    by_start = {slot.start_at: slot for slot in slots}
    unknown = [at for at in plan_kwh_by_slot if at not in by_start]
    if unknown:
        raise ValueError(
            f"plan has energy for unpriced slot(s) starting {min(unknown).isoformat()}"
        )
    if any(kwh < 0 or not math.isfinite(kwh) for kwh in plan_kwh_by_slot.values()):
        raise ValueError("planned energy must be finite and non-negative")

    hourly = hourly_mean_spots(slots, eur_nok=eur_nok)
    consumed: dict[tuple[int, int], float] = {}
    lines: list[ChargeCostLine] = []
    sums: dict[str, float] = defaultdict(float)
    added_kw_by_hour: dict[datetime, float] = defaultdict(float)
    assumed: dict[str, None] = {}
    for slot in sorted((by_start[at] for at in plan_kwh_by_slot), key=lambda s: s.start_at):
        kwh = plan_kwh_by_slot[slot.start_at]
        month = oslo_month(slot.start_at)
        so_far = consumed.setdefault(month, month_consumption_kwh if not consumed else 0.0)

        def price_at(month_kwh: float, slot: SpotSlotLike = slot) -> ConsumerPriceBreakdown:
            return consumer_price(
                slot,
                profile,
                rules,
                month_consumption_kwh=month_kwh,
                eur_nok=eur_nok,
                hourly_mean_spot_ore_per_kwh=hourly[hour_start(slot.start_at)],
            )

        supported = price_at(so_far)
        supported_kwh = 0.0
        if supported.support_applies and supported.support_cap_kwh_per_month is not None:
            supported_kwh = min(kwh, supported.support_cap_kwh_per_month - so_far)
        unsupported = supported if supported_kwh == kwh else price_at(math.inf)
        over_kwh = kwh - supported_kwh
        parts = {
            "spot": supported.spot.ex_vat,
            "markup": supported.markup.ex_vat,
            "grid_energy": supported.grid_energy.ex_vat,
            "elavgift": supported.elavgift.ex_vat,
            "enova": supported.enova.ex_vat,
        }
        for name, part in parts.items():
            sums[name] += kwh * part
        sums["vat"] += kwh * sum(parts.values()) * supported.vat_rate
        sums["support"] += supported_kwh * supported.support_credit.inc_vat
        cost_ore = supported_kwh * supported.total.inc_vat + over_kwh * unsupported.total.inc_vat
        sums["cost"] += cost_ore
        consumed[month] = so_far + kwh
        added_kw_by_hour[hour_start(slot.start_at)] += kwh
        assumed.update(dict.fromkeys(supported.assumed_rules))
        lines.append(
            ChargeCostLine(
                start_at=slot.start_at,
                end_at=slot.end_at,
                energy_kwh=kwh,
                supported_kwh=supported_kwh,
                price=supported,
                cost_nok=cost_ore / _ORE_PER_NOK,
            )
        )

    capacity_nok = (
        None
        if existing_load_kw_by_hour is None
        else marginal_capacity_cost_nok(existing_load_kw_by_hour, added_kw_by_hour, profile, rules)
    )
    energy_cost_nok = sums["cost"] / _ORE_PER_NOK
    return ChargeCost(
        energy_kwh=sum(plan_kwh_by_slot.values()),
        spot_nok=sums["spot"] / _ORE_PER_NOK,
        markup_nok=sums["markup"] / _ORE_PER_NOK,
        grid_energy_nok=sums["grid_energy"] / _ORE_PER_NOK,
        elavgift_nok=sums["elavgift"] / _ORE_PER_NOK,
        enova_nok=sums["enova"] / _ORE_PER_NOK,
        vat_nok=sums["vat"] / _ORE_PER_NOK,
        support_credit_nok=sums["support"] / _ORE_PER_NOK,
        energy_cost_nok=energy_cost_nok,
        capacity_nok=capacity_nok,
        total_nok=energy_cost_nok + (capacity_nok or 0.0),
        lines=tuple(lines),
        assumed_rules=tuple(assumed),
    )
