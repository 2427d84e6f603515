"""What the forecast service needs from the outside world, as Protocols."""

from typing import Protocol

from tc_forecast.domain import SocState


class SocStateRepo(Protocol):
    """Each vehicle's latest state of charge, by VIN.

    Implementations MUST return what was last ``put`` for a vehicle, or ``None`` if nothing was.
    """

    async def get(self, vehicle_id: str) -> SocState | None: ...

    async def put(self, state: SocState) -> None: ...


class PublishFailedError(Exception):
    """An output (a plan, a price forecast) could not be handed to the broker. What it was to
    say stays due: the runner that made it tries again on its next round."""
