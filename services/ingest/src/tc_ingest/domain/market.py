"""Pure market rules: delivery days, price curves, completeness, units, the polling schedule.

The day-ahead market runs on CET/CEST for every Nordic zone (Finland included): a delivery day
is a calendar day in Europe/Oslo, 23, 24 or 25 hours long. Slots are always derived from UTC
instants, never from local wall-clock hours, so DST days come out as 92/100 quarter-hours.

No I/O and no clock: every function that needs the time takes ``now``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from tc_common.events.market import BiddingZone, SpotPriceSlot

MARKET_TZ: Final = ZoneInfo("Europe/Oslo")
Currency = Literal["NOK", "SEK", "DKK"]
CurveType = Literal["A01", "A03"]

# entsoe-py mappings.py, via price-and-weather-apis.md §1.2.
ZONE_EIC: Final[Mapping[BiddingZone, str]] = {
    "NO1": "10YNO-1--------2",
    "NO2": "10YNO-2--------T",
    "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9",
    "NO5": "10Y1001A1001A48H",
    "SE1": "10Y1001A1001A44P",
    "SE2": "10Y1001A1001A45N",
    "SE3": "10Y1001A1001A46L",
    "SE4": "10Y1001A1001A47J",
    "DK1": "10YDK-1--------W",
    "DK2": "10YDK-2--------M",
    "FI": "10YFI-1--------U",
}
NORWEGIAN_ZONES: Final = frozenset({"NO1", "NO2", "NO3", "NO4", "NO5"})

# The largest city of each zone (4 decimals, as MET wants): the zone's weather reference point.
ZONE_REFERENCE_POINTS: Final[Mapping[BiddingZone, tuple[float, float]]] = {
    "NO1": (59.9139, 10.7522),  # Oslo
    "NO2": (58.1467, 7.9956),  # Kristiansand
    "NO3": (63.4305, 10.3951),  # Trondheim
    "NO4": (69.6492, 18.9553),  # Tromsø
    "NO5": (60.3913, 5.3221),  # Bergen
    "SE1": (65.5848, 22.1547),  # Luleå
    "SE2": (62.3908, 17.3069),  # Sundsvall
    "SE3": (59.3293, 18.0686),  # Stockholm
    "SE4": (55.6050, 13.0038),  # Malmö
    "DK1": (56.1629, 10.2039),  # Aarhus
    "DK2": (55.6761, 12.5683),  # Copenhagen
    "FI": (60.1699, 24.9384),  # Helsinki
}

# SDAC's market time unit became 15 minutes with delivery day 2025-10-01 (reference §0).
SDAC_15_MINUTE_GO_LIVE: Final = date(2025, 10, 1)
# SDAC publishes ~12:45 CET; clients fetch from ~13:00 (reference §0).
DEFAULT_PUBLICATION_LOCAL: Final = time(13, 0)


@dataclass(frozen=True, slots=True)
class DayPrices:
    """One zone's prices for one CET delivery day, as a source delivered them.

    ``slots`` are sorted and in EUR/MWh; ``price_nok_ore_per_kwh`` is filled only when the
    source quotes NOK itself (hvakosterstrommen), else by ``with_nok_prices``.
    ``eur_nok`` is the rate the source used, if it says.
    """

    zone: BiddingZone
    delivery_date: date
    resolution_min: int
    slots: tuple[SpotPriceSlot, ...]
    eur_nok: float | None = None


# delivery days


def delivery_day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of a CET/CEST delivery day, in UTC (23, 24 or 25 hours apart)."""
    start = datetime.combine(day, time(0), MARKET_TZ)
    end = datetime.combine(day + timedelta(days=1), time(0), MARKET_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def delivery_date_of(instant: datetime) -> date:
    """The delivery day an instant belongs to."""
    return instant.astimezone(MARKET_TZ).date()


def expected_slot_count(day: date, resolution_min: int) -> int:
    """92/96/100 quarter-hours or 23/24/25 hours: never hard-code 24 or 96."""
    start, end = delivery_day_bounds(day)
    return int((end - start) / timedelta(minutes=resolution_min))


def is_complete(day: DayPrices) -> bool:
    """True when the slots tile the whole delivery day without a gap or overlap."""
    start, end = delivery_day_bounds(day.delivery_date)
    at = start
    for slot in day.slots:
        if slot.start_at != at:
            return False
        at = slot.end_at
    return at == end


def missing_slot_count(day: DayPrices) -> int:
    covered = sum((s.duration for s in day.slots), timedelta())
    start, end = delivery_day_bounds(day.delivery_date)
    return max(int((end - start - covered) / timedelta(minutes=day.resolution_min)), 0)


# price curves (ENTSO-E A44 periods)


def expand_curve(
    *,
    start: datetime,
    end: datetime,
    resolution: timedelta,
    points: Mapping[int, float],
    curve_type: CurveType,
) -> list[tuple[datetime, datetime, float]]:
    """The ``(start, end, price)`` slots of one ENTSO-E ``Period``.

    A point's start is ``start + (position - 1) × resolution``. With curveType ``A03`` a
    position is omitted when its value equals the previous one, so every missing position is
    forward-filled up to ``end`` (trailing repeats included); a gap before the first point
    cannot be filled and stays a gap. With ``A01`` a missing position is genuinely missing.
    """
    count = int((end - start) / resolution)
    out: list[tuple[datetime, datetime, float]] = []
    last: float | None = None
    for position in range(1, count + 1):
        price = points.get(position)
        if price is None and curve_type == "A03":
            price = last
        if price is not None:
            at = start + (position - 1) * resolution
            out.append((at, at + resolution, price))
            last = price
    return out


def split_by_delivery_day(
    zone: BiddingZone,
    slots: Iterable[tuple[datetime, datetime, float]],
    *,
    resolution_min: int,
) -> list[DayPrices]:
    """Group slots into delivery days (sorted), dropping duplicates of the same start."""
    by_day: dict[date, dict[datetime, SpotPriceSlot]] = {}
    for start, end, price in slots:
        day = by_day.setdefault(delivery_date_of(start), {})
        day.setdefault(
            start.astimezone(UTC),
            SpotPriceSlot(start_at=start, end_at=end, price_eur_per_mwh=price),
        )
    return [
        DayPrices(
            zone=zone,
            delivery_date=d,
            resolution_min=resolution_min,
            slots=tuple(by_day[d][k] for k in sorted(by_day[d])),
        )
        for d in sorted(by_day)
    ]


def prefer_native_resolution(days: Iterable[DayPrices]) -> list[DayPrices]:
    """One version per delivery day when a source sent the same day in two resolutions.

    Complete beats incomplete; then SDAC's market time unit of that day (60 minutes before
    2025-10-01, 15 after: the 2025 interim PT15M series only repeat the hourly price), like
    entsoe-py.
    """
    best: dict[date, DayPrices] = {}
    for day in days:
        current = best.get(day.delivery_date)
        if current is None or _rank(day) > _rank(current):
            best[day.delivery_date] = day
    return [best[d] for d in sorted(best)]


def native_resolution_min(day: date) -> int:
    return 15 if day >= SDAC_15_MINUTE_GO_LIVE else 60


def _rank(day: DayPrices) -> tuple[bool, bool, int]:
    native = day.resolution_min == native_resolution_min(day.delivery_date)
    return is_complete(day), native, len(day.slots)


# units


def eur_per_mwh_to_ore_per_kwh(price_eur_per_mwh: float, eur_nok: float) -> float:
    """NOK øre/kWh = EUR/MWh × EURNOK / 10 (87.40 EUR/MWh at 11.70 → 102.26 øre/kWh)."""
    return price_eur_per_mwh * eur_nok / 10.0


def with_nok_prices(day: DayPrices, eur_nok: float | None) -> DayPrices:
    """The day with øre/kWh filled in from ``eur_nok`` where the source gave none."""
    if eur_nok is None or all(s.price_nok_ore_per_kwh is not None for s in day.slots):
        return day
    slots = tuple(
        s
        if s.price_nok_ore_per_kwh is not None
        else s.model_copy(
            update={
                "price_nok_ore_per_kwh": round(
                    eur_per_mwh_to_ore_per_kwh(s.price_eur_per_mwh, eur_nok), 4
                )
            }
        )
        for s in day.slots
    )
    return DayPrices(day.zone, day.delivery_date, day.resolution_min, slots, eur_nok)


def has_nok_prices(day: DayPrices) -> bool:
    """True when every slot carries its NOK øre/kWh price."""
    return all(s.price_nok_ore_per_kwh is not None for s in day.slots)


def awaits_rate(delivery_date: date, today: date, *, keep_days: int) -> bool:
    """Whether a day published without øre/kWh is still worth re-publishing once a rate comes.

    Only the last ``keep_days`` days (and tomorrow): those are what plans and the app show;
    older history gets its øre prices from the next restart's backfill, and remembering
    every backfilled day of every zone would hold megabytes while Norges Bank is down.
    """
    return delivery_date >= today - timedelta(days=keep_days)


# exchange rates


def eur_cross_rates(
    nok_per_unit: Mapping[str, float],
) -> dict[Currency, float]:
    """Units of NOK/SEK/DKK per 1 EUR from Norges Bank's "NOK per 1 unit" quotes.

    Norges Bank quotes everything against NOK; a cross rate is the ratio:
    EUR→SEK = (NOK per EUR) / (NOK per SEK). The inputs MUST already be per ONE unit (Norges
    Bank quotes SEK and DKK per 100 units: divide by ``10**UNIT_MULT`` first).
    """
    nok_per_eur = nok_per_unit.get("EUR")
    if nok_per_eur is None or nok_per_eur <= 0:
        return {}
    rates: dict[Currency, float] = {"NOK": nok_per_eur}
    for currency in ("SEK", "DKK"):
        per_unit = nok_per_unit.get(currency)
        if per_unit is not None and per_unit > 0:
            rates[currency] = round(nok_per_eur / per_unit, 6)
    return rates


def rates_in_force(
    observations: Mapping[date, Mapping[Currency, float]], day: date
) -> tuple[date, Mapping[Currency, float]] | None:
    """The rates of the last business day on or before ``day`` (weekends/holidays ffilled)."""
    known = [d for d in observations if d <= day]
    if not known:
        return None
    latest = max(known)
    return latest, observations[latest]


def conversion_rate_date(delivery_date: date) -> date:
    """The day whose EUR→NOK rate converts a delivery day: the auction day (D-1).

    Tomorrow's prices appear at ~13:00, before Norges Bank's ~16:00 fixing of the same day, so
    the rate in force for the auction day is forward-filled from the business day before.
    """
    return delivery_date - timedelta(days=1)


# polling schedule


def publication_time(delivery_date: date, at_local: time = DEFAULT_PUBLICATION_LOCAL) -> datetime:
    """When to start asking for ``delivery_date``: ``at_local`` CET/CEST on the day before."""
    return datetime.combine(delivery_date - timedelta(days=1), at_local, MARKET_TZ).astimezone(UTC)


def live_days_due(
    now: datetime,
    complete: Iterable[date],
    *,
    at_local: time = DEFAULT_PUBLICATION_LOCAL,
) -> list[date]:
    """Today, and tomorrow once its publication time has passed, unless already complete."""
    done = set(complete)
    today = delivery_date_of(now)
    tomorrow = today + timedelta(days=1)
    wanted = [today]
    if now >= publication_time(tomorrow, at_local):
        wanted.append(tomorrow)
    return [d for d in wanted if d not in done]


def next_live_poll_at(
    now: datetime,
    complete: Iterable[date],
    *,
    retry_interval: timedelta,
    at_local: time = DEFAULT_PUBLICATION_LOCAL,
) -> datetime:
    """When the live price loop should look again.

    Retry every ``retry_interval`` while a due day is incomplete; once today (and tomorrow,
    after its publication time) are complete, sleep until the next publication time.
    """
    if live_days_due(now, complete, at_local=at_local):
        return now + retry_interval
    today = delivery_date_of(now)
    tomorrow = today + timedelta(days=1)
    if tomorrow in set(complete) or now >= publication_time(tomorrow, at_local):
        return publication_time(tomorrow + timedelta(days=1), at_local)
    return publication_time(tomorrow, at_local)


def backfill_plan(
    today: date,
    *,
    days: int,
    done: Iterable[date],
    chunk_days: int,
) -> list[tuple[date, date]]:
    """Inclusive ``(first, last)`` ranges of the ``days`` days before ``today`` not yet done.

    Newest first, so the most useful history arrives first; each range holds at most
    ``chunk_days`` consecutive missing days (one request each). Ingest keeps no state across
    restarts: after a restart the whole window is fetched and published again, which is safe
    because consumers upsert by ``(zone, start_at)``.
    """
    finished = set(done)
    missing = [
        today - timedelta(days=offset)
        for offset in range(1, days + 1)
        if today - timedelta(days=offset) not in finished
    ]
    ranges: list[tuple[date, date]] = []
    for day in missing:  # newest first
        if ranges:
            first, last = ranges[-1]
            if first - timedelta(days=1) == day and (last - day).days < chunk_days:
                ranges[-1] = (day, last)
                continue
        ranges.append((day, day))
    return ranges


def price_fingerprint(day: DayPrices) -> tuple[tuple[datetime, float], ...]:
    """What makes two fetches of a day "the same" (a changed day is re-published)."""
    return tuple((s.start_at, s.price_eur_per_mwh) for s in day.slots)
