"""Composition root of the store service: Kafka telemetry, market data, weather, price
forecasts, drive and charge history, behaviour profiles and charge plans in, PostgreSQL rows
out."""

import logging

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry
from psycopg.conninfo import conninfo_to_dict

from tc_common.clock import Clock
from tc_common.health import with_database_readiness, with_liveness
from tc_common.logging import configure_logging, register_secret
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.periodic import PeriodicTask
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    API_KEY_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
    TESSIE_ACCESS_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_store.adapters.postgres import DEFAULT_RETENTION_BATCH, FAILURES, PostgresTelemetryRepo
from tc_store.adapters.postgres_erasure import PostgresAccountErasure
from tc_store.adapters.postgres_history import PostgresVehicleHistoryRepo
from tc_store.adapters.postgres_market import PostgresMarketRepo
from tc_store.erasure_handlers import build_erasure_router, erasure_group_id
from tc_store.handlers import build_market_router, build_router, market_group_id
from tc_store.metrics import StoreMetrics
from tc_store.retention import TelemetryRetention
from tc_store.settings import StoreSettings

CONSUMED_TOPICS = (
    TELEMETRY_SAMPLED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    DRIVE_RECORDED_V1,
    CHARGE_RECORDED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
    ACCOUNT_CHANGED_V1,
    ERASURE_STEP_DONE_V1,
)
# Produced only: the erasure's tombstones.
TOMBSTONED_TOPICS = (TESSIE_TOKEN_CHANGED_V1, TESSIE_ACCESS_CHANGED_V1, API_KEY_CHANGED_V1)


log = logging.getLogger(__name__)


def create_app(
    settings: StoreSettings | None = None,
    clock: Clock | None = None,
    *,
    retention_batch_size: int = DEFAULT_RETENTION_BATCH,
) -> AsgiFastStream:
    settings = settings or StoreSettings()
    clock = clock or settings.clock()
    database_url = settings.postgres.url.get_secret_value()
    if password := conninfo_to_dict(database_url).get("password"):
        register_secret(str(password))
    registry = CollectorRegistry()
    metrics = StoreMetrics.create(registry)
    broker = build_broker(settings.kafka, service="store", registry=registry, failures=FAILURES)
    repo = PostgresTelemetryRepo(
        database_url,
        pool_max_size=settings.postgres.pool_max_size,
        retries=metrics.db_retries,
        retry_initial_s=settings.db_retry_initial_s,
        retry_max_s=settings.db_retry_max_s,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    poll_ms = settings.kafka.max_poll_interval_ms
    broker.include_router(
        build_router(repo, metrics, group_id=settings.consumer_group, max_poll_interval_ms=poll_ms)
    )
    broker.include_router(
        build_market_router(
            PostgresMarketRepo(repo),
            PostgresVehicleHistoryRepo(repo),
            metrics,
            group_id=market_group_id(settings.consumer_group),
            max_poll_interval_ms=poll_ms,
        )
    )
    broker.include_router(
        build_erasure_router(
            PostgresAccountErasure(repo),
            clock,
            settings.kafka,
            group_id=erasure_group_id(settings.consumer_group),
            max_poll_interval_ms=poll_ms,
        )
    )

    retention = TelemetryRetention(
        repo,
        clock,
        retention_days=settings.telemetry_retention_days,
        dropped=metrics.telemetry_rows_dropped,
        batch_size=retention_batch_size,
    )
    # An outage during a run raises out of it: PeriodicTask logs it and the next run retries.
    retention_task = PeriodicTask(
        "telemetry retention", settings.retention_interval_s, retention.run_once, log
    )

    async def prepare() -> None:
        await ensure_topics(settings.kafka, (*CONSUMED_TOPICS, *TOMBSTONED_TOPICS, DEAD_LETTER_V1))
        # Blocks until the database is reachable and migrated: consuming before that would
        # only pile up retries.
        await repo.start(retention_days=settings.telemetry_retention_days)
        if settings.telemetry_retention_days is not None and repo.mode == "plain":
            retention_task.start()
        elif settings.telemetry_retention_days is not None:
            log.info(
                "telemetry retention: TimescaleDB's policy drops chunks older than %d days",
                settings.telemetry_retention_days,
            )

    async def shutdown() -> None:
        await retention_task.stop()
        await repo.close()

    app = asgi_app(
        broker,
        registry,
        title="teslaconnectivity store",
        on_startup=[prepare],
        on_shutdown=[shutdown],
    )
    # Readiness asks the database too; liveness (/livez) asks neither, so that a database
    # outage takes the service out of rotation instead of restarting it.
    return with_liveness(with_database_readiness(app, repo.ping))


def run() -> None:
    settings = StoreSettings()
    configure_logging("store", settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
