"""What the OpenAPI document declares about a parameter, the api enforces, and no more: a
generated client that refuses what the document forbids refuses exactly what the api answers
422 to. Checked at the declared bounds of every bounded query parameter and for the zone
pattern, against the app with fake readers."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tc_api import openapi_doc
from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_testkit.events import VIN

from .support import KEY, NOW, FakeTelemetryReader, client_of
from .test_behaviour_routes import FakeHistoryReader
from .test_market_routes import FakeMarketReader

DOCUMENT = openapi_doc.document()


def _bounded_query_parameters() -> list[tuple[str, str, int, int]]:
    found = []
    for path, operations in sorted(DOCUMENT["paths"].items()):
        # Only the reads take query parameters (the account's PUT/PATCH/DELETE take a body).
        for parameter in operations.get("get", {}).get("parameters", []):
            schema = parameter["schema"]
            if parameter["in"] == "query" and "minimum" in schema and "maximum" in schema:
                found.append((path, parameter["name"], schema["minimum"], schema["maximum"]))
    return found


BOUNDED = _bounded_query_parameters()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": "postgresql://unused@127.0.0.1:1/unused"}, api_keys=[KEY]
    )
    app = create_app(
        settings,
        reader=FakeTelemetryReader(),
        market_reader=FakeMarketReader(),
        history_reader=FakeHistoryReader(),
        clock=FixedClock(NOW),
    )
    async with client_of(app) as http:
        yield http


def test_the_page_sizes_are_declared() -> None:
    assert {(path, name) for path, name, _, _ in BOUNDED} == {
        ("/v1/vehicles/{vehicle_id}/plans", "limit"),
        ("/v1/vehicles/{vehicle_id}/telemetry", "limit"),
    }


@pytest.mark.parametrize(("path", "name", "minimum", "maximum"), BOUNDED)
async def test_the_api_refuses_just_outside_a_declared_bound_and_accepts_on_it(
    client: httpx.AsyncClient, path: str, name: str, minimum: int, maximum: int
) -> None:
    url = path.replace("{vehicle_id}", VIN)

    for value, refused in (
        (minimum - 1, True),
        (minimum, False),
        (maximum, False),
        (maximum + 1, True),
    ):
        response = await client.get(url, params={name: value})
        assert (response.status_code == 422) is refused, (name, value, response.text)
        if refused:
            assert response.json()["detail"][0]["loc"] == ["query", name]


ZONE_PATTERN = DOCUMENT["paths"]["/v1/prices/{zone}"]["get"]["parameters"][0]["schema"]["pattern"]


@pytest.mark.parametrize("zone", ["NO1", "no3", "Se4", "dk2", "FI", "fi", "NO6", "SE", "DE", "XX1"])
async def test_the_declared_zone_pattern_matches_what_the_api_accepts(
    client: httpx.AsyncClient, zone: str
) -> None:
    response = await client.get(f"/v1/prices/{zone}/anomalies")

    assert (response.status_code != 422) == bool(re.fullmatch(ZONE_PATTERN, zone)), response.text
