"""The charge planner: the cheapest charging that keeps the risk of leaving short within target.

Pure: ``plan_charge(request)`` reads only the request (``now`` is passed in).

The risk that matters is leaving with less energy than charging at once would have given: a
plan that waits for cheaper hours is short if the car leaves while it waits, i.e. after the
plan first stops charging (``idle_at``) and before it is done. The planner considers every plan
of the form "charge continuously for the first k slots, then in the cheapest slots before a
deadline" (k = 0 is a pure deferral, the last k is charging at once) and keeps the cheapest
whose risk ``P(idle_at < departure < done)`` stays within ``1 - risk_target``; the deadline of
each is the latest time keeping that probability in bounds. Charging at once carries no such
risk, so a plan always exists. Re-planning every slot (receding horizon) with the departure
distribution conditioned on "still plugged in" refines the plan as the night goes on.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

from tc_forecast.domain.behaviour.departure import DepartureDistribution
from tc_forecast.domain.planner.model import ChargePlan, PlannedSlot, PlanRequest, PriceSlot

# Energy below this (kWh into the pack) is "nothing to do": rounding noise of SoC estimates.
MIN_ENERGY_KWH = 0.01
# Leaving short weighs as much as paying for this much energy (when the request names no
# penalty): waiting must save at least this times the risk it takes. Tuned on bench_planner.
SHORT_PENALTY_KWH = 7.0
_EPS_H = 1e-9


@dataclass(frozen=True)
class _Win:
    """The part of a price slot still ahead, in hours since ``now``."""

    start_h: float
    end_h: float
    slot: PriceSlot


class _Departure:
    """The departure distribution on the planner's clock: hours since ``now``."""

    def __init__(self, dist: DepartureDistribution, now: datetime) -> None:
        offset_h = (dist.plugged_in_at.astimezone(UTC) - now).total_seconds() / 3600.0
        self.at_h = dist.durations_h + offset_h
        self.cum = np.cumsum(dist.weights)
        self.cum[-1] = 1.0

    def departed_by(self, t_h: float) -> float:
        """P(departure <= t)."""
        i = int(np.searchsorted(self.at_h, t_h, side="right"))
        return float(self.cum[i - 1]) if i else 0.0

    def departed_before(self, t_h: float) -> float:
        """P(departure < t): leaving the moment charging completes still leaves ready."""
        i = int(np.searchsorted(self.at_h, t_h, side="left"))
        return float(self.cum[i - 1]) if i else 0.0

    def deadline(self, idle_h: float, alpha: float) -> float:
        """The latest completion time with P(idle < departure < completion) <= alpha.

        Never later than the latest plausible departure: charging after it is pointless.
        """
        base = self.departed_by(idle_h)
        j = int(np.searchsorted(self.cum, base + alpha + 1e-12, side="right"))
        return float(self.at_h[min(j, self.at_h.size - 1)])


@dataclass(frozen=True)
class _Candidate:
    chosen: tuple[tuple[_Win, float], ...]  # (window, charging hours from its start)
    cost: float
    risk: float  # P(idle < departure < done): leaving short of what charging at once gives
    idle_h: float  # when it first stops charging before done (inf: never)
    deadline_h: float
    head: int  # windows charged continuously from now


def _windows(prices: Sequence[PriceSlot], now: datetime) -> list[_Win]:
    out = []
    for slot in prices:
        a = max(0.0, (slot.start_at.astimezone(UTC) - now).total_seconds() / 3600.0)
        b = (slot.end_at.astimezone(UTC) - now).total_seconds() / 3600.0
        if b > a + _EPS_H:
            out.append(_Win(a, b, slot))
    out.sort(key=lambda w: w.start_h)
    return out


def _cost(chosen: Sequence[tuple[_Win, float]], power_kw: float) -> tuple[float, float, float]:
    p10 = p50 = p90 = 0.0
    for w, h in chosen:
        kwh = h * power_kw
        p10 += kwh * w.slot.p10_per_kwh
        p50 += kwh * w.slot.p50_per_kwh
        p90 += kwh * w.slot.p90_per_kwh
    return p50, p10, p90


def _asap(wins: Sequence[_Win], need_h: float) -> list[tuple[_Win, float]]:
    chosen: list[tuple[_Win, float]] = []
    left = need_h
    for w in wins:
        if left <= _EPS_H:
            break
        h = min(w.end_h - w.start_h, left)
        chosen.append((w, h))
        left -= h
    return chosen


