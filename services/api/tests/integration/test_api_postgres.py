"""The real app against a real PostgreSQL, with the schema created by tc_db's migrations."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tc_api.adapters.postgres import open_pool
from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_devstack import LocalPostgres, free_port

from ..support import KEY, NOW, client_of  # noqa: TID252
from .support import insert_rows, seeding

pytestmark = pytest.mark.integration

VIN = "5YJ3E7EB0KF000001"
OTHER_VIN = "5YJ3E7EB0KF000002"
SAMPLES = 48  # one every 5 minutes for the last 4 hours


def _telemetry_row(vehicle_id: str, index: int) -> dict[str, Any]:
    sampled_at = NOW - timedelta(minutes=5 * (SAMPLES - index))
    return {
        "vehicle_id": vehicle_id,
        "sampled_at": sampled_at,
        "fetched_at": sampled_at + timedelta(seconds=2),
        "online_state": "online",
        "battery_level_pct": 50.0 + index * 0.5,
        "usable_battery_level_pct": 49.0 + index * 0.5,
        "battery_range_km": 250.0 + index,
        "charge_limit_pct": 80.0,
        "charging_state": "Charging",
        "charger_power_kw": 11.0,
        "charge_energy_added_kwh": index * 0.9,
        "latitude_deg": 52.52,
        "longitude_deg": 13.405,
        "heading_deg": 90.0,
        "speed_kmh": None,
        "power_kw": -11.2,
        "shift_state": "P",
        "odometer_km": 12_345.6,
        "inside_temp_c": 21.5,
        "outside_temp_c": -3.0,
        "is_climate_on": True,
        "sentry_mode": False,
        "locked": True,
        # The owner's departure at 06:30 UTC tomorrow, scheduled only in the last two hours.
        "scheduled_departure_at": NOW + timedelta(hours=18, minutes=30)
        if index >= SAMPLES // 2
        else None,
    }


@pytest.fixture
def seeded_url(database_url: str) -> str:
    rows = [_telemetry_row(VIN, i) for i in range(SAMPLES)]
    with seeding(database_url) as conn:
        insert_rows(conn, "telemetry", rows)
        insert_rows(
            conn,
            "vehicles",
            [
                {
                    "vehicle_id": VIN,
                    "first_sampled_at": rows[0]["sampled_at"],
                    "last_sampled_at": rows[-1]["sampled_at"],
                },
                {
                    "vehicle_id": OTHER_VIN,
                    "first_sampled_at": NOW - timedelta(days=2),
                    "last_sampled_at": NOW - timedelta(days=2),
                },
            ],
        )
        # VIN fell asleep after its last sample; OTHER_VIN was never checked by ingest.
        insert_rows(
            conn,
            "vehicle_activity",
            [
                {
                    "vehicle_id": VIN,
                    "activity": "asleep",
                    "since": rows[-1]["sampled_at"],
                    "observed_at": NOW - timedelta(minutes=1),
                }
            ],
        )
    return database_url


def _settings(url: str, **overrides: Any) -> ApiSettings:
    return ApiSettings(postgres={"url": url}, api_keys=[KEY], **overrides)


@pytest.fixture
async def client(seeded_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(seeded_url), clock=FixedClock(NOW))
    async with client_of(app) as http:
        yield http


async def test_health_reports_a_reachable_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_vehicles_are_listed_with_what_they_are_doing_in_utc(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/vehicles")

    assert response.status_code == 200
    assert response.json() == [
        {
            "vehicle_id": VIN,
            "first_sampled_at": "2026-11-25T08:00:00Z",
            "last_sampled_at": "2026-11-25T11:55:00Z",
            "activity": ASLEEP,
        },
        {
            "vehicle_id": OTHER_VIN,
            "first_sampled_at": "2026-11-23T12:00:00Z",
            "last_sampled_at": "2026-11-23T12:00:00Z",
            "activity": None,
        },
    ]


ASLEEP = {
    "state": "asleep",
    "since": "2026-11-25T11:55:00Z",
    "last_seen_at": "2026-11-25T11:59:00Z",
}


async def test_latest_returns_every_stored_value_of_the_newest_row_and_the_activity(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v1/vehicles/{VIN}/latest")

    assert response.status_code == 200
    expected = _telemetry_row(VIN, SAMPLES - 1)
    expected["sampled_at"] = "2026-11-25T11:55:00Z"
    expected["fetched_at"] = "2026-11-25T11:55:02Z"
    expected["scheduled_departure_at"] = "2026-11-26T06:30:00Z"
    expected["activity"] = ASLEEP
    assert response.json() == expected


async def test_the_default_window_is_the_last_24_hours_oldest_first(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v1/vehicles/{VIN}/telemetry")

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["count"]) == (
        "2026-11-24T12:00:00Z",
        "2026-11-25T12:00:00Z",
        SAMPLES,
    )
    times = [s["sampled_at"] for s in body["samples"]]
    assert times == sorted(times)
    assert times[0] == "2026-11-25T08:00:00Z"
    assert body["samples"][0]["battery_level_pct"] == 50.0
    assert body["samples"][-1]["battery_range_km"] == 250.0 + SAMPLES - 1
    assert body["samples"][0]["scheduled_departure_at"] is None
    assert body["samples"][-1]["scheduled_departure_at"] == "2026-11-26T06:30:00Z"


async def test_desc_with_a_limit_returns_the_newest_samples_first(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        f"/v1/vehicles/{VIN}/telemetry", params={"order": "desc", "limit": 3}
    )

    body = response.json()
    assert body["count"] == 3
    assert [s["sampled_at"] for s in body["samples"]] == [
        "2026-11-25T11:55:00Z",
        "2026-11-25T11:50:00Z",
        "2026-11-25T11:45:00Z",
    ]


async def test_the_window_includes_from_and_excludes_to(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/v1/vehicles/{VIN}/telemetry",
        # 11:00 and 11:10 in Berlin are 10:00 and 10:10 UTC: samples at 10:00 and 10:05.
        params={"from": "2026-11-25T11:00:00+01:00", "to": "2026-11-25T11:10:00+01:00"},
    )

    body = response.json()
    assert [s["sampled_at"] for s in body["samples"]] == [
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:05:00Z",
    ]


async def test_a_vehicle_without_samples_in_the_window_gets_an_empty_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v1/vehicles/{OTHER_VIN}/telemetry")

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["samples"]) == (0, [])


@pytest.mark.parametrize(
    ("path", "headers", "status", "detail"),
    [
        pytest.param(
            "/v1/vehicles", {"X-API-Key": ""}, 401, "missing X-API-Key header", id="no-key"
        ),
        pytest.param(
            "/v1/vehicles",
            {"X-API-Key": "wrong-key-0123456789"},
            401,
            "invalid X-API-Key",
            id="wrong-key",
        ),
        pytest.param(
            "/v1/vehicles/NOPE/latest", {}, 404, "vehicle 'NOPE' is not known", id="unknown-latest"
        ),
        pytest.param(
            "/v1/vehicles/NOPE/telemetry",
            {},
            404,
            "vehicle 'NOPE' is not known",
            id="unknown-telemetry",
        ),
        pytest.param(
            f"/v1/vehicles/{OTHER_VIN}/latest", {}, 404, "has no telemetry yet", id="no-samples"
        ),
        pytest.param(
            f"/v1/vehicles/{VIN}/telemetry?from=2026-11-25T06:00:00",
            {},
            422,
            "'from' must carry a timezone",
            id="naive",
        ),
        pytest.param(
            f"/v1/vehicles/{VIN}/telemetry?limit=10001",
            {},
            422,
            "'limit' must be between 1 and 10000",
            id="limit",
        ),
    ],
)
async def test_refusals_are_4xx_with_a_useful_detail(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], status: int, detail: str
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == status
    body = response.json()["detail"]
    # 401/404 carry a sentence; 422 carries FastAPI's list of parameter errors.
    message = body if isinstance(body, str) else body[0]["msg"]
    assert detail in message


@pytest.mark.parametrize(
    "route",
    ["latest", "telemetry", "drives", "charges", "profile", "plan", "plans"],
)
@pytest.mark.parametrize("bad_id", ["NUL%00IN", "%00", "CTRL%01", "space%20d", "x" * 33])
async def test_a_vehicle_id_outside_the_documented_pattern_is_a_422_naming_it(
    client: httpx.AsyncClient, route: str, bad_id: str
) -> None:
    # PostgreSQL text cannot hold a NUL: the query used to fail with a 500.
    response = await client.get(f"/v1/vehicles/{bad_id}/{route}")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", "vehicle_id"]
    assert "^[A-Za-z0-9_-]{1,32}$" in error["msg"]


@pytest.mark.parametrize("bad_id", ["home:NUL%00IN", "zone:NO%0A3"])
async def test_a_weather_location_with_a_control_character_is_a_422(
    client: httpx.AsyncClient, bad_id: str
) -> None:
    response = await client.get(f"/v1/weather/{bad_id}")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", "location_id"]


async def test_an_unreachable_database_gives_503_with_a_retry_hint() -> None:
    url = f"postgresql://tc:pw@127.0.0.1:{free_port()}/nothing"
    app = create_app(_settings(url, db_timeout_s=0.5), clock=FixedClock(NOW))
    async with client_of(app) as http:
        health = await http.get("/healthz")
        vehicles = await http.get("/v1/vehicles")

    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "unavailable"}
    assert vehicles.status_code == 503
    assert vehicles.headers["Retry-After"] == "5"
    assert vehicles.json()["retry_after_s"] == 5
    assert "pw" not in vehicles.text


async def test_liveness_holds_while_readiness_follows_the_database() -> None:
    # Kubernetes restarts a pod whose liveness fails: a database outage must only take the
    # api out of readiness (its Service), or every api pod restarts with it.
    with LocalPostgres() as pg:
        app = create_app(_settings(pg.url, db_timeout_s=0.5), clock=FixedClock(NOW))
        async with client_of(app) as http:
            up = [(await http.get(path)).status_code for path in ("/livez", "/healthz")]
            pg.stop()
            down = [(await http.get(path)).status_code for path in ("/livez", "/healthz")]
            alive = (await http.get("/livez")).json()

    assert up == [200, 200]
    assert down == [200, 503]
    assert alive == {"status": "ok"}


async def test_a_database_the_store_has_not_migrated_yet_gives_503_not_500(
    database_url: str,
) -> None:
    # make run starts the api next to the store: its first requests can come before the schema.
    app = create_app(_settings(database_url), clock=FixedClock(NOW))
    async with client_of(app) as http:
        answers = [
            await http.get(path)
            for path in ("/v1/vehicles", f"/v1/vehicles/{VIN}/latest", "/v1/prices/NO1")
        ]

    assert [a.status_code for a in answers] == [503, 503, 503]
    assert all(a.headers["Retry-After"] == "5" for a in answers)


async def test_the_api_database_sessions_are_read_only(seeded_url: str) -> None:
    pool = open_pool(seeded_url, max_size=1, timeout_s=5)
    await pool.open(wait=True)
    try:
        async with pool.connection() as conn:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                await conn.execute("DELETE FROM telemetry")
    finally:
        await pool.close()
