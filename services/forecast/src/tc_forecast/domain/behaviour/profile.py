"""A vehicle's learned behaviour: weekly rhythm, daily energy, where and how it charges (pure).

Built from the vehicle's recorded drives and charges and ``now`` (passed in). Every statistic
is a *weighted* quantile over whole local days, with weights halving every ``half_life_days``
so recent weeks count more and the profile keeps adapting. Days the car started or ended away
from home (a holiday, a trip with a night away) are left out entirely, and single days that
took it far from home are left out of the departure/return times, so one-off trips do not
shift the weekday rhythm. PLANNER.md beside the service explains the method.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargeRecorded,
    ChargingLocation,
    DriveRecorded,
    WeekdayRhythm,
)
from tc_common.events.behaviour import LearningState
from tc_forecast.domain.behaviour.episodes import (
    PlugSession,
    distance_m,
    plug_sessions,
    unique_charges,
    unique_drives,
)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ProfileConfig:
    timezone: str = "Europe/Oslo"
    ready_days: int = 14
    fully_trained_days: int = 30
    half_life_days: float = 21.0
    max_history_days: int = 180
    cluster_radius_m: float = 200.0
    # Where a drive ended counts as "home" within this radius (GPS noise, parking spots).
    home_radius_m: float = 500.0
    far_from_home_km: float = 150.0
    default_capacity_kwh: float = 75.0
    default_consumption_kwh_per_km: float = 0.17
    need_quantile: float = 0.9
    max_days_between_plug_ins: int = 7
    max_locations: int = 5


@dataclass(frozen=True)
class DayRecord:
    """One whole local day of driving."""

    day: date
    weight: float
    drives: int
    first_departure_min: float | None
    last_return_min: float | None
    distance_km: float
    energy_kwh: float
    absent: bool  # started or ended away from home: not a day of the routine
    far: bool  # went far from home: its times are not the routine's

    @property
    def weekday(self) -> int:
        return self.day.weekday()


@dataclass(frozen=True)
class Place:
    latitude_deg: float
    longitude_deg: float


@dataclass(frozen=True)
class BehaviourProfile:
    """Everything learned about one vehicle; ``event()`` is what is published."""

    vehicle_id: str
    computed_at: datetime
    timezone: str
    learning_state: LearningState
    days_observed: int
    days_until_ready: int
    days_until_fully_trained: int
    weekdays: tuple[WeekdayRhythm, ...]
    daily_distance_p50_km: float | None
    daily_energy_p50_kwh: float | None
    daily_energy_p90_kwh: float | None
    locations: tuple[ChargingLocation, ...]
    home: Place | None
    capacity_kwh: float
    consumption_kwh_per_km: float
    days_between_plug_ins: int
    energy_need_kwh: float | None
    """Learned energy (into the pack) to cover the days until the next likely plug-in."""
    summary: str
    sessions: tuple[PlugSession, ...] = field(default=(), repr=False)
    days: tuple[DayRecord, ...] = field(default=(), repr=False)

    @property
    def is_ready(self) -> bool:
        return self.learning_state != "learning"

    @property
    def home_location(self) -> ChargingLocation | None:
        return next((loc for loc in self.locations if loc.kind == "home"), None)

    def location_near(
        self, latitude_deg: float | None, longitude_deg: float | None, radius_m: float = 200.0
    ) -> ChargingLocation | None:
        """The learned charging location at a position (home when the position is unknown)."""
        if latitude_deg is None or longitude_deg is None:
            return self.home_location
        for loc in self.locations:
            d = distance_m(loc.latitude_deg, loc.longitude_deg, latitude_deg, longitude_deg)
            if d <= radius_m:
                return loc
        return None

    def event(self) -> BehaviourProfileUpdated:
        return BehaviourProfileUpdated(
            vehicle_id=self.vehicle_id,
            computed_at=self.computed_at,
            learning_state=self.learning_state,
            days_observed=self.days_observed,
            days_until_ready=self.days_until_ready,
            days_until_fully_trained=self.days_until_fully_trained,
            timezone=self.timezone,
            weekdays=self.weekdays,
            daily_distance_p50_km=self.daily_distance_p50_km,
            daily_energy_p50_kwh=self.daily_energy_p50_kwh,
            locations=self.locations,
            summary=self.summary,
        )


# ------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float | None:
    """The q-quantile of weighted values, interpolated between the weights' midpoints.

    With equal weights this is the usual "Hazen" quantile; outside the outermost midpoints the
    extreme value is returned (never an extrapolation). ``None`` for no (positive) weight.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    v, w = v[keep], w[keep]
    if v.size == 0:
        return None
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    mid = (np.cumsum(w) - w / 2) / w.sum()
    return float(np.interp(q, mid, v))


