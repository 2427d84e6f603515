"""Builders of valid drive, charge, behaviour-profile and charge-plan events for store tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_common.events.behaviour import ChargingLocation, PlanSlot, WeekdayRhythm

VIN = "5YJ3E7EB0KF010001"
# Monday 2026-11-23, 07:40 in Oslo.
MORNING = datetime(2026, 11, 23, 6, 40, tzinfo=UTC)


def drive(
    *, vehicle_id: str = VIN, drive_id: int = 1, start: datetime = MORNING, **fields: Any
) -> DriveRecorded:
    values: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "drive_id": drive_id,
        "started_at": start,
        "ended_at": start + timedelta(minutes=28),
        "starting_latitude_deg": 63.41,
        "starting_longitude_deg": 10.40,
        "ending_latitude_deg": 63.43,
        "ending_longitude_deg": 10.39,
        "starting_battery_pct": 80.0,
        "ending_battery_pct": 75.0,
        "distance_km": 21.4,
        "energy_used_kwh": 3.6,
        **fields,
    }
    return DriveRecorded(**values)


def charge(
    *, vehicle_id: str = VIN, charge_id: int = 1, start: datetime = MORNING, **fields: Any
) -> ChargeRecorded:
    values: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "charge_id": charge_id,
        "started_at": start + timedelta(hours=10),
        "ended_at": start + timedelta(hours=12),
        "latitude_deg": 63.41,
        "longitude_deg": 10.40,
        "is_supercharger": False,
        "starting_battery_pct": 66.0,
        "ending_battery_pct": 80.0,
        "energy_added_kwh": 10.5,
        "energy_used_kwh": 11.7,
        "odometer_km": 18_342.7,
        **fields,
    }
    return ChargeRecorded(**values)


def profile(
    *, vehicle_id: str = VIN, computed_at: datetime = MORNING, days_observed: int = 9, **fields: Any
) -> BehaviourProfileUpdated:
    values: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "computed_at": computed_at,
        "learning_state": "learning" if days_observed < 14 else "ready",
        "days_observed": days_observed,
        "days_until_ready": max(0, 14 - days_observed),
        "days_until_fully_trained": max(0, 30 - days_observed),
        "weekdays": [
            WeekdayRhythm(
                weekday=day,
                drive_probability=0.9,
                first_departure_p10_min=440.0,
                first_departure_p50_min=460.0,
                first_departure_p90_min=480.0,
                last_return_p50_min=1000.0,
                distance_p50_km=42.0,
            )
            for day in range(5)
        ],
        "daily_distance_p50_km": 40.0,
        "locations": [
            ChargingLocation(
                kind="home",
                latitude_deg=63.41,
                longitude_deg=10.40,
                sessions=8,
                share_of_sessions=1.0,
                effective_power_kw=6.6,
                efficiency=0.9,
            )
        ],
        "summary": f"Learning: day {days_observed} of 14.",
        **fields,
    }
    return BehaviourProfileUpdated(**values)


def plan(
    *, vehicle_id: str = VIN, issued_at: datetime = MORNING, slots: int = 2, **fields: Any
) -> ChargePlanPublished:
    first = issued_at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=15)
    values: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "issued_at": issued_at,
        "trigger": "plugged_in",
        "status": "planned",
        "battery_level_pct": 55.0,
        "target_pct": 80.0,
        "target_source": "charge_limit",
        "energy_to_add_kwh": 18.75,
        "charger_power_kw": 11.0,
        "efficiency": 0.9,
        "departure_p50_at": first + timedelta(hours=10),
        "ready_by_at": first + timedelta(hours=9),
        "risk_target": 0.95,
        "probability_ready": 0.97,
        "expected_cost": 21.5,
        "cost_p10": 19.0,
        "cost_p90": 25.0,
        "cost_if_charged_now": 30.1,
        "expected_saving": 8.6,
        "slots": [
            PlanSlot(
                start_at=first + timedelta(hours=h),
                end_at=first + timedelta(hours=h + 1),
                energy_kwh=9.9,
                power_kw=11.0,
                price_per_kwh=1.1 + h / 10,
                price_is_forecast=h > 0,
            )
            for h in range(slots)
        ],
        "reason": "Charging in the two cheapest night hours; ready by 07:00 with 97 %.",
        **fields,
    }
    return ChargePlanPublished(**values)
