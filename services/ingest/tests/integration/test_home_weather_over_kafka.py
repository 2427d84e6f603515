"""A behaviour profile on the real broker (Tansu) makes ingest forecast that vehicle's home
area: the whole ingest app, the MET fake (tools/market-fakes), profile in, forecast out."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from tc_common.clock import FixedClock
from tc_common.events import BehaviourProfileUpdated
from tc_common.events.behaviour import ChargingLocation
from tc_common.events.weather import WeatherForecastPublished
from tc_common.settings import KafkaSettings
from tc_common.topics import BEHAVIOUR_PROFILE_UPDATED_V1, WEATHER_FORECAST_PUBLISHED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, MarketSettings, TessieSettings, WeatherSettings
from tc_market_fakes.server import running_market_fakes

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)


async def first_forecast(
    bootstrap: str, location_id: str, timeout_s: float
) -> WeatherForecastPublished:
    consumer = AIOKafkaConsumer(
        WEATHER_FORECAST_PUBLISHED_V1,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        if record.key != location_id.encode():
                            continue
                        try:
                            return WeatherForecastPublished.model_validate_json(record.value or b"")
                        except ValidationError:
                            continue
    finally:
        await consumer.stop()


async def test_a_published_profile_makes_ingest_forecast_the_vehicles_home_area(
    kafka: LocalKafka,
) -> None:
    vin = f"TEST{uuid.uuid4().hex[:13].upper()}"
    clock = FixedClock(NOW)
    profile = BehaviourProfileUpdated(
        vehicle_id=vin,
        computed_at=NOW,
        learning_state="ready",
        days_observed=20,
        days_until_ready=0,
        days_until_fully_trained=10,
        locations=(
            ChargingLocation(
                kind="home",
                latitude_deg=63.412345,
                longitude_deg=10.398765,
                sessions=12,
                share_of_sessions=0.9,
            ),
        ),
    )
    with running_market_fakes(now=clock) as fakes:
        settings = IngestSettings(
            # No Tessie and no prices here: only the weather part is under test.
            tessie=TessieSettings(base_url="http://127.0.0.1:9", token="tessie-token-unused"),
            kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
            market=MarketSettings(enabled=False, zones=[]),
            weather=WeatherSettings(met_base_url=fakes.met_base_url),
        )
        async with LifespanManager(
            create_app(settings, clock=clock), startup_timeout=60, shutdown_timeout=30
        ):
            producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(
                    BEHAVIOUR_PROFILE_UPDATED_V1,
                    profile.model_dump_json().encode(),
                    key=profile.kafka_key(),
                )
            finally:
                await producer.stop()
            forecast = await first_forecast(kafka.bootstrap_servers, f"home:{vin}", 60)
        truth = fakes.forecast(63.41, 10.40)
        met_requests = fakes.stats()["requests"]["met"]

    assert (forecast.latitude_deg, forecast.longitude_deg) == (63.41, 10.4)
    assert forecast.updated_at == truth.updated_at
    assert forecast.slots
    assert met_requests >= 1
