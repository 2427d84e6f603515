"""The ENTSO-E fake over real HTTP: auth, validation, documents, A03 gaps, publication."""

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tc_market_fakes.market import ZONE_EIC, PricePoint, delivery_day_bounds
from tc_market_fakes.server import RunningMarketFakes
from tc_market_fakes.weather import Zone

PUB = "{urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3}"
ACK = "{urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0}"


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%d%H%M")


def _query(
    fakes: RunningMarketFakes, zone: Zone, first: date, last: date, **extra: str
) -> dict[str, str]:
    return {
        "securityToken": fakes.token,
        "documentType": "A44",
        "in_Domain": ZONE_EIC[zone],
        "out_Domain": ZONE_EIC[zone],
        "periodStart": _stamp(delivery_day_bounds(first)[0]),
        "periodEnd": _stamp(delivery_day_bounds(last)[1]),
        **extra,
    }


def _get(client: httpx.Client, fakes: RunningMarketFakes, params: dict[str, str]) -> httpx.Response:
    return client.get(fakes.entsoe_base_url, params=params)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def _expand(series: ET.Element) -> tuple[str, list[PricePoint]]:
    """What a correct client does: forward-fill A03 gaps up to the period end."""
    period = series.find(f"{PUB}Period")
    assert period is not None
    start = _parse_time(period.findtext(f"{PUB}timeInterval/{PUB}start", ""))
    end = _parse_time(period.findtext(f"{PUB}timeInterval/{PUB}end", ""))
    step = timedelta(minutes=int(period.findtext(f"{PUB}resolution", "").removeprefix("PT")[:-1]))
    given = {
        int(p.findtext(f"{PUB}position", "")): float(p.findtext(f"{PUB}price.amount", ""))
        for p in period.findall(f"{PUB}Point")
    }
    points, price, position, t = [], None, 1, start
    while t < end:
        price = given.get(position, price)
        assert price is not None
        points.append(PricePoint(t, t + step, price))
        position, t = position + 1, t + step
    return series.findtext(f"{PUB}curveType", ""), points


def _reason(response: httpx.Response) -> tuple[str, str]:
    root = ET.fromstring(response.text)
    assert root.tag == f"{ACK}Acknowledgement_MarketDocument"
    return root.findtext(f"{ACK}Reason/{ACK}code", ""), root.findtext(f"{ACK}Reason/{ACK}text", "")


class TestAuth:
    def test_a_missing_token_gets_the_401_html_page(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        params = _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 3))
        del params["securityToken"]
        r = _get(client, fakes, params)
        assert r.status_code == 401
        assert "Unauthorized. Missing or invalid security token" in r.text
        assert "<title>Error</title>" in r.text

    def test_a_wrong_token_is_refused_and_counted(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        params = _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 3), securityToken="nope")
        r = _get(client, fakes, params)
        assert r.status_code == 401
        assert fakes.token not in r.text
        assert fakes.stats()["unauthorized"] == 1


class TestValidation:
    @pytest.mark.parametrize(
        ("override", "fragment"),
        [
            ({"documentType": "A65"}, "documentType"),
            ({"in_Domain": "10YNO-0--------C", "out_Domain": "10YNO-0--------C"}, "not valid"),
            ({"out_Domain": "10YNO-2--------T"}, "out_Domain"),
            ({"periodStart": "2025-11-03"}, "periodStart"),
            ({"periodStart": "202511042300", "periodEnd": "202511032300"}, "periodStart"),
            ({"periodStart": "202401010000", "periodEnd": "202502010000"}, "exceeds allowed limit"),
        ],
        ids=[
            "not-a44",
            "unknown-eic",
            "domains-differ",
            "bad-time",
            "end-before-start",
            "over-a-year",
        ],
    )
    def test_bad_queries_get_400_with_an_acknowledgement(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        override: dict[str, str],
        fragment: str,
    ) -> None:
        params = _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 3)) | override
        r = _get(client, fakes, params)
        assert r.status_code == 400
        code, text = _reason(r)
        assert code == "999"
        assert fragment in text

    def test_parameter_names_are_case_insensitive(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        params = {
            k[0].upper() + k[1:]: v
            for k, v in _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 3)).items()
        }
        r = _get(client, fakes, params)
        assert r.status_code == 200
        assert ET.fromstring(r.text).tag == f"{PUB}Publication_MarketDocument"


