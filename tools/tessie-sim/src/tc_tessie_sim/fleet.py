"""A simulated fleet whose life is a deterministic function of time.

Each car follows a weekly rhythm (commute on weekdays, errands or trips at weekends). Everything
that happens on a local day is drawn from a random generator seeded with ``(seed, vin, date)``,
so any instant, weeks in the past or in the future, always yields the same state. State of
charge and odometer carry over from day to day; the model replays days forward from
``EPOCH_DAY`` once and memoises each day, so ``state_at`` costs a dictionary lookup, a bisect
and some arithmetic.

Units here are SI-ish and in the names (km, kWh, kW, °C, Unix seconds). The Tessie wire shapes
(miles, mph, milliseconds) live in :mod:`tc_tessie_sim.wire`.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
EPOCH_DAY = date(2024, 1, 1)
"""The simulation starts at local midnight of this day: parked at home, plugged in, at the limit."""

PLUG_DELAY_S = 120
"""The driver needs a moment between switching the car off and plugging the cable in."""
AWAKE_AFTER_ACTIVITY_S = 5 * 60
FALL_ASLEEP_AFTER_S = 15 * 60
CACHE_REFRESH_S = 10
"""Tessie refreshes its cached snapshot of an awake car every 10 s."""

CHARGE_EFFICIENCY = 0.9
DRAIN_ASLEEP_KW = 0.02
DRAIN_SENTRY_KW = 0.25
MIN_ARRIVAL_SOC_PCT = 10.0
ROAD_FACTOR = 1.25
"""Road distance over straight-line distance."""
KM_PER_DEG_LAT = 111.2


class Activity(StrEnum):
    PARKED = "parked"
    DRIVING = "driving"


class SleepStatus(StrEnum):
    """Tessie's ``/status`` vocabulary."""

    AWAKE = "awake"
    WAITING_FOR_SLEEP = "waiting_for_sleep"
    ASLEEP = "asleep"


@dataclass(frozen=True)
class DayRhythm:
    """How a car is used on one weekday; minutes are after local midnight (wall clock)."""

    trip_probability: float
    departure_min_mean: float
    departure_min_sd: float
    distance_km_mean: float
    distance_km_sd: float
    away_min_mean: float
    away_min_sd: float
    to_work: bool


@dataclass(frozen=True)
class Place:
    latitude_deg: float
    longitude_deg: float
    address: str
    saved_name: str | None


@dataclass(frozen=True)
class VehicleProfile:
    """Everything that makes one simulated car behave the way it does."""

    vin: str
    display_name: str
    car_type: str
    home: Place
    work: Place
    city: str
    battery_kwh: float
    consumption_wh_per_km: float
    rated_wh_per_km: float
    charger_kw: float
    charge_limit_pct: int
    rhythm: tuple[DayRhythm, ...]
    """Seven entries, Monday first."""
    sentry_at_home: bool
    seed: int
    initial_odometer_km: float
    sentry_away: bool = False
    """Sentry also on when parked away from home (many owners leave it on everywhere)."""
    plug_in_below_pct: float = 100.0
    """Plugs in on arriving home when the SoC is below this; 100 means always. Below 50 %
    every driver plugs in."""
    uses_scheduled_departure: bool = False
    """The owner keeps Scheduled Departure (preconditioning) on for working days: the car shows
    its next usual working-day departure, with the feature enabled Monday to Friday."""


@dataclass(frozen=True, slots=True)
class DriveEpisode:
    id: int
    started_at_s: int
    ended_at_s: int
    start: Place
    end: Place
    heading_deg: float
    distance_km: float
    energy_kwh: float
    starting_soc_pct: float
    ending_soc_pct: float
    starting_odometer_km: float
    ending_odometer_km: float
    average_speed_kmh: float
    max_speed_kmh: float
    outside_temp_c: float


