from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from pydantic import AfterValidator, TypeAdapter

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    ExchangeRatesPublished,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    TelemetrySampled,
    VehicleActivityObserved,
    WeatherForecastPublished,
)
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_store import domain
from tc_store.domain import WriteResult
from tc_store.metrics import StoreMetrics
from tc_store.ports import MarketRepo, TelemetryRepo, VehicleHistoryRepo


def _storable(event: TelemetrySampled) -> TelemetrySampled:
    # Failing validation here sends the message to the dead-letter topic (shared middleware)
    # instead of retrying a write the database will never accept.
    if reason := domain.unstorable_reason(event):
        raise ValueError(reason)
    return event


StorableTelemetry = Annotated[TelemetrySampled, AfterValidator(_storable)]


def build_router(
    repo: TelemetryRepo,
    metrics: StoreMetrics,
    *,
    group_id: str,
    max_poll_interval_ms: int = 300_000,
) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=group_id,
        max_poll_interval_ms=max_poll_interval_ms,
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

H = TypeVar("H", bound=domain.HistoryEvent)


def _storable_history(event: H) -> H:
    if reason := domain.history_unstorable_reason(event):
        raise ValueError(reason)
    return event


_DRIVE = TypeAdapter(Annotated[DriveRecorded, AfterValidator(_storable_history)])
_CHARGE = TypeAdapter(Annotated[ChargeRecorded, AfterValidator(_storable_history)])
_PROFILE = TypeAdapter(Annotated[BehaviourProfileUpdated, AfterValidator(_storable_history)])
_PLAN = TypeAdapter(Annotated[ChargePlanPublished, AfterValidator(_storable_history)])
_ACTIVITY = TypeAdapter(Annotated[VehicleActivityObserved, AfterValidator(_storable_history)])


def market_group_id(consumer_group: str) -> str:
    """The consumer group of the market (and history) subscriber: ``store.market`` next to
    ``store``.

    A group of its own so that the telemetry consumer and the market consumer never make
    each other rebalance (on joining, leaving or a restart of either); in one group, every
    start of the service waited ~8 s longer for the broker to settle the group.
    """
    return f"{consumer_group}.market"


def build_market_router(
    market: MarketRepo,
    history: VehicleHistoryRepo,
    metrics: StoreMetrics,
    *,
    group_id: str,
    max_poll_interval_ms: int = 300_000,
) -> KafkaRouter:
    """One subscriber for the five market, weather and forecast topics and the five vehicle
    history, plan and activity topics (drives, charges, behaviour profiles, charge plans,
    vehicle activity).

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

    async def store_drive(body: bytes) -> WriteResult:
        return await history.save_drives([domain.drive_row(_DRIVE.validate_json(body))])

    async def store_charge(body: bytes) -> WriteResult:
        return await history.save_charges([domain.charge_row(_CHARGE.validate_json(body))])

    async def store_profile(body: bytes) -> WriteResult:
        event = _PROFILE.validate_json(body)
        return await history.save_behaviour_profile(domain.profile_row(event))

    async def store_plan(body: bytes) -> WriteResult:
        return await history.save_charge_plan(domain.plan_row(_PLAN.validate_json(body)))

    async def store_activity(body: bytes) -> WriteResult:
        return await history.save_activity(domain.activity_row(_ACTIVITY.validate_json(body)))

    routes: dict[str, tuple[str, Callable[[bytes], Awaitable[WriteResult]]]] = {
        SPOT_PRICES_PUBLISHED_V1: ("spot_prices", store_spot_prices),
        EXCHANGE_RATES_PUBLISHED_V1: ("exchange_rates", store_exchange_rates),
        WEATHER_FORECAST_PUBLISHED_V1: ("weather_forecasts", store_weather_forecast),
        PRICE_FORECAST_PUBLISHED_V1: ("price_forecasts", store_price_forecast),
        PRICE_ANOMALY_DETECTED_V1: ("price_anomalies", store_price_anomaly),
        DRIVE_RECORDED_V1: ("drives", store_drive),
        CHARGE_RECORDED_V1: ("charges", store_charge),
        BEHAVIOUR_PROFILE_UPDATED_V1: ("behaviour_profiles", store_profile),
        CHARGE_PLAN_PUBLISHED_V1: ("charge_plans", store_plan),
        VEHICLE_ACTIVITY_OBSERVED_V1: ("vehicle_activity", store_activity),
    }

    @router.subscriber(
        *routes,
        group_id=group_id,
        max_poll_interval_ms=max_poll_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title="store/on_market_event",
        description="Stores market data, weather, price forecasts, drive and charge history, "
        "behaviour profiles and charge plans: "
        f"{SPOT_PRICES_PUBLISHED_V1} (SpotPricesPublished; a slot keeps its highest revision, "
        "ties: the later fetch), "
        f"{EXCHANGE_RATES_PUBLISHED_V1} (ExchangeRatesPublished), "
        f"{WEATHER_FORECAST_PUBLISHED_V1} (WeatherForecastPublished; every run kept), "
        f"{PRICE_FORECAST_PUBLISHED_V1} (PriceForecastPublished; every issue kept), "
        f"{PRICE_ANOMALY_DETECTED_V1} (PriceAnomalyDetected), "
        f"{DRIVE_RECORDED_V1} (DriveRecorded) and {CHARGE_RECORDED_V1} (ChargeRecorded; "
        "by Tessie's id, a changed record replaces the stored one), "
        f"{BEHAVIOUR_PROFILE_UPDATED_V1} (BehaviourProfileUpdated) and "
        f"{CHARGE_PLAN_PUBLISHED_V1} (ChargePlanPublished; every one kept, the newest per "
        "vehicle served) and "
        f"{VEHICLE_ACTIVITY_OBSERVED_V1} (VehicleActivityObserved; the latest observation per "
        "vehicle, keeping when the activity began).",
    )
    async def on_market_event(message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)  # a single-message subscriber, not a batch
        if record.value is None:
            # A tombstone on the compacted profiles topic: a vehicle's erasure, whose rows
            # the store deletes itself (erasure_handlers).
            return
        table, store = routes[record.topic]
        metrics.count_write(table, await store(message.body))

    return router
