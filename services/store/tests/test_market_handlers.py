"""Market, weather and forecast handlers with the in-memory broker and a fake repository."""

import json
from collections.abc import Sequence

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.events import Event
from tc_common.messaging import build_broker
from tc_common.settings import KafkaSettings
from tc_common.topics import (
    EXCHANGE_RATES_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_store import domain
from tc_store.domain import WriteResult
from tc_store.handlers import build_market_router
from tc_store.metrics import StoreMetrics

from .market_events import (
    DST_DAY,
    DST_DAY_START,
    exchange_rates,
    price_anomaly,
    price_forecast,
    spot_prices,
    weather_forecast,
)
from .support import QUICK_FAILURES, FakeMarketRepo, dead_letters, rows_metric


class _NoHistory:
    """No history event is published in these tests; any write is a bug."""

    async def save_drives(self, rows: Sequence[domain.DriveRow]) -> WriteResult:
        raise AssertionError("unexpected drive write")

    async def save_charges(self, rows: Sequence[domain.ChargeRow]) -> WriteResult:
        raise AssertionError("unexpected charge write")

    async def save_behaviour_profile(self, row: domain.ProfileRow) -> WriteResult:
        raise AssertionError("unexpected profile write")

    async def save_charge_plan(self, row: domain.PlanRow) -> WriteResult:
        raise AssertionError("unexpected plan write")


@pytest.fixture
def market() -> FakeMarketRepo:
    return FakeMarketRepo()


@pytest.fixture
def broker(market: FakeMarketRepo, registry: CollectorRegistry) -> KafkaBroker:
    broker = build_broker(
        KafkaSettings(), service="store", registry=registry, failures=QUICK_FAILURES
    )
    broker.include_router(
        build_market_router(market, _NoHistory(), StoreMetrics.create(registry), group_id="store")
    )
    return broker


@pytest.mark.parametrize(
    ("topic", "event", "method", "table", "expected_rows"),
    [
        pytest.param(
            SPOT_PRICES_PUBLISHED_V1,
            spot_prices(delivery_date=DST_DAY, start=DST_DAY_START, count=92),
            "spot_prices",
            "spot_prices",
            domain.spot_price_rows,
            id="spot-prices-dst-day",
        ),
        pytest.param(
            EXCHANGE_RATES_PUBLISHED_V1,
            exchange_rates(),
            "exchange_rates",
            "exchange_rates",
            domain.exchange_rate_rows,
            id="exchange-rates",
        ),
        pytest.param(
            WEATHER_FORECAST_PUBLISHED_V1,
            weather_forecast(),
            "weather_forecast",
            "weather_forecasts",
            domain.weather_forecast_rows,
            id="weather",
        ),
        pytest.param(
            PRICE_FORECAST_PUBLISHED_V1,
            price_forecast(),
            "price_forecast",
            "price_forecasts",
            domain.price_forecast_rows,
            id="price-forecast",
        ),
        pytest.param(
            PRICE_ANOMALY_DETECTED_V1,
            price_anomaly(),
            "price_anomalies",
            "price_anomalies",
            lambda e: [domain.price_anomaly_row(e)],
            id="price-anomaly",
        ),
    ],
)
async def test_each_event_is_written_in_one_call_with_its_rows_and_counted_by_table(
    broker, market, registry, topic: str, event: Event, method, table, expected_rows
) -> None:
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(event, topic, key=event.kafka_key())
        await test_broker.publish(event, topic, key=event.kafka_key())

    rows = expected_rows(event)
    assert market.calls == [(method, rows), (method, rows)]
    assert rows_metric(registry, "written", table) == len(rows)
    assert rows_metric(registry, "unchanged", table) == len(rows)


async def test_malformed_spot_prices_are_dead_lettered_and_not_written(broker, market) -> None:
    received = dead_letters(broker)

    body = json.dumps({"zone": "NO9", "slots": []}).encode()
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body, SPOT_PRICES_PUBLISHED_V1, key=b"NO9")

    assert market.calls == []
    assert [(r.consumer, r.source_topic) for r in received] == [("store", SPOT_PRICES_PUBLISHED_V1)]
    assert "zone" in received[0].reason
    assert "delivery_date" in received[0].reason


async def test_spot_prices_whose_slots_contradict_the_resolution_are_dead_lettered(
    broker, market
) -> None:
    received = dead_letters(broker)

    wrong = spot_prices(resolution_min=15, count=4).model_copy(update={"resolution_min": 60})
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(wrong, SPOT_PRICES_PUBLISHED_V1, key=b"NO3")

    assert market.calls == []
    assert len(received) == 1
    assert "not the 60 min of resolution_min" in received[0].reason


async def test_an_unexpected_repository_error_is_retried_then_dead_lettered(broker, market) -> None:
    received = dead_letters(broker)
    market.fail_with = RuntimeError("disk full")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(weather_forecast(), WEATHER_FORECAST_PUBLISHED_V1)

    assert market.calls == []
    assert [letter.reason for letter in received] == [
        f"RuntimeError: disk full (failed {QUICK_FAILURES.max_attempts} times)"
    ]


def test_every_market_table_is_exported_from_the_start(registry) -> None:
    StoreMetrics.create(registry)

    assert rows_metric(registry, "written", "price_anomalies") == 0.0
    assert registry.get_sample_value("tc_store_rows_written_total", {"table": "spot_prices"}) == 0.0
