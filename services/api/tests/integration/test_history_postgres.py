"""The drive, charge, profile and plan routes against a real PostgreSQL migrated by tc_db, with
rows as the store service writes them."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_testkit import history
from tc_testkit.events import VIN

# The same events test_behaviour_routes.py serves from a fake reader; the tests directory is no
# installed package, so only a relative import reaches them.
from ..support import CHARGES, DRIVES, KEY, NOW, PLANS, PROFILE, client_of  # noqa: TID252
from .support import insert_rows, seeding

pytestmark = pytest.mark.integration

OTHER = "7SAYGDEE2PF010003"
TELEMETRY_ONLY = "5YJ3E7EA1MF010002"


def _episode(event: Any, vehicle_id: str = VIN) -> dict[str, Any]:
    return {**event.model_dump(exclude={"schema_version"}), "vehicle_id": vehicle_id}


def _plan_row(event: Any) -> dict[str, Any]:
    keys = [
        "vehicle_id",
        "issued_at",
        "trigger",
        "status",
        "battery_level_pct",
        "target_pct",
        "energy_to_add_kwh",
        "ready_by_at",
        "probability_ready",
        "currency",
        "expected_cost",
        "cost_if_charged_now",
        "expected_saving",
    ]
    return {
        **{k: getattr(event, k) for k in keys},
        "first_slot_start_at": event.slots[0].start_at if event.slots else None,
        "event": event.model_dump_json(),
    }


@pytest.fixture
def seeded_url(database_url: str) -> str:
    with seeding(database_url) as conn:
        insert_rows(
            conn,
            "vehicles",
            [{"vehicle_id": TELEMETRY_ONLY, "first_sampled_at": NOW, "last_sampled_at": NOW}],
        )
        insert_rows(
            conn,
            "drives",
            [_episode(d) for d in DRIVES]
            + [_episode(history.drive(NOW - timedelta(days=1, hours=4), drive_id=500), OTHER)],
        )
        insert_rows(conn, "charges", [_episode(c) for c in CHARGES])
        insert_rows(
            conn,
            "behaviour_profiles",
            [
                {
                    "vehicle_id": VIN,
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
        insert_rows(conn, "charge_plan_history", [_plan_row(p) for p in PLANS])
        insert_rows(conn, "charge_plans", [_plan_row(PLANS[-1])])
    return database_url


@pytest.fixture
async def client(seeded_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ApiSettings(postgres={"url": seeded_url}, api_keys=[KEY]), clock=FixedClock(NOW)
    )
    async with client_of(app) as http:
        yield http


async def test_drives_of_the_vehicle_in_the_window_oldest_first_in_utc(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get(f"/v1/vehicles/{VIN}/drives")).json()

    assert [d["drive_id"] for d in body["drives"]] == [103, 101, 100]
    assert body["drives"][0]["started_at"] == "2026-11-22T08:00:00Z"
    assert body["distance_km"] == pytest.approx(64.5)


async def test_charges_in_a_window_with_an_offset(client: httpx.AsyncClient) -> None:
    body = (
        await client.get(
            f"/v1/vehicles/{VIN}/charges",
            params={"from": "2026-11-23T00:00:00+01:00", "to": "2026-11-26T00:00:00+01:00"},
        )
    ).json()

    assert [c["charge_id"] for c in body["charges"]] == [201]
    assert body["charges"][0]["energy_added_kwh"] == 15.0
    assert body["charges"][0]["ended_at"] == "2026-11-24T20:00:00Z"


async def test_the_stored_profile_and_plan_are_served_whole(client: httpx.AsyncClient) -> None:
    stored_profile = (await client.get(f"/v1/vehicles/{VIN}/profile")).json()
    stored_plan = (await client.get(f"/v1/vehicles/{VIN}/plan")).json()

    assert stored_profile["learning_state"] == "learning"
    assert len(stored_profile["weekdays"]) == 7
    assert stored_profile["locations"][0]["kind"] == "home"
    assert stored_plan["trigger"] == "prices_published"
    assert stored_plan["issued_at"] == "2026-11-25T11:00:00Z"
    assert len(stored_plan["slots"]) == 2
    assert stored_plan["slots"][0]["start_at"] == "2026-11-26T01:00:00Z"


async def test_plan_history_newest_first_with_a_limit(client: httpx.AsyncClient) -> None:
    everything = (await client.get(f"/v1/vehicles/{VIN}/plans")).json()
    newest = (await client.get(f"/v1/vehicles/{VIN}/plans", params={"limit": 2})).json()

    assert [p["trigger"] for p in everything["plans"]] == [
        "prices_published",
        "plugged_in",
        "scheduled",
    ]
    assert [p["issued_at"] for p in newest["plans"]] == [
        "2026-11-25T11:00:00Z",
        "2026-11-25T07:00:00Z",
    ]


async def test_a_vehicle_known_only_from_history_or_telemetry_is_not_404_for_history(
    client: httpx.AsyncClient,
) -> None:
    other = await client.get(f"/v1/vehicles/{OTHER}/drives")
    telemetry_only = await client.get(f"/v1/vehicles/{TELEMETRY_ONLY}/charges")
    unknown = await client.get("/v1/vehicles/NOPE/drives")

    assert (other.status_code, other.json()["count"]) == (200, 1)
    assert (telemetry_only.status_code, telemetry_only.json()["count"]) == (200, 0)
    assert unknown.status_code == 404


async def test_no_profile_yet_tells_how_much_history_is_stored(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/vehicles/{OTHER}/profile")
    no_plan = await client.get(f"/v1/vehicles/{OTHER}/plan")

    assert response.status_code == 404
    assert "1 drive(s) and 0 charge(s) since 2026-11-24 are stored" in response.json()["detail"]
    assert no_plan.status_code == 404
