"""What the poller needs from the outside world."""

from datetime import date, datetime
from typing import Protocol

from tc_common.events import TelemetrySampled
from tc_common.events.base import Event
from tc_common.events.market import BiddingZone
from tc_ingest.domain import VehicleState
from tc_ingest.domain.history import ChargeRecord, DriveRecord
from tc_ingest.domain.market import DayPrices
from tc_ingest.domain.weather import WeatherFetch


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


class HistorySource(Protocol):
    """Reads a vehicle's finished drives and charging sessions. Never wakes a car (Tessie
    answers history from its own records).

    ``from_at``/``to_at`` bound the records' times (Tessie's ``from``/``to``); every record in
    the window is returned, however many pages that takes. Raises like ``TelemetrySource``.
    """

    async def get_drives(
        self, vin: str, from_at: datetime, to_at: datetime
    ) -> list[DriveRecord]: ...

    async def get_charges(
        self, vin: str, from_at: datetime, to_at: datetime
    ) -> list[ChargeRecord]: ...


class SamplePublisher(Protocol):
    """Hands a sample to the broker. Returns only once the broker acknowledged it; raises else."""

    async def publish(self, sample: TelemetrySampled) -> None: ...


class PriceSource(Protocol):
    """Day-ahead prices of a bidding zone for CET delivery days.

    ``fetch_days`` returns the published days within ``[first, last]`` (possibly fewer, an
    empty list when nothing is published yet). Raises ``MarketAuthError``,
    ``MarketRequestError`` or ``MarketUnavailableError`` (after bounded retries).
    """

    @property
    def name(self) -> str:
        """The source label used in events and metrics (``entsoe``, ``hvakosterstrommen``)."""
        ...

    def supports(self, zone: BiddingZone) -> bool: ...

    async def fetch_days(self, zone: BiddingZone, first: date, last: date) -> list[DayPrices]: ...


class WeatherSource(Protocol):
    """Forecasts for a point; answers from its cache (``fresh=False``) until ``Expires``."""

    async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch: ...


class EventPublisher(Protocol):
    """Hands an event to the broker on its topic, keyed by ``event.kafka_key()``.

    Returns only once the broker acknowledged it; raises otherwise.
    """

    async def publish(self, event: Event) -> None: ...
