"""The price, exchange-rate and weather routes against a real PostgreSQL migrated by tc_db."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock

from ..support import KEY, client_of  # noqa: TID252
from .support import insert_rows, seeding

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
# 2026-03-29 is the spring DST day in CET: 92 quarter-hours from 23:00 UTC the day before.
DST_DAY = date(2026, 3, 29)
DST_START = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def _spot(start: datetime, resolution_min: int, eur: float, revision: int) -> dict[str, Any]:
    return {
        "zone": "NO3",
        "start_at": start,
        "end_at": start + timedelta(minutes=resolution_min),
        "resolution_min": resolution_min,
        "price_eur_per_mwh": eur,
        "price_nok_ore_per_kwh": eur * 1.15,
        "delivery_date": DST_DAY,
        "source": "simulated",
        "revision": revision,
        "fetched_at": NOW,
    }


def _forecast(issued_at: datetime, start: datetime, count: int, p50: float) -> list[dict[str, Any]]:
    return [
        {
            "zone": "NO3",
            "issued_at": issued_at,
            "model": "test/1",
            "known_until": start,
            "start_at": start + i * QUARTER,
            "end_at": start + (i + 1) * QUARTER,
            "p10_eur_per_mwh": p50 - 5,
            "p50_eur_per_mwh": p50,
            "p90_eur_per_mwh": p50 + 5,
        }
        for i in range(count)
    ]


def _weather(updated_at: datetime, hours: int, temperature_c: float) -> list[dict[str, Any]]:
    return [
        {
            "location_id": "zone:NO3",
            "updated_at": updated_at,
            "start_at": NOW + timedelta(hours=h),
            "end_at": NOW + timedelta(hours=h + 1),
            "air_temperature_c": temperature_c,
            "wind_speed_m_per_s": 3.0,
            "cloud_area_fraction_pct": None,
            "precipitation_mm": 0.0,
            "latitude_deg": 63.43,
            "longitude_deg": 10.39,
            "source": "simulated",
            "fetched_at": updated_at + timedelta(minutes=1),
        }
        for h in range(hours)
    ]


@pytest.fixture
def seeded_url(database_url: str) -> str:
    with seeding(database_url) as conn:
        insert_rows(
            conn,
            "spot_prices",
            [_spot(DST_START + i * QUARTER, 15, 40.0 + i, 1) for i in range(92)]
            # The same day's hourly series (an older source) must not double the answer.
            + [_spot(DST_START + timedelta(hours=h), 60, 99.0, 0) for h in range(23)]
            + [{**_spot(DST_START, 15, 0.0, 0), "zone": "SE3"}],
        )
        end_of_day = DST_START + 92 * QUARTER
        insert_rows(
            conn,
            "price_forecasts",
            _forecast(NOW - timedelta(hours=6), end_of_day - 4 * QUARTER, 8, 10.0)
            + _forecast(NOW, end_of_day - 4 * QUARTER, 12, 70.0),
        )
        insert_rows(
            conn,
            "price_anomalies",
            [
                {
                    "zone": "NO3",
                    "kind": kind,
                    "start_at": DST_START + timedelta(hours=h),
                    "end_at": DST_START + timedelta(hours=h + 1),
                    "price_eur_per_mwh": price,
                    "expected_eur_per_mwh": None,
                    "detected_at": NOW,
                    "detail": kind,
                }
                for kind, h, price in [("negative", 3, -2.0), ("spike", 18, 300.0)]
            ],
        )
        insert_rows(
            conn,
            "exchange_rates",
            [
                {
                    "rate_date": day,
                    "currency": currency,
                    "per_eur": rate,
                    "source": "norges-bank",
                    "fetched_at": NOW,
                }
                for day in (date(2026, 3, 26), date(2026, 3, 27))
                for currency, rate in (("NOK", 11.5), ("SEK", 11.0), ("DKK", 7.46))
            ],
        )
        insert_rows(
            conn,
            "weather_forecasts",
            _weather(NOW - timedelta(hours=3), 10, -8.0) + _weather(NOW, 4, 2.5),
        )
    return database_url


@pytest.fixture
async def client(seeded_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ApiSettings(postgres={"url": seeded_url}, api_keys=[KEY]), clock=FixedClock(NOW)
    )
    async with client_of(app) as http:
        yield http


async def test_a_dst_day_has_92_quarter_hours_and_the_hourly_series_is_hidden(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/prices/NO3",
        params={"from": "2026-03-29T00:00:00+01:00", "to": "2026-03-30T00:00:00+02:00"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["count"]) == (
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
        92,
    )
    assert {s["resolution_min"] for s in body["slots"]} == {15}
    assert body["slots"][0]["start_at"] == "2026-03-28T23:00:00Z"
    assert body["slots"][-1]["end_at"] == "2026-03-29T22:00:00Z"
    assert body["slots"][5]["price_nok_ore_per_kwh"] == pytest.approx(45.0 * 1.15)
    assert body["forecast"] is None


async def test_the_newest_forecast_continues_after_the_last_price(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/prices/NO3",
        params={
            "from": "2026-03-29T21:00:00Z",
            "to": "2026-03-30T03:00:00Z",
            "include_forecast": "true",
        },
    )

    body = response.json()
    assert body["count"] == 4
    forecast = body["forecast"]
    assert forecast["issued_at"] == "2026-03-29T12:00:00Z"
    # The forecast starts an hour before the day's end; only its 8 slots after it are shown.
    assert [s["start_at"] for s in forecast["slots"]][:2] == [
        "2026-03-29T22:00:00Z",
        "2026-03-29T22:15:00Z",
    ]
    assert len(forecast["slots"]) == 8
    assert {s["p50_eur_per_mwh"] for s in forecast["slots"]} == {70.0}


async def test_the_forecast_route_returns_the_newest_issue_whole(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/v1/prices/NO3/forecast")).json()

    assert (body["issued_at"], body["known_until"], len(body["slots"])) == (
        "2026-03-29T12:00:00Z",
        "2026-03-29T21:00:00Z",
        12,
    )
    assert (await client.get("/v1/prices/SE3/forecast")).status_code == 404


async def test_anomalies_overlapping_the_window_are_listed_in_time_order(
    client: httpx.AsyncClient,
) -> None:
    everything = (
        await client.get("/v1/prices/NO3/anomalies", params={"from": "2026-03-28T23:00:00Z"})
    ).json()
    # 02:30 UTC lies inside the negative hour (02:00-03:00 UTC).
    late = (
        await client.get(
            "/v1/prices/NO3/anomalies",
            params={"from": "2026-03-29T02:30:00Z", "to": "2026-03-29T12:00:00Z"},
        )
    ).json()

    assert [(a["kind"], a["price_eur_per_mwh"]) for a in everything["anomalies"]] == [
        ("negative", -2.0),
        ("spike", 300.0),
    ]
    assert [a["kind"] for a in late["anomalies"]] == ["negative"]


async def test_exchange_rates_of_a_date_range_by_day_and_currency(
    client: httpx.AsyncClient,
) -> None:
    body = (
        await client.get("/v1/exchange-rates", params={"from": "2026-03-27", "to": "2026-03-30"})
    ).json()

    assert body["count"] == 3
    assert [(r["rate_date"], r["currency"], r["per_eur"]) for r in body["rates"]] == [
        ("2026-03-27", "DKK", 7.46),
        ("2026-03-27", "NOK", 11.5),
        ("2026-03-27", "SEK", 11.0),
    ]
    assert body["rates"][0]["fetched_at"] == "2026-03-29T12:00:00Z"


async def test_weather_is_the_newest_run_only(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/weather/zone:NO3")).json()

    assert body["updated_at"] == "2026-03-29T12:00:00Z"
    assert [s["air_temperature_c"] for s in body["slots"]] == [2.5] * 4
    assert body["slots"][0]["cloud_area_fraction_pct"] is None
    assert (await client.get("/v1/weather/zone:NO1")).status_code == 404


async def test_an_unknown_zone_is_422_listing_the_valid_ones(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/prices/DE/anomalies")

    assert response.status_code == 422
    assert "valid zones: NO1, NO2" in response.json()["detail"][0]["msg"]
