"""The store app stores drives, charges, behaviour profiles and charge plans from the real
broker into a real PostgreSQL. Each test works on a vehicle id of its own (the topics are
shared by every test of the session)."""

import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker

from tc_common.events import Event, MessageDeadLettered
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def own_vin() -> str:
    return f"IT{uuid.uuid4().hex[:15].upper()}"


async def publish(bootstrap: str, messages: Iterable[tuple[str, Event | bytes]]) -> None:
    async with KafkaBroker(bootstrap) as broker:
        for topic, message in messages:
            if isinstance(message, Event):
                await broker.publish(message, topic, key=message.kafka_key())
            else:
                await broker.publish(message, topic, key=b"bad")


async def dead_letter_about(bootstrap: str, vin: str) -> MessageDeadLettered:
    consumer = AIOKafkaConsumer(
        DEAD_LETTER_V1,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    letter = MessageDeadLettered.model_validate_json(record.value or b"")
                    if vin in letter.payload:
                        return letter
    finally:
        await consumer.stop()
    raise AssertionError(f"no dead letter about {vin}")


async def test_history_profiles_and_plans_published_to_the_broker_are_stored(
    vehicle_events, kafka, store_settings, run_store, helpers, database_url
) -> None:
    vin = own_vin()
    ev = vehicle_events
    day = timedelta(days=1)
    drives = [ev.drive(vehicle_id=vin, drive_id=i, start=ev.MORNING + i * day) for i in range(3)]
    charges = [ev.charge(vehicle_id=vin, charge_id=i, start=ev.MORNING + i * day) for i in (1, 2)]
    newer = ev.profile(vehicle_id=vin, computed_at=ev.MORNING + day, days_observed=15)
    older = ev.profile(vehicle_id=vin, computed_at=ev.MORNING, days_observed=14)
    plan = ev.plan(vehicle_id=vin, issued_at=ev.MORNING + day, slots=3)
    broken_drive = json.dumps({"vehicle_id": vin, "drive_id": 99}).encode()
    await publish(
        kafka.bootstrap_servers,
        [(DRIVE_RECORDED_V1, d) for d in drives]
        + [(DRIVE_RECORDED_V1, broken_drive), (DRIVE_RECORDED_V1, drives[0])]
        + [(CHARGE_RECORDED_V1, c) for c in charges]
        # Same key, so kept in this order: the older profile arrives last.
        + [(BEHAVIOUR_PROFILE_UPDATED_V1, newer), (BEHAVIOUR_PROFILE_UPDATED_V1, older)]
        + [(CHARGE_PLAN_PUBLISHED_V1, plan)],
    )

    async def counts() -> tuple[int, ...]:
        ((*found,),) = await helpers.query(
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

        await helpers.wait_until(all_stored, what="drives, charges, profiles and the plan")
        letter = await dead_letter_about(kafka.bootstrap_servers, vin)

    assert letter.source_topic == DRIVE_RECORDED_V1
    assert "started_at" in letter.reason
    latest = await helpers.query(
        database_url,
        "SELECT days_observed, learning_state FROM behaviour_profiles WHERE vehicle_id = %s",
        (vin,),
    )
    assert latest == [(15, "ready")]
    stored_plan = await helpers.query(
        database_url,
        "SELECT jsonb_array_length(event -> 'slots'), first_slot_start_at FROM charge_plans "
        "WHERE vehicle_id = %s",
        (vin,),
    )
    assert stored_plan == [(3, plan.slots[0].start_at)]
    stored_drives = await helpers.query(
        database_url,
        "SELECT drive_id, started_at FROM drives WHERE vehicle_id = %s ORDER BY drive_id",
        (vin,),
    )
    assert stored_drives == [(d.drive_id, d.started_at) for d in drives]