def learning_state(days_observed: int, cfg: ProfileConfig) -> LearningState:
    if days_observed < cfg.ready_days:
        return "learning"
    if days_observed < cfg.fully_trained_days:
        return "ready"
    return "fully_trained"


def recency_weight(age_days: float, half_life_days: float) -> float:
    return float(0.5 ** (max(0.0, age_days) / half_life_days))


def _wall_minutes(at: datetime, day: date, tz: ZoneInfo) -> float:
    """Wall-clock minutes from ``day``'s local midnight (past 1440 on the next day)."""
    local = at.astimezone(tz)
    return (local.date() - day).days * 1440 + local.hour * 60 + local.minute + local.second / 60


# ------------------------------------------------------------------------------------------
# Clustering places
# ------------------------------------------------------------------------------------------


def cluster_places(points: Sequence[tuple[float, float]], radius_m: float) -> list[list[int]]:
    """Greedy leader clustering: each point joins the nearest cluster whose centre is within
    ``radius_m`` (the centre being the mean of its members) or starts a new one."""
    centres: list[tuple[float, float]] = []
    members: list[list[int]] = []
    for i, (lat, lon) in enumerate(points):
        best, best_d = -1, radius_m
        for c, (clat, clon) in enumerate(centres):
            d = distance_m(lat, lon, clat, clon)
            if d <= best_d:
                best, best_d = c, d
        if best < 0:
            centres.append((lat, lon))
            members.append([i])
            continue
        members[best].append(i)
        n = len(members[best])
        clat, clon = centres[best]
        centres[best] = (clat + (lat - clat) / n, clon + (lon - clon) / n)
    return members


def _centre(points: Sequence[tuple[float, float]], idx: Sequence[int]) -> Place:
    return Place(
        float(np.mean([points[i][0] for i in idx])), float(np.mean([points[i][1] for i in idx]))
    )


def _is_overnight(s: PlugSession, tz: ZoneInfo) -> bool:
    """Plugged in across 03:00 local, or (end unknown) plugged in in the evening or night."""
    start = s.plugged_in_at.astimezone(tz)
    end_at = s.plugged_out_at or s.last_charge_end_at
    three = start.replace(hour=3, minute=0, second=0, microsecond=0)
    if three <= start:
        three += timedelta(days=1)
    if end_at.astimezone(tz) >= three:
        return True
    return s.plugged_out_at is None and (start.hour >= 17 or start.hour < 5)


# ------------------------------------------------------------------------------------------
# Building the profile
# ------------------------------------------------------------------------------------------


def estimate_capacity_kwh(sessions: Sequence[PlugSession], default_kwh: float) -> float:
    """Usable pack capacity from charges: energy added per percent point, times 100."""
    values, weights = [], []
    for s in sessions:
        if s.starting_battery_pct is None or s.ending_battery_pct is None:
            continue
        gained = s.ending_battery_pct - s.starting_battery_pct
        if gained >= 10 and s.energy_added_kwh > 0:
            values.append(s.energy_added_kwh / gained * 100)
            weights.append(gained)
    found = weighted_quantile(values, weights, 0.5)
    if found is None or not 20 <= found <= 200:
        return default_kwh
    return found


def estimate_consumption_kwh_per_km(
    drives: Sequence[DriveRecorded], capacity_kwh: float, default: float
) -> float:
    energy = distance = 0.0
    for d in drives:
        e = _measured_drive_energy(d, capacity_kwh)
        if e is not None and d.distance_km >= 1:
            energy += e
            distance += d.distance_km
    if distance < 10:
        return default
    found = energy / distance
    return found if 0.05 <= found <= 0.6 else default


def _measured_drive_energy(d: DriveRecorded, capacity_kwh: float) -> float | None:
    if d.energy_used_kwh is not None and d.energy_used_kwh >= 0:
        return d.energy_used_kwh
    if d.starting_battery_pct is not None and d.ending_battery_pct is not None:
        used = d.starting_battery_pct - d.ending_battery_pct
        if used >= 0:
            return used / 100 * capacity_kwh
    return None


