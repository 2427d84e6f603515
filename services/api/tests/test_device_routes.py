"""The account's VPN device routes over fakes: what a customer sees of their devices, and that
a revocation or a profile re-send is asked of the provisioner (published, acknowledged) before
the 202, for the caller's own devices only.

The same routes against PostgreSQL and a real broker: integration/test_devices_postgres.py."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import httpx
import pytest

from tc_api.devices import DeviceCertificate
from tc_api.domain import AccountKey
from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events.accounts import api_key_sha256
from tc_common.events.base import Event
from tc_common.events.vpn import DeviceAccessRequested
from tc_common.publishing import PublishFailedError
from tc_common.topics import VPN_REQUESTS_V1

from .support import KEY, NOW, FakeTelemetryReader, client_of
from .test_devices_domain import cert

ACCOUNT, OTHER = uuid4(), uuid4()
ACCOUNT_KEY = "tck_account-key-0123456789abcdef"
OTHER_KEY = "tck_other-key-0123456789abcdef0"
ROUTE = "/v1/account/devices"


@dataclass
class FakeAccounts:
    """Two active accounts, each with one key."""

    keys: dict[str, UUID] = field(
        default_factory=lambda: {
            api_key_sha256(ACCOUNT_KEY): ACCOUNT,
            api_key_sha256(OTHER_KEY): OTHER,
        }
    )

    async def find_key(self, key_sha256: str) -> AccountKey | None:
        account_id = self.keys.get(key_sha256)
        if account_id is None:
            return None
        return AccountKey(uuid4(), account_id, "active", NOW)

    async def record_key_use(self, key_id: UUID, now: datetime) -> None:
        return None

    async def owns(self, account_id: UUID, vehicle_id: str) -> bool:
        return False


@dataclass
class FakeDevices:
    of: dict[UUID, list[DeviceCertificate]] = field(default_factory=dict)

    async def certificates(self, account_id: UUID) -> list[DeviceCertificate]:
        return list(self.of.get(account_id, []))


@dataclass
class FakeEvents:
    """Acknowledges and records every message; ``acknowledging = False`` fails like a broker
    out of reach."""

    published: list[tuple[str, Event]] = field(default_factory=list)
    acknowledging: bool = True

    async def publish(self, messages: Sequence[tuple[str, Event]]) -> None:
        if not self.acknowledging:
            raise PublishFailedError("no broker")
        self.published.extend(messages)

    def requests(self) -> list[DeviceAccessRequested]:
        assert all(topic == VPN_REQUESTS_V1 for topic, _ in self.published)
        return [e for _, e in self.published if isinstance(e, DeviceAccessRequested)]


@pytest.fixture
def devices() -> FakeDevices:
    return FakeDevices(
        {
            ACCOUNT: [
                cert("0a", "laptop", 60, "revoked", reason="superseded"),
                cert("0b", "Laptop", 5),
                cert("1a", "phone", 20, "revoked", reason="customer_request"),
                cert("2a", "tablet", 400),  # expired
                cert("3a", "desktop", 30, "on_hold", reason="account_suspended"),
            ],
            OTHER: [cert("9a", "router", 3)],
        }
    )


@pytest.fixture
def events() -> FakeEvents:
    return FakeEvents()


@pytest.fixture
async def client(devices: FakeDevices, events: FakeEvents) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        postgres={"url": "postgresql://unused@127.0.0.1:1/unused"}, api_keys=[KEY]
    )
    app = create_app(
        settings,
        reader=FakeTelemetryReader(),
        accounts=FakeAccounts(),
        devices=devices,
        events=events,
        clock=FixedClock(NOW),
    )
    async with client_of(app, ACCOUNT_KEY) as http:
        yield http


class TestListDevices:
    async def test_each_device_is_listed_once_by_name_with_its_certificates_newest_first(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(ROUTE)

        assert response.status_code == 200, response.text
        body = response.json()
        assert [(d["device_name"], [c["serial_hex"] for c in d["certificates"]]) for d in body] == [
            ("desktop", ["3a"]),
            ("Laptop", ["0b", "0a"]),
            ("phone", ["1a"]),
            ("tablet", ["2a"]),
        ]
        laptop = body[1]["certificates"]
        assert laptop[0] == {
            "serial_hex": "0b",
            "state": "issued",
            "reason": None,
            "valid": True,
            "issued_at": "2026-11-20T12:00:00Z",
            "not_after": "2027-11-20T12:00:00Z",
        }
        assert (laptop[1]["state"], laptop[1]["reason"], laptop[1]["valid"]) == (
            "revoked",
            "superseded",
            False,
        )

    async def test_an_expired_or_held_certificate_is_listed_as_not_valid(
        self, client: httpx.AsyncClient
    ) -> None:
        body = {d["device_name"]: d["certificates"][0] for d in (await client.get(ROUTE)).json()}

        assert (body["tablet"]["state"], body["tablet"]["valid"]) == ("issued", False)
        assert (body["desktop"]["state"], body["desktop"]["valid"]) == ("on_hold", False)

    async def test_an_account_sees_only_its_own_devices(self, client: httpx.AsyncClient) -> None:
        other = await client.get(ROUTE, headers={"X-API-Key": OTHER_KEY})

        assert [d["device_name"] for d in other.json()] == ["router"]

    async def test_an_account_without_devices_gets_an_empty_list(
        self, client: httpx.AsyncClient, devices: FakeDevices
    ) -> None:
        devices.of.clear()

        response = await client.get(ROUTE)

        assert (response.status_code, response.json()) == (200, [])


class TestRevokeDevice:
    async def test_a_revocation_is_published_for_the_provisioner_before_the_202(
        self, client: httpx.AsyncClient, events: FakeEvents
    ) -> None:
        response = await client.delete(f"{ROUTE}/LAPTOP")

        assert response.status_code == 202, response.text
        [request] = events.requests()
        assert response.json() == {
            "request_id": str(request.request_id),
            "device_name": "Laptop",
            "kind": "revoke",
            "requested_at": "2026-11-25T12:00:00Z",
        }
        assert (request.account_id, request.device_name, request.kind, request.requested_by) == (
            ACCOUNT,
            "Laptop",
            "revoke",
            "customer",
        )
        assert request.requested_at == NOW

    async def test_a_device_revoked_already_may_be_revoked_again(
        self, client: httpx.AsyncClient, events: FakeEvents
    ) -> None:
        response = await client.delete(f"{ROUTE}/phone")

        assert response.status_code == 202
        assert [r.kind for r in events.requests()] == ["revoke"]

    async def test_another_accounts_device_is_404_like_one_that_never_existed(
        self, client: httpx.AsyncClient, events: FakeEvents
    ) -> None:
        theirs = await client.delete(f"{ROUTE}/router")
        unknown = await client.delete(f"{ROUTE}/nothing")

        assert (theirs.status_code, unknown.status_code) == (404, 404)
        assert theirs.text.replace("router", "<name>") == unknown.text.replace("nothing", "<name>")
        assert "GET /v1/account/devices" in unknown.json()["detail"]
        assert events.published == []

    async def test_a_broker_that_does_not_acknowledge_is_503_asking_to_repeat(
        self, client: httpx.AsyncClient, events: FakeEvents
    ) -> None:
        events.acknowledging = False

        response = await client.delete(f"{ROUTE}/laptop")

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "repeat the same request" in response.json()["detail"]


class TestProfileEmail:
    async def test_a_resend_is_published_for_a_device_with_a_valid_certificate(
        self, client: httpx.AsyncClient, events: FakeEvents
    ) -> None:
        response = await client.post(f"{ROUTE}/laptop/profile-email")

        assert response.status_code == 202, response.text
        [request] = events.requests()
        assert (request.kind, request.device_name, request.requested_by) == (
            "resend_profile",
            "Laptop",
            "customer",
        )
        assert response.json()["request_id"] == str(request.request_id)
        assert response.json()["kind"] == "resend_profile"

    @pytest.mark.parametrize(
        "name", ["phone", "tablet", "desktop"], ids=["revoked", "expired", "on-hold"]
    )
    async def test_a_device_without_a_valid_certificate_is_409_and_nothing_is_asked(
        self, client: httpx.AsyncClient, events: FakeEvents, name: str
    ) -> None:
        response = await client.post(f"{ROUTE}/{name}/profile-email")

        assert response.status_code == 409
        assert "no valid certificate" in response.json()["detail"]
        assert events.published == []

    async def test_an_unknown_device_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{ROUTE}/router/profile-email")

        assert response.status_code == 404


class TestDeviceNames:
    @pytest.mark.parametrize(
        "name",
        ["-laptop", ".hidden", "my%20laptop", "l%C3%A6ptop", "x" * 65],
        ids=["leading-dash", "leading-dot", "blank", "non-ascii", "65-chars"],
    )
    async def test_a_name_outside_the_pattern_or_longer_than_64_is_422(
        self, client: httpx.AsyncClient, events: FakeEvents, name: str
    ) -> None:
        revoke = await client.delete(f"{ROUTE}/{name}")
        resend = await client.post(f"{ROUTE}/{name}/profile-email")

        assert (revoke.status_code, resend.status_code) == (422, 422)
        assert revoke.json()["detail"][0]["loc"] == ["path", "device_name"]
        assert events.published == []

    async def test_a_name_of_64_characters_is_looked_up(self, client: httpx.AsyncClient) -> None:
        response = await client.delete(f"{ROUTE}/{'x' * 64}")

        assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ROUTE), ("DELETE", f"{ROUTE}/laptop"), ("POST", f"{ROUTE}/laptop/profile-email")],
)
async def test_the_operator_key_is_refused_with_what_to_use_instead(
    client: httpx.AsyncClient, events: FakeEvents, method: str, path: str
) -> None:
    response = await client.request(method, path, headers={"X-API-Key": KEY})

    assert response.status_code == 403
    assert "tc-admin" in response.json()["detail"]
    assert events.published == []
