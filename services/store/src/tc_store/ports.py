from collections.abc import Sequence
from typing import Protocol

from tc_store.domain import (
    ExchangeRateRow,
    PriceAnomalyRow,
    PriceForecastRow,
    SaveResult,
    SpotPriceRow,
    TelemetryRow,
    WeatherForecastRow,
    WriteResult,
)


class TelemetryRepo(Protocol):
    """Where telemetry samples become durable.

    ``save_samples`` writes the rows and the vehicles they belong to in ONE transaction and
    returns only once it has committed; rows whose (vehicle_id, sampled_at) is already stored
    are ignored and counted as duplicates. While the database is unreachable it keeps
    retrying instead of failing, so the caller never acknowledges what is not stored.
    """

    async def save_samples(self, rows: Sequence[TelemetryRow]) -> SaveResult: ...

    async def ping(self) -> bool:
        """True when the database answers now (no retries)."""
        ...


class MarketRepo(Protocol):
    """Where market data, weather and price forecasts become durable.

    Every method writes the rows of ONE event in ONE transaction and returns only once it has
    committed; while the database is unreachable it keeps retrying (like ``TelemetryRepo``).
    Writes are idempotent upserts on each table's primary key; a row that is already stored,
    or superseded by what is stored, counts as ``unchanged``:

    - spot prices: the highest ``revision`` wins, on a tie the later ``fetched_at``;
    - exchange rates, weather forecasts: the later ``fetched_at`` wins;
    - price forecasts: an issued forecast never changes (the first write wins);
    - price anomalies: the later ``detected_at`` wins.
    """

    async def save_spot_prices(self, rows: Sequence[SpotPriceRow]) -> WriteResult: ...

    async def save_exchange_rates(self, rows: Sequence[ExchangeRateRow]) -> WriteResult: ...

    async def save_weather_forecast(self, rows: Sequence[WeatherForecastRow]) -> WriteResult: ...

    async def save_price_forecast(self, rows: Sequence[PriceForecastRow]) -> WriteResult: ...

    async def save_price_anomalies(self, rows: Sequence[PriceAnomalyRow]) -> WriteResult: ...
