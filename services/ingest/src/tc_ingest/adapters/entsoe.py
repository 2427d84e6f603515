"""ENTSO-E Transparency Platform day-ahead prices (document A44), XML.

The token travels as the ``securityToken`` query parameter, so no URL is ever logged or put
in an exception; the token is also registered with ``tc_common.logging`` by the composition
root. Parsing is namespace-agnostic (the publication document's namespace version changes
over time) and converts the private wire shape to ``DayPrices`` at once.
"""

import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import httpx

from tc_common.clock import Clock
from tc_common.events.market import BiddingZone, SpotPriceSlot
from tc_common.logging import redact
from tc_ingest.adapters._http import ErrorHook, RetryingGetter, SecretInUrlFilter
from tc_ingest.domain.market import (
    ZONE_EIC,
    CurveType,
    DayPrices,
    delivery_day_bounds,
    expand_curve,
    prefer_native_resolution,
    split_by_delivery_day,
)
from tc_ingest.errors import MarketAuthError, MarketRequestError, MarketUnavailableError
from tc_ingest.settings import MarketSettings

log = logging.getLogger(__name__)

SOURCE: Final = "entsoe"
NO_DATA_REASON: Final = "999"
_RESOLUTIONS: Final = {"PT15M": 15, "PT30M": 30, "PT60M": 60, "PT1H": 60}


@dataclass(frozen=True, slots=True)
class _Period:
    start: datetime
    end: datetime
    resolution_min: int
    curve_type: CurveType
    sequence: int
    points: dict[int, float]


@dataclass(frozen=True, slots=True)
class _Acknowledgement:
    code: str
    text: str

    @property
    def means_no_data(self) -> bool:
        # ENTSO-E uses reason 999 for refusals too ("Invalid query attributes or parameters"):
        # only the text tells "not published yet" apart.
        text = self.text.lower()
        return "no matching data" in text or (self.code == NO_DATA_REASON and not text)


class EntsoeParseError(ValueError):
    """The body is neither a publication document nor an acknowledgement."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next(_children(element, name), None)


def _text(element: ET.Element | None, *path: str) -> str | None:
    for name in path:
        if element is None:
            return None
        element = _child(element, name)
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _instant(value: str | None) -> datetime:
    if not value:
        raise EntsoeParseError("missing timeInterval bound")
    # "2025-11-03T23:00Z": short RFC 3339 without seconds.
    return datetime.fromisoformat(value).astimezone(UTC)


def parse_document(body: bytes) -> list[_Period] | _Acknowledgement:
    """The periods of a ``Publication_MarketDocument``, or the ``Acknowledgement``'s reason."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise EntsoeParseError(f"not XML ({error})") from None
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _child(root, "Reason")
        return _Acknowledgement(code=_text(reason, "code") or "", text=_text(reason, "text") or "")
    if kind != "Publication_MarketDocument":
        raise EntsoeParseError(f"unexpected root element {kind}")
    periods: list[_Period] = []
    for series in _children(root, "TimeSeries"):
        curve = _text(series, "curveType") or "A01"
        sequence_text = _text(series, "classificationSequence_AttributeInstanceComponent.position")
        sequence = int(sequence_text) if sequence_text and sequence_text.isdigit() else 1
        for period in _children(series, "Period"):
            resolution = _RESOLUTIONS.get(_text(period, "resolution") or "")
            if resolution is None:
                log.warning("ENTSO-E: skipped a period of unknown resolution")
                continue
            points: dict[int, float] = {}
            for point in _children(period, "Point"):
                position, price = _text(point, "position"), _text(point, "price.amount")
                if position is None or price is None:
                    continue
                points[int(position)] = float(price)
            periods.append(
                _Period(
                    start=_instant(_text(period, "timeInterval", "start")),
                    end=_instant(_text(period, "timeInterval", "end")),
                    resolution_min=resolution,
                    curve_type="A03" if curve == "A03" else "A01",
                    sequence=sequence,
                    points=points,
                )
            )
    return periods


