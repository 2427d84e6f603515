"""Charts of what the forecast service publishes: the learnt weekly rhythm and a charge plan.

Pure functions from events to a PNG file. They draw on the Agg canvas directly (no pyplot), so
they hold no global state, need no display and are safe in a server or a test run.
"""

import math
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, Locator
from pydantic import AwareDatetime, BaseModel, ConfigDict

from tc_common.events.behaviour import BehaviourProfileUpdated, ChargePlanPublished, WeekdayRhythm

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DEPARTURE_COLOUR = "tab:blue"
_RETURN_COLOUR = "tab:orange"
_PUBLISHED_COLOUR = "tab:blue"
_FORECAST_COLOUR = "tab:purple"
_CHARGE_COLOUR = "tab:green"
_DPI = 110
# matplotlib.dates is untyped; these are its signatures as used here.
_date2num = cast(Callable[[datetime], float], mdates.date2num)
_date_locator = cast(Callable[..., Locator], mdates.AutoDateLocator)
_date_formatter = cast(Callable[..., Formatter], mdates.DateFormatter)


class PublishedPrice(BaseModel):
    """One published day-ahead price (the API's ``SpotPriceOut``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    start_at: AwareDatetime
    end_at: AwareDatetime
    price_eur_per_mwh: float


class ForecastPrice(BaseModel):
    """One forecast slot (the API's ``ForecastSlotOut``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    start_at: AwareDatetime
    end_at: AwareDatetime
    p10_eur_per_mwh: float
    p50_eur_per_mwh: float
    p90_eur_per_mwh: float


class PriceCurve(BaseModel):
    """The spot prices around a plan: what is published and what is forecast beyond it."""

    model_config = ConfigDict(frozen=True)

    zone: str
    published: tuple[PublishedPrice, ...] = ()
    forecast: tuple[ForecastPrice, ...] = ()


def plot_profile(profile: BehaviourProfileUpdated, path: Path | str) -> Path:
    """A week chart of the learnt rhythm: per weekday the first-departure and last-return
    p10–p90 bands with their p50, and below it the drive probability and daily distance."""
    fig = Figure(figsize=(10, 7.5), dpi=_DPI)
    FigureCanvasAgg(fig)
    times, days = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4], "hspace": 0.08}
    )
    by_weekday = {w.weekday: w for w in profile.weekdays}
    for weekday in range(7):
        rhythm = by_weekday.get(weekday)
        if rhythm is None or not _has_times(rhythm):
            times.text(weekday, 12, "no data yet", ha="center", va="center", color="grey")
        if rhythm is not None:
            _draw_time_band(
                times,
                weekday - 0.17,
                rhythm.first_departure_p10_min,
                rhythm.first_departure_p50_min,
                rhythm.first_departure_p90_min,
                _DEPARTURE_COLOUR,
            )
            _draw_time_band(
                times,
                weekday + 0.17,
                rhythm.last_return_p10_min,
                rhythm.last_return_p50_min,
                rhythm.last_return_p90_min,
                _RETURN_COLOUR,
            )
    times.set_ylim(24, 0)  # morning at the top, as in a diary
    times.set_yticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    times.set_ylabel(f"local time ({profile.timezone})")
    times.grid(axis="y", alpha=0.3)
    times.legend(
        handles=[
            Patch(color=_DEPARTURE_COLOUR, alpha=0.35, label="first departure p10–p90"),
            Patch(color=_RETURN_COLOUR, alpha=0.35, label="last return p10–p90"),
            Line2D([], [], color="black", linewidth=2.5, label="p50"),
        ],
        loc="lower right",
        fontsize=8,
    )

    probabilities = [by_weekday[d].drive_probability if d in by_weekday else 0.0 for d in range(7)]
    days.bar(range(7), probabilities, width=0.55, color="tab:grey", alpha=0.5)
    days.set_ylim(0, 1.05)
    days.set_ylabel("drive probability")
    days.set_xticks(range(7), list(WEEKDAY_NAMES))
    days.set_xlim(-0.6, 6.6)
    distance = days.twinx()
    for weekday in range(7):
        rhythm = by_weekday.get(weekday)
        if rhythm is None or rhythm.distance_p50_km is None:
            continue
        top = rhythm.distance_p90_km
        distance.errorbar(
            weekday,
            rhythm.distance_p50_km,
            yerr=[[0.0], [max(top - rhythm.distance_p50_km, 0.0)]] if top is not None else None,
            fmt="o",
            color="tab:red",
            capsize=4,
        )
    distance.set_ylim(bottom=0)
    distance.set_ylabel("distance p50 (→p90), km", color="tab:red")
    if profile.daily_distance_p50_km is not None:
        distance.axhline(profile.daily_distance_p50_km, color="tab:red", linestyle=":", alpha=0.6)

    state = profile.learning_state.replace("_", " ")
    progress = f"{profile.days_observed} days observed"
    if profile.days_until_ready:
        progress += f", ready in {profile.days_until_ready} days"
    elif profile.days_until_fully_trained:
        progress += f", fully trained in {profile.days_until_fully_trained} days"
    fig.suptitle(f"{profile.vehicle_id} — weekly rhythm: {state} ({progress})", fontsize=12)
    times.set_title(_wrap(profile.summary or "No summary yet."), fontsize=9)
    fig.text(0.01, 0.01, _wrap(_profile_caption(profile), 150), fontsize=8, va="bottom")
    fig.subplots_adjust(left=0.08, right=0.92, top=0.88, bottom=0.1)
    return _save(fig, path)


