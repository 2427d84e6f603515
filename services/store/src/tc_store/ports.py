from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from tc_common.events.erasure import ErasureStep
from tc_db.erasure import ErasureFinished
from tc_store.domain import (
    ActivityRow,
    ChargeRow,
    DriveRow,
    ExchangeRateRow,
    PlanRow,
    PriceAnomalyRow,
    PriceForecastRow,
    ProfileRow,
    SaveResult,
    SpotPriceRow,
    TelemetryRow,
    WeatherForecastRow,
    WriteResult,
)


class TelemetryRepo(Protocol):
    """Where telemetry samples become durable.

    ``save_samples`` writes the rows and the vehicles they belong to in ONE transaction and
    returns only once it has committed; rows whose (vehicle_id, sampled_at) is already stored
    are ignored and counted as duplicates. While the database is unreachable it keeps
    retrying instead of failing, so the caller never acknowledges what is not stored.
    """

    async def save_samples(self, rows: Sequence[TelemetryRow]) -> SaveResult: ...

    async def ping(self) -> bool:
        """True when the database answers now (no retries)."""
        ...


class TelemetryPruner(Protocol):
    """Where old telemetry is deleted.

    ``drop_telemetry_before`` deletes every sample taken before ``cutoff`` in bounded batches
    and returns how many it deleted. It does not wait out an outage: it raises, and what it
    committed before stays deleted.
    """

    async def drop_telemetry_before(self, cutoff: datetime, *, batch_size: int) -> int: ...


class MarketRepo(Protocol):
    """Where market data, weather and price forecasts become durable.

    Every method writes the rows of ONE event in ONE transaction and returns only once it has
    committed; while the database is unreachable it keeps retrying (like ``TelemetryRepo``).
    Writes are idempotent upserts on each table's primary key; a row that is already stored,
    or superseded by what is stored, counts as ``unchanged``:

    - spot prices: the highest ``revision`` wins, on a tie the later ``fetched_at``;
    - exchange rates, weather forecasts: the later ``fetched_at`` wins;
    - price forecasts: an issued forecast never changes (the first write wins);
    - price anomalies: the later ``detected_at`` wins.
    """

    async def save_spot_prices(self, rows: Sequence[SpotPriceRow]) -> WriteResult: ...

    async def save_exchange_rates(self, rows: Sequence[ExchangeRateRow]) -> WriteResult: ...

    async def save_weather_forecast(self, rows: Sequence[WeatherForecastRow]) -> WriteResult: ...

    async def save_price_forecast(self, rows: Sequence[PriceForecastRow]) -> WriteResult: ...

    async def save_price_anomalies(self, rows: Sequence[PriceAnomalyRow]) -> WriteResult: ...


class VehicleHistoryRepo(Protocol):
    """Where drives, charges, behaviour profiles and charge plans become durable.

    Same transaction and retry contract as ``MarketRepo`` (one event, one transaction; retry
    while the database is away; idempotent). The rules:

    - drives, charges (key: vehicle and Tessie's id): a row that differs from the stored one
      replaces it (Tessie may edit a record); an identical one is ``unchanged``;
    - profiles and plans: the history keeps every one (key: vehicle and ``computed_at`` /
      ``issued_at``; the first write wins), and the newest-per-vehicle row is replaced only by
      a later one. ``written`` counts the history row.
    """

    async def save_drives(self, rows: Sequence[DriveRow]) -> WriteResult: ...

    async def save_charges(self, rows: Sequence[ChargeRow]) -> WriteResult: ...

    async def save_behaviour_profile(self, row: ProfileRow) -> WriteResult: ...

    async def save_charge_plan(self, row: PlanRow) -> WriteResult: ...

    async def save_activity(self, row: ActivityRow) -> WriteResult:
        """Replace the vehicle's activity by a later observation (an older one is unchanged).

        The stored ``since`` is kept when the activity is the same and the new ``since`` is
        not after the stored observation: the same stretch seen again (a heartbeat, a restart
        of ingest that could only say "since now"). Otherwise the new ``since`` is taken.
        """
        ...


class AccountErasure(Protocol):
    """Where an account's data is erased (``tc_db.erasure``), the audit record kept, and the
    account finished. Each call is one transaction, retried while the database is away, and
    idempotent: a redelivered request or step does the same again harmlessly."""

    async def erase_vehicles(self, vehicle_ids: Sequence[str]) -> dict[str, int]:
        """Delete every row of these vehicles; rows deleted per table."""
        ...

    async def record_step(
        self,
        account_id: UUID,
        requested_at: datetime,
        step: ErasureStep,
        *,
        finished_at: datetime,
        removed: dict[str, int],
    ) -> bool:
        """Note a step in the audit record; whether every step is now in."""
        ...

    async def finish(
        self, account_id: UUID, requested_at: datetime, *, at: datetime
    ) -> ErasureFinished:
        """Blank the account (state ``erased``) and close the audit record."""
        ...
