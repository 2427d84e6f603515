"""What the api's tests share: the moment they run at, the dashboard key, a client, a telemetry
reader fake, and the vehicle history the behaviour routes serve.

Every route test needs an app served with a key and a telemetry reader (the behaviour and
market routes too, with an empty one); they used to import them from test_routes.py. The
behaviour routes are tested against a fake reader and against PostgreSQL with the same history.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from tc_api.domain import Principal, TelemetryQuery, Vehicle
from tc_api.ports import TelemetryUnavailableError
from tc_common.events import TelemetrySampled
from tc_testkit import history

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = "dashboard-key-0123456789"

# Drives at 08:00 UTC 0, 1, 3 and 10 days ago and charges at 18:00 UTC 1 and 3 days ago (ids tell
# the day: 100 + days ago, 200 + days ago), a profile of an hour ago and three plans.
DRIVES = tuple(
    history.drive(NOW - timedelta(days=d, hours=4), drive_id=100 + d) for d in (0, 1, 3, 10)
)
CHARGES = tuple(
    history.charge(NOW - timedelta(days=d, hours=-6), charge_id=200 + d) for d in (1, 3)
)
PROFILE = history.profile(NOW - timedelta(hours=1))
PLANS = tuple(
    history.plan(NOW - timedelta(hours=hours_ago), trigger=trigger)
    for hours_ago, trigger in ((30, "scheduled"), (5, "plugged_in"), (1, "prices_published"))
)


@asynccontextmanager
async def client_of(app: FastAPI, key: str = KEY) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``app``, started and stopped around it, that sends ``key``."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(manager.app),
            base_url="http://api.test",
            headers={"X-API-Key": key},
        ) as http,
    ):
        yield http


@dataclass
class FakeTelemetryReader:
    """The telemetry port over dicts; ``available = False`` makes it fail like a down database,
    and ``queries`` records what the routes asked for."""

    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    telemetry: dict[str, list[TelemetrySampled]] = field(default_factory=dict)
    available: bool = True
    queries: list[TelemetryQuery] = field(default_factory=list)

    def _check(self) -> None:
        if not self.available:
            raise TelemetryUnavailableError("down")

    async def ping(self) -> None:
        self._check()

    async def list_vehicles(self, visible_to: Principal) -> list[Vehicle]:
        # The route tests use operator keys only; scoping is tested against PostgreSQL.
        assert visible_to.is_operator
        self._check()
        return sorted(self.vehicles.values(), key=lambda v: v.vehicle_id)

    async def get_vehicle(self, vehicle_id: str) -> Vehicle | None:
        self._check()
        return self.vehicles.get(vehicle_id)

    async def latest_sample(self, vehicle_id: str) -> TelemetrySampled | None:
        self._check()
        samples = self.telemetry.get(vehicle_id, [])
        return max(samples, key=lambda s: s.sampled_at, default=None)

    async def samples(self, vehicle_id: str, query: TelemetryQuery) -> list[TelemetrySampled]:
        self._check()
        self.queries.append(query)
        inside = [
            s
            for s in self.telemetry.get(vehicle_id, [])
            if query.from_at <= s.sampled_at < query.to_at
        ]
        inside.sort(key=lambda s: s.sampled_at, reverse=query.order == "desc")
        return inside[: query.limit]
