"""What the forecast service knows about each vehicle between samples, kept across restarts.

The state of charge it last reported, the live plug state its plans start from and the last plan
it published live in memory. After a restart the telemetry group resumes after its committed
offset, so without this an asleep car, which sends nothing, would have no plan until it woke,
and every car's first sample would be reported as a change again. So each change of that state
is written to a compacted changelog keyed by VIN (``forecast.changelog.vehicles.v1``), which
the service reads whole at its start, like the episode and price changelogs.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tc_common.events.base import Event
from tc_common.events.behaviour import PlanStatus
from tc_common.events.telemetry import ChargingState
from tc_forecast.domain import SocState
from tc_forecast.plan_runner import LiveState, PlanRunner, PublishedPlan
from tc_forecast.ports import SocStateRepo


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RememberedSoc(_Part):
    as_of: AwareDatetime
    battery_level_pct: float
    charging_state: ChargingState | None
    reported_battery_level_pct: float


class RememberedLive(_Part):
    sampled_at: AwareDatetime
    battery_level_pct: float | None
    charge_limit_pct: float | None
    charging_state: ChargingState | None
    latitude_deg: float | None
    longitude_deg: float | None
    charger_power_kw: float | None
    plugged_in_at: AwareDatetime | None
    scheduled_departure_at: AwareDatetime | None = None


class RememberedPlan(_Part):
    status: PlanStatus
    issued_at: AwareDatetime
    battery_level_pct: float


class VehicleRemembered(Event):
    """The forecast service's memory of one vehicle (its own changelog; nobody else reads it)."""

    schema_version: Literal[1] = 1
    vehicle_id: str
    soc: RememberedSoc | None = None
    live: RememberedLive | None = None
    last_plan: RememberedPlan | None = None

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()


class VehicleMemory:
    """Writes a vehicle's state to the changelog when it changed, and restores it from there."""

    def __init__(
        self,
        soc: SocStateRepo,
        plans: PlanRunner | None,
        write: Callable[[VehicleRemembered], Awaitable[None]],
        *,
        erased: Callable[[str], bool] = lambda _vehicle_id: False,
    ) -> None:
        self._soc = soc
        self._plans = plans
        self._write = write
        self._erased = erased
        self._written: dict[str, VehicleRemembered] = {}
        # Held while a record is written: forgetting a vehicle waits for a write under way, so
        # no record of it reaches the changelog after its tombstone.
        self._writing = asyncio.Lock()

    async def remember(self, vehicle_id: str) -> None:
        """Write the vehicle's state if it differs from what was last written or restored;
        raises if the broker refuses it (the caller's message is then retried). An erased
        vehicle is not written."""
        async with self._writing:
            if self._erased(vehicle_id):
                return
            record = await self._snapshot(vehicle_id)
            written = self._written.get(vehicle_id)
            if written is not None and _gist(written) == _gist(record):
                return
            await self._write(record)
            self._written[vehicle_id] = record

    async def forget(self, vehicle_id: str) -> dict[str, int]:
        """Forget the vehicle's state of charge, plug state and last plan (its erasure, or a
        tombstone of its record); how many entries were forgotten."""
        async with self._writing:
            self._written.pop(vehicle_id, None)
            forgotten = {"memory.soc_states": int(await self._soc.forget(vehicle_id))}
        if self._plans is not None:
            forgotten |= await self._plans.forget(vehicle_id)
        return forgotten

    async def restore(self, record: VehicleRemembered) -> None:
        """Take a record read back from the changelog; what is already newer here is kept
        (the changelog is read while live telemetry already flows). An erased vehicle's is
        ignored."""
        if self._erased(record.vehicle_id):
            return
        self._written[record.vehicle_id] = record
        if record.soc is not None:
            known = await self._soc.get(record.vehicle_id)
            if known is None or known.as_of < record.soc.as_of:
                await self._soc.put(SocState(vehicle_id=record.vehicle_id, **dict(record.soc)))
        if self._plans is not None:
            live = LiveState(**dict(record.live)) if record.live is not None else None
            plan = PublishedPlan(**dict(record.last_plan)) if record.last_plan else None
            self._plans.restore(record.vehicle_id, live, plan)

    async def _snapshot(self, vehicle_id: str) -> VehicleRemembered:
        soc = await self._soc.get(vehicle_id)
        live, plan = self._plans.snapshot(vehicle_id) if self._plans else (None, None)
        return VehicleRemembered(
            vehicle_id=vehicle_id,
            soc=None if soc is None else RememberedSoc.model_validate(_fields(soc)),
            live=None if live is None else RememberedLive.model_validate(_fields(live)),
            last_plan=None if plan is None else RememberedPlan.model_validate(_fields(plan)),
        )


def _gist(record: VehicleRemembered) -> tuple[object, ...]:
    """What is worth a write: not every sample's new time and level, but what a restart would
    act on differently (the reported level, the plug, the schedule, the last plan)."""
    soc, live = record.soc, record.live
    return (
        soc and (soc.reported_battery_level_pct, soc.charging_state),
        live
        and (
            live.charging_state,
            live.plugged_in_at,
            live.charge_limit_pct,
            live.scheduled_departure_at,
        ),
        record.last_plan,
    )


def _fields(state: object) -> dict[str, object]:
    return {k: v for k, v in vars(state).items() if k != "vehicle_id"}
