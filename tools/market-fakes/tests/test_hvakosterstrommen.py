"""The hvakosterstrommen.no fake: static JSON files per Norwegian zone and local day."""

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tc_market_fakes.server import RunningMarketFakes


def _url(fakes: RunningMarketFakes, day: date, zone: str) -> str:
    return f"{fakes.hvakosterstrommen_base_url}/api/v1/prices/{day:%Y}/{day:%m-%d}_{zone}.json"


@pytest.fixture
def late(set_now: Callable[[datetime], None]) -> None:
    set_now(datetime(2026, 4, 1, tzinfo=UTC))


class TestRows:
    def test_a_winter_day_has_96_quarters_with_plus_one_offsets(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        rows = client.get(_url(fakes, date(2025, 11, 3), "NO1")).json()
        assert isinstance(rows, list)
        assert len(rows) == 96
        assert set(rows[0]) == {"NOK_per_kWh", "EUR_per_kWh", "EXR", "time_start", "time_end"}
        assert rows[0]["time_start"] == "2025-11-03T00:00:00+01:00"
        assert rows[0]["time_end"] == "2025-11-03T00:15:00+01:00"
        assert rows[-1]["time_end"] == "2025-11-04T00:00:00+01:00"

    def test_a_summer_day_before_october_2025_has_24_hours_with_plus_two_offsets(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        rows = client.get(_url(fakes, date(2025, 6, 1), "NO5")).json()
        assert len(rows) == 24
        assert rows[0]["time_start"] == "2025-06-01T00:00:00+02:00"
        assert rows[0]["time_end"] == "2025-06-01T01:00:00+02:00"

    def test_the_fall_back_day_repeats_local_times_with_different_offsets(
        self, client: httpx.Client, fakes: RunningMarketFakes, late: None
    ) -> None:
        rows = client.get(_url(fakes, date(2025, 10, 26), "NO2")).json()
        assert len(rows) == 100
        starts = [r["time_start"] for r in rows]
        assert "2025-10-26T02:00:00+02:00" in starts
        assert "2025-10-26T02:00:00+01:00" in starts
        parsed = [datetime.fromisoformat(s) for s in starts]
        assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(parsed))

    def test_the_spring_forward_day_has_92_quarters(
        self, client: httpx.Client, fakes: RunningMarketFakes, late: None
    ) -> None:
        assert len(client.get(_url(fakes, date(2026, 3, 29), "NO3")).json()) == 92

    def test_prices_match_the_model_and_nok_is_eur_times_the_rate(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        day = date(2025, 11, 3)
        rows = client.get(_url(fakes, day, "NO4")).json()
        model = fakes.prices("NO4", day)
        assert [r["EUR_per_kWh"] for r in rows] == [round(p.eur_per_mwh / 1000, 5) for p in model]
        for row in rows:
            assert row["NOK_per_kWh"] == pytest.approx(row["EUR_per_kWh"] * row["EXR"], abs=1e-4)
        assert 10 < rows[0]["EXR"] < 13


class TestNotFound:
    @pytest.mark.parametrize(
        "path",
        ["2025/11-03_SE3.json", "2025/11-03_NO6.json", "2025/02-30_NO1.json", "2025/11-3_NO1.json"],
        ids=["swedish-zone", "no-such-zone", "no-such-date", "one-digit-day"],
    )
    def test_unknown_files_are_404(
        self, client: httpx.Client, fakes: RunningMarketFakes, path: str
    ) -> None:
        r = client.get(f"{fakes.hvakosterstrommen_base_url}/api/v1/prices/{path}")
        assert r.status_code == 404

    def test_tomorrow_is_404_until_published(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        set_now: Callable[[datetime], None],
    ) -> None:
        tomorrow = date(2025, 11, 4)
        assert client.get(_url(fakes, tomorrow, "NO1")).status_code == 404
        set_now(fakes.model.published_at(tomorrow))
        assert client.get(_url(fakes, tomorrow, "NO1")).status_code == 200
