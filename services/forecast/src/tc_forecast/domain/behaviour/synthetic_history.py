"""A synthetic commuter's drives and charges: for tests and demos, where no real data may be
assumed. Deterministic for a seed; local times are Europe/Oslo wall-clock times."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tc_common.events import ChargeRecorded, DriveRecorded

OSLO = ZoneInfo("Europe/Oslo")
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Commuter:
    vehicle_id: str = "5YJ3SYNTH0000001"
    home: tuple[float, float] = (63.4000, 10.4000)
    work: tuple[float, float] = (63.4300, 10.6500)
    cabin: tuple[float, float] = (62.5000, 11.8000)  # ~130 km away
    commute_km: float = 16.0
    depart_min: float = 7.5 * 60  # weekdays, local
    leave_work_min: float = 15.75 * 60
    capacity_kwh: float = 75.0
    consumption_kwh_per_km: float = 0.17
    charger_kw: float = 7.4  # at the wall
    efficiency: float = 0.9
    charge_limit_pct: float = 80.0
    plug_in_below_pct: float = 60.0


def commuter_history(
    first_day: date,
    days: int,
    *,
    car: Commuter | None = None,
    seed: int = 1,
    holiday: tuple[date, date] | None = None,
) -> tuple[list[DriveRecorded], list[ChargeRecorded]]:
    """``days`` days of a commuter from ``first_day``: to work and back on weekdays, an
    errand on some weekend days, plugged in at home on arrival whenever below
    ``plug_in_below_pct`` and charged to the limit (or until it leaves).

    ``holiday`` = (first, last) day away: the car drives to the cabin on the first day, makes
    short late-morning trips there and drives home on the last day.
    """
    car = car or Commuter()
    rng = random.Random(seed)
    drives: list[DriveRecorded] = []
    charges: list[ChargeRecorded] = []
    soc = car.charge_limit_pct
    # plugged in at, starting soc, where
    pending_charge: tuple[datetime, float, tuple[float, float]] | None = None

    def at(day: date, minutes: float) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=OSLO) + timedelta(minutes=minutes)
        return local.astimezone(UTC)

    def finish_charge(until: datetime) -> None:
        nonlocal soc, pending_charge
        if pending_charge is None:
            return
        start, start_soc, place = pending_charge
        pending_charge = None
        pack_kw = car.charger_kw * car.efficiency
        full_h = (car.charge_limit_pct - start_soc) / 100 * car.capacity_kwh / pack_kw
        end = min(until, start + timedelta(hours=full_h))
        added = pack_kw * (end - start).total_seconds() / 3600
        soc = start_soc + added / car.capacity_kwh * 100
        charges.append(
            ChargeRecorded(
                vehicle_id=car.vehicle_id,
                charge_id=len(charges) + 1,
                started_at=start,
                ended_at=end,
                latitude_deg=place[0] + rng.uniform(-0.0003, 0.0003),
                longitude_deg=place[1] + rng.uniform(-0.0003, 0.0003),
                starting_battery_pct=round(start_soc, 1),
                ending_battery_pct=round(soc, 1),
                energy_added_kwh=round(added, 2),
                energy_used_kwh=round(added / car.efficiency, 2),
            )
        )

    def drive(
        start: datetime, minutes: float, km: float, a: tuple[float, float], b: tuple[float, float]
    ) -> datetime:
        nonlocal soc
        finish_charge(start)
        energy = km * car.consumption_kwh_per_km
        end = start + timedelta(minutes=minutes)
        before = soc
        soc -= energy / car.capacity_kwh * 100
        drives.append(
            DriveRecorded(
                vehicle_id=car.vehicle_id,
                drive_id=len(drives) + 1,
                started_at=start,
                ended_at=end,
                starting_latitude_deg=a[0],
                starting_longitude_deg=a[1],
                ending_latitude_deg=b[0] + rng.uniform(-0.0002, 0.0002),
                ending_longitude_deg=b[1] + rng.uniform(-0.0002, 0.0002),
                starting_battery_pct=round(before, 1),
                ending_battery_pct=round(soc, 1),
                distance_km=round(km, 2),
                energy_used_kwh=round(energy, 2),
            )
        )
        return end

    def park(end: datetime, place: tuple[float, float] | None = None) -> None:
        nonlocal pending_charge
        if soc < car.plug_in_below_pct:
            pending_charge = (end + timedelta(minutes=3), soc, place or car.home)

    for n in range(days):
        day = first_day + timedelta(days=n)
        if holiday is not None and holiday[0] <= day <= holiday[1]:
            if day == holiday[0]:
                park(drive(at(day, 9 * 60), 110, 150, car.home, car.cabin), car.cabin)
            elif day == holiday[1]:
                park(drive(at(day, 15 * 60), 110, 150, car.cabin, car.home))
            elif rng.random() < 0.5:
                out = at(day, rng.gauss(10.5 * 60, 40))
                back = drive(out, 15, 8, car.cabin, car.cabin)
                park(drive(back + timedelta(minutes=90), 15, 8, car.cabin, car.cabin), car.cabin)
            continue
        wd = day.weekday()
        if wd < 5:
            if rng.random() < 0.95:
                km = car.commute_km * rng.uniform(0.95, 1.1)
                out = at(day, rng.gauss(car.depart_min, 12))
                arrived = drive(out, 25, km, car.home, car.work)
                leave = max(
                    arrived + timedelta(hours=6), at(day, rng.gauss(car.leave_work_min, 20))
                )
                park(drive(leave, 28, km, car.work, car.home))
        elif rng.random() < (0.7 if wd == 5 else 0.5):
            km = rng.uniform(5, 30)
            place = (car.home[0] + rng.uniform(-0.1, 0.1), car.home[1] + rng.uniform(-0.2, 0.2))
            out = at(day, rng.gauss(11 * 60, 45))
            arrived = drive(out, 20, km, car.home, place)
            park(drive(arrived + timedelta(hours=2), 20, km, place, car.home))
    end_of_history = at(first_day + timedelta(days=days), 0)
    if pending_charge is not None and pending_charge[0] < end_of_history:
        # Still plugged in when the history ends: the charge is over once full.
        start, start_soc, _ = pending_charge
        pack_kw = car.charger_kw * car.efficiency
        full_h = (car.charge_limit_pct - start_soc) / 100 * car.capacity_kwh / pack_kw
        if start + timedelta(hours=full_h) <= end_of_history:
            finish_charge(end_of_history)
    return drives, charges
