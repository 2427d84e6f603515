"""Synthetic Nordic weather: one deterministic "truth" and MET-style forecast runs of it.

The truth is a function of ``(seed, place, time)``: a seasonal and diurnal climatology plus
synoptic anomalies (wind, temperature, cloud) drawn once per day and region and interpolated
smoothly in between. The market model reads the same regional wind and temperature, so windy
forecasts and cheap prices go together, as they do on the real market.

A forecast run is the truth plus an error that grows with lead time, drawn per
``(place rounded to 0.01°, run)``; a new run is issued every 6 h. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

from tc_market_fakes.rng import seeded

Zone = Literal["NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2", "SE3", "SE4", "DK1", "DK2", "FI"]
ZONES: tuple[Zone, ...] = (
    "NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2", "SE3", "SE4", "DK1", "DK2", "FI",
)  # fmt: skip

# A representative town per bidding zone (lat, lon); weather anywhere takes its synoptic
# anomalies from the nearest of these.
ZONE_REFERENCE_POINTS: dict[Zone, tuple[float, float]] = {
    "NO1": (59.9139, 10.7522),  # Oslo
    "NO2": (58.1467, 7.9956),  # Kristiansand
    "NO3": (63.4305, 10.3951),  # Trondheim
    "NO4": (69.6492, 18.9553),  # Tromsø
    "NO5": (60.3913, 5.3221),  # Bergen
    "SE1": (65.5848, 22.1547),  # Luleå
    "SE2": (62.3908, 17.3069),  # Sundsvall
    "SE3": (59.3293, 18.0686),  # Stockholm
    "SE4": (55.6050, 13.0038),  # Malmö
    "DK1": (56.1629, 10.2039),  # Aarhus
    "DK2": (55.6761, 12.5683),  # Copenhagen
    "FI": (60.1699, 24.9384),  # Helsinki
}

RUN_EVERY = timedelta(hours=6)
# A run at 00/06/12/18 UTC reaches the API a couple of hours later, a few minutes apart per place.
RUN_DELAY = timedelta(hours=2, minutes=10)
RUN_JITTER_S = 900
HOURLY_STEPS = 60
FORECAST_SPAN = timedelta(days=10)


@dataclass(frozen=True)
class WeatherState:
    """Instantaneous weather at a place, plus the precipitation of the hour that starts then."""

    air_temperature_c: float
    wind_speed_m_per_s: float
    wind_from_direction_deg: float
    cloud_area_fraction_pct: float
    relative_humidity_pct: float
    air_pressure_at_sea_level_hpa: float
    precipitation_next_hour_mm: float


@dataclass(frozen=True)
class Period:
    """A ``next_N_hours`` block: a symbol and the precipitation over it (None: not given)."""

    symbol_code: str
    precipitation_mm: float | None


@dataclass(frozen=True)
class ForecastStep:
    time: datetime
    instant: WeatherState
    next_1_hours: Period | None
    next_6_hours: Period | None
    next_12_hours: Period | None


@dataclass(frozen=True)
class Forecast:
    lat: float
    lon: float
    altitude_m: int
    run_at: datetime
    updated_at: datetime
    steps: tuple[ForecastStep, ...]


def nearest_zone(lat: float, lon: float) -> Zone:
    def distance(zone: Zone) -> float:
        zlat, zlon = ZONE_REFERENCE_POINTS[zone]
        return (lat - zlat) ** 2 + ((lon - zlon) * math.cos(math.radians(lat))) ** 2

    return min(ZONES, key=distance)


@lru_cache(maxsize=65_536)
def _anchors(seed: int, zone: Zone, day: date) -> tuple[float, float, float]:
    """(wind 0..1, temperature anomaly °C, cloudiness 0..1) at 12:00 UTC of ``day``."""
    # A Nordic-wide weather system plus a regional part: neighbouring zones move together.
    shared = seeded(seed, "weather", day)
    local = seeded(seed, "weather", zone, day)
    wind = 0.6 * shared.random() + 0.4 * local.random()
    temp = 0.75 * shared.gauss(0.0, 3.5) + 0.25 * local.gauss(0.0, 2.5)
    cloud = 0.5 * shared.random() + 0.5 * local.random()
    return wind, temp, cloud


def _interpolated(seed: int, zone: Zone, t: datetime) -> tuple[float, float, float]:
    noon = datetime.combine(t.astimezone(UTC).date(), time(12), UTC)
    if t < noon:
        noon -= timedelta(days=1)
    frac = (t - noon) / timedelta(days=1)
    smooth = (1 - math.cos(math.pi * frac)) / 2
    a = _anchors(seed, zone, noon.date())
    b = _anchors(seed, zone, noon.date() + timedelta(days=1))
    wind, temp, cloud = (x + (y - x) * smooth for x, y in zip(a, b, strict=True))
    return wind, temp, cloud


def _season(t: datetime) -> float:
    """-1 in mid-January, +1 in mid-July."""
    doy = t.timetuple().tm_yday
    return -math.cos(2 * math.pi * (doy - 20) / 365.25)


def wind_index(seed: int, zone: Zone, t: datetime) -> float:
    """Regional wind strength 0..1 (windier in winter); the market model's wind input."""
    wind, _, _ = _interpolated(seed, zone, t)
    winterness = (1 - _season(t)) / 2
    return min(1.0, wind * (0.8 + 0.25 * winterness))