def _candidates(
    wins: Sequence[_Win], need_h: float, power_kw: float, dep: _Departure, alpha: float
) -> list[_Candidate]:
    asap = _asap(wins, need_h)
    asap_cost = _cost(asap, power_kw)[0]
    out = [_Candidate(tuple(asap), asap_cost, 0.0, float("inf"), float("inf"), len(asap))]
    # Cheapest first; among equal prices the earlier window (more certain to be used).
    ranked = sorted(range(len(wins)), key=lambda i: (wins[i].slot.p50_per_kwh, wins[i].start_h))
    head_h = head_cost = 0.0
    for k in range(len(asap)):
        if k:
            w = wins[k - 1]
            head_h += w.end_h - w.start_h
            head_cost += (w.end_h - w.start_h) * power_kw * w.slot.p50_per_kwh
        rest_h = need_h - head_h
        if rest_h <= _EPS_H:
            break
        idle_h = wins[k].start_h
        deadline_h = dep.deadline(idle_h, alpha)
        fill: list[tuple[_Win, float]] = []
        cost = head_cost
        for i in ranked:
            if rest_h <= _EPS_H:
                break
            w = wins[i]
            if i <= k or w.start_h >= deadline_h - _EPS_H:
                continue
            h = min(min(w.end_h, deadline_h) - w.start_h, rest_h)
            fill.append((w, h))
            cost += h * power_kw * w.slot.p50_per_kwh
            rest_h -= h
        if rest_h > _EPS_H:
            continue
        head = tuple((w, w.end_h - w.start_h) for w in wins[:k])
        done_h = max(w.start_h + h for w, h in fill)
        risk = max(0.0, dep.departed_before(done_h) - dep.departed_by(idle_h))
        out.append(_Candidate((*head, *fill), cost, risk, idle_h, deadline_h, k))
    return out


def _to_slots(
    chosen: Sequence[tuple[_Win, float]], now: datetime, power_kw: float, eff: float
) -> tuple[PlannedSlot, ...]:
    # UTC: arithmetic and comparisons on datetimes of one local tzinfo follow the wall clock,
    # which is wrong across a DST change. Local time is for the words of the reason only.
    def at(h: float) -> datetime:
        return now + timedelta(hours=h)

    return tuple(
        PlannedSlot(
            start_at=at(w.start_h),
            end_at=at(w.start_h + h),
            energy_kwh=h * power_kw * eff,
            power_kw=power_kw,
            price_per_kwh=w.slot.p50_per_kwh,
            is_forecast=w.slot.is_forecast,
        )
        for w, h in sorted(chosen, key=lambda c: c[0].start_h)
        if h > _EPS_H
    )


def plan_charge(request: PlanRequest) -> ChargePlan:
    """Plan the cheapest charging whose risk of leaving short stays within the risk target."""
    if request.energy_needed_kwh < MIN_ENERGY_KWH:
        return _nothing_to_do(request)
    if request.charger_power_kw <= 0 or not 0 < request.efficiency <= 1:
        raise ValueError("charger power must be positive and efficiency in (0, 1]")
    if not 0 < request.risk_target <= 1:
        raise ValueError("risk_target must be in (0, 1]")
    tz = request.now.tzinfo
    if tz is None:
        raise ValueError("now must be timezone-aware")
    now = request.now.astimezone(UTC)
    power, eff = request.charger_power_kw, request.efficiency
    need_h = request.energy_needed_kwh / eff / power
    alpha = 1.0 - request.risk_target
    wins = _windows(request.prices, now)
    if not wins:
        return _no_prices()
    dep = _Departure(request.departure, now)
    candidates = _candidates(wins, need_h, power, dep, alpha)
    asap = candidates[0]
    penalty = request.short_penalty
    if penalty is None:
        mean_price = sum(w.slot.p50_per_kwh for w in wins) / len(wins)
        penalty = SHORT_PENALTY_KWH * max(mean_price, 0.0)
    best = min(candidates, key=lambda c: (round(c.cost + penalty * c.risk, 9), -c.head))

    slots = _to_slots(best.chosen, now, power, eff)
    expected, p10, p90 = _cost(best.chosen, power)
    energy_kwh = sum(s.energy_kwh for s in slots)
    done_h = max((w.start_h + h for w, h in best.chosen), default=0.0)
    ready_by = now + timedelta(hours=done_h)
    probability_ready = 1.0 - dep.departed_before(done_h)
    risk = best.risk
    charge_now = any(w.start_h <= _EPS_H and h > _EPS_H for w, h in best.chosen)
    saving = asap.cost - expected
    notes: list[str] = []
    if energy_kwh < request.energy_needed_kwh - 1e-6:
        notes.append("prices cover too little time to deliver all the energy")
    reason = _reason(
        request, best, slots, energy_kwh, saving, probability_ready, dep, alpha, now, tz
    )
    if best is asap and alpha > 0 and dep.deadline(0.0, alpha) < done_h - _EPS_H:
        notes.append("cannot be done by the risk deadline: charging at once")
    return ChargePlan(
        slots=slots,
        energy_to_add_kwh=energy_kwh,
        ready_by_at=ready_by,
        probability_ready=probability_ready,
        expected_cost=expected,
        cost_p10=p10,
        cost_p90=p90,
        cost_if_charged_now=asap.cost,
        expected_saving=saving,
        reason=reason,
        charge_now=charge_now,
        notes=tuple(notes),
        probability_short=risk,
    )


