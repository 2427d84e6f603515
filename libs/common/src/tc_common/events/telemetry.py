"""Vehicle telemetry samples, as pulled from Tessie and normalised to metric units and UTC."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from tc_common.events.base import Event

VehicleOnlineState = Literal["online", "asleep", "offline", "unknown"]
ChargingState = Literal["Disconnected", "Stopped", "NoPower", "Starting", "Charging", "Complete"]


def _to_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class TelemetrySampled(Event):
    """One new telemetry snapshot of one vehicle.

    Published by ingest once per new sample (a snapshot whose ``sampled_at`` is newer than the
    last one published for that vehicle). ``(vehicle_id, sampled_at)`` identifies a sample, so
    a consumer that sees the same pair twice can ignore the second.
    """

    schema_version: Literal[1] = 1
    vehicle_id: str = Field(
        min_length=1,
        max_length=32,
        description="The vehicle's VIN: the key of every vehicle-scoped message.",
        examples=["5YJ3E7EB0KF000001"],
    )
    sampled_at: AwareDatetime = Field(
        description="When the vehicle produced this snapshot (UTC), not when it was fetched.",
        examples=["2026-11-25T06:30:10Z"],
    )
    fetched_at: AwareDatetime = Field(description="When ingest fetched the snapshot (UTC).")
    online_state: VehicleOnlineState = Field(
        description="Connectivity of the car when the snapshot was taken.", examples=["online"]
    )
    battery_level_pct: float | None = Field(
        default=None, ge=0, le=100, description="State of charge, percent.", examples=[72.0]
    )
    usable_battery_level_pct: float | None = Field(
        default=None, ge=0, le=100, description="Usable state of charge (cold pack), percent."
    )
    battery_range_km: float | None = Field(
        default=None, ge=0, description="Rated range left, km.", examples=[301.5]
    )
    charge_limit_pct: float | None = Field(
        default=None, ge=0, le=100, description="The charge limit set in the car, percent."
    )
    charging_state: ChargingState | None = Field(
        default=None, description="Tesla's charging state.", examples=["Charging"]
    )
    charger_power_kw: float | None = Field(
        default=None, ge=0, description="Power the charger delivers, kW."
    )
    charge_energy_added_kwh: float | None = Field(
        default=None, ge=0, description="Energy added in the current or last charging session, kWh."
    )
    latitude_deg: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude.")
    longitude_deg: float | None = Field(
        default=None, ge=-180, le=180, description="WGS84 longitude."
    )
    heading_deg: float | None = Field(default=None, ge=0, le=360, description="Heading, degrees.")
    speed_kmh: float | None = Field(
        default=None, ge=0, description="Speed, km/h; null when parked."
    )
    power_kw: float | None = Field(
        default=None,
        description="Drive-train power, kW; negative while regenerating or charging.",
    )
    shift_state: Literal["P", "D", "R", "N"] | None = Field(
        default=None, description="Gear; null when parked and asleep."
    )
    odometer_km: float | None = Field(default=None, ge=0, description="Odometer, km.")
    inside_temp_c: float | None = Field(default=None, description="Cabin temperature, °C.")
    outside_temp_c: float | None = Field(default=None, description="Outside temperature, °C.")
    is_climate_on: bool | None = Field(default=None, description="Climate control running.")
    sentry_mode: bool | None = Field(default=None, description="Sentry mode on.")
    locked: bool | None = Field(default=None, description="Doors locked.")
    scheduled_departure_at: AwareDatetime | None = Field(
        default=None,
        description="The next departure the owner scheduled in the car (Scheduled Departure "
        "with preconditioning or off-peak charging on), UTC; None when none is scheduled. "
        "The charge planner treats it as the owner's word on when the car must be ready.",
    )

    _utc_sampled = field_validator("sampled_at", "fetched_at", "scheduled_departure_at")(_to_utc)

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()
