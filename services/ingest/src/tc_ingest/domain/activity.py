"""What a car is doing, from Tessie's sleep status and its newest snapshot; and since when.

An asleep car sends no telemetry, so a dashboard that only sees samples cannot tell a sleeping
car from a broken feed. Ingest sees both halves, ``/status`` and the cached ``/state``, in
order, and says which it is.
"""

from datetime import datetime, timedelta

from tc_common.events import TelemetrySampled, VehicleActivity, VehicleActivityObserved

_MOVING_GEARS = frozenset({"D", "R", "N"})
_CHARGING = frozenset({"Charging", "Starting"})


def activity_of(status: str | None, latest: TelemetrySampled | None) -> VehicleActivity:
    """The activity ``/status`` and the newest snapshot show.

    Sleep comes from ``/status`` (the cached snapshot of a sleeping car is the one from before
    it fell asleep, so it says "online"); driving and charging from the snapshot, which ingest
    reads at every poll while the car is awake.
    """
    said = (status or "").strip().lower()
    if said == "asleep":
        return "asleep"
    if said == "offline" or (latest is not None and latest.online_state == "offline"):
        return "offline"
    if latest is None:
        return "awake"
    if latest.shift_state in _MOVING_GEARS or (latest.speed_kmh or 0.0) > 0.0:
        return "driving"
    if latest.charging_state in _CHARGING:
        return "charging"
    return "awake"


def observe(
    previous: VehicleActivityObserved | None,
    vehicle_id: str,
    activity: VehicleActivity,
    *,
    now: datetime,
    latest_sampled_at: datetime | None,
) -> VehicleActivityObserved:
    """The vehicle's activity after this poll.

    Unchanged: the same ``since``, a fresh ``observed_at``. Changed: ``since`` is the newest
    snapshot when that snapshot is newer than the previous activity's start (the sample that
    shows the new activity; for a car gone to sleep, its last snapshot, taken as it fell
    asleep), otherwise this poll. The first observation after a start takes the snapshot's
    time too: that is when a car found asleep fell asleep.
    """
    if previous is not None and previous.activity == activity:
        return previous.model_copy(update={"observed_at": max(now, previous.observed_at)})
    newer = latest_sampled_at is not None and (
        previous is None or latest_sampled_at > previous.since
    )
    since = latest_sampled_at if newer and latest_sampled_at is not None else now
    return VehicleActivityObserved(
        vehicle_id=vehicle_id, activity=activity, since=min(since, now), observed_at=now
    )


def is_due(
    last_published: VehicleActivityObserved | None,
    current: VehicleActivityObserved,
    *,
    heartbeat: timedelta,
) -> bool:
    """Publish on every change, and while nothing changes once per ``heartbeat``."""
    if last_published is None:
        return True
    if (last_published.activity, last_published.since) != (current.activity, current.since):
        return True
    return current.observed_at - last_published.observed_at >= heartbeat