def find_home(
    sessions: Sequence[PlugSession], drives: Sequence[DriveRecorded], cfg: ProfileConfig
) -> tuple[Place | None, list[list[int]], list[tuple[float, float]], list[PlugSession]]:
    """Home: the charging place (not a Supercharger) with the most overnight sessions; without
    charges, the place the car most often spends the night. Also returns the charging clusters
    (indices into the returned positioned sessions)."""
    tz = ZoneInfo(cfg.timezone)
    placed = [s for s in sessions if s.latitude_deg is not None and s.longitude_deg is not None]
    points = [(s.latitude_deg or 0.0, s.longitude_deg or 0.0) for s in placed]
    clusters = cluster_places(points, cfg.cluster_radius_m)
    candidates = [c for c in clusters if not all(placed[i].is_supercharger for i in c)]
    if candidates:
        best = max(
            candidates,
            key=lambda c: (sum(_is_overnight(placed[i], tz) for i in c), len(c)),
        )
        return _centre(points, best), clusters, points, placed
    nights: dict[date, tuple[float, float]] = {}
    for d in drives:
        if d.ending_latitude_deg is not None and d.ending_longitude_deg is not None:
            nights[d.ended_at.astimezone(tz).date()] = (
                d.ending_latitude_deg,
                d.ending_longitude_deg,
            )
    night_points = list(nights.values())
    if not night_points:
        return None, clusters, points, placed
    best_nights = max(cluster_places(night_points, cfg.cluster_radius_m), key=len)
    return _centre(night_points, best_nights), clusters, points, placed


def daily_records(
    drives: Sequence[DriveRecorded],
    *,
    first_day: date,
    today: date,
    home: Place | None,
    capacity_kwh: float,
    consumption_kwh_per_km: float,
    cfg: ProfileConfig,
) -> list[DayRecord]:
    """One record per whole local day in ``[first_day, today)``; ``drives`` sorted by start."""
    tz = ZoneInfo(cfg.timezone)
    by_day: dict[date, list[DriveRecorded]] = {}
    for d in drives:
        by_day.setdefault(d.started_at.astimezone(tz).date(), []).append(d)

    def away(lat: float | None, lon: float | None, radius_m: float) -> bool:
        if home is None or lat is None or lon is None:
            return False
        return distance_m(lat, lon, home.latitude_deg, home.longitude_deg) > radius_m

    records: list[DayRecord] = []
    # Where the car was at the start of the day: where the last earlier drive ended.
    last_end: tuple[float | None, float | None] = (None, None)
    for d in drives:
        if d.started_at.astimezone(tz).date() >= first_day:
            break
        last_end = (d.ending_latitude_deg, d.ending_longitude_deg)
    day = first_day
    while day < today:
        todays = by_day.get(day, [])
        started_away = away(*last_end, cfg.home_radius_m)
        if todays:
            last_end = (todays[-1].ending_latitude_deg, todays[-1].ending_longitude_deg)
        ended_away = away(*last_end, cfg.home_radius_m)
        far_m = cfg.far_from_home_km * 1000
        far = any(
            away(t.ending_latitude_deg, t.ending_longitude_deg, far_m)
            or away(t.starting_latitude_deg, t.starting_longitude_deg, far_m)
            for t in todays
        )
        energy = 0.0
        for t in todays:
            measured = _measured_drive_energy(t, capacity_kwh)
            energy += measured if measured is not None else t.distance_km * consumption_kwh_per_km
        records.append(
            DayRecord(
                day=day,
                weight=recency_weight((today - day).days, cfg.half_life_days),
                drives=len(todays),
                first_departure_min=_wall_minutes(todays[0].started_at, day, tz)
                if todays
                else None,
                last_return_min=_wall_minutes(todays[-1].ended_at, day, tz) if todays else None,
                distance_km=sum(t.distance_km for t in todays),
                energy_kwh=energy,
                absent=started_away or ended_away,
                far=far,
            )
        )
        day += timedelta(days=1)
    return records


def _q(values: Sequence[float], weights: Sequence[float], q: float) -> float | None:
    found = weighted_quantile(values, weights, q)
    return None if found is None else round(found, 1)


