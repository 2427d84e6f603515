from typing import Annotated

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from pydantic import AfterValidator

from tc_common.events import TelemetrySampled
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_store import domain
from tc_store.metrics import StoreMetrics
from tc_store.ports import TelemetryRepo


def _storable(event: TelemetrySampled) -> TelemetrySampled:
    # Failing validation here sends the message to the dead-letter topic (shared middleware)
    # instead of retrying a write the database will never accept.
    if reason := domain.unstorable_reason(event):
        raise ValueError(reason)
    return event


StorableTelemetry = Annotated[TelemetrySampled, AfterValidator(_storable)]


def build_router(repo: TelemetryRepo, metrics: StoreMetrics, *, group_id: str) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=group_id,
        # The offset is committed only after the handler returned, i.e. after the database
        # transaction committed; the repository blocks (retrying) while the database is away.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title="store/on_telemetry_sampled",
        description="Stores each telemetry sample once (duplicates are ignored) and keeps "
        "the vehicle's first and last sample time.",
    )
    async def on_telemetry_sampled(event: StorableTelemetry) -> None:
        result = await repo.save_samples([domain.telemetry_row(event)])
        metrics.samples_stored.inc(result.stored)
        metrics.duplicates_ignored.inc(result.duplicates)

    return router
