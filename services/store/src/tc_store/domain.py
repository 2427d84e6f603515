"""What telemetry samples, market data, weather, price forecasts, drive and charge history,
behaviour profiles and charge plans look like as table rows; pure, no I/O."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from tc_common.events import (
    ExchangeRatesPublished,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    TelemetrySampled,
    VehicleActivityObserved,
    WeatherForecastPublished,
)
from tc_common.events.behaviour import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_common.tables import TELEMETRY_COLUMNS


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


# --- Market data, weather and price forecasts -------------------------------------------------
#
# One named tuple per table: the field names are the columns store writes (in order), so a row
# goes to the database as it is. Written out rather than derived from the events, like
# TELEMETRY_COLUMNS, so that an additive event field needs a migration before it is stored.


class SpotPriceRow(NamedTuple):
    zone: str
    start_at: datetime
    end_at: datetime
    resolution_min: int
    price_eur_per_mwh: float
    price_nok_ore_per_kwh: float | None
    delivery_date: date
    source: str
    revision: int
    fetched_at: datetime


class ExchangeRateRow(NamedTuple):
    rate_date: date
    currency: str
    per_eur: float
    source: str
    fetched_at: datetime


class WeatherForecastRow(NamedTuple):
    location_id: str
    updated_at: datetime
    start_at: datetime
    end_at: datetime
    air_temperature_c: float | None
    wind_speed_m_per_s: float | None
    cloud_area_fraction_pct: float | None
    precipitation_mm: float | None
    latitude_deg: float
    longitude_deg: float
    source: str
    fetched_at: datetime


class PriceForecastRow(NamedTuple):
    zone: str
    issued_at: datetime
    model: str
    known_until: datetime
    start_at: datetime
    end_at: datetime
    p10_eur_per_mwh: float
    p50_eur_per_mwh: float
    p90_eur_per_mwh: float


class PriceAnomalyRow(NamedTuple):
    zone: str
    kind: str
    start_at: datetime
    end_at: datetime
    price_eur_per_mwh: float
    expected_eur_per_mwh: float | None
    detected_at: datetime
    detail: str


@dataclass(frozen=True)
class WriteResult:
    """Rows of one event: ``written`` (inserted or replaced) and ``unchanged`` (already stored
    as they are, or superseded by what is stored: a redelivery or an older revision)."""

    written: int
    unchanged: int


MarketEvent = (
    SpotPricesPublished
    | ExchangeRatesPublished
    | WeatherForecastPublished
    | PriceForecastPublished
    | PriceAnomalyDetected
)

R = TypeVar("R", bound=tuple[Any, ...])


def _unique_by(rows: Iterable[R], key: Callable[[R], datetime]) -> list[R]:
    """``rows`` with each key once (the first wins), sorted by key.

    The rows of one event share everything but this key. A key twice in one executemany
    would update its own row; sorted so that concurrent writers lock rows in the same order.
    """
    unique: dict[datetime, R] = {}
    for row in rows:
        unique.setdefault(key(row), row)
    return [unique[k] for k in sorted(unique)]


def spot_price_rows(event: SpotPricesPublished) -> list[SpotPriceRow]:
    return _unique_by(
        (
            SpotPriceRow(
                zone=event.zone,
                start_at=slot.start_at,
                end_at=slot.end_at,
                resolution_min=event.resolution_min,
                price_eur_per_mwh=slot.price_eur_per_mwh,
                price_nok_ore_per_kwh=slot.price_nok_ore_per_kwh,
                delivery_date=event.delivery_date,
                source=event.source,
                revision=event.revision,
                fetched_at=event.fetched_at,
            )
            for slot in event.slots
        ),
        key=lambda row: row.start_at,
    )


def exchange_rate_rows(event: ExchangeRatesPublished) -> list[ExchangeRateRow]:
    return sorted(
        ExchangeRateRow(
            rate_date=event.rate_date,
            currency=currency,
            per_eur=per_eur,
            source=event.source,
            fetched_at=event.fetched_at,
        )
        for currency, per_eur in event.rates.items()
    )


def weather_forecast_rows(event: WeatherForecastPublished) -> list[WeatherForecastRow]:
    return _unique_by(
        (
            WeatherForecastRow(
                location_id=event.location_id,
                updated_at=event.updated_at,
                start_at=slot.start_at,
                end_at=slot.end_at,
                air_temperature_c=slot.air_temperature_c,
                wind_speed_m_per_s=slot.wind_speed_m_per_s,
                cloud_area_fraction_pct=slot.cloud_area_fraction_pct,
                precipitation_mm=slot.precipitation_mm,
                latitude_deg=event.latitude_deg,
                longitude_deg=event.longitude_deg,
                source=event.source,
                fetched_at=event.fetched_at,
            )
            for slot in event.slots
        ),
        key=lambda row: row.start_at,
    )


def price_forecast_rows(event: PriceForecastPublished) -> list[PriceForecastRow]:
    return _unique_by(
        (
            PriceForecastRow(
                zone=event.zone,
                issued_at=event.issued_at,
                model=event.model,
                known_until=event.known_until,
                start_at=slot.start_at,
                end_at=slot.end_at,
                p10_eur_per_mwh=slot.p10_eur_per_mwh,
                p50_eur_per_mwh=slot.p50_eur_per_mwh,
                p90_eur_per_mwh=slot.p90_eur_per_mwh,
            )
            for slot in event.slots
        ),
        key=lambda row: row.start_at,
    )


def price_anomaly_row(event: PriceAnomalyDetected) -> PriceAnomalyRow:
    return PriceAnomalyRow(
        zone=event.zone,
        kind=event.kind,
        start_at=event.start_at,
        end_at=event.end_at,
        price_eur_per_mwh=event.price_eur_per_mwh,
        expected_eur_per_mwh=event.expected_eur_per_mwh,
        detected_at=event.detected_at,
        detail=event.detail,
    )


def market_unstorable_reason(event: MarketEvent) -> str | None:
    """Why the database would refuse this event forever, or None when it can be stored.

    Like ``unstorable_reason``: such an event would be retried endlessly and block its
    partition, so it is dead-lettered instead.
    """
    for field, value in event.model_dump().items():
        if isinstance(value, str) and "\x00" in value:
            return f"{field} contains a NUL character"
    if isinstance(event, PriceAnomalyDetected) and event.end_at <= event.start_at:
        return "end_at must be after start_at"
    if isinstance(event, SpotPricesPublished):
        # The resolution is part of the key: an hourly slot stored as a quarter-hour would
        # shadow the real quarter-hours of that hour.
        expected = timedelta(minutes=event.resolution_min)
        for slot in event.slots:
            if slot.duration != expected:
                return (
                    f"slot at {slot.start_at.isoformat()} lasts {slot.duration}, "
                    f"not the {event.resolution_min} min of resolution_min"
                )
    return None


# --- Drive and charge history, behaviour profiles and charge plans ----------------------------
#
# Drives and charges become one row each, column for column. A profile or a plan is kept whole
# as the event's JSON (``event``) beside the columns that queries filter and sort on; the same
# row goes to the newest-per-vehicle table and to the history.


class DriveRow(NamedTuple):
    vehicle_id: str
    drive_id: int
    started_at: datetime
    ended_at: datetime
    starting_latitude_deg: float | None
    starting_longitude_deg: float | None
    ending_latitude_deg: float | None
    ending_longitude_deg: float | None
    starting_battery_pct: float | None
    ending_battery_pct: float | None
    distance_km: float
    energy_used_kwh: float | None


class ChargeRow(NamedTuple):
    vehicle_id: str
    charge_id: int
    started_at: datetime
    ended_at: datetime
    latitude_deg: float | None
    longitude_deg: float | None
    is_supercharger: bool
    starting_battery_pct: float | None
    ending_battery_pct: float | None
    energy_added_kwh: float
    energy_used_kwh: float | None
    odometer_km: float | None


class ProfileRow(NamedTuple):
    vehicle_id: str
    computed_at: datetime
    learning_state: str
    days_observed: int
    days_until_ready: int
    days_until_fully_trained: int
    summary: str
    event: str
    """The whole ``BehaviourProfileUpdated`` as JSON."""


class PlanRow(NamedTuple):
    vehicle_id: str
    issued_at: datetime
    trigger: str
    status: str
    battery_level_pct: float
    target_pct: float
    energy_to_add_kwh: float
    ready_by_at: datetime | None
    probability_ready: float
    currency: str
    expected_cost: float
    cost_if_charged_now: float
    expected_saving: float
    first_slot_start_at: datetime | None
    event: str
    """The whole ``ChargePlanPublished`` as JSON."""


class ActivityRow(NamedTuple):
    vehicle_id: str
    activity: str
    since: datetime
    observed_at: datetime


HistoryEvent = (
    DriveRecorded
    | ChargeRecorded
    | BehaviourProfileUpdated
    | ChargePlanPublished
    | VehicleActivityObserved
)


def activity_row(event: VehicleActivityObserved) -> ActivityRow:
    return ActivityRow(event.vehicle_id, event.activity, event.since, event.observed_at)


def drive_row(event: DriveRecorded) -> DriveRow:
    return DriveRow(*(getattr(event, column) for column in DriveRow._fields))


def charge_row(event: ChargeRecorded) -> ChargeRow:
    return ChargeRow(*(getattr(event, column) for column in ChargeRow._fields))


def profile_row(event: BehaviourProfileUpdated) -> ProfileRow:
    return ProfileRow(
        vehicle_id=event.vehicle_id,
        computed_at=event.computed_at,
        learning_state=event.learning_state,
        days_observed=event.days_observed,
        days_until_ready=event.days_until_ready,
        days_until_fully_trained=event.days_until_fully_trained,
        summary=event.summary,
        event=event.model_dump_json(),
    )


def plan_row(event: ChargePlanPublished) -> PlanRow:
    return PlanRow(
        vehicle_id=event.vehicle_id,
        issued_at=event.issued_at,
        trigger=event.trigger,
        status=event.status,
        battery_level_pct=event.battery_level_pct,
        target_pct=event.target_pct,
        energy_to_add_kwh=event.energy_to_add_kwh,
        ready_by_at=event.ready_by_at,
        probability_ready=event.probability_ready,
        currency=event.currency,
        expected_cost=event.expected_cost,
        cost_if_charged_now=event.cost_if_charged_now,
        expected_saving=event.expected_saving,
        first_slot_start_at=min((s.start_at for s in event.slots), default=None),
        event=event.model_dump_json(),
    )


def _nul_in(value: object, path: str) -> str | None:
    """The path of the first string holding a NUL character (text and jsonb refuse it)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if found := _nul_in(item, f"{path}.{key}" if path else str(key)):
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := _nul_in(item, f"{path}[{index}]"):
                return found
    return None


def history_unstorable_reason(event: HistoryEvent) -> str | None:
    """Why the database would refuse this event forever, or None when it can be stored.

    Like ``unstorable_reason``: such an event would be retried endlessly and block its
    partition, so it is dead-lettered instead.
    """
    if path := _nul_in(event.model_dump(mode="json"), ""):
        return f"{path} contains a NUL character"
    if isinstance(event, DriveRecorded | ChargeRecorded) and event.ended_at < event.started_at:
        return "ended_at must not be before started_at"
    return None


# The raw Kafka topics keep 7 days of telemetry; the database, the only longer record (and what
# the api serves), keeps at least as much.
MIN_TELEMETRY_RETENTION_DAYS = 7


def telemetry_cutoff(now: datetime, retention_days: int | None) -> datetime | None:
    """Telemetry sampled before this instant is dropped; None keeps everything.

    Exactly ``retention_days`` times 24 hours before ``now``, in UTC: a DST change in between
    moves no sample in or out.
    """
    if now.tzinfo is None:
        raise ValueError("telemetry_cutoff needs an aware datetime")
    if retention_days is None:
        return None
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    return now.astimezone(UTC) - timedelta(days=retention_days)
