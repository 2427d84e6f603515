"""Drive, charge, profile and plan handlers with the in-memory broker and fake repositories."""

import json
from datetime import timedelta

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.events import Event, VehicleActivityObserved
from tc_common.messaging import build_broker
from tc_common.settings import KafkaSettings
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
)
from tc_store import domain
from tc_store.handlers import build_market_router
from tc_store.metrics import StoreMetrics
from tc_testkit.events import AT, VIN
from tc_testkit.history import charge, drive, plan, profile

from .support import QUICK_FAILURES, FakeHistoryRepo, FakeMarketRepo, dead_letters, rows_metric


@pytest.fixture
def repo() -> FakeHistoryRepo:
    return FakeHistoryRepo()


@pytest.fixture
def broker(repo: FakeHistoryRepo, registry: CollectorRegistry) -> KafkaBroker:
    broker = build_broker(
        KafkaSettings(), service="store", registry=registry, failures=QUICK_FAILURES
    )
    broker.include_router(
        build_market_router(FakeMarketRepo(), repo, StoreMetrics.create(registry), group_id="store")
    )
    return broker


@pytest.mark.parametrize(
    ("topic", "event", "method", "table", "row"),
    [
        pytest.param(DRIVE_RECORDED_V1, drive(), "drives", "drives", domain.drive_row, id="drive"),
        pytest.param(
            CHARGE_RECORDED_V1, charge(), "charges", "charges", domain.charge_row, id="charge"
        ),
        pytest.param(
            BEHAVIOUR_PROFILE_UPDATED_V1,
            profile(),
            "behaviour_profile",
            "behaviour_profiles",
            domain.profile_row,
            id="profile",
        ),
        pytest.param(
            CHARGE_PLAN_PUBLISHED_V1,
            plan(),
            "charge_plan",
            "charge_plans",
            domain.plan_row,
            id="plan",
        ),
        pytest.param(
            VEHICLE_ACTIVITY_OBSERVED_V1,
            VehicleActivityObserved(
                vehicle_id=VIN, activity="asleep", since=AT - timedelta(hours=2), observed_at=AT
            ),
            "activity",
            "vehicle_activity",
            domain.activity_row,
            id="activity",
        ),
    ],
)
async def test_each_event_is_written_as_its_row_and_a_redelivery_counts_as_unchanged(
    broker, repo, registry, topic: str, event: Event, method, table, row
) -> None:
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(event, topic, key=event.kafka_key())
        await test_broker.publish(event, topic, key=event.kafka_key())

    assert repo.calls == [(method, [row(event)]), (method, [row(event)])]
    assert rows_metric(registry, "written", table) == 1
    assert rows_metric(registry, "unchanged", table) == 1


def test_a_plan_row_keeps_the_whole_event_and_its_first_slot() -> None:
    event = plan(slots=3)

    row = domain.plan_row(event)

    assert type(event).model_validate_json(row.event) == event
    assert row.first_slot_start_at == event.slots[0].start_at
    assert domain.plan_row(plan(slots=0)).first_slot_start_at is None


def test_a_profile_row_keeps_the_whole_event() -> None:
    event = profile(days_observed=20)

    row = domain.profile_row(event)

    assert type(event).model_validate_json(row.event) == event
    assert (row.learning_state, row.days_until_ready, row.days_until_fully_trained) == (
        "ready",
        0,
        10,
    )


async def test_a_drive_without_its_id_is_dead_lettered_and_the_next_one_stored(
    broker, repo
) -> None:
    received = dead_letters(broker)
    broken = drive().model_dump(mode="json")
    del broken["drive_id"]

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(json.dumps(broken).encode(), DRIVE_RECORDED_V1)
        await test_broker.publish(drive(drive_id=2), DRIVE_RECORDED_V1)

    assert [(r.consumer, r.source_topic) for r in received] == [("store", DRIVE_RECORDED_V1)]
    assert "drive_id" in received[0].reason
    assert repo.calls == [("drives", [domain.drive_row(drive(drive_id=2))])]


@pytest.mark.parametrize(
    ("topic", "event", "reason"),
    [
        pytest.param(
            BEHAVIOUR_PROFILE_UPDATED_V1,
            profile(summary="day 3\x00 of 14"),
            "summary contains a NUL character",
            id="nul-in-profile-summary",
        ),
        pytest.param(
            CHARGE_PLAN_PUBLISHED_V1,
            plan(reason="cheap\x00"),
            "reason contains a NUL character",
            id="nul-in-plan-reason",
        ),
    ],
)
async def test_events_the_database_would_refuse_forever_are_dead_lettered(
    broker, repo, topic: str, event: Event, reason: str
) -> None:
    received = dead_letters(broker)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(event, topic, key=event.kafka_key())

    assert repo.calls == []
    assert len(received) == 1
    assert reason in received[0].reason


async def test_an_unexpected_repository_error_is_retried_then_dead_lettered(broker, repo) -> None:
    received = dead_letters(broker)
    repo.fail_with = RuntimeError("disk full")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(plan(), CHARGE_PLAN_PUBLISHED_V1)

    assert repo.calls == []
    assert [letter.reason for letter in received] == [
        f"RuntimeError: disk full (failed {QUICK_FAILURES.max_attempts} times)"
    ]


def test_every_history_table_is_exported_from_the_start(registry) -> None:
    StoreMetrics.create(registry)

    assert registry.get_sample_value("tc_store_rows_written_total", {"table": "drives"}) == 0.0
    assert rows_metric(registry, "unchanged", "charge_plans") == 0.0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"activity": "parked"}, "activity"),
        ({"since": (AT + timedelta(minutes=1)).isoformat()}, "since must not be after observed_at"),
    ],
    ids=["unknown-activity", "starts-after-it-was-seen"],
)
async def test_an_activity_that_breaks_its_contract_is_dead_lettered_and_the_next_stored(
    broker, repo, change: dict[str, str], reason: str
) -> None:
    received = dead_letters(broker)
    good = VehicleActivityObserved(vehicle_id=VIN, activity="awake", since=AT, observed_at=AT)
    broken = {**good.model_dump(mode="json"), **change}

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(json.dumps(broken).encode(), VEHICLE_ACTIVITY_OBSERVED_V1)
        await test_broker.publish(good, VEHICLE_ACTIVITY_OBSERVED_V1, key=good.kafka_key())

    assert [r.source_topic for r in received] == [VEHICLE_ACTIVITY_OBSERVED_V1]
    assert reason in received[0].reason
    assert repo.calls == [("activity", [domain.activity_row(good)])]


async def test_a_charge_that_ends_before_it_starts_is_dead_lettered(broker, repo) -> None:
    # The schema refuses it (the table's CHECK would): it can only arrive as raw JSON.
    received = dead_letters(broker)
    body = {**charge(AT).model_dump(mode="json"), "ended_at": (AT - timedelta(hours=1)).isoformat()}

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(json.dumps(body).encode(), CHARGE_RECORDED_V1)

    assert repo.calls == []
    assert len(received) == 1
    assert "ended_at must not be before started_at" in received[0].reason
