"""Kafka wiring of the provisioner: requests in, decisions out."""

import logging
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from tc_common.clock import Clock
from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested
from tc_common.topics import PROVISIONING_ACKNOWLEDGED_V1, PROVISIONING_REQUESTED_V1
from tc_provisioner.domain import decide, is_known_invitation
from tc_provisioner.ports import ProvisioningStateRepo

GROUP_ID = "provisioner"

log = logging.getLogger(__name__)


def build_router(
    repo: ProvisioningStateRepo,
    clock: Clock,
    *,
    beta_cap: int,
    invitation_digests: Sequence[str],
) -> KafkaRouter:
    router = KafkaRouter()
    acknowledged = router.publisher(
        PROVISIONING_ACKNOWLEDGED_V1,
        schema=ProvisioningAcknowledged,
        title=f"{PROVISIONING_ACKNOWLEDGED_V1}:ProvisioningAcknowledged",
        description="The answer to each provisioning request (repeated for a repeated request). "
        "Keyed by request id.",
    )

    # One subscriber handles one message at a time, so load → decide → save never interleaves.
    @router.subscriber(
        PROVISIONING_REQUESTED_V1,
        group_id=GROUP_ID,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{PROVISIONING_REQUESTED_V1}:provisioner",
        description="Decides invitation-only onboarding requests against the private-beta cap.",
    )
    async def on_provisioning_requested(event: ProvisioningRequested) -> None:
        state = await repo.load()
        new_state, ack = decide(
            event,
            state,
            now=clock.now(),
            cap=beta_cap,
            invitation_valid=is_known_invitation(event.invitation_code, invitation_digests),
        )
        # Answer before remembering: if the publish fails the request is redelivered and
        # decided afresh, rather than being remembered as decided but never answered.
        await acknowledged.publish(ack, key=ack.kafka_key())
        await repo.save(new_state)
        log.info("request %s %s (%s)", event.request_id, ack.outcome, ack.reason)

    return router
