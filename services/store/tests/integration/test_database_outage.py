"""A database outage mid-stream: the store waits for the database, loses and doubles nothing."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events import TelemetrySampled
from tc_store.settings import StoreSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.waiting import eventually

from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def samples(vin: str, minutes: range) -> list[TelemetrySampled]:
    return [telemetry_sample(vin, T0 + timedelta(minutes=m), battery_level_pct=m) for m in minutes]


async def test_database_outage_loses_nothing_and_stores_nothing_twice(
    kafka, own_postgres, consumer_group, run_store, publish, caplog
):
    caplog.set_level(logging.WARNING, logger="tc_store")
    vin = f"OUT{uuid.uuid4().hex[:12].upper()}"
    settings = StoreSettings(
        postgres={"url": own_postgres.url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        consumer_group=consumer_group,
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
        db_connect_timeout_s=1.0,
    )
    before, during = samples(vin, range(5)), samples(vin, range(5, 10))

    async def stored() -> int:
        rows = await query(
            own_postgres.url, "SELECT count(*) FROM telemetry WHERE vehicle_id = %s", (vin,)
        )
        return int(rows[0][0])

    await publish(before)
    async with run_store(settings) as store:

        async def before_stored() -> bool:
            return await stored() == len(before)

        await eventually(
            before_stored, timeout_s=STORE_TIMEOUT_S, what="samples before the outage stored"
        )

        own_postgres.stop()
        await publish(during + before[:2])

        async def retrying() -> bool:
            return await store.metric("tc_store_db_retries_total") >= 3

        await eventually(
            retrying, timeout_s=STORE_TIMEOUT_S, what="the store retrying against the dead database"
        )
        unhealthy = (await store.get("/healthz")).status_code

        own_postgres.start()

        async def all_stored() -> bool:
            return await stored() == len(before) + len(during)

        await eventually(
            all_stored, timeout_s=STORE_TIMEOUT_S, what="samples from the outage stored"
        )
        duplicates = await store.metric("tc_store_duplicates_ignored_total")

    assert await stored() == len(before) + len(during)
    assert unhealthy == 503
    assert duplicates >= 2
    retry_logs = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retry_logs
    assert not any(own_postgres.password in line for line in retry_logs)


async def test_store_started_while_the_database_is_down_migrates_once_it_is_back(
    kafka, own_postgres, consumer_group, run_store, publish
):
    vin = f"LATE{uuid.uuid4().hex[:12].upper()}"
    settings = StoreSettings(
        postgres={"url": own_postgres.url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        consumer_group=consumer_group,
        db_retry_initial_s=0.2,
        db_retry_max_s=0.5,
        db_connect_timeout_s=1.0,
    )
    own_postgres.stop()
    await publish(samples(vin, range(3)))

    async def start_database_soon() -> None:
        await asyncio.sleep(3)
        own_postgres.start()

    restart = asyncio.create_task(start_database_soon())
    async with run_store(settings):
        # Startup (the migrations) could only finish after the database came back.
        assert restart.done()

        async def stored() -> bool:
            rows = await query(
                own_postgres.url, "SELECT count(*) FROM telemetry WHERE vehicle_id = %s", (vin,)
            )
            return int(rows[0][0]) == 3

        await eventually(
            stored, timeout_s=STORE_TIMEOUT_S, what="samples stored after a late database start"
        )


async def test_an_outage_longer_than_the_poll_interval_keeps_the_consumer_in_its_group(
    kafka, own_postgres, consumer_group, run_store, publish, caplog
):
    # A handler waiting for the database does not poll; past max_poll_interval aiokafka makes
    # the consumer leave its group, and the offset commit after the outage fails (CRITICAL).
    caplog.set_level(logging.INFO)
    vin = f"LONG{uuid.uuid4().hex[:12].upper()}"
    settings = StoreSettings(
        postgres={"url": own_postgres.url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 3_000},
        consumer_group=consumer_group,
        db_retry_initial_s=0.2,
        db_retry_max_s=0.5,
        db_connect_timeout_s=1.0,
    )
    first, during = samples(vin, range(2)), samples(vin, range(2, 6))

    async def stored() -> int:
        rows = await query(
            own_postgres.url, "SELECT count(*) FROM telemetry WHERE vehicle_id = %s", (vin,)
        )
        return int(rows[0][0])

    await publish(first)
    async with run_store(settings):

        async def first_stored() -> bool:
            return await stored() == len(first)

        await eventually(first_stored, timeout_s=STORE_TIMEOUT_S, what="the first samples")
        own_postgres.stop()
        await publish(during)
        await asyncio.sleep(10)  # more than three poll intervals without the database
        own_postgres.start()

        async def all_stored() -> bool:
            return await stored() == len(first) + len(during)

        await eventually(all_stored, timeout_s=STORE_TIMEOUT_S, what="samples of the outage")
        await asyncio.sleep(2)  # the commit after the last sample
        # Before the store stops (a stopping consumer leaves its group, rightly).
        troubles = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR or "LeaveGroup" in r.getMessage()
        ]

    assert troubles == []


async def test_liveness_holds_while_readiness_follows_the_database(
    kafka, own_postgres, consumer_group, run_store
):
    # Kubernetes restarts a pod whose liveness fails: a database outage must only take the
    # store out of readiness, or every store pod restarts with it.
    settings = StoreSettings(
        postgres={"url": own_postgres.url},
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        consumer_group=consumer_group,
        db_retry_initial_s=0.2,
        db_retry_max_s=1.0,
        db_connect_timeout_s=1.0,
    )
    async with run_store(settings) as store:

        async def ready() -> bool:
            return (await store.get("/healthz")).status_code == 204

        await eventually(ready, timeout_s=STORE_TIMEOUT_S, what="the store ready")
        alive_before = (await store.get("/livez")).status_code

        own_postgres.stop()

        async def not_ready() -> bool:
            return (await store.get("/healthz")).status_code == 503

        await eventually(not_ready, timeout_s=STORE_TIMEOUT_S, what="readiness 503 without a db")
        alive_during = (await store.get("/livez")).status_code
        own_postgres.start()
        await eventually(ready, timeout_s=STORE_TIMEOUT_S, what="the store ready again")

    assert (alive_before, alive_during) == (204, 204)
