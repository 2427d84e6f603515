"""Each vehicle's latest state of charge, and when a change of it is worth telling others."""

from dataclasses import dataclass
from datetime import datetime

from tc_common.events import StateOfChargeChanged, TelemetrySampled
from tc_common.events.telemetry import ChargingState

# Battery levels arrive as floats (72.1, 73.1); without a tolerance a 1.0 step could be
# missed by a rounding error of 1e-15.
_STEP_TOLERANCE_PCT = 1e-9


@dataclass(frozen=True)
class SocState:
    """What the service knows about one vehicle's battery.

    ``as_of`` is the ``sampled_at`` of the newest sample with a battery level seen so far;
    ``reported_battery_level_pct`` is the level last published, the reference for the step.
    """

    vehicle_id: str
    as_of: datetime
    battery_level_pct: float
    charging_state: ChargingState | None
    reported_battery_level_pct: float


def track_soc(
    previous: SocState | None, sample: TelemetrySampled, *, step_pct: float
) -> tuple[SocState | None, StateOfChargeChanged | None]:
    """Fold one sample into a vehicle's state; return the new state and what to publish, if any.

    - A sample not newer than the state (out of order, or a redelivered duplicate) is ignored.
    - A sample without a battery level (e.g. the car was asleep) is ignored.
    - A change is published for the first sample of a vehicle, when the level moved by at least
      ``step_pct`` since the last *published* level (so slow drift still gets reported), or when
      the charging state changed. A sample without a charging state keeps the known one.

    The state is ``None`` only while no sample with a battery level has been seen.
    ``previous`` and ``sample`` MUST belong to the same vehicle.
    """
    if sample.battery_level_pct is None:
        return previous, None
    if previous is not None and sample.sampled_at <= previous.as_of:
        return previous, None

    level_pct = sample.battery_level_pct
    charging_state = sample.charging_state
    if previous is None:
        moved = True
    else:
        charging_state = charging_state or previous.charging_state
        moved = (
            abs(level_pct - previous.reported_battery_level_pct) + _STEP_TOLERANCE_PCT >= step_pct
            or charging_state != previous.charging_state
        )

    state = SocState(
        vehicle_id=sample.vehicle_id,
        as_of=sample.sampled_at,
        battery_level_pct=level_pct,
        charging_state=charging_state,
        reported_battery_level_pct=(
            level_pct if moved or previous is None else previous.reported_battery_level_pct
        ),
    )
    if not moved:
        return state, None
    return state, StateOfChargeChanged(
        vehicle_id=sample.vehicle_id,
        as_of=sample.sampled_at,
        battery_level_pct=level_pct,
        previous_battery_level_pct=(
            previous.reported_battery_level_pct if previous is not None else None
        ),
        charging_state=charging_state,
    )
