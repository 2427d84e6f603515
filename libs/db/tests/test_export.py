"""tc_db.export against a real PostgreSQL: one account's data, whole, and nobody else's."""

import csv
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tc_db import accounts, apply_migrations, export, vpn

from .cluster import connect

AT = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)

pytestmark = pytest.mark.integration


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await connect(database_url) as c:
        await apply_migrations(c)
        yield c


async def sampled(conn: psycopg.AsyncConnection, vin: str, n: int) -> None:
    for i in range(n):
        t = AT + timedelta(minutes=i)
        await conn.execute(
            "INSERT INTO telemetry (vehicle_id, sampled_at, fetched_at, online_state,"
            " battery_level_pct, latitude_deg, longitude_deg) VALUES (%s, %s, %s, 'online',"
            " %s, 59.91, 10.75)",
            (vin, t, t + timedelta(seconds=3), 50.0 + i),
        )
    await conn.execute(
        "INSERT INTO drives (vehicle_id, drive_id, started_at, ended_at, distance_km)"
        " VALUES (%s, 1, %s, %s, 12.5)",
        (vin, AT, AT + timedelta(minutes=20)),
    )


async def test_an_export_holds_every_row_of_the_account_checksummed_and_none_of_another(
    conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    mine = await accounts.create_account(conn, "ada@example.org", at=AT)
    theirs = await accounts.create_account(conn, "bob@example.org", at=AT)
    await accounts.link_vehicle(conn, mine.account_id, "5YJ3EXPORT0000001", at=AT)
    await accounts.link_vehicle(conn, theirs.account_id, "5YJ3EXPORT0000002", at=AT)
    key = await accounts.issue_key(conn, mine.account_id, label="dashboard", at=AT)
    await sampled(conn, "5YJ3EXPORT0000001", 12)
    await sampled(conn, "5YJ3EXPORT0000002", 5)
    seen: list[tuple[str, int, int]] = []

    archive_path = tmp_path / "export.zip"
    manifest = await export.export_account(
        conn,
        mine.account_id,
        archive_path,
        at=AT,
        progress=lambda name, done, total: seen.append((name, done, total)),
    )

    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        assert names == {f["name"] for f in manifest["files"]} | {"manifest.json"}
        for entry in manifest["files"]:
            data = archive.read(entry["name"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
        account = json.loads(archive.read("account.json"))
        telemetry = list(csv.DictReader(io.StringIO(archive.read("telemetry.csv").decode())))
        keys = list(csv.DictReader(io.StringIO(archive.read("api_keys.csv").decode())))
        drives = list(csv.DictReader(io.StringIO(archive.read("drives.csv").decode())))
        everything = b"".join(archive.read(n) for n in names)
    assert account["email"] == "ada@example.org"
    assert account["vehicle_ids"] == ["5YJ3EXPORT0000001"]
    assert len(telemetry) == 12
    assert {r["vehicle_id"] for r in telemetry} == {"5YJ3EXPORT0000001"}
    assert telemetry[0]["sampled_at"] == AT.isoformat()
    assert [(d["drive_id"], d["distance_km"]) for d in drives] == [("1", "12.5")]
    assert [k["label"] for k in keys] == ["dashboard"]
    assert b"5YJ3EXPORT0000002" not in everything
    assert b"bob@example.org" not in everything
    assert key.key.encode() not in everything
    assert key.event.key_sha256.encode() not in everything
    assert ("telemetry.csv", 12, 12) in seen


async def test_an_unknown_account_has_nothing_to_export(
    conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    with pytest.raises(accounts.AccountNotFoundError):
        await export.export_account(conn, uuid.uuid4(), tmp_path / "x.zip", at=AT)


async def test_an_export_lists_the_devices_certificates_and_emails_but_never_a_profile(
    conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    mine = await accounts.create_account(conn, "vpn-ada@example.org", at=AT)
    authority = await vpn.insert_authority(
        conn,
        vpn.AuthorityRow(
            authority_id=uuid.uuid4(),
            ca_cert_pem="CA",
            ca_key_sealed=b"sealed-ca",
            server_common_name="vpn.test",
            server_cert_pem="SERVER",
            server_key_sealed=b"sealed-server",
            tls_crypt_v2_server_key_sealed=b"sealed-tc",
            crl_number=0,
            crl_pem=None,
            crl_this_update=None,
            crl_next_update=None,
            created_at=AT,
        ),
    )
    profile = b"SEALED-PROFILE-WITH-A-PRIVATE-KEY"
    await vpn.insert_device(
        conn,
        vpn.DeviceRow(
            serial_hex="abc123",
            authority_id=authority.authority_id,
            account_id=mine.account_id,
            request_id=uuid.uuid4(),
            device_name="pixel-8",
            common_name=f"{mine.account_id}.pixel-8",
            issued_at=AT,
            not_after=AT + timedelta(days=365),
            state="issued",
            state_changed_at=AT,
            reason=None,
            replaces_serial_hex=None,
            profile_sealed=profile,
        ),
    )
    await vpn.add_delivery(conn, delivery_id=uuid.uuid4(), serial_hex="abc123", at=AT)

    manifest = await export.export_account(conn, mine.account_id, tmp_path / "x.zip", at=AT)

    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        devices = list(csv.DictReader(io.StringIO(archive.read("vpn_devices.csv").decode())))
        emails = list(csv.DictReader(io.StringIO(archive.read("vpn_profile_emails.csv").decode())))
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert [(d["device_name"], d["serial_hex"], d["state"]) for d in devices] == [
        ("pixel-8", "abc123", "issued")
    ]
    assert [e["serial_hex"] for e in emails] == ["abc123"]
    assert profile not in everything
    assert b"sealed-ca" not in everything
    assert any("private keys" in line for line in manifest["not_included"])
