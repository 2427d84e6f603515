"""Test controls: per-route faults (status, Retry-After, slowness) and request statistics."""

import time
from datetime import date

import httpx
import pytest

from tc_market_fakes.server import RunningMarketFakes

AGENT = {"User-Agent": "teslaconnectivity-ingest/0.1 ops@example.com"}


def _hva(fakes: RunningMarketFakes) -> str:
    return f"{fakes.hvakosterstrommen_base_url}/api/v1/prices/2025/11-03_NO1.json"


def _met(fakes: RunningMarketFakes) -> str:
    return f"{fakes.met_base_url}/weatherapi/locationforecast/2.0/compact?lat=59.91&lon=10.75"


def test_a_429_fault_carries_retry_after_and_hits_only_its_route(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    fakes.inject_faults("hvakosterstrommen", 429, count=2, retry_after_s=7.2)
    first = client.get(_hva(fakes))
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "8"
    assert client.get(_met(fakes), headers=AGENT).status_code == 200
    assert client.get(_hva(fakes)).status_code == 429
    assert client.get(_hva(fakes)).status_code == 200
    stats = fakes.stats()
    assert stats["faults_served"]["hvakosterstrommen"] == 2
    assert stats["faults_pending"]["hvakosterstrommen"] == 0
    assert stats["requests"] == {"entsoe": 0, "hvakosterstrommen": 3, "norgesbank": 0, "met": 1}


def test_the_entsoe_429_says_what_the_platform_says(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    fakes.inject_faults("entsoe", 429, count=1)
    r = client.get(fakes.entsoe_base_url, params={"securityToken": fakes.token})
    assert r.status_code == 429
    assert "Max allowed requests per minute" in r.text


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_served_then_the_route_recovers(
    client: httpx.Client, fakes: RunningMarketFakes, status: int
) -> None:
    url = f"{fakes.norgesbank_base_url}/api/data/EXR/B.EUR.NOK.SP?lastNObservations=1"
    fakes.inject_faults("norgesbank", status, count=1)
    assert client.get(url).status_code == status
    assert client.get(url).status_code == 200


def test_a_slow_fault_delays_a_normal_answer(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    fakes.inject_faults("hvakosterstrommen", None, count=1, delay_s=0.5)
    started = time.monotonic()
    r = client.get(_hva(fakes))
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.5


def test_faults_and_stats_are_reachable_over_http(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    r = client.post(
        f"{fakes.base_url}/_fake/faults",
        json={"route": "met", "status": 503, "count": 1, "retry_after_s": 30},
    )
    assert r.status_code == 200
    failed = client.get(_met(fakes), headers=AGENT)
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "30"
    stats = client.get(f"{fakes.base_url}/_fake/stats").json()
    assert stats["requests"]["met"] == 1
    assert stats["faults_served"]["met"] == 1


def test_an_unknown_fault_route_is_rejected(
    client: httpx.Client, fakes: RunningMarketFakes
) -> None:
    r = client.post(f"{fakes.base_url}/_fake/faults", json={"route": "nordpool", "count": 1})
    assert r.status_code == 422


def test_the_handle_exposes_base_urls_and_the_model(fakes: RunningMarketFakes) -> None:
    assert fakes.base_url.startswith("http://127.0.0.1:")
    assert fakes.entsoe_base_url == f"{fakes.base_url}/entsoe/api"
    assert fakes.hvakosterstrommen_base_url == f"{fakes.base_url}/hvakosterstrommen"
    assert fakes.norgesbank_base_url == f"{fakes.base_url}/norgesbank"
    assert fakes.met_base_url == f"{fakes.base_url}/met"
    start, end, price = fakes.prices("NO1", date(2025, 11, 3))[0]
    assert end > start
    assert isinstance(price, float)
