"""The market poller's decisions with in-memory sources and a publisher that can fail."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events.market import BiddingZone, SpotPriceSlot, SpotPricesPublished
from tc_common.events.weather import WeatherForecastPublished, WeatherSlot
from tc_ingest.domain.market import DayPrices, delivery_day_bounds
from tc_ingest.domain.weather import Forecast, WeatherFetch
from tc_ingest.errors import MarketUnavailableError
from tc_ingest.market_poller import MarketPoller, WeatherLocation
from tc_ingest.metrics import MarketMetrics
from tc_testkit.recorders import RecordingPublisher
from tc_testkit.waiting import eventually

# Tuesday 4 November 2025, 13:30 CET: tomorrow's prices are due.
NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)
TODAY, TOMORROW = date(2025, 11, 4), date(2025, 11, 5)


def day_prices(zone: BiddingZone, day: date, price: float = 50.0, cut: int = 0) -> DayPrices:
    start, end = delivery_day_bounds(day)
    step = timedelta(minutes=15)
    slots = []
    at = start
    while at < end:
        slots.append(SpotPriceSlot(start_at=at, end_at=at + step, price_eur_per_mwh=price))
        at += step
    return DayPrices(zone, day, 15, tuple(slots[: len(slots) - cut]))


class FakePrices:
    """A price source serving the days in ``published``; can fail the next calls."""

    name = "entsoe"

    def __init__(self) -> None:
        self.published: dict[tuple[str, date], DayPrices] = {}
        self.calls: list[tuple[str, date, date]] = []
        self.failures = 0

    def supports(self, zone: BiddingZone) -> bool:
        return True

    async def fetch_days(self, zone: BiddingZone, first: date, last: date) -> list[DayPrices]:
        self.calls.append((zone, first, last))
        if self.failures:
            self.failures -= 1
            raise MarketUnavailableError("entsoe: HTTP 503", source="entsoe")
        return [
            d
            for (z, day), d in sorted(self.published.items())
            if z == zone and first <= day <= last
        ]


class FakeWeather:
    def __init__(self) -> None:
        self.fresh = True
        self.calls = 0

    async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch:
        self.calls += 1
        slot = WeatherSlot(start_at=NOW, end_at=NOW + timedelta(hours=1), air_temperature_c=3.0)
        return WeatherFetch(Forecast(NOW, (slot,)), self.fresh, latitude_deg, longitude_deg)


@pytest.fixture
def source() -> FakePrices:
    return FakePrices()


@pytest.fixture
def metrics() -> MarketMetrics:
    return MarketMetrics(CollectorRegistry())


def make_poller(
    source: FakePrices,
    publisher: RecordingPublisher,
    metrics: MarketMetrics,
    clock: FixedClock | None = None,
    **kwargs: object,
) -> MarketPoller:
    async def no_sleep(_delay: float) -> None:
        await asyncio.sleep(0)

    return MarketPoller(
        publisher,
        clock=clock or FixedClock(NOW),
        metrics=metrics,
        zones=["NO1"],
        price_sources={"NO1": source},
        retry_interval_s=600,
        sleep=no_sleep,
        jitter=lambda: 0.5,
        **kwargs,  # type: ignore[arg-type]
    )


class TestLivePrices:
    async def test_today_and_tomorrow_are_published_once_each_keyed_by_zone(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY)
        source.published[("NO1", TOMORROW)] = day_prices("NO1", TOMORROW)
        poller = make_poller(source, publisher, metrics)

        next_at = await poller.poll_live()
        await poller.poll_live()
        await poller.flush()

        assert [(e.delivery_date, e.revision) for e in publisher.of(SpotPricesPublished)] == [
            (TODAY, 0),
            (TOMORROW, 0),
        ]
        assert source.calls == [("NO1", TODAY, TOMORROW)]  # the second poll had nothing due
        # done until tomorrow's 13:00, but the loop re-plans at least hourly
        assert next_at == NOW + timedelta(hours=1)
        labels = {"zone": "NO1", "source": "entsoe"}
        assert metrics.prices_days_published.labels(**labels)._value.get() == 2

    async def test_tomorrow_not_published_yet_is_retried_every_interval_until_complete(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY)
        poller = make_poller(source, publisher, metrics)

        next_at = await poller.poll_live()
        assert next_at == NOW + timedelta(minutes=10)

        source.published[("NO1", TOMORROW)] = day_prices("NO1", TOMORROW)
        await poller.poll_live()
        await poller.flush()

        assert source.calls == [("NO1", TODAY, TOMORROW), ("NO1", TOMORROW, TOMORROW)]
        assert poller.complete_days("NO1") == {TODAY, TOMORROW}

    async def test_an_incomplete_day_is_published_and_completed_as_a_new_revision(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY, cut=4)
        poller = make_poller(source, publisher, metrics, clock=FixedClock(NOW - timedelta(hours=3)))

        await poller.poll_live()
        await poller.poll_live()  # unchanged: nothing new published
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY)
        await poller.poll_live()
        await poller.flush()

        assert [(len(e.slots), e.revision) for e in publisher.of(SpotPricesPublished)] == [
            (92, 0),
            (96, 1),
        ]

    async def test_ore_prices_use_the_source_rate_or_else_none(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        with_rate = day_prices("NO1", TODAY, price=87.4)
        source.published[("NO1", TODAY)] = DayPrices(
            "NO1", TODAY, 15, with_rate.slots, eur_nok=11.7
        )
        poller = make_poller(source, publisher, metrics, clock=FixedClock(NOW - timedelta(hours=3)))

        await poller.poll_live()
        await poller.flush()

        [event] = publisher.of(SpotPricesPublished)
        assert event.eur_nok == 11.7
        assert event.slots[0].price_nok_ore_per_kwh == pytest.approx(102.258)

    async def test_a_failing_source_is_retried_later_without_raising(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.failures = 1
        poller = make_poller(source, publisher, metrics)

        next_at = await poller.poll_live()

        assert next_at >= NOW + timedelta(minutes=10)
        assert publisher.published == []


class TestBackfill:
    async def test_missing_history_is_fetched_in_chunks_and_known_days_skipped(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        for offset in range(1, 6):
            day = TODAY - timedelta(days=offset)
            source.published[("NO1", day)] = day_prices("NO1", day)
        poller = make_poller(source, publisher, metrics, backfill_days=5, backfill_chunk_days=3)
        poller.offer_prices(day_prices("NO1", TODAY - timedelta(days=1)), "entsoe")

        await poller.backfill()
        await poller.flush()

        assert source.calls == [
            ("NO1", date(2025, 10, 31), date(2025, 11, 2)),
            ("NO1", date(2025, 10, 30), date(2025, 10, 30)),
        ]
        assert sorted(e.delivery_date for e in publisher.of(SpotPricesPublished)) == [
            TODAY - timedelta(days=n) for n in range(5, 0, -1)
        ]

    async def test_a_transient_failure_retries_the_same_chunk(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        day = TODAY - timedelta(days=1)
        source.published[("NO1", day)] = day_prices("NO1", day)
        source.failures = 2
        poller = make_poller(source, publisher, metrics, backfill_days=1)

        await poller.backfill()
        await poller.flush()

        assert len(source.calls) == 3
        assert [e.delivery_date for e in publisher.of(SpotPricesPublished)] == [day]


class TestPublishing:
    async def test_events_queued_during_a_broker_outage_are_published_in_order_after_it(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY)
        source.published[("NO1", TOMORROW)] = day_prices("NO1", TOMORROW)
        poller = make_poller(source, publisher, metrics)
        publisher.down = True

        await poller.poll_live()
        assert not await poller.flush()
        assert poller.pending_count == 2

        publisher.down = False
        assert await poller.flush()
        assert [e.delivery_date for e in publisher.of(SpotPricesPublished)] == [TODAY, TOMORROW]
        assert poller.pending_count == 0

    async def test_the_running_loops_publish_and_stop_cleanly(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        source.published[("NO1", TODAY)] = day_prices("NO1", TODAY)
        weather = FakeWeather()
        poller = make_poller(
            source,
            publisher,
            metrics,
            backfill_days=0,
            weather=weather,
            locations=[WeatherLocation("zone:NO1", 59.9139, 10.7522)],
        )

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) >= 2, timeout_s=5)
        finally:
            await poller.stop()

        kinds = {type(e).__name__ for e in publisher.published}
        assert kinds == {"SpotPricesPublished", "WeatherForecastPublished"}


class TestWeather:
    async def test_only_fresh_forecasts_are_published_per_location(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        weather = FakeWeather()
        poller = make_poller(
            source,
            publisher,
            metrics,
            weather=weather,
            locations=[
                WeatherLocation("zone:NO1", 59.9139, 10.7522),
                WeatherLocation("home:5YJ3E7EB0KF000001", 59.95, 10.8),
            ],
        )

        assert await poller.poll_weather() == 2
        weather.fresh = False
        assert await poller.poll_weather() == 0
        await poller.flush()

        forecasts = publisher.of(WeatherForecastPublished)
        assert [f.location_id for f in forecasts] == ["zone:NO1", "home:5YJ3E7EB0KF000001"]
        assert forecasts[0].kafka_key() == b"zone:NO1"
        assert metrics.weather_forecasts_published._value.get() == 2


class PointCachingWeather:
    """Like MET behind ``MetClient``: fresh once per point, then from the cache."""

    def __init__(self) -> None:
        self.requested: list[tuple[float, float]] = []
        self.updated_at = NOW

    async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch:
        point = (latitude_deg, longitude_deg)
        fresh = point not in self.requested
        if fresh:
            self.requested.append(point)
        slot = WeatherSlot(start_at=NOW, end_at=NOW + timedelta(hours=1), air_temperature_c=3.0)
        return WeatherFetch(Forecast(self.updated_at, (slot,)), fresh, *point)


VIN_1, VIN_2 = "5YJ3E7EB0KF000001", "5YJ3E7EB0KF000002"


def forecasts(publisher: RecordingPublisher) -> list[WeatherForecastPublished]:
    return publisher.of(WeatherForecastPublished)


class TestHomeAreas:
    async def test_each_vehicles_home_area_is_forecast_under_its_own_id(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        weather = PointCachingWeather()
        poller = make_poller(source, publisher, metrics, weather=weather)

        assert poller.set_home_area(VIN_1, (63.41, 10.4))
        assert poller.set_home_area(VIN_2, (63.41, 10.4))  # a neighbour: the same point
        await poller.poll_weather()
        await poller.poll_weather()  # nothing new
        await poller.flush()

        assert weather.requested == [(63.41, 10.4)]
        assert [(f.location_id, f.latitude_deg, f.longitude_deg) for f in forecasts(publisher)] == [
            (f"home:{VIN_1}", 63.41, 10.4),
            (f"home:{VIN_2}", 63.41, 10.4),
        ]

    async def test_a_moved_home_is_forecast_at_once_and_a_lost_one_no_longer(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        weather = PointCachingWeather()
        poller = make_poller(source, publisher, metrics, weather=weather)
        poller.set_home_area(VIN_1, (63.41, 10.4))
        await poller.poll_weather()

        assert not poller.set_home_area(VIN_1, (63.41, 10.4))  # the same profile again
        assert poller.set_home_area(VIN_1, (59.91, 10.75))
        await poller.poll_weather()
        assert poller.set_home_area(VIN_1, None)
        weather.updated_at = NOW + timedelta(hours=1)
        await poller.poll_weather()
        await poller.flush()

        assert [(f.latitude_deg, f.longitude_deg) for f in forecasts(publisher)] == [
            (63.41, 10.4),
            (59.91, 10.75),
        ]
        assert poller.weather_locations == []

    async def test_a_home_from_the_settings_wins_over_the_learned_one(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        weather = PointCachingWeather()
        configured = WeatherLocation(f"home:{VIN_1}", 59.95, 10.8)
        poller = make_poller(source, publisher, metrics, weather=weather, locations=[configured])

        poller.set_home_area(VIN_1, (63.41, 10.4))
        await poller.poll_weather()
        await poller.flush()

        assert poller.weather_locations == [configured]
        assert weather.requested == [(59.95, 10.8)]

    async def test_a_new_home_cuts_the_weather_pause_short(
        self, source: FakePrices, publisher: RecordingPublisher, metrics: MarketMetrics
    ) -> None:
        weather = PointCachingWeather()
        poller = MarketPoller(
            publisher,
            clock=FixedClock(NOW),
            metrics=metrics,
            zones=[],
            price_sources={},
            weather=weather,
            weather_interval_s=3600,
            jitter=lambda: 0.5,
        )

        await poller.start()
        try:
            await asyncio.sleep(0.05)  # the first (empty) round is done, the loop pauses an hour
            poller.set_home_area(VIN_1, (63.41, 10.4))
            async with asyncio.timeout(5):
                while not forecasts(publisher):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await poller.stop()

        assert [f.location_id for f in forecasts(publisher)] == [f"home:{VIN_1}"]

    async def test_the_vin_is_not_logged_in_full(
        self,
        source: FakePrices,
        publisher: RecordingPublisher,
        metrics: MarketMetrics,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        class FailingWeather:
            async def fetch(self, latitude_deg: float, longitude_deg: float) -> WeatherFetch:
                raise MarketUnavailableError("met: HTTP 503", source="met")

        poller = make_poller(source, publisher, metrics, weather=FailingWeather())

        with caplog.at_level("DEBUG"):
            poller.set_home_area(VIN_1, (63.41, 10.4))
            await poller.poll_weather()
            poller.set_home_area(VIN_1, None)

        assert "home:…000001" in caplog.text
        assert VIN_1 not in caplog.text
        assert "63.41" not in caplog.text
