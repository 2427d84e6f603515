"""What one kWh costs a household in one spot slot, component by component.

    total = (spot + markup + energiledd + elavgift + enova) × (1 + VAT) − support_credit

``support_credit`` (incl. VAT where VAT applies) is strømstøtte,
``coverage × max(0, basis − threshold)``, or the Norgespris settlement ``basis − price`` (a
charge when negative). All amounts are øre/kWh, floats (see CONSUMER_PRICE.md, "Numbers").
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tc_forecast.domain.consumer_price.local_time import (
    HOUR,
    hour_start,
    oslo,
    oslo_date,
    oslo_month,
)
from tc_forecast.domain.consumer_price.profile import (
    ConsumerProfile,
    SpotSlotLike,
    SupportScheme,
)
from tc_forecast.domain.consumer_price.rulebook import (
    DatedRule,
    GridTariffRule,
    SupportBasis,
    TariffRules,
)

GridPeriod = Literal["day", "night"]


@dataclass(frozen=True)
class Amount:
    """One price component in øre/kWh, before and after VAT."""

    ex_vat: float
    inc_vat: float

    @classmethod
    def of(cls, ex_vat: float, vat_rate: float) -> "Amount":
        return cls(ex_vat, ex_vat * (1.0 + vat_rate))


@dataclass(frozen=True, kw_only=True)
class ConsumerPriceBreakdown:
    """The price of the next kWh in ``[start_at, end_at)``; ``total`` is what the planner uses.

    ``support_credit`` is subtracted from the sum of the other components; for Norgespris it
    is negative when the spot is below the fixed price. ``support_applies`` is False above the
    monthly cap (or when the household has no scheme). ``assumed_rules`` names every rule used
    that is an assumption or an example rather than a confirmed rate.
    """

    start_at: datetime
    end_at: datetime
    vat_rate: float
    spot: Amount
    markup: Amount
    grid_energy: Amount
    elavgift: Amount
    enova: Amount
    support_credit: Amount
    total: Amount
    grid_period: GridPeriod
    support_scheme: SupportScheme
    support_applies: bool
    support_basis_ore_per_kwh: float | None
    support_cap_kwh_per_month: float | None
    assumed_rules: tuple[str, ...]


def spot_ore_per_kwh(slot: SpotSlotLike, *, eur_nok: float | None = None) -> float:
    """The slot's spot price in NOK øre/kWh ex VAT.

    The slot's own NOK price wins (it was converted at the publishing day's rate); otherwise
    EUR/MWh × EUR→NOK / 10 (1 EUR/MWh = 0.1 cent/kWh).
    """
    if slot.price_nok_ore_per_kwh is not None:
        return slot.price_nok_ore_per_kwh
    if eur_nok is None:
        raise ValueError(
            f"slot at {slot.start_at.isoformat()} has no NOK price and no EUR→NOK rate was given"
        )
    if eur_nok <= 0:
        raise ValueError(f"EUR→NOK rate must be positive, got {eur_nok}")
    return slot.price_eur_per_mwh * eur_nok / 10.0


def grid_period(tariff: GridTariffRule, at: datetime) -> GridPeriod:
    """Day or night rate at ``at``, decided on Oslo wall-clock time."""
    local = oslo(at)
    if local.date() in tariff.holidays or (tariff.weekend_is_night and local.weekday() >= 5):
        return "night"
    return "day" if tariff.day_start_hour <= local.hour < tariff.day_end_hour else "night"


def consumer_price(
    slot: SpotSlotLike,
    profile: ConsumerProfile,
    rules: TariffRules,
    *,
    month_consumption_kwh: float,
    eur_nok: float | None = None,
    hourly_mean_spot_ore_per_kwh: float | None = None,
) -> ConsumerPriceBreakdown:
    """The household price of the next kWh consumed in ``slot``.

    ``month_consumption_kwh`` is the metering point's consumption so far in the slot's (Oslo)
    month: support is granted while it is below the scheme's cap. Support schemes settle per
    hour; for a slot shorter than an hour the caller MUST pass the hour's mean spot price
    (``consumer_prices`` does this) unless the rule's basis is ``"slot"``.
    """
    day = oslo_date(slot.start_at)
    vat_rule = rules.vat_on(day)
    tax_rule = rules.elavgift_on(day)
    enova_rule = rules.enova_on(day)
    tariff = rules.grid_tariff_on(profile.grid_tariff_id, day)
    used: list[tuple[str, DatedRule]] = [
        ("vat", vat_rule),
        ("elavgift", tax_rule),
        ("enova", enova_rule),
        (f"grid tariff {tariff.tariff_id!r}", tariff),
    ]

    vat_rate = (
        0.0 if vat_rule.is_exempt(profile.county) or profile.in_tiltakssone else vat_rule.rate
    )
    spot = spot_ore_per_kwh(slot, eur_nok=eur_nok)
    period = grid_period(tariff, slot.start_at)
    season = tariff.season_of(oslo(slot.start_at).month)
    energiledd = (
        season.day_ore_per_kwh_ex_vat if period == "day" else season.night_ore_per_kwh_ex_vat
    )
    elavgift = (
        0.0
        if profile.in_tiltakssone and tax_rule.tiltakssone_exempt
        else tax_rule.ore_per_kwh_ex_vat
    )

    def basis_for(rule_basis: SupportBasis) -> float:
        if rule_basis == "slot":
            return spot
        if hourly_mean_spot_ore_per_kwh is not None:
            return hourly_mean_spot_ore_per_kwh
        if slot.end_at - slot.start_at < HOUR:
            raise ValueError(
                f"slot at {slot.start_at.isoformat()} is shorter than an hour: support is "
                "settled on the hourly mean, pass hourly_mean_spot_ore_per_kwh"
            )
        return spot

    credit_ex_vat = 0.0
    applies = False
    basis: float | None = None
    cap: float | None = None
    if profile.support_scheme == "stromstotte":
        stotte = rules.stromstotte_on(day)
        used.append(("stromstotte", stotte))
        basis = basis_for(stotte.basis)
        cap = stotte.cap_kwh_per_month
        applies = month_consumption_kwh < cap
        if applies:
            credit_ex_vat = stotte.coverage * max(0.0, basis - stotte.threshold_ore_per_kwh_ex_vat)
    elif profile.support_scheme == "norgespris":
        fixed = rules.norgespris_on(day)
        used.append(("norgespris", fixed))
        basis = basis_for(fixed.basis)
        cap = fixed.cap_kwh_per_month_cabin if profile.is_cabin else fixed.cap_kwh_per_month_home
        applies = month_consumption_kwh < cap
        if applies:
            credit_ex_vat = basis - fixed.price_ore_per_kwh_ex_vat

    parts = (spot, profile.supplier_markup_ore_per_kwh_ex_vat, energiledd, elavgift)
    total_ex_vat = sum(parts) + enova_rule.ore_per_kwh_ex_vat - credit_ex_vat
    return ConsumerPriceBreakdown(
        start_at=slot.start_at,
        end_at=slot.end_at,
        vat_rate=vat_rate,
        spot=Amount.of(spot, vat_rate),
        markup=Amount.of(profile.supplier_markup_ore_per_kwh_ex_vat, vat_rate),
        grid_energy=Amount.of(energiledd, vat_rate),
        elavgift=Amount.of(elavgift, vat_rate),
        enova=Amount.of(enova_rule.ore_per_kwh_ex_vat, vat_rate),
        support_credit=Amount.of(credit_ex_vat, vat_rate),
        total=Amount.of(total_ex_vat, vat_rate),
        grid_period=period,
        support_scheme=profile.support_scheme,
        support_applies=applies,
        support_basis_ore_per_kwh=basis,
        support_cap_kwh_per_month=cap,
        assumed_rules=_flagged(used),
    )


def _flagged(used: Iterable[tuple[str, DatedRule]]) -> tuple[str, ...]:
    flagged = []
    for kind, rule in used:
        if rule.assumed:
            flagged.append(f"{rule.label(kind)} (assumed)")
        if isinstance(rule, GridTariffRule) and rule.example:
            flagged.append(f"{rule.label(kind)} (example)")
    return tuple(flagged)


def hourly_mean_spots(
    slots: Iterable[SpotSlotLike], *, eur_nok: float | None = None
) -> dict[datetime, float]:
    """Mean spot (øre/kWh) of each UTC hour, weighted by slot length.

    An hour with missing quarters is averaged over the quarters it has.
    """
    weighted: dict[datetime, float] = defaultdict(float)
    seconds: dict[datetime, float] = defaultdict(float)
    for slot in slots:
        hour = hour_start(slot.start_at)
        if slot.end_at > hour + HOUR:
            raise ValueError(f"slot at {slot.start_at.isoformat()} crosses an hour boundary")
        length = (slot.end_at - slot.start_at).total_seconds()
        weighted[hour] += spot_ore_per_kwh(slot, eur_nok=eur_nok) * length
        seconds[hour] += length
    return {hour: weighted[hour] / seconds[hour] for hour in weighted}


def consumer_prices(
    slots: Sequence[SpotSlotLike],
    profile: ConsumerProfile,
    rules: TariffRules,
    *,
    month_consumption_kwh: float,
    eur_nok: float | None = None,
) -> list[ConsumerPriceBreakdown]:
    """``consumer_price`` for each slot (MUST be sorted by ``start_at``), with the hourly mean
    of the given slots as the support basis.

    ``month_consumption_kwh`` applies to the month of the first slot; slots in a later month
    start that month at 0 kWh (the household's other use is unknown here).
    """
    if not slots:
        return []
    hourly = hourly_mean_spots(slots, eur_nok=eur_nok)
    first_month = oslo_month(slots[0].start_at)
    return [
        consumer_price(
            slot,
            profile,
            rules,
            month_consumption_kwh=(
                month_consumption_kwh if oslo_month(slot.start_at) == first_month else 0.0
            ),
            eur_nok=eur_nok,
            hourly_mean_spot_ore_per_kwh=hourly[hour_start(slot.start_at)],
        )
        for slot in slots
    ]
