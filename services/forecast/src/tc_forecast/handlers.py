"""Kafka wiring of the forecast service.

- telemetry in, state-of-charge changes out;
- spot prices in, price forecasts (p10/p50/p90) and price anomalies out.
"""

from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from tc_common.events import (
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    StateOfChargeChanged,
    TelemetrySampled,
)
from tc_common.topics import (
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.domain import track_soc
from tc_forecast.ports import SocStateRepo
from tc_forecast.price_runner import PriceForecastRunner

GROUP_ID = "forecast"


def build_router(
    repo: SocStateRepo, *, soc_step_pct: float, prices: PriceForecastRunner | None = None
) -> KafkaRouter:
    router = KafkaRouter()
    soc_changed = router.publisher(
        STATE_OF_CHARGE_CHANGED_V1,
        schema=StateOfChargeChanged,
        title=f"{STATE_OF_CHARGE_CHANGED_V1}:StateOfChargeChanged",
        description="A vehicle's state of charge moved by the reporting step, or it started or "
        "stopped charging. Keyed by VIN.",
    )

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=GROUP_ID,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{TELEMETRY_SAMPLED_V1}:forecast",
        description="Tracks each vehicle's latest state of charge from its telemetry samples.",
    )
    async def on_telemetry_sampled(event: TelemetrySampled) -> None:
        previous = await repo.get(event.vehicle_id)
        state, change = track_soc(previous, event, step_pct=soc_step_pct)
        # Publish before remembering: if the publish fails the sample is redelivered and the
        # change is computed again instead of being swallowed by the already-updated state.
        if change is not None:
            await soc_changed.publish(change, key=change.kafka_key())
        if state is not None and state != previous:
            await repo.put(state)

    if prices is not None:
        _add_price_routes(router, prices)
    return router


def _add_price_routes(router: KafkaRouter, prices: PriceForecastRunner) -> None:
    forecast_out = router.publisher(
        PRICE_FORECAST_PUBLISHED_V1,
        schema=PriceForecastPublished,
        title=f"{PRICE_FORECAST_PUBLISHED_V1}:PriceForecastPublished",
        description="A zone's spot-price forecast with p10/p50/p90 from the first unpublished "
        "slot up to 7 days ahead. Keyed by zone.",
    )
    anomaly_out = router.publisher(
        PRICE_ANOMALY_DETECTED_V1,
        schema=PriceAnomalyDetected,
        title=f"{PRICE_ANOMALY_DETECTED_V1}:PriceAnomalyDetected",
        description="A spike, a negative price or a regime shift out of the forecast band.",
    )

    async def publish_forecast(event: PriceForecastPublished) -> None:
        await forecast_out.publish(event, key=event.kafka_key())

    async def publish_anomaly(event: PriceAnomalyDetected) -> None:
        await anomaly_out.publish(event, key=event.kafka_key())

    prices.bind(publish_forecast=publish_forecast, publish_anomaly=publish_anomaly)

    # No consumer group: the price history is rebuilt by reading the whole topic from the
    # start on every start, so a restarted forecast service forecasts from full history at
    # once (the topic holds one message per zone and day; a few MB a year).
    @router.subscriber(
        SPOT_PRICES_PUBLISHED_V1,
        group_id=None,
        auto_offset_reset="earliest",
        title=f"{SPOT_PRICES_PUBLISHED_V1}:forecast",
        description="Collects published prices; refits the zone's forecast and flags anomalies.",
    )
    async def on_spot_prices_published(event: SpotPricesPublished) -> None:
        await prices.on_prices(event)
