"""Handler wiring with the in-memory broker and a fake repository."""

import json

import psycopg
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.messaging import build_broker
from tc_common.settings import KafkaSettings
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_store.adapters.postgres import FAILURES
from tc_store.handlers import build_router
from tc_store.metrics import StoreMetrics
from tc_testkit.events import telemetry_sample

from .support import QUICK_FAILURES, dead_letters


@pytest.fixture
def broker(fake_repo, registry) -> KafkaBroker:
    broker = build_broker(
        KafkaSettings(), service="store", registry=registry, failures=QUICK_FAILURES
    )
    broker.include_router(build_router(fake_repo, StoreMetrics.create(registry), group_id="store"))
    return broker


def counter(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value(f"tc_store_{name}_total") or 0.0


async def test_sample_is_saved_as_one_row_and_counted(broker, fake_repo, registry):
    event = telemetry_sample()
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(event, TELEMETRY_SAMPLED_V1, key=event.kafka_key())
    assert list(fake_repo.rows) == [(event.vehicle_id, event.sampled_at)]
    assert counter(registry, "samples_stored") == 1
    assert counter(registry, "duplicates_ignored") == 0


async def test_repeated_sample_is_counted_as_duplicate(broker, fake_repo, registry):
    event = telemetry_sample()
    async with TestKafkaBroker(broker) as test_broker:
        for _ in range(3):
            await test_broker.publish(event, TELEMETRY_SAMPLED_V1, key=event.kafka_key())
    assert len(fake_repo.rows) == 1
    assert counter(registry, "samples_stored") == 1
    assert counter(registry, "duplicates_ignored") == 2


async def test_message_without_sampled_at_is_dead_lettered_not_saved(broker, fake_repo, registry):
    received = dead_letters(broker)

    body = json.dumps({"vehicle_id": "5YJ3E7EB0KF000001", "online_state": "online"})
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(body.encode(), TELEMETRY_SAMPLED_V1, key=b"5YJ3E7EB0KF000001")
    assert fake_repo.calls == []
    assert len(received) == 1
    assert received[0].consumer == "store"
    assert received[0].source_topic == TELEMETRY_SAMPLED_V1
    assert "sampled_at" in received[0].reason
    assert counter(registry, "samples_stored") == 0


async def test_sample_the_database_can_never_store_is_dead_lettered(broker, fake_repo):
    received = dead_letters(broker)

    bad = telemetry_sample("5YJ3\x00NUL")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(bad, TELEMETRY_SAMPLED_V1, key=b"x")
    assert fake_repo.calls == []
    assert [letter.reason for letter in received] == [
        "event: Value error, vehicle_id contains a NUL character"
    ]


async def test_an_unexpected_repository_error_is_retried_then_dead_lettered_with_its_reason(
    broker, fake_repo
):
    received = dead_letters(broker)
    fake_repo.fail_with = RuntimeError("disk full")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(telemetry_sample(), TELEMETRY_SAMPLED_V1)
    assert fake_repo.rows == {}
    assert [letter.reason for letter in received] == [
        f"RuntimeError: disk full (failed {FAILURES.max_attempts} times)"
    ]


async def test_a_database_outage_is_waited_out_and_nothing_is_dead_lettered(broker, fake_repo):
    received = dead_letters(broker)
    fake_repo.fail_with = psycopg.OperationalError("connection refused")
    fake_repo.fail_times = FAILURES.max_attempts + 1  # more than an unknown error would get
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(telemetry_sample(), TELEMETRY_SAMPLED_V1)
    assert len(fake_repo.rows) == 1
    assert received == []


async def test_a_value_the_database_refuses_is_dead_lettered_at_once(broker, fake_repo):
    received = dead_letters(broker)
    fake_repo.fail_with = psycopg.errors.NumericValueOutOfRange("value out of range")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(telemetry_sample(), TELEMETRY_SAMPLED_V1)
    assert [letter.reason for letter in received] == ["NumericValueOutOfRange: value out of range"]
