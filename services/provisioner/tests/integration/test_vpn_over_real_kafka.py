"""The provisioner's VPN part against a real broker, a real PostgreSQL and a real SMTP server:
an accepted device gets a certificate and its profile by email; revocations, holds and
erasures reach the CRL and the topics; failed emails are retried; a restart keeps it all.

Whether the profiles and the CRL work with a real OpenVPN is the real-tunnel test's part
(``tests/e2e/test_vpn_tunnel.py``); here the certificates are read back with ``cryptography``.
"""

import asyncio
import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from faststream.asgi import AsgiFastStream

from tc_common.clock import Clock, FixedClock, ShiftedClock
from tc_common.events import (
    AccountChanged,
    DeviceAccessRequested,
    DeviceCertificateChanged,
    ErasureStepDone,
    ProfileDeliveryChanged,
    VpnCrlPublished,
)
from tc_common.events.provisioning import invitation_sha256
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    ERASURE_STEP_DONE_V1,
    PROVISIONING_REQUESTED_V2,
    VPN_CRL_V1,
    VPN_DELIVERIES_V1,
    VPN_DEVICES_V1,
    VPN_REQUESTS_V1,
)
from tc_devstack import LocalKafka
from tc_provisioner.main import create_app
from tc_provisioner.settings import ProvisionerSettings
from tc_testkit.kafka import event_of, first, produce
from tc_testkit.service_app import until_ready
from tc_testkit.smtp import SmtpServer, smtp_server
from tc_testkit.waiting import eventually
from tc_vault import SealedToken, VaultSettings
from tc_vpn import pki

from .. import support  # noqa: TID252

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

START = datetime(2026, 12, 10, 6, 30, tzinfo=UTC)  # a Thursday morning; any moment would do
VAULT_KEY = base64.b64encode(os.urandom(32)).decode()


def settings_for(
    kafka: LocalKafka, database_url: str, smtp: SmtpServer, codes: list[str], **vpn: object
) -> ProvisionerSettings:
    return ProvisionerSettings(
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        postgres={"url": database_url},
        invitation_sha256=tuple(invitation_sha256(c) for c in codes),
        vpn={
            "public_host": "vpn.example.test",
            "delivery_initial_backoff_s": 0.3,
            "delivery_max_backoff_s": 1.0,
            "delivery_max_attempts": 3,
            "delivery_poll_s": 0.2,
            "maintenance_interval_s": 0.5,
            **vpn,
        },
        vault={"keys": {"1": VAULT_KEY}, "current_version": 1},
        smtp={
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "from_address": "access@teslaconnectivity.test",
        },
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
    )


@contextlib.asynccontextmanager
async def provisioner(settings: ProvisionerSettings, clock: Clock) -> AsyncIterator[AsgiFastStream]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await until_ready(app)
        yield app


async def metric(app: AsgiFastStream, line_start: str) -> float:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provisioner"
    ) as client:
        text = (await client.get("/metrics")).text
    (line,) = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.split()[-1])


async def admitted(kafka: LocalKafka, code: str, *, device: str) -> AccountChanged:
    """A new person asks for ``device`` with invitation ``code``: the account it opened."""
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    request = support.request(code, email=email, device=device, requested_at=START)
    await produce(kafka.bootstrap_servers, PROVISIONING_REQUESTED_V2, [request])
    return await first(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        lambda r: (
            e if (e := event_of(AccountChanged, r)) is not None and e.email == email else None
        ),
        what="the account",
    )


def profile_of(message: EmailMessage) -> tuple[str, str]:
    """The body and the attached profile of a profile email."""
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    body = message.get_body(("plain",))
    assert body is not None
    profile = attachments[0].get_content()
    return str(body.get_content()), profile if isinstance(profile, str) else profile.decode()


def inline(profile: str, tag: str) -> str:
    return profile.split(f"<{tag}>\n", 1)[1].split(f"\n</{tag}>", 1)[0]


