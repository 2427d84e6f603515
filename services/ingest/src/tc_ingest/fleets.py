"""One fleet's Tessie loops (the operator's, or one customer account's) and the publishers
every fleet shares: what the composition root builds once per token."""

from collections.abc import Callable
from datetime import timedelta

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.clock import Clock
from tc_common.events import (
    ChargeRecorded,
    DriveRecorded,
    TelemetrySampled,
    VehicleActivityObserved,
)
from tc_common.topics import (
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    TELEMETRY_SAMPLED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
)
from tc_ingest.accounts import AccountPollers, AccountRun
from tc_ingest.adapters.kafka import KafkaEventPublisher, KafkaSamplePublisher
from tc_ingest.adapters.tessie import TessieHttpClient, TokenProvider
from tc_ingest.domain.history import HistoryKind
from tc_ingest.history_poller import HistoryPoller
from tc_ingest.metrics import HistoryMetrics, IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_ingest.settings import IngestSettings


class FleetPublishers:
    """The publishers every fleet's pollers share (the operator's and each account's).

    Declared whatever the settings, so the AsyncAPI document always lists the topics.
    """

    def __init__(self, broker: KafkaBroker, registry: CollectorRegistry) -> None:
        self.samples = KafkaSamplePublisher(
            broker.publisher(
                TELEMETRY_SAMPLED_V1,
                schema=TelemetrySampled,
                title="TelemetrySampled",
                description="One new telemetry snapshot per vehicle, metric units, keyed by VIN.",
            )
        )
        self.activity = KafkaEventPublisher(
            {
                VehicleActivityObserved: broker.publisher(
                    VEHICLE_ACTIVITY_OBSERVED_V1,
                    schema=VehicleActivityObserved,
                    title="VehicleActivityObserved",
                    description="What each vehicle is doing (asleep, awake, driving, charging, "
                    "offline) and since when; on change and as a heartbeat, keyed by VIN.",
                )
            }
        )
        self.history = KafkaEventPublisher(
            {
                DriveRecorded: broker.publisher(
                    DRIVE_RECORDED_V1,
                    schema=DriveRecorded,
                    title="DriveRecorded",
                    description="One finished drive from Tessie's history (km, UTC), keyed by "
                    "VIN; re-published when fetched again changed (idempotent by drive_id).",
                ),
                ChargeRecorded: broker.publisher(
                    CHARGE_RECORDED_V1,
                    schema=ChargeRecorded,
                    title="ChargeRecorded",
                    description="One charging session from Tessie's history, keyed by VIN; "
                    "re-published when fetched again changed (idempotent by charge_id).",
                ),
            }
        )
        self.history_metrics = HistoryMetrics(registry)


class FleetRun:
    """One fleet's Tessie client, telemetry poller and (where enabled) history poller."""

    def __init__(
        self, tessie: TessieHttpClient, telemetry: TelemetryPoller, history: HistoryPoller | None
    ) -> None:
        self.tessie = tessie
        self.telemetry = telemetry
        self.history = history

    async def start(self) -> None:
        await self.telemetry.start()
        if self.history is not None:
            await self.history.start()

    async def stop(self) -> None:
        if self.history is not None:
            await self.history.stop()
        await self.telemetry.stop()
        await self.tessie.aclose()

    def covered_ages(self, kind: HistoryKind) -> list[float]:
        return self.history.covered_ages(kind) if self.history is not None else []

    def as_account_run(self) -> AccountRun:
        return AccountRun(
            start=self.start,
            stop=self.stop,
            vehicles=lambda: self.telemetry.vehicles,
            sample_ages=self.telemetry.sample_ages,
            covered_ages=self.covered_ages,
        )


def build_fleet_run(
    settings: IngestSettings,
    clock: Clock,
    metrics: IngestMetrics,
    fleet: FleetPublishers,
    *,
    token: TokenProvider | None,
    own_metrics: bool,
    vins: list[str] | None = None,
    on_auth_rejected: Callable[[int], None] | None = None,
    on_auth_accepted: Callable[[], None] | None = None,
) -> FleetRun:
    tessie = TessieHttpClient(
        settings.tessie,
        token=token,
        on_error=metrics.count_tessie_error,
        clock=clock,
        history_page_limit=settings.history.page_limit,
    )
    telemetry = TelemetryPoller(
        tessie,
        fleet.samples,
        clock=clock,
        metrics=metrics,
        poll_interval_s=settings.poll_interval_s,
        vins=vins,
        rediscover_interval_s=settings.rediscover_interval_s,
        auth_backoff_s=settings.auth_backoff_s,
        activity_publisher=fleet.activity,
        activity_heartbeat_s=settings.activity_heartbeat_s,
        on_auth_rejected=on_auth_rejected,
        on_auth_accepted=on_auth_accepted,
        track_sample_ages=own_metrics,
    )
    history = settings.history
    poller = None
    if history.enabled:
        poller = HistoryPoller(
            tessie,
            fleet.history,
            clock=clock,
            metrics=fleet.history_metrics,
            vins=lambda: telemetry.vehicles,
            backfill_days=history.backfill_days,
            chunk=timedelta(days=history.backfill_chunk_days),
            overlap=timedelta(seconds=history.overlap_s),
            poll_interval_s=history.poll_interval_s,
            auth_backoff_s=settings.auth_backoff_s,
            error_backoff_base_s=history.error_backoff_base_s,
            track_covered_ages=own_metrics,
        )
    return FleetRun(tessie, telemetry, poller)


def covered_ages_of(
    operator: FleetRun | None, accounts: AccountPollers, kind: HistoryKind
) -> list[float]:
    return [*(operator.covered_ages(kind) if operator else []), *accounts.covered_ages(kind)]
