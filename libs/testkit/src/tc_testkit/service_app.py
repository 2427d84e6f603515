"""A Kafka service's app run in the test's own event loop: its readiness, and waiting for it."""

import httpx
from faststream.asgi import AsgiFastStream

from tc_testkit.waiting import eventually

READY_TIMEOUT_S = 120.0
"""A service is ready once its broker connects (and its database answers): seconds, but far more
in a loaded full run."""


async def healthz_status(app: AsgiFastStream) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return (await client.get("/healthz", timeout=30)).status_code


async def until_ready(app: AsgiFastStream, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Return once ``/healthz`` answers 204 and the broker's start has finished: the lifespan
    reports started before either (a test ending before then makes the shutdown wait for the
    start, on a loaded machine for longer than the shutdown may take)."""

    async def ready() -> bool:
        return getattr(app, "broker_started", True) and await healthz_status(app) == 204

    await eventually(ready, timeout_s=timeout_s, what="/healthz 204")