async def test_an_accepted_device_is_emailed_a_working_profile_and_no_key_is_stored_in_clear(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    code = f"INVITE-{uuid.uuid4().hex}"
    clock = ShiftedClock.starting_at(START)
    with smtp_server(tmp_path) as smtp:
        async with provisioner(settings_for(kafka, database_url, smtp, [code]), clock):
            account = await admitted(kafka, code, device="pixel-8")
            email = account.email
            issued = await first(
                kafka.bootstrap_servers,
                VPN_DEVICES_V1,
                lambda r: (
                    e
                    if (e := event_of(DeviceCertificateChanged, r)) is not None
                    and e.account_id == account.account_id
                    else None
                ),
                what="the certificate",
            )
            delivered = await first(
                kafka.bootstrap_servers,
                VPN_DELIVERIES_V1,
                lambda r: (
                    e
                    if (e := event_of(ProfileDeliveryChanged, r)) is not None
                    and e.serial_hex == issued.serial_hex
                    else None
                ),
                what="the delivery",
            )
        (mail,) = [m for m in smtp.received() if email in m.rcpt_tos]

    assert (issued.state, issued.device_name) == ("issued", "pixel-8")
    assert (delivered.state, delivered.attempts) == ("delivered", 1)
    body, profile = profile_of(mail.message)
    # The profile: every block inline, the server pinned, no compression, no file reference.
    for tag in ("ca", "cert", "key", "tls-crypt-v2"):
        assert f"<{tag}>" in profile
    assert "remote vpn.example.test 1194" in profile
    assert "remote-cert-tls server" in profile
    assert not [line for line in profile.splitlines() if line.startswith(("comp", "compress"))]
    cert = x509.load_pem_x509_certificate(inline(profile, "cert").encode())
    assert f"{cert.serial_number:x}" == issued.serial_hex
    assert cert.serial_number.bit_length() > 64  # random, 128 bits
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == issued.common_name == pki.device_common_name(str(account.account_id), "pixel-8")
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=364)
    # Nothing secret in the words of the mail, nor anywhere in the database in clear.
    key_lines = [line for line in inline(profile, "key").splitlines() if "-----" not in line]
    assert not any(line in body for line in key_lines)
    with psycopg.connect(database_url) as conn:
        dump = "\n".join(
            str(row)
            for table in ("vpn_authority", "vpn_devices", "vpn_deliveries")
            for row in conn.execute(f"SELECT * FROM {table}").fetchall()
        )
    for line in key_lines:
        assert line not in dump
    assert "PRIVATE KEY" not in dump


