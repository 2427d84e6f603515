"""The api's one port: read-only access to stored telemetry."""

from typing import Protocol

from tc_api.domain import TelemetryQuery, Vehicle
from tc_common.events import TelemetrySampled


class TelemetryUnavailableError(Exception):
    """The telemetry store cannot answer right now (down, overloaded, timed out); retry later."""


class TelemetryReader(Protocol):
    """Reads vehicles and their telemetry samples; never writes.

    Every method raises ``TelemetryUnavailableError`` when the store cannot be reached, and nothing
    else for a transient outage. Returned datetimes are aware UTC.
    """

    async def ping(self) -> None:
        """Return when the store answers a trivial query."""
        ...

    async def list_vehicles(self) -> list[Vehicle]:
        """All known vehicles, ordered by vehicle id."""
        ...

    async def get_vehicle(self, vehicle_id: str) -> Vehicle | None:
        """One vehicle, or ``None`` when it has never been seen."""
        ...

    async def latest_sample(self, vehicle_id: str) -> TelemetrySampled | None:
        """The sample with the greatest ``sampled_at``, or ``None`` when there is none."""
        ...

    async def samples(self, vehicle_id: str, query: TelemetryQuery) -> list[TelemetrySampled]:
        """Samples with ``query.from_at <= sampled_at < query.to_at``, sorted by ``sampled_at``
        in ``query.order``, at most ``query.limit`` of them (the first ones in that order)."""
        ...
