"""The store app stores drives, charges, behaviour profiles and charge plans from the real
broker into a real PostgreSQL. Each test works on a vehicle id of its own (the topics are
shared by every test of the session)."""

import hashlib
import json
import uuid
from datetime import timedelta

import pytest

from tc_common.events import MessageDeadLettered
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
)
from tc_testkit import history
from tc_testkit.events import AT
from tc_testkit.kafka import event_of, first, produce
from tc_testkit.waiting import eventually

from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def own_vin() -> str:
    return f"IT{uuid.uuid4().hex[:15].upper()}"


async def test_history_profiles_and_plans_published_to_the_broker_are_stored(
    kafka, store_settings, run_store, database_url
) -> None:
    vin = own_vin()
    day = timedelta(days=1)
    drives = [history.drive(AT + i * day, vehicle_id=vin, drive_id=i) for i in range(3)]
    charges = [history.charge(AT + i * day, vehicle_id=vin, charge_id=i) for i in (1, 2)]
    newer = history.profile(AT + day, vehicle_id=vin, days_observed=15)
    older = history.profile(AT, vehicle_id=vin, days_observed=14)
    plan = history.plan(AT + day, vehicle_id=vin, slots=3)
    broken_drive = json.dumps({"vehicle_id": vin, "drive_id": 99}).encode()
    digest = hashlib.sha256(broken_drive).hexdigest()
    bootstrap = kafka.bootstrap_servers
    await produce(bootstrap, DRIVE_RECORDED_V1, [*drives, (b"bad", broken_drive), drives[0]])
    await produce(bootstrap, CHARGE_RECORDED_V1, charges)
    # Same key, so kept in this order: the older profile arrives last.
    await produce(bootstrap, BEHAVIOUR_PROFILE_UPDATED_V1, [newer, older])
    await produce(bootstrap, CHARGE_PLAN_PUBLISHED_V1, [plan])

    async def counts() -> tuple[int, ...]:
        ((*found,),) = await query(
            database_url,
            "SELECT (SELECT count(*) FROM drives WHERE vehicle_id = %(v)s),"
            " (SELECT count(*) FROM charges WHERE vehicle_id = %(v)s),"
            " (SELECT count(*) FROM behaviour_profile_history WHERE vehicle_id = %(v)s),"
            " (SELECT count(*) FROM charge_plans WHERE vehicle_id = %(v)s)",
            {"v": vin},
        )
        return tuple(int(c) for c in found)

    async with run_store(store_settings):

        async def all_stored() -> bool:
            return await counts() == (3, 2, 2, 1)

        await eventually(
            all_stored, timeout_s=STORE_TIMEOUT_S, what="drives, charges, profiles and the plan"
        )
        letter = await first(
            bootstrap,
            DEAD_LETTER_V1,
            # The letter carries no VIN: it is recognised by the digest of the body.
            lambda r: (
                e if (e := event_of(MessageDeadLettered, r)) and e.body_sha256 == digest else None
            ),
            timeout_s=STORE_TIMEOUT_S,
            what=f"a dead letter about {vin}",
        )

    assert letter.source_topic == DRIVE_RECORDED_V1
    assert "started_at" in letter.reason
    latest = await query(
        database_url,
        "SELECT days_observed, learning_state FROM behaviour_profiles WHERE vehicle_id = %s",
        (vin,),
    )
    assert latest == [(15, "ready")]
    stored_plan = await query(
        database_url,
        "SELECT jsonb_array_length(event -> 'slots'), first_slot_start_at FROM charge_plans "
        "WHERE vehicle_id = %s",
        (vin,),
    )
    assert stored_plan == [(3, plan.slots[0].start_at)]
    stored_drives = await query(
        database_url,
        "SELECT drive_id, started_at FROM drives WHERE vehicle_id = %s ORDER BY drive_id",
        (vin,),
    )
    assert stored_drives == [(d.drive_id, d.started_at) for d in drives]
