from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tc_api.body_limit import MAX_BODY_BYTES
from tc_api.domain import Activity, TelemetryQuery, Vehicle
from tc_api.main import create_app
from tc_api.schemas import TelemetrySample
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events import TelemetrySampled
from tc_testkit.events import telemetry_sample

from .support import KEY, NOW, FakeTelemetryReader, client_of

ROTATED_KEY = "next-dashboard-key-abcdef"
VIN = "5YJ3E7EB0KF000001"
SILENT_VIN = "5YJ3E7EB0KF000002"


def sample(minutes_ago: int, **values: Any) -> TelemetrySampled:
    return telemetry_sample(VIN, NOW - timedelta(minutes=minutes_ago), **values)


@pytest.fixture
def reader() -> FakeTelemetryReader:
    samples = [
        sample(90, battery_level_pct=70.0),
        sample(30, battery_level_pct=71.5, charger_power_kw=11.0, charging_state="Charging"),
        sample(10, battery_level_pct=72.0, battery_range_km=301.5, speed_kmh=None),
    ]
    return FakeTelemetryReader(
        vehicles={
            VIN: Vehicle(VIN, samples[0].sampled_at, samples[-1].sampled_at, CHARGING),
            SILENT_VIN: Vehicle(SILENT_VIN, NOW - timedelta(days=1), NOW - timedelta(days=1)),
        },
        telemetry={VIN: samples},
    )


# Charging since the sample 30 minutes ago, last checked a minute ago.
CHARGING = Activity(
    state="charging",
    since=NOW - timedelta(minutes=30),
    last_seen_at=NOW - timedelta(minutes=1),
)


@pytest.fixture
async def client(reader: FakeTelemetryReader) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": "postgresql://unused@127.0.0.1:1/unused"},
        api_keys=[KEY, ROTATED_KEY],
    )
    async with client_of(create_app(settings, reader=reader, clock=FixedClock(NOW))) as http:
        yield http


