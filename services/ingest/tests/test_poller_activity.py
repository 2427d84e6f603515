"""The poller says what each car is doing: on every change, as a heartbeat, never lost."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from tc_common.clock import FixedClock
from tc_common.events import VehicleActivityObserved
from tc_common.events.base import Event
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_testkit.recorders import RecordingPublisher

from .support import VIN_A, FakeTessie

HEARTBEAT = timedelta(minutes=5)
POLL = timedelta(seconds=30)


@pytest.fixture
def activities() -> RecordingPublisher[Event]:
    return RecordingPublisher()


@pytest.fixture
def poller(
    make_client: Callable[..., TessieHttpClient],
    publisher: RecordingPublisher[Event],
    activities: RecordingPublisher[Event],
    clock: FixedClock,
    metrics: IngestMetrics,
) -> TelemetryPoller:
    return TelemetryPoller(
        make_client(),
        publisher,
        clock=clock,
        metrics=metrics,
        poll_interval_s=POLL.total_seconds(),
        activity_publisher=activities,
        activity_heartbeat_s=HEARTBEAT.total_seconds(),
    )


async def poll(poller: TelemetryPoller, clock: FixedClock) -> bool:
    clock.advance(POLL)
    await poller.poll_vehicle(VIN_A)
    return await poller.flush(VIN_A)


def seen(activities: RecordingPublisher[Event]) -> list[tuple[str, str]]:
    return [
        (e.activity, e.since.isoformat()) for e in activities.of(VehicleActivityObserved, VIN_A)
    ]


async def test_a_change_is_published_at_once_and_a_steady_state_once_per_heartbeat(
    poller: TelemetryPoller,
    activities: RecordingPublisher[Event],
    fake_tessie: FakeTessie,
    clock: FixedClock,
) -> None:
    # The reference snapshot is charging at 11 kW.
    assert await poll(poller, clock)
    for _ in range(int(HEARTBEAT / POLL) - 1):
        fake_tessie.advance(VIN_A, 30_000)
        assert await poll(poller, clock)
    assert len(seen(activities)) == 1  # nothing new for 4.5 minutes

    fake_tessie.advance(VIN_A, 30_000)
    assert await poll(poller, clock)
    assert len(seen(activities)) == 2  # the heartbeat
    assert seen(activities)[0] == seen(activities)[1]

    fake_tessie.statuses[VIN_A] = "asleep"
    assert await poll(poller, clock)
    activity = poller.activity(VIN_A)
    assert activity is not None
    assert activity.activity == "asleep"
    assert [a for a, _ in seen(activities)] == ["charging", "charging", "asleep"]


async def test_an_activity_the_broker_refused_is_published_once_it_is_back(
    poller: TelemetryPoller,
    publisher: RecordingPublisher[Event],
    activities: RecordingPublisher[Event],
    fake_tessie: FakeTessie,
    clock: FixedClock,
) -> None:
    activities.down = True
    assert not await poll(poller, clock)
    fake_tessie.statuses[VIN_A] = "asleep"
    assert not await poll(poller, clock)

    activities.down = False
    assert await poll(poller, clock)

    # Only the newest activity is owed: it carries its own start.
    assert [a for a, _ in seen(activities)] == ["asleep"]
    assert len(publisher.published) == 1  # the sample went out before the outage mattered
