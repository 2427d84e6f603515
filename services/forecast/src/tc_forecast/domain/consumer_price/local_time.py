"""Norwegian wall-clock time: tariffs, tax periods and months follow it, slots are UTC."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
HOUR = timedelta(hours=1)


def oslo(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: slots are aware UTC instants")
    return at.astimezone(OSLO)


def oslo_date(at: datetime) -> date:
    return oslo(at).date()


def oslo_month(at: datetime) -> tuple[int, int]:
    local = oslo(at)
    return local.year, local.month


def hour_start(at: datetime) -> datetime:
    """The UTC hour containing ``at``; Norway's offsets are whole hours, so this is also the
    local clock hour (and the two 02:00 hours of the fall-back day stay apart)."""
    utc = at.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)
