"""Response bodies of the HTTP API: metric units in field names, aware UTC datetimes.

A sample carries the same field names as the ``TelemetrySampled`` event, so a dashboard can
treat a stored sample and a streamed one alike. The models are declared here rather than
reused from the event: the HTTP contract changes only when we change it here.
"""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tc_api.domain import SortOrder, TelemetryQuery, Vehicle
from tc_common.events import TelemetrySampled
from tc_common.events.telemetry import ChargingState, VehicleOnlineState


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class VehicleOut(_Response):
    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    first_sampled_at: AwareDatetime = Field(description="Time of the oldest stored sample (UTC).")
    last_sampled_at: AwareDatetime = Field(description="Time of the newest stored sample (UTC).")

    @classmethod
    def from_vehicle(cls, vehicle: Vehicle) -> "VehicleOut":
        return cls(
            vehicle_id=vehicle.vehicle_id,
            first_sampled_at=vehicle.first_sampled_at,
            last_sampled_at=vehicle.last_sampled_at,
        )


class TelemetrySample(_Response):
    """One telemetry snapshot of one vehicle; ``null`` means the car did not report the value."""

    vehicle_id: str = Field(description="The vehicle's VIN.")
    sampled_at: AwareDatetime = Field(description="When the vehicle produced the snapshot (UTC).")
    fetched_at: AwareDatetime = Field(description="When it was fetched from Tessie (UTC).")
    online_state: VehicleOnlineState = Field(description="Connectivity of the car.")
    battery_level_pct: float | None = Field(description="State of charge, percent.")
    usable_battery_level_pct: float | None = Field(description="Usable state of charge, percent.")
    battery_range_km: float | None = Field(description="Rated range left, km.")
    charge_limit_pct: float | None = Field(description="Charge limit set in the car, percent.")
    charging_state: ChargingState | None = Field(description="Tesla's charging state.")
    charger_power_kw: float | None = Field(description="Power the charger delivers, kW.")
    charge_energy_added_kwh: float | None = Field(
        description="Energy added in the current or last charging session, kWh."
    )
    latitude_deg: float | None = Field(description="WGS84 latitude, degrees.")
    longitude_deg: float | None = Field(description="WGS84 longitude, degrees.")
    heading_deg: float | None = Field(description="Heading, degrees.")
    speed_kmh: float | None = Field(description="Speed, km/h; null when parked.")
    power_kw: float | None = Field(
        description="Drive-train power, kW; negative while regenerating or charging."
    )
    shift_state: Literal["P", "D", "R", "N"] | None = Field(description="Gear.")
    odometer_km: float | None = Field(description="Odometer, km.")
    inside_temp_c: float | None = Field(description="Cabin temperature, °C.")
    outside_temp_c: float | None = Field(description="Outside temperature, °C.")
    is_climate_on: bool | None = Field(description="Climate control running.")
    sentry_mode: bool | None = Field(description="Sentry mode on.")
    locked: bool | None = Field(description="Doors locked.")

    @classmethod
    def from_event(cls, sample: TelemetrySampled) -> "TelemetrySample":
        return cls.model_validate(sample.model_dump(exclude={"schema_version"}))


class TelemetryPage(_Response):
    """Samples of one vehicle in ``[from, to)``; ``count == limit`` means there may be more."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    vehicle_id: str
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    order: SortOrder = Field(description="Sort order of the samples by sampled_at.")
    limit: int = Field(description="The most samples this page may hold.")
    count: int = Field(description="Number of samples in this page.")
    samples: list[TelemetrySample]

    @classmethod
    def build(
        cls, vehicle_id: str, query: TelemetryQuery, samples: list[TelemetrySampled]
    ) -> "TelemetryPage":
        return cls(
            vehicle_id=vehicle_id,
            from_=query.from_at,
            to=query.to_at,
            order=query.order,
            limit=query.limit,
            count=len(samples),
            samples=[TelemetrySample.from_event(s) for s in samples],
        )


class Health(_Response):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


class ErrorBody(_Response):
    detail: str = Field(description="What went wrong and what to change.")


class UnavailableBody(ErrorBody):
    retry_after_s: int = Field(description="Seconds to wait before retrying.")
