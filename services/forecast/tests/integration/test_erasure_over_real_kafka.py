"""The forecast service's part of erasing an account (issue 11), over a real broker.

Two cars of two accounts are learnt and planned; the first account's erasure must leave a
tombstone as the newest record of every key of its car on the compacted topics the service
owns, report the step with counts, publish nothing more of that car (though its samples are
still in flight), leave the other car alone, survive a redelivered request, and not bring the
car back on a restart.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from asgi_lifespan import LifespanManager

from tc_common.clock import ShiftedClock
from tc_common.events import (
    AccountChanged,
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ErasureStepDone,
    TelemetrySampled,
)
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_devstack import LocalKafka
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import Record, consume, event_of, first, keyed, options_of, produce
from tc_testkit.market import spot_prices
from tc_testkit.moments import SATURDAY_AFTERNOON

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

COMPACTED = (
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
)


@pytest.fixture
def own_kafka() -> Iterator[LocalKafka]:
    """A broker of this test's own: the app is restarted on it."""
    with LocalKafka() as broker:
        yield broker


@contextlib.asynccontextmanager
async def forecast_service(kafka: LocalKafka, clock: ShiftedClock) -> AsyncIterator[None]:
    settings = ForecastSettings(
        # The restarted app joins the groups its predecessor just left (see
        # test_vehicle_memory_survives_restart.py): these handlers never take 20 s.
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 20_000},
        behaviour_debounce_s=0.5,
        plan_tick_s=0.2,
        plan_startup_grace_s=0,
    )
    async with LifespanManager(
        create_app(settings, clock=clock), startup_timeout=60, shutdown_timeout=30
    ):
        yield


