"""The poller tells what every simulated car is doing, at any moment of the week and year.

The simulator's clock is pinned to each of the moments every time-sensitive test runs at
(``tc_testkit.moments``), for the demo fleet (sentry keeps cars awake at home) and for cars
that sleep at home too. Whatever the fleet is doing then, every car gets a sample, and the
activity ingest publishes is the simulator's truth.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events import TelemetrySampled, VehicleActivityObserved
from tc_common.events.base import Event
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_ingest.settings import TessieSettings
from tc_tessie_sim.server import RunningSimulator
from tc_testkit.fleet import (
    SENTRY_SHARES,
    SIM_TOKEN,
    activity_at,
    cached_snapshot_at,
    serving_fleet,
)
from tc_testkit.moments import MOMENTS, Moment, each_moment
from tc_testkit.recorders import RecordedSleeps, RecordingPublisher

POLLS = 3
POLL_INTERVAL = timedelta(seconds=30)


# One simulator per fleet for the module (its cars remember what they replayed), its clock set
# to each test's moment.
_CLOCK = FixedClock(MOMENTS[0].at)


@pytest.fixture(scope="module", params=SENTRY_SHARES.values(), ids=SENTRY_SHARES.keys())
def fleet(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    with serving_fleet(request.param, _CLOCK) as running:
        yield running


@each_moment()
async def test_every_car_has_a_sample_and_its_true_activity(
    moment: Moment, fleet: RunningSimulator
) -> None:
    clock = _CLOCK
    clock.set(moment.at)
    wakes_before = sum(fleet.stats()["wakes"].values())
    live_reads_before = fleet.stats()["live_reads"]
    samples: RecordingPublisher[TelemetrySampled] = RecordingPublisher()
    activities: RecordingPublisher[Event] = RecordingPublisher()
    sim = fleet
    client = TessieHttpClient(
        TessieSettings(base_url=sim.base_url, token=SIM_TOKEN),
        sleep=RecordedSleeps(),
        jitter=lambda: 0.5,
        clock=clock,
    )
    poller = TelemetryPoller(
        client,
        samples,
        clock=clock,
        metrics=IngestMetrics(CollectorRegistry()),
        poll_interval_s=POLL_INTERVAL.total_seconds(),
        activity_publisher=activities,
    )
    for poll in range(POLLS):
        if poll:
            clock.advance(POLL_INTERVAL)
        for vin in sim.vins:
            await poller.poll_vehicle(vin)
            assert await poller.flush(vin)
    await client.aclose()
    last_poll_at = clock.now()
    stats = sim.stats()
    truth = {vin: activity_at(car, last_poll_at) for vin, car in sim.simulator.cars.items()}
    cache = {vin: cached_snapshot_at(car, last_poll_at) for vin, car in sim.simulator.cars.items()}

    assert sum(stats["wakes"].values()) == wakes_before
    assert stats["live_reads"] == live_reads_before
    for vin, expected in truth.items():
        own_samples = samples.of(TelemetrySampled, vin)
        assert own_samples, f"{moment}: no sample of {vin}"
        seen = poller.activity(vin)
        assert seen is not None
        assert seen.activity == expected, f"{moment}: {vin} is {expected}, ingest says {seen}"
        assert seen.observed_at == last_poll_at
        assert seen.since <= seen.observed_at
        published = activities.of(VehicleActivityObserved, vin)
        assert published[-1].activity == seen.activity
        assert published[-1].since == seen.since
        if expected == "asleep":
            # Asleep all along: one cached read, its snapshot taken as the car fell asleep.
            assert [s.sampled_at for s in own_samples] == [cache[vin]]
            assert seen.since == cache[vin]
        else:
            assert own_samples[-1].sampled_at == cache[vin]
