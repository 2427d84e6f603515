"""``MarketReader`` over the market, weather and forecast tables the store service writes."""

from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from tc_api.adapters.postgres import pooled_connection
from tc_api.domain import (
    DateWindow,
    ExchangeRate,
    ForecastSlot,
    PriceAnomaly,
    PriceForecast,
    SpotPrice,
    TimeWindow,
    WeatherForecast,
    WeatherSlot,
)


def _utc(value: datetime) -> datetime:
    # The session's time zone decides the offset psycopg returns; answers are always UTC.
    return value.astimezone(UTC)


class PostgresMarketReader:
    """Reads ``spot_prices``, ``price_forecasts``, ``price_anomalies``, ``exchange_rates`` and
    ``weather_forecasts`` (schema: tc_db); outages surface as ``TelemetryUnavailableError``."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def _rows(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        async with (
            pooled_connection(self._pool) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(query.encode(), params)
            return await cur.fetchall()

    async def spot_prices(self, zone: str, window: TimeWindow) -> list[SpotPrice]:
        rows = await self._rows(
            "SELECT start_at, end_at, resolution_min, price_eur_per_mwh, price_nok_ore_per_kwh "
            "FROM spot_prices WHERE zone = %s AND start_at >= %s AND start_at < %s "
            "ORDER BY start_at, resolution_min",
            (zone, window.from_at, window.to_at),
        )
        return [
            SpotPrice(
                start_at=_utc(r["start_at"]),
                end_at=_utc(r["end_at"]),
                resolution_min=int(r["resolution_min"]),
                price_eur_per_mwh=r["price_eur_per_mwh"],
                price_nok_ore_per_kwh=r["price_nok_ore_per_kwh"],
            )
            for r in rows
        ]

    async def last_spot_price_end(self, zone: str) -> datetime | None:
        rows = await self._rows(
            "SELECT max(end_at) AS end_at FROM spot_prices WHERE zone = %s", (zone,)
        )
        end = rows[0]["end_at"] if rows else None
        return _utc(end) if end is not None else None

    async def latest_price_forecast(self, zone: str) -> PriceForecast | None:
        # Not the price_forecast_latest view: it scans every zone's issues, while this finds
        # the newest issue on the primary key and reads only its slots.
        rows = await self._rows(
            "SELECT issued_at, model, known_until, start_at, end_at, "
            "p10_eur_per_mwh, p50_eur_per_mwh, p90_eur_per_mwh FROM price_forecasts "
            "WHERE zone = %s AND issued_at = "
            "(SELECT max(issued_at) FROM price_forecasts WHERE zone = %s) ORDER BY start_at",
            (zone, zone),
        )
        if not rows:
            return None
        first = rows[0]
        return PriceForecast(
            zone=zone,
            issued_at=_utc(first["issued_at"]),
            model=first["model"],
            known_until=_utc(first["known_until"]),
            slots=tuple(
                ForecastSlot(
                    start_at=_utc(r["start_at"]),
                    end_at=_utc(r["end_at"]),
                    p10_eur_per_mwh=r["p10_eur_per_mwh"],
                    p50_eur_per_mwh=r["p50_eur_per_mwh"],
                    p90_eur_per_mwh=r["p90_eur_per_mwh"],
                )
                for r in rows
            ),
        )

    async def price_anomalies(self, zone: str, window: TimeWindow) -> list[PriceAnomaly]:
        rows = await self._rows(
            "SELECT zone, kind, start_at, end_at, price_eur_per_mwh, expected_eur_per_mwh, "
            "detected_at, detail FROM price_anomalies "
            "WHERE zone = %s AND start_at < %s AND end_at > %s ORDER BY start_at, kind",
            (zone, window.to_at, window.from_at),
        )
        return [
            PriceAnomaly(
                zone=r["zone"],
                kind=r["kind"],
                start_at=_utc(r["start_at"]),
                end_at=_utc(r["end_at"]),
                price_eur_per_mwh=r["price_eur_per_mwh"],
                expected_eur_per_mwh=r["expected_eur_per_mwh"],
                detected_at=_utc(r["detected_at"]),
                detail=r["detail"],
            )
            for r in rows
        ]

    async def exchange_rates(self, window: DateWindow) -> list[ExchangeRate]:
        rows = await self._rows(
            "SELECT rate_date, currency, per_eur, source, fetched_at FROM exchange_rates "
            "WHERE rate_date >= %s AND rate_date < %s ORDER BY rate_date, currency",
            (window.from_date, window.to_date),
        )
        return [
            ExchangeRate(
                rate_date=r["rate_date"],
                currency=r["currency"],
                per_eur=r["per_eur"],
                source=r["source"],
                fetched_at=_utc(r["fetched_at"]),
            )
            for r in rows
        ]

    async def latest_weather(self, location_id: str) -> WeatherForecast | None:
        rows = await self._rows(
            "SELECT updated_at, start_at, end_at, air_temperature_c, wind_speed_m_per_s, "
            "cloud_area_fraction_pct, precipitation_mm, latitude_deg, longitude_deg, source, "
            "fetched_at FROM weather_forecasts WHERE location_id = %s AND updated_at = "
            "(SELECT max(updated_at) FROM weather_forecasts WHERE location_id = %s) "
            "ORDER BY start_at",
            (location_id, location_id),
        )
        if not rows:
            return None
        first = rows[0]
        return WeatherForecast(
            location_id=location_id,
            latitude_deg=first["latitude_deg"],
            longitude_deg=first["longitude_deg"],
            updated_at=_utc(first["updated_at"]),
            # A run re-fetched later keeps its rows' fetch times; report the latest.
            fetched_at=max(_utc(r["fetched_at"]) for r in rows),
            source=first["source"],
            slots=tuple(
                WeatherSlot(
                    start_at=_utc(r["start_at"]),
                    end_at=_utc(r["end_at"]),
                    air_temperature_c=r["air_temperature_c"],
                    wind_speed_m_per_s=r["wind_speed_m_per_s"],
                    cloud_area_fraction_pct=r["cloud_area_fraction_pct"],
                    precipitation_mm=r["precipitation_mm"],
                )
                for r in rows
            ),
        )
