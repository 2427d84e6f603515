"""The Tessie client and the poller against the Tessie simulator (a real HTTP server)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.errors import TessieAuthError, TessieUnavailableError
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_ingest.settings import TessieSettings
from tc_tessie_sim.fleet import OSLO
from tc_tessie_sim.server import running_simulator
from tc_testkit.recorders import RecordedSleeps, RecordingPublisher

SIM_TOKEN = "sim-token-123456"
# A Tuesday, 20:30 in Oslo: every car is parked at home with sentry on, so awake.
EVENING = datetime(2024, 6, 4, 18, 30, tzinfo=UTC)
# The same Tuesday, 10:30 in Oslo: the commuters have long fallen asleep at work.
WORKDAY = datetime(2024, 6, 4, 8, 30, tzinfo=UTC)


@pytest.fixture
def sim_clock() -> FixedClock:
    return FixedClock(EVENING)


@pytest.fixture
def sim(sim_clock: FixedClock) -> Iterator[Any]:
    with running_simulator(
        token=SIM_TOKEN, vehicles=3, seed=1, sentry_share=1.0, now=sim_clock
    ) as running:
        yield running


def poller_for(
    client: TessieHttpClient, publisher: RecordingPublisher, clock: FixedClock
) -> TelemetryPoller:
    return TelemetryPoller(
        client,
        publisher,
        clock=clock,
        metrics=IngestMetrics(CollectorRegistry()),
        poll_interval_s=30,
    )


def client_for(
    sim: Any, sleeps: RecordedSleeps, token: str = SIM_TOKEN, **options: Any
) -> TessieHttpClient:
    return TessieHttpClient(
        TessieSettings(base_url=sim.base_url, token=token, **options),
        sleep=sleeps,
        jitter=lambda: 0.5,
    )


async def test_a_wrong_token_is_refused_once_without_retries(
    sim: Any, sleeps: RecordedSleeps
) -> None:
    client = client_for(sim, sleeps, token="not-the-sim-token")

    with pytest.raises(TessieAuthError):
        await client.list_vehicles()
    await client.aclose()

    assert sim.stats()["unauthorized"] == 1
    assert sleeps.delays == []


async def test_vehicles_are_discovered(sim: Any, sleeps: RecordedSleeps) -> None:
    client = client_for(sim, sleeps)

    vins = await client.list_vehicles()
    await client.aclose()

    assert sorted(vins) == sorted(sim.vins)


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_injected_faults_are_retried(sim: Any, sleeps: RecordedSleeps, status: int) -> None:
    client = client_for(sim, sleeps)
    sim.inject_faults(status=status, count=2)

    state = await client.get_state(sim.vins[0])
    await client.aclose()

    assert state.battery_level_pct is not None
    assert sim.stats()["faults_served"] == 2
    assert len(sleeps.delays) == 2


async def test_the_simulators_retry_after_is_honoured(sim: Any, sleeps: RecordedSleeps) -> None:
    client = client_for(sim, sleeps)
    sim.inject_faults(status=429, count=1, retry_after_s=3)

    await client.get_status(sim.vins[0])
    await client.aclose()

    assert sleeps.delays == [3.0]


async def test_persistent_faults_give_up_after_the_bounded_attempts(
    sim: Any, sleeps: RecordedSleeps
) -> None:
    client = client_for(sim, sleeps, max_attempts=3)
    sim.inject_faults(status=502, count=10)

    with pytest.raises(TessieUnavailableError):
        await client.get_state(sim.vins[0])
    await client.aclose()

    assert sim.stats()["faults_served"] == 3


async def test_polling_never_wakes_a_car_nor_reads_it_live_and_yields_metric_values(
    sim: Any, sim_clock: FixedClock, sleeps: RecordedSleeps
) -> None:
    client = client_for(sim, sleeps)
    publisher = RecordingPublisher()
    poller = poller_for(client, publisher, sim_clock)

    for _ in range(4):
        for vin in sim.vins:
            await poller.poll_vehicle(vin)
            await poller.flush(vin)
        sim_clock.advance(timedelta(seconds=30))
    await client.aclose()

    stats = sim.stats()
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0
    assert {s.vehicle_id for s in publisher.published} == set(sim.vins)
    # awake cars refresh Tessie's cache every 10 s: each 30 s poll sees a new snapshot
    assert len(publisher.published) == 4 * len(sim.vins)
    for sample in publisher.published:
        assert sample.online_state == "online"
        assert sample.sampled_at <= sample.fetched_at
        assert sample.fetched_at - sample.sampled_at < timedelta(seconds=15)
        assert sample.battery_level_pct is not None
        assert 0 < sample.battery_level_pct <= 100
        assert sample.battery_range_km is not None
        # rated range per percent of charge: 2-8 km in metric, it would be ~60 % in miles
        assert 2.0 < sample.battery_range_km / sample.battery_level_pct < 8.0
        assert sample.odometer_km is not None
        assert sample.odometer_km > 0
        assert sample.latitude_deg is not None
        assert 55 < sample.latitude_deg < 72


async def test_only_the_car_whose_owner_schedules_departures_reports_the_next_one(
    sim: Any, sim_clock: FixedClock, sleeps: RecordedSleeps
) -> None:
    client = client_for(sim, sleeps)
    publisher = RecordingPublisher()
    poller = poller_for(client, publisher, sim_clock)

    for vin in sim.vins:
        await poller.poll_vehicle(vin)
        await poller.flush(vin)
    await client.aclose()

    departures = {s.vehicle_id: s.scheduled_departure_at for s in publisher.published}
    [scheduler] = [p for p in sim.simulator.profiles.values() if p.uses_scheduled_departure]
    minutes = round(scheduler.rhythm[2].departure_min_mean)
    # Tuesday evening: the car prepares for Wednesday morning's usual departure.
    wednesday = datetime(2024, 6, 5, tzinfo=OSLO) + timedelta(minutes=minutes)
    assert departures == {vin: (wednesday if vin == scheduler.vin else None) for vin in sim.vins}


async def test_asleep_cars_are_read_from_the_cache_once_then_left_alone() -> None:
    clock = FixedClock(WORKDAY)
    sleeps = RecordedSleeps()
    with running_simulator(
        token=SIM_TOKEN, vehicles=3, seed=1, sentry_share=0.0, now=clock
    ) as day_sim:
        client = client_for(day_sim, sleeps)
        statuses = {vin: await client.get_status(vin) for vin in day_sim.vins}
        poller = poller_for(client, RecordingPublisher(), clock)
        for _ in range(3):
            for vin in day_sim.vins:
                await poller.poll_vehicle(vin)
                await poller.flush(vin)
            clock.advance(timedelta(seconds=30))
        await client.aclose()
        stats = day_sim.stats()

    asleep = [vin for vin, status in statuses.items() if status == "asleep"]
    assert asleep, f"expected cars asleep at work, got {statuses}"
    # Asleep cars: one cached read for their last state, then only /status.
    awake_reads = 3 * (len(statuses) - len(asleep))
    assert stats["requests"].get("state", 0) == awake_reads + len(asleep)
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0
