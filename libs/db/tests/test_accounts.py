"""tc_db.accounts against a real PostgreSQL: the one writer of accounts, vehicles and API keys."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tc_common.events.accounts import api_key_sha256
from tc_db import accounts, apply_migrations

from .cluster import connect, rows

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(hours=1)

pytestmark = pytest.mark.integration


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await connect(database_url) as c:
        await apply_migrations(c)
        yield c


def test_an_email_is_kept_as_given_and_matched_case_folded() -> None:
    assert accounts.normalised_email("  Ada@Example.COM ") == ("Ada@Example.COM", "ada@example.com")


@pytest.mark.parametrize("bad", ["", "ada", "@example.com", "ada@", "a da@example.com"])
def test_what_is_no_email_address_is_refused(bad: str) -> None:
    with pytest.raises(accounts.InvalidInputError):
        accounts.normalised_email(bad)


async def test_creating_an_account_twice_for_one_person_gives_the_same_account(conn) -> None:
    first = await accounts.create_account(conn, "Ada@Example.com", at=AT)
    again = await accounts.create_account(conn, "ada@example.COM", at=LATER)
    assert again.account_id == first.account_id
    assert (first.state, first.email, first.created_at) == ("active", "Ada@Example.com", AT)
    assert await rows(conn, "SELECT count(*) FROM accounts") == [(1,)]


async def test_an_erased_account_frees_its_email_for_a_new_account(conn) -> None:
    first = await accounts.create_account(conn, "ada@example.com", at=AT)
    await conn.execute(
        "UPDATE accounts SET state = 'erased', email = '' WHERE account_id = %s",
        (first.account_id,),
    )
    second = await accounts.create_account(conn, "ada@example.com", at=LATER)
    assert second.account_id != first.account_id


async def test_a_linked_vehicle_is_in_the_accounts_event_and_linking_again_changes_nothing(
    conn,
) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    linked = await accounts.link_vehicle(conn, account.account_id, "5YJ3E1EA0001", at=LATER)
    again = await accounts.link_vehicle(
        conn, account.account_id, "5YJ3E1EA0001", at=LATER + timedelta(hours=1)
    )
    assert linked.vehicle_ids == again.vehicle_ids == ("5YJ3E1EA0001",)
    assert linked.changed_at == again.changed_at == LATER
    unlinked = await accounts.unlink_vehicle(conn, account.account_id, "5YJ3E1EA0001", at=LATER)
    assert unlinked.vehicle_ids == ()
    assert await rows(conn, "SELECT count(*) FROM account_vehicles") == [(0,)]


async def test_a_vehicle_of_another_account_is_refused(conn) -> None:
    ada = await accounts.create_account(conn, "ada@example.com", at=AT)
    bob = await accounts.create_account(conn, "bob@example.com", at=AT)
    await accounts.link_vehicle(conn, ada.account_id, "VIN1", at=AT)
    with pytest.raises(accounts.VehicleOwnedElsewhereError, match="another account"):
        await accounts.link_vehicle(conn, bob.account_id, "VIN1", at=LATER)
    with pytest.raises(accounts.VehicleOwnedElsewhereError):
        await accounts.unlink_vehicle(conn, bob.account_id, "VIN1", at=LATER)
    assert await rows(conn, "SELECT account_id FROM account_vehicles") == [(ada.account_id,)]


async def test_an_unknown_account_or_bad_vin_is_refused(conn) -> None:
    with pytest.raises(accounts.AccountNotFoundError):
        await accounts.link_vehicle(conn, uuid.uuid4(), "VIN1", at=AT)
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    with pytest.raises(accounts.InvalidInputError):
        await accounts.link_vehicle(conn, account.account_id, "not a vin!", at=AT)


async def test_suspend_and_resume_change_the_state_once(conn) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    suspended = await accounts.suspend(conn, account.account_id, at=LATER)
    again = await accounts.suspend(conn, account.account_id, at=LATER + timedelta(hours=1))
    assert suspended.state == again.state == "suspended"
    assert again.changed_at == LATER
    resumed = await accounts.resume(conn, account.account_id, at=LATER + timedelta(hours=2))
    assert resumed.state == "active"
    assert await rows(conn, "SELECT state FROM accounts") == [("active",)]


async def test_a_suspended_account_gets_no_new_key(conn) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    await accounts.suspend(conn, account.account_id, at=AT)
    with pytest.raises(accounts.AccountNotChangeableError, match="suspended"):
        await accounts.issue_key(conn, account.account_id, at=AT)


async def test_an_issued_key_is_stored_only_as_its_digest(conn) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    issued = await accounts.issue_key(conn, account.account_id, label="laptop", at=AT)
    assert issued.key.startswith("tck_")
    assert issued.event.key_sha256 == api_key_sha256(issued.key)
    (row,) = await rows(conn, "SELECT * FROM api_keys")
    assert not any(issued.key in str(value) for value in row)
    assert api_key_sha256(issued.key) in row


async def test_a_revoked_key_stays_revoked_at_its_first_revocation(conn) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    issued = await accounts.issue_key(conn, account.account_id, at=AT)
    revoked = await accounts.revoke_key(conn, issued.event.key_id, at=LATER)
    again = await accounts.revoke_key(conn, issued.event.key_id, at=LATER + timedelta(days=1))
    assert revoked.revoked_at == again.revoked_at == LATER
    with pytest.raises(accounts.KeyNotFoundError):
        await accounts.revoke_key(conn, uuid.uuid4(), at=LATER)


async def test_listings_count_vehicles_and_active_keys_and_show_no_digest(conn) -> None:
    account = await accounts.create_account(conn, "ada@example.com", at=AT)
    await accounts.link_vehicle(conn, account.account_id, "VIN1", at=AT)
    kept = await accounts.issue_key(conn, account.account_id, label="a", at=AT)
    gone = await accounts.issue_key(conn, account.account_id, label="b", at=AT)
    await accounts.revoke_key(conn, gone.event.key_id, at=LATER)
    (summary,) = await accounts.list_accounts(conn)
    assert (summary.account_id, summary.vehicles, summary.active_keys) == (
        account.account_id,
        1,
        1,
    )
    keys = await accounts.list_keys(conn, account.account_id)
    assert sorted((k.label, k.revoked_at) for k in keys) == [("a", None), ("b", LATER)]
    assert kept.event.key_sha256 not in repr(keys)


async def test_a_chosen_key_is_registered_once_by_its_digest_and_refused_to_another_account(
    conn,
) -> None:
    ada = await accounts.create_account(conn, "ada@example.com", at=AT)
    bob = await accounts.create_account(conn, "bob@example.com", at=AT)
    chosen = "a-key-chosen-for-make-run"

    first = await accounts.register_key(conn, ada.account_id, chosen, label="make run", at=AT)
    again = await accounts.register_key(conn, ada.account_id, chosen, at=LATER)

    assert again == first
    assert (first.account_id, first.key_sha256, first.issued_at) == (
        ada.account_id,
        api_key_sha256(chosen),
        AT,
    )
    assert chosen not in str(await rows(conn, "SELECT * FROM api_keys"))
    with pytest.raises(accounts.InvalidInputError, match="another account"):
        await accounts.register_key(conn, bob.account_id, chosen, at=LATER)
    with pytest.raises(accounts.InvalidInputError, match="at least 16"):
        await accounts.register_key(conn, bob.account_id, "short", at=LATER)
