"""The drive, charge, profile and plan routes with a fake history reader."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tc_api.domain import HistoryCounts, PlansQuery, TimeWindow
from tc_api.main import create_app
from tc_api.ports import TelemetryUnavailableError
from tc_api.schemas import BehaviourProfileOut, ChargeOut, ChargePlanOut, DriveOut
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
)
from tc_testkit.events import VIN
from tc_testkit.history import HOME, WORK

from .support import CHARGES, DRIVES, KEY, NOW, PLANS, PROFILE, FakeTelemetryReader, client_of

NEW_VIN = "5YJ3E7EB0KF010002"  # known (telemetry, history) but nothing learned or planned
UNKNOWN = "5YJ3E7EB0KF019999"


@dataclass
class FakeHistoryReader:
    known: set[str] = field(default_factory=lambda: {VIN, NEW_VIN})
    drives_stored: list[DriveRecorded] = field(default_factory=list)
    charges_stored: list[ChargeRecorded] = field(default_factory=list)
    profiles: dict[str, BehaviourProfileUpdated] = field(default_factory=dict)
    plans_stored: list[ChargePlanPublished] = field(default_factory=list)
    counts: dict[str, HistoryCounts] = field(default_factory=dict)
    available: bool = True
    windows: list[TimeWindow] = field(default_factory=list)
    plan_queries: list[PlansQuery] = field(default_factory=list)

    def _check(self) -> None:
        if not self.available:
            raise TelemetryUnavailableError("down")

    async def is_known(self, vehicle_id: str) -> bool:
        self._check()
        return vehicle_id in self.known

    async def history_counts(self, vehicle_id: str) -> HistoryCounts:
        self._check()
        return self.counts.get(vehicle_id, HistoryCounts(0, 0, None))

    async def drives(self, vehicle_id: str, window: TimeWindow) -> list[DriveRecorded]:
        self._check()
        self.windows.append(window)
        found = [
            d
            for d in self.drives_stored
            if d.vehicle_id == vehicle_id and window.from_at <= d.started_at < window.to_at
        ]
        return sorted(found, key=lambda d: d.started_at)

    async def charges(self, vehicle_id: str, window: TimeWindow) -> list[ChargeRecorded]:
        self._check()
        self.windows.append(window)
        found = [
            c
            for c in self.charges_stored
            if c.vehicle_id == vehicle_id and window.from_at <= c.started_at < window.to_at
        ]
        return sorted(found, key=lambda c: c.started_at)

    async def latest_profile(self, vehicle_id: str) -> BehaviourProfileUpdated | None:
        self._check()
        return self.profiles.get(vehicle_id)

    async def latest_plan(self, vehicle_id: str) -> ChargePlanPublished | None:
        self._check()
        mine = [p for p in self.plans_stored if p.vehicle_id == vehicle_id]
        return max(mine, key=lambda p: p.issued_at, default=None)

    async def plans(self, vehicle_id: str, query: PlansQuery) -> list[ChargePlanPublished]:
        self._check()
        self.plan_queries.append(query)
        found = [
            p
            for p in self.plans_stored
            if p.vehicle_id == vehicle_id
            and query.window.from_at <= p.issued_at < query.window.to_at
        ]
        return sorted(found, key=lambda p: p.issued_at, reverse=True)[: query.limit]


@pytest.fixture
def history() -> FakeHistoryReader:
    return FakeHistoryReader(
        drives_stored=list(DRIVES),
        charges_stored=list(CHARGES),
        profiles={VIN: PROFILE},
        plans_stored=list(PLANS),
        counts={NEW_VIN: HistoryCounts(6, 2, NOW - timedelta(days=3))},
    )


@pytest.fixture
async def client(history: FakeHistoryReader) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": "postgresql://unused@127.0.0.1:1/unused"}, api_keys=[KEY]
    )
    app = create_app(
        settings,
        reader=FakeTelemetryReader(),
        history_reader=history,
        clock=FixedClock(NOW),
    )
    async with client_of(app) as http:
        yield http


ROUTES = ("drives", "charges", "profile", "plan", "plans")


class TestAccess:
    @pytest.mark.parametrize("route", ROUTES)
    async def test_every_route_needs_the_api_key(
        self, client: httpx.AsyncClient, route: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/{route}", headers={"X-API-Key": "no"})

        assert response.status_code == 401
        assert response.json() == {"detail": "invalid X-API-Key"}

    @pytest.mark.parametrize("route", ROUTES)
    async def test_an_unknown_vehicle_is_404_pointing_to_the_list(
        self, client: httpx.AsyncClient, route: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{UNKNOWN}/{route}")

        assert response.status_code == 404
        assert response.json() == {
            "detail": f"vehicle '{UNKNOWN}' is not known; GET /v1/vehicles lists the known vehicles"
        }

    @pytest.mark.parametrize("route", ROUTES)
    async def test_a_database_outage_is_a_503_with_a_retry_hint(
        self, client: httpx.AsyncClient, history: FakeHistoryReader, route: str
    ) -> None:
        history.available = False

        response = await client.get(f"/v1/vehicles/{VIN}/{route}")

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"


class TestDrivesAndCharges:
    async def test_without_parameters_the_last_seven_days_of_drives_come_oldest_first(
        self, client: httpx.AsyncClient, history: FakeHistoryReader
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/drives")

        assert response.status_code == 200
        body = response.json()
        assert (body["vehicle_id"], body["from"], body["to"]) == (
            VIN,
            "2026-11-18T12:00:00Z",
            "2026-11-25T12:00:00Z",
        )
        assert [d["drive_id"] for d in body["drives"]] == [103, 101, 100]
        assert body["count"] == 3
        assert body["distance_km"] == pytest.approx(3 * 21.5)
        assert body["drives"][0] == {
            "drive_id": 103,
            "started_at": "2026-11-22T08:00:00Z",
            "ended_at": "2026-11-22T08:25:00Z",
            "starting_latitude_deg": HOME[0],
            "starting_longitude_deg": HOME[1],
            "ending_latitude_deg": WORK[0],
            "ending_longitude_deg": WORK[1],
            "starting_battery_pct": 80.0,
            "ending_battery_pct": 76.0,
            "distance_km": 21.5,
            "energy_used_kwh": 3.4,
        }

    async def test_a_window_with_offsets_is_converted_to_utc(
        self, client: httpx.AsyncClient, history: FakeHistoryReader
    ) -> None:
        response = await client.get(
            f"/v1/vehicles/{VIN}/charges",
            params={"from": "2026-11-22T00:00:00+01:00", "to": "2026-11-25T00:00:00+01:00"},
        )

        body = response.json()
        assert history.windows == [
            TimeWindow(
                datetime(2026, 11, 21, 23, tzinfo=UTC), datetime(2026, 11, 24, 23, tzinfo=UTC)
            )
        ]
        assert [c["charge_id"] for c in body["charges"]] == [203, 201]
        assert body["energy_added_kwh"] == 30.0
        assert body["charges"][0]["energy_used_kwh"] == 16.7

    async def test_a_known_vehicle_without_history_gets_an_empty_page(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{NEW_VIN}/drives")

        assert response.status_code == 200
        assert (response.json()["count"], response.json()["drives"]) == (0, [])

    @pytest.mark.parametrize(
        ("params", "loc", "message"),
        [
            ({"from": "2026-11-20T00:00:00"}, "from", "must carry a timezone"),
            ({"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "from", "before"),
            ({"from": "2026-01-01T00:00:00Z"}, "from", "at most 92 days"),
        ],
    )
    async def test_an_invalid_window_is_422_naming_the_parameter(
        self, client: httpx.AsyncClient, params: dict[str, str], loc: str, message: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/drives", params=params)

        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["loc"] == ["query", loc]
        assert message in error["msg"]

    def test_drive_and_charge_bodies_have_the_event_fields_except_the_vehicle(self) -> None:
        for out, event in ((DriveOut, DriveRecorded), (ChargeOut, ChargeRecorded)):
            assert set(out.model_fields) == set(event.model_fields) - {
                "schema_version",
                "vehicle_id",
            }


class TestProfile:
    async def test_the_profile_shows_learning_state_weekday_rhythm_and_locations(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/profile")

        assert response.status_code == 200
        body = response.json()
        assert (body["learning_state"], body["days_observed"], body["days_until_ready"]) == (
            "learning",
            9,
            5,
        )
        assert [(w["weekday"], w["name"]) for w in body["weekdays"]][:2] == [
            (0, "Monday"),
            (1, "Tuesday"),
        ]
        assert body["weekdays"][6]["name"] == "Sunday"
        assert body["weekdays"][0]["first_departure_p50_min"] == 460.0
        assert body["weekdays"][0]["last_return_p50_min"] is None
        (home,) = body["locations"]
        assert (home["kind"], home["effective_power_kw"], home["plug_in_probability_per_day"]) == (
            "home",
            9.9,
            0.8,
        )
        assert body["summary"].startswith("Learning: day 9 of 14")

    async def test_no_profile_yet_is_a_404_saying_how_much_history_is_stored(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{NEW_VIN}/profile")

        assert response.status_code == 404
        detail = response.json()["detail"]
        assert detail.startswith(f"vehicle '{NEW_VIN}' has no behaviour profile yet")
        assert "6 drive(s) and 2 charge(s) since 2026-11-22 are stored" in detail
        assert "14 days" in detail

    async def test_no_profile_and_no_history_says_that_ingest_fetches_it(
        self, client: httpx.AsyncClient, history: FakeHistoryReader
    ) -> None:
        history.counts.clear()

        response = await client.get(f"/v1/vehicles/{NEW_VIN}/profile")

        assert response.status_code == 404
        assert "no drive or charge history is stored" in response.json()["detail"]

    def test_the_profile_body_has_every_field_of_the_event(self) -> None:
        assert set(BehaviourProfileOut.model_fields) == set(
            BehaviourProfileUpdated.model_fields
        ) - {"schema_version"}


class TestPlans:
    async def test_the_plan_is_the_newest_with_slots_cost_range_and_reason(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/plan")

        assert response.status_code == 200
        body = response.json()
        assert (body["issued_at"], body["trigger"], body["status"]) == (
            "2026-11-25T11:00:00Z",
            "prices_published",
            "planned",
        )
        assert (body["expected_cost"], body["cost_p10"], body["cost_p90"]) == (21.5, 19.0, 25.0)
        assert (body["cost_if_charged_now"], body["expected_saving"]) == (30.1, 8.6)
        assert body["ready_by_at"] == "2026-11-26T06:00:00Z"
        assert body["slots"] == [
            {
                "start_at": "2026-11-26T01:00:00Z",
                "end_at": "2026-11-26T02:00:00Z",
                "energy_kwh": 9.9,
                "power_kw": 11.0,
                "price_per_kwh": 1.05,
                "price_is_forecast": False,
            },
            {
                "start_at": "2026-11-26T02:00:00Z",
                "end_at": "2026-11-26T03:00:00Z",
                "energy_kwh": 9.9,
                "power_kw": 11.0,
                "price_per_kwh": 1.05,
                "price_is_forecast": True,
            },
        ]
        assert body["reason"].startswith("Charging in the two cheapest night hours")

    async def test_no_plan_yet_is_a_404_saying_when_plans_are_made(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{NEW_VIN}/plan")

        assert response.status_code == 404
        assert response.json()["detail"].startswith(f"vehicle '{NEW_VIN}' has no charge plan yet")

    async def test_plan_history_comes_newest_first_within_the_window_and_limit(
        self, client: httpx.AsyncClient, history: FakeHistoryReader
    ) -> None:
        everything = (await client.get(f"/v1/vehicles/{VIN}/plans")).json()
        today = (
            await client.get(
                f"/v1/vehicles/{VIN}/plans",
                params={"from": "2026-11-25T00:00:00Z", "limit": 1},
            )
        ).json()

        assert [p["trigger"] for p in everything["plans"]] == [
            "prices_published",
            "plugged_in",
            "scheduled",
        ]
        assert (everything["limit"], everything["count"]) == (100, 3)
        assert everything["from"] == "2026-11-18T12:00:00Z"
        assert [p["issued_at"] for p in today["plans"]] == ["2026-11-25T11:00:00Z"]
        assert (today["limit"], today["count"]) == (1, 1)

    async def test_plan_history_pages_on_by_cursor_newest_first_each_plan_once(
        self, client: httpx.AsyncClient
    ) -> None:
        everything = (await client.get(f"/v1/vehicles/{VIN}/plans")).json()
        pages = [(await client.get(f"/v1/vehicles/{VIN}/plans", params={"limit": 1})).json()]
        while pages[-1]["next_cursor"] is not None:
            cursor = pages[-1]["next_cursor"]
            response = await client.get(
                f"/v1/vehicles/{VIN}/plans", params={"cursor": cursor, "limit": 1}
            )
            assert response.status_code == 200, response.text
            pages.append(response.json())

        walked = [p["issued_at"] for page in pages for p in page["plans"]]
        assert walked == [p["issued_at"] for p in everything["plans"]]
        assert len(pages) == 3
        assert everything["next_cursor"] is None

    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 1001}, "limit"),
            ({"from": "2026-10-01T00:00Z"}, "from"),
        ],
    )
    async def test_an_invalid_plan_query_is_422(
        self, client: httpx.AsyncClient, params: dict[str, Any], loc: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/plans", params=params)

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", loc]

    def test_the_plan_body_has_every_field_of_the_event(self) -> None:
        assert set(ChargePlanOut.model_fields) == set(ChargePlanPublished.model_fields) - {
            "schema_version"
        }


async def test_openapi_documents_the_new_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    for route in ROUTES:
        assert f"/v1/vehicles/{{vehicle_id}}/{route}" in paths
