"""Keeps each vehicle's behaviour profile current: drives and charges in, profiles out.

Drives and charges arrive in bursts (a replay of the whole topic on start, ingest's history
backfill), so a vehicle is only marked *dirty* on arrival and its profile is rebuilt by a
background loop once no new episode arrived for ``debounce_s``: one build per burst. Profiles
are also rebuilt every ``refresh_s`` and at local midnight, because the day count, the
learning state and the recency weights move with time alone. A profile is published only when
``profile_changed`` says it moved materially. Building runs in a worker thread.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tc_common.clock import Clock
from tc_common.events import BehaviourProfileUpdated, ChargeRecorded, DriveRecorded
from tc_forecast.domain.behaviour.profile import (
    BehaviourProfile,
    ProfileConfig,
    build_profile,
    profile_changed,
)
from tc_forecast.domain.changelog import EpisodeKey
from tc_forecast.periodic import PeriodicTask

log = logging.getLogger(__name__)

ProfileListener = Callable[[BehaviourProfile], Awaitable[None]]


async def _unbound(_event: object) -> None:
    raise RuntimeError("BehaviourRunner output is not bound to a publisher")


class BehaviourRunner:
    def __init__(
        self,
        *,
        clock: Clock,
        config: ProfileConfig | None = None,
        publish: Callable[[BehaviourProfileUpdated], Awaitable[None]] | None = None,
        debounce_s: float = 2.0,
        refresh_s: float = 3600.0,
        tick_s: float = 1.0,
    ) -> None:
        self._clock = clock
        self.config = config or ProfileConfig()
        self._tz = ZoneInfo(self.config.timezone)
        self._publish = publish or _unbound
        self._debounce = timedelta(seconds=debounce_s)
        self._refresh = timedelta(seconds=refresh_s)
        self._drives: dict[str, dict[int, DriveRecorded]] = {}
        self._charges: dict[str, dict[int, ChargeRecorded]] = {}
        self._dirty_since: dict[str, datetime] = {}  # vin -> last episode's arrival
        self._profiles: dict[str, BehaviourProfile] = {}
        self._built_at: dict[str, datetime] = {}
        self._published: dict[str, BehaviourProfile] = {}
        self._listeners: list[ProfileListener] = []
        # Held while a profile is published: forgetting a vehicle waits for a publish under
        # way, so no profile of it reaches the topic after its tombstone.
        self._publishing = asyncio.Lock()
        self._loop = PeriodicTask("behaviour-runner", tick_s, self.tick, log)

    def bind(self, *, publish: Callable[[BehaviourProfileUpdated], Awaitable[None]]) -> None:
        self._publish = publish

    def add_listener(self, listener: ProfileListener) -> None:
        """Called after a changed profile was published (e.g. to re-plan)."""
        self._listeners.append(listener)

    # --- inputs (cheap: called on the consumer) ------------------------------------------

    def on_drive(self, event: DriveRecorded) -> None:
        known = self._drives.setdefault(event.vehicle_id, {})
        if known.get(event.drive_id) == event:
            return
        known[event.drive_id] = event
        self._dirty_since[event.vehicle_id] = self._clock.now()

    def on_charge(self, event: ChargeRecorded) -> None:
        known = self._charges.setdefault(event.vehicle_id, {})
        if known.get(event.charge_id) == event:
            return
        known[event.charge_id] = event
        self._dirty_since[event.vehicle_id] = self._clock.now()

    async def forget(self, vehicle_id: str) -> dict[str, int]:
        """Forget everything of the vehicle (its erasure); how many entries were forgotten."""
        async with self._publishing:
            forgotten = {
                "memory.drives": len(self._drives.pop(vehicle_id, {})),
                "memory.charges": len(self._charges.pop(vehicle_id, {})),
                "memory.profiles": int(self._profiles.pop(vehicle_id, None) is not None),
            }
            for known in (self._dirty_since, self._built_at, self._published):
                known.pop(vehicle_id, None)
        return forgotten

    async def forget_episode(self, key: EpisodeKey) -> None:
        """Drop one drive or charge (its changelog key was tombstoned); a vehicle left with
        none is forgotten whole, and one with others left is rebuilt without it."""
        known = (self._drives if key.kind == "drive" else self._charges).get(key.vehicle_id, {})
        if known.pop(key.episode_id, None) is None:
            return
        vin = key.vehicle_id
        if self._drives.get(vin) or self._charges.get(vin):
            self._dirty_since[vin] = self._clock.now()
        else:
            await self.forget(vin)

    # --- reading --------------------------------------------------------------------------

    def profile(self, vehicle_id: str) -> BehaviourProfile | None:
        return self._profiles.get(vehicle_id)

    def is_settled(self, vehicle_id: str) -> bool:
        """False while episodes of the vehicle wait to be folded into its profile."""
        return vehicle_id not in self._dirty_since

    def last_arrival(self, vehicle_id: str, before: datetime) -> datetime | None:
        """When the last drive that ended by ``before`` ended (the car has stood since)."""
        ends = [
            d.ended_at for d in self._drives.get(vehicle_id, {}).values() if d.ended_at <= before
        ]
        return max(ends, default=None)

    def vehicles(self) -> list[str]:
        return sorted(set(self._drives) | set(self._charges))

    def episodes(self, vehicle_id: str) -> list[EpisodeKey]:
        """The changelog keys of the vehicle's drives and charges known here."""
        return [EpisodeKey(vehicle_id, "drive", i) for i in self._drives.get(vehicle_id, {})] + [
            EpisodeKey(vehicle_id, "charge", i) for i in self._charges.get(vehicle_id, {})
        ]

    # --- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def tick(self) -> list[BehaviourProfileUpdated]:
        """Rebuild every profile that is due; publish those that changed."""
        now = self._clock.now()
        published = []
        for vin in self.vehicles():
            if not self._due(vin, now):
                continue
            try:
                event = await self.refresh(vin, now)
            except Exception:
                # One vehicle's bad history must not stop the others.
                log.exception("behaviour profile of a vehicle failed")
                self._dirty_since.pop(vin, None)
                self._built_at[vin] = now
                continue
            if event is not None:
                published.append(event)
        return published

    def _due(self, vin: str, now: datetime) -> bool:
        dirty_since = self._dirty_since.get(vin)
        if dirty_since is not None:
            return now - dirty_since >= self._debounce
        built_at = self._built_at.get(vin)
        if built_at is None:
            return True
        return (
            now - built_at >= self._refresh
            or now.astimezone(self._tz).date() != built_at.astimezone(self._tz).date()
        )

    async def refresh(self, vin: str, now: datetime) -> BehaviourProfileUpdated | None:
        """Rebuild one profile now; publish and return it if it changed materially."""
        dirty_since = self._dirty_since.get(vin)
        drives = list(self._drives.get(vin, {}).values())
        charges = list(self._charges.get(vin, {}).values())
        profile = await asyncio.to_thread(build_profile, vin, drives, charges, now, self.config)
        async with self._publishing:
            if vin not in self._drives and vin not in self._charges:
                return None  # forgotten (erased) while it was being built
            # Episodes that arrived while building keep the vehicle dirty for the next tick.
            if self._dirty_since.get(vin) == dirty_since:
                self._dirty_since.pop(vin, None)
            self._built_at[vin] = now
            if profile is None:
                return None
            self._profiles[vin] = profile
            if not profile_changed(self._published.get(vin), profile):
                return None
            event = profile.event()
            await self._publish(event)
            self._published[vin] = profile
        log.info(
            "behaviour profile of %s: %s after %d days",
            vin[-6:],
            profile.learning_state,
            profile.days_observed,
        )
        for listener in self._listeners:
            await listener(profile)
        return event
