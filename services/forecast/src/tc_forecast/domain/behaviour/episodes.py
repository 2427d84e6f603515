"""Plug-in sessions derived from a vehicle's recorded drives and charges (pure).

Tessie reports *charging* sessions, not *plugged-in* sessions: a car that arrives at 17:30 and
charges on a schedule from 01:00 was plugged in at 17:30. So a session runs from the end of
the drive that brought the car to the charger (when there is one, ending where it charged,
with no other charge in between) to the start of the next drive, and consecutive charges with
no drive between them (a paused and resumed charge) are one session.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tc_common.events import ChargeRecorded, DriveRecorded
from tc_forecast.domain.behaviour.departure import PastSession

EARTH_RADIUS_M = 6_371_000.0
# A charge this close to where the previous drive ended happened where the car was parked.
SAME_PLACE_M = 200.0
# The drive that brought the car counts as the plug-in only if it ended shortly before the
# charge began; a car parked for days and plugged in later is plugged in when it charged.
MAX_ARRIVAL_TO_CHARGE = timedelta(hours=18)
# Longer sessions are holidays or a car left standing: true, but no evidence of a routine.
MAX_ROUTINE_SESSION = timedelta(days=4)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def near(
    lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None, radius_m: float
) -> bool | None:
    """Whether two positions are within ``radius_m``; ``None`` when either is unknown."""
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    return distance_m(lat1, lon1, lat2, lon2) <= radius_m


@dataclass(frozen=True)
class PlugSession:
    """One stay on a charger: plugged in, one or more charges, plugged out (``None`` while the
    car has not driven since: still plugged in, or not yet known)."""

    plugged_in_at: datetime
    plugged_out_at: datetime | None
    first_charge_at: datetime
    last_charge_end_at: datetime
    latitude_deg: float | None
    longitude_deg: float | None
    is_supercharger: bool
    energy_added_kwh: float
    energy_used_kwh: float | None
    charging_h: float
    starting_battery_pct: float | None
    ending_battery_pct: float | None
    charge_ids: tuple[int, ...]

    @property
    def duration_h(self) -> float | None:
        if self.plugged_out_at is None:
            return None
        return (self.plugged_out_at - self.plugged_in_at).total_seconds() / 3600.0


def unique_drives(drives: Iterable[DriveRecorded]) -> list[DriveRecorded]:
    """Drives sorted by start; a re-published drive (same id) replaces the earlier copy."""
    by_id = {d.drive_id: d for d in drives}
    return sorted(by_id.values(), key=lambda d: (d.started_at, d.drive_id))


def unique_charges(charges: Iterable[ChargeRecorded]) -> list[ChargeRecorded]:
    by_id = {c.charge_id: c for c in charges}
    return sorted(by_id.values(), key=lambda c: (c.started_at, c.charge_id))


def plug_sessions(
    drives: Sequence[DriveRecorded], charges: Sequence[ChargeRecorded]
) -> list[PlugSession]:
    """The plug-in sessions of one vehicle, in time order.

    ``drives`` and ``charges`` MUST be sorted by start and free of duplicates (see
    ``unique_drives``/``unique_charges``).
    """
    sessions: list[PlugSession] = []
    group: list[ChargeRecorded] = []
    for charge in charges:
        if group:
            drove_between = any(
                group[-1].ended_at <= d.started_at < charge.started_at for d in drives
            )
            moved = near(
                group[-1].latitude_deg,
                group[-1].longitude_deg,
                charge.latitude_deg,
                charge.longitude_deg,
                SAME_PLACE_M,
            )
            if not drove_between and moved is not False:
                group.append(charge)
                continue
            sessions.append(_session(group, drives))
        group = [charge]
    if group:
        sessions.append(_session(group, drives))
    return sessions


def _session(group: list[ChargeRecorded], drives: Sequence[DriveRecorded]) -> PlugSession:
    first, last = group[0], group[-1]
    before = [d for d in drives if d.ended_at <= first.started_at]
    plugged_in_at = first.started_at
    if before:
        arrival = before[-1]
        here = near(
            arrival.ending_latitude_deg,
            arrival.ending_longitude_deg,
            first.latitude_deg,
            first.longitude_deg,
            SAME_PLACE_M,
        )
        if here is not False and first.started_at - arrival.ended_at <= MAX_ARRIVAL_TO_CHARGE:
            plugged_in_at = arrival.ended_at
    after = [d for d in drives if d.started_at >= last.ended_at]
    plugged_out_at = after[0].started_at if after else None
    used = [c.energy_used_kwh for c in group]
    return PlugSession(
        plugged_in_at=plugged_in_at,
        plugged_out_at=plugged_out_at,
        first_charge_at=first.started_at,
        last_charge_end_at=last.ended_at,
        latitude_deg=first.latitude_deg,
        longitude_deg=first.longitude_deg,
        is_supercharger=any(c.is_supercharger for c in group),
        energy_added_kwh=sum(c.energy_added_kwh for c in group),
        energy_used_kwh=None if any(u is None for u in used) else sum(u or 0.0 for u in used),
        charging_h=sum((c.ended_at - c.started_at).total_seconds() for c in group) / 3600.0,
        starting_battery_pct=first.starting_battery_pct,
        ending_battery_pct=last.ending_battery_pct,
        charge_ids=tuple(c.charge_id for c in group),
    )


def past_sessions(
    sessions: Iterable[PlugSession],
    *,
    before: datetime,
    latitude_deg: float | None = None,
    longitude_deg: float | None = None,
    radius_m: float = SAME_PLACE_M,
) -> list[PastSession]:
    """Finished routine sessions that were over by ``before``, for the departure model.

    With a position, only sessions at that place count (a workplace charger has another
    rhythm than home); when none are there, all do. Supercharger stops and sessions longer
    than four days are left out: they say nothing about the daily routine.
    """
    done = [
        s
        for s in sessions
        if s.plugged_out_at is not None
        and s.plugged_out_at <= before
        and not s.is_supercharger
        and s.plugged_out_at - s.plugged_in_at <= MAX_ROUTINE_SESSION
        and s.plugged_out_at > s.plugged_in_at
    ]
    if latitude_deg is not None and longitude_deg is not None:
        here = [
            s
            for s in done
            if near(s.latitude_deg, s.longitude_deg, latitude_deg, longitude_deg, radius_m)
            is not False
        ]
        done = here or done
    return [
        PastSession(s.plugged_in_at, out, s.energy_added_kwh)
        for s in done
        if (out := s.plugged_out_at) is not None
    ]