def plot_plan(
    plan: ChargePlanPublished,
    prices: PriceCurve,
    path: Path | str,
    *,
    now: datetime | None = None,
    timezone: str = "Europe/Oslo",
) -> Path:
    """The spot price (published, and forecast with its p10–p90 band), the planned charging
    slots as bars, now, the departure p10/p50/p90 and the ready-by deadline; cost and reason in
    the title and caption. ``now`` defaults to when the plan was issued."""
    now = plan.issued_at if now is None else now
    tz = ZoneInfo(timezone)
    fig = Figure(figsize=(11, 6.5), dpi=_DPI)
    FigureCanvasAgg(fig)
    price_ax = fig.subplots()
    energy_ax = price_ax.twinx()
    # Price behind the bars would hide the bands; keep the price axis on top, transparent.
    price_ax.set_zorder(energy_ax.get_zorder() + 1)
    price_ax.patch.set_visible(False)

    if prices.published:
        xs, ys = _steps(
            [(p.start_at, p.end_at) for p in prices.published],
            [p.price_eur_per_mwh for p in prices.published],
        )
        price_ax.plot(xs, ys, color=_PUBLISHED_COLOUR, linewidth=1.6, label="published")
    if prices.forecast:
        spans = [(f.start_at, f.end_at) for f in prices.forecast]
        xs, p50 = _steps(spans, [f.p50_eur_per_mwh for f in prices.forecast])
        _, p10 = _steps(spans, [f.p10_eur_per_mwh for f in prices.forecast])
        _, p90 = _steps(spans, [f.p90_eur_per_mwh for f in prices.forecast])
        price_ax.fill_between(xs, p10, p90, color=_FORECAST_COLOUR, alpha=0.2, linewidth=0)
        price_ax.plot(xs, p50, color=_FORECAST_COLOUR, linestyle="--", label="forecast p50")
    if not prices.published and not prices.forecast:
        price_ax.text(
            0.5,
            0.5,
            f"no prices for {prices.zone}",
            transform=price_ax.transAxes,
            ha="center",
            color="grey",
        )
    price_ax.set_ylabel(f"spot price {prices.zone}, EUR/MWh")

    for slot in plan.slots:
        energy_ax.bar(
            _date2num(slot.start_at),
            slot.energy_kwh,
            width=slot.duration / timedelta(days=1),
            align="edge",
            color=_CHARGE_COLOUR,
            alpha=0.35 if slot.price_is_forecast else 0.6,
            hatch="//" if slot.price_is_forecast else None,
            edgecolor=_CHARGE_COLOUR,
            linewidth=0.5,
        )
    energy_ax.set_ylabel("planned charge per slot, kWh", color=_CHARGE_COLOUR)
    energy_ax.set_ylim(0, max([s.energy_kwh for s in plan.slots], default=1.0) * 3)

    markers: list[tuple[datetime | None, str, str, str]] = [
        (now, "black", "-", "now"),
        (plan.departure_p10_at, "tab:red", ":", "departure p10"),
        (plan.departure_p50_at, "tab:red", "--", "departure p50"),
        (plan.departure_p90_at, "tab:red", ":", "departure p90"),
        (plan.ready_by_at, "darkred", "-", "ready by"),
    ]
    for at, colour, style, label in markers:
        if at is not None:
            price_ax.axvline(
                _date2num(at), color=colour, linestyle=style, linewidth=1.3, label=label
            )

    start, end = _time_range(plan, prices, now)
    price_ax.set_xlim(_date2num(start), _date2num(end))
    locator = _date_locator(tz=tz, maxticks=12)
    price_ax.xaxis.set_major_locator(locator)
    price_ax.xaxis.set_major_formatter(_date_formatter("%a %H:%M", tz=tz))
    price_ax.set_xlabel(f"local time ({timezone})")
    price_ax.grid(alpha=0.3)
    handles, _ = price_ax.get_legend_handles_labels()
    if plan.slots:
        handles += [
            Patch(color=_CHARGE_COLOUR, alpha=0.6, label="charge (published price)"),
            Patch(
                facecolor=_CHARGE_COLOUR, alpha=0.35, hatch="//", label="charge (forecast price)"
            ),
        ]
    price_ax.legend(handles=handles, loc="upper left", fontsize=8, ncols=2)

    fig.suptitle(_plan_title(plan), fontsize=11)
    price_ax.set_title(_plan_cost(plan), fontsize=9)
    fig.text(0.01, 0.01, _wrap(f"Why: {plan.reason}", 160), fontsize=8, va="bottom")
    fig.subplots_adjust(left=0.08, right=0.92, top=0.88, bottom=0.16)
    return _save(fig, path)


