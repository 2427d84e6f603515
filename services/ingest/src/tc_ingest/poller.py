"""The poll loops: one supervisor that discovers vehicles, one task per vehicle.

Each vehicle task polls Tessie every ``poll_interval_s`` and queues a sample when it is newer
than the last one queued or published. The queue is flushed to the broker in order; a sample
leaves the queue (and becomes "last published") only after the broker acknowledged it, so a
broker outage delays samples but does not lose them.

With an activity publisher, every poll also decides what the car is doing (asleep, awake,
driving, charging, offline) and since when, and publishes it on change and as a heartbeat.
"""

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tc_common.clock import Clock
from tc_common.events import TelemetrySampled, VehicleActivityObserved
from tc_common.logging import redact
from tc_ingest.domain import backoff_s, is_new, sample_age_s, should_fetch_state, to_sample
from tc_ingest.domain.activity import activity_of, is_due, observe
from tc_ingest.errors import (
    TessieAuthError,
    TessieError,
    TessieUnavailableError,
    TessieVehicleNotFoundError,
)
from tc_ingest.metrics import IngestMetrics
from tc_ingest.ports import EventPublisher, SamplePublisher, TelemetrySource

log = logging.getLogger(__name__)

# About 8 hours of samples at 30 s: a broker outage longer than that drops the oldest samples
# rather than growing without bound.
MAX_PENDING_PER_VEHICLE = 1000


@dataclass
class _Track:
    last_published_at: datetime | None = None
    pending: deque[TelemetrySampled] = field(default_factory=deque)
    broker_failing: bool = False
    newest: TelemetrySampled | None = None
    activity: VehicleActivityObserved | None = None
    activity_published: VehicleActivityObserved | None = None
    # Only the newest activity matters: it carries its own ``since``.
    activity_pending: VehicleActivityObserved | None = None


