"""Pure rules for Tessie's drive and charge history: records to events, fetch windows, and
which records are new.

Records are requested with ``distance_format=km``, so distances are km; times are epoch
seconds. No I/O and no clock here: the time is passed in.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import ValidationError

from tc_common.events import ChargeRecorded, DriveRecorded
from tc_ingest.domain import epoch_s_to_utc

HistoryKind = Literal["drives", "charges"]
HISTORY_KINDS: Final[tuple[HistoryKind, ...]] = ("drives", "charges")


@dataclass(frozen=True, slots=True)
class DriveRecord:
    """One ``/{vin}/drives`` record, as Tessie sent it (km, epoch s); every field may be None."""

    id: int | None = None
    started_at_s: float | None = None
    ended_at_s: float | None = None
    starting_latitude: float | None = None
    starting_longitude: float | None = None
    ending_latitude: float | None = None
    ending_longitude: float | None = None
    starting_battery: float | None = None
    ending_battery: float | None = None
    odometer_distance_km: float | None = None
    energy_used_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """One ``/{vin}/charges`` record, as Tessie sent it (km, epoch s); fields may be None."""

    id: int | None = None
    started_at_s: float | None = None
    ended_at_s: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    is_supercharger: bool | None = None
    starting_battery: float | None = None
    ending_battery: float | None = None
    energy_added_kwh: float | None = None
    energy_used_kwh: float | None = None
    odometer_km: float | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that does not become an event, and why. ``unfinished`` records are expected
    (a session still running) and come back finished later; the others are malformed."""

    record_id: int | None
    reason: str
    unfinished: bool = False


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _within(value: float | None, low: float, high: float) -> float | None:
    """An out-of-range value becomes unknown instead of rejecting the whole record."""
    value = _finite(value)
    return value if value is not None and low <= value <= high else None


def _times(
    record_id: int | None, started_at_s: float | None, ended_at_s: float | None
) -> tuple[datetime, datetime] | Skipped:
    if record_id is None:
        return Skipped(None, "no id")
    started = epoch_s_to_utc(_finite(started_at_s))
    if started is None:
        return Skipped(record_id, "no started_at")
    ended = epoch_s_to_utc(_finite(ended_at_s))
    if ended is None:
        return Skipped(record_id, "not finished yet (no ended_at)", unfinished=True)
    if ended < started:
        return Skipped(record_id, "ended_at is before started_at")
    return started, ended


def drive_event(vin: str, record: DriveRecord) -> DriveRecorded | Skipped:
    times = _times(record.id, record.started_at_s, record.ended_at_s)
    if isinstance(times, Skipped):
        return times
    distance_km = _finite(record.odometer_distance_km)
    if distance_km is None or distance_km < 0:
        return Skipped(record.id, "no or negative odometer_distance")
    try:
        return DriveRecorded(
            vehicle_id=vin,
            drive_id=record.id,
            started_at=times[0],
            ended_at=times[1],
            starting_latitude_deg=_within(record.starting_latitude, -90, 90),
            starting_longitude_deg=_within(record.starting_longitude, -180, 180),
            ending_latitude_deg=_within(record.ending_latitude, -90, 90),
            ending_longitude_deg=_within(record.ending_longitude, -180, 180),
            starting_battery_pct=_within(record.starting_battery, 0, 100),
            ending_battery_pct=_within(record.ending_battery, 0, 100),
            distance_km=distance_km,
            energy_used_kwh=_finite(record.energy_used_kwh),
        )
    except ValidationError as error:
        return Skipped(record.id, f"invalid drive ({error.error_count()} errors)")


def charge_event(vin: str, record: ChargeRecord) -> ChargeRecorded | Skipped:
    times = _times(record.id, record.started_at_s, record.ended_at_s)
    if isinstance(times, Skipped):
        return times
    added_kwh = _finite(record.energy_added_kwh)
    if added_kwh is None or added_kwh < 0:
        return Skipped(record.id, "no or negative energy_added")
    used_kwh = _finite(record.energy_used_kwh)
    odometer_km = _finite(record.odometer_km)
    try:
        return ChargeRecorded(
            vehicle_id=vin,
            charge_id=record.id,
            started_at=times[0],
            ended_at=times[1],
            latitude_deg=_within(record.latitude, -90, 90),
            longitude_deg=_within(record.longitude, -180, 180),
            is_supercharger=bool(record.is_supercharger),
            starting_battery_pct=_within(record.starting_battery, 0, 100),
            ending_battery_pct=_within(record.ending_battery, 0, 100),
            energy_added_kwh=added_kwh,
            energy_used_kwh=used_kwh if used_kwh is not None and used_kwh >= 0 else None,
            odometer_km=odometer_km if odometer_km is not None and odometer_km >= 0 else None,
        )
    except ValidationError as error:
        return Skipped(record.id, f"invalid charge ({error.error_count()} errors)")


def backfill_start(now: datetime, backfill_days: int) -> datetime:
    """Where a vehicle's history starts on the first sync of this process."""
    return now - timedelta(days=backfill_days)


def fetch_windows(
    covered_to: datetime, now: datetime, *, chunk: timedelta, overlap: timedelta
) -> list[tuple[datetime, datetime, datetime]]:
    """The requests that bring the history from ``covered_to`` up to ``now``, oldest first.

    Each is ``(from, to, covered_to_after)``: ``to - chunk`` at most, and ``from`` reaches
    ``overlap`` further back than the part not covered yet. Tessie has no cursor and a
    session that was still running at the end of the last window (or that Tessie recorded a
    little late) ends inside a later one; reaching back by more than the longest session
    lists it there. Records fetched twice are dropped by ``PublishedLog``.
    """
    windows: list[tuple[datetime, datetime, datetime]] = []
    lo = covered_to
    while lo < now:
        hi = min(lo + chunk, now)
        windows.append((lo - overlap, hi, hi))
        lo = hi
    return windows


@dataclass
class PublishedLog:
    """What was published for one vehicle and kind in this process: id → (start, content).

    A record fetched again unchanged is not published again; a record Tessie changed is. The
    log forgets records that started before the oldest window still to be fetched.
    """

    _entries: dict[int, tuple[datetime, str]] = field(default_factory=dict)

    def is_new(self, record_id: int, started_at: datetime, content: str) -> bool:
        entry = self._entries.get(record_id)
        return entry is None or entry != (started_at, content)

    def mark(self, record_id: int, started_at: datetime, content: str) -> None:
        self._entries[record_id] = (started_at, content)

    def forget_before(self, at: datetime) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[0] >= at}

    def __len__(self) -> int:
        return len(self._entries)
