"""PostgresMarketRepo against a real database: the upsert rules of each table."""

from datetime import timedelta

import pytest

from tc_store import domain
from tc_store.adapters.postgres import PostgresDatabase
from tc_store.adapters.postgres_market import PostgresMarketRepo
from tc_store.domain import WriteResult

from .. import market_events  # noqa: TID252
from .support import query

pytestmark = pytest.mark.integration


@pytest.fixture
def market(database: PostgresDatabase) -> PostgresMarketRepo:
    return PostgresMarketRepo(database)


async def prices(url: str) -> list[tuple[float, int]]:
    found = await query(
        url, "SELECT price_eur_per_mwh, revision FROM spot_prices ORDER BY start_at"
    )
    return [(float(p), int(r)) for p, r in found]


async def test_spot_prices_keep_the_highest_revision_then_the_latest_fetch(
    market, database_url
) -> None:
    def day(revision: int, fetched_at, base: float):
        return domain.spot_price_rows(
            market_events.spot_prices(
                count=4, revision=revision, fetched_at=fetched_at, base_eur_per_mwh=base
            )
        )

    first = await market.save_spot_prices(day(1, market_events.FETCHED_AT, 10.0))
    redelivered = await market.save_spot_prices(day(1, market_events.FETCHED_AT, 10.0))
    older_revision_fetched_later = await market.save_spot_prices(day(0, market_events.LATER, 20.0))
    after_older = await prices(database_url)
    same_revision_fetched_later = await market.save_spot_prices(day(1, market_events.LATER, 30.0))
    after_refetch = await prices(database_url)
    higher_revision = await market.save_spot_prices(day(2, market_events.FETCHED_AT, 40.0))

    assert first == WriteResult(written=4, unchanged=0)
    assert redelivered == WriteResult(written=0, unchanged=4)
    assert older_revision_fetched_later == WriteResult(written=0, unchanged=4)
    assert after_older == [(10.0 + i, 1) for i in range(4)]
    assert same_revision_fetched_later == WriteResult(written=4, unchanged=0)
    assert after_refetch == [(30.0 + i, 1) for i in range(4)]
    assert higher_revision == WriteResult(written=4, unchanged=0)
    assert await prices(database_url) == [(40.0 + i, 2) for i in range(4)]


async def test_hourly_and_quarter_hour_series_of_the_same_hours_are_both_kept(
    market, database_url
) -> None:
    await market.save_spot_prices(domain.spot_price_rows(market_events.spot_prices(count=4)))
    await market.save_spot_prices(
        domain.spot_price_rows(market_events.spot_prices(count=1, resolution_min=60))
    )

    found = await query(
        database_url, "SELECT resolution_min, count(*) FROM spot_prices GROUP BY 1 ORDER BY 1"
    )
    assert found == [(15, 4), (60, 1)]


async def test_exchange_rates_are_replaced_only_by_a_later_fetch(market, database_url) -> None:
    await market.save_exchange_rates(
        domain.exchange_rate_rows(market_events.exchange_rates(nok=11.5))
    )
    later = await market.save_exchange_rates(
        domain.exchange_rate_rows(
            market_events.exchange_rates(nok=11.6, fetched_at=market_events.LATER)
        )
    )
    earlier = await market.save_exchange_rates(
        domain.exchange_rate_rows(
            market_events.exchange_rates(
                nok=11.4, fetched_at=market_events.FETCHED_AT - timedelta(hours=1)
            )
        )
    )

    assert (later, earlier) == (
        WriteResult(written=3, unchanged=0),
        WriteResult(written=0, unchanged=3),
    )
    nok = await query(database_url, "SELECT per_eur FROM exchange_rates WHERE currency = 'NOK'")
    assert nok == [(11.6,)]


async def test_every_weather_run_is_kept_and_a_redelivered_run_changes_nothing(
    market, database_url
) -> None:
    run = domain.weather_forecast_rows(market_events.weather_forecast(hours=3))
    next_run = domain.weather_forecast_rows(
        market_events.weather_forecast(hours=3, updated_at=market_events.LATER, temperature_c=5.0)
    )

    results = [
        await market.save_weather_forecast(run),
        await market.save_weather_forecast(run),
        await market.save_weather_forecast(next_run),
    ]

    assert [r.written for r in results] == [3, 0, 3]
    latest = await query(
        database_url,
        "SELECT air_temperature_c FROM weather_latest WHERE location_id = 'zone:NO3' "
        "ORDER BY start_at",
    )
    assert latest == [(5.0,), (6.0,), (7.0,)]


async def test_an_issued_price_forecast_is_never_rewritten(market, database_url) -> None:
    first = await market.save_price_forecast(
        domain.price_forecast_rows(market_events.price_forecast(count=4))
    )
    again = await market.save_price_forecast(
        domain.price_forecast_rows(market_events.price_forecast(count=4, p50_eur_per_mwh=99.0))
    )

    assert (first, again) == (
        WriteResult(written=4, unchanged=0),
        WriteResult(written=0, unchanged=4),
    )
    medians = await query(database_url, "SELECT DISTINCT p50_eur_per_mwh FROM price_forecasts")
    assert medians == [(60.0,)]


async def test_a_later_detection_of_the_same_anomaly_replaces_it_an_earlier_one_does_not(
    market, database_url
) -> None:
    start = market_events.DAY_START + timedelta(hours=8)
    await market.save_price_anomalies(
        [domain.price_anomaly_row(market_events.price_anomaly(start=start))]
    )
    later = await market.save_price_anomalies(
        [
            domain.price_anomaly_row(
                market_events.price_anomaly(
                    start=start, detected_at=market_events.LATER, detail="newer"
                )
            )
        ]
    )
    earlier = await market.save_price_anomalies(
        [
            domain.price_anomaly_row(
                market_events.price_anomaly(
                    start=start,
                    detected_at=market_events.FETCHED_AT - timedelta(hours=1),
                    detail="older",
                )
            )
        ]
    )

    assert (later.written, earlier.written) == (1, 0)
    assert await query(database_url, "SELECT detail FROM price_anomalies") == [("newer",)]


async def test_an_event_without_rows_touches_no_table(market) -> None:
    assert await market.save_price_forecast([]) == WriteResult(written=0, unchanged=0)
