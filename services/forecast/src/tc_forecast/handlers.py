"""Kafka wiring of the forecast service: telemetry in, state-of-charge changes out."""

from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from tc_common.events import StateOfChargeChanged, TelemetrySampled
from tc_common.topics import STATE_OF_CHARGE_CHANGED_V1, TELEMETRY_SAMPLED_V1
from tc_forecast.domain import track_soc
from tc_forecast.ports import SocStateRepo

GROUP_ID = "forecast"


def build_router(repo: SocStateRepo, *, soc_step_pct: float) -> KafkaRouter:
    router = KafkaRouter()
    soc_changed = router.publisher(
        STATE_OF_CHARGE_CHANGED_V1,
        schema=StateOfChargeChanged,
        title=f"{STATE_OF_CHARGE_CHANGED_V1}:StateOfChargeChanged",
        description="A vehicle's state of charge moved by the reporting step, or it started or "
        "stopped charging. Keyed by VIN.",
    )

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=GROUP_ID,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{TELEMETRY_SAMPLED_V1}:forecast",
        description="Tracks each vehicle's latest state of charge from its telemetry samples.",
    )
    async def on_telemetry_sampled(event: TelemetrySampled) -> None:
        previous = await repo.get(event.vehicle_id)
        state, change = track_soc(previous, event, step_pct=soc_step_pct)
        # Publish before remembering: if the publish fails the sample is redelivered and the
        # change is computed again instead of being swallowed by the already-updated state.
        if change is not None:
            await soc_changed.publish(change, key=change.kafka_key())
        if state is not None and state != previous:
            await repo.put(state)

    return router