@dataclass(frozen=True, slots=True)
class ChargeEpisode:
    id: int
    started_at_s: int
    ended_at_s: int
    place: Place
    odometer_km: float
    starting_soc_pct: float
    charger_kw: float
    battery_kwh: float
    limit_pct: float

    @property
    def pack_kw(self) -> float:
        return self.charger_kw * CHARGE_EFFICIENCY

    def soc_at(self, t_s: float) -> float:
        elapsed_h = (min(max(t_s, self.started_at_s), self.ended_at_s) - self.started_at_s) / 3600
        soc = self.starting_soc_pct + self.pack_kw * elapsed_h / self.battery_kwh * 100
        return min(soc, max(self.limit_pct, self.starting_soc_pct))

    def energy_added_at(self, t_s: float) -> float:
        return (self.soc_at(t_s) - self.starting_soc_pct) / 100 * self.battery_kwh

    @property
    def ending_soc_pct(self) -> float:
        return self.soc_at(self.ended_at_s)

    @property
    def energy_added_kwh(self) -> float:
        return self.energy_added_at(self.ended_at_s)

    @property
    def energy_used_kwh(self) -> float:
        return self.energy_added_kwh / CHARGE_EFFICIENCY


@dataclass(frozen=True, slots=True)
class Trip:
    depart_s: int
    arrive_dest_s: int
    leave_dest_s: int
    arrive_home_s: int
    distance_km: float
    destination: Place
    bearing_deg: float


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    midnight_s: int
    next_midnight_s: int
    temp_offset_c: float
    trip: Trip | None


@dataclass(frozen=True, slots=True)
class _Segment:
    activity: Activity
    t0: int
    t1: int
    soc0: float
    soc1: float
    odo0: float
    odo1: float
    place0: Place
    place1: Place
    heading_deg: float
    at_home: bool
    plugged: bool
    charge: ChargeEpisode | None
    """Set when the car charges during the whole segment."""
    last_charge: ChargeEpisode | None
    idle_since_s: int | None
    """End of the last activity (drive, plug-in, charge); ``None`` while active."""
    drive: DriveEpisode | None


@dataclass(frozen=True, slots=True)
class _DayStart:
    soc_pct: float
    odometer_km: float
    plugged: bool
    charge: ChargeEpisode | None
    last_charge: ChargeEpisode | None
    idle_since_s: int
    heading_deg: float
    drive_count: int
    charge_count: int


@dataclass(frozen=True, slots=True)
class _DayReplay:
    plan: DayPlan
    segments: tuple[_Segment, ...]
    drives: tuple[DriveEpisode, ...]
    charges: tuple[ChargeEpisode, ...]
    """Charges that start on this day (they may end on the next)."""
    end: _DayStart


@dataclass(frozen=True)
class CarState:
    """The physical state of a car at ``at_s``, plus how Tessie sees it at that moment."""

    at_s: int
    activity: Activity
    latitude_deg: float
    longitude_deg: float
    heading_deg: float
    speed_kmh: float | None
    shift_state: str | None
    power_kw: float
    battery_level_pct: float
    odometer_km: float
    charging_state: str
    plugged_in: bool
    charger_power_kw: float
    charger_phases: int
    charge_energy_added_kwh: float
    minutes_to_full_charge: float
    charge_limit_pct: int
    sentry_mode: bool
    is_climate_on: bool
    inside_temp_c: float
    outside_temp_c: float
    locked: bool
    is_user_present: bool
    at_home: bool
    sleep: SleepStatus
    fell_asleep_at_s: int | None
    """When the car fell (or will fall, without new activity) asleep; ``None`` while active."""


@dataclass(frozen=True)
class Snapshot:
    """What Tessie's cache holds for a car at a given moment."""

    state: CarState
    snapshot_at_s: int
    status: SleepStatus

    @property
    def online_state(self) -> str:
        return "asleep" if self.status is SleepStatus.ASLEEP else "online"


# --------------------------------------------------------------------------------------------
# Fleet construction
# --------------------------------------------------------------------------------------------

_CITIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "Trondheim": (
        63.4305,
        10.3951,
        ("Kongens gate", "Olav Tryggvasons gate", "Innherredsveien", "Elgeseter gate", "Byåsveien"),
    ),
    "Oslo": (
        59.9139,
        10.7522,
        ("Karl Johans gate", "Bogstadveien", "Trondheimsveien", "Kirkeveien", "Storgata"),
    ),
}
# Plug-in habits, by position in the fleet: how far below its charge limit the battery must be
# before the owner plugs in on coming home. Most owners with a home charger plug in every
# evening (None); some wait until it is 15 or 10 points down (every second or third day).
_PLUG_IN_GAP_PCT: tuple[float | None, ...] = (None, 15.0, None, 10.0)
# The one owner in the fleet who schedules departures in the car (a car that plugs in every
# evening, so the charge planner can use the departure it shows).
_SCHEDULED_DEPARTURE_INDEX = 2
_NAMES = ("Nordlys", "Fjord", "Troll", "Midnattsol", "Skarven", "Lynet", "Polar", "Havørn")
_MODELS = (
    # VIN prefix, car type, battery kWh, consumption Wh/km, rated Wh/km
    ("5YJ3E7EB0KF", "model3", 75.0, 160.0, 145.0),
    ("5YJ3E7EA1MF", "model3", 57.5, 150.0, 138.0),
    ("7SAYGDEE2PF", "modely", 75.0, 180.0, 160.0),
)


def _rng(*parts: object) -> random.Random:
    material = ":".join(str(p) for p in parts).encode()
    return random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))


def _offset(lat: float, lon: float, distance_km: float, bearing_deg: float) -> tuple[float, float]:
    b = math.radians(bearing_deg)
    dlat = distance_km * math.cos(b) / KM_PER_DEG_LAT
    dlon = distance_km * math.sin(b) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _bearing(a: Place, b: Place) -> float:
    dy = b.latitude_deg - a.latitude_deg
    dx = (b.longitude_deg - a.longitude_deg) * math.cos(math.radians(a.latitude_deg))
    return math.degrees(math.atan2(dx, dy)) % 360


def _street_address(rng: random.Random, city: str) -> str:
    streets = _CITIES[city][2]
    return f"{rng.choice(streets)} {rng.randint(1, 120)}, {city}"


def build_profile(
    index: int, seed: int, sentry_at_home: bool, sentry_away: bool = False
) -> VehicleProfile:
    """One deterministic car; ``index`` is its position in the fleet."""
    rng = _rng("profile", seed, index)
    prefix, car_type, battery_kwh, consumption, rated = _MODELS[index % len(_MODELS)]
    vin = f"{prefix}{seed % 100:02d}{index + 1:04d}"
    city = "Trondheim" if index % 2 == 0 else "Oslo"
    c_lat, c_lon, _ = _CITIES[city]
    home_lat, home_lon = _offset(c_lat, c_lon, rng.uniform(1.5, 8.0), rng.uniform(0, 360))
    home = Place(home_lat, home_lon, _street_address(rng, city), "Home")
    commute_km = rng.uniform(6.0, 35.0)
    work_lat, work_lon = _offset(home_lat, home_lon, commute_km / ROAD_FACTOR, rng.uniform(0, 360))
    work = Place(work_lat, work_lon, _street_address(rng, city), "Work")
    depart = rng.uniform(6.5 * 60, 8.75 * 60)
    workday = DayRhythm(0.93, depart, 15.0, commute_km, 1.5, 8.5 * 60, 35.0, to_work=True)
    friday = DayRhythm(0.9, depart, 20.0, commute_km, 1.5, 7.0 * 60, 45.0, to_work=True)
    saturday = DayRhythm(0.75, 10.5 * 60, 80.0, 14.0, 9.0, 2.5 * 60, 60.0, to_work=False)
    sunday = DayRhythm(0.55, 12.0 * 60, 100.0, 45.0, 30.0, 4.0 * 60, 90.0, to_work=False)
    profile = VehicleProfile(
        vin=vin,
        display_name=_NAMES[index % len(_NAMES)] + ("" if index < len(_NAMES) else f" {index}"),
        car_type=car_type,
        home=home,
        work=work,
        city=city,
        battery_kwh=battery_kwh,
        consumption_wh_per_km=round(consumption * rng.uniform(0.92, 1.08), 1),
        rated_wh_per_km=rated,
        charger_kw=rng.choice((3.6, 7.4, 11.0)),
        charge_limit_pct=rng.choice((80, 80, 90, 70)),
        rhythm=(workday, workday, workday, workday, friday, saturday, sunday),
        sentry_at_home=sentry_at_home,
        seed=seed,
        initial_odometer_km=round(rng.uniform(4_000, 40_000), 1),
        sentry_away=sentry_away,
        uses_scheduled_departure=index == _SCHEDULED_DEPARTURE_INDEX,
    )
    gap_pct = _PLUG_IN_GAP_PCT[index % len(_PLUG_IN_GAP_PCT)]
    if gap_pct is None:
        return profile
    return replace(profile, plug_in_below_pct=profile.charge_limit_pct - gap_pct)


