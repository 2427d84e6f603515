"""Composition root of the provisioner."""

import logging
from datetime import timedelta
from email.message import EmailMessage

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry
from psycopg.conninfo import conninfo_to_dict

from tc_common.clock import Clock
from tc_common.health import with_database_readiness, with_liveness
from tc_common.logging import configure_logging, register_secret
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.periodic import PeriodicTask
from tc_common.tombstones import send_tombstones
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    DEAD_LETTER_V1,
    ERASURE_STEP_DONE_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
    VPN_CRL_V1,
    VPN_DELIVERIES_V1,
    VPN_DEVICES_V1,
    VPN_REQUESTS_V1,
)
from tc_db.pool import PostgresPool
from tc_db.vpn import DeviceRow
from tc_provisioner.adapters import FAILURES, PostgresProvisioningDecisions
from tc_provisioner.adapters.smtp import SmtpMailer
from tc_provisioner.adapters.vpn_postgres import PostgresVpn
from tc_provisioner.handlers import build_router
from tc_provisioner.ports import ProvisioningDecisions
from tc_provisioner.profile_mail import profile_message
from tc_provisioner.settings import ProvisionerSettings
from tc_provisioner.vpn_handlers import VpnBackground, profile_mail_sender
from tc_vault import Vault
from tc_vault_kms import keyring_from
from tc_vpn import config

log = logging.getLogger(__name__)

SERVICE = "provisioner"


def create_app(
    settings: ProvisionerSettings | None = None,
    *,
    clock: Clock | None = None,
    decisions: ProvisioningDecisions | None = None,
) -> AsgiFastStream:
    """The provisioner app; ``decisions`` replaces its PostgreSQL store (tests only)."""
    settings = settings or ProvisionerSettings()
    database_url = settings.postgres.url.get_secret_value()
    if password := conninfo_to_dict(database_url).get("password"):
        register_secret(str(password))
    registry = CollectorRegistry()
    broker = build_broker(settings.kafka, service=SERVICE, registry=registry, failures=FAILURES)
    decisions = decisions or PostgresProvisioningDecisions(
        database_url,
        pool_max_size=settings.postgres.pool_max_size,
        retry_initial_s=settings.db_retry_initial_s,
        retry_max_s=settings.db_retry_max_s,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    clock = clock or settings.clock()
    vpn = vpn_of(settings, decisions)
    router, vpn_out = build_router(
        decisions,
        clock,
        beta_cap=settings.beta_cap,
        invitation_digests=settings.invitation_sha256,
        vpn=vpn,
        tombstones=lambda pairs: send_tombstones(settings.kafka, pairs),
    )
    broker.include_router(router)
    tasks: list[PeriodicTask] = []
    if vpn is not None and vpn_out is not None:
        # The settings' validator requires both with vpn.
        assert settings.vpn is not None
        assert settings.smtp is not None
        vpn_settings, smtp = settings.vpn, settings.smtp
        mailer = SmtpMailer(smtp)

        def compose(email: str, device: DeviceRow, profile: str) -> EmailMessage:
            return profile_message(
                to=email,
                from_address=smtp.from_address,
                from_name=smtp.from_name,
                device_name=device.device_name,
                profile=profile.encode(),
                filename=f"{device.device_name}.ovpn",
                api_base_url=f"http://{vpn_settings.api_address}:{vpn_settings.api_port}",
                now=clock.now(),
                message_id_domain=vpn_settings.server_name,
            )

        background = VpnBackground(
            vpn, vpn_out, clock, vpn_settings, profile_mail_sender(mailer.send, compose), registry
        )
        tasks = [
            PeriodicTask(
                "vpn-deliveries", vpn_settings.delivery_poll_s, background.deliver_due, log
            ),
            PeriodicTask(
                "vpn-maintenance", vpn_settings.maintenance_interval_s, background.maintain, log
            ),
        ]

    async def start_tasks() -> None:
        for task in tasks:
            task.start()

    async def stop_tasks() -> None:
        for task in tasks:
            await task.stop()

    # on_startup hooks finish before the broker starts: no request is decided before the
    # database is reachable and migrated. Nothing is read back from the topics: every decision
    # lives in the database, so their retention does not matter to the provisioner.
    async def prepare() -> None:
        await ensure_topics(
            settings.kafka,
            [
                PROVISIONING_REQUESTED_V2,
                PROVISIONING_ACKNOWLEDGED_V1,
                ACCOUNT_CHANGED_V1,
                DEAD_LETTER_V1,
                ERASURE_STEP_DONE_V1,
                VPN_DEVICES_V1,
                VPN_DELIVERIES_V1,
                VPN_CRL_V1,
                VPN_REQUESTS_V1,
            ],
        )
        await decisions.start()
        if vpn is not None:
            # The CA is created (and its first CRL signed) by the first provisioner to start.
            await vpn.ensure_authority(clock.now())

    app = asgi_app(
        broker,
        registry,
        title="teslaconnectivity provisioner",
        on_startup=[prepare],
        after_startup=[start_tasks],
        on_shutdown=[stop_tasks, decisions.close],
    )
    # Readiness asks the database too; liveness (/livez) asks neither, so that a database
    # outage takes the service out of rotation instead of restarting it.
    return with_liveness(with_database_readiness(app, decisions.ping))


def vpn_of(settings: ProvisionerSettings, decisions: ProvisioningDecisions) -> PostgresVpn | None:
    if settings.vpn is None:
        return None
    if not isinstance(decisions, PostgresPool):
        raise TypeError("the VPN part keeps its state in the decisions' PostgreSQL database")
    keyring = keyring_from(settings.vault, settings.vault_kms)
    assert keyring is not None  # settings require one with vpn
    vpn = settings.vpn
    return PostgresVpn(
        decisions,
        Vault(keyring),
        server_name=vpn.server_name,
        profile=config.ProfileSettings(
            public_host=vpn.public_host, server_name=vpn.server_name, port=vpn.public_port
        ),
        device_lifetime=vpn.device_lifetime,
        crl_lifetime=timedelta(days=vpn.crl_lifetime_days),
    )


def run() -> None:
    settings = ProvisionerSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
