"""What the forecast service needs from the outside world, as Protocols."""

from collections.abc import Iterable
from typing import Protocol

from tc_forecast.domain import SocState


class SocStateRepo(Protocol):
    """Each vehicle's latest state of charge, by VIN.

    Implementations MUST return what was last ``put`` for a vehicle, or ``None`` if nothing was.
    """

    async def get(self, vehicle_id: str) -> SocState | None: ...

    async def put(self, state: SocState) -> None: ...

    async def forget(self, vehicle_id: str) -> bool:
        """Drop the vehicle's state (its erasure); True if there was one."""
        ...


class TombstoneSender(Protocol):
    """Sends a tombstone (a null value, which tells a compacted topic to drop the key) for
    each ``(topic, key)``, acknowledged by the broker before it returns; how many were sent.
    MUST raise when the broker does not acknowledge them (the erasure is then retried)."""

    async def __call__(self, tombstones: Iterable[tuple[str, bytes]], /) -> int: ...


class PublishFailedError(Exception):
    """An output (a plan, a price forecast) could not be handed to the broker. What it was to
    say stays due: the runner that made it tries again on its next round."""
