"""Composition root of the forecast service."""

from functools import partial

import uvicorn
from faststream.asgi import AsgiFastStream
from prometheus_client import CollectorRegistry

from tc_common.clock import Clock
from tc_common.health import with_liveness
from tc_common.logging import configure_logging
from tc_common.messaging import asgi_app, build_broker, ensure_topics
from tc_common.tombstones import send_tombstones
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_PRICES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.adapters import InMemorySocStateRepo
from tc_forecast.adapters.calendar import public_holidays
from tc_forecast.adapters.tariff_rules import load_bundled_tariff_rules
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.departure import predict_departure
from tc_forecast.domain.behaviour.profile import ProfileConfig
from tc_forecast.handlers import build_router
from tc_forecast.plan_prices import ConsumerPricer
from tc_forecast.plan_runner import PlanRunner, PlanSettings
from tc_forecast.price_runner import PriceForecastRunner
from tc_forecast.settings import ForecastSettings

SERVICE = "forecast"


def create_app(
    settings: ForecastSettings | None = None, clock: Clock | None = None
) -> AsgiFastStream:
    settings = settings or ForecastSettings()
    registry = CollectorRegistry()
    broker = build_broker(settings.kafka, service=SERVICE, registry=registry)
    clock = clock or settings.clock()
    prices = PriceForecastRunner(
        clock=clock,
        horizon_days=settings.price_horizon_days,
        debounce_s=settings.price_refit_debounce_s,
    )
    behaviour, plans = build_runners(settings, clock)
    broker.include_router(
        build_router(
            InMemorySocStateRepo(),
            soc_step_pct=settings.soc_step_pct,
            prices=prices,
            behaviour=behaviour,
            plans=plans,
            tombstones=partial(send_tombstones, settings.kafka),
            clock=clock,
            group_id=settings.consumer_group,
        )
    )

    async def create_topics() -> None:
        await ensure_topics(
            settings.kafka,
            [
                TELEMETRY_SAMPLED_V1,
                STATE_OF_CHARGE_CHANGED_V1,
                DEAD_LETTER_V1,
                SPOT_PRICES_PUBLISHED_V1,
                PRICE_FORECAST_PUBLISHED_V1,
                PRICE_ANOMALY_DETECTED_V1,
                DRIVE_RECORDED_V1,
                CHARGE_RECORDED_V1,
                FORECAST_DRIVES_CHANGELOG_V1,
                FORECAST_CHARGES_CHANGELOG_V1,
                FORECAST_PRICES_CHANGELOG_V1,
                FORECAST_VEHICLES_CHANGELOG_V1,
                BEHAVIOUR_PROFILE_UPDATED_V1,
                CHARGE_PLAN_PUBLISHED_V1,
                ACCOUNT_CHANGED_V1,
                ERASURE_STEP_DONE_V1,
            ],
        )

    async def start_runners() -> None:
        prices.start()
        behaviour.start()
        plans.start()

    async def stop_runners() -> None:
        await plans.stop()
        await behaviour.stop()
        await prices.stop()

    return with_liveness(
        asgi_app(
            broker,
            registry,
            title="teslaconnectivity forecast",
            on_startup=[create_topics],
            after_startup=[start_runners],
            on_shutdown=[stop_runners],
        )
    )


def build_runners(settings: ForecastSettings, clock: Clock) -> tuple[BehaviourRunner, PlanRunner]:
    """The behaviour and plan runners as the settings configure them."""
    behaviour = BehaviourRunner(
        clock=clock,
        config=ProfileConfig(
            timezone=settings.timezone, half_life_days=settings.behaviour_half_life_days
        ),
        debounce_s=settings.behaviour_debounce_s,
        refresh_s=settings.behaviour_refresh_s,
        tick_s=min(1.0, settings.behaviour_debounce_s),
    )
    pricer = ConsumerPricer(
        mode=settings.price_mode,
        rules=load_bundled_tariff_rules() if settings.price_mode == "consumer" else None,
        county=settings.consumer_county,
        grid_tariff_id=settings.consumer_grid_tariff_id,
        support_scheme=settings.consumer_support_scheme,
        supplier_markup_ore_per_kwh_ex_vat=settings.consumer_markup_ore_per_kwh,
        fallback_eur_nok=settings.fallback_eur_nok,
    )
    plans = PlanRunner(
        clock=clock,
        behaviour=behaviour,
        pricer=pricer,
        settings=PlanSettings(
            risk_target=settings.risk_target,
            default_zone=settings.default_zone,
            vehicle_zones=dict(settings.vehicle_zones),
            vehicle_targets_pct=dict(settings.vehicle_targets_pct),
            reserve_pct=settings.reserve_pct,
            default_charger_kw=settings.default_charger_kw,
            default_efficiency=settings.default_efficiency,
            default_charge_limit_pct=settings.default_charge_limit_pct,
            soc_step_pct=settings.plan_soc_step_pct,
            interval_s=settings.plan_interval_s,
            scheduled_departure_trust=settings.scheduled_departure_trust,
            scheduled_departure_margin_min=settings.scheduled_departure_margin_min,
            timezone=settings.timezone,
        ),
        tick_s=settings.plan_tick_s,
        startup_grace_s=settings.plan_startup_grace_s,
        predict=partial(predict_departure, days_off=public_holidays(settings.holiday_country)),
    )
    return behaviour, plans


def run() -> None:
    settings = ForecastSettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.http.host, port=settings.http.port, log_config=None
    )
