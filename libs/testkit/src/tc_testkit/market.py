"""Day-ahead spot prices and price forecasts, built one way in every package's tests.

Forecast's tests built a day of prices three times over and the store's once more, each with its
own arithmetic for the NOK price; a price forecast was built twice. These builders take the
prices as a list and derive the rest the way ingest does: slots from the market day's local
midnight, NOK øre/kWh as EUR/MWh × EUR→NOK / 10, fetched when the day starts unless told.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tc_common.events import (
    PriceForecastPublished,
    PriceForecastSlot,
    SpotPriceSlot,
    SpotPricesPublished,
)

# The market day of the Nordic bidding zones runs on CET/CEST, Oslo's time.
MARKET_TIME = ZoneInfo("Europe/Oslo")
DAY = date(2026, 11, 25)


def market_midnight(day: date) -> datetime:
    """When the market day ``day`` starts, in UTC (23:00 or 22:00 the day before), so that
    adding slots to it counts real hours across a DST change."""
    return datetime.combine(day, time(), MARKET_TIME).astimezone(UTC)


def hours_of(day: date) -> int:
    """How many hours the market day ``day`` has: 24, or 23/25 when the clocks change."""
    return int(
        (market_midnight(day + timedelta(days=1)) - market_midnight(day)) / timedelta(hours=1)
    )


def dear_days_cheap_nights(
    hours: int = 24, *, dear: float = 120.0, cheap: float = 40.0
) -> list[float]:
    """Hourly EUR/MWh from midnight: ``dear`` from 07 to 21, ``cheap`` at night, the shape a
    charge planner should move charging into the night for."""
    return [dear if 7 <= h < 21 else cheap for h in range(hours)]


def spot_prices(
    delivery_date: date = DAY,
    eur_per_mwh: Sequence[float] | None = None,
    *,
    zone: str = "NO1",
    resolution_min: int = 60,
    start: datetime | None = None,
    eur_nok: float | None = 11.5,
    fetched_at: datetime | None = None,
    **fields: Any,
) -> SpotPricesPublished:
    """One publication of ``delivery_date``'s prices, a slot per price from ``start`` (the
    market day's midnight); ``eur_per_mwh`` defaults to ``dear_days_cheap_nights`` over the
    day's real hours (23 or 25 on DST days). Without ``eur_nok`` the slots carry no NOK price,
    like a day published before the rate was known."""
    prices = dear_days_cheap_nights(hours_of(delivery_date)) if eur_per_mwh is None else eur_per_mwh
    first = market_midnight(delivery_date) if start is None else start
    step = timedelta(minutes=resolution_min)
    values: dict[str, Any] = {
        "zone": zone,
        "delivery_date": delivery_date,
        "resolution_min": resolution_min,
        "source": "simulated",
        "fetched_at": first if fetched_at is None else fetched_at,
        "eur_nok": eur_nok,
        "slots": tuple(
            SpotPriceSlot(
                start_at=first + i * step,
                end_at=first + (i + 1) * step,
                price_eur_per_mwh=eur,
                price_nok_ore_per_kwh=None if eur_nok is None else eur * eur_nok / 10,
            )
            for i, eur in enumerate(prices)
        ),
        **fields,
    }
    return SpotPricesPublished(**values)


def price_forecast(
    start: datetime,
    *,
    slots: int = 8,
    resolution_min: int = 60,
    p50_eur_per_mwh: float = 60.0,
    zone: str = "NO1",
    issued_at: datetime | None = None,
    **fields: Any,
) -> PriceForecastPublished:
    """A flat forecast of ``slots`` slots from ``start`` (where the published prices end),
    p10 10 below and p90 15 above the median, issued at ``start`` unless told."""
    step = timedelta(minutes=resolution_min)
    p50 = p50_eur_per_mwh
    values: dict[str, Any] = {
        "zone": zone,
        "issued_at": start if issued_at is None else issued_at,
        "model": "test-model/1",
        "known_until": start,
        "slots": tuple(
            PriceForecastSlot(
                start_at=start + i * step,
                end_at=start + (i + 1) * step,
                p10_eur_per_mwh=p50 - 10,
                p50_eur_per_mwh=p50,
                p90_eur_per_mwh=p50 + 15,
            )
            for i in range(slots)
        ),
        **fields,
    }
    return PriceForecastPublished(**values)