class TestPublicationDocument:
    def test_the_document_has_one_time_series_per_delivery_day(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, _query(fakes, "NO3", date(2025, 10, 30), date(2025, 11, 2)))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(r.text)
        assert root.tag == f"{PUB}Publication_MarketDocument"
        assert root.findtext(f"{PUB}type") == "A44"
        assert root.findtext(f"{PUB}period.timeInterval/{PUB}start") == "2025-10-29T23:00Z"
        assert root.findtext(f"{PUB}period.timeInterval/{PUB}end") == "2025-11-02T23:00Z"
        series = root.findall(f"{PUB}TimeSeries")
        assert len(series) == 4
        for s in series:
            assert s.findtext(f"{PUB}businessType") == "A62"
            assert s.findtext(f"{PUB}in_Domain.mRID") == ZONE_EIC["NO3"]
            assert s.findtext(f"{PUB}out_Domain.mRID") == ZONE_EIC["NO3"]
            assert s.findtext(f"{PUB}currency_Unit.name") == "EUR"
            assert s.findtext(f"{PUB}price_Measure_Unit.name") == "MWH"
            assert s.findtext(f"{PUB}Period/{PUB}resolution") == "PT15M"

    def test_expanding_the_a03_gaps_restores_the_model_prices_every_day(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        first, last = date(2025, 9, 1), date(2025, 11, 3)
        r = _get(client, fakes, _query(fakes, "NO4", first, last))
        series = ET.fromstring(r.text).findall(f"{PUB}TimeSeries")
        assert len(series) == (last - first).days + 1
        curves = set()
        omitted = 0
        for offset, s in enumerate(series):
            day = first + timedelta(days=offset)
            curve, points = _expand(s)
            curves.add(curve)
            assert points == fakes.prices("NO4", day)
            omitted += len(points) - len(s.findall(f"{PUB}Period/{PUB}Point"))
            if curve == "A01":
                assert len(s.findall(f"{PUB}Period/{PUB}Point")) == len(points)
        assert curves == {"A01", "A03"}
        assert omitted > 0

    def test_the_first_quarter_day_follows_the_last_hourly_day(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, _query(fakes, "SE3", date(2025, 9, 30), date(2025, 10, 1)))
        series = ET.fromstring(r.text).findall(f"{PUB}TimeSeries")
        assert [s.findtext(f"{PUB}Period/{PUB}resolution") for s in series] == ["PT60M", "PT15M"]
        assert [len(_expand(s)[1]) for s in series] == [24, 96]

    @pytest.mark.parametrize(
        ("day", "count"),
        [(date(2025, 10, 26), 100), (date(2026, 3, 29), 92), (date(2025, 3, 30), 23)],
        ids=["fall-back-100q", "spring-forward-92q", "hourly-spring-23h"],
    )
    def test_dst_days_have_their_real_length(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        set_now: Callable[[datetime], None],
        day: date,
        count: int,
    ) -> None:
        set_now(datetime(2026, 4, 1, tzinfo=UTC))
        r = _get(client, fakes, _query(fakes, "DK1", day, day))
        (series,) = ET.fromstring(r.text).findall(f"{PUB}TimeSeries")
        _, points = _expand(series)
        assert len(points) == count
        assert points == fakes.prices("DK1", day)

    def test_negative_prices_are_sent_with_a_minus_sign(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, _query(fakes, "DK2", date(2024, 11, 5), date(2025, 11, 3)))
        amounts = [float(a.text or "") for a in ET.fromstring(r.text).iter(f"{PUB}price.amount")]
        assert min(amounts) < 0


class TestNotYetPublished:
    def test_tomorrow_before_publication_is_a_200_acknowledgement_with_no_data(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, _query(fakes, "NO1", date(2025, 11, 4), date(2025, 11, 4)))
        assert r.status_code == 200
        code, text = _reason(r)
        assert code == "999"
        assert text.startswith("No matching data found for Data item ENERGY_PRICES [12.1.D]")
        assert "10YNO-1--------2" in text

    def test_a_window_over_today_and_tomorrow_returns_only_today(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 4)))
        assert len(ET.fromstring(r.text).findall(f"{PUB}TimeSeries")) == 1

    def test_tomorrow_appears_once_its_publication_time_has_passed(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        set_now: Callable[[datetime], None],
    ) -> None:
        published = fakes.model.published_at(date(2025, 11, 4))
        params = _query(fakes, "NO1", date(2025, 11, 4), date(2025, 11, 4))
        set_now(published - timedelta(seconds=1))
        assert _reason(_get(client, fakes, params))[0] == "999"
        set_now(published)
        series = ET.fromstring(_get(client, fakes, params).text).findall(f"{PUB}TimeSeries")
        assert len(series) == 1


def test_more_than_the_per_minute_limit_is_answered_with_429(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    fakes.fakes.entsoe_requests_per_minute = 3
    params = _query(fakes, "NO1", date(2025, 11, 3), date(2025, 11, 3))
    statuses = [_get(client, fakes, params).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