def temperature_anomaly_c(seed: int, zone: Zone, t: datetime) -> float:
    """Departure from the seasonal normal, °C; cold spells raise demand and prices."""
    _, temp, _ = _interpolated(seed, zone, t)
    return temp


def true_weather(seed: int, lat: float, lon: float, t: datetime) -> WeatherState:
    """What the weather "really" is at ``(lat, lon)`` at ``t`` (aware)."""
    zone = nearest_zone(lat, lon)
    wind, anomaly, cloud = _interpolated(seed, zone, t)
    place = seeded(seed, "place", round(lat, 1), round(lon, 1))
    temp_offset, wind_mult = place.gauss(0.0, 0.8), place.uniform(0.8, 1.25)
    hour = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    texture = seeded(seed, "texture", round(lat, 1), round(lon, 1), hour.isoformat())
    cloud = min(1.0, max(0.0, cloud + texture.gauss(0.0, 0.12)))

    season = _season(t)
    summerness = (1 + season) / 2
    coastal = lon < 8.0 or lat > 68.0
    mean_c = 6.0 - 0.35 * (lat - 60.0) + (1.5 if coastal else 0.0)
    amplitude_c = 6.5 if coastal else 9.5
    solar_hour = (t.hour + t.minute / 60 + lon / 15) % 24
    diurnal_c = (1.0 + 3.0 * summerness * (1 - cloud)) * math.cos(
        2 * math.pi * (solar_hour - 15) / 24
    )
    temp_c = mean_c + amplitude_c * season + anomaly + diurnal_c + temp_offset

    winterness = 1 - summerness
    speed = (1.0 + 13.0 * wind**1.3) * (0.75 + 0.25 * winterness) * wind_mult
    speed += 0.6 * math.cos(2 * math.pi * (solar_hour - 14) / 24) + texture.gauss(0.0, 0.4)
    direction = (200 + 140 * (wind - 0.5) + texture.gauss(0.0, 20.0)) % 360

    wet = max(0.0, cloud - 0.62) / 0.38
    precip = round(wet * (0.3 + 2.5 * wind) * texture.uniform(0.3, 1.4), 1) if wet > 0 else 0.0
    return WeatherState(
        air_temperature_c=round(temp_c, 1),
        wind_speed_m_per_s=round(max(0.0, speed), 1),
        wind_from_direction_deg=round(direction, 1),
        cloud_area_fraction_pct=round(100 * cloud, 1),
        relative_humidity_pct=round(min(100.0, 55 + 40 * cloud + texture.gauss(0.0, 3.0)), 1),
        air_pressure_at_sea_level_hpa=round(1013 + 24 * (0.45 - wind) - 8 * (cloud - 0.5), 1),
        precipitation_next_hour_mm=precip,
    )


