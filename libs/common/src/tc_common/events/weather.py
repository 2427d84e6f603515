"""Weather forecasts for bidding-zone reference points and vehicles' home areas."""

from typing import Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event
from tc_common.slots import Slot


class WeatherSlot(Slot):
    air_temperature_c: float | None = Field(default=None, description="Air temperature, °C.")
    wind_speed_m_per_s: float | None = Field(default=None, ge=0, description="Wind, m/s.")
    cloud_area_fraction_pct: float | None = Field(default=None, ge=0, le=100)
    precipitation_mm: float | None = Field(
        default=None, ge=0, description="Precipitation over the slot, mm."
    )


class WeatherForecastPublished(Event):
    """A weather forecast for one place (MET Norway locationforecast), hourly then 6-hourly."""

    schema_version: Literal[1] = 1
    location_id: str = Field(
        description="Stable id: a zone reference point ('zone:NO3') or a home area "
        "('home:<vehicle_id>').",
        examples=["zone:NO3"],
    )
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    updated_at: AwareDatetime = Field(description="The model run's update time (UTC).")
    fetched_at: AwareDatetime
    source: Literal["met-norway", "simulated"] = "met-norway"
    slots: tuple[WeatherSlot, ...]

    def kafka_key(self) -> bytes:
        return self.location_id.encode()
