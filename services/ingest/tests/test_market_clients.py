"""The market and weather clients against ``httpx.MockTransport`` with reference-shaped bodies."""

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_ingest.adapters.entsoe import EntsoeClient
from tc_ingest.adapters.hvakosterstrommen import HvakosterstrommenClient, parse_day
from tc_ingest.adapters.met import MetClient
from tc_ingest.adapters.norgesbank import CachedExchangeRates, NorgesBankClient, parse_rates
from tc_ingest.domain.market import delivery_day_bounds, expected_slot_count, is_complete
from tc_ingest.errors import (
    MarketAuthError,
    MarketRequestError,
    MarketSourceError,
    MarketUnavailableError,
)
from tc_ingest.metrics import MarketMetrics
from tc_ingest.settings import MarketSettings, WeatherSettings
from tc_testkit.recorders import RecordedSleeps

FIXTURES = Path(__file__).parent / "fixtures"
ENTSOE_TOKEN = "entsoe-token-5b9d1c77"
NOW = datetime(2025, 11, 4, 12, 30, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def entsoe_xml(day: date, resolution_min: int, *, curve: str = "A03", seq: int = 1) -> bytes:
    """A one-day document with a distinct price per position (nothing omitted)."""
    start, end = delivery_day_bounds(day)
    count = expected_slot_count(day, resolution_min)
    points = "".join(
        f"<Point><position>{i}</position><price.amount>{i}.5</price.amount></Point>"
        for i in range(1, count + 1)
    )
    stamp = "%Y-%m-%dT%H:%MZ"
    return (
        "<Publication_MarketDocument "
        'xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">'
        f"<TimeSeries><classificationSequence_AttributeInstanceComponent.position>{seq}"
        "</classificationSequence_AttributeInstanceComponent.position>"
        f"<curveType>{curve}</curveType><Period><timeInterval>"
        f"<start>{start.strftime(stamp)}</start><end>{end.strftime(stamp)}</end></timeInterval>"
        f"<resolution>PT{resolution_min}M</resolution>{points}</Period></TimeSeries>"
        "</Publication_MarketDocument>"
    ).encode()


class Recorder:
    """A MockTransport handler answering from a queue; remembers every request."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


@pytest.fixture
def market_metrics() -> MarketMetrics:
    return MarketMetrics(CollectorRegistry())


@pytest.fixture
def market_settings() -> MarketSettings:
    return MarketSettings(
        entsoe_base_url="https://entsoe.test/api",
        hvakosterstrommen_base_url="https://hva.test",
        norgesbank_base_url="https://nb.test",
        backoff_base_s=1,
        backoff_cap_s=10,
    )


def entsoe_client(
    recorder: Recorder,
    settings: MarketSettings,
    sleeps: RecordedSleeps,
    metrics: MarketMetrics | None = None,
) -> EntsoeClient:
    return EntsoeClient(
        settings,
        ENTSOE_TOKEN,
        transport=httpx.MockTransport(recorder),
        sleep=sleeps,
        jitter=lambda: 0.5,
        on_error=metrics.count_fetch_error if metrics else None,
        clock=FixedClock(NOW),
    )


def error_count(metrics: MarketMetrics, source: str, status: str) -> float:
    value: float = metrics.market_fetch_errors.labels(source=source, status=status)._value.get()
    return value


class TestEntsoe:
    async def test_two_timeseries_become_two_complete_quarter_hour_days_with_a03_filled(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=fixture("entsoe_a03_two_days_pt15m.xml")))
        client = entsoe_client(recorder, market_settings, sleeps)

        days = await client.fetch_days("NO1", date(2025, 11, 4), date(2025, 11, 5))

        assert [(d.delivery_date, d.resolution_min, len(d.slots)) for d in days] == [
            (date(2025, 11, 4), 15, 96),
            (date(2025, 11, 5), 15, 96),
        ]
        assert all(is_complete(d) for d in days)
        first = [s.price_eur_per_mwh for s in days[0].slots]
        assert first[:6] == [61.07, 58.9, 58.9, 58.9, 55.12, -1.3]
        assert first[38:40] == [-1.3, 87.4]
        assert first[-1] == 87.4  # trailing repeats are filled up to the period end
        assert days[0].slots[0].start_at == datetime(2025, 11, 3, 23, tzinfo=UTC)
        second = [s.price_eur_per_mwh for s in days[1].slots]
        assert second[94:] == [70.0, 71.5]

    async def test_the_request_asks_for_a44_over_the_cet_days_in_utc_with_the_token(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=fixture("entsoe_ack_999.xml")))
        client = entsoe_client(recorder, market_settings, sleeps)

        await client.fetch_days("NO5", date(2025, 6, 1), date(2025, 6, 2))

        params = recorder.requests[0].url.params
        assert recorder.requests[0].url.path == "/api"
        assert params["documentType"] == "A44"
        assert params["in_Domain"] == params["out_Domain"] == "10Y1001A1001A48H"
        assert params["periodStart"] == "202505312200"
        assert params["periodEnd"] == "202506022200"
        assert params["securityToken"] == ENTSOE_TOKEN

    async def test_a01_with_a_missing_position_leaves_a_gap(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=fixture("entsoe_a01_pt60m_gap.xml")))
        client = entsoe_client(recorder, market_settings, sleeps)

        [day] = await client.fetch_days("NO3", date(2024, 6, 3), date(2024, 6, 3))

        assert day.resolution_min == 60
        assert len(day.slots) == 23
        assert not is_complete(day)
        gap_start = datetime(2024, 6, 3, 1, tzinfo=UTC)
        assert all(s.start_at != gap_start for s in day.slots)

    @pytest.mark.parametrize(
        ("day", "resolution_min", "count"),
        [
            (date(2026, 3, 29), 15, 92),
            (date(2025, 10, 26), 15, 100),
            (date(2024, 3, 31), 60, 23),
            (date(2024, 10, 27), 60, 25),
        ],
    )
    async def test_dst_days_parse_to_their_true_length(
        self,
        market_settings: MarketSettings,
        sleeps: RecordedSleeps,
        day: date,
        resolution_min: int,
        count: int,
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=entsoe_xml(day, resolution_min)))
        client = entsoe_client(recorder, market_settings, sleeps)

        [prices] = await client.fetch_days("NO1", day, day)

        assert len(prices.slots) == count
        assert is_complete(prices)

    async def test_a_day_in_two_resolutions_keeps_the_hourly_one_before_the_15_minute_go_live(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        day = date(2025, 6, 1)
        hourly, quarters = entsoe_xml(day, 60), entsoe_xml(day, 15)
        both = hourly.replace(
            b"</Publication_MarketDocument>",
            quarters.split(b'publicationdocument:7:3">', 1)[1],
        )
        client = entsoe_client(Recorder(httpx.Response(200, content=both)), market_settings, sleeps)

        [prices] = await client.fetch_days("NO1", day, day)

        assert prices.resolution_min == 60

    @pytest.mark.parametrize("status", [200, 400])
    async def test_the_no_data_acknowledgement_means_not_published_yet(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps, status: int
    ) -> None:
        recorder = Recorder(httpx.Response(status, content=fixture("entsoe_ack_999.xml")))
        client = entsoe_client(recorder, market_settings, sleeps)

        assert await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5)) == []

    async def test_a_refusing_acknowledgement_is_a_clear_request_error(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(400, content=fixture("entsoe_ack_invalid.xml")))
        client = entsoe_client(recorder, market_settings, sleeps)

        with pytest.raises(MarketRequestError, match="Invalid query attributes") as raised:
            await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        assert ENTSOE_TOKEN not in str(raised.value)
        assert len(recorder.requests) == 1

    async def test_401_is_an_auth_error_that_never_shows_the_token(
        self,
        market_settings: MarketSettings,
        sleeps: RecordedSleeps,
        market_metrics: MarketMetrics,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        body = (
            "<html><head><title>Error</title></head>"
            "<body>Unauthorized. Missing or invalid security token</body></html>"
        )
        recorder = Recorder(httpx.Response(401, text=body))
        client = entsoe_client(recorder, market_settings, sleeps, market_metrics)
        caplog.set_level(logging.DEBUG)

        with pytest.raises(MarketAuthError) as raised:
            await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        assert ENTSOE_TOKEN not in str(raised.value)
        assert ENTSOE_TOKEN not in caplog.text
        assert error_count(market_metrics, "entsoe", "401") == 1

    async def test_429_and_5xx_are_retried_honouring_retry_after(
        self,
        market_settings: MarketSettings,
        sleeps: RecordedSleeps,
        market_metrics: MarketMetrics,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        recorder = Recorder(
            httpx.Response(429, headers={"Retry-After": "7"}, text="Max allowed requests"),
            httpx.Response(503),
            httpx.Response(200, content=entsoe_xml(date(2025, 11, 5), 15)),
        )
        client = entsoe_client(recorder, market_settings, sleeps, market_metrics)
        caplog.set_level(logging.DEBUG)

        [day] = await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        assert len(day.slots) == 96
        assert sleeps.delays == [7.0, 1.5]  # Retry-After, then backoff 2 s with jitter 0.5
        assert error_count(market_metrics, "entsoe", "429") == 1
        assert error_count(market_metrics, "entsoe", "503") == 1
        assert ENTSOE_TOKEN not in caplog.text

    async def test_a_retry_after_beyond_the_cap_ends_the_call_with_the_wait(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(429, headers={"Retry-After": "600"}))
        client = entsoe_client(recorder, market_settings, sleeps)

        with pytest.raises(MarketUnavailableError) as raised:
            await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        assert raised.value.retry_after_s == 600
        assert sleeps.delays == []

    async def test_persistent_server_errors_give_up_after_max_attempts(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(502))
        client = entsoe_client(recorder, market_settings, sleeps)

        with pytest.raises(MarketUnavailableError, match="HTTP 502 after 4 attempts"):
            await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        assert len(recorder.requests) == 4

    async def test_unusual_statuses_add_no_metric_series(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps, market_metrics: MarketMetrics
    ) -> None:
        settings = market_settings.model_copy(update={"max_attempts": 1})

        async def answer(statuses: list[int]) -> None:
            for status in statuses:
                client = entsoe_client(
                    Recorder(httpx.Response(status)), settings, sleeps, market_metrics
                )
                with pytest.raises(MarketSourceError):
                    await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))

        def series() -> set[tuple[str, str]]:
            return {
                (s.labels["source"], s.labels["status"])
                for m in market_metrics.market_fetch_errors.collect()
                for s in m.samples
            }

        await answer([460, 520, 999])
        before = series()
        await answer([*range(461, 470), *range(521, 540), *range(900, 920)])

        assert series() == before == {("entsoe", "4xx"), ("entsoe", "5xx"), ("entsoe", "other")}

    async def test_a_non_xml_body_is_unavailable_not_a_crash(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        client = entsoe_client(Recorder(httpx.Response(200, text="{oops")), market_settings, sleeps)

        with pytest.raises(MarketUnavailableError, match="unreadable"):
            await client.fetch_days("NO1", date(2025, 11, 5), date(2025, 11, 5))


class TestHvakosterstrommen:
    def test_rows_with_local_offsets_become_utc_slots_in_eur_per_mwh_and_ore(self) -> None:
        day = parse_day("NO1", date(2025, 11, 4), fixture("hvakosterstrommen_2025-11-04_NO1.json"))

        assert day.resolution_min == 15
        assert day.eur_nok == 11.7005
        first = day.slots[0]
        assert first.start_at == datetime(2025, 11, 3, 23, tzinfo=UTC)
        assert first.end_at == datetime(2025, 11, 3, 23, 15, tzinfo=UTC)
        assert first.price_eur_per_mwh == pytest.approx(60.88)
        assert first.price_nok_ore_per_kwh == pytest.approx(71.234)
        assert day.slots[2].price_eur_per_mwh == pytest.approx(-1.3)

    def test_the_fall_back_day_has_25_hourly_rows_with_repeated_local_hours(self) -> None:
        start, _ = delivery_day_bounds(date(2024, 10, 27))
        oslo = ZoneInfo("Europe/Oslo")
        rows: list[dict[str, Any]] = [
            {
                "NOK_per_kWh": 0.5,
                "EUR_per_kWh": 0.04,
                "EXR": 11.5,
                "time_start": (start + timedelta(hours=i)).astimezone(oslo).isoformat(),
                "time_end": (start + timedelta(hours=i + 1)).astimezone(oslo).isoformat(),
            }
            for i in range(25)
        ]

        day = parse_day("NO2", date(2024, 10, 27), json.dumps(rows).encode())

        assert len(day.slots) == 25
        assert is_complete(day)
        assert rows[2]["time_start"][11:16] == rows[3]["time_start"][11:16] == "02:00"

    async def test_the_path_is_year_month_day_and_zone_and_404_means_not_published(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(404, text="Not found"))
        client = HvakosterstrommenClient(
            market_settings, transport=httpx.MockTransport(recorder), sleep=sleeps
        )

        assert await client.fetch_day("NO4", date(2025, 3, 9)) is None
        assert recorder.requests[0].url.path == "/api/v1/prices/2025/03-09_NO4.json"

    async def test_a_range_fetches_each_day_and_skips_unpublished_ones(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        body = fixture("hvakosterstrommen_2025-11-04_NO1.json")
        recorder = Recorder(httpx.Response(200, content=body), httpx.Response(404))
        client = HvakosterstrommenClient(
            market_settings, transport=httpx.MockTransport(recorder), sleep=sleeps
        )

        days = await client.fetch_days("NO1", date(2025, 11, 4), date(2025, 11, 5))

        assert [d.delivery_date for d in days] == [date(2025, 11, 4)]
        assert len(recorder.requests) == 2

    def test_only_norwegian_zones_are_supported(self, market_settings: MarketSettings) -> None:
        client = HvakosterstrommenClient(market_settings)

        assert client.supports("NO5")
        assert not client.supports("SE3")


class TestNorgesBank:
    def test_sdmx_json_gives_units_per_euro_with_sek_and_dkk_per_100_nok_quotes(self) -> None:
        rates = parse_rates(fixture("norgesbank_exr.json"))

        assert sorted(rates) == [date(2025, 8, 20), date(2025, 8, 21), date(2025, 8, 22)]
        day = rates[date(2025, 8, 20)]
        assert day["NOK"] == 11.9505
        # 107.30 NOK per 100 SEK → 1.0730 NOK per SEK → 11.9505 / 1.0730 SEK per EUR
        assert day["SEK"] == pytest.approx(11.1375, abs=1e-4)
        assert day["DKK"] == pytest.approx(7.4644, abs=1e-4)

    async def test_the_query_asks_for_business_day_eur_sek_dkk_against_nok(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=fixture("norgesbank_exr.json")))
        client = NorgesBankClient(
            market_settings, transport=httpx.MockTransport(recorder), sleep=sleeps
        )

        await client.fetch_rates(date(2025, 8, 20), date(2025, 8, 24))

        url = recorder.requests[0].url
        assert url.path == "/api/data/EXR/B.EUR+SEK+DKK.NOK.SP"
        assert url.params["format"] == "sdmx-json"
        assert (url.params["startPeriod"], url.params["endPeriod"]) == ("2025-08-20", "2025-08-24")

    async def test_the_cache_forward_fills_the_weekend_and_rereads_only_when_stale(
        self, market_settings: MarketSettings, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(httpx.Response(200, content=fixture("norgesbank_exr.json")))
        clock = FixedClock(datetime(2025, 8, 24, 10, tzinfo=UTC))
        client = NorgesBankClient(
            market_settings, transport=httpx.MockTransport(recorder), sleep=sleeps
        )
        cache = CachedExchangeRates(
            client, clock=clock, lookback_days=5, refresh_interval=timedelta(hours=6)
        )

        await cache.ensure_fresh()
        await cache.ensure_fresh()
        assert cache.eur_nok_on(date(2025, 8, 24)) == 11.9  # Sunday: Friday's fixing
        assert len(recorder.requests) == 1

        clock.advance(timedelta(hours=6))
        await cache.ensure_fresh()
        assert len(recorder.requests) == 2


def met_client(
    recorder: Recorder, clock: FixedClock, sleeps: RecordedSleeps, **overrides: Any
) -> MetClient:
    settings = WeatherSettings(met_base_url="https://met.test", **overrides)
    return MetClient(settings, transport=httpx.MockTransport(recorder), sleep=sleeps, clock=clock)


class TestMet:
    LAST_MODIFIED = "Tue, 04 Nov 2025 10:12:31 GMT"

    def ok(self, expires: str = "Tue, 04 Nov 2025 12:40:00 GMT") -> httpx.Response:
        return httpx.Response(
            200,
            content=fixture("met_compact.json"),
            headers={"Last-Modified": self.LAST_MODIFIED, "Expires": expires},
        )

    async def test_the_request_identifies_the_app_and_rounds_coordinates(
        self, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(self.ok())
        client = met_client(recorder, FixedClock(NOW), sleeps, user_agent="tc-test/1.0 ops@x.test")

        fetched = await client.fetch(59.913912345, 10.752245678)

        request = recorder.requests[0]
        assert request.headers["User-Agent"] == "tc-test/1.0 ops@x.test"
        assert request.url.path == "/weatherapi/locationforecast/2.0/compact"
        assert (request.url.params["lat"], request.url.params["lon"]) == ("59.9139", "10.7522")
        assert (fetched.latitude_deg, fetched.longitude_deg) == (59.9139, 10.7522)
        assert fetched.fresh

    async def test_compact_entries_become_hourly_then_six_hourly_slots(
        self, sleeps: RecordedSleeps
    ) -> None:
        client = met_client(Recorder(self.ok()), FixedClock(NOW), sleeps)

        fetched = await client.fetch(59.9139, 10.7522)

        forecast = fetched.forecast
        assert forecast.updated_at == datetime(2025, 11, 4, 10, 12, 31, tzinfo=UTC)
        spans = [(s.end_at - s.start_at) / timedelta(hours=1) for s in forecast.slots]
        assert spans == [1, 1, 6, 6]
        first = forecast.slots[0]
        assert (first.air_temperature_c, first.wind_speed_m_per_s) == (4.3, 3.6)
        assert first.cloud_area_fraction_pct == 87.5
        assert [s.precipitation_mm for s in forecast.slots] == [0.0, 0.3, 0.2, None]

    async def test_nothing_is_requested_again_before_expires(self, sleeps: RecordedSleeps) -> None:
        recorder = Recorder(self.ok())
        clock = FixedClock(NOW)
        client = met_client(recorder, clock, sleeps)

        await client.fetch(59.9139, 10.7522)
        clock.advance(timedelta(minutes=5))
        again = await client.fetch(59.9139, 10.7522)

        assert len(recorder.requests) == 1
        assert not again.fresh

    async def test_after_expires_if_modified_since_is_sent_and_304_reuses_the_forecast(
        self, sleeps: RecordedSleeps
    ) -> None:
        recorder = Recorder(
            self.ok(),
            httpx.Response(304, headers={"Expires": "Tue, 04 Nov 2025 13:30:00 GMT"}),
        )
        clock = FixedClock(NOW)
        client = met_client(recorder, clock, sleeps)

        first = await client.fetch(59.9139, 10.7522)
        clock.advance(timedelta(minutes=15))
        second = await client.fetch(59.9139, 10.7522)
        clock.advance(timedelta(minutes=15))
        await client.fetch(59.9139, 10.7522)  # before the new Expires: no request

        assert recorder.requests[1].headers["If-Modified-Since"] == self.LAST_MODIFIED
        assert not second.fresh
        assert second.forecast == first.forecast
        assert len(recorder.requests) == 2

    async def test_403_is_reported_as_a_user_agent_problem(self, sleeps: RecordedSleeps) -> None:
        client = met_client(Recorder(httpx.Response(403)), FixedClock(NOW), sleeps)

        with pytest.raises(MarketAuthError, match="USER_AGENT"):
            await client.fetch(59.9139, 10.7522)

    def test_a_generic_user_agent_is_refused_by_the_settings(self) -> None:
        with pytest.raises(ValueError, match="user_agent"):
            WeatherSettings(user_agent="python")
