"""MET Norway locationforecast 2.0 ``compact``, with the caching MET's terms require.

Every request carries the identifying ``User-Agent`` from settings (a generic one is answered
403). Coordinates are rounded to 4 decimals. A point is not requested again before its
``Expires``; after that the request carries ``If-Modified-Since`` with the exact
``Last-Modified`` string, and a 304 reuses the cached forecast.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from tc_common.clock import Clock, SystemClock
from tc_ingest.adapters._http import ErrorHook, RetryingGetter
from tc_ingest.domain.weather import (
    Forecast,
    ForecastEntry,
    WeatherFetch,
    refetch_due,
    round_coordinate,
    to_weather_slots,
)
from tc_ingest.errors import MarketAuthError, MarketRequestError, MarketUnavailableError
from tc_ingest.settings import WeatherSettings

log = logging.getLogger(__name__)

SOURCE: Final = "met"
PATH: Final = "/weatherapi/locationforecast/2.0/compact"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _InstantDetails(_Wire):
    air_temperature: float | None = None
    wind_speed: float | None = None
    cloud_area_fraction: float | None = None


class _Instant(_Wire):
    details: _InstantDetails = _InstantDetails()


class _PeriodDetails(_Wire):
    precipitation_amount: float | None = None


class _Period(_Wire):
    details: _PeriodDetails = _PeriodDetails()


class _Data(_Wire):
    instant: _Instant = _Instant()
    next_1_hours: _Period | None = None
    next_6_hours: _Period | None = None


class _Step(_Wire):
    time: AwareDatetime
    data: _Data = _Data()


class _Meta(_Wire):
    updated_at: AwareDatetime


class _Properties(_Wire):
    meta: _Meta
    timeseries: list[_Step] = []


class _Feature(_Wire):
    properties: _Properties


def parse_forecast(body: bytes) -> Forecast:
    try:
        feature = _Feature.model_validate_json(body)
    except ValidationError as error:
        raise ValueError(
            f"unexpected locationforecast body ({error.error_count()} errors)"
        ) from None
    entries = [
        ForecastEntry(
            time=step.time.astimezone(UTC),
            air_temperature_c=step.data.instant.details.air_temperature,
            wind_speed_m_per_s=step.data.instant.details.wind_speed,
            cloud_area_fraction_pct=step.data.instant.details.cloud_area_fraction,
            precipitation_next_1h_mm=(
                step.data.next_1_hours.details.precipitation_amount
                if step.data.next_1_hours
                else None
            ),
            precipitation_next_6h_mm=(
                step.data.next_6_hours.details.precipitation_amount
                if step.data.next_6_hours
                else None
            ),
            has_next_1_hours=step.data.next_1_hours is not None,
            has_next_6_hours=step.data.next_6_hours is not None,
        )
        for step in feature.properties.timeseries
    ]
    return Forecast(
        updated_at=feature.properties.meta.updated_at.astimezone(UTC),
        slots=to_weather_slots(entries),
    )


@dataclass
class _CacheEntry:
    forecast: Forecast
    last_modified: str | None
    expires_at: datetime | None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class MetClient:
    """The ``WeatherSource`` backed by api.met.no; caches one forecast per rounded point."""

    def __init__(
        self,
        settings: WeatherSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] | None = None,
        on_error: ErrorHook | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._http = httpx.AsyncClient(
            base_url=settings.met_base_url,
            timeout=settings.timeout_s,
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
            follow_redirects=True,
        )
        self._getter = RetryingGetter(
            SOURCE,
            self._http,
            settings,
            sleep=sleep,
            jitter=jitter,
            on_error=on_error,
            clock=self._clock,
        )
        self._cache: dict[tuple[float, float], _CacheEntry] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch:
        lat, lon = round_coordinate(latitude_deg), round_coordinate(longitude_deg)
        cached = self._cache.get((lat, lon))
        if cached is not None and not refetch_due(self._clock.now(), cached.expires_at):
            return WeatherFetch(cached.forecast, False, lat, lon)
        headers = {}
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        what = f"compact {lat:.4f},{lon:.4f}"
        response = await self._getter.get(
            PATH, what=what, params={"lat": f"{lat:.4f}", "lon": f"{lon:.4f}"}, headers=headers
        )
        status = response.status_code
        expires_at = _http_date(response.headers.get("Expires"))
        if status == 304 and cached is not None:
            cached.expires_at = expires_at
            cached.last_modified = response.headers.get("Last-Modified", cached.last_modified)
            return WeatherFetch(cached.forecast, False, lat, lon)
        if status in (401, 403):
            self._getter.count_error(str(status))
            raise MarketAuthError(
                f"MET refused {what} (HTTP {status}): check INGEST_WEATHER__USER_AGENT",
                source=SOURCE,
            )
        if status >= 300:
            self._getter.count_error(str(status))
            raise MarketRequestError(f"MET {what}: HTTP {status}", source=SOURCE)
        if status == 203:
            log.warning("MET: locationforecast 2.0 compact is deprecated or beta (HTTP 203)")
        try:
            forecast = parse_forecast(response.content)
        except ValueError as error:
            self._getter.count_error("bad_body")
            raise MarketUnavailableError(f"MET {what}: {error}", source=SOURCE) from None
        self._cache[(lat, lon)] = _CacheEntry(
            forecast, response.headers.get("Last-Modified"), expires_at
        )
        return WeatherFetch(forecast, True, lat, lon)
