"""Kafka topic names: the only place a topic string is written.

Names follow ``<domain>.<event>.v<major>``. A breaking schema change gets a new class and a new
topic (``...v2``); both run side by side until every consumer has moved. Messages on the
vehicle topics are keyed by the vehicle id so per-vehicle order holds within a partition.
"""

from typing import Final

TELEMETRY_SAMPLED_V1: Final = "vehicle.telemetry.v1"
STATE_OF_CHARGE_CHANGED_V1: Final = "forecast.soc.v1"
PROVISIONING_REQUESTED_V1: Final = "provisioning.requested.v1"
PROVISIONING_ACKNOWLEDGED_V1: Final = "provisioning.acknowledged.v1"
DEAD_LETTER_V1: Final = "ops.deadletter.v1"
SPOT_PRICES_PUBLISHED_V1: Final = "market.spot_prices.v1"
EXCHANGE_RATES_PUBLISHED_V1: Final = "market.fx_rates.v1"
WEATHER_FORECAST_PUBLISHED_V1: Final = "weather.forecast.v1"
PRICE_FORECAST_PUBLISHED_V1: Final = "forecast.prices.v1"
PRICE_ANOMALY_DETECTED_V1: Final = "forecast.price_anomalies.v1"
DRIVE_RECORDED_V1: Final = "vehicle.drives.v1"
CHARGE_RECORDED_V1: Final = "vehicle.charges.v1"
BEHAVIOUR_PROFILE_UPDATED_V1: Final = "forecast.behaviour.v1"
CHARGE_PLAN_PUBLISHED_V1: Final = "forecast.plans.v1"
VEHICLE_ACTIVITY_OBSERVED_V1: Final = "vehicle.activity.v1"

ALL_TOPICS: Final = (
    TELEMETRY_SAMPLED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    PROVISIONING_REQUESTED_V1,
    PROVISIONING_ACKNOWLEDGED_V1,
    DEAD_LETTER_V1,
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
)
