"""The price-forecast runner: published prices in, forecasts and anomalies out."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tc_common.clock import FixedClock
from tc_common.events import (
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
)
from tc_forecast.domain.price_book import CET
from tc_forecast.domain.prices.ensemble import EnsembleConfig
from tc_forecast.domain.prices.synthetic import synthetic_market
from tc_forecast.price_runner import PriceForecastRunner
from tc_testkit.market import spot_prices

FAST = EnsembleConfig(lear_windows_days=(56,), use_gbm=False)


def published_days(days: int, *, spike_last_day: bool = False) -> list[SpotPricesPublished]:
    """``days`` CET delivery days of synthetic hourly prices, as ingest would publish them."""
    market = synthetic_market(days=days)
    events = []
    for day_start in range(0, len(market), 24):
        rows = market.iloc[day_start : day_start + 24]
        prices = list(rows["price"])
        if spike_last_day and day_start + 24 >= len(market):
            prices[18] = 900
        midnight = rows.index[0].to_pydatetime()
        events.append(
            spot_prices(
                midnight.date(),
                prices,
                zone="NO3",
                start=midnight.replace(tzinfo=CET).astimezone(UTC),
                eur_nok=None,
                fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return events


def runner(now: datetime) -> tuple[PriceForecastRunner, list, list]:  # type: ignore[type-arg]
    forecasts: list[PriceForecastPublished] = []
    anomalies: list[PriceAnomalyDetected] = []

    async def keep_forecast(event: PriceForecastPublished) -> None:
        forecasts.append(event)

    async def keep_anomaly(event: PriceAnomalyDetected) -> None:
        anomalies.append(event)

    r = PriceForecastRunner(clock=FixedClock(now), config=FAST, horizon_days=2)
    r.bind(publish_forecast=keep_forecast, publish_anomaly=keep_anomaly)
    return r, forecasts, anomalies


async def test_a_forecast_starts_at_the_first_unpublished_slot_with_ordered_quantiles() -> None:
    events = published_days(70)
    last = events[-1]
    r, forecasts, _ = runner(datetime.combine(last.delivery_date, datetime.min.time(), UTC))
    for event in events:
        await r.on_prices(event)
    forecast = await r.refit("NO3")
    assert forecast is not None
    assert forecasts == [forecast]
    assert forecast.known_until == last.slots[-1].end_at
    assert forecast.slots[0].start_at == forecast.known_until
    assert len(forecast.slots) == 2 * 24
    for s in forecast.slots:
        assert s.p10_eur_per_mwh <= s.p50_eur_per_mwh <= s.p90_eur_per_mwh
    # The synthetic market sits around 30 EUR/MWh; a sane forecast stays in that world.
    mids = [s.p50_eur_per_mwh for s in forecast.slots]
    assert 10 < sum(mids) / len(mids) < 60


async def test_too_little_history_publishes_nothing_rather_than_guessing() -> None:
    events = published_days(10)
    r, forecasts, _ = runner(datetime(2026, 1, 1, tzinfo=UTC))
    for event in events:
        await r.on_prices(event)
    assert await r.refit("NO3") is None
    assert forecasts == []


async def test_a_spike_on_a_live_day_is_flagged_but_a_backfilled_past_is_not() -> None:
    events = published_days(30, spike_last_day=True)
    live_day: date = events[-1].delivery_date
    now = datetime.combine(live_day, datetime.min.time(), UTC)
    r, _, anomalies = runner(now)
    for event in events:
        await r.on_prices(event)
    assert [a.kind for a in anomalies] == ["spike"]
    assert anomalies[0].price_eur_per_mwh == pytest.approx(900)

    # The same history replayed long after: nothing is news any more.
    r_later, _, later = runner(now + timedelta(days=30))
    for event in events:
        await r_later.on_prices(event)
    assert later == []


async def test_a_republished_identical_day_changes_nothing() -> None:
    events = published_days(25)
    r, _, _ = runner(datetime(2021, 1, 1, tzinfo=UTC))
    for event in events:
        await r.on_prices(event)
    before = r.book.hourly_history("NO3")
    assert (
        r.book.add(
            "NO3", [(s.start_at, s.end_at, s.price_eur_per_mwh) for s in events[-1].slots], 0
        )
        == []
    )
    assert r.book.hourly_history("NO3").equals(before)


async def test_a_forecast_the_broker_refused_is_fitted_and_published_again() -> None:
    events = published_days(70)
    now = datetime.combine(events[-1].delivery_date, datetime.min.time(), UTC)
    published: list[PriceForecastPublished] = []
    broker_up = False

    async def publish_forecast(event: PriceForecastPublished) -> None:
        if not broker_up:
            raise ConnectionError("broker unreachable")
        published.append(event)

    async def publish_anomaly(event: PriceAnomalyDetected) -> None:
        return None

    r = PriceForecastRunner(clock=FixedClock(now), config=FAST, horizon_days=2)
    r.bind(publish_forecast=publish_forecast, publish_anomaly=publish_anomaly)
    for event in events:
        await r.on_prices(event)

    await r._refit_dirty()  # the round the periodic task runs
    assert published == []
    broker_up = True
    await r._refit_dirty()

    assert [f.zone for f in published] == ["NO3"]
