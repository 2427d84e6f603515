"""hvakosterstrommen.no: Norwegian zones' spot prices as static JSON files, no token.

``GET /api/v1/prices/YYYY/MM-DD_NOx.json`` (Oslo calendar day) answers an array of
``{NOK_per_kWh, EUR_per_kWh, EXR, time_start, time_end}`` with local-offset timestamps; a file
that does not exist yet (tomorrow before ~13:00) is a 404. The step is derived from
``time_end - time_start`` (hourly before 2025-10-01, quarter-hours after), never assumed.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, timedelta
from typing import Final

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError

from tc_common.clock import Clock
from tc_common.events.market import BiddingZone, SpotPriceSlot
from tc_ingest.adapters._http import ErrorHook, RetryingGetter
from tc_ingest.domain.market import NORWEGIAN_ZONES, DayPrices
from tc_ingest.errors import MarketRequestError, MarketUnavailableError
from tc_ingest.settings import MarketSettings

log = logging.getLogger(__name__)

SOURCE: Final = "hvakosterstrommen"


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    NOK_per_kWh: float | None = None  # the wire's field names
    EUR_per_kWh: float
    EXR: float | None = None
    time_start: AwareDatetime
    time_end: AwareDatetime


_ROWS: Final = TypeAdapter(list[_Row])


def parse_day(zone: BiddingZone, delivery_date: date, body: bytes) -> DayPrices:
    """Rows to a ``DayPrices``: EUR/kWh × 1000 → EUR/MWh, NOK/kWh × 100 → øre/kWh, UTC."""
    try:
        rows = _ROWS.validate_json(body)
    except ValidationError as error:
        raise ValueError(f"unexpected body ({error.error_count()} errors)") from None
    rows = sorted(rows, key=lambda r: r.time_start.astimezone(UTC))
    slots: list[SpotPriceSlot] = []
    steps: set[timedelta] = set()
    for row in rows:
        start, end = row.time_start.astimezone(UTC), row.time_end.astimezone(UTC)
        if slots and start < slots[-1].end_at:
            continue  # a repeated row; the first one wins
        steps.add(end - start)
        slots.append(
            SpotPriceSlot(
                start_at=start,
                end_at=end,
                price_eur_per_mwh=round(row.EUR_per_kWh * 1000.0, 4),
                price_nok_ore_per_kwh=(
                    None if row.NOK_per_kWh is None else round(row.NOK_per_kWh * 100.0, 4)
                ),
            )
        )
    if len(steps) > 1:
        raise ValueError(f"mixed interval lengths {sorted(steps)}")
    step = steps.pop() if steps else timedelta(hours=1)
    resolution_min = int(step / timedelta(minutes=1))
    if resolution_min not in (15, 60):
        raise ValueError(f"unsupported interval of {resolution_min} minutes")
    exr = next((r.EXR for r in rows if r.EXR), None)
    return DayPrices(zone, delivery_date, resolution_min, tuple(slots), eur_nok=exr)


class HvakosterstrommenClient:
    """The ``PriceSource`` for NO1–NO5 without a token; one request per zone and day."""

    name: Final = SOURCE

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
            base_url=settings.hvakosterstrommen_base_url,
            timeout=settings.timeout_s,
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=True,
        )
        self._getter = RetryingGetter(
            SOURCE, self._http, settings, sleep=sleep, jitter=jitter, on_error=on_error, clock=clock
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def supports(self, zone: BiddingZone) -> bool:
        return zone in NORWEGIAN_ZONES

    async def fetch_day(self, zone: BiddingZone, delivery_date: date) -> DayPrices | None:
        """The day's prices, or None when the file is not published (404)."""
        path = f"/api/v1/prices/{delivery_date:%Y}/{delivery_date:%m-%d}_{zone}.json"
        what = f"{zone} {delivery_date.isoformat()}"
        response = await self._getter.get(path, what=what)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            self._getter.count_error(str(response.status_code))
            raise MarketRequestError(f"{SOURCE} {what}: HTTP {response.status_code}", source=SOURCE)
        try:
            return parse_day(zone, delivery_date, response.content)
        except ValueError as error:
            self._getter.count_error("bad_body")
            raise MarketUnavailableError(f"{SOURCE} {what}: {error}", source=SOURCE) from None

    async def fetch_days(self, zone: BiddingZone, first: date, last: date) -> list[DayPrices]:
        days: list[DayPrices] = []
        day = first
        while day <= last:
            fetched = await self.fetch_day(zone, day)
            if fetched is not None and fetched.slots:
                days.append(fetched)
            day += timedelta(days=1)
        return days
