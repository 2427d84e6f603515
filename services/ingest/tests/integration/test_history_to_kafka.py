"""The ingest service backfills drive and charge history from the Tessie simulator into a real
Kafka-protocol broker (Tansu)."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from tc_common.clock import ShiftedClock
from tc_common.events import ChargeRecorded, DriveRecorded
from tc_common.settings import KafkaSettings
from tc_common.topics import CHARGE_RECORDED_V1, DRIVE_RECORDED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, TessieSettings
from tc_tessie_sim.server import running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SIM_TOKEN = "sim-token-123456"
# A seed of its own: its VINs (…420001-3) appear in no other test on the shared topics.
SEED = 42
# Tuesday 4 June 2024, 20:30 in Oslo, running on at real speed.
SIM_START = datetime(2024, 6, 4, 18, 30, tzinfo=UTC)

Episode = DriveRecorded | ChargeRecorded


async def consume_history(
    bootstrap: str, vins: set[str], until: Callable[[list[tuple[bytes | None, Episode]]], bool]
) -> list[tuple[bytes | None, Episode]]:
    consumer = AIOKafkaConsumer(
        DRIVE_RECORDED_V1,
        CHARGE_RECORDED_V1,
        bootstrap_servers=bootstrap,
        group_id=f"ingest-history-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[tuple[bytes | None, Episode]] = []
    try:
        async with asyncio.timeout(120):
            while not until(seen):
                batches = await consumer.getmany(timeout_ms=500)
                for partition, records in batches.items():
                    model = (
                        DriveRecorded if partition.topic == DRIVE_RECORDED_V1 else ChargeRecorded
                    )
                    for record in records:
                        try:
                            event: Episode = model.model_validate_json(record.value or b"")
                        except ValidationError:
                            continue
                        if event.vehicle_id in vins:
                            seen.append((record.key, event))
    finally:
        await consumer.stop()
    return seen


async def test_the_service_backfills_a_month_of_drives_and_charges_keyed_by_vin(
    kafka: LocalKafka,
) -> None:
    # The simulator's and the service's clock: one time for both, running at real speed.
    clock = ShiftedClock.starting_at(SIM_START)
    with running_simulator(
        token=SIM_TOKEN, vehicles=3, seed=SEED, sentry_share=1.0, now=clock
    ) as sim:
        settings = IngestSettings(
            tessie=TessieSettings(base_url=sim.base_url, token=SIM_TOKEN),
            kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
            poll_interval_s=5,
            market={"enabled": False},
            weather={"enabled": False},
        )
        vins = set(sim.vins)
        expected: dict[str, set[tuple[str, int]]] = {}
        lo, hi = SIM_START - timedelta(days=30), SIM_START
        for vin in vins:
            car: Any = sim.simulator.cars[vin]
            expected[vin] = {("drive", d.id) for d in car.drives(lo, hi)} | {
                ("charge", c.id) for c in car.charges(lo, hi)
            }

        def complete(got: list[tuple[bytes | None, Episode]]) -> bool:
            ids = {(e.vehicle_id, *_ident(e)) for _, e in got}
            return all((vin, *x) in ids for vin, xs in expected.items() for x in xs)

        app = create_app(settings, clock=clock)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            seen = await consume_history(kafka.bootstrap_servers, vins, complete)
        stats = sim.stats()

    for key, event in seen:
        assert key == event.vehicle_id.encode()
    per_vehicle = {vin: [e for _, e in seen if e.vehicle_id == vin] for vin in vins}
    for events in per_vehicle.values():
        drives = [e for e in events if isinstance(e, DriveRecorded)]
        assert 35 <= len({d.drive_id for d in drives}) <= 70
        assert len(drives) == len({d.drive_id for d in drives}), "a drive was published twice"
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0


def _ident(event: Episode) -> tuple[str, int]:
    if isinstance(event, DriveRecorded):
        return ("drive", event.drive_id)
    return ("charge", event.charge_id)
