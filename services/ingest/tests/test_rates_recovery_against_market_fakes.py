"""Prices first published while Norges Bank is down get their øre/kWh once it answers again:
the market poller with the real clients against the local fakes (tools/market-fakes)."""

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events.market import ExchangeRatesPublished, SpotPricesPublished
from tc_ingest.adapters.entsoe import EntsoeClient
from tc_ingest.adapters.norgesbank import CachedExchangeRates, NorgesBankClient
from tc_ingest.errors import MarketUnavailableError
from tc_ingest.market_poller import MarketPoller
from tc_ingest.metrics import MarketMetrics
from tc_ingest.settings import MarketSettings
from tc_market_fakes.server import RunningMarketFakes, running_market_fakes
from tc_testkit.recorders import RecordingPublisher

TOKEN = "entsoe-token-123456"
# Tuesday 4 November 2025, 13:30 CET: tomorrow's prices are out, today's rate is not (16:00).
NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)
TODAY, TOMORROW = date(2025, 11, 4), date(2025, 11, 5)
# Both days convert at the auction day's rate in force: Monday's fixing.
RATE_DAY = date(2025, 11, 3)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def fakes(clock: FixedClock) -> Iterator[RunningMarketFakes]:
    with running_market_fakes(token=TOKEN, seed=1, now=clock, publication_cet="12:45") as running:
        yield running


@pytest.fixture
def metrics() -> MarketMetrics:
    return MarketMetrics(CollectorRegistry())


@pytest.fixture
async def make_poller(
    fakes: RunningMarketFakes,
    clock: FixedClock,
    publisher: RecordingPublisher,
    metrics: MarketMetrics,
) -> AsyncIterator[Callable[..., MarketPoller]]:
    # One attempt per request: a fault is a failed refresh at once, no retry sleeps.
    settings = MarketSettings(
        entsoe_base_url=fakes.entsoe_base_url,
        norgesbank_base_url=fakes.norgesbank_base_url,
        timeout_s=10,
        max_attempts=1,
    )
    entsoe = EntsoeClient(settings, TOKEN, clock=clock)
    norgesbank = NorgesBankClient(settings, clock=clock)

    def build(**kwargs: object) -> MarketPoller:
        rates = CachedExchangeRates(
            norgesbank, clock=clock, lookback_days=14, refresh_interval=timedelta(hours=6)
        )
        return MarketPoller(
            publisher,
            clock=clock,
            metrics=metrics,
            zones=["NO1"],
            price_sources={"NO1": entsoe},
            rates=rates,
            **kwargs,  # type: ignore[arg-type]
        )

    yield build
    await entsoe.aclose()
    await norgesbank.aclose()


async def test_days_published_without_a_rate_are_republished_with_ore_once_it_recovers(
    fakes: RunningMarketFakes,
    clock: FixedClock,
    publisher: RecordingPublisher,
    metrics: MarketMetrics,
    make_poller: Callable[..., MarketPoller],
) -> None:
    poller = make_poller()
    fakes.inject_faults(route="norgesbank", status=503, count=2)

    with pytest.raises(MarketUnavailableError):
        await poller.poll_rates()
    await poller.poll_live()
    await poller.flush()
    first = publisher.of(SpotPricesPublished)
    awaiting = poller.days_awaiting_rate()

    clock.advance(timedelta(minutes=30))
    with pytest.raises(MarketUnavailableError):  # still down: nothing to re-publish yet
        await poller.poll_rates()
    await poller.flush()
    assert publisher.of(SpotPricesPublished) == first

    clock.advance(timedelta(minutes=30))
    await poller.poll_rates()
    await poller.flush()
    republished = publisher.of(SpotPricesPublished)[len(first) :]

    assert [(e.delivery_date, e.revision, e.eur_nok) for e in first] == [
        (TODAY, 0, None),
        (TOMORROW, 0, None),
    ]
    assert all(s.price_nok_ore_per_kwh is None for e in first for s in e.slots)
    assert awaiting == {("NO1", TODAY), ("NO1", TOMORROW)}
    assert fakes.stats()["faults_served"]["norgesbank"] == 2

    truth = fakes.model.eur_rates(RATE_DAY)
    assert truth is not None
    assert [(e.delivery_date, e.revision) for e in republished] == [(TODAY, 1), (TOMORROW, 1)]
    for old, new in zip(first, republished, strict=True):
        assert new.eur_nok == pytest.approx(truth["NOK"], rel=1e-4)
        assert [s.price_eur_per_mwh for s in new.slots] == [s.price_eur_per_mwh for s in old.slots]
        assert [s.price_nok_ore_per_kwh for s in new.slots] == pytest.approx(
            [s.price_eur_per_mwh * truth["NOK"] / 10 for s in new.slots], abs=2e-3
        )
        # The store keeps the greater (revision, fetched_at): the new event replaces the old.
        assert (new.revision, new.fetched_at) > (old.revision, old.fetched_at)
        assert (new.zone, new.delivery_date, new.resolution_min) == (
            old.zone,
            old.delivery_date,
            old.resolution_min,
        )
    # The rates go out before the prices converted with them.
    kinds = [type(e).__name__ for e in publisher.published[len(first) :]]
    assert kinds.index("SpotPricesPublished") > kinds.index("ExchangeRatesPublished")
    assert any(
        isinstance(e, ExchangeRatesPublished) and e.rate_date == RATE_DAY
        for e in publisher.published
    )
    assert poller.days_awaiting_rate() == set()
    assert metrics.prices_days_awaiting_rate._value.get() == 0

    # Priced now: a later refresh or re-fetch publishes nothing more.
    await poller.poll_rates()
    await poller.poll_live()
    await poller.flush()
    assert len(publisher.of(SpotPricesPublished)) == 4


async def test_only_the_recent_days_wait_for_a_rate(
    fakes: RunningMarketFakes,
    publisher: RecordingPublisher,
    metrics: MarketMetrics,
    make_poller: Callable[..., MarketPoller],
) -> None:
    poller = make_poller(backfill_days=5, nok_refill_days=2)
    fakes.inject_faults(route="norgesbank", status=503, count=1)

    with pytest.raises(MarketUnavailableError):
        await poller.poll_rates()
    await poller.backfill()
    await poller.poll_live()
    await poller.flush()
    awaiting = poller.days_awaiting_rate()
    gauge = metrics.prices_days_awaiting_rate._value.get()
    await poller.poll_rates()
    await poller.flush()

    without_ore = [e.delivery_date for e in publisher.of(SpotPricesPublished) if e.eur_nok is None]
    republished = [e.delivery_date for e in publisher.of(SpotPricesPublished) if e.revision == 1]
    recent = [TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY, TOMORROW]
    assert sorted(without_ore) == [TODAY - timedelta(days=n) for n in range(5, -2, -1)]
    assert awaiting == {("NO1", day) for day in recent}
    assert gauge == 4
    assert sorted(republished) == recent
