"""The drive and charge history loops: one supervisor, one task per vehicle.

On its first sync of a vehicle the poller fetches the last ``backfill_days`` of drives and
charges in ``chunk``-sized windows, oldest first; afterwards every ``poll_interval_s`` it
fetches from where the history is complete up to now. Every request reaches ``overlap`` further
back (see ``fetch_windows``), so a session still running at one sync is listed by a later one;
records fetched again are published only when Tessie changed them.

A window counts as done (``covered_to`` moves past it) only once every new record in it was
acknowledged by the broker: a Tessie error or a broker outage makes the next attempt fetch the
same window again, with backoff. Ingest keeps no state across restarts: after a restart the
backfill runs (and publishes) again, which consumers absorb (they upsert by the record's id).

The vehicles are the telemetry poller's (``vins`` callable), so discovery is not done twice
and a VIN Tessie no longer knows stops both loops.
"""

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tc_common.clock import Clock
from tc_common.events import ChargeRecorded, DriveRecorded
from tc_common.logging import redact
from tc_ingest.domain import backoff_s
from tc_ingest.domain.history import (
    HISTORY_KINDS,
    HistoryKind,
    PublishedLog,
    Skipped,
    backfill_start,
    charge_event,
    drive_event,
    fetch_windows,
)
from tc_ingest.errors import (
    TessieAuthError,
    TessieError,
    TessieVehicleNotFoundError,
)
from tc_ingest.metrics import HistoryMetrics
from tc_ingest.ports import EventPublisher, HistorySource

log = logging.getLogger(__name__)

HistoryEvent = DriveRecorded | ChargeRecorded


class PublishFailedError(Exception):
    """The broker did not take an event; the window is fetched and offered again later."""


@dataclass
class _KindState:
    covered_to: datetime
    published: PublishedLog = field(default_factory=PublishedLog)
    # Malformed records already reported, so an overlapping window does not log them again.
    reported: set[tuple[int | None, str]] = field(default_factory=set)


@dataclass(frozen=True)
class SyncResult:
    """What one sync of one vehicle did, per kind: requests, events published, skipped."""

    windows: int = 0
    published: int = 0
    skipped: int = 0


