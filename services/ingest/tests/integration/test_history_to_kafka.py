"""The ingest service backfills drive and charge history from the Tessie simulator into a real
Kafka-protocol broker (Tansu)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import ShiftedClock
from tc_common.events import ChargeRecorded, DriveRecorded
from tc_common.settings import KafkaSettings
from tc_common.topics import CHARGE_RECORDED_V1, DRIVE_RECORDED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, TessieSettings
from tc_tessie_sim.server import running_simulator
from tc_testkit.kafka import consume, event_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SIM_TOKEN = "sim-token-123456"
# A seed of its own: its VINs (…420001-3) appear in no other test on the shared topics.
SEED = 42
# Tuesday 4 June 2024, 20:30 in Oslo, running on at real speed.
SIM_START = datetime(2024, 6, 4, 18, 30, tzinfo=UTC)

Episode = DriveRecorded | ChargeRecorded


def episode_of(vins: set[str]) -> Callable[[Any], tuple[bytes | None, Episode] | None]:
    """A ``keep`` of the drives and charges of ``vins`` with their keys."""

    def keep(record: Any) -> tuple[bytes | None, Episode] | None:
        model = DriveRecorded if record.topic == DRIVE_RECORDED_V1 else ChargeRecorded
        event: Episode | None = event_of(model, record)
        return None if event is None or event.vehicle_id not in vins else (record.key, event)

    return keep


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
            seen = await consume(
                kafka.bootstrap_servers,
                [DRIVE_RECORDED_V1, CHARGE_RECORDED_V1],
                episode_of(vins),
                until=complete,
                timeout_s=120,
            )
        stats = sim.stats()

    assert complete(seen), "not every drive and charge of the last 30 days was published"

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
