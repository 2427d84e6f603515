"""Kafka wiring of the VPN part of the provisioner: revocations, re-sends, account changes, and
the background work (emailing profiles, renewing certificates, keeping the CRL fresh).

The tables are the record (``adapters.vpn_postgres``); each change is committed before it is
published, and a request whose events were lost publishes them again when it is redelivered.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from prometheus_client import CollectorRegistry, Counter, Gauge

from tc_common.clock import Clock
from tc_common.events import (
    AccountChanged,
    DeviceAccessRequested,
    DeviceCertificateChanged,
    ErasureStepDone,
    ProfileDeliveryChanged,
    VpnCrlPublished,
)
from tc_common.events.vpn import RevocationReason
from tc_common.tombstones import null_is_tombstone
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    ERASURE_STEP_DONE_V1,
    VPN_CRL_V1,
    VPN_DELIVERIES_V1,
    VPN_DEVICES_V1,
    VPN_REQUESTS_V1,
)
from tc_db.vpn import DeviceRow
from tc_provisioner.adapters.smtp import MailerConfigurationError, PermanentDeliveryError
from tc_provisioner.adapters.vpn_postgres import Attempt, PostgresVpn, Revocation
from tc_provisioner.deliveries import next_attempt_at
from tc_provisioner.settings import VpnSettings

log = logging.getLogger(__name__)

Mail = Callable[[str, DeviceRow, str], Awaitable[None]]
"""Emails ``profile`` of a device to an address; raises on failure (the reason, never a secret)."""

Tombstones = Callable[[list[tuple[str, bytes]]], Awaitable[int]]
"""Sends a tombstone for each (topic, key), acknowledged; how many were sent."""


class VpnPublisher:
    """Publishes what the VPN tables say changed, in the order the agent needs: the CRL first
    (the server refuses the device at its next connect), then the devices (the agent ends
    their sessions)."""

    def __init__(self, router: KafkaRouter) -> None:
        self._devices = router.publisher(
            VPN_DEVICES_V1,
            schema=DeviceCertificateChanged,
            title=f"{VPN_DEVICES_V1}:DeviceCertificateChanged",
            description="Each device certificate's state after a change (issued, on hold, "
            "revoked). Keyed by serial (hex).",
        )
        self._crl = router.publisher(
            VPN_CRL_V1,
            schema=VpnCrlPublished,
            title=f"{VPN_CRL_V1}:VpnCrlPublished",
            description="The newest signed CRL and the serials it lists. Keyed by authority.",
        )
        self._deliveries = router.publisher(
            VPN_DELIVERIES_V1,
            schema=ProfileDeliveryChanged,
            title=f"{VPN_DELIVERIES_V1}:ProfileDeliveryChanged",
            description="Each attempt to email a device's profile. Keyed by account id.",
        )
        self.published_crl_number = 0

    async def devices(self, rows: list[DeviceRow]) -> None:
        for row in rows:
            event = row.event()
            await self._devices.publish(event, key=event.kafka_key())

    async def crl(self, crl: VpnCrlPublished | None) -> None:
        if crl is None:
            return
        await self._crl.publish(crl, key=crl.kafka_key())
        self.published_crl_number = max(self.published_crl_number, crl.crl_number)

    async def revocation(self, revocation: Revocation) -> None:
        await self.crl(revocation.crl)
        await self.devices(revocation.devices)

    async def delivery(self, attempt: Attempt) -> None:
        row = attempt.delivery
        state = (
            "delivered"
            if attempt.delivered
            else ("retrying" if row.next_attempt_at is not None else "failed")
        )
        event = ProfileDeliveryChanged(
            delivery_id=row.delivery_id,
            serial_hex=row.serial_hex,
            account_id=attempt.account_id,
            state=state,
            attempts=row.attempts,
            at=row.last_attempt_at or row.requested_at,
            next_attempt_at=row.next_attempt_at,
            reason=row.last_error,
        )
        await self._deliveries.publish(event, key=event.kafka_key())


def add_vpn_routes(
    router: KafkaRouter,
    vpn: PostgresVpn | None,
    out: VpnPublisher | None,
    clock: Clock,
    *,
    group_id: str,
    tombstones: Tombstones,
) -> None:
    """The subscribers of the VPN part: access requests (with ``vpn``) and account changes
    (always: an erasure waits for the provisioner's step, VPN or not)."""
    done_out = router.publisher(
        ERASURE_STEP_DONE_V1,
        schema=ErasureStepDone,
        title=f"{ERASURE_STEP_DONE_V1}:ErasureStepDone",
        description="The provisioner's step of an account's erasure is done (step "
        '"provisioner"): every device revoked, names and profiles erased, their keys '
        "tombstoned on vpn.devices.v1. Keyed by account id.",
    )

    if vpn is not None and out is not None:
        _add_access_route(router, vpn, out, clock, group_id)

    async def report(change: AccountChanged, *, devices: int) -> None:
        # The decisions' email and device are the store's to strip when it finishes the
        # erasure (tc_db.erasure), with the rest of the account's rows.
        done = ErasureStepDone(
            account_id=change.account_id,
            step="provisioner",
            requested_at=change.changed_at,
            finished_at=clock.now(),
            removed={"vpn_devices": devices},
        )
        await done_out.publish(done, key=done.kafka_key())

    @router.subscriber(
        ACCOUNT_CHANGED_V1,
        group_id=f"{group_id}.accounts",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{ACCOUNT_CHANGED_V1}:provisioner.accounts",
        description="A suspended account's devices are put on hold (listed in the CRL, "
        "sessions ended) and released when it resumes; an erasure revokes them all and erases "
        "what the provisioner keeps of the account, then reports its step.",
    )
    async def on_account_changed(change: AccountChanged | None) -> None:
        if change is None:
            return
        now = clock.now()
        if vpn is None or out is None:
            if change.state == "erasure_pending":
                await report(change, devices=0)
            return
        if change.state == "suspended":
            await out.revocation(
                await vpn.change(
                    change.account_id,
                    device_name=None,
                    from_states=("issued",),
                    to_state="on_hold",
                    reason="account_suspended",
                    now=now,
                )
            )
        elif change.state == "active":
            await out.revocation(
                await vpn.change(
                    change.account_id,
                    device_name=None,
                    from_states=("on_hold",),
                    to_state="issued",
                    reason=None,
                    only_reason="account_suspended",
                    now=now,
                )
            )
        elif change.state == "erasure_pending":
            revocation = await vpn.erase_account(change, now)
            # Revoked first (agents end the sessions), then the keys dropped from the
            # compacted topic: the CRL keeps refusing the certificates, and nothing of the
            # account's devices stays on the bus.
            await out.revocation(revocation)
            await tombstones([(VPN_DEVICES_V1, d.serial_hex.encode()) for d in revocation.devices])
            await report(change, devices=len(revocation.devices))


def _add_access_route(
    router: KafkaRouter, vpn: PostgresVpn, out: VpnPublisher, clock: Clock, group_id: str
) -> None:
    @router.subscriber(
        VPN_REQUESTS_V1,
        group_id=f"{group_id}.vpn",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{VPN_REQUESTS_V1}:provisioner",
        description="A device revoked (its sessions end, the CRL lists it) or its profile sent "
        "again, at the request of its customer or an operator.",
    )
    async def on_access_requested(request: DeviceAccessRequested) -> None:
        now = clock.now()
        if request.kind == "revoke":
            reason: RevocationReason = (
                "customer_request" if request.requested_by == "customer" else "operator"
            )
            revocation = await vpn.change(
                request.account_id,
                device_name=request.device_name,
                from_states=("issued", "on_hold"),
                to_state="revoked",
                reason=reason,
                now=now,
            )
            await out.revocation(revocation)
            log.info(
                "device revoked at the %s's request: %d certificate(s)",
                request.requested_by,
                len(revocation.devices),
            )
            return
        if request.kind == "reissue":
            reissued = await vpn.reissue(
                request.request_id, request.account_id, request.device_name, now
            )
            if reissued is None:
                log.info("re-issue refused: the account never had that device")
                return
            await out.revocation(reissued)
            return
        delivery = await vpn.queue_resend(
            request.request_id, request.account_id, request.device_name, now
        )
        log.info(
            "profile re-send %s",
            "queued" if delivery is not None else "refused: the device has no valid profile",
        )


class VpnBackground:
    """The provisioner's periodic VPN work, each step safe to run in several processes."""

    def __init__(
        self,
        vpn: PostgresVpn,
        out: VpnPublisher,
        clock: Clock,
        settings: VpnSettings,
        mail: Mail,
        registry: CollectorRegistry,
    ) -> None:
        self._vpn = vpn
        self._out = out
        self._clock = clock
        self._settings = settings
        self._mail = mail
        self._deliveries = Counter(
            "tc_vpn_profile_deliveries",
            "Profile email attempts by outcome (delivered, retrying, failed).",
            ["outcome"],
            registry=registry,
        )
        self._expiring = Gauge(
            "tc_vpn_certificates_expiring_unrenewed",
            "Issued device certificates that expire within the renewal window and have no "
            "renewal yet: above 0 for long, renewal is failing.",
            registry=registry,
        )
        self._crl_left = Gauge(
            "tc_vpn_crl_expires_in_seconds",
            "Seconds until the CRL's nextUpdate: at 0 the server refuses every device.",
            registry=registry,
        )
        for outcome in ("delivered", "retrying", "failed"):
            self._deliveries.labels(outcome)

    async def deliver_due(self) -> int:
        """Send every delivery due now; how many were attempted."""
        settings = self._settings

        def next_attempt(attempts: int, error: BaseException) -> datetime | None:
            return next_attempt_at(
                attempts,
                self._clock.now(),
                # A refused login or certificate is the deployment's mistake, not the
                # address's: retried (slowly) so that fixing the settings delivers it.
                permanent=isinstance(error, PermanentDeliveryError)
                and not isinstance(error, MailerConfigurationError),
                initial_s=settings.delivery_initial_backoff_s,
                max_s=settings.delivery_max_backoff_s,
                max_attempts=settings.delivery_max_attempts,
            )

        attempted = 0
        while (
            attempt := await self._vpn.attempt_delivery(self._clock.now(), self._mail, next_attempt)
        ) is not None:
            attempted += 1
            outcome = (
                "delivered"
                if attempt.delivered
                else ("retrying" if attempt.delivery.next_attempt_at else "failed")
            )
            self._deliveries.labels(outcome).inc()
            if not attempt.delivered:
                log.warning(
                    "profile email %s (attempt %d): %s",
                    outcome,
                    attempt.delivery.attempts,
                    attempt.delivery.last_error,
                )
            await self._out.delivery(attempt)
        return attempted

    async def maintain(self) -> None:
        """Renew what expires soon, re-wrap what an earlier key version sealed, sign the CRL
        again before it expires, publish the CRL if this process has not yet, and update the
        gauges."""
        now = self._clock.now()
        renewed = await self._vpn.renew_due(now, timedelta(days=self._settings.renew_before_days))
        if renewed:
            log.info(
                "renewed %d device certificate(s); their profiles are being emailed", len(renewed)
            )
            await self._out.devices(renewed)
        if rewrapped := await self._vpn.rewrap_stale():
            log.info("re-wrapped %d sealed key(s) and profile(s) under the current key", rewrapped)
        crl = await self._vpn.refresh_crl(
            now, timedelta(days=self._settings.crl_refresh_before_days)
        )
        if crl is None:
            current = await self._vpn.current_crl()
            if current is not None and current.crl_number > self._out.published_crl_number:
                crl = current
        await self._out.crl(crl)
        current = crl or await self._vpn.current_crl()
        if current is not None:
            self._crl_left.set(max(0.0, (current.next_update - now).total_seconds()))
        self._expiring.set(
            await self._vpn.expiring_unrenewed(
                now, timedelta(days=self._settings.renew_before_days)
            )
        )


def profile_mail_sender(
    send: Callable[[EmailMessage], Awaitable[None]],
    compose: Callable[[str, DeviceRow, str], EmailMessage],
) -> Mail:
    async def mail(email: str, device: DeviceRow, profile: str) -> None:
        await send(compose(email, device, profile))

    return mail
