"""Live day-ahead prices at every moment of ``tc_testkit.moments``, against the market fakes.

Whatever the hour: today's CET delivery day is published, tomorrow's exactly when the market
has published it, each day whole (23, 24 or 25 hours, or 92/96/100 quarter-hours on DST days),
and the next poll is planned in the future.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events import SpotPricesPublished
from tc_common.events.base import Event
from tc_ingest.adapters.entsoe import EntsoeClient
from tc_ingest.domain.market import delivery_date_of, expected_slot_count
from tc_ingest.market_poller import MarketPoller
from tc_ingest.metrics import MarketMetrics
from tc_ingest.settings import MarketSettings
from tc_market_fakes.server import RunningMarketFakes, running_market_fakes
from tc_testkit.moments import MOMENTS, Moment, each_moment
from tc_testkit.recorders import RecordedSleeps, RecordingPublisher

TOKEN = "entsoe-token-123456"
_CLOCK = FixedClock(MOMENTS[0].at)


@pytest.fixture(scope="module")
def fakes() -> Iterator[RunningMarketFakes]:
    with running_market_fakes(token=TOKEN, seed=1, now=_CLOCK) as running:
        yield running


@each_moment()
async def test_today_and_tomorrow_once_published_come_whole(
    moment: Moment, fakes: RunningMarketFakes
) -> None:
    _CLOCK.set(moment.at)
    now = _CLOCK.now()
    settings = MarketSettings(entsoe_base_url=fakes.entsoe_base_url, timeout_s=10)
    client = EntsoeClient(settings, TOKEN, sleep=RecordedSleeps(), clock=_CLOCK)
    published: RecordingPublisher[Event] = RecordingPublisher()
    poller = MarketPoller(
        published,
        clock=_CLOCK,
        metrics=MarketMetrics(CollectorRegistry()),
        zones=["NO1"],
        price_sources={"NO1": client},
        sleep=RecordedSleeps(),
        jitter=lambda: 0.5,
    )
    try:
        next_at = await poller.poll_live()
        await poller.flush()
    finally:
        await client.aclose()

    today = delivery_date_of(now)
    tomorrow = today + timedelta(days=1)
    expected = [today] + ([tomorrow] if fakes.model.is_published(tomorrow, now) else [])
    days = published.of(SpotPricesPublished)
    assert [d.delivery_date for d in days] == expected, moment
    for day in days:
        assert len(day.slots) == expected_slot_count(day.delivery_date, day.resolution_min)
        truth = fakes.prices("NO1", day.delivery_date)
        assert [s.start_at for s in day.slots] == [start for start, _, _ in truth]
    assert next_at > now
