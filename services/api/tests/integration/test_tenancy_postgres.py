"""Each account key sees only its own account's vehicles; the operator key sees every account's.
Each account key sees and acts on only its own VPN devices; the operator key has none (403).

Against a real PostgreSQL migrated by tc_db. Accounts, keys and links are inserted with plain SQL,
as the provisioner and tc-admin will write them.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events.accounts import api_key_sha256
from tc_testkit.events import VIN

from ..support import CHARGES, DRIVES, KEY, NOW, PLANS, PROFILE, client_of  # noqa: TID252
from .support import device_row, insert_devices, insert_rows, seeding
from .test_api_postgres import _telemetry_row
from .test_history_postgres import _episode, _plan_row

pytestmark = pytest.mark.integration

OWN = VIN  # the vehicle of account A, with telemetry, history, a profile and a plan
THEIRS = "7SAYGDEE2PF010003"  # account B's vehicle, with the same data
SUSPENDED_VIN = "5YJ3E7EA1MF010009"  # the suspended account's vehicle
UNKNOWN = "5YJ3E7EB0KF999999"  # nobody's, and no data

A_KEY = "tck_account-a-key-0123456789abcdef"
A_REVOKED_KEY = "tck_account-a-old-key-0123456789ab"
B_KEY = "tck_account-b-key-0123456789abcdef"
SUSPENDED_KEY = "tck_suspended-key-0123456789abcdef"

ACCOUNT_A, ACCOUNT_B, ACCOUNT_S = uuid4(), uuid4(), uuid4()
A_KEY_ID = uuid4()

VEHICLE_ROUTE_PREFIX = "/v1/vehicles"
DEVICE_ROUTE_PREFIX = "/v1/account/devices"


def _paths() -> dict[str, Any]:
    """Every path of the app, as the app declares them (its OpenAPI paths: included routers
    are not flattened into ``app.routes`` in this FastAPI)."""
    app = create_app(
        ApiSettings(postgres={"url": "postgresql://unused@127.0.0.1:1/x"}, api_keys=[KEY])
    )
    paths: dict[str, Any] = app.openapi()["paths"]
    return paths


def _vehicle_paths() -> list[str]:
    return sorted(p for p in _paths() if p.startswith(VEHICLE_ROUTE_PREFIX + "/"))


def _device_operations() -> list[str]:
    """Every operation on the account's devices, as "METHOD path"."""
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in _paths().items()
        if path.startswith(DEVICE_ROUTE_PREFIX)
        for method in operations
    )


# What the owner gets for its own vehicle on each route: every one serves the seeded data. A new
# vehicle route fails test_every_vehicle_route_is_in_the_table until it is added here.
OWN_VEHICLE_STATUS = {
    "/v1/vehicles/{vehicle_id}/latest": 200,
    "/v1/vehicles/{vehicle_id}/telemetry": 200,
    "/v1/vehicles/{vehicle_id}/drives": 200,
    "/v1/vehicles/{vehicle_id}/charges": 200,
    "/v1/vehicles/{vehicle_id}/profile": 200,
    "/v1/vehicles/{vehicle_id}/plan": 200,
    "/v1/vehicles/{vehicle_id}/plans": 200,
}
# case: (key sent, vehicle asked for)
CASES: dict[str, tuple[str | None, str]] = {
    "own vehicle": (A_KEY, OWN),
    "other tenant's vehicle": (A_KEY, THEIRS),
    "unknown vehicle": (A_KEY, UNKNOWN),
    "no key": (None, OWN),
    "revoked key": (A_REVOKED_KEY, OWN),
    "suspended account's key": (SUSPENDED_KEY, SUSPENDED_VIN),
    "operator key, any tenant's vehicle": (KEY, THEIRS),
}


# What the owner gets for its own device on each operation. A new device operation fails
# test_every_device_operation_is_in_the_table until it is added here.
OWN_DEVICE_STATUS = {
    "GET /v1/account/devices": 200,
    "DELETE /v1/account/devices/{device_name}": 202,
    "POST /v1/account/devices/{device_name}/profile-email": 202,
}
THEIR_DEVICE = "router"  # account B's
# case: (key sent, device asked for)
DEVICE_CASES: dict[str, tuple[str | None, str]] = {
    "own device": (A_KEY, "laptop"),
    "other tenant's device": (A_KEY, THEIR_DEVICE),
    "unknown device": (A_KEY, "nothing"),
    "no key": (None, "laptop"),
    "revoked key": (A_REVOKED_KEY, "laptop"),
    "suspended account's key": (SUSPENDED_KEY, "tablet"),
    "operator key, any tenant's device": (KEY, THEIR_DEVICE),
}


def _account(account_id: UUID, name: str, state: str) -> dict[str, Any]:
    email = f"{name}@example.test"
    return {
        "account_id": account_id,
        "email": email,
        "email_casefold": email,
        "state": state,
        "created_at": NOW - timedelta(days=30),
        "changed_at": NOW - timedelta(days=1),
    }


