"""Liveness of the Kafka services: ``/livez``, next to their readiness endpoint ``/healthz``.

Kubernetes restarts a container whose liveness probe fails and only takes it out of its Service
while readiness fails. So liveness must not depend on the broker or the database: an outage of
either would restart every pod at once, which cures nothing (and a starting pod waits for them
anyway). ``/livez`` answers as long as the process serves HTTP, which a wedged event loop
cannot; ``/healthz`` (readiness) asks whether the service consumes yet, the broker and, in the store
and the provisioner, the database.
"""

from collections.abc import Awaitable, Callable

from faststream.asgi import AsgiFastStream, AsgiResponse, HttpHandler, get
from faststream.asgi.types import Scope

from tc_common.messaging import ServiceApp

LIVEZ_PATH = "/livez"


def liveness() -> HttpHandler:
    @get(description="204 while the process serves HTTP; asks neither broker nor database.")
    async def livez(scope: Scope) -> AsgiResponse:  # noqa: ARG001 - the ASGI signature
        return AsgiResponse(b"", 204)

    return livez


def with_liveness(app: AsgiFastStream) -> AsgiFastStream:
    """``app`` with ``/livez`` added to its HTTP routes (and to its AsyncAPI document)."""
    app.mount(LIVEZ_PATH, liveness())
    return app


def with_database_readiness(
    app: ServiceApp, database_answers: Callable[[], Awaitable[bool]]
) -> ServiceApp:
    """``app`` whose ``/healthz`` (readiness) asks the database too, not only the broker."""
    app.add_readiness_check(database_answers)
    return app
