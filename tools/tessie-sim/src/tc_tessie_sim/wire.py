"""Tessie's wire shapes for the simulated fleet.

``/state`` speaks Tesla's raw units whatever the car displays: miles, mph, °C, kW, kWh, bar.
Nested ``*_state.timestamp`` values are epoch **milliseconds**; ``gps_as_of`` and the history
endpoints use epoch **seconds**. History endpoints honour ``distance_format`` (``mi`` default).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any, Literal

from tc_tessie_sim.fleet import (
    OSLO,
    Activity,
    CarState,
    ChargeEpisode,
    DriveEpisode,
    Snapshot,
    VehicleProfile,
    plan_day,
)

KM_PER_MILE = 1.609344
DistanceFormat = Literal["mi", "km"]
TemperatureFormat = Literal["c", "f"]
JsonDict = dict[str, Any]
_SATURDAY = 5


def _mi(km: float) -> float:
    return km / KM_PER_MILE


def _dist(km: float, unit: DistanceFormat) -> float:
    return round(km if unit == "km" else _mi(km), 2)


def _temp(c: float, unit: TemperatureFormat) -> float:
    return round(c if unit == "c" else c * 9 / 5 + 32, 1)


def vehicle_ids(vin: str) -> tuple[int, int]:
    digest = hashlib.sha256(vin.encode()).digest()
    return int.from_bytes(digest[:6], "big"), int.from_bytes(digest[6:10], "big")


def _rated_range_km(profile: VehicleProfile, soc_pct: float) -> float:
    return soc_pct / 100 * profile.battery_kwh * 1000 / profile.rated_wh_per_km


def _est_range_km(profile: VehicleProfile, soc_pct: float) -> float:
    return soc_pct / 100 * profile.battery_kwh * 1000 / profile.consumption_wh_per_km


def _utc_offset_s(t_s: int) -> int:
    offset = datetime.fromtimestamp(t_s, OSLO).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _usual_departure(profile: VehicleProfile, day: date) -> tuple[int, int]:
    """The usual departure on local ``day``: (epoch s, minutes after midnight)."""
    minutes = round(profile.rhythm[day.weekday()].departure_min_mean)
    return plan_day(profile, day).midnight_s + minutes * 60, minutes


def _scheduled_departure(profile: VehicleProfile, t_s: int) -> tuple[int, int, bool]:
    """What the car shows as its scheduled departure: (epoch s, minutes after midnight, enabled).

    An owner without Scheduled Departure still has a time in the car (Tesla keeps it with the
    feature off): the usual departure of the current local day. An owner who uses it on working
    days has it enabled Monday to Friday, and the car shows the next usual working-day
    departure still ahead, as a car counts down to the one it prepares for.
    """
    today = datetime.fromtimestamp(t_s, OSLO).date()
    if not profile.uses_scheduled_departure:
        return (*_usual_departure(profile, today), False)
    enabled = today.weekday() < _SATURDAY
    day = today
    while True:
        if day.weekday() < _SATURDAY:
            departure_s, minutes = _usual_departure(profile, day)
            if departure_s > t_s:
                return departure_s, minutes, enabled
        day += timedelta(days=1)


def charge_state(profile: VehicleProfile, s: CarState, ts_ms: int) -> JsonDict:
    level = round(s.battery_level_pct)
    cold = s.outside_temp_c < 0
    charging = s.charging_state == "Charging"
    phases = s.charger_phases
    voltage = 230 if s.plugged_in else 0
    amps = round(s.charger_power_kw * 1000 / (230 * phases)) if charging else 0
    max_amps = round(profile.charger_kw * 1000 / (230 * phases))
    pack_voltage = round(350 + 0.7 * s.battery_level_pct, 1)
    pack_kw = -s.charger_power_kw * 0.9 if charging else s.power_kw
    departure_s, departure_min, departure_on = _scheduled_departure(profile, s.at_s)
    rate_mph = _mi(s.charger_power_kw * 0.9 * 1000 / profile.rated_wh_per_km) if charging else 0.0
    return {
        "timestamp": ts_ms,
        "battery_level": level,
        "usable_battery_level": max(0, level - (1 if cold else 0)),
        "battery_range": round(_mi(_rated_range_km(profile, s.battery_level_pct)), 2),
        "est_battery_range": round(_mi(_est_range_km(profile, s.battery_level_pct)), 2),
        "ideal_battery_range": round(_mi(_rated_range_km(profile, s.battery_level_pct)), 2),
        "charging_state": s.charging_state,
        "charge_limit_soc": s.charge_limit_pct,
        "charge_limit_soc_min": 50,
        "charge_limit_soc_max": 100,
        "charge_limit_soc_std": 80,
        "charger_power": round(s.charger_power_kw),
        "charger_voltage": voltage if charging else (2 if s.plugged_in else 0),
        "charger_actual_current": amps,
        "charger_pilot_current": max_amps if s.plugged_in else 0,
        # Documented as a string, but real responses carry a number (or null when unplugged).
        "charger_phases": phases if charging else None,
        "charge_amps": max_amps,
        "charge_current_request": max_amps,
        "charge_current_request_max": max_amps,
        "charge_rate": round(rate_mph, 1),
        "charge_energy_added": round(s.charge_energy_added_kwh, 2),
        "charge_miles_added_rated": round(
            _mi(s.charge_energy_added_kwh * 1000 / profile.rated_wh_per_km), 1
        ),
        "charge_miles_added_ideal": round(
            _mi(s.charge_energy_added_kwh * 1000 / profile.rated_wh_per_km), 1
        ),
        "time_to_full_charge": round(s.minutes_to_full_charge / 60, 2),
        "minutes_to_full_charge": round(s.minutes_to_full_charge),
        "charge_port_door_open": s.plugged_in,
        "charge_port_latch": "Engaged" if s.plugged_in else "Disengaged",
        "charge_port_cold_weather_mode": False,
        "conn_charge_cable": "IEC" if s.plugged_in else "<invalid>",
        "fast_charger_present": False,
        "fast_charger_type": "ACSingleWireCAN" if s.plugged_in else "<invalid>",
        "fast_charger_brand": "<invalid>",
        "battery_heater_on": False,
        "not_enough_power_to_heat": None,
        "user_charge_enable_request": None,
        "charge_enable_request": True,
        "scheduled_charging_mode": "Off",
        "scheduled_charging_pending": False,
        "scheduled_charging_start_time": None,
        "scheduled_departure_time": departure_s,
        "scheduled_departure_time_minutes": departure_min,
        "preconditioning_enabled": departure_on,
        "off_peak_charging_enabled": False,
        "off_peak_hours_end_time": 360,
        "managed_charging_active": False,
        "managed_charging_start_time": None,
        "pack_voltage": pack_voltage,
        "pack_current": round(pack_kw * 1000 / pack_voltage, 1),
        "module_temp_min": round(max(s.outside_temp_c, 5.0) + (8 if charging else 3), 1),
        "module_temp_max": round(max(s.outside_temp_c, 5.0) + (10 if charging else 4), 1),
        "energy_remaining": round(s.battery_level_pct / 100 * profile.battery_kwh, 2),
        "lifetime_energy_used": round(s.odometer_km * profile.consumption_wh_per_km / 1000, 1),
    }


def drive_state(s: CarState, ts_ms: int, gps_as_of_s: int) -> JsonDict:
    driving = s.activity is Activity.DRIVING
    return {
        "timestamp": ts_ms,
        "gps_as_of": gps_as_of_s,
        "latitude": s.latitude_deg,
        "longitude": s.longitude_deg,
        "heading": round(s.heading_deg) % 360,
        "native_latitude": s.latitude_deg,
        "native_longitude": s.longitude_deg,
        "native_type": "wgs",
        "native_location_supported": 1,
        "shift_state": s.shift_state,
        # Tesla reports whole mph; parked cars report null rather than 0.
        "speed": round(_mi(s.speed_kmh)) if driving and s.speed_kmh is not None else None,
        "power": round(s.power_kw),
        "active_route_destination": None,
    }


def climate_state(s: CarState, ts_ms: int) -> JsonDict:
    return {
        "timestamp": ts_ms,
        "inside_temp": s.inside_temp_c,
        "outside_temp": s.outside_temp_c,
        "is_climate_on": s.is_climate_on,
        "is_auto_conditioning_on": s.is_climate_on,
        "is_preconditioning": False,
        "is_front_defroster_on": False,
        "is_rear_defroster_on": False,
        "driver_temp_setting": 21.0,
        "passenger_temp_setting": 21.0,
        "fan_status": 3 if s.is_climate_on else 0,
        "climate_keeper_mode": "off",
        "cabin_overheat_protection": "On",
        "battery_heater": False,
        "battery_heater_no_power": None,
        "seat_heater_left": 0,
        "seat_heater_right": 0,
        "steering_wheel_heater": False,
    }


def vehicle_state(profile: VehicleProfile, s: CarState, ts_ms: int) -> JsonDict:
    tpms_seen = s.at_s - s.at_s % 600
    tyres = (2.9, 2.9, 2.875, 2.9)
    state: JsonDict = {
        "timestamp": ts_ms,
        "odometer": round(_mi(s.odometer_km), 6),
        "locked": s.locked,
        "sentry_mode": s.sentry_mode,
        "sentry_mode_available": True,
        "is_user_present": s.is_user_present,
        "car_version": "2025.38.6 c1f85ddb415f",
        "vehicle_name": profile.display_name,
        "api_version": 71,
        "valet_mode": False,
        "remote_start": False,
        "homelink_nearby": s.at_home,
        "df": 0,
        "dr": 0,
        "pf": 0,
        "pr": 0,
        "ft": 0,
        "rt": 0,
        "fd_window": 0,
        "fp_window": 0,
        "rd_window": 0,
        "rp_window": 0,
        "software_update": {
            "status": "",
            "version": " ",
            "download_perc": 0,
            "install_perc": 1,
            "expected_duration_sec": 2700,
            "scheduled_time_ms": 0,
        },
        "speed_limit_mode": {
            "active": False,
            "current_limit_mph": 85.0,
            "max_limit_mph": 120,
            "min_limit_mph": 50,
            "pin_code_set": False,
        },
    }
    for corner, bar in zip(("fl", "fr", "rl", "rr"), tyres, strict=True):
        state[f"tpms_pressure_{corner}"] = bar
        state[f"tpms_last_seen_pressure_time_{corner}"] = tpms_seen
    return state


def vehicle_config(profile: VehicleProfile, ts_ms: int, t_s: int) -> JsonDict:
    return {
        "timestamp": ts_ms,
        "car_type": profile.car_type,
        "trim_badging": "74d" if profile.battery_kwh >= 70 else "50",
        "exterior_color": "DeepBlue",
        "wheel_type": "Pinwheel18",
        "charge_port_type": "CCS",
        "driver_assist": "TeslaAP3",
        "eu_vehicle": True,
        "rhd": False,
        "plg": True,
        "can_accept_navigation_requests": True,
        "utc_offset": _utc_offset_s(t_s),
    }


def gui_settings(ts_ms: int) -> JsonDict:
    return {
        "timestamp": ts_ms,
        "gui_distance_units": "km/hr",
        "gui_temperature_units": "C",
        "gui_charge_rate_units": "kW",
        "gui_range_display": "Rated",
        "gui_24_hour_time": True,
        "show_range_units": False,
    }


def full_state(
    profile: VehicleProfile, s: CarState, online_state: str, observed_at_ms: int
) -> JsonDict:
    """The ``/{vin}/state`` body for ``s`` as Tessie observed it at ``observed_at_ms``."""
    vid, vehicle_id = vehicle_ids(profile.vin)
    gps_as_of = observed_at_ms // 1000
    return {
        "id": vid,
        "user_id": 100_000 + vid % 100_000,
        "vehicle_id": vehicle_id,
        "vin": profile.vin,
        "display_name": profile.display_name,
        "color": None,
        "access_type": "OWNER",
        "granular_access": {"hide_private": False},
        "tokens": None,
        "state": online_state,
        "in_service": False,
        "id_s": str(vid),
        "calendar_enabled": True,
        "api_version": 71,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "charge_state": charge_state(profile, s, observed_at_ms),
        "climate_state": climate_state(s, observed_at_ms),
        "drive_state": drive_state(s, observed_at_ms, gps_as_of),
        "gui_settings": gui_settings(observed_at_ms),
        "vehicle_config": vehicle_config(profile, observed_at_ms, s.at_s),
        "vehicle_state": vehicle_state(profile, s, observed_at_ms),
    }


def cached_state(profile: VehicleProfile, snap: Snapshot) -> JsonDict:
    return full_state(profile, snap.state, snap.online_state, snap.snapshot_at_s * 1000)


def drive_record(d: DriveEpisode, profile: VehicleProfile, unit: DistanceFormat) -> JsonDict:
    rated_used = (d.starting_soc_pct - d.ending_soc_pct) / 100 * profile.battery_kwh
    rated_used_km = rated_used * 1000 / profile.rated_wh_per_km
    return {
        "id": d.id,
        "created_at": d.ended_at_s + 30,
        "updated_at": d.ended_at_s + 30,
        "started_at": d.started_at_s,
        "ended_at": d.ended_at_s,
        "starting_location": d.start.address,
        "starting_saved_location": d.start.saved_name,
        "starting_latitude": d.start.latitude_deg,
        "starting_longitude": d.start.longitude_deg,
        "starting_odometer": _dist(d.starting_odometer_km, unit),
        "ending_location": d.end.address,
        "ending_saved_location": d.end.saved_name,
        "ending_latitude": d.end.latitude_deg,
        "ending_longitude": d.end.longitude_deg,
        "ending_odometer": _dist(d.ending_odometer_km, unit),
        "starting_battery": round(d.starting_soc_pct),
        "ending_battery": round(d.ending_soc_pct),
        "odometer_distance": _dist(d.distance_km, unit),
        "rated_range_used": _dist(rated_used_km, unit),
        "ideal_range_used": _dist(rated_used_km, unit),
        "energy_used": round(d.energy_kwh, 2),
        "average_speed": round(_dist(d.average_speed_kmh, unit)),
        "max_speed": round(_dist(d.max_speed_kmh, unit)),
        "average_inside_temperature": 21.0,
        "average_outside_temperature": d.outside_temp_c,
        "autopilot_distance": None,
        "tag": None,
    }


def charge_record(c: ChargeEpisode, profile: VehicleProfile, unit: DistanceFormat) -> JsonDict:
    range_added_km = c.energy_added_kwh * 1000 / profile.rated_wh_per_km
    max_range_km = profile.battery_kwh * 1000 / profile.rated_wh_per_km
    return {
        "id": c.id,
        "created_at": c.started_at_s + 60,
        "updated_at": c.ended_at_s + 30,
        "started_at": c.started_at_s,
        "ended_at": c.ended_at_s,
        "location": c.place.address,
        "saved_location": c.place.saved_name,
        "latitude": c.place.latitude_deg,
        "longitude": c.place.longitude_deg,
        "is_supercharger": False,
        "is_fast_charger": False,
        "odometer": _dist(c.odometer_km, unit),
        "energy_added": round(c.energy_added_kwh, 2),
        "energy_used": round(c.energy_used_kwh, 2),
        "miles_added": _dist(range_added_km, unit),
        "miles_added_ideal": _dist(range_added_km, unit),
        "starting_battery": round(c.starting_soc_pct),
        "ending_battery": round(c.ending_soc_pct),
        "max_range": _dist(max_range_km, unit),
        "max_ideal_range": _dist(max_range_km, unit),
        "capacity": profile.battery_kwh,
        "cost": 0,
    }


def state_sample(
    profile: VehicleProfile,
    snap: Snapshot,
    unit: DistanceFormat,
    temperature: TemperatureFormat,
) -> JsonDict:
    """One flat ``/{vin}/states`` record; booleans are 0/1 here, timestamps seconds."""
    s = snap.state
    charging = s.charging_state == "Charging"
    phases = s.charger_phases
    return {
        "id": (vehicle_ids(profile.vin)[1] % 100_000) * 10**10 + snap.snapshot_at_s,
        "timestamp": snap.snapshot_at_s,
        "state": snap.online_state,
        "charging_state": s.charging_state,
        "shift_state": s.shift_state,
        "version": "2025.38.6",
        "battery_level": round(s.battery_level_pct),
        "usable_battery_level": round(s.battery_level_pct) - (1 if s.outside_temp_c < 0 else 0),
        "battery_range": _dist(_rated_range_km(profile, s.battery_level_pct), unit),
        "est_battery_range": _dist(_est_range_km(profile, s.battery_level_pct), unit),
        "ideal_battery_range": _dist(_rated_range_km(profile, s.battery_level_pct), unit),
        "latitude": s.latitude_deg,
        "longitude": s.longitude_deg,
        "elevation": None,
        "heading": round(s.heading_deg) % 360,
        "speed": round(_dist(s.speed_kmh, unit)) if s.speed_kmh is not None else None,
        "power": round(s.power_kw),
        "odometer": _dist(s.odometer_km, unit),
        "charge_rate": round(
            _dist(s.charger_power_kw * 0.9 * 1000 / profile.rated_wh_per_km, unit), 1
        ),
        "charger_actual_current": round(s.charger_power_kw * 1000 / (230 * phases)),
        "charger_power": round(s.charger_power_kw),
        "charger_phases": phases if charging else None,
        "charger_voltage": 230 if charging else 0,
        "charge_energy_added": round(s.charge_energy_added_kwh, 2),
        "charge_miles_added_rated": _dist(
            s.charge_energy_added_kwh * 1000 / profile.rated_wh_per_km, unit
        ),
        "charge_miles_added_ideal": _dist(
            s.charge_energy_added_kwh * 1000 / profile.rated_wh_per_km, unit
        ),
        "charge_limit_soc": s.charge_limit_pct,
        "is_climate_on": int(s.is_climate_on),
        "is_preconditioning": 0,
        "battery_heater_on": 0,
        "inside_temp": _temp(s.inside_temp_c, temperature),
        "outside_temp": _temp(s.outside_temp_c, temperature),
        "left_temp_direction": 0,
        "right_temp_direction": 0,
        "df": 0,
        "dr": 0,
        "ft": 0,
        "pf": 0,
        "pr": 0,
        "rt": 0,
        "locked": int(s.locked),
        "fd_window": 0,
        "fp_window": 0,
        "rd_window": 0,
        "rp_window": 0,
        "sentry_mode": int(s.sentry_mode),
        "valet_mode": 0,
    }
