"""What a telemetry sample looks like as table rows; pure, no I/O."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from tc_common.events import TelemetrySampled

# The telemetry columns store writes, in order. Written out rather than derived from the event
# so that a field added to TelemetrySampled needs a migration before it is stored (a test
# keeps the two in step); stored_at is filled in by the database.
TELEMETRY_COLUMNS: tuple[str, ...] = (
    "vehicle_id",
    "sampled_at",
    "fetched_at",
    "online_state",
    "battery_level_pct",
    "usable_battery_level_pct",
    "battery_range_km",
    "charge_limit_pct",
    "charging_state",
    "charger_power_kw",
    "charge_energy_added_kwh",
    "latitude_deg",
    "longitude_deg",
    "heading_deg",
    "speed_kmh",
    "power_kw",
    "shift_state",
    "odometer_km",
    "inside_temp_c",
    "outside_temp_c",
    "is_climate_on",
    "sentry_mode",
    "locked",
)


@dataclass(frozen=True)
class TelemetryRow:
    """One ``telemetry`` row: ``values`` line up with ``TELEMETRY_COLUMNS``."""

    vehicle_id: str
    sampled_at: datetime
    values: tuple[object, ...]

    @property
    def key(self) -> tuple[str, datetime]:
        return (self.vehicle_id, self.sampled_at)


@dataclass(frozen=True)
class VehicleSpan:
    """The earliest and latest sample of one vehicle within a write."""

    vehicle_id: str
    first_sampled_at: datetime
    last_sampled_at: datetime


@dataclass(frozen=True)
class SaveResult:
    stored: int
    duplicates: int


def telemetry_row(event: TelemetrySampled) -> TelemetryRow:
    return TelemetryRow(
        vehicle_id=event.vehicle_id,
        sampled_at=event.sampled_at,
        values=tuple(getattr(event, column) for column in TELEMETRY_COLUMNS),
    )


def unstorable_reason(event: TelemetrySampled) -> str | None:
    """Why PostgreSQL would refuse this sample forever, or None when it can be stored.

    Such a sample would otherwise be retried endlessly and block its partition. PostgreSQL
    text cannot hold NUL characters; nothing else in a valid event can fail.
    """
    for column in TELEMETRY_COLUMNS:
        value = getattr(event, column)
        if isinstance(value, str) and "\x00" in value:
            return f"{column} contains a NUL character"
    return None


def dedupe_rows(rows: Iterable[TelemetryRow]) -> list[TelemetryRow]:
    """The rows with each (vehicle_id, sampled_at) once, keeping the first; order kept."""
    seen: set[tuple[str, datetime]] = set()
    unique: list[TelemetryRow] = []
    for row in rows:
        if row.key not in seen:
            seen.add(row.key)
            unique.append(row)
    return unique


def vehicle_spans(rows: Sequence[TelemetryRow]) -> list[VehicleSpan]:
    """Per vehicle, the sample span covered by ``rows``; sorted by vehicle id.

    Sorted so that concurrent writers lock vehicle rows in the same order (no deadlocks).
    """
    spans: dict[str, tuple[datetime, datetime]] = {}
    for row in rows:
        first, last = spans.get(row.vehicle_id, (row.sampled_at, row.sampled_at))
        spans[row.vehicle_id] = (min(first, row.sampled_at), max(last, row.sampled_at))
    return [VehicleSpan(vin, first, last) for vin, (first, last) in sorted(spans.items())]


def backoff_delays_s(initial_s: float, maximum_s: float, factor: float = 2.0) -> Iterator[float]:
    """Retry delays growing by ``factor`` from ``initial_s`` and then staying at ``maximum_s``."""
    delay = initial_s
    while True:
        yield min(delay, maximum_s)
        delay = min(delay * factor, maximum_s)