def build_fleet(
    n: int, seed: int = 1, sentry_share: float = 0.0, sentry_everywhere: bool = False
) -> list[VehicleProfile]:
    """``n`` deterministic cars; ``round(n * sentry_share)`` of them keep sentry on at home
    (and, with ``sentry_everywhere``, wherever they park, so they never fall asleep)."""
    if n < 0 or not 0.0 <= sentry_share <= 1.0:
        raise ValueError("need n >= 0 and 0 <= sentry_share <= 1")
    order = list(range(n))
    _rng("sentry", seed).shuffle(order)
    sentry = set(order[: round(n * sentry_share)])
    return [
        build_profile(i, seed, i in sentry, sentry_everywhere and i in sentry) for i in range(n)
    ]


# --------------------------------------------------------------------------------------------
# Day plans: pure functions of (profile, local date)
# --------------------------------------------------------------------------------------------


def _local_s(day: date, minutes: float) -> int:
    midnight = datetime(day.year, day.month, day.day, tzinfo=OSLO)
    # Aware arithmetic in one zone is wall-clock arithmetic, so 07:30 stays 07:30 across DST.
    return int((midnight + timedelta(minutes=minutes)).timestamp())


def local_day(t_s: float) -> date:
    return datetime.fromtimestamp(t_s, OSLO).date()


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


@lru_cache(maxsize=8192)
def plan_day(profile: VehicleProfile, day: date) -> DayPlan:
    """The trip (if any) this car makes on ``day``; it does not depend on the car's state."""
    rng = _rng("day", profile.seed, profile.vin, day.isoformat())
    rhythm = profile.rhythm[day.weekday()]
    temp_offset = rng.gauss(0.0, 2.5)
    midnight = _local_s(day, 0)
    next_midnight = _local_s(day + timedelta(days=1), 0)
    trip: Trip | None = None
    if rng.random() < rhythm.trip_probability:
        distance = _clamp(rng.gauss(rhythm.distance_km_mean, rhythm.distance_km_sd), 3.0, 150.0)
        speed = _clamp(22.0 + 0.55 * distance, 25.0, 85.0) * rng.uniform(0.9, 1.1)
        drive_min = distance / speed * 60
        away_min = _clamp(rng.gauss(rhythm.away_min_mean, rhythm.away_min_sd), 20.0, 11 * 60)
        depart_min = _clamp(
            rng.gauss(rhythm.departure_min_mean, rhythm.departure_min_sd), 5 * 60, 20 * 60
        )
        back_min = drive_min * rng.uniform(0.95, 1.15)
        latest_home_min = 23.5 * 60
        if depart_min + drive_min + away_min + back_min > latest_home_min:
            depart_min = latest_home_min - (drive_min + away_min + back_min)
        if rhythm.to_work:
            destination = profile.work
        else:
            bearing = rng.uniform(0, 360)
            lat, lon = _offset(
                profile.home.latitude_deg,
                profile.home.longitude_deg,
                distance / ROAD_FACTOR,
                bearing,
            )
            destination = Place(lat, lon, _street_address(rng, profile.city), None)
        depart_s = _local_s(day, depart_min)
        arrive_dest_s = depart_s + round(drive_min * 60)
        leave_dest_s = arrive_dest_s + round(away_min * 60)
        trip = Trip(
            depart_s=depart_s,
            arrive_dest_s=arrive_dest_s,
            leave_dest_s=leave_dest_s,
            arrive_home_s=leave_dest_s + round(back_min * 60),
            distance_km=round(distance, 2),
            destination=destination,
            bearing_deg=_bearing(profile.home, destination),
        )
    return DayPlan(day, midnight, next_midnight, temp_offset, trip)


