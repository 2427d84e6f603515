"""Kafka wiring of the provisioner: requests in, decisions out."""

import logging
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from tc_common.clock import Clock
from tc_common.events import AccountChanged, ProvisioningAcknowledged, ProvisioningRequested
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
)
from tc_provisioner.adapters.vpn_postgres import PostgresVpn
from tc_provisioner.domain import Decision, Snapshot, decide, is_known_invitation
from tc_provisioner.ports import ProvisioningDecisions
from tc_provisioner.vpn_handlers import Tombstones, VpnPublisher, add_vpn_routes

GROUP_ID = "provisioner"

log = logging.getLogger(__name__)


def build_router(
    decisions: ProvisioningDecisions,
    clock: Clock,
    *,
    beta_cap: int,
    invitation_digests: Sequence[str],
    vpn: PostgresVpn | None = None,
    tombstones: Tombstones,
) -> tuple[KafkaRouter, VpnPublisher | None]:
    """The provisioner's routes; with ``vpn``, an accepted device is issued its certificate
    (its profile emailed by ``VpnBackground``) and access requests are served. Returns the
    VPN publisher too, for the background work."""
    router = KafkaRouter()
    vpn_out = VpnPublisher(router) if vpn is not None else None
    acknowledged = router.publisher(
        PROVISIONING_ACKNOWLEDGED_V1,
        schema=ProvisioningAcknowledged,
        title=f"{PROVISIONING_ACKNOWLEDGED_V1}:ProvisioningAcknowledged",
        description="The answer to each provisioning request (repeated for a repeated request). "
        "Keyed by request id.",
    )

    account_changed = router.publisher(
        ACCOUNT_CHANGED_V1,
        schema=AccountChanged,
        title=f"{ACCOUNT_CHANGED_V1}:AccountChanged",
        description="The account an accepted request opened (or found: one per email), in its "
        "current state. Keyed by account id.",
    )

    @router.subscriber(
        PROVISIONING_REQUESTED_V2,
        group_id=GROUP_ID,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{PROVISIONING_REQUESTED_V2}:provisioner",
        description="Decides invitation-only onboarding requests against the private-beta cap.",
    )
    async def on_provisioning_requested(event: ProvisioningRequested) -> None:
        invitation_valid = is_known_invitation(event.invitation_sha256, invitation_digests)

        def policy(known: Snapshot) -> Decision:
            # The clock is read inside the deciding transaction: decided_at is when it decided.
            return decide(
                event,
                known,
                now=clock.now(),
                cap=beta_cap,
                invitation_valid=invitation_valid,
            )

        # Durable first, then answered, then the offset committed (after this returns). If the
        # publish fails or the process dies before the commit, the request is delivered again,
        # finds its stored decision and publishes the same answer once more.
        decision = await decisions.decide(event, policy)
        if decision.answer.outcome == "accepted":
            # The account before the answer: whoever reads an acceptance finds its tenant.
            # Idempotent, like the decision: a redelivered request finds the same account and
            # publishes its state again.
            account = await decisions.open_account(event.email, at=decision.answer.decided_at)
            await account_changed.publish(account, key=account.kafka_key())
            if vpn is not None and vpn_out is not None:
                # Issued once per request, with its email queued in the same transaction: a
                # redelivered request finds the certificate and publishes it again.
                device = await vpn.issue_for_request(
                    event.request_id, account.account_id, event.device_name, clock.now()
                )
                await vpn_out.devices([device])
        await acknowledged.publish(decision.answer, key=decision.answer.kafka_key())
        log.info(
            "request %s %s (%s)%s",
            event.request_id,
            decision.answer.outcome,
            decision.answer.reason,
            ", answered before" if decision.repeated else "",
        )

    add_vpn_routes(
        router,
        vpn,
        vpn_out,
        clock,
        group_id=GROUP_ID,
        tombstones=tombstones,
    )
    return router, vpn_out
