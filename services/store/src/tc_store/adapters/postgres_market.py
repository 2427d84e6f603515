"""`MarketRepo` on PostgreSQL: one idempotent upsert per table, one transaction per event."""

from collections.abc import Sequence
from typing import NamedTuple

from psycopg import sql

from tc_store.adapters.postgres import PostgresDatabase
from tc_store.domain import (
    ExchangeRateRow,
    PriceAnomalyRow,
    PriceForecastRow,
    SpotPriceRow,
    WeatherForecastRow,
    WriteResult,
)


def upsert_statement(
    table: str,
    row_type: type[NamedTuple],
    key: tuple[str, ...],
    newer: sql.Composable | None,
    *,
    touch: tuple[str, ...] = (),
) -> sql.Composed:
    """``INSERT ... ON CONFLICT (key)``: replace the stored row only when ``newer`` holds
    (a condition on ``excluded`` and the stored row), or never when ``newer`` is None.

    A row left alone affects no row, so ``rowcount`` counts exactly the rows written.
    """
    columns = row_type._fields
    insert = sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values}) ").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in columns),
    )
    conflict = sql.SQL("ON CONFLICT ({key}) ").format(
        key=sql.SQL(", ").join(map(sql.Identifier, key))
    )
    if newer is None:
        return insert + conflict + sql.SQL("DO NOTHING")
    assignments = [
        sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in columns if c not in key
    ] + [sql.SQL("{c} = now()").format(c=sql.Identifier(c)) for c in touch]
    return (
        insert
        + conflict
        + sql.SQL("DO UPDATE SET {assignments} WHERE {newer}").format(
            assignments=sql.SQL(", ").join(assignments),
            newer=newer,
        )
    )


# The rules are those documented on tc_store.ports.MarketRepo.
_UPSERT_SPOT_PRICES = upsert_statement(
    "spot_prices",
    SpotPriceRow,
    ("zone", "start_at", "resolution_min"),
    sql.SQL(
        "(excluded.revision, excluded.fetched_at) > (spot_prices.revision, spot_prices.fetched_at)"
    ),
    touch=("stored_at",),
)
_UPSERT_EXCHANGE_RATES = upsert_statement(
    "exchange_rates",
    ExchangeRateRow,
    ("rate_date", "currency"),
    sql.SQL("excluded.fetched_at > exchange_rates.fetched_at"),
)
_UPSERT_WEATHER_FORECASTS = upsert_statement(
    "weather_forecasts",
    WeatherForecastRow,
    ("location_id", "updated_at", "start_at"),
    sql.SQL("excluded.fetched_at > weather_forecasts.fetched_at"),
)
_INSERT_PRICE_FORECASTS = upsert_statement(
    "price_forecasts", PriceForecastRow, ("zone", "issued_at", "start_at"), None
)
_UPSERT_PRICE_ANOMALIES = upsert_statement(
    "price_anomalies",
    PriceAnomalyRow,
    ("zone", "kind", "start_at"),
    sql.SQL("excluded.detected_at > price_anomalies.detected_at"),
)


class PostgresMarketRepo:
    """`MarketRepo` sharing the pool, migrations and retries of a `PostgresDatabase`."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def save_spot_prices(self, rows: Sequence[SpotPriceRow]) -> WriteResult:
        return await self._database.write_many("store spot prices", _UPSERT_SPOT_PRICES, rows)

    async def save_exchange_rates(self, rows: Sequence[ExchangeRateRow]) -> WriteResult:
        return await self._database.write_many("store exchange rates", _UPSERT_EXCHANGE_RATES, rows)

    async def save_weather_forecast(self, rows: Sequence[WeatherForecastRow]) -> WriteResult:
        return await self._database.write_many(
            "store weather forecast", _UPSERT_WEATHER_FORECASTS, rows
        )

    async def save_price_forecast(self, rows: Sequence[PriceForecastRow]) -> WriteResult:
        return await self._database.write_many(
            "store price forecast", _INSERT_PRICE_FORECASTS, rows
        )

    async def save_price_anomalies(self, rows: Sequence[PriceAnomalyRow]) -> WriteResult:
        return await self._database.write_many(
            "store price anomalies", _UPSERT_PRICE_ANOMALIES, rows
        )
