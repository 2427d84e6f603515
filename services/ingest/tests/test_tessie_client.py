import logging
from collections.abc import Callable

import httpx
import pytest

from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.errors import (
    TessieAuthError,
    TessieError,
    TessieUnavailableError,
    TessieVehicleNotFoundError,
)
from tc_ingest.metrics import IngestMetrics
from tc_ingest.settings import TessieSettings
from tc_testkit.recorders import RecordedSleeps

from .support import TOKEN, VIN_A, VIN_B, FakeTessie

MakeClient = Callable[..., TessieHttpClient]


def error_count(metrics: IngestMetrics, status: str) -> float:
    return float(metrics.tessie_errors.labels(status=status)._value.get())


class TestReads:
    async def test_every_request_carries_the_bearer_token(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        client = make_client()

        await client.get_status(VIN_A)

        assert fake_tessie.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in str(fake_tessie.requests[0].url)

    async def test_state_is_always_read_from_tessies_cache(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        client = make_client()

        await client.get_state(VIN_A)

        request = fake_tessie.requests[0]
        assert request.url.path == f"/{VIN_A}/state"
        assert request.url.params["use_cache"] == "true"
        assert fake_tessie.live_reads == 0
        assert fake_tessie.wakes == 0

    async def test_state_is_parsed_into_raw_units(self, make_client: MakeClient) -> None:
        state = await make_client().get_state(VIN_A)

        assert state.vin == VIN_A
        assert state.state == "online"
        assert state.battery_range_mi == 231.4
        assert state.odometer_mi == 18342.71
        assert state.charge_state_timestamp_ms == 1717430400123
        assert state.gps_as_of_s == 1717430391
        assert state.speed_mph is None
        assert state.locked is True

    async def test_loose_types_are_accepted(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        charge = fake_tessie.states[VIN_A]["charge_state"]
        charge.update(battery_level="76", charger_power=None, battery_range="n/a")
        fake_tessie.states[VIN_A]["drive_state"]["speed"] = "31"
        fake_tessie.states[VIN_A]["vehicle_state"]["locked"] = 1
        fake_tessie.states[VIN_A]["climate_state"] = "garbage"

        state = await make_client().get_state(VIN_A)

        assert state.battery_level_pct == 76.0
        assert state.charger_power_kw is None
        assert state.battery_range_mi is None
        assert state.speed_mph == 31.0
        assert state.locked is True
        assert state.inside_temp_c is None
        assert state.charge_state_timestamp_ms == 1717430400123

    async def test_scheduled_departure_fields_are_parsed_tolerantly(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.states[VIN_A]["charge_state"].update(
            scheduled_departure_time="1717480800",
            preconditioning_enabled="true",
            off_peak_charging_enabled=0,
            scheduled_charging_mode=7,
        )

        state = await make_client().get_state(VIN_A)

        assert state.scheduled_departure_time_s == 1717480800
        assert state.preconditioning_enabled is True
        assert state.off_peak_charging_enabled is False
        assert state.scheduled_charging_mode is None

    async def test_the_scheduled_charging_mode_is_passed_on_verbatim(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.states[VIN_A]["charge_state"].update(
            preconditioning_enabled=False,
            off_peak_charging_enabled=False,
            scheduled_charging_mode="DepartBy",
        )

        state = await make_client().get_state(VIN_A)

        assert state.scheduled_departure_time_s == 1717480800
        assert (state.preconditioning_enabled, state.off_peak_charging_enabled) == (False, False)
        assert state.scheduled_charging_mode == "DepartBy"

    async def test_a_bare_asleep_body_parses_to_an_empty_state(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.states[VIN_A] = {"state": "asleep"}

        state = await make_client().get_state(VIN_A)

        assert state.state == "asleep"
        assert state.charge_state_timestamp_ms is None

    async def test_status_is_returned_verbatim(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.statuses[VIN_A] = "waiting_for_sleep"

        assert await make_client().get_status(VIN_A) == "waiting_for_sleep"

    async def test_vehicles_are_listed_active_only_and_without_unknown_state(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.add(VIN_B)
        original = fake_tessie.handle

        def with_a_stateless_vehicle(request: httpx.Request) -> httpx.Response:
            response = original(request)
            if request.url.path == "/vehicles":
                body = response.json()
                body["results"].append({"vin": "NOSTATE0000000000", "last_state": None})
                return httpx.Response(200, json=body)
            return response

        client = make_client()
        client._http._transport = httpx.MockTransport(with_a_stateless_vehicle)

        vins = await client.list_vehicles()

        assert vins == [VIN_A, VIN_B]
        assert fake_tessie.requests[0].url.params["only_active"] == "true"


class TestErrors:
    async def test_a_wrong_token_raises_auth_error_without_retrying(
        self, make_client: MakeClient, fake_tessie: FakeTessie, metrics: IngestMetrics
    ) -> None:
        client = make_client(token="wrong-token-123456")

        with pytest.raises(TessieAuthError) as raised:
            await client.get_status(VIN_A)

        assert len(fake_tessie.requests) == 1
        assert raised.value.status_code == 401
        assert "wrong-token-123456" not in str(raised.value)
        assert error_count(metrics, "401") == 1

    async def test_forbidden_is_an_auth_error_too(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.fail_next(403)

        with pytest.raises(TessieAuthError):
            await make_client().get_state(VIN_A)

    async def test_an_unknown_vin_raises_not_found(self, make_client: MakeClient) -> None:
        with pytest.raises(TessieVehicleNotFoundError) as raised:
            await make_client().get_status(VIN_B)

        assert raised.value.vin == VIN_B

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
    async def test_transient_errors_are_retried_until_success(
        self,
        make_client: MakeClient,
        fake_tessie: FakeTessie,
        sleeps: RecordedSleeps,
        metrics: IngestMetrics,
        status: int,
    ) -> None:
        fake_tessie.fail_next(status, count=2)

        state = await make_client().get_state(VIN_A)

        assert state.battery_level_pct == 76
        assert len(fake_tessie.requests) == 3
        # jitter fixed at 0.5: 0.75 x 1 s, then 0.75 x 2 s
        assert sleeps.delays == [0.75, 1.5]
        assert error_count(metrics, str(status)) == 2

    async def test_unusual_statuses_add_no_metric_series(
        self, make_client: MakeClient, fake_tessie: FakeTessie, metrics: IngestMetrics
    ) -> None:
        # A proxy in front of Tessie (Cloudflare's 520-527) or a broken server can answer any
        # three digits; each must not become a series of its own.
        client = make_client(max_attempts=1)

        async def answer(statuses: list[int]) -> None:
            for status in statuses:
                fake_tessie.fail_next(status)
                with pytest.raises(TessieError):
                    await client.get_status(VIN_A)

        def series() -> set[str]:
            return {s.labels["status"] for m in metrics.tessie_errors.collect() for s in m.samples}

        await answer([460, 520, 599, 999])
        before = series()
        await answer([*range(461, 470), *range(521, 599), *range(900, 999)])

        assert series() == before == {"4xx", "5xx", "other"}

    async def test_retries_are_bounded_per_call(
        self, make_client: MakeClient, fake_tessie: FakeTessie, sleeps: RecordedSleeps
    ) -> None:
        fake_tessie.fail_next(500, count=10)

        with pytest.raises(TessieUnavailableError):
            await make_client(max_attempts=3).get_state(VIN_A)

        assert len(fake_tessie.requests) == 3
        assert len(sleeps.delays) == 2

    async def test_retry_after_is_honoured(
        self, make_client: MakeClient, fake_tessie: FakeTessie, sleeps: RecordedSleeps
    ) -> None:
        fake_tessie.fail_next(429, headers={"Retry-After": "7"})

        await make_client().get_state(VIN_A)

        assert sleeps.delays == [7.0]

    async def test_a_retry_after_longer_than_the_cap_ends_the_call_and_is_reported(
        self, make_client: MakeClient, fake_tessie: FakeTessie, sleeps: RecordedSleeps
    ) -> None:
        fake_tessie.fail_next(429, headers={"Retry-After": "120"})

        with pytest.raises(TessieUnavailableError) as raised:
            await make_client().get_state(VIN_A)

        assert raised.value.retry_after_s == 120.0
        assert sleeps.delays == []

    async def test_timeouts_and_connection_errors_are_retried(
        self,
        make_client: MakeClient,
        fake_tessie: FakeTessie,
        metrics: IngestMetrics,
    ) -> None:
        def timeout(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        def refused(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        fake_tessie.faults.extend([timeout, refused])

        state = await make_client().get_status(VIN_A)

        assert state == "awake"
        assert error_count(metrics, "timeout") == 1
        assert error_count(metrics, "connection") == 1

    async def test_the_token_never_reaches_errors_or_logs(
        self,
        make_client: MakeClient,
        fake_tessie: FakeTessie,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        def refused(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"refused {request.headers['Authorization']}", request=request)

        fake_tessie.faults.extend([refused] * 5)
        caplog.set_level(logging.DEBUG)

        with pytest.raises(TessieUnavailableError) as raised:
            await make_client().get_state(VIN_A)

        assert TOKEN not in str(raised.value)
        assert TOKEN not in repr(raised.value)
        assert raised.value.__cause__ is None
        assert TOKEN not in caplog.text


class TestTokenProvider:
    """An account's client asks for its token before every request (opened from the sealed
    record only then) instead of holding one."""

    def make(self, fake_tessie: FakeTessie, token: Callable[[], str]) -> TessieHttpClient:
        return TessieHttpClient(
            TessieSettings(base_url="https://tessie.test"),
            transport=fake_tessie.transport(),
            token=token,
            jitter=lambda: 0.5,
        )

    async def test_the_provider_is_asked_before_every_request_and_a_new_token_used_at_once(
        self, fake_tessie: FakeTessie
    ) -> None:
        tokens = [TOKEN, TOKEN, "a-replacement-token-1"]
        client = self.make(fake_tessie, lambda: tokens.pop(0))

        await client.get_status(VIN_A)
        await client.get_status(VIN_A)
        with pytest.raises(TessieAuthError):
            await client.get_status(VIN_A)

        sent = [r.headers["Authorization"] for r in fake_tessie.requests]
        assert sent == [f"Bearer {TOKEN}", f"Bearer {TOKEN}", "Bearer a-replacement-token-1"]
        assert tokens == []

    async def test_the_client_holds_no_token_between_requests(
        self, fake_tessie: FakeTessie
    ) -> None:
        client = self.make(fake_tessie, lambda: TOKEN)

        await client.get_status(VIN_A)

        assert TOKEN not in repr(vars(client))
        assert "Authorization" not in client._http.headers

    async def test_a_provider_without_a_token_ends_the_call_before_any_request(
        self, fake_tessie: FakeTessie
    ) -> None:
        def revoked() -> str:
            raise TessieError("account has no Tessie token")

        with pytest.raises(TessieError, match="no Tessie token"):
            await self.make(fake_tessie, revoked).get_status(VIN_A)

        assert fake_tessie.requests == []

    def test_a_client_needs_a_token_from_somewhere(self) -> None:
        with pytest.raises(ValueError, match="token provider"):
            TessieHttpClient(TessieSettings(base_url="https://tessie.test"))
