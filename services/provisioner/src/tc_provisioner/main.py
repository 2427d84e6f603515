"""Composition root of the provisioner."""

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from tc_common.clock import Clock
from tc_common.health import with_liveness
from tc_common.logging import configure_logging
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import DEAD_LETTER_V1, PROVISIONING_ACKNOWLEDGED_V1, PROVISIONING_REQUESTED_V1
from tc_provisioner.adapters import InMemoryProvisioningStateRepo, KafkaProvisioningHistory
from tc_provisioner.domain import restore_state
from tc_provisioner.handlers import build_router
from tc_provisioner.ports import ProvisioningHistory
from tc_provisioner.settings import ProvisionerSettings

SERVICE = "provisioner"


def create_app(
    settings: ProvisionerSettings | None = None,
    *,
    clock: Clock | None = None,
    history: ProvisioningHistory | None = None,
) -> AsgiFastStream:
    settings = settings or ProvisionerSettings()
    registry = CollectorRegistry()
    broker = build_broker(settings.kafka, service=SERVICE, registry=registry)
    repo = InMemoryProvisioningStateRepo()
    history = history or KafkaProvisioningHistory(settings.kafka.bootstrap_servers)
    broker.include_router(
        build_router(
            repo,
            clock or settings.clock(),
            beta_cap=settings.beta_cap,
            invitation_digests=settings.invitation_sha256,
        )
    )

    async def create_topics() -> None:
        await ensure_topics(
            settings.kafka,
            [PROVISIONING_REQUESTED_V1, PROVISIONING_ACKNOWLEDGED_V1, DEAD_LETTER_V1],
        )

    # on_startup hooks finish before the broker starts, so no request is decided on an
    # empty state while the history is still being read.
    async def rebuild_state() -> None:
        requests = await history.read_requests()
        acknowledgements = await history.read_acknowledgements()
        await repo.save(restore_state(requests, acknowledgements))

    return with_liveness(
        asgi_app(
            broker,
            registry,
            title="teslaconnectivity provisioner",
            on_startup=[create_topics, rebuild_state],
        )
    )


def run() -> None:
    settings = ProvisionerSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
