# ruff: noqa: F811 - the fixtures imported below are parameters of the tests
"""A customer's own GDPR requests over the API: the export streams their archive, and only
theirs; the erasure request revokes their keys at once and is published before the answer.
Against a real PostgreSQL, a real Kafka-protocol broker and the Tessie simulator."""

import csv
import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from tc_common.events.accounts import AccountChanged, ApiKeyChanged
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1
from tc_testkit.kafka import consume, keyed

from ..support import KEY  # noqa: TID252
from .test_tessie_token_postgres import (  # noqa: F401 - fixtures
    ROUTE,
    Tenants,
    client,
    tenants,
    tessie,
    vault_settings,
)

pytestmark = pytest.mark.integration


async def test_the_export_streams_the_callers_archive_with_their_cars_and_no_one_elses(
    client: httpx.AsyncClient, tenants: Tenants, tessie: Any
) -> None:
    registered = await client.put(
        ROUTE, json={"token": tessie.token}, headers={"X-API-Key": tenants.a_key}
    )
    assert registered.status_code == 200, registered.text

    response = await client.get("/v1/account/export", headers={"X-API-Key": tenants.a_key})
    other = await client.get("/v1/account/export", headers={"X-API-Key": tenants.b_key})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        account = json.loads(archive.read("account.json"))
        token_rows = list(csv.DictReader(io.StringIO(archive.read("tessie_token.csv").decode())))
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert account["account_id"] == str(tenants.a)
    assert sorted(account["vehicle_ids"]) == sorted(registered.json()["vehicle_ids"])
    assert {f["name"] for f in manifest["files"]} >= {"telemetry.csv", "vehicles.csv"}
    assert [r["token_id"] for r in token_rows] == [registered.json()["token_id"]]
    assert tessie.token.encode() not in everything
    assert str(tenants.b).encode() not in everything
    with zipfile.ZipFile(io.BytesIO(other.content)) as archive:
        assert json.loads(archive.read("account.json"))["vehicle_ids"] == []


async def test_the_operator_key_has_no_account_to_export_or_erase(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/account/export", headers={"X-API-Key": KEY})).status_code == 403
    assert (await client.delete("/v1/account", headers={"X-API-Key": KEY})).status_code == 403


async def test_an_erasure_request_revokes_the_keys_at_once_and_is_published_first(
    client: httpx.AsyncClient, tenants: Tenants, kafka: Any
) -> None:
    response = await client.delete("/v1/account", headers={"X-API-Key": tenants.a_key})

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["account_id"], body["state"]) == (str(tenants.a), "erasure_pending")
    # The key is revoked: the next request with it is refused; B's key still works.
    assert (
        await client.get("/v1/account", headers={"X-API-Key": tenants.a_key})
    ).status_code == 401
    assert (
        await client.get("/v1/account", headers={"X-API-Key": tenants.b_key})
    ).status_code == 200
    pending = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(tenants.a).encode(), AccountChanged, lambda e: e.state == "erasure_pending"),
        until=bool,
    )
    revoked = await consume(
        kafka.bootstrap_servers,
        API_KEY_CHANGED_V1,
        lambda r: r.value and ApiKeyChanged.model_validate_json(r.value).account_id == tenants.a,
        until=bool,
    )
    assert pending
    assert revoked
