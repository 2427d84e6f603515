"""A customer hands over their Tessie token: checked with Tessie, stored and published only as
ciphertext, revocable, invisible to other tenants and refused to the operator's key.

Against a real PostgreSQL migrated by tc_db, a real Kafka-protocol broker and the Tessie
simulator (tools/tessie-sim) served over HTTP; the api's clock is fixed.
"""

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import boto3
import httpx
import psycopg
import pytest
from moto import mock_aws

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_common.events.accounts import AccountChanged, TessieTokenChanged, api_key_sha256
from tc_common.topics import ACCOUNT_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1
from tc_devstack.net import free_port
from tc_tessie_sim.server import RunningSimulator, running_simulator
from tc_testkit.kafka import consume, keyed, topics_holding
from tc_vault import LocalKeyring, SealedToken, Vault, VaultSettings
from tc_vault_kms import AwsKmsKeyring, KmsVaultSettings

from ..support import KEY, NOW, client_of  # noqa: TID252
from .support import insert_rows, seeding

pytestmark = pytest.mark.integration

ROUTE = "/v1/account/tessie-token"


def _vault_settings() -> VaultSettings:
    return VaultSettings(
        keys={1: base64.b64encode(secrets.token_bytes(32)).decode()}, current_version=1
    )


def _forms(token: str) -> list[bytes]:
    """Every form in which a leaked token would be recognisable."""
    raw = token.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode()]


@dataclass
class Tenants:
    url: str
    a: UUID
    b: UUID
    a_key: str
    b_key: str


@pytest.fixture
def tenants(database_url: str) -> Tenants:
    """Two active accounts, A and B, each with a key and no vehicle yet."""
    a, b = uuid4(), uuid4()
    a_key, b_key = f"tck_a-{secrets.token_hex(16)}", f"tck_b-{secrets.token_hex(16)}"
    with seeding(database_url) as conn:
        insert_rows(
            conn,
            "accounts",
            [
                {
                    "account_id": account_id,
                    "email": f"{name}@example.test",
                    "email_casefold": f"{name}@example.test",
                    "state": "active",
                    "created_at": NOW - timedelta(days=30),
                    "changed_at": NOW - timedelta(days=1),
                }
                for account_id, name in ((a, f"a-{a}"), (b, f"b-{b}"))
            ],
        )
        insert_rows(
            conn,
            "api_keys",
            [
                {
                    "key_id": uuid4(),
                    "account_id": account_id,
                    "key_sha256": api_key_sha256(key),
                    "issued_at": NOW - timedelta(days=20),
                }
                for account_id, key in ((a, a_key), (b, b_key))
            ],
        )
    return Tenants(database_url, a, b, a_key, b_key)


@pytest.fixture
def tessie() -> Iterator[RunningSimulator]:
    with running_simulator(
        token=f"tessie-{secrets.token_urlsafe(24)}", vehicles=2, now=FixedClock(NOW)
    ) as sim:
        yield sim


@pytest.fixture
def vault_settings() -> VaultSettings:
    return _vault_settings()


def _settings(
    tenants: Tenants,
    bootstrap_servers: str,
    vault: VaultSettings,
    tessie_base_url: str,
    publish_timeout_s: float = 10,
) -> ApiSettings:
    return ApiSettings(
        postgres={"url": tenants.url},
        api_keys=[KEY],
        kafka={
            "bootstrap_servers": bootstrap_servers,
            "partitions": 1,
        },
        vault=vault,
        tessie_base_url=tessie_base_url,
        tessie_timeout_s=3,
        publish_timeout_s=publish_timeout_s,
    )


@pytest.fixture
async def client(
    tenants: Tenants, kafka: Any, vault_settings: VaultSettings, tessie: RunningSimulator
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        _settings(tenants, kafka.bootstrap_servers, vault_settings, tessie.base_url),
        clock=FixedClock(NOW),
    )
    async with client_of(app) as http:
        yield http


async def _put(client: httpx.AsyncClient, key: str, token: str) -> httpx.Response:
    return await client.put(ROUTE, json={"token": token}, headers={"X-API-Key": key})


def _rows(url: str, query: str, params: Any = ()) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode(), params).fetchall()