def _has_times(rhythm: WeekdayRhythm) -> bool:
    return any(
        v is not None
        for v in (
            rhythm.first_departure_p10_min,
            rhythm.first_departure_p50_min,
            rhythm.first_departure_p90_min,
            rhythm.last_return_p10_min,
            rhythm.last_return_p50_min,
            rhythm.last_return_p90_min,
        )
    )


def _draw_time_band(
    ax: Axes, x: float, p10: float | None, p50: float | None, p90: float | None, colour: str
) -> None:
    # Minutes after midnight become hours; the axis runs 0..24 h.
    if p10 is not None and p90 is not None:
        ax.bar(x, (p90 - p10) / 60, bottom=p10 / 60, width=0.3, color=colour, alpha=0.35)
    if p50 is not None:
        ax.hlines(p50 / 60, x - 0.15, x + 0.15, color="black", linewidth=2.5)
        # Departures are labelled on their left, returns on their right, clear of the bands.
        left = x < round(x)
        ax.text(
            x + (-0.17 if left else 0.17),
            p50 / 60,
            _clock(p50),
            fontsize=7,
            va="center",
            ha="right" if left else "left",
        )


def _clock(minutes: float) -> str:
    whole = round(minutes) % (24 * 60)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _profile_caption(profile: BehaviourProfileUpdated) -> str:
    parts = []
    if profile.daily_distance_p50_km is not None:
        parts.append(f"daily distance p50 {profile.daily_distance_p50_km:.0f} km (dotted)")
    if profile.daily_energy_p50_kwh is not None:
        parts.append(f"daily energy p50 {profile.daily_energy_p50_kwh:.1f} kWh")
    for location in profile.locations:
        text = f"charges at {location.kind} ({location.share_of_sessions:.0%} of sessions"
        if location.effective_power_kw is not None:
            text += f", {location.effective_power_kw:.1f} kW"
        parts.append(text + ")")
    parts.append(f"computed {profile.computed_at:%Y-%m-%d %H:%M} UTC")
    return "; ".join(parts)


def _plan_title(plan: ChargePlanPublished) -> str:
    status = plan.status.replace("_", " ")
    return (
        f"{plan.vehicle_id} — {status}: {plan.energy_to_add_kwh:.1f} kWh from "
        f"{plan.battery_level_pct:.0f} % to {plan.target_pct:.0f} % "
        f"({plan.target_source.replace('_', ' ')}), {len(plan.slots)} slots"
    )


def _plan_cost(plan: ChargePlanPublished) -> str:
    c = plan.currency
    return (
        f"expected cost {plan.expected_cost:.2f} {c} (p10 {plan.cost_p10:.2f} – "
        f"p90 {plan.cost_p90:.2f}); now would cost {plan.cost_if_charged_now:.2f}, saving "
        f"{plan.expected_saving:.2f} {c}; P(ready) {plan.probability_ready:.0%} "
        f"(target {plan.risk_target:.0%}); issued {plan.issued_at:%Y-%m-%d %H:%M} UTC "
        f"on {plan.trigger.replace('_', ' ')}"
    )


def _steps(
    spans: Sequence[tuple[datetime, datetime]], values: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Step series over ``[start, end)`` spans, broken (NaN) where the spans leave a gap."""
    xs: list[float] = []
    ys: list[float] = []
    previous_end: datetime | None = None
    for (start, end), value in zip(spans, values, strict=True):
        if previous_end is not None and start != previous_end:
            xs.append(_date2num(previous_end))
            ys.append(math.nan)
        xs += [_date2num(start), _date2num(end)]
        ys += [value, value]
        previous_end = end
    return xs, ys


def _time_range(
    plan: ChargePlanPublished, prices: PriceCurve, now: datetime
) -> tuple[datetime, datetime]:
    instants = [now]
    instants += [p.start_at for p in prices.published] + [p.end_at for p in prices.published]
    instants += [f.start_at for f in prices.forecast] + [f.end_at for f in prices.forecast]
    instants += [s.start_at for s in plan.slots] + [s.end_at for s in plan.slots]
    instants += [
        at
        for at in (
            plan.departure_p10_at,
            plan.departure_p50_at,
            plan.departure_p90_at,
            plan.ready_by_at,
        )
        if at is not None
    ]
    start, end = min(instants), max(instants)
    if end - start < timedelta(hours=6):
        end = start + timedelta(hours=6)  # a lone "now" still gets a readable axis
    return start - timedelta(minutes=30), end + timedelta(minutes=30)


def _wrap(text: str, width: int = 120) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _save(fig: Figure, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, format="png")
    return target
