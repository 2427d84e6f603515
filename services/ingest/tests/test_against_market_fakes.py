"""The market and weather clients against the local fake servers (tools/market-fakes)."""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from tc_common.clock import FixedClock
from tc_ingest.adapters.entsoe import EntsoeClient
from tc_ingest.adapters.hvakosterstrommen import HvakosterstrommenClient
from tc_ingest.adapters.met import MetClient
from tc_ingest.adapters.norgesbank import NorgesBankClient
from tc_ingest.domain.market import expected_slot_count, is_complete
from tc_ingest.errors import MarketAuthError
from tc_ingest.settings import MarketSettings, WeatherSettings
from tc_market_fakes.server import RunningMarketFakes, running_market_fakes
from tc_testkit.recorders import RecordedSleeps

TOKEN = "entsoe-token-123456"
# Tuesday 4 November 2025, 12:00 CET: before the 12:45 publication of the 5th.
BEFORE_PUBLICATION = datetime(2025, 11, 4, 11, 0, tzinfo=UTC)
AFTER_PUBLICATION = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)  # 13:30 CET


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AFTER_PUBLICATION)


@pytest.fixture
def fakes(clock: FixedClock) -> Iterator[RunningMarketFakes]:
    with running_market_fakes(token=TOKEN, seed=1, now=clock, publication_cet="12:45") as running:
        yield running


@pytest.fixture
def settings(fakes: RunningMarketFakes) -> MarketSettings:
    return MarketSettings(
        entsoe_base_url=fakes.entsoe_base_url,
        hvakosterstrommen_base_url=fakes.hvakosterstrommen_base_url,
        norgesbank_base_url=fakes.norgesbank_base_url,
        timeout_s=10,
    )


def as_truth(prices: Sequence[tuple[datetime, datetime, float]]) -> list[tuple[datetime, datetime]]:
    return [(start, end) for start, end, _ in prices]


class TestEntsoeAgainstFake:
    @pytest.mark.parametrize(
        "day",
        [date(2025, 11, 4), date(2025, 10, 26), date(2025, 3, 30), date(2024, 6, 3)],
    )
    async def test_prices_equal_the_model_truth_including_dst_days(
        self, fakes: RunningMarketFakes, settings: MarketSettings, day: date
    ) -> None:
        client = EntsoeClient(settings, TOKEN)
        try:
            [prices] = await client.fetch_days("NO3", day, day)
        finally:
            await client.aclose()

        truth = fakes.prices("NO3", day)
        assert is_complete(prices)
        assert len(prices.slots) == expected_slot_count(day, prices.resolution_min)
        assert [(s.start_at, s.end_at) for s in prices.slots] == as_truth(truth)
        assert [s.price_eur_per_mwh for s in prices.slots] == pytest.approx(
            [p for _, _, p in truth], abs=0.005
        )

    async def test_tomorrow_is_not_published_before_12_45_cet_and_is_after(
        self, fakes: RunningMarketFakes, settings: MarketSettings, clock: FixedClock
    ) -> None:
        client = EntsoeClient(settings, TOKEN)
        tomorrow = date(2025, 11, 5)
        try:
            clock.set(BEFORE_PUBLICATION)
            before = await client.fetch_days("NO1", tomorrow, tomorrow)
            clock.set(AFTER_PUBLICATION)
            after = await client.fetch_days("NO1", tomorrow, tomorrow)
        finally:
            await client.aclose()

        assert before == []
        assert [d.delivery_date for d in after] == [tomorrow]

    async def test_429_with_retry_after_is_retried(
        self, fakes: RunningMarketFakes, settings: MarketSettings
    ) -> None:
        fakes.inject_faults(route="entsoe", status=429, count=2, retry_after_s=1)
        sleeps = RecordedSleeps()
        client = EntsoeClient(settings, TOKEN, sleep=sleeps)
        try:
            days = await client.fetch_days("NO2", date(2025, 11, 4), date(2025, 11, 4))
        finally:
            await client.aclose()

        assert len(days) == 1
        assert sleeps.delays == [1.0, 1.0]
        assert fakes.stats()["faults_served"]["entsoe"] == 2

    async def test_a_wrong_token_is_an_auth_error(
        self, fakes: RunningMarketFakes, settings: MarketSettings
    ) -> None:
        client = EntsoeClient(settings, "not-the-token-000")
        try:
            with pytest.raises(MarketAuthError):
                await client.fetch_days("NO1", date(2025, 11, 4), date(2025, 11, 4))
        finally:
            await client.aclose()