class TelemetryPoller:
    """Polls Tessie for every vehicle and publishes each new sample exactly once per run."""

    def __init__(
        self,
        source: TelemetrySource,
        publisher: SamplePublisher,
        *,
        clock: Clock,
        metrics: IngestMetrics,
        poll_interval_s: float,
        vins: Sequence[str] | None = None,
        rediscover_interval_s: float = 600.0,
        auth_backoff_s: float = 600.0,
        publish_backoff_base_s: float = 1.0,
        publish_backoff_cap_s: float = 30.0,
        jitter: Callable[[], float] = random.random,
        activity_publisher: EventPublisher | None = None,
        activity_heartbeat_s: float = 300.0,
        on_auth_rejected: Callable[[int], None] | None = None,
        on_auth_accepted: Callable[[], None] | None = None,
        track_sample_ages: bool = True,
    ) -> None:
        """``on_auth_rejected(http_status)`` is called whenever Tessie refuses the token,
        ``on_auth_accepted()`` after every request it answered with the token accepted.
        ``track_sample_ages=False`` leaves the sample-age metric to whoever runs several
        pollers (it has one source)."""
        self._source = source
        self._publisher = publisher
        self._clock = clock
        self._metrics = metrics
        self._interval_s = poll_interval_s
        self._static_vins = list(vins) if vins else None
        self._rediscover_s = rediscover_interval_s
        self._auth_backoff_s = auth_backoff_s
        self._publish_base_s = publish_backoff_base_s
        self._publish_cap_s = publish_backoff_cap_s
        self._jitter = jitter
        self._activity_publisher = activity_publisher
        self._activity_heartbeat = timedelta(seconds=activity_heartbeat_s)
        self._tracks: dict[str, _Track] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._auth_rejected = False
        self._on_auth_rejected = on_auth_rejected
        self._on_auth_accepted = on_auth_accepted
        if track_sample_ages:
            metrics.last_sample_age.track(self.sample_ages)

    # lifecycle

    async def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="ingest-supervisor")

    async def stop(self, flush_timeout_s: float = 5.0) -> None:
        """Cancel every loop, then try once more to hand queued samples to the broker."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        pending = [vin for vin, track in self._tracks.items() if track.pending]
        if pending:
            try:
                async with asyncio.timeout(flush_timeout_s):
                    for vin in pending:
                        await self.flush(vin)
            except TimeoutError:
                log.warning("shutdown: samples of %d vehicles were not published", len(pending))

    @property
    def vehicles(self) -> list[str]:
        return sorted(vin for vin, task in self._tasks.items() if not task.done())

    def last_published_at(self, vin: str) -> datetime | None:
        track = self._tracks.get(vin)
        return track.last_published_at if track else None

    def activity(self, vin: str) -> VehicleActivityObserved | None:
        """What the vehicle was doing at the last poll, and since when."""
        track = self._tracks.get(vin)
        return track.activity if track else None

    def sample_ages(self) -> list[float]:
        """Seconds since the newest published sample of each vehicle that has one (metrics)."""
        now = self._clock.now()
        return [
            sample_age_s(track.last_published_at, now)
            for track in list(self._tracks.values())
            if track.last_published_at is not None
        ]

    def pending_count(self, vin: str) -> int:
        track = self._tracks.get(vin)
        return len(track.pending) if track else 0

    # one poll, one flush: the units the loops are made of

    async def poll_vehicle(self, vin: str) -> None:
        """Read the vehicle once and queue its sample when it is new. Raises ``TessieError``."""
        track = self._tracks.setdefault(vin, _Track())
        self._metrics.polls.inc()
        status = await self._source.get_status(vin)
        newest = track.pending[-1].sampled_at if track.pending else track.last_published_at
        if should_fetch_state(status, has_sample=newest is not None):
            fetched_at = self._clock.now()
            sample = to_sample(await self._source.get_state(vin), fetched_at)
            if sample is not None and is_new(newest, sample):
                if len(track.pending) >= MAX_PENDING_PER_VEHICLE:
                    dropped = track.pending.popleft()
                    log.error("%s: queue full, dropped sample of %s", vin, dropped.sampled_at)
                track.pending.append(sample)
                track.newest = sample
        self._observe_activity(vin, track, status)

    def _observe_activity(self, vin: str, track: _Track, status: str | None) -> None:
        if self._activity_publisher is None:
            return
        track.activity = observe(
            track.activity,
            vin,
            activity_of(status, track.newest),
            now=self._clock.now(),
            latest_sampled_at=track.newest.sampled_at if track.newest else None,
        )
        if is_due(track.activity_published, track.activity, heartbeat=self._activity_heartbeat):
            track.activity_pending = track.activity

    async def flush(self, vin: str) -> bool:
        """Publish the vehicle's queued samples in order; False if the broker failed."""
        track = self._tracks.setdefault(vin, _Track())
        while track.pending:
            sample = track.pending[0]
            try:
                await self._publisher.publish(sample)
            except Exception as error:
                self._note_publish_failed(vin, track, error)
                return False
            track.pending.popleft()
            track.last_published_at = sample.sampled_at
            self._metrics.samples_published.inc()
            self._note_publishing_again(vin, track)
        if track.activity_pending is not None and self._activity_publisher is not None:
            activity = track.activity_pending
            try:
                await self._activity_publisher.publish(activity)
            except Exception as error:
                self._note_publish_failed(vin, track, error)
                return False
            track.activity_published = activity
            if track.activity_pending is activity:
                track.activity_pending = None
            self._note_publishing_again(vin, track)
        return True

    def _note_publishing_again(self, vin: str, track: _Track) -> None:
        if track.broker_failing:
            log.info("%s: publishing again", vin)
            track.broker_failing = False

    def _note_publish_failed(self, vin: str, track: _Track, error: Exception) -> None:
        if not track.broker_failing:
            log.warning(
                "%s: publish failed, %d sample(s) kept for retry: %s",
                vin,
                len(track.pending),
                redact(f"{type(error).__name__}: {error}"),
            )
        track.broker_failing = True

    # loops

    async def _supervise(self) -> None:
        try:
            while True:
                delay_s = await self._discover()
                await asyncio.sleep(delay_s)
        finally:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()

    async def _discover(self) -> float:
        """Reconcile the vehicle tasks with the vehicle list; returns seconds until the next."""
        if self._static_vins is not None:
            vins = self._static_vins
        else:
            try:
                vins = await self._source.list_vehicles(only_active=True)
            except TessieAuthError as error:
                self._note_auth_rejected(error)
                return self._auth_backoff_s
            except TessieError as error:
                log.warning("vehicle discovery failed: %s", error)
                # Without any vehicle there is nothing else to do: retry at poll pace, but
                # never before the Retry-After of a throttling Tessie.
                pace = self._rediscover_s if self._tasks else self._interval_s
                if isinstance(error, TessieUnavailableError):
                    return max(pace, error.retry_after_s or 0.0)
                return pace
            self._note_auth_accepted()
        for vin in list(self._tasks):
            if vin not in vins:
                log.info("%s: no longer listed, stop polling", vin)
                self._tasks.pop(vin).cancel()
        for vin in vins:
            task = self._tasks.get(vin)
            if task is None or task.done():
                self._tasks[vin] = asyncio.create_task(self._run_vehicle(vin), name=f"poll-{vin}")
        if not vins:
            log.warning("no active vehicles on the Tessie account")
        return self._rediscover_s

    async def _run_vehicle(self, vin: str) -> None:
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        publish_failures = 0
        while True:
            if loop.time() >= next_poll:
                delay = await self._poll_safely(vin)
                if delay is None:
                    return
                next_poll = loop.time() + delay
            if await self.flush(vin):
                publish_failures = 0
                wait = next_poll - loop.time()
            else:
                publish_failures += 1
                retry = backoff_s(
                    publish_failures,
                    base_s=self._publish_base_s,
                    cap_s=self._publish_cap_s,
                    jitter=self._jitter(),
                )
                wait = min(retry, next_poll - loop.time())
            await asyncio.sleep(max(wait, 0.0))

    async def _poll_safely(self, vin: str) -> float | None:
        """Poll once; returns seconds until the next poll, or None when the VIN is gone."""
        try:
            await self.poll_vehicle(vin)
        except TessieAuthError as error:
            self._note_auth_rejected(error)
            return self._auth_backoff_s
        except TessieVehicleNotFoundError:
            log.warning("%s: not on the Tessie account any more, stop polling", vin)
            return None
        except TessieUnavailableError as error:
            log.warning("%s: %s", vin, error)
            return max(self._interval_s, error.retry_after_s or 0.0)
        except TessieError as error:
            log.warning("%s: %s", vin, error)
            return self._interval_s
        except Exception:
            # A bug or a surprising payload must not end the vehicle's loop for good.
            log.exception("%s: poll failed unexpectedly", vin)
            return self._interval_s
        self._note_auth_accepted()
        return self._interval_s

    def _note_auth_rejected(self, error: TessieAuthError) -> None:
        if self._on_auth_rejected is not None:
            self._on_auth_rejected(error.status_code)
        # Every vehicle's loop hits the same bad token: say it once, not once per poll.
        if not self._auth_rejected:
            log.error("%s; polling paused for %.0fs at a time", error, self._auth_backoff_s)
            self._auth_rejected = True

    def _note_auth_accepted(self) -> None:
        if self._on_auth_accepted is not None:
            self._on_auth_accepted()
        if self._auth_rejected:
            log.info("Tessie accepts the access token again")
            self._auth_rejected = False