class TestApiKey:
    async def test_a_request_without_a_key_is_refused_with_401_and_a_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/vehicles", headers={"X-API-Key": ""})

        assert response.status_code == 401
        assert response.json() == {"detail": "missing X-API-Key header"}
        assert response.headers["WWW-Authenticate"] == 'APIKey header="X-API-Key"'

    @pytest.mark.parametrize(
        "path", ["/v1/vehicles", f"/v1/vehicles/{VIN}/latest", f"/v1/vehicles/{VIN}/telemetry"]
    )
    async def test_a_wrong_key_is_refused_on_every_v1_route_without_echoing_it(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        wrong = KEY + "x"
        response = await client.get(path, headers={"X-API-Key": wrong})

        assert response.status_code == 401
        assert response.json() == {"detail": "invalid X-API-Key"}
        assert wrong not in response.text

    async def test_every_configured_key_is_accepted_so_keys_can_be_rotated(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/vehicles", headers={"X-API-Key": ROTATED_KEY})

        assert response.status_code == 200

    async def test_health_and_metrics_need_no_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/livez", headers={"X-API-Key": ""})).status_code == 200
        assert (await client.get("/healthz", headers={"X-API-Key": ""})).status_code == 200
        assert (await client.get("/metrics", headers={"X-API-Key": ""})).status_code == 200


class TestHealth:
    async def test_health_is_ok_when_the_database_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}

    async def test_health_is_503_when_the_database_is_down(
        self, client: httpx.AsyncClient, reader: FakeTelemetryReader
    ) -> None:
        reader.available = False

        response = await client.get("/healthz")

        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unavailable"}
        assert response.headers["Retry-After"] == "5"


class TestVehicles:
    async def test_vehicles_are_listed_with_utc_times_and_what_they_are_doing(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/vehicles")

        assert response.status_code == 200
        assert response.json() == [
            {
                "vehicle_id": VIN,
                "first_sampled_at": "2026-11-25T10:30:00Z",
                "last_sampled_at": "2026-11-25T11:50:00Z",
                "activity": {
                    "state": "charging",
                    "since": "2026-11-25T11:30:00Z",
                    "last_seen_at": "2026-11-25T11:59:00Z",
                },
            },
            {
                "vehicle_id": SILENT_VIN,
                "first_sampled_at": "2026-11-24T12:00:00Z",
                "last_sampled_at": "2026-11-24T12:00:00Z",
                "activity": None,
            },
        ]

    async def test_latest_says_what_the_car_is_doing_as_last_seen(
        self, client: httpx.AsyncClient, reader: FakeTelemetryReader
    ) -> None:
        reader.vehicles[VIN] = replace(
            reader.vehicles[VIN],
            activity=Activity("asleep", NOW - timedelta(minutes=10), NOW - timedelta(seconds=30)),
        )

        body = (await client.get(f"/v1/vehicles/{VIN}/latest")).json()

        assert body["activity"] == {
            "state": "asleep",
            "since": "2026-11-25T11:50:00Z",
            "last_seen_at": "2026-11-25T11:59:30Z",
        }
        assert body["sampled_at"] == "2026-11-25T11:50:00Z"  # the snapshot from before it slept

    async def test_a_database_outage_is_a_503_with_a_retry_hint_not_a_500(
        self, client: httpx.AsyncClient, reader: FakeTelemetryReader
    ) -> None:
        reader.available = False

        response = await client.get("/v1/vehicles")

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json() == {
            "detail": "the telemetry database is unavailable; retry later",
            "retry_after_s": 5,
        }


class TestLatest:
    async def test_latest_is_the_newest_sample_with_units_in_field_names(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/latest")

        assert response.status_code == 200
        body = response.json()
        assert body["sampled_at"] == "2026-11-25T11:50:00Z"
        assert body["fetched_at"] == "2026-11-25T11:50:03Z"
        assert body["battery_level_pct"] == 72.0
        assert body["battery_range_km"] == 301.5
        assert body["speed_kmh"] is None
        assert "schema_version" not in body

    @pytest.mark.parametrize(
        ("departure_at", "expected"),
        [
            (
                datetime(2026, 11, 26, 7, 30, tzinfo=timezone(timedelta(hours=1))),
                "2026-11-26T06:30:00Z",
            ),
            (None, None),
        ],
        ids=["scheduled-in-another-offset", "none-scheduled"],
    )
    async def test_latest_carries_the_scheduled_departure_in_utc(
        self,
        client: httpx.AsyncClient,
        reader: FakeTelemetryReader,
        departure_at: datetime | None,
        expected: str | None,
    ) -> None:
        reader.telemetry[VIN].append(sample(1, scheduled_departure_at=departure_at))

        response = await client.get(f"/v1/vehicles/{VIN}/latest")

        assert response.status_code == 200
        assert response.json()["scheduled_departure_at"] == expected

    async def test_latest_of_an_unknown_vehicle_is_404_pointing_to_the_list(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/vehicles/NOPE/latest")

        assert response.status_code == 404
        assert response.json() == {
            "detail": "vehicle 'NOPE' is not known; GET /v1/vehicles lists the known vehicles"
        }

    async def test_latest_of_a_vehicle_without_samples_is_404_saying_so(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{SILENT_VIN}/latest")

        assert response.status_code == 404
        assert response.json() == {"detail": f"vehicle '{SILENT_VIN}' has no telemetry yet"}


class TestTelemetry:
    async def test_without_parameters_the_last_24_hours_come_oldest_first(
        self, client: httpx.AsyncClient, reader: FakeTelemetryReader
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/telemetry")

        assert response.status_code == 200
        body = response.json()
        assert body["vehicle_id"] == VIN
        assert body["from"] == "2026-11-24T12:00:00Z"
        assert body["to"] == "2026-11-25T12:00:00Z"
        assert (body["order"], body["limit"], body["count"]) == ("asc", 1000, 3)
        assert [s["battery_level_pct"] for s in body["samples"]] == [70.0, 71.5, 72.0]
        assert body["samples"][1]["charger_power_kw"] == 11.0
        assert body["samples"][1]["charging_state"] == "Charging"

    async def test_window_offsets_are_converted_to_utc_and_limit_and_order_apply(
        self, client: httpx.AsyncClient, reader: FakeTelemetryReader
    ) -> None:
        response = await client.get(
            f"/v1/vehicles/{VIN}/telemetry",
            params={
                "from": "2026-11-25T11:00:00+01:00",
                "to": "2026-11-25T12:00:00Z",
                "limit": 1,
                "order": "desc",
            },
        )

        assert response.status_code == 200
        body = response.json()
        assert (body["from"], body["to"]) == ("2026-11-25T10:00:00Z", "2026-11-25T12:00:00Z")
        assert body["count"] == 1
        assert body["samples"][0]["sampled_at"] == "2026-11-25T11:50:00Z"
        # One more than the page holds: to know whether a next page exists.
        assert reader.queries == [
            TelemetryQuery(
                from_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
                to_at=NOW,
                limit=2,
                order="desc",
            )
        ]

    @pytest.mark.parametrize(
        ("params", "parameter", "message"),
        [
            pytest.param(
                {"from": "2026-11-25T06:00:00"}, "from", "'from' must carry a timezone", id="naive"
            ),
            pytest.param(
                {"to": "2026-11-25T06:00:00"}, "to", "'to' must carry a timezone", id="naive-to"
            ),
            pytest.param(
                {"from": "2026-11-25T12:00:00Z", "to": "2026-11-25T11:00:00Z"},
                "from",
                "'from' must be before 'to'",
                id="reversed",
            ),
            pytest.param(
                {"from": "2026-10-01T00:00:00Z", "to": "2026-11-25T00:00:00Z"},
                "from",
                "at most 31 days",
                id="too-long",
            ),
            pytest.param(
                {"limit": "0"}, "limit", "'limit' must be between 1 and 10000", id="limit-0"
            ),
            pytest.param({"limit": "10001"}, "limit", "between 1 and 10000", id="limit-10001"),
        ],
    )
    async def test_an_invalid_window_or_limit_is_422_with_a_clear_message(
        self, client: httpx.AsyncClient, params: dict[str, str], parameter: str, message: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/telemetry", params=params)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", parameter]
        assert message in error["msg"]

    @pytest.mark.parametrize(
        "params",
        [
            {"order": "sideways"},
            {"limit": "many"},
            {"from": "yesterday"},
            # Pydantic alone would read a number as seconds since 1970.
            {"from": "1764000000"},
            {"to": "-9.99e-59"},
            # Found by schemathesis: the default 'from' before year 1 overflowed (a 500).
            {"to": "0001-01-01T00:00:00Z"},
        ],
        ids=[
            "order",
            "limit-not-a-number",
            "from-not-a-time",
            "from-a-number",
            "to-a-number",
            "to-at-the-calendars-start",
        ],
    )
    async def test_a_malformed_parameter_is_422_naming_it(
        self, client: httpx.AsyncClient, params: dict[str, str]
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/telemetry", params=params)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", *params]

    async def test_an_unknown_query_parameter_is_422_listing_the_ones_the_route_takes(
        self, client: httpx.AsyncClient
    ) -> None:
        # A misspelt 'from' would otherwise be ignored and the default window served.
        response = await client.get(f"/v1/vehicles/{VIN}/telemetry", params={"form": "x"})

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "form"]
        assert error["msg"] == (
            "unknown query parameter; this route takes: cursor, from, limit, order, to"
        )

    async def test_telemetry_of_an_unknown_vehicle_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/vehicles/NOPE/telemetry")

        assert response.status_code == 404
        assert "not known" in response.json()["detail"]

    async def test_a_known_vehicle_with_nothing_in_the_window_gets_an_empty_page(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(f"/v1/vehicles/{SILENT_VIN}/telemetry")

        assert response.status_code == 200
        assert (response.json()["count"], response.json()["samples"]) == (0, [])


class TestDocsAndMetrics:
    async def test_openapi_documents_the_routes_and_the_api_key_scheme(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = (await client.get("/openapi.json")).json()

        assert set(spec["paths"]) == {
            "/livez",
            "/healthz",
            "/v1/vehicles",
            "/v1/vehicles/{vehicle_id}/latest",
            "/v1/vehicles/{vehicle_id}/telemetry",
            "/v1/vehicles/{vehicle_id}/drives",
            "/v1/vehicles/{vehicle_id}/charges",
            "/v1/vehicles/{vehicle_id}/profile",
            "/v1/vehicles/{vehicle_id}/plan",
            "/v1/vehicles/{vehicle_id}/plans",
            "/v1/prices/{zone}",
            "/v1/prices/{zone}/forecast",
            "/v1/prices/{zone}/anomalies",
            "/v1/exchange-rates",
            "/v1/weather/{location_id}",
            "/v1/account",
            "/v1/account/tessie-token",
            "/v1/account/export",
            "/v1/account/devices",
            "/v1/account/devices/{device_name}",
            "/v1/account/devices/{device_name}/profile-email",
        }
        scheme = spec["components"]["securitySchemes"]["APIKeyHeader"]
        assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
        # Both kinds of key, and where each is kept, are named for the client.
        assert "API_API_KEYS" in scheme["description"]
        assert "SHA-256" in scheme["description"]
        assert "403" in scheme["description"]
        assert (await client.get("/docs")).status_code == 200

    async def test_openapi_states_which_path_ids_are_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        spec = (await client.get("/openapi.json")).json()

        def path_parameter(path: str, name: str) -> dict[str, Any]:
            [parameter] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
            return dict(parameter["schema"])

        vehicle_paths = [p for p in spec["paths"] if "{vehicle_id}" in p]
        assert len(vehicle_paths) == 7
        for path in vehicle_paths:
            assert path_parameter(path, "vehicle_id")["pattern"] == "^[A-Za-z0-9_-]{1,32}$"
        assert "pattern" in path_parameter("/v1/weather/{location_id}", "location_id")

    async def test_metrics_count_requests_by_route_template_and_status(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.get(f"/v1/vehicles/{VIN}/latest")
        await client.get("/v1/vehicles/NOPE/latest")
        await client.get("/v1/vehicles/OTHER/latest")
        await client.get("/no/such/path/12345")
        await client.get("/docs")

        text = (await client.get("/metrics")).text

        route = "/v1/vehicles/{vehicle_id}/latest"
        assert f'tc_api_requests_total{{method="GET",route="{route}",status="200"}} 1.0' in text
        assert f'tc_api_requests_total{{method="GET",route="{route}",status="404"}} 2.0' in text
        assert 'route="<unmatched>",status="404"' in text
        assert "NOPE" not in text
        assert "/no/such/path" not in text
        assert 'tc_api_requests_total{method="GET",route="/docs",status="200"} 1.0' in text
        assert "tc_api_request_duration_seconds_bucket" in text

    async def test_invented_methods_and_paths_add_no_metric_series(
        self, client: httpx.AsyncClient
    ) -> None:
        # /metrics is scraped unauthenticated and the middleware runs before authentication:
        # every label value a caller can choose would be a new series, without bound.
        async def send_garbage(start: int, count: int) -> None:
            for i in range(start, start + count):
                await client.request(f"X-INVENTED-{i}", f"/v1/vehicles/CAR{i}/latest")
                await client.request(f"BREW{i}", f"/made/up/{i}")
                await client.get(f"/made/up/{i}")
                await client.get(f"/v1/vehicles/CAR{i}/latest", headers={"X-API-Key": f"k{i}"})

        def series(text: str) -> set[str]:
            return {line.split(" ")[0] for line in text.splitlines() if line.startswith("tc_api_")}

        await client.get("/metrics")  # so that the scrapes below add no series of their own
        await send_garbage(0, 5)
        before = series((await client.get("/metrics")).text)
        await send_garbage(5, 50)
        after = series((await client.get("/metrics")).text)

        assert after == before
        assert 'method="other"' in "".join(after)
        assert not [s for s in after if "INVENTED" in s or "BREW" in s or "made/up" in s]


def test_a_sample_has_exactly_the_field_names_of_the_telemetry_event() -> None:
    event_fields = set(TelemetrySampled.model_fields) - {"schema_version"}

    assert set(TelemetrySample.model_fields) == event_fields


class TestTelemetryPaging:
    @pytest.mark.parametrize("order", ["asc", "desc"])
    async def test_pages_walked_by_cursor_hold_every_sample_once_in_order(
        self, client: httpx.AsyncClient, order: str
    ) -> None:
        window = {"from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z"}
        whole = (
            await client.get(f"/v1/vehicles/{VIN}/telemetry", params={**window, "order": order})
        ).json()
        pages = [
            (
                await client.get(
                    f"/v1/vehicles/{VIN}/telemetry", params={**window, "order": order, "limit": 1}
                )
            ).json()
        ]
        while pages[-1]["next_cursor"] is not None:
            response = await client.get(
                f"/v1/vehicles/{VIN}/telemetry",
                params={"cursor": pages[-1]["next_cursor"], "limit": 1},
            )
            assert response.status_code == 200, response.text
            pages.append(response.json())

        walked = [s["sampled_at"] for page in pages for s in page["samples"]]
        assert len(whole["samples"]) >= 2
        assert walked == [s["sampled_at"] for s in whole["samples"]]
        assert whole["next_cursor"] is None
        assert {page["order"] for page in pages} == {order}

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            pytest.param({"cursor": "bm90IGEgY3Vyc29y"}, "not a cursor", id="not-ours"),
            pytest.param({"cursor": "%%%"}, "not a cursor", id="not-base64"),
            pytest.param(
                {"cursor": "eyJ2IjoxfQ", "from": "2026-11-25T00:00:00Z"},
                "without from",
                id="cursor-and-from",
            ),
        ],
    )
    async def test_a_cursor_not_ours_or_mixed_with_a_window_is_422(
        self, client: httpx.AsyncClient, params: dict[str, str], message: str
    ) -> None:
        response = await client.get(f"/v1/vehicles/{VIN}/telemetry", params=params)

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "cursor"]
        assert message in error["msg"]


class TestBodyLimit:
    async def test_a_body_declared_larger_than_the_cap_is_413_before_it_is_read(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.put("/v1/account/tessie-token", content=b"x" * (MAX_BODY_BYTES + 1))

        assert response.status_code == 413
        assert str(MAX_BODY_BYTES) in response.json()["detail"]

    async def test_a_chunked_body_is_cut_off_at_the_cap_and_a_small_one_passes(
        self, client: httpx.AsyncClient
    ) -> None:
        async def chunks(total: int) -> AsyncIterator[bytes]:
            for _ in range(total // 1024):
                yield b"x" * 1024

        big = await client.request("GET", "/livez", content=chunks(MAX_BODY_BYTES * 4))
        small = await client.request("GET", "/livez", content=chunks(2048))

        assert big.status_code == 413
        # Read whole and handed on: the route answers as it would without a body.
        assert small.status_code == 200
