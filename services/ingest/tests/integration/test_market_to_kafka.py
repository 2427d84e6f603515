"""The whole ingest app publishes spot prices from the market fakes to a real broker (Tansu)."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from tc_common.clock import FixedClock
from tc_common.events.market import BiddingZone, SpotPricesPublished
from tc_common.settings import KafkaSettings
from tc_common.topics import SPOT_PRICES_PUBLISHED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, MarketSettings, TessieSettings, WeatherSettings
from tc_market_fakes.server import running_market_fakes

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TOKEN = "entsoe-token-123456"
ZONE: BiddingZone = "NO4"
# Saturday 29 March 2025, 14:00 CET: tomorrow is the spring-forward day (23 hours).
NOW = datetime(2025, 3, 29, 13, 0, tzinfo=UTC)
TOMORROW = date(2025, 3, 30)


async def consume_prices(
    bootstrap: str,
    until: Callable[[list[tuple[bytes | None, SpotPricesPublished]]], bool],
    timeout_s: float,
) -> list[tuple[bytes | None, SpotPricesPublished]]:
    consumer = AIOKafkaConsumer(
        SPOT_PRICES_PUBLISHED_V1,
        bootstrap_servers=bootstrap,
        group_id=f"ingest-market-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[tuple[bytes | None, SpotPricesPublished]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not until(seen):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        try:
                            event = SpotPricesPublished.model_validate_json(record.value or b"")
                        except ValidationError:
                            continue
                        # The session broker is shared: keep only this test's zone and day.
                        if event.zone == ZONE and event.delivery_date == TOMORROW:
                            seen.append((record.key, event))
    finally:
        await consumer.stop()
    return seen


async def test_the_market_poller_publishes_tomorrows_complete_dst_day_keyed_by_zone(
    kafka: LocalKafka,
) -> None:
    clock = FixedClock(NOW)
    with running_market_fakes(token=TOKEN, seed=1, now=clock) as fakes:
        settings = IngestSettings(
            # No Tessie here: its loop fails on a closed port, which must not stop the market.
            tessie=TessieSettings(base_url="http://127.0.0.1:9", token="tessie-token-unused"),
            kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
            market=MarketSettings(
                zones=[ZONE],
                entsoe_token=TOKEN,
                entsoe_base_url=fakes.entsoe_base_url,
                hvakosterstrommen_base_url=fakes.hvakosterstrommen_base_url,
                norgesbank_base_url=fakes.norgesbank_base_url,
                backfill_days=2,
            ),
            weather=WeatherSettings(met_base_url=fakes.met_base_url),
        )
        async with LifespanManager(
            create_app(settings, clock=clock), startup_timeout=60, shutdown_timeout=30
        ):
            seen = await consume_prices(kafka.bootstrap_servers, lambda got: bool(got), 60)
        truth = fakes.prices(ZONE, TOMORROW)

    key, event = seen[0]
    assert key == ZONE.encode()
    assert event.source == "entsoe"
    assert len(event.slots) == 23
    assert [(s.start_at, s.end_at) for s in event.slots] == [(a, b) for a, b, _ in truth]
    assert [s.price_eur_per_mwh for s in event.slots] == pytest.approx(
        [p for _, _, p in truth], abs=0.005
    )
    assert event.eur_nok is not None
    first = event.slots[0]
    assert first.price_nok_ore_per_kwh == pytest.approx(
        first.price_eur_per_mwh * event.eur_nok / 10, abs=1e-3
    )
    assert event.fetched_at == NOW.astimezone(UTC)