class HistoryPoller:
    """Keeps every vehicle's drives and charges published; see the module docstring."""

    def __init__(
        self,
        source: HistorySource,
        publisher: EventPublisher,
        *,
        clock: Clock,
        metrics: HistoryMetrics,
        vins: Callable[[], Sequence[str]],
        backfill_days: int = 30,
        chunk: timedelta = timedelta(days=7),
        overlap: timedelta = timedelta(days=1),
        poll_interval_s: float = 300.0,
        reconcile_interval_s: float = 5.0,
        auth_backoff_s: float = 600.0,
        error_backoff_base_s: float = 5.0,
        jitter: Callable[[], float] = random.random,
        track_covered_ages: bool = True,
    ) -> None:
        self._source = source
        self._publisher = publisher
        self._clock = clock
        self._metrics = metrics
        self._vins = vins
        self._backfill_days = backfill_days
        self._chunk = chunk
        self._overlap = overlap
        self._interval_s = poll_interval_s
        self._reconcile_s = reconcile_interval_s
        self._auth_backoff_s = auth_backoff_s
        self._error_base_s = error_backoff_base_s
        self._jitter = jitter
        self._state: dict[tuple[str, HistoryKind], _KindState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._synced: dict[str, int] = {}
        # VINs Tessie answered 404 for: not restarted until they left the list and came back.
        self._gone: set[str] = set()
        # Off when several pollers run: the metric has one source per kind.
        if track_covered_ages:
            for kind in HISTORY_KINDS:
                metrics.covered_age.track(functools.partial(self.covered_ages, kind), kind)

    # lifecycle

    async def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="history-supervisor")

    async def stop(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    # state, for tests and diagnostics

    def covered_to(self, vin: str, kind: HistoryKind) -> datetime | None:
        state = self._state.get((vin, kind))
        return state.covered_to if state else None

    def covered_ages(self, kind: HistoryKind) -> list[float]:
        """Seconds between now and where each vehicle's ``kind`` history is complete (metrics)."""
        now = self._clock.now()
        return [
            max((now - state.covered_to).total_seconds(), 0.0)
            for (_, state_kind), state in list(self._state.items())
            if state_kind == kind
        ]

    def syncs_completed(self, vin: str) -> int:
        return self._synced.get(vin, 0)

    @property
    def vehicles(self) -> list[str]:
        return sorted(vin for vin, task in self._tasks.items() if not task.done())

    # the unit the loops are made of

    async def sync_vehicle(self, vin: str) -> dict[HistoryKind, SyncResult]:
        """Bring the vehicle's drives, then its charges, up to now.

        Raises ``TessieError`` or ``PublishFailedError``; what was done before stays done.
        """
        results = {kind: await self._sync_kind(vin, kind) for kind in HISTORY_KINDS}
        self._synced[vin] = self._synced.get(vin, 0) + 1
        return results

    async def _sync_kind(self, vin: str, kind: HistoryKind) -> SyncResult:
        now = self._clock.now()
        state = self._state.get((vin, kind))
        if state is None:
            state = self._state[(vin, kind)] = _KindState(
                covered_to=backfill_start(now, self._backfill_days)
            )
        windows = published = skipped = 0
        for from_at, to_at, covered_after in fetch_windows(
            state.covered_to, now, chunk=self._chunk, overlap=self._overlap
        ):
            converted: list[HistoryEvent | Skipped]
            if kind == "drives":
                drives = await self._source.get_drives(vin, from_at, to_at)
                converted = [drive_event(vin, r) for r in drives]
            else:
                charges = await self._source.get_charges(vin, from_at, to_at)
                converted = [charge_event(vin, r) for r in charges]
            windows += 1
            events: list[HistoryEvent] = []
            for item in converted:
                if isinstance(item, Skipped):
                    skipped += self._report(vin, kind, state, item)
                else:
                    events.append(item)
            published += await self._publish_new(vin, kind, state, events)
            state.covered_to = covered_after
            # Nothing that started before the next window's reach can be fetched again.
            state.published.forget_before(covered_after - self._overlap)
        return SyncResult(windows, published, skipped)

    async def _publish_new(
        self, vin: str, kind: HistoryKind, state: _KindState, events: list[HistoryEvent]
    ) -> int:
        published = 0
        # Oldest first, so consumers see a vehicle's history in the order it happened.
        for event in sorted(events, key=lambda e: (e.started_at, _record_id(e))):
            record_id, content = _record_id(event), event.model_dump_json()
            if not state.published.is_new(record_id, event.started_at, content):
                continue
            try:
                await self._publisher.publish(event)
            except Exception as error:
                raise PublishFailedError(
                    f"{vin}: publishing {kind} failed: "
                    + redact(f"{type(error).__name__}: {error}")
                ) from error
            state.published.mark(record_id, event.started_at, content)
            self._metrics.records_published.labels(kind=kind).inc()
            published += 1
        return published

    def _report(self, vin: str, kind: HistoryKind, state: _KindState, skipped: Skipped) -> int:
        """Log a skipped record once per process; returns 1 when it is malformed."""
        if skipped.unfinished:
            log.debug("%s: %s %s skipped: %s", vin, kind, skipped.record_id, skipped.reason)
            return 0
        key = (skipped.record_id, skipped.reason)
        if skipped.record_id is None or key not in state.reported:
            state.reported.add(key)
            log.warning(
                "%s: malformed %s record %s skipped: %s",
                vin,
                kind,
                skipped.record_id if skipped.record_id is not None else "(no id)",
                skipped.reason,
            )
            self._metrics.records_skipped.labels(kind=kind).inc()
        return 1

    # loops

    async def _supervise(self) -> None:
        try:
            while True:
                self._reconcile()
                await asyncio.sleep(self._reconcile_s)
        finally:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()

    def _reconcile(self) -> None:
        vins = set(self._vins())
        self._gone &= vins
        for vin in list(self._tasks):
            if vin not in vins:
                self._tasks.pop(vin).cancel()
        for vin in sorted(vins - self._gone):
            task = self._tasks.get(vin)
            if task is None or task.done():
                self._tasks[vin] = asyncio.create_task(
                    self._run_vehicle(vin), name=f"history-{vin}"
                )

    async def _run_vehicle(self, vin: str) -> None:
        failures = 0
        while True:
            try:
                results = await self.sync_vehicle(vin)
            except TessieAuthError as error:
                # The telemetry loops report a rejected token; here it only pauses.
                log.debug("%s: history paused: %s", vin, error)
                delay = self._auth_backoff_s
            except TessieVehicleNotFoundError:
                log.warning("%s: not on the Tessie account any more, history stops", vin)
                self._gone.add(vin)
                return
            except (TessieError, PublishFailedError) as error:
                failures += 1
                delay = self._backoff(failures, getattr(error, "retry_after_s", None))
                log.warning("%s: history sync failed, retry in %.0fs: %s", vin, delay, error)
            except Exception:
                # A bug or a surprising payload must not end the vehicle's loop for good.
                failures += 1
                delay = self._backoff(failures, None)
                log.exception("%s: history sync failed unexpectedly", vin)
            else:
                if failures or any(r.windows > 1 for r in results.values()):
                    log.info(
                        "%s: history up to date (%s)",
                        vin,
                        ", ".join(f"{r.published} new {k}" for k, r in results.items()),
                    )
                failures = 0
                delay = self._interval_s
            await asyncio.sleep(delay)

    def _backoff(self, failures: int, retry_after_s: float | None) -> float:
        wait = backoff_s(
            failures, base_s=self._error_base_s, cap_s=self._interval_s, jitter=self._jitter()
        )
        return max(wait, retry_after_s or 0.0)


def _record_id(event: HistoryEvent) -> int:
    return event.drive_id if isinstance(event, DriveRecorded) else event.charge_id
