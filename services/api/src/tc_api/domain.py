"""What a telemetry, price or weather query may ask for, and what its answer holds: windows,
limits, zones and the merging of price series, decided without I/O.

Windows are half-open, ``[from_at, to_at)``: a page that ends at ``to_at`` and the next one that
starts there never return the same sample twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar
from uuid import UUID

SortOrder = Literal["asc", "desc"]

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=31)
DEFAULT_LIMIT = 1000
MIN_LIMIT = 1
MAX_LIMIT = 10_000
DEFAULT_ORDER: SortOrder = "asc"


class InvalidQueryError(ValueError):
    """A query the caller must change; the message says how and names the parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


# --- Who a request acts for ------------------------------------------------------------------

# last_used_at says roughly when a key was last used; recording it at most once a minute per key
# keeps the per-request cost at one read instead of a write on every request.
KEY_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the operator (``account_id`` None: every account's vehicles) or
    one account (only the vehicles linked to it)."""

    account_id: UUID | None = None

    @property
    def is_operator(self) -> bool:
        return self.account_id is None


OPERATOR = Principal()


@dataclass(frozen=True)
class AccountKey:
    """An unrevoked account key as stored, with its account's state."""

    key_id: UUID
    account_id: UUID
    account_state: str
    last_used_at: datetime | None

    @property
    def account_active(self) -> bool:
        return self.account_state == "active"

    def use_is_stale(self, now: datetime) -> bool:
        """Whether ``last_used_at`` should be written now (never, or over a minute ago)."""
        return self.last_used_at is None or now - self.last_used_at >= KEY_USE_RESOLUTION


@dataclass(frozen=True)
class Activity:
    """What the car is doing as ingest last saw it (``state``), since when, and when that was
    last checked: an asleep car sends no telemetry, this says why a car's samples stop."""

    state: str
    since: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    first_sampled_at: datetime
    last_sampled_at: datetime
    activity: Activity | None = None


@dataclass(frozen=True)
class TelemetryQuery:
    """A validated query: aware UTC bounds, ``from_at < to_at``, a bounded limit."""

    from_at: datetime
    to_at: datetime
    limit: int
    order: SortOrder


D = TypeVar("D", date, datetime)


def _shifted(value: D, by: timedelta, parameter: str) -> D:
    """``value + by`` for a default bound; a bound at the calendar's edge (year 1 or 9999) is
    the caller's mistake to hear about (422), not an overflow (500)."""
    try:
        return value + by
    except OverflowError:
        raise InvalidQueryError(
            parameter, f"'{parameter}' is too close to the calendar's limits: give both bounds"
        ) from None


def _require_aware(parameter: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidQueryError(
            parameter,
            f"'{parameter}' must carry a timezone, e.g. 2026-11-25T06:30:00Z or "
            "2026-11-25T07:30:00+01:00",
        )
    return value.astimezone(UTC)


def resolve_query(
    *,
    from_at: datetime | None,
    to_at: datetime | None,
    limit: int | None,
    order: SortOrder | None,
    now: datetime,
) -> TelemetryQuery:
    """Apply defaults and bounds to a telemetry query.

    ``to`` defaults to ``now`` and ``from`` to ``DEFAULT_WINDOW`` before ``to``; so a caller that
    only sends ``from`` gets everything since then, up to ``MAX_WINDOW``. ``now`` MUST be aware.
    """
    start = _require_aware("from", from_at)
    end = _require_aware("to", to_at)
    if end is None:
        end = now.astimezone(UTC)
    if start is None:
        start = _shifted(end, -DEFAULT_WINDOW, "to")
    if start >= end:
        raise InvalidQueryError("from", "'from' must be before 'to'")
    if end - start > MAX_WINDOW:
        raise InvalidQueryError(
            "from",
            f"the window from 'from' to 'to' may span at most {MAX_WINDOW.days} days; "
            "split the request",
        )
    if limit is None:
        limit = DEFAULT_LIMIT
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise InvalidQueryError("limit", f"'limit' must be between {MIN_LIMIT} and {MAX_LIMIT}")
    return TelemetryQuery(from_at=start, to_at=end, limit=limit, order=order or DEFAULT_ORDER)


# --- Spot prices, price forecasts, anomalies, exchange rates and weather ----------------------

BIDDING_ZONES: tuple[str, ...] = (
    "NO1",
    "NO2",
    "NO3",
    "NO4",
    "NO5",
    "SE1",
    "SE2",
    "SE3",
    "SE4",
    "DK1",
    "DK2",
    "FI",
)
# BIDDING_ZONES in any case, as a JSON Schema (ECMA) pattern: it has no case-insensitive flag.
BIDDING_ZONE_PATTERN = (
    "^("
    + "|".join(
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in zone)
        for zone in BIDDING_ZONES
    )
    + ")$"
)
# Without from/to a price query covers yesterday's last hours, today and the published
# day-ahead: 24 h back from the current hour and 72 h in all.
DEFAULT_PRICE_LOOKBACK = timedelta(hours=24)
DEFAULT_PRICE_WINDOW = timedelta(hours=72)
DEFAULT_RATE_DAYS = 31
MAX_RATE_DAYS = 366


@dataclass(frozen=True)
class TimeWindow:
    """Aware UTC ``[from_at, to_at)``."""

    from_at: datetime
    to_at: datetime


@dataclass(frozen=True)
class DateWindow:
    """Days ``[from_date, to_date)``."""

    from_date: date
    to_date: date


@dataclass(frozen=True)
class SpotPrice:
    start_at: datetime
    end_at: datetime
    resolution_min: int
    price_eur_per_mwh: float
    price_nok_ore_per_kwh: float | None


@dataclass(frozen=True)
class ForecastSlot:
    start_at: datetime
    end_at: datetime
    p10_eur_per_mwh: float
    p50_eur_per_mwh: float
    p90_eur_per_mwh: float


@dataclass(frozen=True)
class PriceForecast:
    zone: str
    issued_at: datetime
    model: str
    known_until: datetime
    slots: tuple[ForecastSlot, ...]


@dataclass(frozen=True)
class PriceAnomaly:
    zone: str
    kind: str
    start_at: datetime
    end_at: datetime
    price_eur_per_mwh: float
    expected_eur_per_mwh: float | None
    detected_at: datetime
    detail: str


@dataclass(frozen=True)
class ExchangeRate:
    rate_date: date
    currency: str
    per_eur: float
    source: str
    fetched_at: datetime


@dataclass(frozen=True)
class WeatherSlot:
    start_at: datetime
    end_at: datetime
    air_temperature_c: float | None
    wind_speed_m_per_s: float | None
    cloud_area_fraction_pct: float | None
    precipitation_mm: float | None


@dataclass(frozen=True)
class WeatherForecast:
    """One model run for one place."""

    location_id: str
    latitude_deg: float
    longitude_deg: float
    updated_at: datetime
    fetched_at: datetime
    source: str
    slots: tuple[WeatherSlot, ...]


def parse_zone(text: str) -> str:
    """The bidding zone named by ``text`` (any case), or an ``InvalidQueryError`` listing the
    valid ones."""
    zone = text.strip().upper()
    if zone not in BIDDING_ZONES:
        raise InvalidQueryError(
            "zone", f"unknown bidding zone {text!r}; valid zones: {', '.join(BIDDING_ZONES)}"
        )
    return zone


def resolve_price_window(
    *, from_at: datetime | None, to_at: datetime | None, now: datetime
) -> TimeWindow:
    """Apply defaults and bounds to a price or anomaly window.

    With neither bound the window starts ``DEFAULT_PRICE_LOOKBACK`` before the current hour;
    a missing bound lies ``DEFAULT_PRICE_WINDOW`` from the given one. ``now`` MUST be aware.
    """
    start = _require_aware("from", from_at)
    end = _require_aware("to", to_at)
    if start is None and end is None:
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        start = hour - DEFAULT_PRICE_LOOKBACK
    if start is None:
        assert end is not None
        start = _shifted(end, -DEFAULT_PRICE_WINDOW, "to")
    if end is None:
        end = _shifted(start, DEFAULT_PRICE_WINDOW, "from")
    _check_window(start, end)
    return TimeWindow(from_at=start, to_at=end)


def _check_window(start: datetime, end: datetime) -> None:
    if start >= end:
        raise InvalidQueryError("from", "'from' must be before 'to'")
    if end - start > MAX_WINDOW:
        raise InvalidQueryError(
            "from",
            f"the window from 'from' to 'to' may span at most {MAX_WINDOW.days} days; "
            "split the request",
        )


def resolve_date_window(
    *, from_date: date | None, to_date: date | None, now: datetime
) -> DateWindow:
    """Days ``[from, to)``: ``to`` defaults to tomorrow (UTC, so today is included) and
    ``from`` to ``DEFAULT_RATE_DAYS`` before it; at most ``MAX_RATE_DAYS`` days."""
    end = to_date or now.astimezone(UTC).date() + timedelta(days=1)
    start = from_date or _shifted(end, -timedelta(days=DEFAULT_RATE_DAYS), "to")
    if start >= end:
        raise InvalidQueryError("from", "'from' must be before 'to'")
    if (end - start).days > MAX_RATE_DAYS:
        raise InvalidQueryError(
            "from", f"the dates from 'from' to 'to' may span at most {MAX_RATE_DAYS} days"
        )
    return DateWindow(from_date=start, to_date=end)


def finest_prices(prices: Sequence[SpotPrice]) -> list[SpotPrice]:
    """One price for every instant: where an hourly and a 15-minute series overlap (a zone
    during the move to 15-minute market time units), the 15-minute slots win.

    Returned sorted by ``start_at``; ``prices`` need not be sorted.
    """
    fine = [p for p in prices if p.resolution_min < 60]
    covered = {p.start_at for p in fine}
    kept = list(fine)
    for price in prices:
        if price.resolution_min >= 60:
            quarters = {
                price.start_at + timedelta(minutes=m) for m in range(0, price.resolution_min, 15)
            }
            if not quarters & covered:
                kept.append(price)
    return sorted(kept, key=lambda p: p.start_at)


def forecast_beyond(
    forecast: PriceForecast, *, known_until: datetime | None, window: TimeWindow
) -> tuple[ForecastSlot, ...]:
    """The forecast slots that start inside ``window`` and not before ``known_until`` (the
    end of the last published price; None when none is stored)."""
    return tuple(
        slot
        for slot in forecast.slots
        if window.from_at <= slot.start_at < window.to_at
        and (known_until is None or slot.start_at >= known_until)
    )


# --- Drive and charge history, behaviour profiles and charge plans -----------------------------

# A drive or charge page lists a few episodes a day, so a quarter of a year fits one answer.
DEFAULT_HISTORY_WINDOW = timedelta(days=7)
MAX_HISTORY_WINDOW = timedelta(days=92)
# Plans are re-issued many times a day; they are paged like telemetry (newest first).
DEFAULT_PLANS_WINDOW = timedelta(days=7)
DEFAULT_PLANS_LIMIT = 100
MAX_PLANS_LIMIT = 1000
READY_AFTER_DAYS = 14


@dataclass(frozen=True)
class PlansQuery:
    """A validated plan-history query: plans issued in ``window``, newest first."""

    window: TimeWindow
    limit: int


@dataclass(frozen=True)
class HistoryCounts:
    """What the store holds about a vehicle's drive and charge history."""

    drives: int
    charges: int
    first_started_at: datetime | None


def resolve_history_window(
    *,
    from_at: datetime | None,
    to_at: datetime | None,
    now: datetime,
    default: timedelta = DEFAULT_HISTORY_WINDOW,
    maximum: timedelta = MAX_HISTORY_WINDOW,
) -> TimeWindow:
    """Episodes (or plans) starting in ``[from, to)``: ``to`` defaults to ``now`` and ``from``
    to ``default`` before ``to``; at most ``maximum``. ``now`` MUST be aware."""
    start = _require_aware("from", from_at)
    end = _require_aware("to", to_at)
    if end is None:
        end = now.astimezone(UTC)
    if start is None:
        start = _shifted(end, -default, "to")
    if start >= end:
        raise InvalidQueryError("from", "'from' must be before 'to'")
    if end - start > maximum:
        raise InvalidQueryError(
            "from",
            f"the window from 'from' to 'to' may span at most {maximum.days} days; "
            "split the request",
        )
    return TimeWindow(from_at=start, to_at=end)


def resolve_plans_query(
    *, from_at: datetime | None, to_at: datetime | None, limit: int | None, now: datetime
) -> PlansQuery:
    window = resolve_history_window(
        from_at=from_at, to_at=to_at, now=now, default=DEFAULT_PLANS_WINDOW, maximum=MAX_WINDOW
    )
    if limit is None:
        limit = DEFAULT_PLANS_LIMIT
    if not MIN_LIMIT <= limit <= MAX_PLANS_LIMIT:
        raise InvalidQueryError(
            "limit", f"'limit' must be between {MIN_LIMIT} and {MAX_PLANS_LIMIT}"
        )
    return PlansQuery(window=window, limit=limit)


def no_profile_yet(vehicle_id: str, counts: HistoryCounts) -> str:
    """Why a known vehicle has no behaviour profile, and what happens next (a 404's detail)."""
    if counts.drives == 0 and counts.charges == 0:
        return (
            f"vehicle {vehicle_id!r} has no behaviour profile yet: no drive or charge history "
            "is stored for it; ingest fetches it from Tessie (the last 30 days at start, then "
            "every few minutes)"
        )
    since = (
        f" since {counts.first_started_at.astimezone(UTC).date().isoformat()}"
        if counts.first_started_at is not None
        else ""
    )
    return (
        f"vehicle {vehicle_id!r} has no behaviour profile yet: {counts.drives} drive(s) and "
        f"{counts.charges} charge(s){since} are stored, and the forecast service publishes a "
        f"profile once it has learned from them (learning until {READY_AFTER_DAYS} days of "
        "history, then ready)"
    )


def describe_duration(delta: timedelta) -> str:
    """``delta`` as a reader writes it ('24 hours', '7 days'), not as ``str(timedelta)`` does
    ('1 day, 0:00:00'): for the API's documentation of its defaults and limits."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size and (unit != "day" or seconds // size != 1):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


# --- The caller's account ----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenState:
    """The account's Tessie token as the customer sees it: never the token."""

    token_id: UUID
    registered_at: datetime
    revoked_at: datetime | None
    vehicle_ids: tuple[str, ...]

    @property
    def registered(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class AccountView:
    account_id: UUID
    email: str
    state: str
    vehicle_ids: tuple[str, ...]
    created_at: datetime
    token: TokenState | None


def retry_after_s(header: str | None, default_s: int, cap_s: int = 300) -> int:
    """Seconds to wait from an upstream ``Retry-After`` (seconds only; a date or garbage is the
    default), at least 1 and at most ``cap_s``."""
    try:
        value = int(header) if header is not None else default_s
    except ValueError:
        value = default_s
    return max(1, min(value, cap_s))
