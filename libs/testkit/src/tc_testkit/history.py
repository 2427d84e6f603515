"""Drives, charges, behaviour profiles and charge plans, built one way in every package's tests.

The api and the store tests each had a module of these builders with different numbers for
the same events, and forecast and ingest built profiles and plans inline. These are the one
set: valid events of a commuter who charges at home in Trondheim, every field a keyword away.
Times come from the caller or from the fixed ``AT``, never from the wall clock.
"""

from datetime import datetime, timedelta
from typing import Any

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_common.events.behaviour import ChargingLocation, PlanSlot, WeekdayRhythm
from tc_testkit.events import AT, VIN

HOME = (63.41, 10.40)
WORK = (63.43, 10.39)
# A profile is ready after 14 days of history and fully trained after 30 (the contract's rule).
READY_AFTER_DAYS = 14
TRAINED_AFTER_DAYS = 30


def drive(started_at: datetime = AT, *, drive_id: int = 1, **fields: Any) -> DriveRecorded:
    """A 25-minute drive from home to work of 21.5 km, starting at ``started_at``."""
    values: dict[str, Any] = {
        "vehicle_id": VIN,
        "drive_id": drive_id,
        "started_at": started_at,
        "ended_at": started_at + timedelta(minutes=25),
        "starting_latitude_deg": HOME[0],
        "starting_longitude_deg": HOME[1],
        "ending_latitude_deg": WORK[0],
        "ending_longitude_deg": WORK[1],
        "starting_battery_pct": 80.0,
        "ending_battery_pct": 76.0,
        "distance_km": 21.5,
        "energy_used_kwh": 3.4,
        **fields,
    }
    return DriveRecorded(**values)


def charge(
    started_at: datetime = AT + timedelta(hours=10), *, charge_id: int = 1, **fields: Any
) -> ChargeRecorded:
    """Two hours at the home charger from 60 to 80 %, starting at ``started_at`` (by default
    the evening after the drive)."""
    values: dict[str, Any] = {
        "vehicle_id": VIN,
        "charge_id": charge_id,
        "started_at": started_at,
        "ended_at": started_at + timedelta(hours=2),
        "latitude_deg": HOME[0],
        "longitude_deg": HOME[1],
        "is_supercharger": False,
        "starting_battery_pct": 60.0,
        "ending_battery_pct": 80.0,
        "energy_added_kwh": 15.0,
        "energy_used_kwh": 16.7,
        "odometer_km": 18_000.0,
        **fields,
    }
    return ChargeRecorded(**values)


def location(kind: str = "home", **fields: Any) -> ChargingLocation:
    """A charging place; by default home, where every session of the profile happened."""
    values: dict[str, Any] = {
        "kind": kind,
        "latitude_deg": HOME[0],
        "longitude_deg": HOME[1],
        "sessions": 7,
        "share_of_sessions": 1.0,
        "effective_power_kw": 9.9,
        "efficiency": 0.9,
        "plug_in_probability_per_day": 0.8,
        **fields,
    }
    return ChargingLocation(**values)


def profile(
    computed_at: datetime = AT, *, days_observed: int = 9, **fields: Any
) -> BehaviourProfileUpdated:
    """A commuter's week learnt from ``days_observed`` days: learning or ready by that count."""
    learning = days_observed < READY_AFTER_DAYS
    values: dict[str, Any] = {
        "vehicle_id": VIN,
        "computed_at": computed_at,
        "learning_state": "learning" if learning else "ready",
        "days_observed": days_observed,
        "days_until_ready": max(0, READY_AFTER_DAYS - days_observed),
        "days_until_fully_trained": max(0, TRAINED_AFTER_DAYS - days_observed),
        "weekdays": tuple(
            WeekdayRhythm(
                weekday=day,
                drive_probability=0.9 if day < 5 else 0.5,
                first_departure_p10_min=445.0,
                first_departure_p50_min=460.0,
                first_departure_p90_min=490.0,
                distance_p50_km=43.0,
            )
            for day in range(7)
        ),
        "daily_distance_p50_km": 38.0,
        "locations": (location(),),
        "summary": (
            f"Learning: day {days_observed} of {READY_AFTER_DAYS}."
            if learning
            else f"Ready: {days_observed} days observed."
        )
        + " Leaves about 07:40 on weekdays.",
        **fields,
    }
    return BehaviourProfileUpdated(**values)


def plan(
    issued_at: datetime = AT, *, slots: int = 2, trigger: str = "plugged_in", **fields: Any
) -> ChargePlanPublished:
    """A plan made at ``issued_at`` to charge in ``slots`` hours of the next night, from 01:00
    UTC on, ready five hours after the first; the first slot's price is published, the rest
    forecast."""
    first = issued_at.replace(hour=1, minute=0, second=0, microsecond=0)
    if first <= issued_at:
        first += timedelta(days=1)
    values: dict[str, Any] = {
        "vehicle_id": VIN,
        "issued_at": issued_at,
        "trigger": trigger,
        "status": "planned",
        "battery_level_pct": 55.0,
        "target_pct": 80.0,
        "target_source": "charge_limit",
        "energy_to_add_kwh": 18.75,
        "charger_power_kw": 11.0,
        "efficiency": 0.9,
        "departure_p10_at": first + timedelta(hours=5),
        "departure_p50_at": first + timedelta(hours=5, minutes=40),
        "departure_p90_at": first + timedelta(hours=6, minutes=30),
        "ready_by_at": first + timedelta(hours=5),
        "risk_target": 0.95,
        "probability_ready": 0.97,
        "expected_cost": 21.5,
        "cost_p10": 19.0,
        "cost_p90": 25.0,
        "cost_if_charged_now": 30.1,
        "expected_saving": 8.6,
        "slots": tuple(
            PlanSlot(
                start_at=first + timedelta(hours=h),
                end_at=first + timedelta(hours=h + 1),
                energy_kwh=9.9,
                power_kw=11.0,
                price_per_kwh=1.05,
                price_is_forecast=h >= 1,
            )
            for h in range(slots)
        ),
        "reason": "Charging in the two cheapest night hours; ready by 07:00 with 97 %.",
        **fields,
    }
    return ChargePlanPublished(**values)