def outside_temp_c(plan: DayPlan, t_s: float) -> float:
    """Norwegian seasons: about -5 °C in January, 16 °C in July, warmest mid-afternoon."""
    dt = datetime.fromtimestamp(t_s, OSLO)
    doy = dt.timetuple().tm_yday
    hour = dt.hour + dt.minute / 60
    seasonal = 5.5 - 10.5 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    diurnal = 3.5 * math.cos(2 * math.pi * (hour - 15) / 24)
    return round(seasonal + diurnal + plan.temp_offset_c, 1)


def _consumption_factor(temp_c: float) -> float:
    # Cabin and battery heating make a cold car use noticeably more energy per km.
    return 1.0 + 0.012 * max(0.0, 15.0 - temp_c)


# --------------------------------------------------------------------------------------------
# Replaying days
# --------------------------------------------------------------------------------------------


def _id_base(vin: str) -> int:
    return (int(hashlib.sha256(vin.encode()).hexdigest()[:6], 16) % 9000 + 1000) * 1_000_000


@dataclass
class SimulatedCar:
    """A profile plus its memoised history. Thread-safe; create one per profile and keep it."""

    profile: VehicleProfile
    _starts: dict[date, _DayStart] = field(default_factory=dict, repr=False)
    _replays: dict[date, _DayReplay] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- replay ---------------------------------------------------------------------------

    def _initial_start(self) -> _DayStart:
        p = self.profile
        return _DayStart(
            soc_pct=float(p.charge_limit_pct),
            odometer_km=p.initial_odometer_km,
            plugged=True,
            charge=None,
            last_charge=None,
            idle_since_s=_local_s(EPOCH_DAY, 0) - 3600,
            heading_deg=0.0,
            drive_count=0,
            charge_count=0,
        )

    def _replay(self, day: date) -> _DayReplay:
        if day < EPOCH_DAY:
            raise ValueError(f"the simulation starts on {EPOCH_DAY.isoformat()}")
        cached = self._replays.get(day)
        if cached is not None:
            return cached
        with self._lock:
            latest = max(self._starts) if self._starts else None
            if latest is None:
                self._starts[EPOCH_DAY] = self._initial_start()
                latest = EPOCH_DAY
            d = min(latest, day)
            while d not in self._starts:
                d -= timedelta(days=1)
            while True:
                replay = self._replays.get(d) or self._replay_day(d, self._starts[d])
                self._replays[d] = replay
                self._starts.setdefault(d + timedelta(days=1), replay.end)
                if d >= day:
                    return replay
                d += timedelta(days=1)

    def _next_departure_after(self, t_s: int) -> int:
        day = local_day(t_s)
        for offset in range(3):
            trip = plan_day(self.profile, day + timedelta(days=offset)).trip
            if trip is not None and trip.depart_s > t_s:
                return trip.depart_s
        return t_s + 10 * 86_400

    def _drain_kw(self, at_home: bool) -> float:
        return DRAIN_SENTRY_KW if self._sentry(at_home) else DRAIN_ASLEEP_KW

    def _sentry(self, at_home: bool) -> bool:
        return self.profile.sentry_at_home if at_home else self.profile.sentry_away

    def _replay_day(self, day: date, start: _DayStart) -> _DayReplay:
        p = self.profile
        plan = plan_day(p, day)
        segs: list[_Segment] = []
        drives: list[DriveEpisode] = []
        charges: list[ChargeEpisode] = []
        soc, odo = start.soc_pct, start.odometer_km
        plugged, charge, last_charge = start.plugged, start.charge, start.last_charge
        idle_since, heading = start.idle_since_s, start.heading_deg
        drive_count, charge_count = start.drive_count, start.charge_count

        def parked(t0: int, t1: int, place: Place, at_home: bool) -> None:
            nonlocal soc, charge, last_charge, idle_since
            t = t0
            if charge is not None and charge.ended_at_s > t:
                t_end = min(charge.ended_at_s, t1)
                soc_end = charge.soc_at(t_end)
                segs.append(
                    _Segment(
                        Activity.PARKED,
                        t,
                        t_end,
                        soc,
                        soc_end,
                        odo,
                        odo,
                        place,
                        place,
                        heading,
                        at_home,
                        True,
                        charge,
                        charge,
                        None,
                        None,
                    )
                )
                soc, t = soc_end, t_end
                if t_end >= charge.ended_at_s:
                    last_charge, idle_since, charge = charge, charge.ended_at_s, None
            if t < t1:
                # A plugged-in car at its limit is kept there by the wall; otherwise it drains.
                drain = 0.0 if plugged else self._drain_kw(at_home)
                soc_end = soc - drain * (t1 - t) / 3600 / p.battery_kwh * 100
                segs.append(
                    _Segment(
                        Activity.PARKED,
                        t,
                        t1,
                        soc,
                        soc_end,
                        odo,
                        odo,
                        place,
                        place,
                        heading,
                        at_home,
                        plugged,
                        None,
                        last_charge,
                        idle_since,
                        None,
                    )
                )
                soc = soc_end

        def drive(t0: int, t1: int, a: Place, b: Place, distance: float, bearing: float) -> None:
            nonlocal soc, odo, heading, idle_since, drive_count
            temp = outside_temp_c(plan, t0)
            factor = _consumption_factor(temp)
            max_distance = (
                max(0.0, soc - MIN_ARRIVAL_SOC_PCT)
                / 100
                * p.battery_kwh
                * 1000
                / (p.consumption_wh_per_km * factor)
            )
            if distance > max_distance:  # low battery: the driver takes the shorter way
                t1 = t0 + max(60, round((t1 - t0) * max_distance / distance))
                distance = max_distance
            energy = distance * p.consumption_wh_per_km * factor / 1000
            soc_end = soc - energy / p.battery_kwh * 100
            avg_speed = distance / max(1, t1 - t0) * 3600
            drive_count += 1
            episode = DriveEpisode(
                id=_id_base(p.vin) + drive_count,
                started_at_s=t0,
                ended_at_s=t1,
                start=a,
                end=b,
                heading_deg=bearing,
                distance_km=distance,
                energy_kwh=energy,
                starting_soc_pct=soc,
                ending_soc_pct=soc_end,
                starting_odometer_km=odo,
                ending_odometer_km=odo + distance,
                average_speed_kmh=avg_speed,
                max_speed_kmh=avg_speed * 1.3,
                outside_temp_c=temp,
            )
            drives.append(episode)
            segs.append(
                _Segment(
                    Activity.DRIVING,
                    t0,
                    t1,
                    soc,
                    soc_end,
                    odo,
                    odo + distance,
                    a,
                    b,
                    bearing,
                    False,
                    False,
                    None,
                    last_charge,
                    None,
                    episode,
                )
            )
            soc, odo, heading, idle_since = soc_end, odo + distance, bearing, t1

        trip = plan.trip
        if trip is None:
            parked(plan.midnight_s, plan.next_midnight_s, p.home, True)
        else:
            parked(plan.midnight_s, trip.depart_s, p.home, True)
            plugged = False
            drive(
                trip.depart_s,
                trip.arrive_dest_s,
                p.home,
                trip.destination,
                trip.distance_km,
                trip.bearing_deg,
            )
            out = drives[-1]
            parked(out.ended_at_s, trip.leave_dest_s, trip.destination, False)
            # A trip cut short by a low battery is also shorter on the way back.
            back_s = round(
                (trip.arrive_home_s - trip.leave_dest_s) * out.distance_km / trip.distance_km
            )
            drive(
                trip.leave_dest_s,
                trip.leave_dest_s + max(60, back_s),
                trip.destination,
                p.home,
                out.distance_km,
                (trip.bearing_deg + 180) % 360,
            )
            home_at = segs[-1].t1
            plug_at = home_at + PLUG_DELAY_S
            parked(home_at, plug_at, p.home, True)
            if soc < p.plug_in_below_pct or soc < 50:
                plugged = True
                idle_since = plug_at
                if soc < p.charge_limit_pct - 0.5:
                    pack_kw = p.charger_kw * CHARGE_EFFICIENCY
                    full_s = plug_at + math.ceil(
                        (p.charge_limit_pct - soc) / 100 * p.battery_kwh / pack_kw * 3600
                    )
                    charge_count += 1
                    charge = ChargeEpisode(
                        id=_id_base(p.vin) + charge_count,
                        started_at_s=plug_at,
                        ended_at_s=min(full_s, self._next_departure_after(plug_at)),
                        place=p.home,
                        odometer_km=odo,
                        starting_soc_pct=soc,
                        charger_kw=p.charger_kw,
                        battery_kwh=p.battery_kwh,
                        limit_pct=p.charge_limit_pct,
                    )
                    charges.append(charge)
            parked(plug_at, plan.next_midnight_s, p.home, True)
        end = _DayStart(
            soc_pct=soc,
            odometer_km=odo,
            plugged=plugged,
            charge=charge,
            last_charge=last_charge,
            idle_since_s=idle_since,
            heading_deg=heading,
            drive_count=drive_count,
            charge_count=charge_count,
        )
        return _DayReplay(plan, tuple(segs), tuple(drives), tuple(charges), end)

    # --- queries ---------------------------------------------------------------------------

    def _segment_at(self, t_s: int) -> tuple[_DayReplay, _Segment]:
        replay = self._replay(local_day(t_s))
        starts = [s.t0 for s in replay.segments]
        i = max(0, bisect.bisect_right(starts, t_s) - 1)
        return replay, replay.segments[i]

    def state_at(self, at: datetime | int, last_poke_s: int | None = None) -> CarState:
        """The car's physical state at ``at``; ``last_poke_s`` is the latest wake or live read
        at or before ``at`` that reached an awake car (it postpones falling asleep)."""
        t = _to_s(at)
        p = self.profile
        replay, seg = self._segment_at(t)
        span = max(1, seg.t1 - seg.t0)
        frac = _clamp((t - seg.t0) / span, 0.0, 1.0)
        soc = seg.soc0 + (seg.soc1 - seg.soc0) * frac
        odo = seg.odo0 + (seg.odo1 - seg.odo0) * frac
        lat = seg.place0.latitude_deg + (seg.place1.latitude_deg - seg.place0.latitude_deg) * frac
        lon = (
            seg.place0.longitude_deg + (seg.place1.longitude_deg - seg.place0.longitude_deg) * frac
        )
        temp_out = outside_temp_c(replay.plan, t)
        driving = seg.activity is Activity.DRIVING
        speed: float | None = None
        power = 0.0
        if driving and seg.drive is not None:
            ramp = min(1.0, (t - seg.t0) / 60, (seg.t1 - t) / 60)
            wobble = 1.0 + 0.25 * math.sin(2 * math.pi * (t - seg.t0) / 240)
            speed = max(0.0, seg.drive.average_speed_kmh * wobble * ramp)
            power = (
                p.consumption_wh_per_km
                * _consumption_factor(seg.drive.outside_temp_c)
                * speed
                / 1000
            )
        charging = seg.charge is not None
        if charging:
            charging_state = "Charging"
        elif seg.plugged:
            charging_state = "Complete" if soc >= p.charge_limit_pct - 0.5 else "Stopped"
        else:
            charging_state = "Disconnected"
        energy_added = 0.0
        minutes_to_full = 0.0
        if seg.charge is not None:
            energy_added = seg.charge.energy_added_at(t)
            minutes_to_full = (
                (p.charge_limit_pct - soc) / 100 * p.battery_kwh / seg.charge.pack_kw * 60
            )
            power = -p.charger_kw
        elif seg.last_charge is not None:
            energy_added = seg.last_charge.energy_added_kwh
        sentry = (not driving) and self._sentry(seg.at_home)
        sleep, fell_asleep = _sleep(seg, t, sentry, last_poke_s)
        return CarState(
            at_s=t,
            activity=seg.activity,
            latitude_deg=round(lat, 6),
            longitude_deg=round(lon, 6),
            heading_deg=seg.heading_deg,
            speed_kmh=speed,
            shift_state="D" if driving else None,
            power_kw=power,
            battery_level_pct=soc,
            odometer_km=odo,
            charging_state=charging_state,
            plugged_in=seg.plugged,
            charger_power_kw=p.charger_kw if charging else 0.0,
            charger_phases=3 if p.charger_kw > 7.4 else 1,
            charge_energy_added_kwh=energy_added,
            minutes_to_full_charge=minutes_to_full,
            charge_limit_pct=p.charge_limit_pct,
            sentry_mode=sentry,
            is_climate_on=driving,
            inside_temp_c=21.0 if driving else round(temp_out + 3.0, 1),
            outside_temp_c=temp_out,
            locked=True,
            is_user_present=driving,
            at_home=seg.at_home,
            sleep=sleep,
            fell_asleep_at_s=fell_asleep,
        )

    def snapshot_at(self, at: datetime | int, last_poke_s: int | None = None) -> Snapshot:
        """Tessie's cached view: refreshed every 10 s while awake, frozen while asleep."""
        t = _to_s(at)
        now_state = self.state_at(t, last_poke_s)
        if now_state.sleep is SleepStatus.ASLEEP and now_state.fell_asleep_at_s is not None:
            frozen_at = now_state.fell_asleep_at_s - now_state.fell_asleep_at_s % CACHE_REFRESH_S
            frozen = self.state_at(frozen_at, last_poke_s)
            return Snapshot(frozen, frozen_at, SleepStatus.ASLEEP)
        refreshed_at = t - t % CACHE_REFRESH_S
        return Snapshot(self.state_at(refreshed_at, last_poke_s), refreshed_at, now_state.sleep)

    def drives(self, t_from: datetime | int, t_to: datetime | int) -> list[DriveEpisode]:
        """Drives that started in ``[t_from, t_to]`` and ended by ``t_to``, oldest first."""
        lo, hi = _to_s(t_from), _to_s(t_to)
        return [
            d
            for r in self._replays_between(lo, hi)
            for d in r.drives
            if lo <= d.started_at_s <= hi and d.ended_at_s <= hi
        ]

    def charges(self, t_from: datetime | int, t_to: datetime | int) -> list[ChargeEpisode]:
        """Charges that started in ``[t_from, t_to]`` and ended by ``t_to``, oldest first."""
        lo, hi = _to_s(t_from), _to_s(t_to)
        return [
            c
            for r in self._replays_between(lo, hi)
            for c in r.charges
            if lo <= c.started_at_s <= hi and c.ended_at_s <= hi
        ]

    def _replays_between(self, lo: int, hi: int) -> list[_DayReplay]:
        first = max(local_day(lo), EPOCH_DAY)
        last = local_day(hi)
        out: list[_DayReplay] = []
        d = first
        while d <= last:
            out.append(self._replay(d))
            d += timedelta(days=1)
        return out


