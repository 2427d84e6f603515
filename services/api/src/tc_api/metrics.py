"""Request metrics for Prometheus, labelled by route template so label values stay bounded."""

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths that matched no route are folded into one label value: raw paths would let any
# caller create unbounded time series.
UNMATCHED = "<unmatched>"


def _route_template(scope: Scope) -> str:
    # FastAPI puts the matched APIRoute into the (shared) scope while routing; plain Starlette
    # routes such as /docs do not, so those are matched again here.
    route: Any = scope.get("route")
    if route is None:
        app: Any = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            if candidate.matches(scope)[0] == Match.FULL:
                route = candidate
                break
    return getattr(route, "path", None) or UNMATCHED


class PrometheusMiddleware:
    """Counts requests and observes their latency by method, route template and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "tc_api_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tc_api_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route", "status"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            labels = (scope["method"], _route_template(scope), str(status))
            self.requests.labels(*labels).inc()
            self.latency.labels(*labels).observe(time.perf_counter() - started)
