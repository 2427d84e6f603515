"""The price, exchange-rate and weather routes with fake readers."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tc_api.domain import (
    DateWindow,
    ExchangeRate,
    ForecastSlot,
    PriceAnomaly,
    PriceForecast,
    SpotPrice,
    TimeWindow,
    WeatherForecast,
    WeatherSlot,
)
from tc_api.main import create_app
from tc_api.ports import TelemetryUnavailableError
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock

from .support import KEY, NOW, FakeTelemetryReader, client_of

DAY = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 2026-11-25 00:00 CET


def hour(h: int) -> tuple[datetime, datetime]:
    return DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1)


@dataclass
class FakeMarketReader:
    prices: list[SpotPrice] = field(default_factory=list)
    forecast: PriceForecast | None = None
    anomalies: list[PriceAnomaly] = field(default_factory=list)
    rates: list[ExchangeRate] = field(default_factory=list)
    weather: dict[str, WeatherForecast] = field(default_factory=dict)
    available: bool = True
    windows: list[TimeWindow | DateWindow] = field(default_factory=list)

    def _check(self) -> None:
        if not self.available:
            raise TelemetryUnavailableError("down")

    async def spot_prices(self, zone: str, window: TimeWindow) -> list[SpotPrice]:
        self._check()
        self.windows.append(window)
        return [p for p in self.prices if window.from_at <= p.start_at < window.to_at]

    async def last_spot_price_end(self, zone: str) -> datetime | None:
        self._check()
        return max((p.end_at for p in self.prices), default=None)

    async def latest_price_forecast(self, zone: str) -> PriceForecast | None:
        self._check()
        return self.forecast if self.forecast and self.forecast.zone == zone else None

    async def price_anomalies(self, zone: str, window: TimeWindow) -> list[PriceAnomaly]:
        self._check()
        self.windows.append(window)
        return [a for a in self.anomalies if a.zone == zone]

    async def exchange_rates(self, window: DateWindow) -> list[ExchangeRate]:
        self._check()
        self.windows.append(window)
        return list(self.rates)

    async def latest_weather(self, location_id: str) -> WeatherForecast | None:
        self._check()
        return self.weather.get(location_id)


@pytest.fixture
def market() -> FakeMarketReader:
    return FakeMarketReader(
        # Hours 0-23 published; at 11:00 a quarter-hour series overlaps the hourly one.
        prices=[SpotPrice(*hour(h), 60, 40.0 + h, (40.0 + h) * 1.17) for h in range(24)]
        + [
            SpotPrice(
                DAY + timedelta(hours=11, minutes=m),
                DAY + timedelta(hours=11, minutes=m + 15),
                15,
                90.0 + m,
                None,
            )
            for m in (0, 15, 30, 45)
        ],
        forecast=PriceForecast(
            zone="NO3",
            issued_at=NOW,
            model="test/1",
            known_until=DAY + timedelta(hours=22),
            slots=tuple(ForecastSlot(*hour(h), 30.0, 50.0, 80.0) for h in range(22, 30)),
        ),
        anomalies=[
            PriceAnomaly(
                "NO3", "spike", *hour(11), 105.0, 51.0, NOW, "price twice the forecast p90"
            )
        ],
        rates=[
            ExchangeRate(date(2026, 11, 24), "NOK", 11.7, "norges-bank", NOW),
            ExchangeRate(date(2026, 11, 24), "SEK", 11.2, "norges-bank", NOW),
        ],
        weather={
            "zone:NO3": WeatherForecast(
                "zone:NO3",
                63.43,
                10.39,
                NOW - timedelta(hours=1),
                NOW,
                "met-norway",
                (WeatherSlot(*hour(13), -4.5, 6.1, 100.0, 0.4),),
            )
        },
    )


@pytest.fixture
async def client(market: FakeMarketReader) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": "postgresql://unused@127.0.0.1:1/unused"}, api_keys=[KEY]
    )
    app = create_app(
        settings, reader=FakeTelemetryReader(), market_reader=market, clock=FixedClock(NOW)
    )
    async with client_of(app) as http:
        yield http


CET_DAY = {"from": "2026-11-25T00:00:00+01:00", "to": "2026-11-26T00:00:00+01:00"}


class TestPrices:
    async def test_a_day_of_prices_in_both_units_with_quarter_hours_replacing_their_hour(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/prices/NO3", params=CET_DAY)

        assert response.status_code == 200
        body = response.json()
        assert (body["zone"], body["from"], body["to"]) == (
            "NO3",
            "2026-11-24T23:00:00Z",
            "2026-11-25T23:00:00Z",
        )
        assert body["count"] == 23 + 4
        assert body["slots"][0] == {
            "start_at": "2026-11-24T23:00:00Z",
            "end_at": "2026-11-25T00:00:00Z",
            "resolution_min": 60,
            "price_eur_per_mwh": 40.0,
            "price_nok_ore_per_kwh": 40.0 * 1.17,
        }
        at_eleven = [s for s in body["slots"] if s["start_at"].startswith("2026-11-25T10")]
        assert [(s["resolution_min"], s["price_eur_per_mwh"]) for s in at_eleven] == [
            (15, 90.0),
            (15, 105.0),
            (15, 120.0),
            (15, 135.0),
        ]
        assert body["forecast"] is None

    async def test_the_forecast_is_added_only_after_the_last_published_price(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(
            "/v1/prices/no3",
            params={"from": "2026-11-25T20:00:00Z", "include_forecast": "true"},
        )

        body = response.json()
        assert body["zone"] == "NO3"
        assert [s["start_at"] for s in body["slots"]] == [
            "2026-11-25T20:00:00Z",
            "2026-11-25T21:00:00Z",
            "2026-11-25T22:00:00Z",
        ]
        forecast = body["forecast"]
        assert (forecast["model"], forecast["known_until"]) == ("test/1", "2026-11-25T21:00:00Z")
        # Published prices end at 23:00 UTC: forecast slots start there.
        assert forecast["slots"][0] == {
            "start_at": "2026-11-25T23:00:00Z",
            "end_at": "2026-11-26T00:00:00Z",
            "p10_eur_per_mwh": 30.0,
            "p50_eur_per_mwh": 50.0,
            "p90_eur_per_mwh": 80.0,
        }
        assert len(forecast["slots"]) == 6

    async def test_without_a_window_the_last_24_hours_and_the_next_48_are_asked_for(
        self, client: httpx.AsyncClient, market: FakeMarketReader
    ) -> None:
        await client.get("/v1/prices/SE3")

        assert market.windows == [TimeWindow(NOW - timedelta(hours=24), NOW + timedelta(hours=48))]

    @pytest.mark.parametrize(
        ("path", "params", "loc", "message"),
        [
            pytest.param("/v1/prices/NO9", {}, ["path", "zone"], "valid zones: NO1", id="zone"),
            pytest.param(
                "/v1/prices/NO3/anomalies",
                {"from": "2026-11-25T00:00:00"},
                ["query", "from"],
                "must carry a timezone",
                id="naive",
            ),
            pytest.param(
                "/v1/prices/NO3",
                {"from": "2026-11-25T00:00:00Z", "to": "2026-11-25T00:00:00Z"},
                ["query", "from"],
                "before 'to'",
                id="empty-window",
            ),
            pytest.param(
                "/v1/prices/NO3",
                {"from": "2026-10-01T00:00:00Z", "to": "2026-11-25T00:00:00Z"},
                ["query", "from"],
                "at most 31 days",
                id="too-long",
            ),
            pytest.param(
                "/v1/prices/XX/forecast", {}, ["path", "zone"], "unknown bidding zone", id="fc"
            ),
            pytest.param(
                "/v1/exchange-rates",
                {"from": "2026-11-25", "to": "2026-11-24"},
                ["query", "from"],
                "before 'to'",
                id="rates-reversed",
            ),
        ],
    )
    async def test_invalid_parameters_are_422_naming_them(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str], loc, message
    ) -> None:
        response = await client.get(path, params=params)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == loc
        assert message in error["msg"]


class TestForecastAndAnomalies:
    async def test_the_latest_forecast_is_returned_whole(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/v1/prices/NO3/forecast")).json()

        assert (body["zone"], body["issued_at"], len(body["slots"])) == (
            "NO3",
            "2026-11-25T12:00:00Z",
            8,
        )

    async def test_a_zone_without_forecast_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/prices/FI/forecast")

        assert response.status_code == 404
        assert response.json() == {"detail": "no price forecast for FI yet"}

    async def test_anomalies_of_the_window_are_listed(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/v1/prices/NO3/anomalies", params=CET_DAY)).json()

        assert body["count"] == 1
        assert body["anomalies"][0] == {
            "kind": "spike",
            "start_at": "2026-11-25T10:00:00Z",
            "end_at": "2026-11-25T11:00:00Z",
            "price_eur_per_mwh": 105.0,
            "expected_eur_per_mwh": 51.0,
            "detected_at": "2026-11-25T12:00:00Z",
            "detail": "price twice the forecast p90",
        }


class TestExchangeRatesAndWeather:
    async def test_rates_default_to_the_last_31_days_including_today(
        self, client: httpx.AsyncClient, market: FakeMarketReader
    ) -> None:
        body = (await client.get("/v1/exchange-rates")).json()

        assert (body["from"], body["to"], body["count"]) == ("2026-10-26", "2026-11-26", 2)
        assert body["rates"][0] == {
            "rate_date": "2026-11-24",
            "currency": "NOK",
            "per_eur": 11.7,
            "source": "norges-bank",
            "fetched_at": "2026-11-25T12:00:00Z",
        }

    async def test_the_latest_weather_run_of_a_place(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/v1/weather/zone:NO3")).json()

        assert (body["location_id"], body["updated_at"], body["source"]) == (
            "zone:NO3",
            "2026-11-25T11:00:00Z",
            "met-norway",
        )
        assert body["slots"] == [
            {
                "start_at": "2026-11-25T12:00:00Z",
                "end_at": "2026-11-25T13:00:00Z",
                "air_temperature_c": -4.5,
                "wind_speed_m_per_s": 6.1,
                "cloud_area_fraction_pct": 100.0,
                "precipitation_mm": 0.4,
            }
        ]

    async def test_a_place_without_weather_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/weather/home:NOPE")

        assert response.status_code == 404
        assert response.json() == {"detail": "no weather forecast for 'home:NOPE' yet"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/prices/NO3",
        "/v1/prices/NO3/forecast",
        "/v1/prices/NO3/anomalies",
        "/v1/exchange-rates",
        "/v1/weather/zone:NO3",
    ],
)
async def test_every_market_route_needs_a_key_and_turns_an_outage_into_a_503(
    client: httpx.AsyncClient, market: FakeMarketReader, path: str
) -> None:
    unauthorised = await client.get(path, headers={"X-API-Key": "wrong-key-0123456789"})
    market.available = False
    unavailable = await client.get(path)

    assert unauthorised.status_code == 401
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "5"