def weekday_rhythm(records: Sequence[DayRecord], weekday: int) -> WeekdayRhythm:
    days = [r for r in records if r.weekday == weekday and not r.absent]
    total = sum(r.weight for r in days)
    driving = [r for r in days if r.drives]
    timed = [r for r in driving if not r.far]
    dep = [r.first_departure_min or 0.0 for r in timed]
    ret = [r.last_return_min or 0.0 for r in timed]
    tw = [r.weight for r in timed]
    dist = [r.distance_km for r in days]
    energy = [r.energy_kwh for r in days]
    w = [r.weight for r in days]
    return WeekdayRhythm(
        weekday=weekday,
        drive_probability=round(sum(r.weight for r in driving) / total, 3) if total else 0.0,
        first_departure_p10_min=_q(dep, tw, 0.1),
        first_departure_p50_min=_q(dep, tw, 0.5),
        first_departure_p90_min=_q(dep, tw, 0.9),
        last_return_p10_min=_q(ret, tw, 0.1),
        last_return_p50_min=_q(ret, tw, 0.5),
        last_return_p90_min=_q(ret, tw, 0.9),
        distance_p50_km=_q(dist, w, 0.5),
        distance_p90_km=_q(dist, w, 0.9),
        energy_p50_kwh=_q(energy, w, 0.5),
        energy_p90_kwh=_q(energy, w, 0.9),
    )


def energy_need_kwh(
    records: Sequence[DayRecord], days_between_plug_ins: int, quantile: float
) -> float | None:
    """The ``quantile`` of the energy driven over ``days_between_plug_ins`` consecutive days
    of the routine (windows crossing an absence are not counted)."""
    k = max(1, days_between_plug_ins)
    sums, weights = [], []
    for end in range(k - 1, len(records)):
        window = records[end - k + 1 : end + 1]
        if any(r.absent for r in window):
            continue
        sums.append(sum(r.energy_kwh for r in window))
        weights.append(window[-1].weight)
    if sums:
        return weighted_quantile(sums, weights, quantile)
    routine = [r for r in records if not r.absent]
    daily = weighted_quantile(
        [r.energy_kwh for r in routine], [r.weight for r in routine], quantile
    )
    return None if daily is None else daily * k


def _location(
    members: Sequence[int],
    placed: Sequence[PlugSession],
    centre: Place,
    *,
    kind: str,
    total_sessions: int,
    records: Sequence[DayRecord],
    today: date,
    cfg: ProfileConfig,
) -> ChargingLocation:
    tz = ZoneInfo(cfg.timezone)
    group = [placed[i] for i in members]

    def weight(s: PlugSession) -> float:
        return recency_weight(
            (today - s.plugged_in_at.astimezone(tz).date()).days, cfg.half_life_days
        )

    powered = [s for s in group if s.charging_h >= 0.25 and s.energy_added_kwh >= 1.0]
    power = weighted_quantile(
        [s.energy_added_kwh / s.charging_h for s in powered], [weight(s) for s in powered], 0.5
    )
    metered = [
        s
        for s in group
        if s.energy_used_kwh is not None and s.energy_used_kwh >= s.energy_added_kwh > 0
    ]
    efficiency = (
        sum(s.energy_added_kwh for s in metered) / sum(s.energy_used_kwh or 0.0 for s in metered)
        if metered
        else None
    )
    energy = weighted_quantile([s.energy_added_kwh for s in group], [weight(s) for s in group], 0.5)
    plug_days = {s.plugged_in_at.astimezone(tz).date() for s in group}
    routine = [r for r in records if not r.absent]
    total_w = sum(r.weight for r in routine)
    plug_prob = (
        min(1.0, sum(r.weight for r in routine if r.day in plug_days) / total_w)
        if total_w
        else None
    )
    return ChargingLocation(
        kind="home" if kind == "home" else "other",
        latitude_deg=round(centre.latitude_deg, 6),
        longitude_deg=round(centre.longitude_deg, 6),
        sessions=len(group),
        share_of_sessions=round(len(group) / total_sessions, 3) if total_sessions else 0.0,
        effective_power_kw=None if power is None else round(power, 2),
        efficiency=None if efficiency is None else round(min(1.0, efficiency), 3),
        energy_per_session_p50_kwh=None if energy is None else round(energy, 2),
        plug_in_probability_per_day=None if plug_prob is None else round(plug_prob, 3),
    )


