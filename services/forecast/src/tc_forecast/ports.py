"""What the forecast service needs from the outside world, as Protocols."""

from typing import Protocol

from tc_forecast.domain import SocState


class SocStateRepo(Protocol):
    """Each vehicle's latest state of charge, by VIN.

    Implementations MUST return what was last ``put`` for a vehicle, or ``None`` if nothing was.
    """

    async def get(self, vehicle_id: str) -> SocState | None: ...

    async def put(self, state: SocState) -> None: ...
