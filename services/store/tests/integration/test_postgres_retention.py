"""The telemetry retention policy against a real PostgreSQL (plain mode)."""

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_store.adapters.postgres import PostgresTelemetryRepo
from tc_store.domain import telemetry_row
from tc_store.main import create_app
from tc_store.metrics import StoreMetrics
from tc_store.retention import TelemetryRetention
from tc_store.settings import StoreSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.waiting import eventually

from .support import STORE_TIMEOUT_S, RunningStore, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# Pinned: what is dropped depends on this clock only, never on the wall clock.
NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # a week after the DST change in Europe
DAYS = 30
CUTOFF = NOW - timedelta(days=DAYS)


@pytest.fixture
async def repo(database_url: str) -> AsyncIterator[PostgresTelemetryRepo]:
    repo = PostgresTelemetryRepo(database_url)
    await repo.start()
    try:
        yield repo
    finally:
        await repo.close()


async def save(repo: PostgresTelemetryRepo, vin: str, ages: list[timedelta]) -> None:
    rows = [telemetry_row(telemetry_sample(vin, NOW - age)) for age in ages]
    await repo.save_samples(rows)


async def stored(url: str) -> list[tuple[str, datetime]]:
    rows = await query(url, "SELECT vehicle_id, sampled_at FROM telemetry ORDER BY 1, 2")
    return [(vin, at.astimezone(UTC)) for vin, at in rows]


def policy(repo: PostgresTelemetryRepo, batch_size: int) -> tuple[TelemetryRetention, StoreMetrics]:
    metrics = StoreMetrics.create(CollectorRegistry())
    retention = TelemetryRetention(
        repo,
        FixedClock(NOW),
        retention_days=DAYS,
        dropped=metrics.telemetry_rows_dropped,
        batch_size=batch_size,
    )
    return retention, metrics


async def test_drops_exactly_the_samples_before_the_cutoff(repo, database_url):
    old = [timedelta(days=400), timedelta(days=31), timedelta(days=DAYS, microseconds=1)]
    kept = [timedelta(days=DAYS), timedelta(days=DAYS - 1), timedelta(hours=1), timedelta(0)]
    await save(repo, "A", old + kept)
    await save(repo, "B", [timedelta(days=45), timedelta(days=2)])
    vehicles_before = await query(database_url, "SELECT * FROM vehicles ORDER BY vehicle_id")
    retention, metrics = policy(repo, batch_size=2)

    dropped = await retention.run_once()

    assert dropped == 4
    assert await stored(database_url) == sorted(
        [("A", NOW - age) for age in kept] + [("B", NOW - timedelta(days=2))]
    )
    assert metrics.telemetry_rows_dropped._value.get() == 4
    # The vehicles keep their span: first_sampled_at says when a car was first seen.
    assert await query(database_url, "SELECT * FROM vehicles ORDER BY vehicle_id") == (
        vehicles_before
    )
    # Nothing more is due until the clock moves.
    assert await retention.run_once() == 0
    assert metrics.telemetry_rows_dropped._value.get() == 4


@pytest.mark.parametrize(("old", "batch_size"), [(25, 4), (8, 4), (3, 10), (0, 5)])
async def test_batches_drop_everything_due_however_many(repo, database_url, old, batch_size):
    await save(repo, "A", [timedelta(days=DAYS + 1, minutes=m) for m in range(old)])
    await save(repo, "A", [timedelta(days=DAYS - 1, minutes=m) for m in range(3)])

    assert await repo.drop_telemetry_before(CUTOFF, batch_size=batch_size) == old

    remaining = await stored(database_url)
    assert len(remaining) == 3
    assert all(at >= CUTOFF for _, at in remaining)


async def test_refuses_a_batch_of_nothing(repo):
    with pytest.raises(ValueError, match="batch_size"):
        await repo.drop_telemetry_before(CUTOFF, batch_size=0)


async def test_the_store_runs_the_policy_and_survives_an_outage(kafka, own_postgres, caplog):
    caplog.set_level(logging.INFO, logger="tc_store")
    settings = StoreSettings(
        postgres={"url": own_postgres.url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        consumer_group=f"store-it-{uuid.uuid4().hex[:8]}",
        telemetry_retention_days=DAYS,
        retention_interval_s=0.3,
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
        db_connect_timeout_s=1.0,
    )
    app = create_app(settings, FixedClock(NOW), retention_batch_size=3)
    seeder = PostgresTelemetryRepo(own_postgres.url)
    await seeder.start()
    try:
        await save(seeder, "A", [timedelta(days=DAYS + 1, minutes=m) for m in range(7)])
        await save(seeder, "A", [timedelta(days=1)])
    finally:
        await seeder.close()

    async with LifespanManager(app, startup_timeout=90, shutdown_timeout=30):
        store = RunningStore(app)

        async def dropped(count: int) -> bool:
            return (
                await stored(own_postgres.url) == [("A", NOW - timedelta(days=1))]
                and await store.metric("tc_store_telemetry_rows_dropped_total") == count
            )

        await eventually(lambda: dropped(7), timeout_s=STORE_TIMEOUT_S, what="7 rows dropped")

        own_postgres.stop()
        caplog.clear()

        await eventually(
            lambda: "telemetry retention step failed" in caplog.text,
            timeout_s=STORE_TIMEOUT_S,
            what="the failed run logged",
        )
        own_postgres.start()
        # The service is still running its policy: rows that come due are dropped next run.
        seeder = PostgresTelemetryRepo(own_postgres.url)
        await seeder.start()
        try:
            await save(seeder, "B", [timedelta(days=90), timedelta(days=89)])
        finally:
            await seeder.close()

        await eventually(lambda: dropped(9), timeout_s=STORE_TIMEOUT_S, what="2 more dropped")
        assert (await store.get("/livez")).status_code == 204
