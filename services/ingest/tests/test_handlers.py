"""Behaviour profiles in (FastStream's in-memory TestKafkaBroker): each vehicle's home area
becomes a weather point of the market poller."""

import json
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events import BehaviourProfileUpdated
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    TESSIE_ACCESS_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
)
from tc_ingest.domain.weather import WeatherFetch
from tc_ingest.handlers import build_router
from tc_ingest.main import create_app
from tc_ingest.market_poller import MarketPoller, WeatherLocation
from tc_ingest.metrics import MarketMetrics
from tc_ingest.settings import IngestSettings
from tc_testkit import history

from .support import TOKEN, VIN_A, VIN_B

NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)


class NoWeather:
    async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch:
        raise AssertionError("not fetched in these tests")


class NoPublisher:
    async def publish(self, event: object) -> None:
        raise AssertionError("nothing published in these tests")


def profile(vin: str, *places: tuple[str, float, float, int]) -> BehaviourProfileUpdated:
    """A ready profile of ``vin`` charging at ``places`` (kind, latitude, longitude, sessions)."""
    return history.profile(
        NOW,
        vehicle_id=vin,
        days_observed=20,
        locations=tuple(
            history.location(kind, latitude_deg=lat, longitude_deg=lon, sessions=sessions)
            for kind, lat, lon, sessions in places
        ),
    )


@pytest.fixture
def poller() -> MarketPoller:
    return MarketPoller(
        NoPublisher(),
        clock=FixedClock(NOW),
        metrics=MarketMetrics(CollectorRegistry()),
        zones=[],
        price_sources={},
        weather=NoWeather(),
        locations=[WeatherLocation("zone:NO3", 63.4305, 10.3951)],
    )


async def test_a_profiles_home_becomes_a_rounded_weather_point_per_vehicle(
    poller: MarketPoller,
) -> None:
    broker = KafkaBroker()
    broker.include_router(build_router(poller.set_home_area))

    async with TestKafkaBroker(broker) as br:
        for event in (
            profile(VIN_A, ("other", 59.91, 10.75, 30), ("home", 63.412345, 10.398765, 12)),
            profile(VIN_B, ("home", 60.39131, 5.32209, 7)),
        ):
            await br.publish(event, BEHAVIOUR_PROFILE_UPDATED_V1, key=event.kafka_key())

    assert poller.weather_locations[1:] == [
        WeatherLocation(f"home:{VIN_A}", 63.41, 10.4, label="home:…000001"),
        WeatherLocation(f"home:{VIN_B}", 60.39, 5.32, label="home:…000002"),
    ]
    assert poller.weather_locations[0].location_id == "zone:NO3"


async def test_the_latest_profile_wins_and_one_without_a_home_removes_it(
    poller: MarketPoller,
) -> None:
    broker = KafkaBroker()
    broker.include_router(build_router(poller.set_home_area))

    async with TestKafkaBroker(broker) as br:
        moved = profile(VIN_A, ("home", 59.9139, 10.7522, 4))
        for event in (profile(VIN_A, ("home", 63.41, 10.4, 9)), moved):
            await br.publish(event, BEHAVIOUR_PROFILE_UPDATED_V1, key=event.kafka_key())
        after_move = [(w.latitude_deg, w.longitude_deg) for w in poller.weather_locations[1:]]
        await br.publish(profile(VIN_A), BEHAVIOUR_PROFILE_UPDATED_V1, key=VIN_A.encode())

    assert after_move == [(59.91, 10.75)]
    assert [w.location_id for w in poller.weather_locations] == ["zone:NO3"]


async def test_a_tombstone_of_a_profile_removes_the_vehicles_home_point(
    poller: MarketPoller,
) -> None:
    # The forecast service's erasure of a vehicle ends its profile's key with a tombstone.
    broker = KafkaBroker()
    broker.include_router(build_router(poller.set_home_area))

    async with TestKafkaBroker(broker) as br:
        event = profile(VIN_A, ("home", 63.41, 10.4, 9))
        await br.publish(event, BEHAVIOUR_PROFILE_UPDATED_V1, key=event.kafka_key())
        await br.publish(None, BEHAVIOUR_PROFILE_UPDATED_V1, key=VIN_A.encode())

    assert [w.location_id for w in poller.weather_locations] == ["zone:NO3"]


@pytest.mark.parametrize("weather", [True, False])
def test_the_asyncapi_document_lists_the_profile_subscription(weather: bool) -> None:
    settings = IngestSettings(
        tessie={"token": TOKEN, "base_url": "http://127.0.0.1:9"},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
        weather={"enabled": weather},
    )

    document = json.loads(create_app(settings).schema.to_specification().to_json())

    [channel] = [
        c for c in document["channels"].values() if c.get("address") == BEHAVIOUR_PROFILE_UPDATED_V1
    ]
    assert channel
    assert "BehaviourProfileUpdated" in document["components"]["schemas"]
    receives = [
        op["channel"]["$ref"]
        for op in document["operations"].values()
        if op.get("action") == "receive" and "http" not in op.get("bindings", {})
    ]
    assert sorted(receives) == sorted(
        f"#/channels/{topic}:ingest"
        for topic in (
            BEHAVIOUR_PROFILE_UPDATED_V1,
            TESSIE_TOKEN_CHANGED_V1,
            TESSIE_ACCESS_CHANGED_V1,
        )
    )