async def _token_events(kafka: Any, account_id: UUID, until: int) -> list[TessieTokenChanged]:
    return await consume(
        kafka.bootstrap_servers,
        TESSIE_TOKEN_CHANGED_V1,
        keyed(str(account_id).encode(), TessieTokenChanged),
        until=lambda found: len(found) >= until,
        timeout_s=20 if until else 3,
    )


async def test_an_accepted_token_is_stored_and_published_only_as_ciphertext(
    client: httpx.AsyncClient,
    tenants: Tenants,
    tessie: RunningSimulator,
    kafka: Any,
    vault_settings: VaultSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    response = await _put(client, tenants.a_key, tessie.token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token_id", "vehicle_ids", "registered_at"}
    assert body["vehicle_ids"] == sorted(tessie.vins)
    assert body["registered_at"] == NOW.isoformat().replace("+00:00", "Z")
    # The vehicles Tessie listed are the account's now.
    assert sorted(v for (v,) in _rows(tenants.url, "SELECT vehicle_id FROM account_vehicles")) == (
        sorted(tessie.vins)
    )
    # Stored: ciphertext only, which opens to the token with the keyring.
    [(token_id, kek_version, sealed, *row)] = _rows(
        tenants.url,
        "SELECT token_id, kek_version, sealed, account_id::text, vehicle_ids::text, "
        "registered_at::text, revoked_at::text FROM tessie_tokens",
    )
    assert (str(token_id), kek_version) == (body["token_id"], 1)
    stored = b"\0".join([bytes(sealed), *(str(v).encode() for v in row)])
    assert not [form for form in _forms(tessie.token) if form in stored]
    vault = Vault(LocalKeyring.from_settings(vault_settings))
    assert vault.open(SealedToken.from_bytes(bytes(sealed))) == tessie.token
    # Published before the answer: the sealed token and the account's vehicles.
    [event] = await _token_events(kafka, tenants.a, until=1)
    assert (event.status, str(event.token_id)) == ("registered", body["token_id"])
    assert event.sealed_token is not None
    assert event.vehicle_ids == tuple(sorted(tessie.vins))
    assert vault.open(SealedToken.from_json_dict(event.sealed_token.model_dump(mode="json"))) == (
        tessie.token
    )
    [account] = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(tenants.a).encode(), AccountChanged),
        until=bool,
        timeout_s=20,
    )
    assert sorted(account.vehicle_ids) == sorted(tessie.vins)
    # Nowhere on the broker, in no form, on no topic.
    for form in _forms(tessie.token):
        assert await topics_holding(kafka.bootstrap_servers, form) == set()
    assert not [form for form in _forms(tessie.token) if form in response.content]
    # Not even logged (before redaction): by the api, httpx, aiokafka or psycopg.
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records).encode()
    assert not [form for form in _forms(tessie.token) if form in logged]


async def test_a_token_tessie_refuses_is_422_and_nothing_is_stored_or_published(
    client: httpx.AsyncClient, tenants: Tenants, kafka: Any
) -> None:
    wrong = f"not-the-token-{secrets.token_hex(12)}"

    response = await _put(client, tenants.a_key, wrong)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "token"]
    assert "Tessie refused this token" in error["msg"]
    assert wrong not in response.text
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []
    assert _rows(tenants.url, "SELECT 1 FROM account_vehicles") == []
    assert await _token_events(kafka, tenants.a, until=0) == []


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_tessie_failing_is_503_with_retry_after_and_nothing_is_stored(
    client: httpx.AsyncClient, tenants: Tenants, tessie: RunningSimulator, kafka: Any, status: int
) -> None:
    tessie.inject_faults(status, count=1, retry_after_s=7)

    response = await _put(client, tenants.a_key, tessie.token)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json()["retry_after_s"] == 7
    assert f"Tessie answered {status}" in response.json()["detail"]
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []
    assert await _token_events(kafka, tenants.a, until=0) == []