async def test_revocation_hold_and_erasure_reach_the_crl_and_the_topics_and_survive_a_restart(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    codes = [f"INVITE-{uuid.uuid4().hex}" for _ in range(2)]
    clock = ShiftedClock.starting_at(START)
    bootstrap = kafka.bootstrap_servers

    async def newest_crl(keep: "object" = None) -> VpnCrlPublished:
        return await first(
            bootstrap,
            VPN_CRL_V1,
            lambda r: (
                e
                if (e := event_of(VpnCrlPublished, r)) is not None and (keep is None or keep(e))  # type: ignore[operator]
                else None
            ),
            what="a CRL",
        )

    async def state_of(serial: str, state: str) -> DeviceCertificateChanged:
        return await first(
            bootstrap,
            VPN_DEVICES_V1,
            lambda r: (
                e
                if (e := event_of(DeviceCertificateChanged, r)) is not None
                and e.serial_hex == serial
                and e.state == state
                else None
            ),
            what=f"the certificate {state}",
        )

    with smtp_server(tmp_path) as smtp:
        settings = settings_for(kafka, database_url, smtp, codes)
        async with provisioner(settings, clock):
            devices = []
            for code, name in zip(codes, ("phone", "laptop"), strict=True):
                account = await admitted(kafka, code, device=name)
                issued = await first(
                    bootstrap,
                    VPN_DEVICES_V1,
                    lambda r, account=account: (
                        e
                        if (e := event_of(DeviceCertificateChanged, r)) is not None
                        and e.account_id == account.account_id
                        else None
                    ),
                    what="the certificate",
                )
                devices.append((account, issued))
            (phone_account, phone), (laptop_account, laptop) = devices

            # The customer revokes the phone: the CRL lists it, its profile is erased.
            revoke = DeviceAccessRequested(
                request_id=uuid.uuid4(),
                account_id=phone_account.account_id,
                device_name="PHONE",  # device names are case-insensitive
                kind="revoke",
                requested_by="customer",
                requested_at=clock.now(),
            )
            await produce(bootstrap, VPN_REQUESTS_V1, [revoke])
            revoked = await state_of(phone.serial_hex, "revoked")
            assert revoked.reason == "customer_request"
            crl = await newest_crl(lambda e: phone.serial_hex in e.revoked_serials_hex)
            assert laptop.serial_hex not in crl.revoked_serials_hex
            signed = x509.load_pem_x509_crl(crl.crl_pem.encode())
            entry = signed.get_revoked_certificate_by_serial_number(int(phone.serial_hex, 16))
            assert entry is not None
            with psycopg.connect(database_url) as conn:
                (sealed,) = conn.execute(
                    "SELECT profile_sealed FROM vpn_devices WHERE serial_hex = %s",
                    (phone.serial_hex,),
                ).fetchone()  # type: ignore[misc]
            assert sealed is None

            # The laptop's account is suspended, then resumed: on hold, then released.
            suspended = laptop_account.model_copy(
                update={"state": "suspended", "changed_at": clock.now()}
            )
            await produce(bootstrap, ACCOUNT_CHANGED_V1, [suspended])
            held = await state_of(laptop.serial_hex, "on_hold")
            assert held.reason == "account_suspended"
            await newest_crl(lambda e: laptop.serial_hex in e.revoked_serials_hex)
            resumed = laptop_account.model_copy(update={"changed_at": clock.now()})
            await produce(bootstrap, ACCOUNT_CHANGED_V1, [resumed])
            await state_of(laptop.serial_hex, "issued")
            released = await newest_crl(
                lambda e: (
                    laptop.serial_hex not in e.revoked_serials_hex
                    and phone.serial_hex in e.revoked_serials_hex
                    and e.crl_number > crl.crl_number
                )
            )

        # A restart: the same authority, the revocation kept.
        async with provisioner(settings, clock):
            with psycopg.connect(database_url) as conn:
                (authorities,) = conn.execute("SELECT count(*) FROM vpn_authority").fetchone()  # type: ignore[misc]
            assert authorities == 1
            again = DeviceAccessRequested(
                request_id=uuid.uuid4(),
                account_id=laptop_account.account_id,
                device_name="laptop",
                kind="resend_profile",
                requested_by="operator",
                requested_at=clock.now(),
            )
            await produce(bootstrap, VPN_REQUESTS_V1, [again])

            def resent() -> bool:
                return len([m for m in smtp.received() if laptop_account.email in m.rcpt_tos]) == 2

            await eventually(resent, timeout_s=30, what="the laptop's profile sent again")
            (first_mail, second_mail) = [
                m for m in smtp.received() if laptop_account.email in m.rcpt_tos
            ]
            assert profile_of(first_mail.message)[1] == profile_of(second_mail.message)[1]

            # The laptop's account is erased: revoked, name blanked, the step reported.
            erasing = laptop_account.model_copy(
                update={"state": "erasure_pending", "changed_at": clock.now()}
            )
            await produce(bootstrap, ACCOUNT_CHANGED_V1, [erasing])
            done = await first(
                bootstrap,
                ERASURE_STEP_DONE_V1,
                lambda r: (
                    e
                    if (e := event_of(ErasureStepDone, r)) is not None
                    and e.account_id == laptop_account.account_id
                    and e.step == "provisioner"
                    else None
                ),
                what="the provisioner's erasure step",
            )
            assert done.removed["vpn_devices"] == 1
            erased = await state_of(laptop.serial_hex, "revoked")
            assert erased.reason == "account_erased"
            await newest_crl(
                lambda e: (
                    {laptop.serial_hex, phone.serial_hex} <= set(e.revoked_serials_hex)
                    and e.crl_number > released.crl_number
                )
            )
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT device_name, profile_sealed FROM vpn_devices WHERE account_id = %s",
                (laptop_account.account_id,),
            ).fetchall()
        assert rows == [("", None)]