def build_profile(
    vehicle_id: str,
    drives: Sequence[DriveRecorded],
    charges: Sequence[ChargeRecorded],
    now: datetime,
    cfg: ProfileConfig | None = None,
) -> BehaviourProfile | None:
    """The vehicle's profile as of ``now``; ``None`` before any drive or charge is known.

    Only whole local days before ``now``'s day count; events older than
    ``max_history_days`` are ignored.
    """
    cfg = cfg or ProfileConfig()
    tz = ZoneInfo(cfg.timezone)
    today = now.astimezone(tz).date()
    horizon = now - timedelta(days=cfg.max_history_days + 1)
    drives = [d for d in unique_drives(drives) if horizon <= d.started_at <= now]
    charges = [c for c in unique_charges(charges) if horizon <= c.started_at <= now]
    starts = [d.started_at for d in drives] + [c.started_at for c in charges]
    if not starts:
        return None
    first_day = max(min(starts).astimezone(tz).date(), today - timedelta(days=cfg.max_history_days))
    days_observed = max(0, (today - first_day).days)

    sessions = plug_sessions(drives, charges)
    capacity = estimate_capacity_kwh(sessions, cfg.default_capacity_kwh)
    consumption = estimate_consumption_kwh_per_km(
        drives, capacity, cfg.default_consumption_kwh_per_km
    )
    home, clusters, points, placed = find_home(sessions, drives, cfg)
    records = daily_records(
        drives,
        first_day=first_day,
        today=today,
        home=home,
        capacity_kwh=capacity,
        consumption_kwh_per_km=consumption,
        cfg=cfg,
    )

    locations: list[ChargingLocation] = []
    home_given = False
    for members in sorted(clusters, key=len, reverse=True):
        centre = _centre(points, members)
        is_home = (
            not home_given
            and home is not None
            and distance_m(
                centre.latitude_deg, centre.longitude_deg, home.latitude_deg, home.longitude_deg
            )
            < 1.0
        )
        if not is_home and (len(members) < 2 or len(locations) >= cfg.max_locations):
            continue
        home_given = home_given or is_home
        locations.append(
            _location(
                members,
                placed,
                centre,
                kind="home" if is_home else "other",
                total_sessions=len(placed),
                records=records,
                today=today,
                cfg=cfg,
            )
        )
    locations.sort(key=lambda loc: (loc.kind != "home", -loc.sessions))

    home_loc = next((loc for loc in locations if loc.kind == "home"), None)
    plug_prob = home_loc.plug_in_probability_per_day if home_loc else None
    between = (
        min(cfg.max_days_between_plug_ins, max(1, math.ceil(1.0 / plug_prob - 1e-9)))
        if plug_prob
        else 1
    )
    routine = [r for r in records if not r.absent]
    rw = [r.weight for r in routine]
    state = learning_state(days_observed, cfg)
    weekdays = tuple(weekday_rhythm(records, wd) for wd in range(7))
    need = energy_need_kwh(records, between, cfg.need_quantile)
    distance_p50 = _q([r.distance_km for r in routine], rw, 0.5)
    energy_p50 = _q([r.energy_kwh for r in routine], rw, 0.5)
    profile = BehaviourProfile(
        vehicle_id=vehicle_id,
        computed_at=now,
        timezone=cfg.timezone,
        learning_state=state,
        days_observed=days_observed,
        days_until_ready=max(0, cfg.ready_days - days_observed),
        days_until_fully_trained=max(0, cfg.fully_trained_days - days_observed),
        weekdays=weekdays,
        daily_distance_p50_km=distance_p50,
        daily_energy_p50_kwh=energy_p50,
        daily_energy_p90_kwh=_q([r.energy_kwh for r in routine], rw, 0.9),
        locations=tuple(locations),
        home=home,
        capacity_kwh=round(capacity, 1),
        consumption_kwh_per_km=round(consumption, 4),
        days_between_plug_ins=between,
        energy_need_kwh=None if need is None else round(need, 1),
        summary="",
        sessions=tuple(sessions),
        days=tuple(records),
    )
    return _with_summary(profile, cfg)


# ------------------------------------------------------------------------------------------
# Explaining and comparing
# ------------------------------------------------------------------------------------------


