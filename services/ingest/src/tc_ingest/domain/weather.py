"""Pure weather rules: MET locationforecast entries to slots, coordinates, cache freshness,
and the home areas forecast for each vehicle."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tc_common.events.behaviour import ChargingLocation
from tc_common.events.weather import WeatherSlot

ONE_HOUR: Final = timedelta(hours=1)
SIX_HOURS: Final = timedelta(hours=6)
# 0.01° is about 1.1 km north-south (0.5 km east-west at 60°N): a neighbourhood, not a house,
# and nearby homes share one point (one MET request, one cache entry).
HOME_AREA_DECIMALS: Final = 2


@dataclass(frozen=True, slots=True)
class ForecastEntry:
    """One ``timeseries`` entry of a compact forecast, already unit-named and UTC."""

    time: datetime
    air_temperature_c: float | None = None
    wind_speed_m_per_s: float | None = None
    cloud_area_fraction_pct: float | None = None
    precipitation_next_1h_mm: float | None = None
    precipitation_next_6h_mm: float | None = None
    has_next_1_hours: bool = False
    has_next_6_hours: bool = False


@dataclass(frozen=True, slots=True)
class Forecast:
    """A parsed forecast for one point: the model's update time and its slots."""

    updated_at: datetime
    slots: tuple[WeatherSlot, ...]


@dataclass(frozen=True, slots=True)
class WeatherFetch:
    """The forecast for a point; ``fresh`` is False when it is the cached one (304/not due)."""

    forecast: Forecast
    fresh: bool
    latitude_deg: float
    longitude_deg: float


def round_coordinate(value_deg: float) -> float:
    """MET refuses more than 4 decimals (403) and caches per exact coordinate."""
    return round(value_deg, 4)


def home_area_id(vehicle_id: str) -> str:
    """The weather location id of a vehicle's home area, as the event contract names it."""
    return f"home:{vehicle_id}"


def home_area(locations: Iterable[ChargingLocation]) -> tuple[float, float] | None:
    """The rounded ``(latitude, longitude)`` of the home among a profile's charging places.

    The place of kind ``home`` with the most sessions (a profile names one, but a second one
    must not flip the area back and forth); None when the profile knows no home yet.
    """
    homes = [place for place in locations if place.kind == "home"]
    if not homes:
        return None
    home = max(homes, key=lambda place: place.sessions)
    return _to_area(home.latitude_deg), _to_area(home.longitude_deg)


def _to_area(value_deg: float) -> float:
    # + 0.0 turns a -0.0 into 0.0, so the point and its MET cache key have one spelling.
    return round(value_deg, HOME_AREA_DECIMALS) + 0.0


def to_weather_slots(entries: Sequence[ForecastEntry]) -> tuple[WeatherSlot, ...]:
    """Hourly then 6-hourly entries to non-overlapping slots.

    An entry with ``next_1_hours`` covers one hour (its precipitation); without it (the
    6-hourly part) it covers six hours with ``next_6_hours`` precipitation. An entry with
    neither (the tail) covers the step to the next entry, precipitation unknown. A slot is cut
    at the next entry's time so slots never overlap; a cut 6-hour slot loses its precipitation
    (the amount belongs to the whole six hours).
    """
    ordered = sorted(entries, key=lambda e: e.time)
    slots: list[WeatherSlot] = []
    for i, entry in enumerate(ordered):
        following = ordered[i + 1].time if i + 1 < len(ordered) else None
        previous = ordered[i - 1].time if i > 0 else None
        precipitation: float | None
        if entry.has_next_1_hours:
            length, precipitation = ONE_HOUR, entry.precipitation_next_1h_mm
        elif entry.has_next_6_hours:
            length, precipitation = SIX_HOURS, entry.precipitation_next_6h_mm
        elif following is not None:
            length, precipitation = following - entry.time, None
        elif previous is not None:
            length, precipitation = entry.time - previous, None
        else:
            length, precipitation = ONE_HOUR, None
        end = entry.time + length
        if following is not None and end > following:
            end, precipitation = following, None
        if end <= entry.time:
            continue
        slots.append(
            WeatherSlot(
                start_at=entry.time,
                end_at=end,
                air_temperature_c=entry.air_temperature_c,
                wind_speed_m_per_s=_non_negative(entry.wind_speed_m_per_s),
                cloud_area_fraction_pct=_percentage(entry.cloud_area_fraction_pct),
                precipitation_mm=_non_negative(precipitation),
            )
        )
    return tuple(slots)


def refetch_due(now: datetime, expires_at: datetime | None) -> bool:
    """MET asks clients not to re-request before ``Expires``."""
    return expires_at is None or now >= expires_at


def _non_negative(value: float | None) -> float | None:
    return None if value is None or value < 0 else value


def _percentage(value: float | None) -> float | None:
    return None if value is None or not 0 <= value <= 100 else value