async def test_a_failed_email_is_retried_with_backoff_and_a_refused_one_is_given_up(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    codes = [f"INVITE-{uuid.uuid4().hex}" for _ in range(2)]
    clock = ShiftedClock.starting_at(START)
    bootstrap = kafka.bootstrap_servers

    async def delivery(account_id: uuid.UUID, state: str) -> ProfileDeliveryChanged:
        return await first(
            bootstrap,
            VPN_DELIVERIES_V1,
            lambda r: (
                e
                if (e := event_of(ProfileDeliveryChanged, r)) is not None
                and e.account_id == account_id
                and e.state == state
                else None
            ),
            what=f"the delivery {state}",
        )

    with smtp_server(tmp_path) as smtp:
        async with provisioner(settings_for(kafka, database_url, smtp, codes), clock):
            accounts = []
            for code, refusal in zip(codes, (451, 550), strict=True):
                smtp.refuse_next(1, code=refusal)
                account = await admitted(kafka, code, device="tablet")
                accounts.append(account)
                # One refusal at a time: the next request's email must not meet this one.
                await delivery(account.account_id, "retrying" if refusal < 500 else "failed")
            transient, permanent = accounts
            retrying = await delivery(transient.account_id, "retrying")
            delivered = await delivery(transient.account_id, "delivered")
            refused = await delivery(permanent.account_id, "failed")
    assert "451" in retrying.reason
    assert retrying.next_attempt_at is not None
    assert (delivered.state, delivered.attempts) == ("delivered", 2)
    assert (refused.state, refused.attempts) == ("failed", 1)
    assert "550" in refused.reason
    assert [m for m in smtp.received() if permanent.email in m.rcpt_tos] == []


async def test_a_reissue_supersedes_the_old_certificate_and_one_close_to_expiry_is_renewed(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    (code,) = [f"INVITE-{uuid.uuid4().hex}"]
    clock = FixedClock(START)
    bootstrap = kafka.bootstrap_servers

    async def changed(
        keep: "Callable[[DeviceCertificateChanged], bool]", what: str
    ) -> DeviceCertificateChanged:
        return await first(
            bootstrap,
            VPN_DEVICES_V1,
            lambda r: (
                e if (e := event_of(DeviceCertificateChanged, r)) is not None and keep(e) else None
            ),
            what=what,
        )

    def mails_to(email: str) -> list[str]:
        return [
            inline(profile_of(m.message)[1], "cert") for m in smtp.received() if email in m.rcpt_tos
        ]

    with smtp_server(tmp_path) as smtp:
        settings = settings_for(
            kafka, database_url, smtp, [code], device_lifetime_days=10, renew_before_days=3
        )
        async with provisioner(settings, clock) as app:
            account = await admitted(kafka, code, device="watch")
            email = account.email
            first_cert = await changed(lambda e: e.account_id == account.account_id, "the first")
            await eventually(lambda: len(mails_to(email)) == 1, timeout_s=30, what="its email")

            # The operator re-issues the device: a new certificate, the old one superseded.
            reissue = DeviceAccessRequested(
                request_id=uuid.uuid4(),
                account_id=account.account_id,
                device_name="watch",
                kind="reissue",
                requested_by="operator",
                requested_at=clock.now(),
            )
            await produce(bootstrap, VPN_REQUESTS_V1, [reissue, reissue])  # once, however asked
            second = await changed(
                lambda e: (
                    e.account_id == account.account_id and e.serial_hex != first_cert.serial_hex
                ),
                "the re-issued certificate",
            )
            superseded = await changed(
                lambda e: e.serial_hex == first_cert.serial_hex and e.state == "revoked",
                "the old one revoked",
            )
            assert superseded.reason == "superseded"
            await eventually(
                lambda: len(mails_to(email)) == 2, timeout_s=30, what="the new profile"
            )

            # Eight days on, the new one expires within the renewal window: renewed and mailed.
            assert await metric(app, "tc_vpn_certificates_expiring_unrenewed") == 0
            clock.advance(timedelta(days=8))
            renewed = await changed(
                lambda e: e.replaces_serial_hex == second.serial_hex, "the renewal"
            )
            await eventually(lambda: len(mails_to(email)) == 3, timeout_s=30, what="the renewal")
            assert await metric(app, "tc_vpn_certificates_expiring_unrenewed") == 0
            # Signed for 30 days, to be signed again once it expires within 23: a week on, a
            # fresh signature (OpenVPN refuses everyone once the CRL has expired).

            async def crl_fresh() -> bool:
                return await metric(app, "tc_vpn_crl_expires_in_seconds") > 29 * 86400

            await eventually(crl_fresh, timeout_s=30, what="the CRL signed again")
            resigned = await first(
                bootstrap,
                VPN_CRL_V1,
                lambda r: (
                    e
                    if (e := event_of(VpnCrlPublished, r)) is not None
                    and e.this_update > START + timedelta(days=7)
                    else None
                ),
                what="the CRL signed again",
            )
            assert first_cert.serial_hex in resigned.revoked_serials_hex

    certs = mails_to(email)
    assert len(set(certs)) == 3, "each profile carries its own certificate"
    serials = [f"{x509.load_pem_x509_certificate(c.encode()).serial_number:x}" for c in certs]
    assert serials == [first_cert.serial_hex, second.serial_hex, renewed.serial_hex]
    assert renewed.state == "issued"
    assert renewed.not_after > second.not_after


async def test_after_a_key_rotation_every_sealed_key_is_rewrapped_and_the_old_key_can_go(
    kafka: LocalKafka, database_url: str, tmp_path: Path
) -> None:
    (code,) = [f"INVITE-{uuid.uuid4().hex}"]
    clock = ShiftedClock.starting_at(START)
    bootstrap = kafka.bootstrap_servers
    old_key, new_key = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))

    def versions() -> list[int]:
        with psycopg.connect(database_url) as conn:
            authority = conn.execute(
                "SELECT ca_key_sealed, server_key_sealed, tls_crypt_v2_server_key_sealed"
                " FROM vpn_authority"
            ).fetchone()
            profiles = conn.execute(
                "SELECT profile_sealed FROM vpn_devices WHERE profile_sealed IS NOT NULL"
            ).fetchall()
        assert authority is not None
        sealed = [*authority, *(p for (p,) in profiles)]
        return sorted({SealedToken.from_bytes(bytes(s)).kek_version for s in sealed})

    with smtp_server(tmp_path) as smtp:
        settings = settings_for(kafka, database_url, smtp, [code])
        before = settings.model_copy(
            update={"vault": VaultSettings(keys={1: old_key}, current_version=1)}
        )
        async with provisioner(before, clock):
            account = await admitted(kafka, code, device="car-tablet")
            email = account.email
            await eventually(
                lambda: any(email in m.rcpt_tos for m in smtp.received()),
                timeout_s=30,
                what="the profile",
            )
        assert versions() == [1]

        rotated = settings.model_copy(
            update={"vault": VaultSettings(keys={1: old_key, 2: new_key}, current_version=2)}
        )
        async with provisioner(rotated, clock):

            async def all_rewrapped() -> bool:
                return await asyncio.to_thread(versions) == [2]

            await eventually(all_rewrapped, timeout_s=30, what="every record re-wrapped")

        # The old key is gone: the authority still opens, the profile is still sent again.
        after = settings.model_copy(
            update={"vault": VaultSettings(keys={2: new_key}, current_version=2)}
        )
        async with provisioner(after, clock):
            resend = DeviceAccessRequested(
                request_id=uuid.uuid4(),
                account_id=account.account_id,
                device_name="car-tablet",
                kind="resend_profile",
                requested_by="operator",
                requested_at=clock.now(),
            )
            await produce(bootstrap, VPN_REQUESTS_V1, [resend])
            await eventually(
                lambda: len([m for m in smtp.received() if email in m.rcpt_tos]) == 2,
                timeout_s=30,
                what="the profile sent again under the new key",
            )
    first_mail, second_mail = [m for m in smtp.received() if email in m.rcpt_tos]
    assert profile_of(first_mail.message)[1] == profile_of(second_mail.message)[1]