def _key(account_id: UUID, key: str, *, revoked: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "key_id": extra.get("key_id", uuid4()),
        "account_id": account_id,
        "key_sha256": api_key_sha256(key),
        "issued_at": NOW - timedelta(days=20),
        "revoked_at": NOW - timedelta(days=2) if revoked else None,
    }


def _seed_vehicle_data(conn: psycopg.Connection[Any], vehicle_id: str) -> None:
    rows = [_telemetry_row(vehicle_id, i) for i in range(3)]
    insert_rows(conn, "telemetry", rows)
    insert_rows(
        conn,
        "vehicles",
        [
            {
                "vehicle_id": vehicle_id,
                "first_sampled_at": rows[0]["sampled_at"],
                "last_sampled_at": rows[-1]["sampled_at"],
            }
        ],
    )
    insert_rows(conn, "drives", [_episode(d, vehicle_id) for d in DRIVES])
    insert_rows(conn, "charges", [_episode(c, vehicle_id) for c in CHARGES])
    insert_rows(
        conn,
        "behaviour_profiles",
        [
            {
                "vehicle_id": vehicle_id,
                "computed_at": PROFILE.computed_at,
                "learning_state": PROFILE.learning_state,
                "days_observed": PROFILE.days_observed,
                "days_until_ready": PROFILE.days_until_ready,
                "days_until_fully_trained": PROFILE.days_until_fully_trained,
                "summary": PROFILE.summary,
                "event": PROFILE.model_dump_json(),
            }
        ],
    )
    plans = [{**_plan_row(p), "vehicle_id": vehicle_id} for p in PLANS]
    insert_rows(conn, "charge_plan_history", plans)
    insert_rows(conn, "charge_plans", [plans[-1]])


@pytest.fixture
def tenants_url(database_url: str) -> str:
    """Account A owns OWN (one valid, one revoked key), B owns THEIRS, the suspended account
    owns SUSPENDED_VIN; every vehicle has data."""
    with seeding(database_url) as conn:
        for vehicle_id in (OWN, THEIRS, SUSPENDED_VIN):
            _seed_vehicle_data(conn, vehicle_id)
        insert_rows(
            conn,
            "accounts",
            [
                _account(ACCOUNT_A, "a", "active"),
                _account(ACCOUNT_B, "b", "active"),
                _account(ACCOUNT_S, "s", "suspended"),
            ],
        )
        insert_rows(
            conn,
            "account_vehicles",
            [
                {"vehicle_id": v, "account_id": a, "linked_at": NOW - timedelta(days=10)}
                for v, a in ((OWN, ACCOUNT_A), (THEIRS, ACCOUNT_B), (SUSPENDED_VIN, ACCOUNT_S))
            ],
        )
        insert_rows(
            conn,
            "api_keys",
            [
                _key(ACCOUNT_A, A_KEY, key_id=A_KEY_ID),
                _key(ACCOUNT_A, A_REVOKED_KEY, revoked=True),
                _key(ACCOUNT_B, B_KEY),
                _key(ACCOUNT_S, SUSPENDED_KEY),
            ],
        )
    return database_url


@pytest.fixture
async def client(tenants_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ApiSettings(postgres={"url": tenants_url}, api_keys=[KEY]), clock=FixedClock(NOW)
    )
    async with client_of(app) as http:
        yield http


async def _get(client: httpx.AsyncClient, path: str, key: str | None) -> httpx.Response:
    # client_of sends the operator key by default; an empty header is "no key".
    return await client.get(path, headers={"X-API-Key": key or ""})


@pytest.fixture
async def devices_url(tenants_url: str) -> str:
    """Besides the vehicles: A's laptop, B's router, the suspended account's tablet (on hold)."""
    await insert_devices(
        tenants_url,
        [
            device_row(ACCOUNT_A, "laptop", "a1", NOW - timedelta(days=5)),
            device_row(ACCOUNT_B, THEIR_DEVICE, "b1", NOW - timedelta(days=5)),
            device_row(
                ACCOUNT_S, "tablet", "c1", NOW - timedelta(days=5), "on_hold", "account_suspended"
            ),
        ],
    )
    return tenants_url


@pytest.fixture
async def device_client(devices_url: str, kafka: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": devices_url},
        api_keys=[KEY],
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "partitions": 1},
    )
    async with client_of(create_app(settings, clock=FixedClock(NOW))) as http:
        yield http


def test_every_device_operation_is_in_the_table() -> None:
    assert _device_operations() == sorted(OWN_DEVICE_STATUS)


