"""A behaviour profile on the real broker (Tansu) makes ingest forecast that vehicle's home
area: the whole ingest app, the MET fake (tools/market-fakes), profile in, forecast out."""

import uuid
from datetime import UTC, datetime

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import FixedClock
from tc_common.events.weather import WeatherForecastPublished
from tc_common.settings import KafkaSettings
from tc_common.topics import BEHAVIOUR_PROFILE_UPDATED_V1, WEATHER_FORECAST_PUBLISHED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, MarketSettings, TessieSettings, WeatherSettings
from tc_market_fakes.server import running_market_fakes
from tc_testkit import history
from tc_testkit.kafka import first, keyed, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)


async def test_a_published_profile_makes_ingest_forecast_the_vehicles_home_area(
    kafka: LocalKafka,
) -> None:
    vin = f"TEST{uuid.uuid4().hex[:13].upper()}"
    clock = FixedClock(NOW)
    home = history.location(latitude_deg=63.412345, longitude_deg=10.398765)
    profile = history.profile(NOW, vehicle_id=vin, days_observed=20, locations=(home,))
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
            await produce(kafka.bootstrap_servers, BEHAVIOUR_PROFILE_UPDATED_V1, [profile])
            forecast = await first(
                kafka.bootstrap_servers,
                WEATHER_FORECAST_PUBLISHED_V1,
                keyed(f"home:{vin}".encode(), WeatherForecastPublished),
                timeout_s=60,
                what="a forecast of the home area",
            )
        truth = fakes.forecast(63.41, 10.40)
        met_requests = fakes.stats()["requests"]["met"]

    assert (forecast.latitude_deg, forecast.longitude_deg) == (63.41, 10.4)
    assert forecast.updated_at == truth.updated_at
    assert forecast.slots
    assert met_requests >= 1
