"""The Tessie client's history reads on ``httpx.MockTransport``."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.domain.history import ChargeRecord, DriveRecord
from tc_ingest.errors import TessieUnavailableError, TessieVehicleNotFoundError
from tc_testkit.recorders import RecordedSleeps

from .support import TOKEN, VIN_A, FakeTessie

MakeClient = Callable[..., TessieHttpClient]
FROM = datetime(2024, 6, 1, tzinfo=UTC)
TO = datetime(2024, 6, 8, 12, 30, 15, 500_000, tzinfo=UTC)
T_FROM = int(FROM.timestamp())


def drive_json(i: int, **fields: Any) -> dict[str, Any]:
    """A drive record after tessie-api.md §4.1 (km), ``i`` hours after FROM."""
    start = T_FROM + i * 3600
    return {
        "id": 4700 + i,
        "started_at": start,
        "ended_at": start + 1800,
        "starting_location": "Damrak 1, Amsterdam",
        "starting_latitude": 52.3765,
        "starting_longitude": 4.8980,
        "ending_latitude": 52.3874,
        "ending_longitude": 4.6385,
        "starting_battery": 82,
        "ending_battery": 76,
        "odometer_distance": 32.5,
        "rated_range_used": 30.1,
        "energy_used": 7.9,
        "average_speed": 41,
        "tag": None,
        **fields,
    }


def charge_json(i: int, **fields: Any) -> dict[str, Any]:
    start = T_FROM + i * 3600
    return {
        "id": 90200 + i,
        "started_at": start,
        "ended_at": start + 3000,
        "location": "Keizersgracht 100, Amsterdam",
        "saved_location": "Home",
        "latitude": 52.3770,
        "longitude": 4.8860,
        "is_supercharger": False,
        "odometer": 18310.2,
        "energy_added": 29.6,
        "energy_used": 32.8,
        "miles_added": 121.0,
        "starting_battery": 41,
        "ending_battery": 80,
        "cost": 0,
        **fields,
    }


class TestHistoryReads:
    async def test_drives_are_asked_in_km_for_the_window_in_unix_seconds(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.history[VIN_A] = {"drives": [drive_json(1)]}

        drives = await make_client().get_drives(VIN_A, FROM, TO)

        request = fake_tessie.requests[0]
        assert request.url.path == f"/{VIN_A}/drives"
        assert dict(request.url.params) == {
            "from": str(T_FROM),
            "to": str(int(TO.timestamp()) + 1),
            "distance_format": "km",
            "limit": "500",
        }
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in str(request.url)
        assert drives == [
            DriveRecord(
                id=4701,
                started_at_s=T_FROM + 3600,
                ended_at_s=T_FROM + 5400,
                starting_latitude=52.3765,
                starting_longitude=4.8980,
                ending_latitude=52.3874,
                ending_longitude=4.6385,
                starting_battery=82,
                ending_battery=76,
                odometer_distance_km=32.5,
                energy_used_kwh=7.9,
            )
        ]
        assert (fake_tessie.wakes, fake_tessie.live_reads) == (0, 0)

    async def test_charges_are_parsed_with_loose_types(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.history[VIN_A] = {
            "charges": [charge_json(2, id="90202", energy_added="29.6", is_supercharger=0)]
        }

        (charge,) = await make_client().get_charges(VIN_A, FROM, TO)

        assert charge == ChargeRecord(
            id=90202,
            started_at_s=T_FROM + 7200,
            ended_at_s=T_FROM + 10200,
            latitude=52.3770,
            longitude=4.8860,
            is_supercharger=False,
            starting_battery=41,
            ending_battery=80,
            energy_added_kwh=29.6,
            energy_used_kwh=32.8,
            odometer_km=18310.2,
        )

    async def test_a_record_that_is_not_an_object_is_kept_as_one_without_an_id(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.history[VIN_A] = {"drives": [drive_json(1), "garbage", drive_json(2)]}

        drives = await make_client().get_drives(VIN_A, FROM, TO)

        assert sorted(d.id or 0 for d in drives) == [0, 4701, 4702]

    @pytest.mark.parametrize("oldest_first", [False, True])
    async def test_a_full_page_is_followed_by_requests_for_the_rest_of_the_window(
        self, make_client: MakeClient, fake_tessie: FakeTessie, oldest_first: bool
    ) -> None:
        fake_tessie.oldest_first = oldest_first
        fake_tessie.history[VIN_A] = {"drives": [drive_json(i) for i in range(23)]}

        drives = await make_client(history_page_limit=5).get_drives(VIN_A, FROM, TO)

        assert sorted(d.id or 0 for d in drives) == [4700 + i for i in range(23)]
        assert 5 <= len(fake_tessie.requests) <= 7

    async def test_an_empty_or_null_result_is_no_records(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        assert await make_client().get_charges(VIN_A, FROM, TO) == []
        fake_tessie.faults.append(lambda _req: httpx.Response(200, json={"results": None}))
        assert await make_client().get_charges(VIN_A, FROM, TO) == []

    async def test_a_body_that_is_not_a_result_list_is_a_transient_error(
        self, make_client: MakeClient, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.faults.append(lambda _req: httpx.Response(200, json={"results": "nope"}))

        with pytest.raises(TessieUnavailableError, match=r"unexpected /\{vin\}/drives body"):
            await make_client().get_drives(VIN_A, FROM, TO)

    async def test_throttling_is_retried_honouring_retry_after(
        self, make_client: MakeClient, fake_tessie: FakeTessie, sleeps: RecordedSleeps
    ) -> None:
        fake_tessie.history[VIN_A] = {"charges": [charge_json(1)]}
        fake_tessie.fail_next(429, headers={"Retry-After": "2"})
        fake_tessie.fail_next(500)

        charges = await make_client().get_charges(VIN_A, FROM, TO)

        assert [c.id for c in charges] == [90201]
        # Retry-After first, then exponential backoff of the second attempt (jitter 0.5).
        assert sleeps.delays == [2.0, 1.5]

    async def test_an_unknown_vin_is_reported_as_such(self, make_client: MakeClient) -> None:
        with pytest.raises(TessieVehicleNotFoundError):
            await make_client().get_drives("5YJ3E7EB0KF999999", FROM, FROM + timedelta(days=1))
