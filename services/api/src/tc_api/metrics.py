"""Request metrics for Prometheus, with label values from fixed sets only.

The middleware counts every request, before authentication, and ``/metrics`` needs no key: a
label value a caller could choose (a raw path, an invented method) would let anyone create
time series without bound. So paths become route templates and methods outside HTTP's own
become ``other``; the status is the app's own answer.
"""

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths that matched no route are folded into one label value: raw paths would let any
# caller create unbounded time series.
UNMATCHED = "<unmatched>"
# RFC 9110's methods plus PATCH; anything else a client sends is counted as OTHER_METHOD.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


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
            labels = (method_label(scope["method"]), _route_template(scope), str(status))
            self.requests.labels(*labels).inc()
            self.latency.labels(*labels).observe(time.perf_counter() - started)
