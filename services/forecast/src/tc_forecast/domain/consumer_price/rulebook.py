"""Dated rules of the Norwegian household price stack, as parsed data.

Every rule covers the half-open range of LOCAL (Europe/Oslo) dates ``[valid_from, valid_to)``;
``valid_to=None`` means "until further notice". A series of rules of one kind must cover its
dates without overlaps and without gaps, otherwise ``TariffRules`` refuses to exist: a price
computed from a silently missing tax is worse than a service that fails at start-up.

Rules that are not confirmed by a source carry ``assumed=True``; every price computed with one
lists it in ``ConsumerPriceBreakdown.assumed_rules`` so the assumption stays visible.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Literal, TypeVar

SupportBasis = Literal["hourly_mean", "slot"]


class RuleBookError(ValueError):
    """The rules contradict themselves (overlap, gap, bad step table) or miss a kind."""


class NoRuleError(LookupError):
    """No rule of the requested kind covers the requested date."""


@dataclass(frozen=True, kw_only=True)
class DatedRule:
    """Validity and provenance shared by all rules."""

    valid_from: date
    valid_to: date | None = None  # exclusive
    source: str = ""
    assumed: bool = False
    note: str = ""

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def label(self, kind: str) -> str:
        until = self.valid_to.isoformat() if self.valid_to else "…"
        return f"{kind}[{self.valid_from.isoformat()}, {until})"


@dataclass(frozen=True, kw_only=True)
class VatRule(DatedRule):
    """MVA on the energy bill; households in ``exempt_counties`` pay none."""

    rate: float
    exempt_counties: frozenset[str] = frozenset()

    def is_exempt(self, county: str) -> bool:
        return county.strip().casefold() in {c.casefold() for c in self.exempt_counties}


@dataclass(frozen=True, kw_only=True)
class ElectricityTaxRule(DatedRule):
    """Forbruksavgift (elavgift), collected through the grid bill."""

    ore_per_kwh_ex_vat: float
    tiltakssone_exempt: bool = True


@dataclass(frozen=True, kw_only=True)
class EnovaFeeRule(DatedRule):
    """Enova-avgift (påslag til Energifondet) for households."""

    ore_per_kwh_ex_vat: float


@dataclass(frozen=True, kw_only=True)
class StromstotteRule(DatedRule):
    """The state pays ``coverage`` of the spot above the threshold, up to a monthly cap."""

    threshold_ore_per_kwh_ex_vat: float
    coverage: float = 0.9
    cap_kwh_per_month: float = 5000.0
    basis: SupportBasis = "hourly_mean"


@dataclass(frozen=True, kw_only=True)
class NorgesprisRule(DatedRule):
    """The fixed energy price settled by the grid company, up to a monthly cap."""

    price_ore_per_kwh_ex_vat: float
    cap_kwh_per_month_home: float = 5000.0
    cap_kwh_per_month_cabin: float = 1000.0
    basis: SupportBasis = "hourly_mean"


@dataclass(frozen=True, kw_only=True)
class EnergySeason:
    """Energiledd of the months in ``months`` (1–12), day and night, øre/kWh ex VAT."""

    name: str
    months: frozenset[int]
    day_ore_per_kwh_ex_vat: float
    night_ore_per_kwh_ex_vat: float


@dataclass(frozen=True, kw_only=True)
class CapacityBand:
    """One effekttrinn: average peak in ``[from_kw, to_kw)`` costs ``nok_per_month_ex_vat``."""

    from_kw: float
    to_kw: float | None
    nok_per_month_ex_vat: float

    def contains(self, kw: float) -> bool:
        return self.from_kw <= kw and (self.to_kw is None or kw < self.to_kw)


@dataclass(frozen=True, kw_only=True)
class GridTariffRule(DatedRule):
    """One grid company's household tariff: energiledd by time of day, and kapasitetsledd.

    Day rate applies on weekdays from ``day_start_hour`` to ``day_end_hour`` local time; the
    night rate applies otherwise, and all day on weekends (if ``weekend_is_night``) and on
    ``holidays``. The capacity step follows the average of the ``peak_days`` highest daily
    peaks (each day's highest hourly load) of the month.
    """

    tariff_id: str
    name: str
    example: bool = False
    day_start_hour: int = 6
    day_end_hour: int = 22
    weekend_is_night: bool = True
    holidays: frozenset[date] = frozenset()
    seasons: tuple[EnergySeason, ...]
    peak_days: int = 3
    capacity_bands: tuple[CapacityBand, ...]

    def __post_init__(self) -> None:
        where = self.label(f"grid tariff {self.tariff_id!r}")
        if not 0 <= self.day_start_hour < self.day_end_hour <= 24:
            raise RuleBookError(f"{where}: day hours must satisfy 0 <= start < end <= 24")
        months = sorted(m for s in self.seasons for m in s.months)
        if months != list(range(1, 13)):
            raise RuleBookError(f"{where}: seasons must cover months 1–12 exactly once")
        if self.peak_days < 1:
            raise RuleBookError(f"{where}: peak_days must be at least 1")
        bands = self.capacity_bands
        if not bands or bands[0].from_kw != 0:
            raise RuleBookError(f"{where}: capacity steps must start at 0 kW")
        for before, after in pairwise(bands):
            if before.to_kw is None or before.to_kw != after.from_kw:
                raise RuleBookError(
                    f"{where}: capacity steps must be contiguous, "
                    f"{before.from_kw}–{before.to_kw} kW is followed by {after.from_kw} kW"
                )
        if bands[-1].to_kw is not None:
            raise RuleBookError(f"{where}: the last capacity step must be open-ended")
        if any(b.to_kw is not None and b.to_kw <= b.from_kw for b in bands):
            raise RuleBookError(f"{where}: every capacity step must be wider than 0 kW")

    def season_of(self, month: int) -> EnergySeason:
        return next(s for s in self.seasons if month in s.months)

    def band_for(self, kw: float) -> CapacityBand:
        return next(b for b in self.capacity_bands if b.contains(kw))


R = TypeVar("R", bound=DatedRule)


def _checked(kind: str, rules: Sequence[R], *, required: bool) -> tuple[R, ...]:
    ordered = tuple(sorted(rules, key=lambda r: r.valid_from))
    if required and not ordered:
        raise RuleBookError(f"no {kind} rules configured")
    for rule in ordered:
        if rule.valid_to is not None and rule.valid_to <= rule.valid_from:
            raise RuleBookError(f"{rule.label(kind)}: valid_to must be after valid_from")
    for before, after in pairwise(ordered):
        if before.valid_to is None or after.valid_from < before.valid_to:
            raise RuleBookError(
                f"overlapping {kind} rules: {before.label(kind)} and {after.label(kind)}"
            )
        if after.valid_from > before.valid_to:
            raise RuleBookError(
                f"gap in {kind} rules: no rule covers {before.valid_to.isoformat()} "
                f"to {after.valid_from.isoformat()} (between {before.label(kind)} "
                f"and {after.label(kind)})"
            )
    return ordered


def _pick(kind: str, rules: Sequence[R], day: date) -> R:
    for rule in rules:
        if rule.covers(day):
            return rule
    raise NoRuleError(f"no {kind} rule covers {day.isoformat()}")


@dataclass(frozen=True)
class TariffRules:
    """All rules of one rule file, validated on construction; look-ups by local date."""

    vat: tuple[VatRule, ...]
    elavgift: tuple[ElectricityTaxRule, ...]
    enova: tuple[EnovaFeeRule, ...]
    stromstotte: tuple[StromstotteRule, ...] = ()
    norgespris: tuple[NorgesprisRule, ...] = ()
    grid: Mapping[str, tuple[GridTariffRule, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "vat", _checked("vat", self.vat, required=True))
        set_(self, "elavgift", _checked("elavgift", self.elavgift, required=True))
        set_(self, "enova", _checked("enova", self.enova, required=True))
        # A support scheme may be absent for a period (Norgespris only exists from 2025-10-01);
        # asking for it then fails at look-up.
        set_(self, "stromstotte", _checked("stromstotte", self.stromstotte, required=False))
        set_(self, "norgespris", _checked("norgespris", self.norgespris, required=False))
        grid: dict[str, tuple[GridTariffRule, ...]] = {}
        for tariff_id, series in self.grid.items():
            if any(r.tariff_id != tariff_id for r in series):
                raise RuleBookError(f"grid tariff {tariff_id!r} holds a rule of another tariff")
            grid[tariff_id] = _checked(f"grid tariff {tariff_id!r}", series, required=True)
        if not grid:
            raise RuleBookError("no grid tariff configured")
        set_(self, "grid", grid)

    def vat_on(self, day: date) -> VatRule:
        return _pick("vat", self.vat, day)

    def elavgift_on(self, day: date) -> ElectricityTaxRule:
        return _pick("elavgift", self.elavgift, day)

    def enova_on(self, day: date) -> EnovaFeeRule:
        return _pick("enova", self.enova, day)

    def stromstotte_on(self, day: date) -> StromstotteRule:
        return _pick("stromstotte", self.stromstotte, day)

    def norgespris_on(self, day: date) -> NorgesprisRule:
        return _pick("norgespris", self.norgespris, day)

    def grid_tariff_on(self, tariff_id: str, day: date) -> GridTariffRule:
        series = self.grid.get(tariff_id)
        if series is None:
            known = ", ".join(sorted(self.grid))
            raise NoRuleError(f"unknown grid tariff {tariff_id!r} (known: {known})")
        return _pick(f"grid tariff {tariff_id!r}", series, day)
