"""The prices a charge plan is made with: per zone, published spot slots then forecast slots,
as the consumer's price in NOK per kWh drawn from the grid.

Published slots carry their NOK price (converted by ingest at the day's rate); forecast slots
are in EUR/MWh and are converted with the last EUR→NOK rate the published slots imply. In
``consumer`` mode every slot goes through ``domain.consumer_price`` (spot + grid energy tariff
+ taxes + VAT − support) with the configured household; a slot on a date no rule covers, or a
zone outside Norway, falls back to spot incl. 25 % VAT. ``spot_incl_vat`` mode uses that
fallback everywhere.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, cast, get_args

from tc_common.events import PriceForecastPublished, SpotPricesPublished
from tc_forecast.domain.consumer_price import (
    ConsumerProfile,
    NoRuleError,
    NorwegianZone,
    SupportScheme,
    TariffRules,
    consumer_prices,
)
from tc_forecast.domain.planner.model import PriceSlot

log = logging.getLogger(__name__)

PriceMode = Literal["consumer", "spot_incl_vat"]
VAT_FALLBACK = 0.25
# Published slots further back than this are of no use to a plan.
KEEP_PAST = timedelta(days=2)


@dataclass(frozen=True)
class _Spot:
    """A ``SpotSlotLike`` for the consumer-price model."""

    start_at: datetime
    end_at: datetime
    price_eur_per_mwh: float
    price_nok_ore_per_kwh: float | None


@dataclass(frozen=True)
class _Stored:
    spot: _Spot
    revision: int


@dataclass(frozen=True)
class PriceView:
    """What a plan needs of a zone at one moment: a snapshot, safe to hand to a thread."""

    zone: str
    published: tuple[_Spot, ...]
    forecast: tuple[tuple[datetime, datetime, float, float, float], ...]  # EUR/MWh p10/p50/p90
    eur_nok: float | None


class ZonePrices:
    """Published spot slots (recent and future) and the newest forecast, per zone."""

    def __init__(self) -> None:
        self._spots: dict[str, dict[datetime, _Stored]] = {}
        self._rates: dict[str, tuple[date, float]] = {}
        self._forecasts: dict[str, PriceForecastPublished] = {}

    def add_spot(self, event: SpotPricesPublished, now: datetime) -> bool:
        """Record a day; whether it brought new or changed slots that are not over yet."""
        book = self._spots.setdefault(event.zone, {})
        fresh = False
        for s in event.slots:
            old = book.get(s.start_at)
            if old is not None and old.revision > event.revision:
                continue
            spot = _Spot(s.start_at, s.end_at, s.price_eur_per_mwh, s.price_nok_ore_per_kwh)
            if old is None or old.spot != spot:
                fresh = fresh or s.end_at > now
            book[s.start_at] = _Stored(spot, event.revision)
        rate = event.eur_nok or _implied_rate(event)
        known = self._rates.get(event.zone)
        if rate is not None and (known is None or event.delivery_date >= known[0]):
            self._rates[event.zone] = (event.delivery_date, rate)
        for start in [t for t, s in book.items() if s.spot.end_at < now - KEEP_PAST]:
            del book[start]
        return fresh

    def add_forecast(self, event: PriceForecastPublished) -> None:
        known = self._forecasts.get(event.zone)
        if known is None or event.issued_at >= known.issued_at:
            self._forecasts[event.zone] = event

    def eur_nok(self, zone: str) -> float | None:
        known = self._rates.get(zone)
        return known[1] if known else None

    def view(self, zone: str, now: datetime, horizon: timedelta) -> PriceView:
        until = now + horizon
        published = tuple(
            sorted(
                (
                    s.spot
                    for s in self._spots.get(zone, {}).values()
                    if s.spot.end_at > now and s.spot.start_at < until
                ),
                key=lambda s: s.start_at,
            )
        )
        published_until = published[-1].end_at if published else now
        forecast = self._forecasts.get(zone)
        slots = tuple(
            (f.start_at, f.end_at, f.p10_eur_per_mwh, f.p50_eur_per_mwh, f.p90_eur_per_mwh)
            for f in (forecast.slots if forecast else ())
            if f.start_at >= published_until and f.end_at > now and f.start_at < until
        )
        return PriceView(zone, published, slots, self.eur_nok(zone))


def _implied_rate(event: SpotPricesPublished) -> float | None:
    """EUR→NOK from a slot priced in both currencies (øre/kWh = EUR/MWh × rate / 10)."""
    for s in event.slots:
        if s.price_nok_ore_per_kwh is not None and abs(s.price_eur_per_mwh) > 1.0:
            rate = s.price_nok_ore_per_kwh * 10.0 / s.price_eur_per_mwh
            if rate > 0:
                return rate
    return None


@dataclass(frozen=True)
class ConsumerPricer:
    """Turns a ``PriceView`` into the planner's ``PriceSlot``s (NOK/kWh from the grid)."""

    mode: PriceMode
    rules: TariffRules | None
    county: str = "Oslo"
    grid_tariff_id: str = "example-dso"
    support_scheme: SupportScheme = "stromstotte"
    supplier_markup_ore_per_kwh_ex_vat: float = 0.0
    fallback_eur_nok: float = 11.5

    def price_slots(self, view: PriceView) -> tuple[PriceSlot, ...]:
        rate = view.eur_nok or self.fallback_eur_nok
        out: list[PriceSlot] = []
        published = [
            s
            if s.price_nok_ore_per_kwh is not None
            else _Spot(s.start_at, s.end_at, s.price_eur_per_mwh, s.price_eur_per_mwh * rate / 10)
            for s in view.published
        ]
        for spot, nok in zip(published, self._nok_per_kwh(view.zone, published), strict=True):
            out.append(PriceSlot(spot.start_at, spot.end_at, nok, nok, nok, is_forecast=False))
        if view.forecast:
            quantiles = [
                self._nok_per_kwh(
                    view.zone, [_Spot(a, b, q[i], q[i] * rate / 10) for a, b, *q in view.forecast]
                )
                for i in range(3)
            ]
            for (start, end, *_), p10, p50, p90 in zip(view.forecast, *quantiles, strict=True):
                lo, mid, hi = sorted((p10, p50, p90))
                out.append(PriceSlot(start, end, lo, mid, hi, is_forecast=True))
        return tuple(out)

    def _nok_per_kwh(self, zone: str, spots: Sequence[_Spot]) -> list[float]:
        if not spots:
            return []
        fallback = [(s.price_nok_ore_per_kwh or 0.0) * (1 + VAT_FALLBACK) / 100 for s in spots]
        if self.mode != "consumer" or self.rules is None or zone not in get_args(NorwegianZone):
            return fallback
        household = ConsumerProfile(
            zone=cast(NorwegianZone, zone),  # checked against NorwegianZone above
            county=self.county,
            grid_tariff_id=self.grid_tariff_id,
            support_scheme=self.support_scheme,
            supplier_markup_ore_per_kwh_ex_vat=self.supplier_markup_ore_per_kwh_ex_vat,
        )
        try:
            # The household's other use this month is unknown: support is assumed to apply.
            priced = consumer_prices(spots, household, self.rules, month_consumption_kwh=0.0)
        except (NoRuleError, ValueError) as error:
            log.warning("consumer price unavailable for %s (%s); spot incl. VAT used", zone, error)
            return fallback
        return [p.total.inc_vat / 100.0 for p in priced]
