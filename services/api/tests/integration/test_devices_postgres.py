# ruff: noqa: F811 - the fixtures imported below are parameters of the tests
"""A customer's VPN devices over the API, against a real PostgreSQL migrated by tc_db (the
provisioner's table, in New York time) and a real Kafka-protocol broker: the list is read from
the table, and a revocation or re-send reaches vpn.requests.v1 before the 202."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events.vpn import DeviceAccessRequested
from tc_common.topics import VPN_REQUESTS_V1
from tc_devstack.net import free_port
from tc_testkit.kafka import consume, keyed

from ..support import KEY, NOW, client_of  # noqa: TID252
from .support import device_row, insert_devices
from .test_tessie_token_postgres import Tenants, tenants  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

ROUTE = "/v1/account/devices"


def _settings(tenants: Tenants, bootstrap_servers: str, publish_timeout_s: float = 10) -> Any:
    return ApiSettings(
        postgres={"url": tenants.url},
        api_keys=[KEY],
        kafka={"bootstrap_servers": bootstrap_servers, "partitions": 1},
        publish_timeout_s=publish_timeout_s,
    )


@pytest.fixture
async def devices(tenants: Tenants) -> Tenants:
    """A: a laptop re-issued (the first certificate superseded) and a phone revoked; B: a
    router."""
    await insert_devices(
        tenants.url,
        [
            device_row(
                tenants.a, "laptop", "a1", NOW - timedelta(days=60), "revoked", "superseded"
            ),
            device_row(tenants.a, "Laptop", "a2", NOW - timedelta(days=5)),
            device_row(
                tenants.a, "phone", "b1", NOW - timedelta(days=20), "revoked", "customer_request"
            ),
            device_row(tenants.b, "router", "c1", NOW - timedelta(days=3)),
        ],
    )
    return tenants


@pytest.fixture
async def client(devices: Tenants, kafka: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(devices, kafka.bootstrap_servers), clock=FixedClock(NOW))
    async with client_of(app, devices.a_key) as http:
        yield http


async def _requests(kafka: Any, tenants: Tenants, count: int) -> list[DeviceAccessRequested]:
    return await consume(
        kafka.bootstrap_servers,
        VPN_REQUESTS_V1,
        keyed(str(tenants.a).encode(), DeviceAccessRequested),
        until=lambda found: len(found) >= count,
    )


async def test_the_list_is_the_accounts_certificates_from_the_table_in_utc(
    client: httpx.AsyncClient, devices: Tenants
) -> None:
    response = await client.get(ROUTE)
    theirs = await client.get(ROUTE, headers={"X-API-Key": devices.b_key})

    assert response.status_code == 200, response.text
    assert [
        (d["device_name"], [(c["serial_hex"], c["state"], c["valid"]) for c in d["certificates"]])
        for d in response.json()
    ] == [
        ("Laptop", [("a2", "issued", True), ("a1", "revoked", False)]),
        ("phone", [("b1", "revoked", False)]),
    ]
    assert response.json()[0]["certificates"][0]["issued_at"] == "2026-11-20T12:00:00Z"
    assert [d["device_name"] for d in theirs.json()] == ["router"]


async def test_a_revocation_reaches_the_provisioners_topic_before_the_202(
    client: httpx.AsyncClient, devices: Tenants, kafka: Any
) -> None:
    response = await client.delete(f"{ROUTE}/LAPTOP")

    assert response.status_code == 202, response.text
    [request] = await _requests(kafka, devices, 1)
    assert str(request.request_id) == response.json()["request_id"]
    assert (request.account_id, request.device_name, request.kind, request.requested_by) == (
        devices.a,
        "Laptop",
        "revoke",
        "customer",
    )


async def test_a_resend_is_published_and_a_device_without_a_valid_certificate_is_409(
    client: httpx.AsyncClient, devices: Tenants, kafka: Any
) -> None:
    refused = await client.post(f"{ROUTE}/phone/profile-email")
    accepted = await client.post(f"{ROUTE}/laptop/profile-email")

    assert refused.status_code == 409
    assert accepted.status_code == 202, accepted.text
    requests = await _requests(kafka, devices, 1)
    assert [(r.kind, r.device_name) for r in requests] == [("resend_profile", "Laptop")]


async def test_another_tenants_device_is_404_and_nothing_is_published(
    client: httpx.AsyncClient, devices: Tenants, kafka: Any
) -> None:
    revoke = await client.delete(f"{ROUTE}/router")
    resend = await client.post(f"{ROUTE}/router/profile-email")

    assert (revoke.status_code, resend.status_code) == (404, 404)
    assert (
        await consume(
            kafka.bootstrap_servers,
            VPN_REQUESTS_V1,
            keyed(str(devices.b).encode(), DeviceAccessRequested),
            until=bool,
            timeout_s=3,
        )
        == []
    )


async def test_a_broker_that_does_not_acknowledge_is_a_503_asking_to_repeat(
    devices: Tenants,
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    app = create_app(_settings(devices, nowhere, publish_timeout_s=2), clock=FixedClock(NOW))
    async with client_of(app, devices.a_key) as client:
        response = await client.delete(f"{ROUTE}/laptop")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "repeat the same request" in response.json()["detail"]
