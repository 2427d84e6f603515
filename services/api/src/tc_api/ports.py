"""The api's ports: read-only access to stored telemetry, market and weather data, drive and
charge history, behaviour profiles and charge plans."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from tc_api.devices import DeviceCertificate
from tc_api.domain import (
    AccountKey,
    AccountView,
    DateWindow,
    ExchangeRate,
    HistoryCounts,
    PlansQuery,
    PriceAnomaly,
    PriceForecast,
    Principal,
    SpotPrice,
    TelemetryQuery,
    TimeWindow,
    Vehicle,
    WeatherForecast,
)
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    TelemetrySampled,
)
from tc_common.events.accounts import AccountChanged, TessieTokenChanged
from tc_common.events.base import Event
from tc_db.erasure import ErasureRequested
from tc_db.tokens import Registered
from tc_vault import SealedToken


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

    async def list_vehicles(self, visible_to: Principal) -> list[Vehicle]:
        """The known vehicles ``visible_to`` may see (the operator: all; an account: those
        linked to it), ordered by vehicle id."""
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


class MarketReader(Protocol):
    """Reads spot prices, price forecasts, anomalies, exchange rates and weather; never writes.

    Raises ``TelemetryUnavailableError`` (the same database) when the store cannot be reached.
    Returned datetimes are aware UTC; ``zone`` is a valid bidding zone.
    """

    async def spot_prices(self, zone: str, window: TimeWindow) -> list[SpotPrice]:
        """Every stored slot (all resolutions) with ``window.from_at <= start_at <
        window.to_at``, each in its highest stored revision, sorted by ``start_at``."""
        ...

    async def last_spot_price_end(self, zone: str) -> datetime | None:
        """End of the latest stored spot slot of ``zone``, or None when none is stored."""
        ...

    async def latest_price_forecast(self, zone: str) -> PriceForecast | None:
        """The forecast with the greatest ``issued_at``, all its slots sorted; None if none."""
        ...

    async def price_anomalies(self, zone: str, window: TimeWindow) -> list[PriceAnomaly]:
        """Anomalies overlapping ``window``, sorted by ``start_at`` then ``kind``."""
        ...

    async def exchange_rates(self, window: DateWindow) -> list[ExchangeRate]:
        """Rates with ``window.from_date <= rate_date < window.to_date``, sorted by date and
        currency."""
        ...

    async def latest_weather(self, location_id: str) -> WeatherForecast | None:
        """The newest model run for ``location_id``, slots sorted; None when none is stored."""
        ...


class HistoryReader(Protocol):
    """Reads drives, charges, behaviour profiles and charge plans; never writes.

    Raises ``TelemetryUnavailableError`` (the same database) when the store cannot be reached.
    Returned datetimes are aware UTC.
    """

    async def is_known(self, vehicle_id: str) -> bool:
        """Whether the store holds anything about the vehicle (telemetry, history, a profile
        or a plan)."""
        ...

    async def history_counts(self, vehicle_id: str) -> HistoryCounts:
        """How many drives and charges are stored, and when the oldest of them started."""
        ...

    async def drives(self, vehicle_id: str, window: TimeWindow) -> list[DriveRecorded]:
        """Drives with ``window.from_at <= started_at < window.to_at``, oldest first."""
        ...

    async def charges(self, vehicle_id: str, window: TimeWindow) -> list[ChargeRecorded]:
        """Charges with ``window.from_at <= started_at < window.to_at``, oldest first."""
        ...

    async def latest_profile(self, vehicle_id: str) -> BehaviourProfileUpdated | None:
        """The profile with the greatest ``computed_at``; None when none is stored."""
        ...

    async def latest_plan(self, vehicle_id: str) -> ChargePlanPublished | None:
        """The plan with the greatest ``issued_at``; None when none is stored."""
        ...

    async def plans(self, vehicle_id: str, query: PlansQuery) -> list[ChargePlanPublished]:
        """Plans issued in ``query.window``, newest first, at most ``query.limit``."""
        ...


class AccountDirectory(Protocol):
    """Reads accounts, their API keys and their vehicles; writes only a key's ``last_used_at``.

    Raises ``TelemetryUnavailableError`` (the same database) when the store cannot be reached.
    """

    async def find_key(self, key_sha256: str) -> AccountKey | None:
        """The unrevoked key with this SHA-256 hex digest and its account's state; None when
        no such key exists or it is revoked."""
        ...

    async def record_key_use(self, key_id: UUID, now: datetime) -> None:
        """Set the key's ``last_used_at`` to ``now`` unless it was set less than a minute
        before. Best effort: never raises (a failed write must not fail a request)."""
        ...

    async def owns(self, account_id: UUID, vehicle_id: str) -> bool:
        """Whether the vehicle is linked to the account."""
        ...


# --- The customer's own account and Tessie token (the api's writes) -----------------------------


class TessieRefusedError(Exception):
    """Tessie refused the token (401/403): it is not a valid token of a Tessie account."""

    def __init__(self, http_status: int) -> None:
        super().__init__(f"Tessie answered {http_status}")
        self.http_status = http_status


class TessieUnavailableError(Exception):
    """Tessie could not say whether the token is valid (unreachable, timed out, 429, 5xx, an
    answer that is not a vehicle list); ``retry_after_s`` is when to ask again."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class TessieFleet(Protocol):
    """Asks Tessie which vehicles a token gives access to (``GET /vehicles``, Tessie's cache:
    never wakes a car)."""

    async def vehicle_ids(self, token: str) -> tuple[str, ...]:
        """The VINs, or ``TessieRefusedError`` / ``TessieUnavailableError``. The token MUST NOT
        appear in anything raised."""
        ...


class AccountRegistry(Protocol):
    """The caller's account and its Tessie token, read and written through ``tc_db``.

    Raises ``TelemetryUnavailableError`` when the database cannot be reached, and
    ``tc_db.accounts.AccountError`` subclasses for a refused change."""

    async def account(self, account_id: UUID) -> AccountView: ...

    async def register_token(
        self, sealed: SealedToken, vehicle_ids: tuple[str, ...], at: datetime
    ) -> Registered: ...

    async def revoke_token(self, account_id: UUID, at: datetime) -> TessieTokenChanged: ...

    async def change_email(self, account_id: UUID, email: str, at: datetime) -> AccountChanged: ...

    async def request_erasure(self, account_id: UUID, at: datetime) -> ErasureRequested:
        """Mark the account ``erasure_pending`` and revoke its keys (``tc_db.erasure``)."""
        ...

    def export(self, account_id: UUID, at: datetime) -> AsyncIterator[bytes]:
        """The account's archive (``tc_db.export``), as zip bytes read from one snapshot."""
        ...


class EventSink(Protocol):
    """Hands events to the broker; returns once every one is acknowledged, else raises
    ``tc_common.publishing.PublishFailedError``."""

    async def publish(self, messages: Sequence[tuple[str, Event]]) -> None: ...


class DeviceDirectory(Protocol):
    """The account's VPN device certificates, as the provisioner recorded them (read only: the
    provisioner alone changes them, on the requests the routes publish).

    Raises ``TelemetryUnavailableError`` (the same database) when the store cannot be reached."""

    async def certificates(self, account_id: UUID) -> list[DeviceCertificate]:
        """Every certificate of the account's devices, in any order."""
        ...
