"""The telemetry retention policy: every so often, drop the samples older than the setting."""

import logging

from prometheus_client import Counter

from tc_common.clock import Clock
from tc_store.domain import telemetry_cutoff
from tc_store.ports import TelemetryPruner

log = logging.getLogger(__name__)


class TelemetryRetention:
    """One run of the policy per `run_once`; the caller schedules it (a `PeriodicTask`)."""

    def __init__(
        self,
        pruner: TelemetryPruner,
        clock: Clock,
        *,
        retention_days: int | None,
        dropped: Counter,
        batch_size: int,
    ) -> None:
        self._pruner = pruner
        self._clock = clock
        self._retention_days = retention_days
        self._dropped = dropped
        self._batch_size = batch_size

    async def run_once(self) -> int:
        """Drop what is due now; returns how many samples went. An outage raises."""
        cutoff = telemetry_cutoff(self._clock.now(), self._retention_days)
        if cutoff is None:
            return 0
        dropped = await self._pruner.drop_telemetry_before(cutoff, batch_size=self._batch_size)
        self._dropped.inc(dropped)
        log.info("retention dropped %d telemetry samples taken before %s", dropped, cutoff)
        return dropped
