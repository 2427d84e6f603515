"""The whole ingest app publishes spot prices from the market fakes to a real broker (Tansu)."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import FixedClock
from tc_common.events.market import BiddingZone, SpotPricesPublished
from tc_common.settings import KafkaSettings
from tc_common.topics import SPOT_PRICES_PUBLISHED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, MarketSettings, TessieSettings, WeatherSettings
from tc_market_fakes.server import running_market_fakes
from tc_testkit.kafka import event_of, first
from tc_testkit.service_app import until_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TOKEN = "entsoe-token-123456"
ZONE: BiddingZone = "NO4"
# Saturday 29 March 2025, 14:00 CET: tomorrow is the spring-forward day (23 hours).
NOW = datetime(2025, 3, 29, 13, 0, tzinfo=UTC)
TOMORROW = date(2025, 3, 30)


def tomorrow_in_zone(record: Any) -> tuple[bytes | None, SpotPricesPublished] | None:
    """This test's prices: the session's broker is shared, other tests publish other days."""
    event = event_of(SpotPricesPublished, record)
    if event is None or event.zone != ZONE or event.delivery_date != TOMORROW:
        return None
    return record.key, event


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
        app = create_app(settings, clock=clock)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            # Started for real before the quick body ends: a shutdown during the broker's
            # start waits for it (CI: the shutdown timed out once).
            await until_ready(app)
            key, event = await first(
                kafka.bootstrap_servers,
                SPOT_PRICES_PUBLISHED_V1,
                tomorrow_in_zone,
                timeout_s=60,
                what=f"{ZONE} prices of {TOMORROW}",
            )
        truth = fakes.prices(ZONE, TOMORROW)

    assert key == ZONE.encode()
    assert event.source == "entsoe"
    assert len(event.slots) == 23
    assert [(s.start_at, s.end_at) for s in event.slots] == [(a, b) for a, b, _ in truth]
    assert [s.price_eur_per_mwh for s in event.slots] == pytest.approx(
        [p for _, _, p in truth], abs=0.005
    )
    assert event.eur_nok is not None
    slot = event.slots[0]
    assert slot.price_nok_ore_per_kwh == pytest.approx(
        slot.price_eur_per_mwh * event.eur_nok / 10, abs=1e-3
    )
    assert event.fetched_at == NOW.astimezone(UTC)
