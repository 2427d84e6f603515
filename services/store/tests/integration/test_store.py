"""The store app against the real broker and a real PostgreSQL database."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tc_common.events import MessageDeadLettered, TelemetrySampled
from tc_common.topics import DEAD_LETTER_V1, TELEMETRY_SAMPLED_V1

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def vins(count: int) -> list[str]:
    token = uuid.uuid4().hex[:10].upper()
    return [f"IT{token}{i:03d}" for i in range(count)]


def samples(vin: str, minutes: range) -> list[TelemetrySampled]:
    return [
        TelemetrySampled(
            vehicle_id=vin,
            sampled_at=T0 + timedelta(minutes=m),
            fetched_at=T0 + timedelta(minutes=m, seconds=3),
            online_state="online",
            battery_level_pct=50.0 + m % 50,
            odometer_km=1000.0 + m,
        )
        for m in minutes
    ]


async def count_rows(helpers, url: str, vehicle_ids: list[str]) -> int:
    rows = await helpers.query(
        url, "SELECT count(*) FROM telemetry WHERE vehicle_id = ANY(%s)", (vehicle_ids,)
    )
    return int(rows[0][0])


async def test_every_distinct_sample_is_stored_once_with_vehicle_spans(
    store_settings, run_store, publish, helpers, database_url
):
    a, b = vins(2)
    distinct = samples(a, range(10)) + samples(b, range(5, 10))
    duplicates = distinct[:4] + distinct[-2:]
    await publish(distinct[:8] + duplicates + distinct[8:])

    async with run_store(store_settings) as store:

        async def all_stored() -> bool:
            return await count_rows(helpers, database_url, [a, b]) == len(distinct)

        await helpers.wait_until(all_stored, what="every sample stored")
        await helpers.wait_until(
            lambda: _metric_at_least(store, "tc_store_duplicates_ignored_total", len(duplicates)),
            what="duplicates seen",
        )
        stored_metric = await store.metric("tc_store_samples_stored_total")

    assert await count_rows(helpers, database_url, [a, b]) == len(distinct)
    assert stored_metric >= len(distinct)
    spans = await helpers.query(
        database_url,
        "SELECT vehicle_id, first_sampled_at, last_sampled_at FROM vehicles "
        "WHERE vehicle_id = ANY(%s) ORDER BY vehicle_id",
        ([a, b],),
    )
    assert spans == [
        (a, T0, T0 + timedelta(minutes=9)),
        (b, T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)),
    ]
    row = await helpers.query(
        database_url,
        "SELECT battery_level_pct, odometer_km, online_state, stored_at IS NOT NULL "
        "FROM telemetry WHERE vehicle_id = %s AND sampled_at = %s",
        (a, T0 + timedelta(minutes=3)),
    )
    assert row == [(53.0, 1003.0, "online", True)]


async def _metric_at_least(store, name: str, value: float) -> bool:
    return await store.metric(name) >= value


async def test_malformed_message_is_dead_lettered_and_later_samples_still_stored(
    kafka, store_settings, run_store, publish, helpers, database_url
):
    (vin,) = vins(1)
    bad_key = f"bad-{vin}".encode()
    malformed = json.dumps({"vehicle_id": vin, "online_state": "online"}).encode()
    good = samples(vin, range(3))
    await publish([good[0], (bad_key, malformed), good[1], good[2]])

    async with run_store(store_settings):

        async def all_good_stored() -> bool:
            return await count_rows(helpers, database_url, [vin]) == len(good)

        await helpers.wait_until(all_good_stored, what="valid samples stored")
        letter = await _dead_letter_with_key(kafka.bootstrap_servers, bad_key)

    assert letter.consumer == "store"
    assert letter.source_topic == TELEMETRY_SAMPLED_V1
    assert "sampled_at" in letter.reason
    assert letter.payload == malformed.decode()


async def _dead_letter_with_key(bootstrap: str, key: bytes) -> MessageDeadLettered:
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
                    if record.key == key:
                        return MessageDeadLettered.model_validate_json(record.value)
    finally:
        await consumer.stop()
    raise AssertionError(f"no dead letter with key {key!r}")


async def test_second_instance_in_the_same_group_resumes_after_committed_offsets(
    kafka, store_settings, run_store, publish, helpers, database_url
):
    (vin,) = vins(1)
    first_batch = samples(vin, range(6))
    await publish(first_batch)
    async with run_store(store_settings):

        async def first_stored() -> bool:
            return await count_rows(helpers, database_url, [vin]) == len(first_batch)

        async def all_committed() -> bool:
            return await _uncommitted(kafka.bootstrap_servers, store_settings.consumer_group) == 0

        await helpers.wait_until(first_stored, what="first batch stored")
        # The topic holds other tests' samples too, on every partition: wait until the group
        # committed all of it, so that whatever the second instance stores is new.
        await helpers.wait_until(all_committed, what="offsets committed to the end")

    # Everything the first instance read from the shared topic (other tests' samples too) is
    # committed now; a restarted instance must see only what came after.
    late = samples(vin, range(100, 101))
    await publish(late)
    async with run_store(store_settings) as second:

        async def late_stored() -> bool:
            return await count_rows(helpers, database_url, [vin]) == len(first_batch) + 1

        await helpers.wait_until(late_stored, what="late sample stored")
        stored = await second.metric("tc_store_samples_stored_total")
        duplicates = await second.metric("tc_store_duplicates_ignored_total")

    assert (stored, duplicates) == (1.0, 0.0)


async def _uncommitted(bootstrap: str, group: str) -> int:
    """Messages on the telemetry topic past the group's committed offsets."""
    # A consumer that never subscribes does not join the group; it only reads its offsets.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()  # loads the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(TELEMETRY_SAMPLED_V1, p)
            for p in consumer.partitions_for_topic(TELEMETRY_SAMPLED_V1) or ()
        ]
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return sum(end - (committed[tp] or 0) for tp, end in ends.items())


async def test_healthz_answers_204_once_broker_and_database_are_up(
    store_settings, run_store, helpers
):
    async with run_store(store_settings) as store:

        async def healthy() -> bool:
            return (await store.get("/healthz")).status_code == 204

        # The broker connects right after the startup hooks, so health turns green shortly.
        await helpers.wait_until(healthy, timeout_s=30, what="healthz 204")
