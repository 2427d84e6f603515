"""The Norges Bank fake: SDMX-JSON (and CSV) exchange rates, business days only."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tc_market_fakes.market import norges_bank_quote
from tc_market_fakes.server import RunningMarketFakes


def _get(
    client: httpx.Client, fakes: RunningMarketFakes, key: str, **params: str
) -> httpx.Response:
    return client.get(
        f"{fakes.norgesbank_base_url}/api/data/EXR/{key}",
        params={"format": "sdmx-json", **params},
    )


def _observations(doc: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """{currency: {period: (value, unit_mult)}} decoded the way SDMX-JSON clients do."""
    structure = doc["data"]["structure"]
    currencies = structure["dimensions"]["series"][1]["values"]
    periods = structure["dimensions"]["observation"][0]["values"]
    attributes = structure["attributes"]["series"]
    assert [a["id"] for a in attributes] == ["DECIMALS", "CALCULATED", "UNIT_MULT", "COLLECTION"]
    decoded: dict[str, dict[str, tuple[str, str]]] = {}
    for key, series in doc["data"]["dataSets"][0]["series"].items():
        currency = currencies[int(key.split(":")[1])]["id"]
        unit_mult = attributes[2]["values"][series["attributes"][2]]["id"]
        decoded[currency] = {
            periods[int(i)]["id"]: (obs[0], unit_mult) for i, obs in series["observations"].items()
        }
    return decoded


class TestSdmxJson:
    def test_a_range_gives_business_days_only_as_indexed_observations(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, "B.EUR.NOK.SP", startPeriod="2025-10-27", endPeriod="2025-11-02")
        assert r.status_code == 200
        assert "json" in r.headers["content-type"]
        eur = _observations(r.json())["EUR"]
        assert sorted(eur) == ["2025-10-27", "2025-10-28", "2025-10-29", "2025-10-30", "2025-10-31"]
        value, unit_mult = eur["2025-10-31"]
        assert unit_mult == "0"
        assert float(value) == norges_bank_quote(1, "EUR", date(2025, 10, 31))
        assert len(value.split(".")[1]) == 4

    def test_sek_and_dkk_are_quoted_per_100_in_a_combined_key(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, "B.EUR+SEK+DKK.NOK.SP", lastNObservations="1")
        decoded = _observations(r.json())
        assert set(decoded) == {"EUR", "SEK", "DKK"}
        ((sek_value, sek_mult),) = decoded["SEK"].values()
        ((dkk_value, dkk_mult),) = decoded["DKK"].values()
        assert (sek_mult, dkk_mult) == ("2", "2")
        assert 90 < float(sek_value) < 120
        assert 140 < float(dkk_value) < 170

    def test_last_n_observations_ends_at_the_latest_published_fixing(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        set_now: Callable[[datetime], None],
    ) -> None:
        # Monday 12:00 CET: Monday's fixing is not out, so the latest is Friday's.
        eur = _observations(_get(client, fakes, "B.EUR.NOK.SP", lastNObservations="2").json())
        assert sorted(eur["EUR"]) == ["2025-10-30", "2025-10-31"]
        set_now(datetime(2025, 11, 3, 15, 5, tzinfo=UTC))
        eur = _observations(_get(client, fakes, "B.EUR.NOK.SP", lastNObservations="1").json())
        assert list(eur["EUR"]) == ["2025-11-03"]

    def test_a_wildcard_currency_gives_every_currency(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        decoded = _observations(_get(client, fakes, "B..NOK.SP", lastNObservations="1").json())
        assert set(decoded) == {"EUR", "SEK", "DKK"}


class TestOtherShapes:
    def test_csv_has_the_documented_columns(
        self, client: httpx.Client, fakes: RunningMarketFakes
    ) -> None:
        r = _get(client, fakes, "B.SEK.NOK.SP", format="csv", startPeriod="2025-10-31")
        lines = r.text.strip().splitlines()
        assert lines[0].split(";")[-2:] == ["TIME_PERIOD", "OBS_VALUE"]
        assert lines[1].split(";")[10:12] == ["2", "Hundreds"]
        assert lines[1].split(";")[-2] == "2025-10-31"

    @pytest.mark.parametrize(
        ("key", "params"),
        [
            ("B.XYZ.NOK.SP", {}),
            ("M.EUR.NOK.SP", {}),
            ("B.EUR.NOK.SP", {"startPeriod": "2025-11-01", "endPeriod": "2025-11-02"}),
        ],
        ids=["unknown-currency", "unsupported-frequency", "weekend-only"],
    )
    def test_queries_without_results_are_404(
        self,
        client: httpx.Client,
        fakes: RunningMarketFakes,
        key: str,
        params: dict[str, str],
    ) -> None:
        assert _get(client, fakes, key, **params).status_code == 404
