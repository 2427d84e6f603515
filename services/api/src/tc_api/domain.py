"""What a telemetry query may ask for: windows, limits and order, decided without I/O.

Windows are half-open, ``[from_at, to_at)``: a page that ends at ``to_at`` and the next one that
starts there never return the same sample twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

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


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    first_sampled_at: datetime
    last_sampled_at: datetime


@dataclass(frozen=True)
class TelemetryQuery:
    """A validated query: aware UTC bounds, ``from_at < to_at``, a bounded limit."""

    from_at: datetime
    to_at: datetime
    limit: int
    order: SortOrder


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
        start = end - DEFAULT_WINDOW
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
