"""Composition root of the VPN agent (``tc-vpn-agent``)."""

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from tc_common.consuming import FailurePolicy
from tc_common.health import with_liveness
from tc_common.logging import configure_logging
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import DEAD_LETTER_V1, VPN_CRL_V1, VPN_DEVICES_V1
from tc_provisioner.vpn_agent.adapters import ServerFiles, ServerSessions
from tc_provisioner.vpn_agent.handlers import build_router
from tc_provisioner.vpn_agent.settings import VpnAgentSettings
from tc_vpn.management import ManagementError

SERVICE = "vpn-agent"


def create_app(settings: VpnAgentSettings | None = None) -> AsgiFastStream:
    settings = settings or VpnAgentSettings()
    registry = CollectorRegistry()
    # An unreachable management socket is retried with backoff, never dead-lettered: a
    # revoked device's session must not outlive its revocation for want of a retry.
    broker = build_broker(
        settings.kafka,
        service=SERVICE,
        registry=registry,
        failures=FailurePolicy(transient=(ManagementError,)),
    )
    files = ServerFiles(settings.directory)
    sessions = ServerSessions(settings.management_socket, timeout_s=settings.management_timeout_s)
    broker.include_router(
        build_router(
            files,
            sessions,
            settings.clock(),
            group_id=f"vpn-agent.{settings.agent_id}",
            crl_wait_s=settings.crl_wait_s,
        )
    )

    async def prepare() -> None:
        await ensure_topics(settings.kafka, [VPN_CRL_V1, VPN_DEVICES_V1, DEAD_LETTER_V1])

    app = asgi_app(broker, registry, title="teslaconnectivity VPN agent", on_startup=[prepare])
    return with_liveness(app)


def run() -> None:
    settings = VpnAgentSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
