"""Composition root of the forecast service."""

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from tc_common.clock import SystemClock
from tc_common.logging import configure_logging
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import (
    DEAD_LETTER_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.adapters import InMemorySocStateRepo
from tc_forecast.handlers import build_router
from tc_forecast.price_runner import PriceForecastRunner
from tc_forecast.settings import ForecastSettings

SERVICE = "forecast"


def create_app(settings: ForecastSettings | None = None) -> AsgiFastStream:
    settings = settings or ForecastSettings()
    registry = CollectorRegistry()
    broker = build_broker(settings.kafka, service=SERVICE, registry=registry)
    prices = PriceForecastRunner(
        clock=SystemClock(),
        horizon_days=settings.price_horizon_days,
        debounce_s=settings.price_refit_debounce_s,
    )
    broker.include_router(
        build_router(InMemorySocStateRepo(), soc_step_pct=settings.soc_step_pct, prices=prices)
    )

    async def create_topics() -> None:
        await ensure_topics(
            settings.kafka.bootstrap_servers,
            [
                TELEMETRY_SAMPLED_V1,
                STATE_OF_CHARGE_CHANGED_V1,
                DEAD_LETTER_V1,
                SPOT_PRICES_PUBLISHED_V1,
                PRICE_FORECAST_PUBLISHED_V1,
                PRICE_ANOMALY_DETECTED_V1,
            ],
        )

    async def start_prices() -> None:
        prices.start()

    return asgi_app(
        broker,
        registry,
        title="teslaconnectivity forecast",
        on_startup=[create_topics],
        after_startup=[start_prices],
        on_shutdown=[prices.stop],
    )


def run() -> None:
    settings = ForecastSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
