"""The store app stores market, weather and forecast events from the real broker.

The topics are shared by every test of the session and the zones are a fixed set, so each
test works in a delivery year, location or issue time of its own and filters by it.
"""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tc_common.events import Event
from tc_common.topics import (
    EXCHANGE_RATES_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_testkit.kafka import produce
from tc_testkit.waiting import eventually

from .. import market_events  # noqa: TID252
from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def spring_dst_day(year: int) -> tuple[date, datetime]:
    """The CET spring-forward day of ``year`` (last Sunday of March) and its start in UTC."""
    day = date(year, 3, 31)
    day -= timedelta(days=(day.weekday() + 1) % 7)
    return day, datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)


def own_year() -> int:
    # Far from any other test's data: rows are keyed by zone and time only.
    return random.randint(2040, 2099)


def rows_written(metrics_text: str, table: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "tc_store_rows_written_total" and sample.labels == {"table": table}:
                return float(sample.value)
    return 0.0


async def test_every_market_event_kind_published_to_the_broker_is_stored(
    kafka, store_settings, run_store, database_url
) -> None:
    year = own_year()
    dst_day, dst_start = spring_dst_day(year)
    issued_at = datetime(year, 5, 1, 12, tzinfo=UTC)
    location = f"home:IT{uuid.uuid4().hex[:10].upper()}"
    for topic, event in [
        (
            SPOT_PRICES_PUBLISHED_V1,
            market_events.spot_prices(zone="SE3", delivery_date=dst_day, start=dst_start, count=92),
        ),
        (
            EXCHANGE_RATES_PUBLISHED_V1,
            market_events.exchange_rates(rate_date=dst_day, fetched_at=issued_at),
        ),
        (
            WEATHER_FORECAST_PUBLISHED_V1,
            market_events.weather_forecast(location_id=location, updated_at=issued_at, hours=48),
        ),
        (
            PRICE_FORECAST_PUBLISHED_V1,
            market_events.price_forecast(
                zone="SE3", issued_at=issued_at, start=issued_at, count=672
            ),
        ),
        (
            PRICE_ANOMALY_DETECTED_V1,
            market_events.price_anomaly(
                zone="SE3", kind="negative", start=issued_at, detected_at=issued_at
            ),
        ),
    ]:
        await produce(kafka.bootstrap_servers, topic, [event])

    async def counts() -> list[int]:
        found = await query(
            database_url,
            "SELECT (SELECT count(*) FROM spot_prices WHERE zone = 'SE3' AND delivery_date = %s),"
            " (SELECT count(*) FROM exchange_rates WHERE rate_date = %s),"
            " (SELECT count(*) FROM weather_forecasts WHERE location_id = %s),"
            " (SELECT count(*) FROM price_forecasts WHERE zone = 'SE3' AND issued_at = %s),"
            " (SELECT count(*) FROM price_anomalies WHERE zone = 'SE3' AND start_at = %s)",
            (dst_day, dst_day, location, issued_at, issued_at),
        )
        return [int(c) for c in found[0]]

    async with run_store(store_settings) as store:

        async def all_stored() -> bool:
            return await counts() == [92, 3, 48, 672, 1]

        await eventually(all_stored, timeout_s=STORE_TIMEOUT_S, what="every event kind stored")
        metrics = (await store.get("/metrics")).text

    for table, rows in [
        ("spot_prices", 92),
        ("exchange_rates", 3),
        ("weather_forecasts", 48),
        ("price_forecasts", 672),
        ("price_anomalies", 1),
    ]:
        assert rows_written(metrics, table) >= rows
    day = await query(
        database_url,
        "SELECT min(start_at), max(end_at), count(DISTINCT resolution_min), min(revision) "
        "FROM spot_prices WHERE zone = 'SE3' AND delivery_date = %s",
        (dst_day,),
    )
    assert day == [(dst_start, dst_start + timedelta(hours=23), 1, 0)]
    latest = await query(
        database_url,
        "SELECT count(*) FROM price_forecast_latest WHERE zone = 'SE3' AND issued_at = %s",
        (issued_at,),
    )
    assert latest == [(672,)]


async def test_a_lower_revision_republished_later_does_not_overwrite_a_higher_one(
    kafka, store_settings, run_store, database_url
) -> None:
    year = own_year()
    dst_day, dst_start = spring_dst_day(year)
    fetched = datetime(year, 3, 1, tzinfo=UTC)

    def day(revision: int, base: float, fetched_at: datetime) -> Event:
        return market_events.spot_prices(
            zone="FI",
            delivery_date=dst_day,
            start=dst_start,
            count=92,
            revision=revision,
            fetched_at=fetched_at,
            base_eur_per_mwh=base,
        )

    # The same key (zone) keeps them in one partition, in this order; the last one, a day
    # later, marks that everything before it was handled.
    marker = market_events.spot_prices(
        zone="FI", delivery_date=dst_day + timedelta(days=1), start=dst_start + timedelta(days=1)
    )
    await produce(
        kafka.bootstrap_servers,
        SPOT_PRICES_PUBLISHED_V1,
        [
            day(1, 100.0, fetched),
            day(0, 200.0, fetched + timedelta(hours=1)),
            day(1, 100.0, fetched),
            marker,
        ],
    )

    async with run_store(store_settings):

        async def marker_stored() -> bool:
            found = await query(
                database_url,
                "SELECT count(*) FROM spot_prices WHERE zone = 'FI' AND delivery_date = %s",
                (marker.delivery_date,),
            )
            return found == [(96,)]

        await eventually(marker_stored, timeout_s=STORE_TIMEOUT_S, what="the marker day stored")

    stored = await query(
        database_url,
        "SELECT price_eur_per_mwh, revision FROM spot_prices "
        "WHERE zone = 'FI' AND delivery_date = %s ORDER BY start_at",
        (dst_day,),
    )
    assert stored == [(100.0 + i, 1) for i in range(92)]