@pytest.mark.parametrize("operation", _device_operations())
async def test_a_device_route_acts_only_on_the_keys_own_devices(
    device_client: httpx.AsyncClient, operation: str
) -> None:
    method, route = operation.split(" ")
    answers = {
        case: await device_client.request(
            method, route.format(device_name=name), headers={"X-API-Key": key or ""}
        )
        for case, (key, name) in DEVICE_CASES.items()
    }

    # The list names no device, so it answers the caller's own list whatever is asked for.
    hidden = 200 if "{device_name}" not in route else 404
    assert {case: r.status_code for case, r in answers.items()} == {
        "own device": OWN_DEVICE_STATUS[operation],
        "other tenant's device": hidden,
        "unknown device": hidden,
        "no key": 401,
        "revoked key": 401,
        "suspended account's key": 403,
        "operator key, any tenant's device": 403,
    }
    assert all(THEIR_DEVICE not in r.text for r in answers.values() if r.status_code != 404)
    other = answers["other tenant's device"].text.replace(THEIR_DEVICE, "<name>")
    unknown = answers["unknown device"].text.replace("nothing", "<name>")
    assert other == unknown
    assert "account suspended" in answers["suspended account's key"].json()["detail"]


def test_every_vehicle_route_is_in_the_table() -> None:
    assert _vehicle_paths() == sorted(OWN_VEHICLE_STATUS)


@pytest.mark.parametrize("route", _vehicle_paths())
async def test_a_vehicle_route_answers_only_for_the_keys_own_vehicles(
    client: httpx.AsyncClient, route: str
) -> None:
    answers = {
        case: await _get(client, route.format(vehicle_id=vehicle_id), key)
        for case, (key, vehicle_id) in CASES.items()
    }

    assert {case: r.status_code for case, r in answers.items()} == {
        "own vehicle": OWN_VEHICLE_STATUS[route],
        "other tenant's vehicle": 404,
        "unknown vehicle": 404,
        "no key": 401,
        "revoked key": 401,
        "suspended account's key": 403,
        "operator key, any tenant's vehicle": 200,
    }
    # Another tenant's car and a car that does not exist are indistinguishable: the same body
    # once the id the caller sent (and so knows) is taken out.
    other = answers["other tenant's vehicle"].text.replace(THEIRS, "<id>")
    unknown = answers["unknown vehicle"].text.replace(UNKNOWN, "<id>")
    assert other == unknown
    assert "is not known" in answers["unknown vehicle"].json()["detail"]
    assert "account suspended" in answers["suspended account's key"].json()["detail"]


async def test_another_tenants_vehicle_is_404_even_with_an_invalid_query(
    client: httpx.AsyncClient,
) -> None:
    # An unknown vehicle with a bad window must not answer 422 where a hidden one answers 404.
    path = "/v1/vehicles/{}/telemetry?from=2026-11-25T06:00:00"
    theirs = await _get(client, path.format(THEIRS), A_KEY)
    unknown = await _get(client, path.format(UNKNOWN), A_KEY)

    assert (theirs.status_code, unknown.status_code) == (404, 404)


async def test_an_account_lists_only_its_own_vehicles(client: httpx.AsyncClient) -> None:
    a = await _get(client, "/v1/vehicles", A_KEY)
    b = await _get(client, "/v1/vehicles", B_KEY)

    assert [v["vehicle_id"] for v in a.json()] == [OWN]
    assert [v["vehicle_id"] for v in b.json()] == [THEIRS]


async def test_the_operator_lists_every_tenants_vehicles(client: httpx.AsyncClient) -> None:
    response = await _get(client, "/v1/vehicles", KEY)

    assert [v["vehicle_id"] for v in response.json()] == sorted([OWN, THEIRS, SUSPENDED_VIN])


async def test_shared_market_routes_answer_any_valid_key_but_not_a_suspended_one(
    client: httpx.AsyncClient,
) -> None:
    statuses = [
        (await _get(client, "/v1/prices/NO1", key)).status_code
        for key in (A_KEY, B_KEY, KEY, SUSPENDED_KEY, A_REVOKED_KEY)
    ]

    assert statuses == [200, 200, 200, 403, 401]


def _last_used(url: str, key_id: UUID) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT last_used_at FROM api_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
        assert row is not None
        return row[0]


async def test_a_request_with_an_account_key_records_when_the_key_was_used(
    client: httpx.AsyncClient, tenants_url: str
) -> None:
    assert _last_used(tenants_url, A_KEY_ID) is None

    response = await _get(client, "/v1/vehicles", A_KEY)

    assert response.status_code == 200
    assert _last_used(tenants_url, A_KEY_ID) == NOW


async def test_key_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, tenants_url: str
) -> None:
    earlier = NOW - timedelta(seconds=30)
    with psycopg.connect(tenants_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET last_used_at = %s WHERE key_id = %s", (earlier, A_KEY_ID))

    await _get(client, "/v1/vehicles", A_KEY)

    assert _last_used(tenants_url, A_KEY_ID) == earlier


async def test_a_key_use_that_cannot_be_written_does_not_fail_the_request(
    client: httpx.AsyncClient, tenants_url: str
) -> None:
    # A lock held on the key's row (tc-admin revoking it, say) makes the write time out.
    with psycopg.connect(tenants_url) as locker:
        locker.execute("SELECT 1 FROM api_keys WHERE key_id = %s FOR UPDATE", (A_KEY_ID,))
        response = await _get(client, "/v1/vehicles", A_KEY)
        locker.rollback()

    assert response.status_code == 200
    assert _last_used(tenants_url, A_KEY_ID) is None
