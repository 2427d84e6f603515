"""Composition root of the ingest service."""

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import uvicorn
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.clock import Clock
from tc_common.consuming import FailurePolicy
from tc_common.events import TessieAccessChanged
from tc_common.events.market import BiddingZone, ExchangeRatesPublished, SpotPricesPublished
from tc_common.events.weather import WeatherForecastPublished
from tc_common.health import with_liveness
from tc_common.logging import configure_logging, register_secret
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
    TESSIE_ACCESS_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_ingest.accounts import AccountHooks, AccountPollers, AccountRun
from tc_ingest.adapters.entsoe import EntsoeClient
from tc_ingest.adapters.hvakosterstrommen import HvakosterstrommenClient
from tc_ingest.adapters.kafka import KafkaEventPublisher
from tc_ingest.adapters.met import MetClient
from tc_ingest.adapters.norgesbank import CachedExchangeRates, NorgesBankClient
from tc_ingest.domain.history import HISTORY_KINDS
from tc_ingest.domain.market import ZONE_REFERENCE_POINTS
from tc_ingest.fleets import FleetPublishers, FleetRun, build_fleet_run, covered_ages_of
from tc_ingest.handlers import SetHomeArea, build_router
from tc_ingest.market_poller import MarketPoller, WeatherLocation
from tc_ingest.metrics import AccountMetrics, IngestMetrics, MarketMetrics
from tc_ingest.ports import PriceSource
from tc_ingest.settings import IngestSettings
from tc_vault import SealedTokenMalformedError, Vault
from tc_vault_kms import keyring_from

SERVICE = "ingest"
log = logging.getLogger(__name__)


def create_app(
    settings: IngestSettings | None = None, clock: Clock | None = None
) -> AsgiFastStream:
    settings = settings or IngestSettings()
    clock = clock or settings.clock()
    # Also here, not only in run(): `faststream run --factory` and uvicorn never call run().
    if settings.tessie.token is not None:
        register_secret(settings.tessie.token.get_secret_value())
    if settings.market.entsoe_token is not None:
        # ENTSO-E wants the token in the query string: any logged URL would carry it.
        register_secret(settings.market.entsoe_token.get_secret_value())
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    broker = build_broker(
        settings.kafka,
        service=SERVICE,
        registry=registry,
        # A sealed token that is not one (bad base64, another format) will never be one.
        failures=FailurePolicy(permanent=(SealedTokenMalformedError,)),
    )
    fleet = FleetPublishers(broker, registry)
    # The operator's own fleet (INGEST_TESSIE__TOKEN), polled as before, with no account.
    operator: FleetRun | None = None
    if settings.tessie.token is not None:
        operator = build_fleet_run(
            settings, clock, metrics, fleet, token=None, own_metrics=True, vins=settings.vins
        )

    def make_run(hooks: AccountHooks) -> AccountRun:
        run = build_fleet_run(
            settings,
            clock,
            metrics,
            fleet,
            token=hooks.token,
            own_metrics=False,
            on_auth_rejected=hooks.on_auth_rejected,
            on_auth_accepted=hooks.on_auth_accepted,
        )
        return run.as_account_run()

    keyring = keyring_from(settings.vault, settings.vault_kms)
    vault = Vault(keyring) if keyring is not None else None
    accounts = AccountPollers(
        vault,
        make_run,
        KafkaEventPublisher(
            {
                TessieAccessChanged: broker.publisher(
                    TESSIE_ACCESS_CHANGED_V1,
                    schema=TessieAccessChanged,
                    title="TessieAccessChanged",
                    description="Whether Tessie accepts an account's token (refused: 401/403, "
                    "with the account's vehicles), on a change only; keyed by account id.",
                )
            }
        ),
        clock=clock,
        metrics=AccountMetrics(registry),
        reconcile_interval_s=settings.poll_interval_s,
    )
    # One source per metric, over the operator's fleet and every account's.
    metrics.last_sample_age.track(
        lambda: [*(operator.telemetry.sample_ages() if operator else []), *accounts.sample_ages()]
    )
    for kind in HISTORY_KINDS:
        fleet.history_metrics.covered_age.track(
            functools.partial(covered_ages_of, operator, accounts, kind), kind
        )

    market_start, market_stop, set_home_area = _market_part(settings, broker, registry, clock)
    broker.include_router(build_router(set_home_area, accounts))

    async def create_topics() -> None:
        await ensure_topics(
            settings.kafka,
            [
                TELEMETRY_SAMPLED_V1,
                VEHICLE_ACTIVITY_OBSERVED_V1,
                SPOT_PRICES_PUBLISHED_V1,
                EXCHANGE_RATES_PUBLISHED_V1,
                WEATHER_FORECAST_PUBLISHED_V1,
                DRIVE_RECORDED_V1,
                CHARGE_RECORDED_V1,
                TESSIE_ACCESS_CHANGED_V1,
                # Consumed: subscribing without a group needs the topic's partitions.
                BEHAVIOUR_PROFILE_UPDATED_V1,
                TESSIE_TOKEN_CHANGED_V1,
            ],
        )

    async def start_polling() -> None:
        if operator is not None:
            await operator.start()
        else:
            log.info("no INGEST_TESSIE__TOKEN: only customer accounts' tokens are polled")
        await accounts.start()

    async def shut_down() -> None:
        await market_stop()
        await accounts.stop()
        if operator is not None:
            await operator.stop()

    return with_liveness(
        asgi_app(
            broker,
            registry,
            title="teslaconnectivity ingest",
            on_startup=[create_topics],
            after_startup=[start_polling, market_start],
            on_shutdown=[shut_down],
        )
    )