def _floor(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((t.astimezone(UTC) - epoch) // step) * step


def _place_key(lat: float, lon: float) -> tuple[float, float]:
    return round(lat, 2), round(lon, 2)


def run_updated_at(seed: int, lat: float, lon: float, run_at: datetime) -> datetime:
    """When the run started at ``run_at`` becomes visible for this place."""
    jitter = seeded(seed, "run-jitter", *_place_key(lat, lon), run_at.isoformat())
    return run_at + RUN_DELAY + timedelta(seconds=jitter.randrange(RUN_JITTER_S))


def latest_run(seed: int, lat: float, lon: float, now: datetime) -> tuple[datetime, datetime]:
    """``(run_at, updated_at)`` of the newest run visible at ``now``."""
    run_at = _floor(now - RUN_DELAY, RUN_EVERY)
    updated_at = run_updated_at(seed, lat, lon, run_at)
    if updated_at > now:
        run_at -= RUN_EVERY
        updated_at = run_updated_at(seed, lat, lon, run_at)
    return run_at, updated_at


def symbol_code(cloud_pct: float, precip_mm: float, temp_c: float, t: datetime, lon: float) -> str:
    snow = temp_c < 0.5
    if precip_mm >= 2.5:
        return "heavysnow" if snow else "heavyrain"
    if precip_mm >= 0.8:
        return "snow" if snow else "rain"
    if precip_mm > 0:
        return "lightsnow" if snow else "lightrain"
    if cloud_pct >= 80:
        return "cloudy"
    solar_hour = (t.hour + t.minute / 60 + lon / 15) % 24
    suffix = "_day" if 6 <= solar_hour < 18 else "_night"
    if cloud_pct < 15:
        return "clearsky" + suffix
    if cloud_pct < 45:
        return "fair" + suffix
    return "partlycloudy" + suffix


def forecast(
    seed: int, lat: float, lon: float, now: datetime, altitude_m: int | None = None
) -> Forecast:
    """The forecast a client at ``now`` gets for ``(lat, lon)``: the newest visible run."""
    run_at, updated_at = latest_run(seed, lat, lon, now)
    errors = seeded(seed, "forecast-error", *_place_key(lat, lon), run_at.isoformat())
    temp_bias, wind_bias, cloud_bias = (errors.gauss(0.0, 1.0) for _ in range(3))
    altitude = altitude_m if altitude_m is not None else 40
    lapse_c = -0.0065 * max(0, altitude - 40)

    def predicted(t: datetime) -> WeatherState:
        truth = true_weather(seed, lat, lon, t)
        lead = max(0.0, (t - run_at) / timedelta(days=1))
        grow = min(1.0, lead / 7)
        cloud = min(100.0, max(0.0, truth.cloud_area_fraction_pct + 25 * grow * cloud_bias))
        return WeatherState(
            air_temperature_c=round(truth.air_temperature_c + 3 * grow * temp_bias + lapse_c, 1),
            wind_speed_m_per_s=round(
                max(0.0, truth.wind_speed_m_per_s * (1 + 0.3 * grow * wind_bias)), 1
            ),
            wind_from_direction_deg=truth.wind_from_direction_deg,
            cloud_area_fraction_pct=round(cloud, 1),
            relative_humidity_pct=truth.relative_humidity_pct,
            air_pressure_at_sea_level_hpa=truth.air_pressure_at_sea_level_hpa,
            precipitation_next_hour_mm=truth.precipitation_next_hour_mm if cloud >= 62 else 0.0,
        )

    first = _floor(updated_at, timedelta(hours=1))
    end = run_at + FORECAST_SPAN
    times = [first + timedelta(hours=h) for h in range(HOURLY_STEPS)]
    t = _floor(times[-1], timedelta(hours=6)) + timedelta(hours=6)
    while t <= end:
        times.append(t)
        t += timedelta(hours=6)
    last = times[-1]
    hourly_until = times[HOURLY_STEPS - 1]

    cache: dict[datetime, WeatherState] = {}

    def at(t: datetime) -> WeatherState:
        if t not in cache:
            cache[t] = predicted(t)
        return cache[t]

    def block(t: datetime, hours: int) -> Period:
        states = [at(t + timedelta(hours=h)) for h in range(hours)]
        precip = round(sum(s.precipitation_next_hour_mm for s in states), 1)
        cloud = sum(s.cloud_area_fraction_pct for s in states) / hours
        temp = sum(s.air_temperature_c for s in states) / hours
        wettest = max(s.precipitation_next_hour_mm for s in states)
        return Period(symbol_code(cloud, wettest, temp, t, lon), precip)

    steps = []
    for t in times:
        state = at(t)
        one = None
        if t <= hourly_until:
            one = Period(
                symbol_code(
                    state.cloud_area_fraction_pct,
                    state.precipitation_next_hour_mm,
                    state.air_temperature_c,
                    t,
                    lon,
                ),
                state.precipitation_next_hour_mm,
            )
        six = block(t, 6) if t + timedelta(hours=6) <= last else None
        twelve = block(t, 12) if t + timedelta(hours=12) <= last else None
        if twelve is not None:
            # compact gives only a symbol for the 12 h block.
            twelve = Period(twelve.symbol_code, None)
        steps.append(ForecastStep(t, state, one, six, twelve))
    return Forecast(
        lat=lat,
        lon=lon,
        altitude_m=altitude,
        run_at=run_at,
        updated_at=updated_at,
        steps=tuple(steps),
    )
