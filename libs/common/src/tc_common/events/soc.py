"""The forecast service's view of each vehicle's latest state of charge."""

from typing import Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event
from tc_common.events.telemetry import ChargingState


class StateOfChargeChanged(Event):
    """A vehicle's latest known state of charge moved (by at least the reporting step) or its
    charging state changed. Out-of-order samples never move it backwards in time."""

    schema_version: Literal[1] = 1
    vehicle_id: str = Field(min_length=1, max_length=32, description="The vehicle's VIN.")
    as_of: AwareDatetime = Field(description="Time of the sample this state comes from (UTC).")
    battery_level_pct: float = Field(ge=0, le=100, description="State of charge, percent.")
    previous_battery_level_pct: float | None = Field(
        default=None, ge=0, le=100, description="The state of charge reported before, percent."
    )
    charging_state: ChargingState | None = Field(
        default=None, description="Tesla's charging state at that sample."
    )

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()