async def test_tessie_unreachable_is_503_with_retry_after_and_nothing_is_stored(
    tenants: Tenants, kafka: Any, vault_settings: VaultSettings
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_app(
        _settings(tenants, kafka.bootstrap_servers, vault_settings, nowhere), clock=FixedClock(NOW)
    )
    async with client_of(app) as client:
        response = await _put(client, tenants.a_key, f"tessie-{secrets.token_hex(16)}")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "could not be reached" in response.json()["detail"]
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []


async def test_the_operator_key_cannot_register_a_token(
    client: httpx.AsyncClient, tessie: RunningSimulator, tenants: Tenants
) -> None:
    response = await _put(client, KEY, tessie.token)

    assert response.status_code == 403
    assert "operator key" in response.json()["detail"]
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []


async def test_a_malformed_body_is_422_without_echoing_the_token(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    too_long = "x" * 600 + secrets.token_hex(8)

    responses = [
        await _put(client, tenants.a_key, too_long),
        await client.put(
            ROUTE, content=f'{{"token": "{too_long}"', headers={"X-API-Key": tenants.a_key}
        ),
    ]

    assert [r.status_code for r in responses] == [422, 422]
    assert not [r for r in responses if too_long[-16:] in r.text]


async def test_another_tenant_neither_sees_nor_revokes_the_token(
    client: httpx.AsyncClient, tenants: Tenants, tessie: RunningSimulator
) -> None:
    assert (await _put(client, tenants.a_key, tessie.token)).status_code == 200

    theirs = await client.get("/v1/account", headers={"X-API-Key": tenants.b_key})
    revoke = await client.delete(ROUTE, headers={"X-API-Key": tenants.b_key})
    mine = await client.get("/v1/account", headers={"X-API-Key": tenants.a_key})

    assert theirs.json()["tessie_token"] is None
    assert theirs.json()["vehicle_ids"] == []
    assert revoke.status_code == 404
    assert mine.json()["tessie_token"]["registered"] is True
    assert mine.json()["vehicle_ids"] == sorted(tessie.vins)
    assert tessie.token not in mine.text


async def test_revoking_erases_the_ciphertext_and_publishes_revoked(
    client: httpx.AsyncClient, tenants: Tenants, tessie: RunningSimulator, kafka: Any
) -> None:
    token_id = (await _put(client, tenants.a_key, tessie.token)).json()["token_id"]

    first = await client.delete(ROUTE, headers={"X-API-Key": tenants.a_key})
    again = await client.delete(ROUTE, headers={"X-API-Key": tenants.a_key})

    assert (first.status_code, again.status_code) == (204, 204)
    assert _rows(tenants.url, "SELECT sealed, kek_version, revoked_at FROM tessie_tokens") == [
        (None, None, NOW)
    ]
    events = await _token_events(kafka, tenants.a, until=3)
    assert [(e.status, str(e.token_id)) for e in events] == [
        ("registered", token_id),
        ("revoked", token_id),
        ("revoked", token_id),
    ]
    assert events[-1].sealed_token is None
    account = (await client.get("/v1/account", headers={"X-API-Key": tenants.a_key})).json()
    assert account["tessie_token"]["registered"] is False
    assert account["tessie_token"]["revoked_at"] is not None


async def test_revoking_without_a_token_is_404(client: httpx.AsyncClient, tenants: Tenants) -> None:
    response = await client.delete(ROUTE, headers={"X-API-Key": tenants.a_key})

    assert response.status_code == 404
    assert "PUT /v1/account/tessie-token" in response.json()["detail"]


async def test_the_customer_rectifies_their_email_and_it_is_published(
    client: httpx.AsyncClient, tenants: Tenants, kafka: Any
) -> None:
    new = f"new-{uuid4().hex[:8]}@example.test"

    response = await client.patch(
        "/v1/account", json={"email": new}, headers={"X-API-Key": tenants.a_key}
    )
    taken = await client.patch(
        "/v1/account", json={"email": new.upper()}, headers={"X-API-Key": tenants.b_key}
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == new
    assert taken.status_code == 409
    [event] = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(tenants.a).encode(), AccountChanged),
        until=bool,
        timeout_s=20,
    )
    assert event.email == new


async def test_a_token_listing_another_accounts_vehicle_is_409_and_nothing_is_stored(
    client: httpx.AsyncClient, tenants: Tenants, tessie: RunningSimulator, kafka: Any
) -> None:
    with psycopg.connect(tenants.url, autocommit=True) as conn:
        insert_rows(
            conn,
            "account_vehicles",
            [{"vehicle_id": tessie.vins[0], "account_id": tenants.b, "linked_at": NOW}],
        )

    response = await _put(client, tenants.a_key, tessie.token)

    assert response.status_code == 409
    assert "belongs to another account" in response.json()["detail"]
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []
    assert _rows(tenants.url, "SELECT account_id FROM account_vehicles") == [(tenants.b,)]
    assert await _token_events(kafka, tenants.a, until=0) == []


async def test_a_broker_that_does_not_acknowledge_is_a_503_asking_to_repeat(
    tenants: Tenants, vault_settings: VaultSettings, tessie: RunningSimulator
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    settings = _settings(tenants, nowhere, vault_settings, tessie.base_url, publish_timeout_s=2)
    app = create_app(settings, clock=FixedClock(NOW))
    async with client_of(app) as client:
        response = await _put(client, tenants.a_key, tessie.token)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "repeat the same request" in response.json()["detail"]
    assert tessie.token not in response.text


async def test_tessie_not_answering_in_time_is_503_and_nothing_is_stored(
    tenants: Tenants, kafka: Any, vault_settings: VaultSettings
) -> None:
    held: list[asyncio.StreamWriter] = []

    def accept_and_say_nothing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = _settings(
        tenants, kafka.bootstrap_servers, vault_settings, f"http://127.0.0.1:{port}"
    )
    try:
        async with client_of(create_app(settings, clock=FixedClock(NOW))) as client:
            response = await _put(client, tenants.a_key, f"tessie-{secrets.token_hex(16)}")
    finally:
        for writer in held:
            writer.close()
        silent.close()

    assert response.status_code == 503
    assert "did not answer in time" in response.json()["detail"]
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the developer's own AWS profile or credentials.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def _kms_settings(
    tenants: Tenants, bootstrap_servers: str, vault_kms: KmsVaultSettings, tessie_base_url: str
) -> ApiSettings:
    return ApiSettings(
        postgres={"url": tenants.url},
        api_keys=[KEY],
        kafka={"bootstrap_servers": bootstrap_servers, "partitions": 1},
        vault_kms=vault_kms,
        tessie_base_url=tessie_base_url,
        tessie_timeout_s=3,
    )


async def test_with_the_keys_in_kms_the_stored_token_opens_only_through_kms(
    tenants: Tenants, kafka: Any, tessie: RunningSimulator, aws_credentials: None
) -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-central-1")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        vault_kms = KmsVaultSettings(region="eu-central-1", key_ids={1: key}, current_version=1)
        app = create_app(
            _kms_settings(tenants, kafka.bootstrap_servers, vault_kms, tessie.base_url),
            clock=FixedClock(NOW),
        )
        async with client_of(app) as client:
            response = await _put(client, tenants.a_key, tessie.token)

        assert response.status_code == 200, response.text
        [(sealed,)] = _rows(tenants.url, "SELECT sealed FROM tessie_tokens")
        record = SealedToken.from_bytes(bytes(sealed))
        assert record.kek_version == 1
        assert Vault(AwsKmsKeyring(kms, {1: key}, 1)).open(record) == tessie.token


async def test_kms_out_of_reach_is_503_and_nothing_is_stored_or_published(
    tenants: Tenants, kafka: Any, tessie: RunningSimulator, aws_credentials: None
) -> None:
    vault_kms = KmsVaultSettings(
        region="eu-central-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        key_ids={1: "alias/tc-vault-v1"},
        current_version=1,
        timeout_s=1,
        max_attempts=1,
    )
    app = create_app(
        _kms_settings(tenants, kafka.bootstrap_servers, vault_kms, tessie.base_url),
        clock=FixedClock(NOW),
    )
    async with client_of(app) as client:
        response = await _put(client, tenants.a_key, tessie.token)

    assert response.status_code == 503
    assert "cannot seal the token now" in response.json()["detail"]
    assert "Retry-After" in response.headers
    assert tessie.token not in response.text
    assert _rows(tenants.url, "SELECT 1 FROM tessie_tokens") == []
    assert await _token_events(kafka, tenants.a, until=0) == []
