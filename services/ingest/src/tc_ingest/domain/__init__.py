"""Pure ingest rules: Tessie's raw snapshot to a metric ``TelemetrySampled``, and poll decisions.

No I/O and no clock here: every function that needs the time takes it as an argument.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, get_args

from tc_common.events import TelemetrySampled
from tc_common.events.telemetry import ChargingState, VehicleOnlineState

KM_PER_MILE: Final = 1.609344
# Anything below 1e11 in a field documented as epoch milliseconds is before 1973 in ms, but a
# plausible epoch in seconds: accept it as seconds rather than dating a sample to 1970.
_EPOCH_MS_FLOOR: Final = 100_000_000_000
# A car whose clock runs ahead would otherwise jam the "newer than last published" check.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)

_ONLINE_STATES: Final = frozenset(get_args(VehicleOnlineState))
_CHARGING_STATES: Final = frozenset(get_args(ChargingState))
_SHIFT_STATES: Final = frozenset({"P", "D", "R", "N"})


@dataclass(frozen=True, slots=True)
class VehicleState:
    """One cached ``/{vin}/state`` snapshot, flattened, still in Tessie's raw units.

    Distances are miles, speed mph, the ``*_timestamp_ms`` fields epoch milliseconds and
    ``gps_as_of_s`` epoch seconds, exactly as Tessie sends them. Every field may be None.
    """

    vin: str
    state: str | None = None
    charge_state_timestamp_ms: float | None = None
    drive_state_timestamp_ms: float | None = None
    climate_state_timestamp_ms: float | None = None
    vehicle_state_timestamp_ms: float | None = None
    gps_as_of_s: float | None = None
    battery_level_pct: float | None = None
    usable_battery_level_pct: float | None = None
    battery_range_mi: float | None = None
    charge_limit_soc_pct: float | None = None
    charging_state: str | None = None
    charger_power_kw: float | None = None
    charge_energy_added_kwh: float | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    heading_deg: float | None = None
    speed_mph: float | None = None
    power_kw: float | None = None
    shift_state: str | None = None
    odometer_mi: float | None = None
    inside_temp_c: float | None = None
    outside_temp_c: float | None = None
    is_climate_on: bool | None = None
    sentry_mode: bool | None = None
    locked: bool | None = None
    scheduled_departure_time_s: float | None = None
    preconditioning_enabled: bool | None = None
    off_peak_charging_enabled: bool | None = None
    scheduled_charging_mode: str | None = None


def miles_to_km(miles: float | None) -> float | None:
    return None if miles is None else miles * KM_PER_MILE


def _from_epoch_s(seconds: float) -> datetime | None:
    # NaN, infinity or a number past year 9999 is garbage, not a reason to drop the sample.
    if not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def epoch_ms_to_utc(value: float | None) -> datetime | None:
    if value is None or value <= 0:
        return None
    seconds = value / 1000 if value >= _EPOCH_MS_FLOOR else value
    return _from_epoch_s(seconds)


def epoch_s_to_utc(value: float | None) -> datetime | None:
    if value is None or value <= 0:
        return None
    # Symmetric guard: a milliseconds value in a seconds field would land in year 50000+.
    seconds = value / 1000 if value >= _EPOCH_MS_FLOOR else value
    return _from_epoch_s(seconds)


def sampled_at_of(state: VehicleState, fetched_at: datetime) -> datetime | None:
    """The freshest timestamp inside the snapshot, ignoring ones from the future."""
    candidates = [
        epoch_ms_to_utc(state.charge_state_timestamp_ms),
        epoch_ms_to_utc(state.drive_state_timestamp_ms),
        epoch_ms_to_utc(state.climate_state_timestamp_ms),
        epoch_ms_to_utc(state.vehicle_state_timestamp_ms),
        epoch_s_to_utc(state.gps_as_of_s),
    ]
    limit = fetched_at + MAX_CLOCK_SKEW
    valid = [ts for ts in candidates if ts is not None and ts <= limit]
    return max(valid, default=None)


def _within(
    value: float | None, low: float | None = None, high: float | None = None
) -> float | None:
    """Drop an out-of-range value instead of rejecting the whole sample.

    NaN and ±infinity (Tessie's JSON can carry them, and ``float("nan")`` compares false with
    every bound) are out of every range: as they are, the event's validation would reject the
    whole sample on every poll.
    """
    if value is None or not math.isfinite(value):
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def _online_state(state: str | None) -> VehicleOnlineState:
    normalised = (state or "").strip().lower()
    return normalised if normalised in _ONLINE_STATES else "unknown"  # type: ignore[return-value]


def _charging_state(value: str | None) -> ChargingState | None:
    return value if value in _CHARGING_STATES else None  # type: ignore[return-value]


def _shift_state(value: str | None) -> str | None:
    normalised = (value or "").strip().upper()
    return normalised if normalised in _SHIFT_STATES else None


def scheduled_departure_at_of(state: VehicleState) -> datetime | None:
    """The departure the owner scheduled in the car, UTC; None unless Scheduled Departure is on.

    Tesla keeps ``scheduled_departure_time`` after the owner turns the feature off, so the time
    alone says nothing: it counts only while preconditioning or off-peak charging is enabled,
    or the scheduled charging mode is ``DepartBy``.
    """
    mode = (state.scheduled_charging_mode or "").strip().lower()
    enabled = (
        state.preconditioning_enabled is True
        or state.off_peak_charging_enabled is True
        or mode == "departby"
    )
    return epoch_s_to_utc(state.scheduled_departure_time_s) if enabled else None


def to_sample(state: VehicleState, fetched_at: datetime) -> TelemetrySampled | None:
    """Normalise one snapshot to metric units and UTC; None when it carries no timestamp.

    A snapshot without any timestamp (e.g. ``{"state": "asleep"}``) cannot be ordered against
    earlier ones, so it is not a sample.
    """
    sampled_at = sampled_at_of(state, fetched_at)
    if sampled_at is None:
        return None
    speed_mph = _within(state.speed_mph, 0)
    return TelemetrySampled(
        vehicle_id=state.vin,
        sampled_at=sampled_at,
        fetched_at=fetched_at,
        online_state=_online_state(state.state),
        battery_level_pct=_within(state.battery_level_pct, 0, 100),
        usable_battery_level_pct=_within(state.usable_battery_level_pct, 0, 100),
        battery_range_km=miles_to_km(_within(state.battery_range_mi, 0)),
        charge_limit_pct=_within(state.charge_limit_soc_pct, 0, 100),
        charging_state=_charging_state(state.charging_state),
        charger_power_kw=_within(state.charger_power_kw, 0),
        charge_energy_added_kwh=_within(state.charge_energy_added_kwh, 0),
        latitude_deg=_within(state.latitude_deg, -90, 90),
        longitude_deg=_within(state.longitude_deg, -180, 180),
        heading_deg=_within(state.heading_deg, 0, 360),
        speed_kmh=miles_to_km(speed_mph),
        power_kw=_within(state.power_kw),
        shift_state=_shift_state(state.shift_state),
        odometer_km=miles_to_km(_within(state.odometer_mi, 0)),
        inside_temp_c=_within(state.inside_temp_c),
        outside_temp_c=_within(state.outside_temp_c),
        is_climate_on=state.is_climate_on,
        sentry_mode=state.sentry_mode,
        locked=state.locked,
        scheduled_departure_at=scheduled_departure_at_of(state),
    )


def is_new(last_sampled_at: datetime | None, sample: TelemetrySampled) -> bool:
    """A sample is new when nothing was published for the vehicle yet, or it is strictly later."""
    return last_sampled_at is None or sample.sampled_at > last_sampled_at


def should_fetch_state(status: str | None, *, has_sample: bool = True) -> bool:
    """Whether to read cached ``/state`` after ``/status`` answered ``status``.

    An asleep car's cache is the snapshot from when it fell asleep: nothing new once we have
    it. So it is read only while we hold no sample of the car yet (after a start), so that
    consumers learn a sleeping car's last state too. ``awake``, ``waiting_for_sleep`` and
    anything unknown are read: a cached read never wakes the car, so reading is safe.
    """
    return not has_sample or (status or "").strip().lower() != "asleep"


def is_transient(status_code: int) -> bool:
    """Tessie answers worth retrying: timeouts for live reads, throttling, server errors."""
    return status_code in (408, 429) or 500 <= status_code <= 599


def backoff_s(attempt: int, *, base_s: float, cap_s: float, jitter: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random.

    ``attempt`` counts from 1; ``jitter`` MUST be in [0, 1) (a random draw, passed in).
    """
    ceiling: float = min(cap_s, base_s * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + ceiling / 2 * jitter


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def retry_delay_s(
    attempt: int, *, retry_after_s: float | None, base_s: float, cap_s: float, jitter: float
) -> float:
    """How long to wait before retry ``attempt + 1``: the server's wish if any, capped."""
    if retry_after_s is not None:
        return min(retry_after_s, cap_s)
    return backoff_s(attempt, base_s=base_s, cap_s=cap_s, jitter=jitter)


def sample_age_s(sampled_at: datetime, now: datetime) -> float:
    return max((now - sampled_at).total_seconds(), 0.0)
