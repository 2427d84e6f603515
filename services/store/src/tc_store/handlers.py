from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from pydantic import AfterValidator, TypeAdapter

from tc_common.events import (
    ExchangeRatesPublished,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    TelemetrySampled,
    WeatherForecastPublished,
)
from tc_common.topics import (
    EXCHANGE_RATES_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_store import domain
from tc_store.domain import WriteResult
from tc_store.metrics import StoreMetrics
from tc_store.ports import MarketRepo, TelemetryRepo


def _storable(event: TelemetrySampled) -> TelemetrySampled:
    # Failing validation here sends the message to the dead-letter topic (shared middleware)
    # instead of retrying a write the database will never accept.
    if reason := domain.unstorable_reason(event):
        raise ValueError(reason)
    return event


StorableTelemetry = Annotated[TelemetrySampled, AfterValidator(_storable)]


def build_router(repo: TelemetryRepo, metrics: StoreMetrics, *, group_id: str) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=group_id,
        # The offset is committed only after the handler returned, i.e. after the database
        # transaction committed; the repository blocks (retrying) while the database is away.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title="store/on_telemetry_sampled",
        description="Stores each telemetry sample once (duplicates are ignored) and keeps "
        "the vehicle's first and last sample time.",
    )
    async def on_telemetry_sampled(event: StorableTelemetry) -> None:
        result = await repo.save_samples([domain.telemetry_row(event)])
        metrics.samples_stored.inc(result.stored)
        metrics.duplicates_ignored.inc(result.duplicates)

    return router


M = TypeVar("M", bound=domain.MarketEvent)


def _storable_market(event: M) -> M:
    # As for telemetry: an event the database can never take is dead-lettered, not retried.
    if reason := domain.market_unstorable_reason(event):
        raise ValueError(reason)
    return event


# A schema violation raises pydantic's ValidationError, which the shared middleware turns
# into a dead letter.
_SPOT_PRICES = TypeAdapter(Annotated[SpotPricesPublished, AfterValidator(_storable_market)])
_EXCHANGE_RATES = TypeAdapter(Annotated[ExchangeRatesPublished, AfterValidator(_storable_market)])
_WEATHER_FORECAST = TypeAdapter(
    Annotated[WeatherForecastPublished, AfterValidator(_storable_market)]
)
_PRICE_FORECAST = TypeAdapter(Annotated[PriceForecastPublished, AfterValidator(_storable_market)])
_PRICE_ANOMALY = TypeAdapter(Annotated[PriceAnomalyDetected, AfterValidator(_storable_market)])


def market_group_id(consumer_group: str) -> str:
    """The consumer group of the market subscriber: ``store.market`` next to ``store``.

    A group of its own so that the telemetry consumer and the market consumer never make
    each other rebalance (on joining, leaving or a restart of either); in one group, every
    start of the service waited ~8 s longer for the broker to settle the group.
    """
    return f"{consumer_group}.market"


def build_market_router(market: MarketRepo, metrics: StoreMetrics, *, group_id: str) -> KafkaRouter:
    """One subscriber for the five market, weather and forecast topics.

    One consumer rather than one per topic for the same reason as ``market_group_id``: each
    consumer joins its group one after the other, ~5 s each on the test broker. Each topic
    still has its own schema (checked here, dead-lettered when violated) and its own
    repository call; every event is written in one transaction before its offset is
    committed, as for telemetry.
    """
    router = KafkaRouter()

    async def store_spot_prices(body: bytes) -> WriteResult:
        event = _SPOT_PRICES.validate_json(body)
        return await market.save_spot_prices(domain.spot_price_rows(event))

    async def store_exchange_rates(body: bytes) -> WriteResult:
        event = _EXCHANGE_RATES.validate_json(body)
        return await market.save_exchange_rates(domain.exchange_rate_rows(event))

    async def store_weather_forecast(body: bytes) -> WriteResult:
        event = _WEATHER_FORECAST.validate_json(body)
        return await market.save_weather_forecast(domain.weather_forecast_rows(event))

    async def store_price_forecast(body: bytes) -> WriteResult:
        event = _PRICE_FORECAST.validate_json(body)
        return await market.save_price_forecast(domain.price_forecast_rows(event))

    async def store_price_anomaly(body: bytes) -> WriteResult:
        event = _PRICE_ANOMALY.validate_json(body)
        return await market.save_price_anomalies([domain.price_anomaly_row(event)])

    routes: dict[str, tuple[str, Callable[[bytes], Awaitable[WriteResult]]]] = {
        SPOT_PRICES_PUBLISHED_V1: ("spot_prices", store_spot_prices),
        EXCHANGE_RATES_PUBLISHED_V1: ("exchange_rates", store_exchange_rates),
        WEATHER_FORECAST_PUBLISHED_V1: ("weather_forecasts", store_weather_forecast),
        PRICE_FORECAST_PUBLISHED_V1: ("price_forecasts", store_price_forecast),
        PRICE_ANOMALY_DETECTED_V1: ("price_anomalies", store_price_anomaly),
    }

    @router.subscriber(
        *routes,
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title="store/on_market_event",
        description="Stores market data, weather and price forecasts: "
        f"{SPOT_PRICES_PUBLISHED_V1} (SpotPricesPublished; a slot keeps its highest revision, "
        "ties: the later fetch), "
        f"{EXCHANGE_RATES_PUBLISHED_V1} (ExchangeRatesPublished), "
        f"{WEATHER_FORECAST_PUBLISHED_V1} (WeatherForecastPublished; every run kept), "
        f"{PRICE_FORECAST_PUBLISHED_V1} (PriceForecastPublished; every issue kept) and "
        f"{PRICE_ANOMALY_DETECTED_V1} (PriceAnomalyDetected).",
    )
    async def on_market_event(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)  # a single-message subscriber, not a batch
        table, store = routes[record.topic]
        metrics.count_write(table, await store(message.body))

    return router
