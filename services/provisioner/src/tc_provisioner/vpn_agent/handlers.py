"""Kafka wiring of the VPN agent: the CRL in, revocations in."""

import logging

from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from tc_common.clock import Clock
from tc_common.events import DeviceCertificateChanged, VpnCrlPublished
from tc_common.tombstones import null_is_tombstone
from tc_common.topics import VPN_CRL_V1, VPN_DEVICES_V1
from tc_provisioner.vpn_agent.adapters import ServerFiles, ServerSessions

log = logging.getLogger(__name__)


def build_router(
    files: ServerFiles,
    sessions: ServerSessions,
    clock: Clock,
    *,
    group_id: str,
    crl_wait_s: float,
) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        VPN_CRL_V1,
        group_id=f"{group_id}.crl",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{VPN_CRL_V1}:vpn-agent",
        description="The newest CRL and deny list, written atomically where the server reads "
        "them (it re-reads the CRL at the next handshake).",
    )
    async def on_crl(crl: VpnCrlPublished) -> None:
        if await files.applied(crl):
            log.info(
                "CRL %d written (%d serials listed)", crl.crl_number, len(crl.revoked_serials_hex)
            )

    @router.subscriber(
        VPN_DEVICES_V1,
        group_id=f"{group_id}.devices",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{VPN_DEVICES_V1}:vpn-agent",
        description="A device on hold or revoked: its sessions on this server are ended "
        "(a revocation alone ends none).",
    )
    async def on_device(change: DeviceCertificateChanged | None) -> None:
        if change is None or change.state not in ("on_hold", "revoked"):
            return
        if change.not_after <= clock.now():
            return  # expired: it connects nowhere, and no CRL lists it any more
        # The CRL first, so that the ended session cannot come straight back; should it not
        # come in time, the session ends anyway (the CRL follows when it comes).
        if not await files.wait_listed(change.serial_hex, crl_wait_s):
            log.warning("no CRL lists a revoked device after %.0f s: ending it anyway", crl_wait_s)
        ended = await sessions.disconnect(change.common_name)
        if ended:
            log.info("ended %d session(s) of a device %s (%s)", ended, change.state, change.reason)

    return router
