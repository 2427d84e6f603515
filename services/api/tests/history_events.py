"""Builders of the drive, charge, behaviour-profile and charge-plan events the api tests serve:
test_behaviour_routes.py hands them to a fake reader, integration/test_history_postgres.py writes
them to PostgreSQL as the store would."""

from datetime import UTC, datetime, timedelta

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_common.events.behaviour import ChargingLocation, PlanSlot, WeekdayRhythm

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
VIN = "5YJ3E7EB0KF010001"


def drive(days_ago: int, drive_id: int, distance_km: float = 21.5) -> DriveRecorded:
    start = NOW - timedelta(days=days_ago, hours=4)
    return DriveRecorded(
        vehicle_id=VIN,
        drive_id=drive_id,
        started_at=start,
        ended_at=start + timedelta(minutes=25),
        starting_battery_pct=80,
        ending_battery_pct=76,
        distance_km=distance_km,
        energy_used_kwh=3.4,
    )


def charge(days_ago: int, charge_id: int) -> ChargeRecorded:
    start = NOW - timedelta(days=days_ago, hours=-6)
    return ChargeRecorded(
        vehicle_id=VIN,
        charge_id=charge_id,
        started_at=start,
        ended_at=start + timedelta(hours=2),
        latitude_deg=63.41,
        longitude_deg=10.40,
        starting_battery_pct=60,
        ending_battery_pct=80,
        energy_added_kwh=15.0,
        energy_used_kwh=16.7,
        odometer_km=18_000.0,
    )


def profile() -> BehaviourProfileUpdated:
    return BehaviourProfileUpdated(
        vehicle_id=VIN,
        computed_at=NOW - timedelta(hours=1),
        learning_state="learning",
        days_observed=9,
        days_until_ready=5,
        days_until_fully_trained=21,
        weekdays=tuple(
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
        daily_distance_p50_km=38.0,
        locations=(
            ChargingLocation(
                kind="home",
                latitude_deg=63.41,
                longitude_deg=10.40,
                sessions=7,
                share_of_sessions=1.0,
                effective_power_kw=9.9,
                efficiency=0.9,
                plug_in_probability_per_day=0.8,
            ),
        ),
        summary="Learning: day 9 of 14. Leaves about 07:40 on weekdays.",
    )


def plan(hours_ago: float, trigger: str = "plugged_in") -> ChargePlanPublished:
    issued = NOW - timedelta(hours=hours_ago)
    first = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    return ChargePlanPublished(
        vehicle_id=VIN,
        issued_at=issued,
        trigger=trigger,  # type: ignore[arg-type]
        status="planned",
        battery_level_pct=55,
        target_pct=80,
        target_source="charge_limit",
        energy_to_add_kwh=18.75,
        charger_power_kw=11,
        efficiency=0.9,
        departure_p10_at=first + timedelta(hours=5),
        departure_p50_at=first + timedelta(hours=5, minutes=40),
        departure_p90_at=first + timedelta(hours=6, minutes=30),
        ready_by_at=first + timedelta(hours=5),
        risk_target=0.95,
        probability_ready=0.97,
        expected_cost=21.5,
        cost_p10=19.0,
        cost_p90=25.0,
        cost_if_charged_now=30.1,
        expected_saving=8.6,
        slots=tuple(
            PlanSlot(
                start_at=first + timedelta(hours=h),
                end_at=first + timedelta(hours=h + 1),
                energy_kwh=9.9,
                power_kw=11,
                price_per_kwh=1.05,
                price_is_forecast=h == 1,
            )
            for h in range(2)
        ),
        reason="Charging in the two cheapest night hours; ready by 07:00 with 97 %.",
    )
