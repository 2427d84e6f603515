from collections.abc import Sequence
from typing import Protocol

from tc_store.domain import SaveResult, TelemetryRow


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
