"""Composition root of the api service: settings, pool, reader, routes, metrics."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from tc_api.adapters.postgres import PostgresTelemetryReader, open_pool
from tc_api.adapters.postgres_accounts import PostgresAccountDirectory
from tc_api.adapters.postgres_devices import PostgresDeviceDirectory
from tc_api.adapters.postgres_history import PostgresHistoryReader
from tc_api.adapters.postgres_market import PostgresMarketReader
from tc_api.adapters.postgres_tokens import PostgresAccountRegistry
from tc_api.adapters.tessie import HttpTessieFleet
from tc_api.body_limit import BodyLimitMiddleware
from tc_api.deps import reject_unknown_query_parameters
from tc_api.domain import AccountKey
from tc_api.metrics import PrometheusMiddleware
from tc_api.ports import (
    AccountDirectory,
    AccountRegistry,
    DeviceDirectory,
    EventSink,
    HistoryReader,
    MarketReader,
    TelemetryReader,
    TelemetryUnavailableError,
    TessieFleet,
)
from tc_api.routes import account, behaviour, health, market, vehicles
from tc_api.routes import devices as device_routes
from tc_api.routes.health import RETRY_AFTER_S
from tc_api.schemas import UnavailableBody
from tc_api.settings import ApiSettings
from tc_common.clock import Clock
from tc_common.logging import configure_logging, register_secret
from tc_common.publishing import EventPublisher
from tc_common.topics import ACCOUNT_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1, VPN_REQUESTS_V1
from tc_vault import Vault
from tc_vault_kms import keyring_from


async def _on_unavailable(_request: Request, _error: Exception) -> JSONResponse:
    body = UnavailableBody(
        detail="the telemetry database is unavailable; retry later",
        retry_after_s=RETRY_AFTER_S,
    )
    return JSONResponse(
        body.model_dump(),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _on_invalid_request(_request: Request, error: Exception) -> JSONResponse:
    # FastAPI's own 422, except that an error in the body does not echo what was sent: a body
    # may hold a Tessie token.
    assert isinstance(error, RequestValidationError)
    errors = [
        {k: v for k, v in e.items() if not (k == "input" and e.get("loc", ("",))[0] == "body")}
        for e in error.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


class NoAccounts:
    """The directory of an app built with injected readers and no accounts (route tests):
    only the operator keys of API_API_KEYS exist."""

    # The port's parameter names, unused: there is nothing to look up.
    async def find_key(self, key_sha256: str) -> AccountKey | None:  # noqa: ARG002
        return None

    async def record_key_use(self, key_id: UUID, now: datetime) -> None:  # noqa: ARG002
        return None

    async def owns(self, account_id: UUID, vehicle_id: str) -> bool:  # noqa: ARG002
        return False


def create_app(
    settings: ApiSettings | None = None,
    *,
    reader: TelemetryReader | None = None,
    market_reader: MarketReader | None = None,
    history_reader: HistoryReader | None = None,
    accounts: AccountDirectory | None = None,
    account_registry: AccountRegistry | None = None,
    events: EventSink | None = None,
    tessie: TessieFleet | None = None,
    devices: DeviceDirectory | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app; with ``reader`` given (tests), no database pool is opened, the market
    routes use ``market_reader``, the history, profile and plan routes ``history_reader``, and
    account keys are looked up in ``accounts`` (none: only operator keys), and the account routes
    use ``account_registry``, ``events`` and ``tessie``, the device routes ``devices``."""
    settings = settings or ApiSettings()
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if reader is not None:
            yield
            return
        pool = open_pool(
            settings.postgres.url.get_secret_value(),
            max_size=settings.postgres.pool_max_size,
            timeout_s=settings.db_timeout_s,
        )
        # Not waiting for the first connection: the api starts while the database is down
        # and reports it through /healthz and 503s instead of crash-looping.
        await pool.open(wait=False)
        app.state.reader = PostgresTelemetryReader(pool)
        app.state.market = PostgresMarketReader(pool)
        app.state.history = PostgresHistoryReader(pool)
        app.state.accounts = PostgresAccountDirectory(pool)
        app.state.account_registry = PostgresAccountRegistry(pool)
        app.state.devices = PostgresDeviceDirectory(pool)
        events = EventPublisher(
            settings.kafka,
            [ACCOUNT_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1, VPN_REQUESTS_V1],
            timeout_s=settings.publish_timeout_s,
        )
        app.state.events = events
        tessie_client = httpx.AsyncClient(timeout=settings.tessie_timeout_s, follow_redirects=False)
        app.state.tessie = HttpTessieFleet(tessie_client, settings.tessie_base_url)
        try:
            yield
        finally:
            await tessie_client.aclose()
            await events.stop()
            await pool.close()

    app = FastAPI(
        title="teslaconnectivity api",
        description="Private API serving stored vehicle telemetry, drive and charge "
        "history, learned driving rhythm, charge plans, spot prices, price forecasts, exchange "
        "rates and weather to the dashboard, and taking a customer's own Tessie token (stored only "
        "encrypted) and account details, and the customer's VPN devices (listed, revoked, "
        "profiles emailed again).",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    app.state.registry = registry
    if reader is not None:
        app.state.reader = reader
        app.state.market = market_reader
        app.state.history = history_reader
        app.state.accounts = accounts or NoAccounts()
        app.state.account_registry = account_registry
        app.state.events = events
        app.state.tessie = tessie
        app.state.devices = devices
    app.state.clock = clock or settings.clock()
    keyring = keyring_from(settings.vault, settings.vault_kms)
    app.state.vault = Vault(keyring) if keyring is not None else None
    app.state.api_keys = tuple(k.get_secret_value().encode() for k in settings.api_keys)
    app.add_middleware(PrometheusMiddleware, registry=registry)
    # Outermost: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware)
    app.add_exception_handler(TelemetryUnavailableError, _on_unavailable)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(account.RetryLaterError, account.on_retry_later)
    app.include_router(health.router)
    app.include_router(vehicles.router)
    app.include_router(behaviour.router)
    app.include_router(market.router)
    app.include_router(account.router)
    app.include_router(device_routes.router)
    return app


def run() -> None:
    settings = ApiSettings()
    configure_logging("api", settings.log_level)
    for key in settings.api_keys:
        register_secret(key.get_secret_value())
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