class TestOtherSourcesAgainstFakes:
    async def test_hvakosterstrommen_prices_equal_the_truth_and_tomorrow_404s_early(
        self, fakes: RunningMarketFakes, settings: MarketSettings, clock: FixedClock
    ) -> None:
        client = HvakosterstrommenClient(settings)
        try:
            day = await client.fetch_day("NO5", date(2025, 11, 4))
            clock.set(BEFORE_PUBLICATION)
            early = await client.fetch_day("NO5", date(2025, 11, 5))
        finally:
            await client.aclose()

        assert early is None
        assert day is not None
        truth = fakes.prices("NO5", date(2025, 11, 4))
        assert [(s.start_at, s.end_at) for s in day.slots] == as_truth(truth)
        assert [s.price_eur_per_mwh for s in day.slots] == pytest.approx(
            [p for _, _, p in truth], abs=0.01
        )
        assert day.eur_nok is not None
        assert all(s.price_nok_ore_per_kwh is not None for s in day.slots)

    async def test_norges_bank_rates_match_the_model_per_euro(
        self, fakes: RunningMarketFakes, settings: MarketSettings
    ) -> None:
        client = NorgesBankClient(settings)
        try:
            rates = await client.fetch_rates(date(2025, 10, 27), date(2025, 11, 2))
        finally:
            await client.aclose()

        # Mon-Fri fixings only; the weekend is not a business day.
        assert sorted(rates) == [date(2025, 10, 27) + timedelta(days=n) for n in range(5)]
        for day, got in rates.items():
            truth = fakes.model.eur_rates(day)
            assert truth is not None
            for currency in ("NOK", "SEK", "DKK"):
                assert got[currency] == pytest.approx(truth[currency], rel=1e-3)

    async def test_met_answers_304_after_expires_and_the_forecast_is_reused(
        self, fakes: RunningMarketFakes, clock: FixedClock
    ) -> None:
        client = MetClient(WeatherSettings(met_base_url=fakes.met_base_url), clock=clock)
        try:
            first = await client.fetch(63.4305, 10.3951)
            clock.advance(timedelta(minutes=31))
            second = await client.fetch(63.4305, 10.3951)
        finally:
            await client.aclose()

        stats = fakes.stats()
        assert first.fresh
        assert len(first.forecast.slots) > 60
        assert first.forecast.slots[0].end_at - first.forecast.slots[0].start_at == timedelta(
            hours=1
        )
        assert first.forecast.slots[-1].end_at - first.forecast.slots[-1].start_at == timedelta(
            hours=6
        )
        # Seed and clock are fixed: no new model run between the two requests.
        assert fakes.forecast(63.4305, 10.3951).updated_at == first.forecast.updated_at
        assert not second.fresh
        assert second.forecast == first.forecast
        assert stats["not_modified"] == 1
        assert stats["requests"]["met"] == 2

    async def test_met_refuses_a_generic_user_agent(self, fakes: RunningMarketFakes) -> None:
        client = MetClient(
            WeatherSettings(met_base_url=fakes.met_base_url, user_agent="python-requests/2.32"),
            clock=FixedClock(AFTER_PUBLICATION),
        )
        try:
            with pytest.raises(MarketAuthError):
                await client.fetch(63.4305, 10.3951)
        finally:
            await client.aclose()
