"""tc-admin's commands against a real PostgreSQL and a real Kafka-protocol broker: each one
leaves the right rows and the right event on its topic, and the key is shown once, never sent."""

import asyncio
import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tc_admin.cli import main
from tc_common.events.accounts import AccountChanged, ApiKeyChanged, api_key_sha256
from tc_common.events.provisioning import invitation_sha256
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1
from tc_testkit.kafka import consume, event_of, keyed

pytestmark = pytest.mark.integration

Run = Callable[..., Any]


async def tc_admin(*argv: str) -> tuple[int, str, str]:
    """Run the command as the console script does, in a thread (it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def rows(url: str, query: str, params: Any = ()) -> list[Any]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(query.encode(), params)
        return await cur.fetchall()


async def create(email: str) -> uuid.UUID:
    code, out, err = await tc_admin("create-account", email)
    assert code == 0, err
    return uuid.UUID(out.split()[1])


async def test_a_created_account_is_a_row_and_an_event_and_creating_again_republishes_it(
    env: None, migrated: str, kafka: Any
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    account_id = await create(email)
    assert await create(email.upper()) == account_id
    assert await rows(migrated, "SELECT account_id, state FROM accounts") == [
        (account_id, "active")
    ]
    events = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(account_id).encode(), AccountChanged),
        until=lambda found: len(found) >= 2,
    )
    assert [(e.email, e.state) for e in events] == [(email, "active")] * 2


async def test_linking_suspending_and_resuming_each_publish_the_accounts_new_state(
    env: None, migrated: str, kafka: Any
) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    vin = "VIN" + uuid.uuid4().hex[:10].upper()
    for argv in (
        ("link-vehicle", str(account_id), vin),
        ("suspend", str(account_id)),
        ("resume", str(account_id)),
        ("unlink-vehicle", str(account_id), vin),
    ):
        code, _, err = await tc_admin(*argv)
        assert code == 0, err
    events = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(account_id).encode(), AccountChanged),
        until=lambda found: len(found) >= 5,
    )
    assert [(e.state, e.vehicle_ids) for e in events] == [
        ("active", ()),
        ("active", (vin,)),
        ("suspended", (vin,)),
        ("active", (vin,)),
        ("active", ()),
    ]
    assert await rows(migrated, "SELECT state FROM accounts") == [("active",)]


async def test_an_issued_key_is_shown_once_stored_as_its_digest_and_never_sent(
    env: None, migrated: str, kafka: Any
) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    code, out, err = await tc_admin("issue-key", str(account_id), "--label", "laptop")
    assert code == 0, err
    (key,) = [line for line in out.splitlines() if line.startswith("tck_")]
    assert "cannot be shown again" in out
    assert key not in err
    key_id = uuid.UUID(out.split()[1])
    assert await rows(migrated, "SELECT key_id, key_sha256 FROM api_keys") == [
        (key_id, api_key_sha256(key))
    ]

    code, out, _ = await tc_admin("revoke-key", str(key_id))
    assert code == 0
    code, listing, _ = await tc_admin("keys", str(account_id))
    assert code == 0
    assert key not in out + listing
    assert api_key_sha256(key) not in listing
    assert str(key_id) in listing

    records = await consume(
        kafka.bootstrap_servers,
        API_KEY_CHANGED_V1,
        lambda r: r if r.key == str(key_id).encode() else None,
        until=lambda found: len(found) >= 2,
    )
    assert len(records) == 2
    assert all(key.encode() not in (r.value or b"") + (r.key or b"") for r in records)
    issued, revoked = (ApiKeyChanged.model_validate_json(r.value) for r in records)
    assert issued.key_sha256 == revoked.key_sha256 == api_key_sha256(key)
    assert (issued.revoked_at is None, revoked.revoked_at is not None) == (True, True)
    assert await rows(migrated, "SELECT revoked_at IS NOT NULL FROM api_keys") == [(True,)]


async def test_the_listing_counts_vehicles_and_active_keys(env: None, migrated: str) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    account_id = await create(email)
    await tc_admin("link-vehicle", str(account_id), "VINLIST1")
    await tc_admin("issue-key", str(account_id))
    code, out, _ = await tc_admin("accounts")
    assert code == 0
    (line,) = out.splitlines()
    assert str(account_id) in line
    assert "vehicles 1" in line
    assert "active keys 1" in line
    assert email in line


async def test_republish_sends_the_account_and_its_keys_again(
    env: None, migrated: str, kafka: Any
) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    code, out, _ = await tc_admin("issue-key", str(account_id))
    key_id = out.split()[1]
    code, _, err = await tc_admin("republish", str(account_id))
    assert code == 0, err
    again = await consume(
        kafka.bootstrap_servers,
        API_KEY_CHANGED_V1,
        keyed(key_id.encode(), ApiKeyChanged),
        until=lambda found: len(found) >= 2,
    )
    assert len(again) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("suspend", "not-a-uuid"), "not an id"),
        (("create-account", "nobody"), "not an email address"),
        (("frobnicate",), "invalid choice"),
        (("suspend", str(uuid.UUID(int=1))), "no account"),
        (("revoke-key", str(uuid.UUID(int=1))), "no API key"),
        (("link-vehicle", str(uuid.UUID(int=1)), "bad vin!"), "not a vehicle id"),
    ],
)
async def test_bad_input_exits_2_with_a_message_not_a_traceback(
    env: None, argv: tuple[str, ...], message: str
) -> None:
    code, _, err = await tc_admin(*argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


async def test_a_vehicle_of_another_account_is_refused_with_exit_2(env: None) -> None:
    ada = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    bob = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    assert (await tc_admin("link-vehicle", str(ada), "VINOWNED1"))[0] == 0
    code, _, err = await tc_admin("link-vehicle", str(bob), "VINOWNED1")
    assert code == 2
    assert "belongs to another account" in err


async def test_missing_settings_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ADMIN_POSTGRES__URL", raising=False)
    code, _, err = await tc_admin("accounts")
    assert code == 2
    assert "ADMIN_POSTGRES" in err


async def test_an_unreachable_broker_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, migrated: str
) -> None:
    monkeypatch.setenv("ADMIN_POSTGRES__URL", migrated)
    monkeypatch.setenv("ADMIN_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("ADMIN_KAFKA__REQUEST_TIMEOUT_MS", "2000")
    code, _, err = await tc_admin("create-account", "ada@example.com")
    assert code == 1
    assert "nothing changed" in err
    assert await rows(migrated, "SELECT count(*) FROM accounts") == [(0,)]


async def test_an_invitation_is_shown_once_stored_as_its_digest_listed_and_withdrawn(
    env: None, migrated: str
) -> None:
    code, out, err = await tc_admin("invite", "--valid-days", "7", "--label", "wave 2")
    assert code == 0, err
    shown = out.splitlines()[1]
    digest = invitation_sha256(shown)
    assert out.splitlines()[0].startswith(f"invitation {digest[:12]} expires ")
    stored = await rows(migrated, "SELECT invitation_sha256, label FROM invitations")
    assert (digest, "wave 2") in stored
    assert all(shown not in str(row) for row in stored)

    code, out, err = await tc_admin("invitations")
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith(digest[:12])]
    assert " open " in line
    assert shown not in out

    code, out, err = await tc_admin("withdraw-invitation", digest[:10])
    assert code == 0, err
    assert " withdrawn " in out
    code, out, err = await tc_admin("withdraw-invitation", "nothex!")
    assert code == 2
    assert "hex digits" in err


async def test_an_invitation_valid_for_no_time_or_over_a_year_is_refused(env: None) -> None:
    for days in ("0", "-1", "366", "soon"):
        code, _, err = await tc_admin("invite", "--valid-days", days)
        assert code == 2, days
        assert "days" in err


async def test_erase_marks_the_account_erasure_pending_revokes_its_keys_and_publishes_both(
    env: None, migrated: str, kafka: Any
) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    code, _, err = await tc_admin("issue-key", str(account_id))
    assert code == 0, err

    code, out, err = await tc_admin("erase", str(account_id))
    assert code == 0, err
    assert f"account {account_id} erasure_pending" in out
    assert await rows(
        migrated,
        "SELECT count(*) FROM api_keys WHERE account_id = %s AND revoked_at IS NULL",
        (account_id,),
    ) == [(0,)]
    pending = await consume(
        kafka.bootstrap_servers,
        ACCOUNT_CHANGED_V1,
        keyed(str(account_id).encode(), AccountChanged, lambda e: e.state == "erasure_pending"),
        until=bool,
    )
    assert pending
    revoked = await consume(
        kafka.bootstrap_servers,
        API_KEY_CHANGED_V1,
        lambda r: (e := event_of(ApiKeyChanged, r)) and e.account_id == account_id and e.revoked_at,
        until=bool,
    )
    assert revoked

    code, out, err = await tc_admin("erase", str(account_id))  # again: the same request
    assert code == 0, err


async def test_export_writes_the_accounts_archive_with_progress_and_refuses_to_overwrite(
    env: None, tmp_path: Any
) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    target = tmp_path / "export.zip"

    code, out, err = await tc_admin("export", str(account_id), "--out", str(target))
    assert code == 0, err
    assert "  telemetry.csv: 0 of 0 rows" in out
    assert out.splitlines()[-1].startswith("exported ")
    with zipfile.ZipFile(target) as archive:
        assert "manifest.json" in archive.namelist()

    code, _, err = await tc_admin("export", str(account_id), "--out", str(target))
    assert code == 2
    assert "exists" in err
    code, _, err = await tc_admin("export", str(uuid.uuid4()), "--out", str(tmp_path / "n.zip"))
    assert code == 2
    assert "no account" in err
    assert not (tmp_path / "n.zip").exists()


async def test_seats_lists_each_admitted_device_with_its_account(env: None, migrated: str) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    account_id = await create(email)
    await rows(
        migrated,
        "INSERT INTO provisioning_decisions (request_id, outcome, reason, seats_taken,"
        " seats_total, decided_at, email_casefold, device_casefold, invitation_sha256)"
        " VALUES (%s, 'accepted', 'accepted: seat 1 of 100', 1, 100, now(), %s, 'ipad', %s)"
        " RETURNING 1",
        (uuid.uuid4(), email, invitation_sha256(uuid.uuid4().hex)),
    )

    code, out, err = await tc_admin("seats")

    assert code == 0, err
    assert f"account {account_id}  device 'ipad'" in out
    assert out.splitlines()[-1].endswith("seat(s) taken")
