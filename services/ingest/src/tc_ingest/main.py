"""Composition root of the ingest service."""

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from tc_common.clock import SystemClock
from tc_common.events import TelemetrySampled
from tc_common.logging import configure_logging, register_secret
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_ingest.adapters.kafka import KafkaSamplePublisher
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_ingest.settings import IngestSettings

SERVICE = "ingest"


def create_app(settings: IngestSettings | None = None) -> AsgiFastStream:
    settings = settings or IngestSettings()
    # Also here, not only in run(): `faststream run --factory` and uvicorn never call run().
    register_secret(settings.tessie.token.get_secret_value())
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    broker = build_broker(settings.kafka, service=SERVICE, registry=registry)
    publisher = broker.publisher(
        TELEMETRY_SAMPLED_V1,
        schema=TelemetrySampled,
        title="TelemetrySampled",
        description="One new telemetry snapshot per vehicle, metric units, keyed by VIN.",
    )
    tessie = TessieHttpClient(settings.tessie, on_error=metrics.count_tessie_error)
    poller = TelemetryPoller(
        tessie,
        KafkaSamplePublisher(publisher),
        clock=SystemClock(),
        metrics=metrics,
        poll_interval_s=settings.poll_interval_s,
        vins=settings.vins,
        rediscover_interval_s=settings.rediscover_interval_s,
        auth_backoff_s=settings.auth_backoff_s,
    )

    async def create_topics() -> None:
        await ensure_topics(settings.kafka.bootstrap_servers, [TELEMETRY_SAMPLED_V1])

    async def shut_down() -> None:
        await poller.stop()
        await tessie.aclose()

    return asgi_app(
        broker,
        registry,
        title="teslaconnectivity ingest",
        on_startup=[create_topics],
        after_startup=[poller.start],
        on_shutdown=[shut_down],
    )


def run() -> None:
    settings = IngestSettings()
    register_secret(settings.tessie.token.get_secret_value())
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
