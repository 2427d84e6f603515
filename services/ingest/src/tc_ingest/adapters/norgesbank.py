"""Norges Bank exchange rates (SDMX-JSON), converted to "units per 1 EUR" at once.

Query: ``GET /api/data/EXR/B.EUR+SEK+DKK.NOK.SP?format=sdmx-json&startPeriod=…&endPeriod=…``
(frequency B = business day, quote currency NOK, SP = spot). Norges Bank quotes every currency
in NOK: EUR per 1 unit, SEK and DKK per 100 units; the series attribute ``UNIT_MULT`` (10^n
units) says which, so a quote is divided by ``10**UNIT_MULT`` before use. Cross rates follow:
EUR→SEK = (NOK per EUR) / (NOK per SEK). Rates exist for business days only; the cache
forward-fills weekends and holidays from the last business day (``rates_in_force``).

SDMX-JSON shape: ``data.dataSets[0].series["i:j:k:l"]`` where each index picks a value of the
``structure.dimensions.series`` dimension at that key position; a series holds
``observations {"<n>": ["11.7005", ...]}`` where ``n`` indexes
``structure.dimensions.observation[TIME_PERIOD].values``, and ``attributes [a, b, ...]`` that
index the values of ``structure.attributes.series`` in order.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from tc_common.clock import Clock, SystemClock
from tc_ingest.adapters._http import ErrorHook, RetryingGetter
from tc_ingest.domain.market import Currency, delivery_date_of, eur_cross_rates, rates_in_force
from tc_ingest.errors import MarketRequestError, MarketUnavailableError
from tc_ingest.settings import MarketSettings

log = logging.getLogger(__name__)

SOURCE: Final = "norgesbank"
QUERY_CURRENCIES: Final = ("EUR", "SEK", "DKK")
# Norges Bank's quoting convention, used only when a series lacks the UNIT_MULT attribute.
DEFAULT_UNIT_MULT: Final = {"EUR": 0, "SEK": 2, "DKK": 2}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Value(_Wire):
    id: str


class _Component(_Wire):
    id: str
    keyPosition: int | None = None  # noqa: N815
    values: list[_Value] = []


class _Dimensions(_Wire):
    series: list[_Component] = []
    observation: list[_Component] = []


class _Attributes(_Wire):
    series: list[_Component] = []


class _Structure(_Wire):
    dimensions: _Dimensions
    attributes: _Attributes = _Attributes()


class _Series(_Wire):
    attributes: list[int | None] = []
    observations: dict[str, list[Any]] = {}


class _DataSet(_Wire):
    series: dict[str, _Series] = {}


class _Data(_Wire):
    dataSets: list[_DataSet]  # noqa: N815
    structure: _Structure


class _Message(_Wire):
    data: _Data


def parse_rates(body: bytes) -> dict[date, dict[Currency, float]]:
    """Business day → units of NOK/SEK/DKK per 1 EUR."""
    try:
        message = _Message.model_validate_json(body)
    except ValidationError as error:
        raise ValueError(f"unexpected SDMX-JSON ({error.error_count()} errors)") from None
    structure = message.data.structure
    dims = sorted(
        enumerate(structure.dimensions.series),
        key=lambda item: item[1].keyPosition if item[1].keyPosition is not None else item[0],
    )
    base_at = next((i for i, (_, d) in enumerate(dims) if d.id == "BASE_CUR"), None)
    time_dim = next((d for d in structure.dimensions.observation if d.id == "TIME_PERIOD"), None)
    if base_at is None or time_dim is None:
        raise ValueError("SDMX-JSON without BASE_CUR or TIME_PERIOD")
    unit_mult_at = next(
        (i for i, a in enumerate(structure.attributes.series) if a.id == "UNIT_MULT"), None
    )
    nok_per_unit: dict[date, dict[str, float]] = {}
    for data_set in message.data.dataSets:
        for key, series in data_set.series.items():
            indices = [int(part) for part in key.split(":")]
            currency = dims[base_at][1].values[indices[base_at]].id
            multiplier = 10.0 ** _unit_mult(structure, series, unit_mult_at, currency)
            for index, observation in series.observations.items():
                if not observation or observation[0] in (None, "", "NaN"):
                    continue
                day = date.fromisoformat(time_dim.values[int(index)].id[:10])
                nok_per_unit.setdefault(day, {})[currency] = float(observation[0]) / multiplier
    out: dict[date, dict[Currency, float]] = {}
    for day, quotes in sorted(nok_per_unit.items()):
        rates = eur_cross_rates(quotes)
        if rates:
            out[day] = rates
    return out


def _unit_mult(
    structure: _Structure, series: _Series, unit_mult_at: int | None, currency: str
) -> int:
    if unit_mult_at is not None and unit_mult_at < len(series.attributes):
        value_index = series.attributes[unit_mult_at]
        values = structure.attributes.series[unit_mult_at].values
        if value_index is not None and value_index < len(values):
            return int(values[value_index].id)
    return DEFAULT_UNIT_MULT.get(currency, 0)


class NorgesBankClient:
    """Reads business-day rates for a date range (one request for EUR, SEK and DKK)."""

    def __init__(
        self,
        settings: MarketSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] | None = None,
        on_error: ErrorHook | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=settings.norgesbank_base_url,
            timeout=settings.timeout_s,
            transport=transport,
            headers={"Accept": "application/vnd.sdmx.data+json, application/json"},
            follow_redirects=True,
        )
        self._getter = RetryingGetter(
            SOURCE, self._http, settings, sleep=sleep, jitter=jitter, on_error=on_error, clock=clock
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch_rates(self, first: date, last: date) -> dict[date, dict[Currency, float]]:
        path = f"/api/data/EXR/B.{'+'.join(QUERY_CURRENCIES)}.NOK.SP"
        params = {
            "format": "sdmx-json",
            "startPeriod": first.isoformat(),
            "endPeriod": last.isoformat(),
            "locale": "en",
        }
        what = f"EXR {first.isoformat()}..{last.isoformat()}"
        response = await self._getter.get(path, what=what, params=params)
        if response.status_code == 404:
            return {}  # SDMX answers 404 "NoResultsFound" for a range without business days
        if response.status_code >= 400:
            self._getter.count_error(str(response.status_code))
            raise MarketRequestError(f"{SOURCE} {what}: HTTP {response.status_code}", source=SOURCE)
        try:
            return parse_rates(response.content)
        except (ValueError, IndexError) as error:
            self._getter.count_error("bad_body")
            raise MarketUnavailableError(f"{SOURCE} {what}: {error}", source=SOURCE) from None


class CachedExchangeRates:
    """Rates kept in memory, re-read when older than ``refresh_interval``.

    ``lookback_days`` covers the price backfill window plus a margin so the first backfilled
    day has a business day to forward-fill from.
    """

    def __init__(
        self,
        client: NorgesBankClient,
        *,
        clock: Clock | None = None,
        lookback_days: int,
        refresh_interval: timedelta,
    ) -> None:
        self._client = client
        self._clock = clock or SystemClock()
        self._lookback = timedelta(days=lookback_days + 14)
        self._refresh = refresh_interval
        self._observations: dict[date, dict[Currency, float]] = {}
        self._fetched_at: datetime | None = None

    @property
    def observations(self) -> Mapping[date, Mapping[Currency, float]]:
        return self._observations

    def is_stale(self) -> bool:
        return self._fetched_at is None or self._clock.now() - self._fetched_at >= self._refresh

    async def refresh(self) -> bool:
        """Re-read the window; True when a business day was added. Raises on failure."""
        now = self._clock.now()
        today = delivery_date_of(now)
        fetched = await self._client.fetch_rates(today - self._lookback, today)
        added = any(day not in self._observations for day in fetched)
        self._observations.update(fetched)
        self._fetched_at = now
        return added

    async def ensure_fresh(self) -> None:
        """Refresh when stale; a failure keeps the old rates (logged), never raises."""
        if not self.is_stale():
            return
        try:
            await self.refresh()
        except Exception as error:
            log.warning("exchange rates not refreshed: %s", error)

    def eur_nok_on(self, day: date) -> float | None:
        found = rates_in_force(self._observations, day)
        return None if found is None else found[1].get("NOK")