def _clock(minutes: float) -> str:
    m = round(minutes) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def _with_summary(p: BehaviourProfile, cfg: ProfileConfig) -> BehaviourProfile:
    if p.learning_state == "learning":
        text = (
            f"Learning the driving rhythm: day {p.days_observed} of {cfg.ready_days}, "
            f"ready in {p.days_until_ready} day{'s' if p.days_until_ready != 1 else ''}."
        )
        return replace(p, summary=text)
    workdays = [r for r in p.days if r.weekday < 5 and r.drives and not r.absent and not r.far]
    parts = []
    dep = weighted_quantile(
        [r.first_departure_min or 0.0 for r in workdays], [r.weight for r in workdays], 0.5
    )
    ret = weighted_quantile(
        [r.last_return_min or 0.0 for r in workdays], [r.weight for r in workdays], 0.5
    )
    if dep is not None and ret is not None:
        parts.append(f"on weekdays it usually leaves at {_clock(dep)} and is back by {_clock(ret)}")
    if p.daily_distance_p50_km is not None and p.daily_energy_p50_kwh is not None:
        parts.append(
            f"drives about {p.daily_distance_p50_km:.0f} km ({p.daily_energy_p50_kwh:.0f} kWh) "
            "on a typical day"
        )
    home = p.home_location
    if home is not None and home.plug_in_probability_per_day is not None:
        power = (
            f" at {home.effective_power_kw:.1f} kW" if home.effective_power_kw is not None else ""
        )
        parts.append(
            f"is plugged in at home on {home.plug_in_probability_per_day:.0%} of days{power}"
        )
    if not parts:
        text = "Not enough driving seen yet to describe a rhythm."
    else:
        body = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        text = body[0].upper() + body[1:] + "."
    return replace(p, summary=text)


def _moved(a: float | None, b: float | None, *, abs_tol: float, rel_tol: float = 0.0) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > max(abs_tol, rel_tol * max(abs(a), abs(b)))


def profile_changed(old: BehaviourProfile | None, new: BehaviourProfile) -> bool:
    """Whether ``new`` is worth publishing after ``old``: a new learning state or day count
    (while not fully trained), or a quantity that moved materially (a quarter of an hour, a
    tenth of a probability, 15 % of a distance or energy, another place or charging figure).
    Recency weights drift every day; small drifts are not news."""
    if old is None:
        return True
    if old.learning_state != new.learning_state:
        return True
    if new.learning_state != "fully_trained" and old.days_observed != new.days_observed:
        return True
    for a, b in zip(old.weekdays, new.weekdays, strict=True):
        if _moved(a.drive_probability, b.drive_probability, abs_tol=0.1):
            return True
        for name in (
            "first_departure_p10_min",
            "first_departure_p50_min",
            "first_departure_p90_min",
            "last_return_p10_min",
            "last_return_p50_min",
            "last_return_p90_min",
        ):
            if _moved(getattr(a, name), getattr(b, name), abs_tol=15.0):
                return True
        for name, tol in (
            ("distance_p50_km", 2.0),
            ("distance_p90_km", 2.0),
            ("energy_p50_kwh", 0.5),
            ("energy_p90_kwh", 0.5),
        ):
            if _moved(getattr(a, name), getattr(b, name), abs_tol=tol, rel_tol=0.15):
                return True
    if _moved(old.daily_distance_p50_km, new.daily_distance_p50_km, abs_tol=2.0, rel_tol=0.15):
        return True
    if _moved(old.daily_energy_p50_kwh, new.daily_energy_p50_kwh, abs_tol=0.5, rel_tol=0.15):
        return True
    if _moved(old.energy_need_kwh, new.energy_need_kwh, abs_tol=1.0, rel_tol=0.1):
        return True
    if _moved(old.capacity_kwh, new.capacity_kwh, abs_tol=1.0, rel_tol=0.05):
        return True
    if len(old.locations) != len(new.locations):
        return True
    for la, lb in zip(old.locations, new.locations, strict=True):
        if la.kind != lb.kind or (
            distance_m(la.latitude_deg, la.longitude_deg, lb.latitude_deg, lb.longitude_deg) > 100
        ):
            return True
        if (
            _moved(la.effective_power_kw, lb.effective_power_kw, abs_tol=0.3, rel_tol=0.1)
            or _moved(la.efficiency, lb.efficiency, abs_tol=0.03)
            or _moved(la.plug_in_probability_per_day, lb.plug_in_probability_per_day, abs_tol=0.1)
            or _moved(
                la.energy_per_session_p50_kwh,
                lb.energy_per_session_p50_kwh,
                abs_tol=1.0,
                rel_tol=0.15,
            )
            or _moved(la.share_of_sessions, lb.share_of_sessions, abs_tol=0.1)
        ):
            return True
    return False


def learned_target_pct(
    profile: BehaviourProfile, *, reserve_pct: float, capacity_kwh: float | None = None
) -> float | None:
    """The state of charge that covers the learned need and still leaves ``reserve_pct``."""
    if profile.energy_need_kwh is None:
        return None
    capacity = capacity_kwh or profile.capacity_kwh
    return min(100.0, reserve_pct + profile.energy_need_kwh / capacity * 100.0)
