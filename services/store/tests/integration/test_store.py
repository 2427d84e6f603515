"""The store app against the real broker and a real PostgreSQL database."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tc_common.events import TelemetrySampled
from tc_common.topics import DEAD_LETTER_V1, TELEMETRY_SAMPLED_V1
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import dead_letters_of, first
from tc_testkit.waiting import eventually

from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def vins(count: int) -> list[str]:
    token = uuid.uuid4().hex[:10].upper()
    return [f"IT{token}{i:03d}" for i in range(count)]


def samples(vin: str, minutes: range) -> list[TelemetrySampled]:
    return [
        telemetry_sample(
            vin, T0 + timedelta(minutes=m), battery_level_pct=50.0 + m % 50, odometer_km=1000.0 + m
        )
        for m in minutes
    ]


async def count_rows(url: str, vehicle_ids: list[str]) -> int:
    rows = await query(
        url, "SELECT count(*) FROM telemetry WHERE vehicle_id = ANY(%s)", (vehicle_ids,)
    )
    return int(rows[0][0])


async def test_every_distinct_sample_is_stored_once_with_vehicle_spans(
    store_settings, run_store, publish, database_url
):
    a, b = vins(2)
    distinct = samples(a, range(10)) + samples(b, range(5, 10))
    duplicates = distinct[:4] + distinct[-2:]
    await publish(distinct[:8] + duplicates + distinct[8:])

    async with run_store(store_settings) as store:

        async def all_stored() -> bool:
            return await count_rows(database_url, [a, b]) == len(distinct)

        await eventually(all_stored, timeout_s=STORE_TIMEOUT_S, what="every sample stored")
        await eventually(
            lambda: _metric_at_least(store, "tc_store_duplicates_ignored_total", len(duplicates)),
            timeout_s=STORE_TIMEOUT_S,
            what="duplicates seen",
        )
        stored_metric = await store.metric("tc_store_samples_stored_total")

    assert await count_rows(database_url, [a, b]) == len(distinct)
    assert stored_metric >= len(distinct)
    spans = await query(
        database_url,
        "SELECT vehicle_id, first_sampled_at, last_sampled_at FROM vehicles "
        "WHERE vehicle_id = ANY(%s) ORDER BY vehicle_id",
        ([a, b],),
    )
    assert spans == [
        (a, T0, T0 + timedelta(minutes=9)),
        (b, T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)),
    ]
    row = await query(
        database_url,
        "SELECT battery_level_pct, odometer_km, online_state, stored_at IS NOT NULL "
        "FROM telemetry WHERE vehicle_id = %s AND sampled_at = %s",
        (a, T0 + timedelta(minutes=3)),
    )
    assert row == [(53.0, 1003.0, "online", True)]


async def _metric_at_least(store, name: str, value: float) -> bool:
    return await store.metric(name) >= value


async def test_malformed_message_is_dead_lettered_and_later_samples_still_stored(
    kafka, store_settings, run_store, publish, database_url
):
    (vin,) = vins(1)
    bad_key = f"bad-{vin}".encode()
    malformed = json.dumps({"vehicle_id": vin, "online_state": "online"}).encode()
    good = samples(vin, range(3))
    await publish([good[0], (bad_key, malformed), good[1], good[2]])

    async with run_store(store_settings):

        async def all_good_stored() -> bool:
            return await count_rows(database_url, [vin]) == len(good)

        await eventually(all_good_stored, timeout_s=STORE_TIMEOUT_S, what="valid samples stored")
        letter = await first(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            dead_letters_of(bad_key),
            timeout_s=STORE_TIMEOUT_S,
            what=f"a dead letter with key {bad_key!r}",
        )

    assert letter.consumer == "store"
    assert letter.source_topic == TELEMETRY_SAMPLED_V1
    assert "sampled_at" in letter.reason
    assert letter.payload == "{vehicle_id: string(15), online_state: string(6)}"
    assert letter.body_sha256 == hashlib.sha256(malformed).hexdigest()


async def test_second_instance_in_the_same_group_resumes_after_committed_offsets(
    kafka, store_settings, run_store, publish, database_url
):
    (vin,) = vins(1)
    first_batch = samples(vin, range(6))
    await publish(first_batch)
    async with run_store(store_settings):

        async def first_stored() -> bool:
            return await count_rows(database_url, [vin]) == len(first_batch)

        async def all_committed() -> bool:
            return await _uncommitted(kafka.bootstrap_servers, store_settings.consumer_group) == 0

        await eventually(first_stored, timeout_s=STORE_TIMEOUT_S, what="first batch stored")
        # The topic holds other tests' samples too, on every partition: wait until the group
        # committed all of it, so that whatever the second instance stores is new.
        await eventually(
            all_committed, timeout_s=STORE_TIMEOUT_S, what="offsets committed to the end"
        )

    # Everything the first instance read from the shared topic (other tests' samples too) is
    # committed now; a restarted instance must see only what came after.
    late = samples(vin, range(100, 101))
    await publish(late)
    async with run_store(store_settings) as second:

        async def late_stored() -> bool:
            return await count_rows(database_url, [vin]) == len(first_batch) + 1

        await eventually(late_stored, timeout_s=STORE_TIMEOUT_S, what="late sample stored")
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


async def test_healthz_answers_204_once_broker_and_database_are_up(store_settings, run_store):
    async with run_store(store_settings) as store:

        async def healthy() -> bool:
            return (await store.get("/healthz")).status_code == 204

        # The broker connects right after the startup hooks, so health turns green shortly:
        # ~7 s alone, but past 30 s in some loaded full runs (a connection retried meanwhile).
        await eventually(healthy, timeout_s=90, what="healthz 204")
