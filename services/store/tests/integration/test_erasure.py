"""An account's erasure through the real store, broker and PostgreSQL: the store erases its
rows and reports its step; once the forecast's step is in too it blanks the account, and the
account's keys on the compacted topics end in tombstones. The other account is untouched.

The forecast's step is published here by hand (the forecast service's own test covers it)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tc_common.events import AccountChanged, ErasureStepDone
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    API_KEY_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    TELEMETRY_SAMPLED_V1,
    TESSIE_TOKEN_CHANGED_V1,
)
from tc_db import accounts, erasure
from tc_testkit import history
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import consume, dead_letters_of, event_of, first, produce
from tc_testkit.waiting import eventually

from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PER_VEHICLE = (
    "telemetry",
    "drives",
    "charges",
    "behaviour_profile_history",
    "charge_plans",
    "vehicles",
)


async def vehicle_rows(url: str, vin: str) -> dict[str, int]:
    counted = {}
    for table in PER_VEHICLE:
        ((n,),) = await query(url, f"SELECT count(*) FROM {table} WHERE vehicle_id = %s", (vin,))
        counted[table] = n
    return counted


async def everything_in_the_database(url: str) -> str:
    """Every row of every table, as text: what a search for personal data would read."""
    tables = await query(
        url,
        "SELECT quote_ident(table_name) FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    dumped = []
    for (table,) in tables:
        dumped += [row[0] for row in await query(url, f"SELECT t::text FROM {table} t")]
    return "\n".join(dumped)


async def test_erasing_one_of_two_accounts_leaves_nothing_of_it_and_all_of_the_other(
    kafka: Any, store_settings, run_store, database_url: str
) -> None:
    bootstrap = kafka.bootstrap_servers
    tag = uuid.uuid4().hex[:8]
    gone_email, kept_email = f"gone-{tag}@example.org", f"kept-{tag}@example.org"
    gone_vin, kept_vin = f"ER{tag.upper()}GONE0", f"ER{tag.upper()}KEPT0"

    async with run_store(store_settings):
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            gone = await accounts.create_account(conn, gone_email, at=AT)
            kept = await accounts.create_account(conn, kept_email, at=AT)
            await accounts.link_vehicle(conn, gone.account_id, gone_vin, at=AT)
            await accounts.link_vehicle(conn, kept.account_id, kept_vin, at=AT)
            gone_key = await accounts.issue_key(conn, gone.account_id, label="", at=AT)
            await accounts.issue_key(conn, kept.account_id, label="", at=AT)

        for vin in (gone_vin, kept_vin):
            await produce(
                bootstrap,
                TELEMETRY_SAMPLED_V1,
                [telemetry_sample(vin, AT + timedelta(minutes=m)) for m in range(3)],
            )
            await produce(bootstrap, DRIVE_RECORDED_V1, [history.drive(AT, vehicle_id=vin)])
            await produce(bootstrap, CHARGE_RECORDED_V1, [history.charge(AT, vehicle_id=vin)])
            await produce(
                bootstrap, BEHAVIOUR_PROFILE_UPDATED_V1, [history.profile(AT, vehicle_id=vin)]
            )
            await produce(bootstrap, CHARGE_PLAN_PUBLISHED_V1, [history.plan(AT, vehicle_id=vin)])

        async def all_stored() -> bool:
            for vin in (gone_vin, kept_vin):
                if 0 in (await vehicle_rows(database_url, vin)).values():
                    return False
            return True

        await eventually(all_stored, timeout_s=STORE_TIMEOUT_S, what="both cars' rows stored")
        kept_before = await vehicle_rows(database_url, kept_vin)

        # The request, as tc-admin or the API makes it.
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            requested = await erasure.request_erasure(
                conn, gone.account_id, at=AT + timedelta(days=1)
            )
        assert requested.account.vehicle_ids == (gone_vin,)
        assert requested.keys[0].revoked_at is not None
        await produce(bootstrap, ACCOUNT_CHANGED_V1, [requested.account])

        def step_of(step: str) -> Any:
            def keep(record: Any) -> ErasureStepDone | None:
                done = event_of(ErasureStepDone, record)
                ours = done is not None and done.account_id == gone.account_id
                return done if ours and done.step == step else None

            return keep

        store_step = await first(
            bootstrap, ERASURE_STEP_DONE_V1, step_of("store"), timeout_s=STORE_TIMEOUT_S
        )
        assert store_step.requested_at == requested.requested_at
        assert store_step.removed["telemetry"] == 3
        assert store_step.removed[TESSIE_TOKEN_CHANGED_V1] == 1
        assert set((await vehicle_rows(database_url, gone_vin)).values()) == {0}
        ((state,),) = await query(
            database_url, "SELECT state FROM accounts WHERE account_id = %s", (gone.account_id,)
        )
        assert state == "erasure_pending"  # the forecast's step is not in yet

        forecast_step = ErasureStepDone(
            account_id=gone.account_id,
            step="forecast",
            requested_at=requested.requested_at,
            finished_at=AT + timedelta(days=1, seconds=5),
            removed={"forecast.changelog.drives.v1": 1},
        )
        provisioner_step = ErasureStepDone(
            account_id=gone.account_id,
            step="provisioner",
            requested_at=requested.requested_at,
            finished_at=AT + timedelta(days=1, seconds=6),
            removed={"vpn_devices": 0},
        )
        # Twice: a redelivered step changes nothing.
        await produce(bootstrap, ERASURE_STEP_DONE_V1, [forecast_step, forecast_step])
        await asyncio.sleep(2)  # the store has read them: still pending, one step is missing
        ((state,),) = await query(
            database_url, "SELECT state FROM accounts WHERE account_id = %s", (gone.account_id,)
        )
        assert state == "erasure_pending"
        await produce(bootstrap, ERASURE_STEP_DONE_V1, [provisioner_step])

        async def erased() -> bool:
            rows = await query(
                database_url,
                "SELECT state, email FROM accounts WHERE account_id = %s",
                (gone.account_id,),
            )
            return rows == [("erased", "")]

        await eventually(erased, timeout_s=STORE_TIMEOUT_S, what="the account erased")

        def newest_of(key: bytes) -> Any:
            def keep(record: Any) -> tuple[bytes, bytes | None] | None:
                return (record.key, record.value) if record.key == key else None

            return keep

        account_key = str(gone.account_id).encode()
        history_of_key = await consume(
            bootstrap,
            ACCOUNT_CHANGED_V1,
            newest_of(account_key),
            until=lambda got: bool(got) and got[-1][1] is None,
            timeout_s=STORE_TIMEOUT_S,
        )
        assert history_of_key[-1] == (account_key, None)
        states = [AccountChanged.model_validate_json(v).state for _, v in history_of_key if v]
        assert states[-1] == "erased"
        for topic, key in (
            (TESSIE_TOKEN_CHANGED_V1, account_key),
            (API_KEY_CHANGED_V1, str(gone_key.event.key_id).encode()),
        ):
            records = await consume(
                bootstrap, topic, newest_of(key), until=lambda got: bool(got) and got[-1][1] is None
            )
            assert records[-1] == (key, None), topic

        # The forecast's tombstone of the car's profile, then a profile of the other car: the
        # store skips the first (its rows are gone already) without a dead letter.
        await produce(
            bootstrap,
            BEHAVIOUR_PROFILE_UPDATED_V1,
            [
                (gone_vin.encode(), None),
                history.profile(AT + timedelta(hours=1), vehicle_id=kept_vin),
            ],
        )

        async def newer_profile_stored() -> bool:
            rows = await query(
                database_url,
                "SELECT count(*) FROM behaviour_profile_history WHERE vehicle_id = %s",
                (kept_vin,),
            )
            return rows == [(2,)]

        await eventually(newer_profile_stored, timeout_s=STORE_TIMEOUT_S, what="the next profile")
        assert (
            await consume(
                bootstrap,
                DEAD_LETTER_V1,
                dead_letters_of(gone_vin.encode(), BEHAVIOUR_PROFILE_UPDATED_V1),
                until=bool,
                timeout_s=3,
            )
            == []
        )

        # Nothing of the erased account in any row of any table; the other one whole.
        dump = await everything_in_the_database(database_url)
        assert gone_vin not in dump
        assert gone_email.casefold() not in dump.casefold()
        assert kept_vin in dump
        assert kept_email in dump
        assert await vehicle_rows(database_url, kept_vin) == {
            **kept_before,
            "behaviour_profile_history": kept_before["behaviour_profile_history"] + 1,
        }
        ((steps, finished_at),) = await query(
            database_url,
            "SELECT steps, finished_at FROM erasures WHERE account_id = %s",
            (gone.account_id,),
        )
        assert set(steps) == {"store", "forecast", "provisioner"}
        assert finished_at is not None