def _sleep(
    seg: _Segment, t: int, sentry: bool, last_poke_s: int | None
) -> tuple[SleepStatus, int | None]:
    if seg.idle_since_s is None or sentry:
        return SleepStatus.AWAKE, None
    idle_since = seg.idle_since_s
    if last_poke_s is not None and idle_since < last_poke_s <= t:
        idle_since = last_poke_s
    fell_asleep = idle_since + FALL_ASLEEP_AFTER_S
    idle_s = t - idle_since
    if idle_s < AWAKE_AFTER_ACTIVITY_S:
        return SleepStatus.AWAKE, fell_asleep
    if idle_s < FALL_ASLEEP_AFTER_S:
        return SleepStatus.WAITING_FOR_SLEEP, fell_asleep
    return SleepStatus.ASLEEP, fell_asleep


def _to_s(at: datetime | int) -> int:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("aware datetimes only")
        return int(at.timestamp())
    return int(at)


_CARS: dict[VehicleProfile, SimulatedCar] = {}
_CARS_LOCK = threading.Lock()


def car(profile: VehicleProfile) -> SimulatedCar:
    """The shared memoised simulation of ``profile``."""
    with _CARS_LOCK:
        sim = _CARS.get(profile)
        if sim is None:
            sim = _CARS[profile] = SimulatedCar(profile)
        return sim


def state_at(profile: VehicleProfile, at: datetime | int) -> CarState:
    return car(profile).state_at(at)


def drives(
    profile: VehicleProfile, t_from: datetime | int, t_to: datetime | int
) -> list[DriveEpisode]:
    return car(profile).drives(t_from, t_to)


def charges(
    profile: VehicleProfile, t_from: datetime | int, t_to: datetime | int
) -> list[ChargeEpisode]:
    return car(profile).charges(t_from, t_to)