def _reason(
    request: PlanRequest,
    best: _Candidate,
    slots: Sequence[PlannedSlot],
    energy_kwh: float,
    saving: float,
    probability_ready: float,
    dep: _Departure,
    alpha: float,
    now: datetime,
    tz: tzinfo,
) -> str:
    def hhmm(h: float) -> str:
        return (now + timedelta(hours=h)).astimezone(tz).strftime("%H:%M")

    pct = f"{request.risk_target * 100:.0f} %"
    cur = request.currency
    ready = slots[-1].end_at.strftime("%H:%M") if slots else hhmm(0.0)
    if best.idle_h == float("inf"):
        first_deadline = dep.deadline(0.0, alpha)
        done_h = sum(h for _, h in best.chosen)
        if first_deadline < done_h - _EPS_H:
            return (
                f"Charging {energy_kwh:.1f} kWh now, continuously: it cannot be done by "
                f"{hhmm(first_deadline)}, the latest you are still plugged in with {pct} "
                f"probability; ready at {ready} "
                f"with {probability_ready * 100:.0f} % probability."
            )
        return (
            f"Charging {energy_kwh:.1f} kWh now, continuously: waiting for cheaper hours would "
            f"risk leaving short; ready at {ready} with {probability_ready * 100:.0f} % "
            f"probability."
        )
    later = slots[best.head :]
    n_h = sum(((s.end_at - s.start_at) for s in later), timedelta()) / timedelta(hours=1)
    hours = f"{_hours_text(n_h)} cheapest {'hour' if n_h <= 1.0 + 1e-9 else 'hours'}"
    tail = f"saves {saving:.2f} {cur} vs charging now"
    if best.head == 0:
        return (
            f"Charging {energy_kwh:.1f} kWh in the {hours} before {hhmm(best.deadline_h)} "
            f"({pct} sure you leave later); {tail}."
        )
    head_kwh = sum(s.energy_kwh for s in slots[: best.head])
    return (
        f"Charging {energy_kwh:.1f} kWh: {head_kwh:.1f} kWh now in case you leave soon, the "
        f"rest in the {hours} before {hhmm(best.deadline_h)} ({pct} sure you don't leave in "
        f"between); {tail}."
    )


def _hours_text(hours: float) -> str:
    return f"{hours:.0f}" if abs(hours - round(hours)) < 0.05 else f"{hours:.1f}"


def _no_prices() -> ChargePlan:
    return ChargePlan(
        slots=(),
        energy_to_add_kwh=0.0,
        ready_by_at=None,
        probability_ready=0.0,
        expected_cost=0.0,
        cost_p10=0.0,
        cost_p90=0.0,
        cost_if_charged_now=0.0,
        expected_saving=0.0,
        reason="No prices are known for the coming hours yet, so there is no plan.",
        charge_now=False,
        notes=("no price slots after now",),
    )


def _nothing_to_do(request: PlanRequest) -> ChargePlan:
    return ChargePlan(
        slots=(),
        energy_to_add_kwh=0.0,
        ready_by_at=request.now.astimezone(UTC),
        probability_ready=1.0,
        expected_cost=0.0,
        cost_p10=0.0,
        cost_p90=0.0,
        cost_if_charged_now=0.0,
        expected_saving=0.0,
        reason="No charging needed: the battery already holds the energy wanted.",
        charge_now=False,
    )
