"""tc-admin's VPN device commands against a real PostgreSQL and a real Kafka-protocol broker:
``devices`` lists what the provisioner recorded; ``revoke-device``, ``resend-profile`` and
``reissue-device`` ask the provisioner (vpn.requests.v1) for a device the account has had, and
refuse any other."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tc_common.events.vpn import DeviceAccessRequested
from tc_common.topics import VPN_REQUESTS_V1
from tc_db import vpn
from tc_testkit.kafka import consume, keyed

from .test_cli import create, tc_admin

pytestmark = pytest.mark.integration

# tc-admin runs on the system clock: the certificates are placed around it.
NOW = datetime.now(UTC).replace(microsecond=0)


def device(
    account_id: uuid.UUID, name: str, serial_hex: str, days_ago: int, **extra: Any
) -> vpn.DeviceRow:
    issued_at = NOW - timedelta(days=days_ago)
    state = extra.get("state", "issued")
    return vpn.DeviceRow(
        serial_hex=serial_hex,
        authority_id=uuid.UUID(int=0),
        account_id=account_id,
        request_id=None,
        device_name=name,
        common_name=f"{name}-{serial_hex}"[:64],
        issued_at=issued_at,
        not_after=extra.get("not_after", issued_at + timedelta(days=365)),
        state=state,
        state_changed_at=issued_at,
        reason=extra.get("reason"),
        replaces_serial_hex=None,
        profile_sealed=None if state == "revoked" else b"dummy sealed profile",
    )


async def insert(url: str, rows: list[vpn.DeviceRow]) -> None:
    """Under an authority of dummy PEM text and sealed bytes: tc-admin reads neither."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        authority = await vpn.insert_authority(
            conn,
            vpn.AuthorityRow(
                authority_id=uuid.uuid4(),
                ca_cert_pem="dummy CA certificate",
                ca_key_sealed=b"dummy sealed CA key",
                server_common_name="vpn.example.test",
                server_cert_pem="dummy server certificate",
                server_key_sealed=b"dummy sealed server key",
                tls_crypt_v2_server_key_sealed=b"dummy sealed tls-crypt-v2 key",
                crl_number=0,
                crl_pem=None,
                crl_this_update=None,
                crl_next_update=None,
                created_at=NOW - timedelta(days=400),
            ),
        )
        for row in rows:
            await vpn.insert_device(conn, replace(row, authority_id=authority.authority_id))


@pytest.fixture
async def accounts(env: None, migrated: str) -> tuple[uuid.UUID, uuid.UUID]:
    """Ada: a laptop re-issued once, a phone revoked, a tablet expired; Bob: a router."""
    ada = await create(f"ada-{uuid.uuid4().hex[:8]}@example.com")
    bob = await create(f"bob-{uuid.uuid4().hex[:8]}@example.com")
    await insert(
        migrated,
        [
            device(ada, "laptop", "a1a1a1a1a1a1a1a1", 60, state="revoked", reason="superseded"),
            device(ada, "Laptop", "a2a2a2a2a2a2a2a2", 5),
            device(ada, "phone", "b1", 20, state="revoked", reason="operator"),
            device(ada, "tablet", "c1", 400),
            device(bob, "router", "d1", 3),
        ],
    )
    return ada, bob


async def requests_of(
    kafka: Any, account_id: uuid.UUID, count: int, timeout_s: float = 45
) -> list[DeviceAccessRequested]:
    return await consume(
        kafka.bootstrap_servers,
        VPN_REQUESTS_V1,
        keyed(str(account_id).encode(), DeviceAccessRequested),
        until=lambda found: len(found) >= count,
        timeout_s=timeout_s,
    )


async def test_devices_lists_each_certificate_by_name_newest_first_with_state_and_expiry(
    accounts: tuple[uuid.UUID, uuid.UUID],
) -> None:
    ada, _ = accounts

    code, out, err = await tc_admin("devices", str(ada))

    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[:5] for line in lines[:-1]] == [
        ["Laptop", "serial", "a2a2a2a2a2a2", "issued", "reason"],
        ["laptop", "serial", "a1a1a1a1a1a1", "revoked", "reason"],
        ["phone", "serial", "b1", "revoked", "reason"],
        ["tablet", "serial", "c1", "issued", "reason"],
    ]
    assert "reason superseded" in lines[1]
    assert f"expires {(NOW - timedelta(days=5) + timedelta(days=365)).isoformat()}" in lines[0]
    assert "expired" in lines[3]
    assert "router" not in out
    assert lines[-1] == "4 certificate(s)"


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("revoke-device", "revoke"),
        ("resend-profile", "resend_profile"),
        ("reissue-device", "reissue"),
    ],
)
async def test_a_device_request_is_published_for_the_provisioner_as_the_operators(
    accounts: tuple[uuid.UUID, uuid.UUID], kafka: Any, command: str, kind: str
) -> None:
    ada, _ = accounts

    code, out, err = await tc_admin(command, str(ada), "LAPTOP")

    assert code == 0, err
    [request] = await requests_of(kafka, ada, 1)
    assert (request.device_name, request.kind, request.requested_by) == (
        "Laptop",
        kind,
        "operator",
    )
    assert str(request.request_id) in out


@pytest.mark.parametrize("command", ["revoke-device", "resend-profile", "reissue-device"])
async def test_a_device_the_account_never_had_is_refused_and_nothing_is_published(
    accounts: tuple[uuid.UUID, uuid.UUID], kafka: Any, command: str
) -> None:
    ada, _ = accounts

    code, out, err = await tc_admin(command, str(ada), "router")  # Bob's

    assert code == 2
    assert "has no device named 'router'" in err
    assert out == ""
    assert await requests_of(kafka, ada, 1, timeout_s=3) == []


@pytest.mark.parametrize("name", ["phone", "tablet"], ids=["revoked", "expired"])
async def test_resending_a_profile_of_a_device_without_a_valid_certificate_is_refused(
    accounts: tuple[uuid.UUID, uuid.UUID], kafka: Any, name: str
) -> None:
    ada, _ = accounts

    code, _, err = await tc_admin("resend-profile", str(ada), name)

    assert code == 2
    assert "no valid certificate" in err
    assert "reissue-device" in err
    assert await requests_of(kafka, ada, 1, timeout_s=3) == []


@pytest.mark.parametrize("name", ["-laptop", "my laptop", "x" * 65])
async def test_a_name_that_is_no_device_name_is_refused_before_anything_is_asked(
    env: None, name: str
) -> None:
    # "--": argparse would read "-laptop" as an option otherwise.
    code, _, err = await tc_admin("revoke-device", str(uuid.uuid4()), "--", name)

    assert code == 2
    assert "not a device name" in err