def _market_part(
    settings: IngestSettings, broker: KafkaBroker, registry: CollectorRegistry, clock: Clock
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]], SetHomeArea | None]:
    """The market poller's start/stop hooks (no-ops when market and weather are disabled)
    and where vehicles' home areas go (None without weather).

    The publishers are declared either way so the AsyncAPI document always lists the topics.
    """
    events = KafkaEventPublisher(
        {
            SpotPricesPublished: broker.publisher(
                SPOT_PRICES_PUBLISHED_V1,
                schema=SpotPricesPublished,
                title="SpotPricesPublished",
                description="Day-ahead prices of one zone and CET delivery day, keyed by zone.",
            ),
            ExchangeRatesPublished: broker.publisher(
                EXCHANGE_RATES_PUBLISHED_V1,
                schema=ExchangeRatesPublished,
                title="ExchangeRatesPublished",
                description="Norges Bank rates of one business day, units per EUR.",
            ),
            WeatherForecastPublished: broker.publisher(
                WEATHER_FORECAST_PUBLISHED_V1,
                schema=WeatherForecastPublished,
                title="WeatherForecastPublished",
                description="MET Norway forecast for a zone point or a home, keyed by location.",
            ),
        }
    )
    market, weather = settings.market, settings.weather
    if not market.enabled and not weather.enabled:
        return _noop, _noop, None
    metrics = MarketMetrics(registry)
    on_error = metrics.count_fetch_error
    closers: list[Callable[[], Awaitable[None]]] = []
    sources: dict[BiddingZone, PriceSource] = {}
    rates: CachedExchangeRates | None = None
    if market.enabled:
        hva = HvakosterstrommenClient(market, on_error=on_error, clock=clock)
        closers.append(hva.aclose)
        entsoe: EntsoeClient | None = None
        if market.entsoe_token is not None:
            entsoe = EntsoeClient(
                market, market.entsoe_token.get_secret_value(), on_error=on_error, clock=clock
            )
            closers.append(entsoe.aclose)
        for zone in market.zones:
            if entsoe is not None:
                sources[zone] = entsoe
            elif hva.supports(zone):
                sources[zone] = hva
        norgesbank = NorgesBankClient(market, on_error=on_error, clock=clock)
        closers.append(norgesbank.aclose)
        rates = CachedExchangeRates(
            norgesbank,
            clock=clock,
            lookback_days=market.backfill_days,
            refresh_interval=timedelta(seconds=market.fx_refresh_interval_s),
        )
    met: MetClient | None = None
    locations: list[WeatherLocation] = []
    if weather.enabled:
        met = MetClient(weather, on_error=on_error, clock=clock)
        closers.append(met.aclose)
        locations = [
            WeatherLocation(f"zone:{zone}", *ZONE_REFERENCE_POINTS[zone]) for zone in market.zones
        ] + [WeatherLocation(h.id, h.latitude_deg, h.longitude_deg) for h in weather.homes]
    poller = MarketPoller(
        events,
        clock=clock,
        metrics=metrics,
        zones=market.zones if market.enabled else [],
        price_sources=sources,
        rates=rates,
        weather=met,
        locations=locations,
        publication_local=market.publication_time_cet,
        retry_interval_s=market.retry_interval_s,
        max_sleep_s=market.max_sleep_s,
        backfill_days=market.backfill_days,
        backfill_chunk_days=market.backfill_chunk_days,
        rates_interval_s=market.fx_refresh_interval_s,
        weather_interval_s=weather.poll_interval_s,
        nok_refill_days=market.nok_refill_days,
    )

    async def stop() -> None:
        await poller.stop()
        for close in closers:
            await close()

    return poller.start, stop, poller.set_home_area if weather.enabled else None


async def _noop() -> None:
    return None


def run() -> None:
    settings = IngestSettings()
    if settings.tessie.token is not None:
        register_secret(settings.tessie.token.get_secret_value())
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