def to_day_prices(zone: BiddingZone, periods: list[_Period]) -> list[DayPrices]:
    """Expand curves, split by CET delivery day, keep one version per day.

    Several auctions (classification sequences) only exist outside the Nordics; the lowest
    sequence is SDAC. The contract knows 15- and 60-minute units only, so anything else is
    dropped with a warning.
    """
    if not periods:
        return []
    lowest = min(p.sequence for p in periods)
    days: list[DayPrices] = []
    for period in periods:
        if period.sequence != lowest:
            continue
        if period.resolution_min not in (15, 60):
            log.warning("ENTSO-E: %s %d-minute prices ignored", zone, period.resolution_min)
            continue
        slots = expand_curve(
            start=period.start,
            end=period.end,
            resolution=timedelta(minutes=period.resolution_min),
            points=period.points,
            curve_type=period.curve_type,
        )
        days.extend(split_by_delivery_day(zone, slots, resolution_min=period.resolution_min))
    return prefer_native_resolution(_merge_same_day(days))


def _merge_same_day(days: list[DayPrices]) -> list[DayPrices]:
    """A day split over two periods of the same resolution becomes one ``DayPrices``."""
    merged: dict[tuple[BiddingZone, date, int], dict[datetime, SpotPriceSlot]] = {}
    for day in days:
        bucket = merged.setdefault((day.zone, day.delivery_date, day.resolution_min), {})
        for slot in day.slots:
            bucket.setdefault(slot.start_at, slot)
    return [
        DayPrices(
            zone=zone,
            delivery_date=delivery,
            resolution_min=resolution,
            slots=tuple(bucket[k] for k in sorted(bucket)),
        )
        for (zone, delivery, resolution), bucket in merged.items()
    ]


def _utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%d%H%M")


class EntsoeClient:
    """The ``PriceSource`` backed by ENTSO-E; all twelve Nordic zones.

    Returns ``[]`` when the days are not published yet (acknowledgement reason 999, answered
    with 200 today and 400 historically). Raises ``MarketAuthError`` on 401/403,
    ``MarketRequestError`` on any other acknowledgement and ``MarketUnavailableError`` when
    429/5xx/timeouts outlasted the retries.
    """

    name: Final = SOURCE

    def __init__(
        self,
        settings: MarketSettings,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] | None = None,
        on_error: ErrorHook | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._token = token
        self._log_filter = SecretInUrlFilter(token)
        logging.getLogger("httpx").addFilter(self._log_filter)
        # The endpoint is a full URL (``…/api``), requested as is: a base_url would add a slash.
        self._endpoint = settings.entsoe_base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=settings.timeout_s,
            transport=transport,
            headers={"Accept": "application/xml"},
            follow_redirects=False,
        )
        self._getter = RetryingGetter(
            SOURCE,
            self._http,
            settings,
            sleep=sleep,
            jitter=jitter,
            on_error=on_error,
            clock=clock,
            secrets=(token,),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        logging.getLogger("httpx").removeFilter(self._log_filter)

    def supports(self, zone: BiddingZone) -> bool:
        return zone in ZONE_EIC

    async def fetch_days(self, zone: BiddingZone, first: date, last: date) -> list[DayPrices]:
        eic = ZONE_EIC[zone]
        start, _ = delivery_day_bounds(first)
        _, end = delivery_day_bounds(last)
        params = {
            "documentType": "A44",
            "in_Domain": eic,
            "out_Domain": eic,
            "periodStart": _utc_stamp(start),
            "periodEnd": _utc_stamp(end),
            "contract_MarketAgreement.type": "A01",
            "securityToken": self._token,
        }
        what = f"A44 {zone} {first.isoformat()}..{last.isoformat()}"
        response = await self._getter.get(self._endpoint, what=what, params=params)
        status = response.status_code
        if status in (401, 403):
            self._getter.count_error(str(status))
            raise MarketAuthError(
                f"ENTSO-E rejected the security token (HTTP {status})", source=SOURCE
            )
        if status >= 400 and status != 400:
            self._getter.count_error(str(status))
            raise MarketRequestError(f"ENTSO-E {what}: HTTP {status}", source=SOURCE)
        try:
            parsed = parse_document(response.content)
        except EntsoeParseError as error:
            self._getter.count_error("bad_body")
            raise MarketUnavailableError(
                f"ENTSO-E {what}: unreadable body ({error})", source=SOURCE
            ) from None
        if isinstance(parsed, _Acknowledgement):
            if parsed.means_no_data:
                return []
            self._getter.count_error(str(status))
            raise MarketRequestError(
                f"ENTSO-E refused {what} (HTTP {status}, reason {parsed.code}: "
                f"{redact(parsed.text, [self._token])})",
                source=SOURCE,
            )
        if status == 400:
            self._getter.count_error("400")
            raise MarketRequestError(f"ENTSO-E {what}: HTTP 400", source=SOURCE)
        return [d for d in to_day_prices(zone, parsed) if first <= d.delivery_date <= last]
