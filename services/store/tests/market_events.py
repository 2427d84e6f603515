"""Market, weather and forecast events as the store's tests use them: NO3 prices of the day
2026-11-25 (or of a DST day) fetched the day before, rates and weather of the same fetch."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tc_common.events import (
    ExchangeRatesPublished,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    WeatherForecastPublished,
    WeatherSlot,
)
from tc_testkit import market

# 2026-03-29 is the spring DST day in CET: 23 hours, 92 quarter-hours, from 23:00 UTC the
# day before to 22:00 UTC.
DST_DAY = date(2026, 3, 29)
DST_DAY_START = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
DST_DAY_END = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)
DAY_START = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
FETCHED_AT = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
LATER = FETCHED_AT + timedelta(hours=1)


def spot_prices(
    *,
    delivery_date: date = DAY,
    start: datetime = DAY_START,
    count: int = 96,
    resolution_min: int = 15,
    base_eur_per_mwh: float = 50.0,
    **fields: Any,
) -> SpotPricesPublished:
    """``count`` slots of ``delivery_date`` in NO3, the first at ``base_eur_per_mwh`` and each
    1 EUR/MWh dearer, so every row tells which slot it came from."""
    prices = [base_eur_per_mwh + i for i in range(count)]
    options: dict[str, Any] = {"zone": "NO3", "eur_nok": 11.7, "fetched_at": FETCHED_AT, **fields}
    return market.spot_prices(
        delivery_date, prices, resolution_min=resolution_min, start=start, **options
    )


def exchange_rates(
    *, rate_date: date = DAY, fetched_at: datetime = FETCHED_AT, nok: float = 11.7
) -> ExchangeRatesPublished:
    return ExchangeRatesPublished(
        rate_date=rate_date,
        rates={"NOK": nok, "SEK": 11.2, "DKK": 7.46},
        source="simulated",
        fetched_at=fetched_at,
    )


def weather_forecast(
    *,
    location_id: str = "zone:NO3",
    updated_at: datetime = FETCHED_AT,
    start: datetime = DAY_START,
    hours: int = 6,
    temperature_c: float = -3.0,
) -> WeatherForecastPublished:
    return WeatherForecastPublished(
        location_id=location_id,
        latitude_deg=63.43,
        longitude_deg=10.39,
        updated_at=updated_at,
        fetched_at=updated_at + timedelta(minutes=2),
        source="simulated",
        slots=[
            WeatherSlot(
                start_at=start + timedelta(hours=h),
                end_at=start + timedelta(hours=h + 1),
                air_temperature_c=temperature_c + h,
                wind_speed_m_per_s=4.0,
                cloud_area_fraction_pct=80.0,
                precipitation_mm=0.2,
            )
            for h in range(hours)
        ],
    )


def price_forecast(
    *,
    start: datetime = DAY_START + timedelta(days=1),
    count: int = 8,
    **fields: Any,
) -> PriceForecastPublished:
    """A forecast of ``count`` quarter-hours of NO3 from ``start``, issued when prices were
    fetched."""
    options: dict[str, Any] = {"zone": "NO3", "issued_at": FETCHED_AT, **fields}
    return market.price_forecast(start, slots=count, resolution_min=15, **options)


def price_anomaly(
    *,
    zone: str = "NO3",
    kind: str = "spike",
    start: datetime = DAY_START + timedelta(hours=8),
    detected_at: datetime = FETCHED_AT,
    detail: str = "price 5x the forecast p90",
    **fields: Any,
) -> PriceAnomalyDetected:
    values: dict[str, Any] = {
        "zone": zone,
        "kind": kind,
        "start_at": start,
        "end_at": start + timedelta(hours=1),
        "price_eur_per_mwh": 450.0,
        "expected_eur_per_mwh": 80.0,
        "detected_at": detected_at,
        "detail": detail,
        **fields,
    }
    return PriceAnomalyDetected(**values)