async def newest_values(bootstrap: str, topic: str) -> dict[bytes, bytes | None]:
    """The newest value of every key of ``topic`` now: what compaction will keep."""
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **options_of(bootstrap))
    await consumer.start()
    newest: dict[bytes, bytes | None] = {}
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer.topics()
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
        end = await consumer.end_offsets(partitions)
        left = [p for p in partitions if end[p] > 0]
        consumer.assign(left)
        await consumer.seek_to_beginning(*left)
        async with asyncio.timeout(30):
            while left:
                batch = await consumer.getmany(*left, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        newest[record.key] = record.value
                left = [p for p in left if await consumer.position(p) < end[p]]
    finally:
        await consumer.stop()
    return newest


def account(vin: str, state: str, clock: ShiftedClock, account_id: uuid.UUID) -> AccountChanged:
    return AccountChanged.model_validate(
        {
            "account_id": account_id,
            "email": f"{state}@example.invalid",
            "state": state,
            "vehicle_ids": [vin],
            "created_at": clock.now() - timedelta(days=40),
            "changed_at": clock.now(),
            "reason": f"{state} by an operator",
        }
    )


def of_vin_after(
    model: type[BehaviourProfileUpdated] | type[ChargePlanPublished], vin: str, since_s: float
) -> Callable[[Record], object | None]:
    def pick(record: Record) -> object | None:
        if record.key != vin.encode() or record.timestamp / 1000 < since_s:
            return None
        return event_of(model, record)

    return pick


async def test_an_accounts_erasure_tombstones_forgets_and_reports_its_car_only(
    own_kafka: LocalKafka,
) -> None:
    clock = ShiftedClock.starting_at(SATURDAY_AFTERNOON.at)
    now = clock.now()
    tag = uuid.uuid4().hex[:11].upper()
    erased, kept = Commuter(vehicle_id=f"ERA{tag}"), Commuter(vehicle_id=f"KEP{tag}")
    erased_account, kept_account = uuid.uuid4(), uuid.uuid4()
    bootstrap = own_kafka.bootstrap_servers
    histories = {
        car.vehicle_id: commuter_history(now.date() - timedelta(days=20), 21, car=car)
        for car in (erased, kept)
    }

    def sample(car: Commuter, level_pct: float) -> TelemetrySampled:
        return telemetry_sample(
            car.vehicle_id,
            clock.now(),
            battery_level_pct=level_pct,
            charge_limit_pct=80.0,
            charging_state="Stopped",
            latitude_deg=car.home[0],
            longitude_deg=car.home[1],
        )

    async with forecast_service(own_kafka, clock):
        for drives, charges in histories.values():
            await produce(bootstrap, DRIVE_RECORDED_V1, [d for d in drives if d.ended_at <= now])
            await produce(bootstrap, CHARGE_RECORDED_V1, [c for c in charges if c.ended_at <= now])
        await produce(
            bootstrap,
            ACCOUNT_CHANGED_V1,
            [
                account(erased.vehicle_id, "active", clock, erased_account),
                account(kept.vehicle_id, "active", clock, kept_account),
            ],
        )
        today = now.date()
        await produce(
            bootstrap,
            SPOT_PRICES_PUBLISHED_V1,
            [spot_prices(today), spot_prices(today + timedelta(days=1))],
        )
        for car in (erased, kept):
            await first(
                bootstrap,
                BEHAVIOUR_PROFILE_UPDATED_V1,
                keyed(car.vehicle_id.encode(), BehaviourProfileUpdated),
                timeout_s=90,  # group joins, then learning
                what=f"a profile of {car.vehicle_id}",
            )
        await produce(bootstrap, TELEMETRY_SAMPLED_V1, [sample(erased, 30.0), sample(kept, 30.0)])
        for car in (erased, kept):
            await first(
                bootstrap,
                CHARGE_PLAN_PUBLISHED_V1,
                keyed(car.vehicle_id.encode(), ChargePlanPublished),
                what=f"a plan of {car.vehicle_id}",
            )

        erasure = account(erased.vehicle_id, "erasure_pending", clock, erased_account)
        await produce(bootstrap, ACCOUNT_CHANGED_V1, [erasure])
        done = await first(
            bootstrap,
            ERASURE_STEP_DONE_V1,
            keyed(erasure.kafka_key(), ErasureStepDone),
            what="the forecast step's report",
        )
        erased_at_s = time.time()  # broker timestamps are wall-clock, not the pinned clock

        # Still in flight: a sample of the erased car; the kept car's plugs in lower.
        await produce(bootstrap, TELEMETRY_SAMPLED_V1, [sample(erased, 20.0), sample(kept, 20.0)])
        replanned = await first(
            bootstrap,
            CHARGE_PLAN_PUBLISHED_V1,
            of_vin_after(ChargePlanPublished, kept.vehicle_id, erased_at_s),
            what="a re-plan of the kept car after the erasure",
        )

        # A redelivered request: tombstoned and reported again.
        await produce(bootstrap, ACCOUNT_CHANGED_V1, [erasure])
        reports = await consume(
            bootstrap,
            ERASURE_STEP_DONE_V1,
            keyed(erasure.kafka_key(), ErasureStepDone),
            until=lambda found: len(found) >= 2,
        )
        newest = {topic: await newest_values(bootstrap, topic) for topic in COMPACTED}

    drives, charges = histories[erased.vehicle_id]
    n_drives = sum(d.ended_at <= now for d in drives)
    n_charges = sum(c.ended_at <= now for c in charges)
    assert (done.step, done.account_id, done.requested_at) == (
        "forecast",
        erased_account,
        erasure.changed_at,
    )
    assert done.removed[FORECAST_DRIVES_CHANGELOG_V1] == n_drives
    assert done.removed[FORECAST_CHARGES_CHANGELOG_V1] == n_charges
    assert done.removed[FORECAST_VEHICLES_CHANGELOG_V1] == 1
    assert done.removed[BEHAVIOUR_PROFILE_UPDATED_V1] == 1
    assert (done.removed["memory.drives"], done.removed["memory.plans"]) == (n_drives, 1)
    assert len(reports) == 2, "the redelivered request was not reported again"
    assert reports[1].removed[FORECAST_DRIVES_CHANGELOG_V1] == n_drives

    def keys_of(vin: str, topic: str) -> dict[bytes, bytes | None]:
        return {
            k: v
            for k, v in newest[topic].items()
            if k == vin.encode() or k.startswith(f"{vin}/".encode())
        }

    for topic in COMPACTED:
        gone, still = keys_of(erased.vehicle_id, topic), keys_of(kept.vehicle_id, topic)
        assert gone, f"no key of the erased car on {topic}"
        assert all(v is None for v in gone.values()), f"a key of the erased car left on {topic}"
        assert still, f"no key of the kept car on {topic}"
        assert all(v is not None for v in still.values()), f"the kept car tombstoned on {topic}"
    assert len(keys_of(erased.vehicle_id, FORECAST_DRIVES_CHANGELOG_V1)) == n_drives
    assert replanned is not None

    published_after = await consume(
        bootstrap,
        [BEHAVIOUR_PROFILE_UPDATED_V1, CHARGE_PLAN_PUBLISHED_V1],
        lambda r: r if r.key == erased.vehicle_id.encode() and r.value is not None else None,
        until=lambda _: False,
        timeout_s=3,
    )
    assert [r for r in published_after if r.timestamp / 1000 >= erased_at_s] == []

    # A restart reads the changelogs whole, tombstones included: the erased car stays gone.
    restarted_at_s = time.time()
    async with forecast_service(own_kafka, clock):
        await first(
            bootstrap,
            BEHAVIOUR_PROFILE_UPDATED_V1,
            of_vin_after(BehaviourProfileUpdated, kept.vehicle_id, restarted_at_s),
            timeout_s=90,
            what="the kept car's profile, relearnt after the restart",
        )
        await produce(bootstrap, TELEMETRY_SAMPLED_V1, [sample(kept, 10.0)])
        await first(
            bootstrap,
            CHARGE_PLAN_PUBLISHED_V1,
            of_vin_after(ChargePlanPublished, kept.vehicle_id, restarted_at_s),
            what="the kept car's plan after the restart",
        )
    resurrected = await consume(
        bootstrap,
        [BEHAVIOUR_PROFILE_UPDATED_V1, CHARGE_PLAN_PUBLISHED_V1, FORECAST_VEHICLES_CHANGELOG_V1],
        lambda r: r if r.key == erased.vehicle_id.encode() and r.value is not None else None,
        until=lambda _: False,
        timeout_s=3,
    )
    assert [r for r in resurrected if r.timestamp / 1000 >= erased_at_s] == []
    letters = await consume(
        bootstrap, DEAD_LETTER_V1, lambda r: r, until=lambda _: False, timeout_s=3
    )
    assert letters == [], "a tombstone was dead-lettered"
