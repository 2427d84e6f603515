"""What the poller needs from the outside world."""

from typing import Protocol

from tc_common.events import TelemetrySampled
from tc_ingest.domain import VehicleState


class TelemetrySource(Protocol):
    """Reads vehicles and their cached state. MUST never wake a car or force a live read.

    Raises ``TessieAuthError`` when the token is rejected, ``TessieVehicleNotFoundError`` when a
    VIN is not on the account, and ``TessieUnavailableError`` when transient errors outlasted the
    bounded retries of one call.
    """

    async def list_vehicles(self, only_active: bool = True) -> list[str]:
        """VINs of the account's vehicles that have a known state."""
        ...

    async def get_status(self, vin: str) -> str:
        """``asleep``, ``waiting_for_sleep`` or ``awake`` (other values passed through)."""
        ...

    async def get_state(self, vin: str) -> VehicleState:
        """The cached snapshot (never a live read)."""
        ...


class SamplePublisher(Protocol):
    """Hands a sample to the broker. Returns only once the broker acknowledged it; raises else."""

    async def publish(self, sample: TelemetrySampled) -> None: ...
