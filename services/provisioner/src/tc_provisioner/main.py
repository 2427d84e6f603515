"""Composition root of the provisioner."""

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry
from psycopg.conninfo import conninfo_to_dict

from tc_common.clock import Clock
from tc_common.health import with_database_readiness, with_liveness
from tc_common.logging import configure_logging, register_secret
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    DEAD_LETTER_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
)
from tc_provisioner.adapters import FAILURES, PostgresProvisioningDecisions
from tc_provisioner.handlers import build_router
from tc_provisioner.ports import ProvisioningDecisions
from tc_provisioner.settings import ProvisionerSettings

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
    broker.include_router(
        build_router(
            decisions,
            clock or settings.clock(),
            beta_cap=settings.beta_cap,
            invitation_digests=settings.invitation_sha256,
        )
    )

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
            ],
        )
        await decisions.start()

    app = asgi_app(
        broker,
        registry,
        title="teslaconnectivity provisioner",
        on_startup=[prepare],
        on_shutdown=[decisions.close],
    )
    # Readiness asks the database too; liveness (/livez) asks neither, so that a database
    # outage takes the service out of rotation instead of restarting it.
    return with_liveness(with_database_readiness(app, decisions.ping))


def run() -> None:
    settings = ProvisionerSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
