"""The MET locationforecast fake: User-Agent and coordinate rules, caching headers, 304."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tc_market_fakes.server import RunningMarketFakes

AGENT = {"User-Agent": "teslaconnectivity-ingest/0.1 ops@example.com"}
OSLO = {"lat": "59.9139", "lon": "10.7522"}


def _url(fakes: RunningMarketFakes) -> str:
    return f"{fakes.met_base_url}/weatherapi/locationforecast/2.0/compact"


class TestAccessRules:
    @pytest.mark.parametrize(
        "agent",
        ["", "python-httpx/0.28.1", "python-requests/2.32", "okhttp/4.12.0", "curl/8.5.0"],
        ids=["missing", "httpx", "requests", "okhttp", "curl"],
    )
    def test_a_missing_or_generic_user_agent_is_forbidden(
        self, client: httpx.Client, fakes: RunningMarketFakes, agent: str
    ) -> None:
        r = client.get(_url(fakes), params=OSLO, headers={"User-Agent": agent})
        assert r.status_code == 403
        assert fakes.stats()["forbidden"] == 1

    def test_more_than_four_decimals_is_forbidden(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = client.get(_url(fakes), params={"lat": "59.91391", "lon": "10.7522"}, headers=AGENT)
        assert r.status_code == 403

    @pytest.mark.parametrize(
        "params",
        [{"lat": "59.9"}, {"lat": "north", "lon": "10.7"}, {"lat": "95", "lon": "10.7"}],
        ids=["no-lon", "not-a-number", "out-of-range"],
    )
    def test_bad_coordinates_are_400(
        self, client: httpx.Client, fakes: RunningMarketFakes, params: dict[str, str]
    ) -> None:
        assert client.get(_url(fakes), params=params, headers=AGENT).status_code == 400


class TestForecastDocument:
    def test_the_compact_geojson_has_hourly_then_six_hourly_steps(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = client.get(_url(fakes), params=OSLO | {"altitude": "23"}, headers=AGENT)
        assert r.status_code == 200
        doc = r.json()
        assert doc["type"] == "Feature"
        assert doc["geometry"]["coordinates"] == [10.7522, 59.9139, 23]
        meta = doc["properties"]["meta"]
        assert meta["units"]["air_temperature"] == "celsius"
        series = doc["properties"]["timeseries"]
        first = series[0]
        assert set(first["data"]["instant"]["details"]) >= {
            "air_temperature",
            "wind_speed",
            "cloud_area_fraction",
        }
        assert "precipitation_amount" in first["data"]["next_1_hours"]["details"]
        assert "symbol_code" in first["data"]["next_6_hours"]["summary"]
        times = [datetime.fromisoformat(s["time"].replace("Z", "+00:00")) for s in series]
        hourly = [s for s in series if "next_1_hours" in s["data"]]
        assert 55 <= len(hourly) <= 60
        assert times[len(hourly)] - times[len(hourly) - 1] <= timedelta(hours=6)
        assert times[-1] - times[-2] == timedelta(hours=6)
        assert timedelta(days=9) < times[-1] - times[0] <= timedelta(days=10)
        assert "next_6_hours" not in series[-1]["data"]

    def test_headers_carry_last_modified_at_the_run_update_and_a_later_expires(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = client.get(_url(fakes), params=OSLO, headers=AGENT)
        updated_at = datetime.fromisoformat(
            r.json()["properties"]["meta"]["updated_at"].replace("Z", "+00:00")
        )
        assert parsedate_to_datetime(r.headers["Last-Modified"]) == updated_at
        assert parsedate_to_datetime(r.headers["Expires"]) > datetime(2025, 11, 3, 11, tzinfo=UTC)
        assert updated_at <= datetime(2025, 11, 3, 11, tzinfo=UTC)

    def test_the_same_place_always_gets_the_same_forecast(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        a = client.get(_url(fakes), params=OSLO, headers=AGENT).json()
        b = client.get(_url(fakes), params=OSLO, headers=AGENT).json()
        assert a == b


class TestConditionalRequests:
    def test_if_modified_since_with_last_modified_gives_304_until_the_next_run(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        set_now: Callable[[datetime], None],
    ) -> None:
        first = client.get(_url(fakes), params=OSLO, headers=AGENT)
        since = AGENT | {"If-Modified-Since": first.headers["Last-Modified"]}
        again = client.get(_url(fakes), params=OSLO, headers=since)
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
        assert fakes.stats()["not_modified"] == 1

        set_now(datetime(2025, 11, 3, 17, tzinfo=UTC))
        newer = client.get(_url(fakes), params=OSLO, headers=since)
        assert newer.status_code == 200
        assert parsedate_to_datetime(newer.headers["Last-Modified"]) > parsedate_to_datetime(
            first.headers["Last-Modified"]
        )

    def test_an_older_if_modified_since_gets_the_full_document(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        since = AGENT | {"If-Modified-Since": "Mon, 03 Nov 2025 00:00:00 GMT"}
        assert client.get(_url(fakes), params=OSLO, headers=since).status_code == 200
