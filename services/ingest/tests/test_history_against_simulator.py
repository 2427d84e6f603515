"""The history client and poller against the Tessie simulator (a real HTTP server)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events import ChargeRecorded, DriveRecorded
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.errors import TessieUnavailableError
from tc_ingest.history_poller import HistoryPoller
from tc_ingest.metrics import HistoryMetrics
from tc_ingest.settings import TessieSettings
from tc_tessie_sim.server import running_simulator
from tc_testkit.recorders import RecordedSleeps, RecordingPublisher

SIM_TOKEN = "sim-token-history-0123"
# Wednesday 25 November 2026, 21:00 in Oslo: weeks of commuting behind every car.
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[Any]:
    with running_simulator(
        token=SIM_TOKEN, vehicles=3, seed=1, sentry_share=0.0, now=clock
    ) as running:
        yield running


def make_poller(
    sim: Any,
    clock: FixedClock,
    publisher: RecordingPublisher,
    sleeps: RecordedSleeps,
    **client: Any,
) -> tuple[HistoryPoller, TessieHttpClient]:
    page_limit = client.pop("history_page_limit", 500)
    tessie = TessieHttpClient(
        TessieSettings(base_url=sim.base_url, token=SIM_TOKEN, **client),
        sleep=sleeps,
        jitter=lambda: 0.5,
        clock=clock,
        history_page_limit=page_limit,
    )
    poller = HistoryPoller(
        tessie,
        publisher,
        clock=clock,
        metrics=HistoryMetrics(CollectorRegistry()),
        vins=lambda: sim.vins,
        backfill_days=30,
        chunk=timedelta(days=7),
        overlap=DAY,
    )
    return poller, tessie


def sim_ids(sim: Any, vin: str, kind: str, lo: datetime, hi: datetime) -> set[int]:
    car = sim.simulator.cars[vin]
    episodes = car.drives(lo, hi) if kind == "drives" else car.charges(lo, hi)
    return {e.id for e in episodes}


async def test_a_30_day_backfill_brings_every_drive_and_charge_in_plausible_numbers(
    sim: Any, clock: FixedClock, sleeps: RecordedSleeps
) -> None:
    publisher = RecordingPublisher()
    poller, tessie = make_poller(sim, clock, publisher, sleeps)

    for vin in sim.vins:
        await poller.sync_vehicle(vin)
    await tessie.aclose()

    for vin in sim.vins:
        drives, charges = publisher.of(DriveRecorded, vin), publisher.of(ChargeRecorded, vin)
        drive_ids = {d.drive_id for d in drives}
        charge_ids = {c.charge_id for c in charges}
        # Everything of the 30 days, plus what the first window's day of overlap reaches.
        assert sim_ids(sim, vin, "drives", NOW - 30 * DAY, NOW) <= drive_ids
        assert drive_ids <= sim_ids(sim, vin, "drives", NOW - 31 * DAY, NOW)
        assert sim_ids(sim, vin, "charges", NOW - 30 * DAY, NOW) <= charge_ids
        assert charge_ids <= sim_ids(sim, vin, "charges", NOW - 31 * DAY, NOW)
        assert len(drive_ids) == len(drives)
        assert len(charge_ids) == len(charges)
        # A commuter: two drives on most of ~22 weekdays, fewer at weekends; a home
        # charge at least every few days and never more than one a day.
        assert 35 <= len(drives) <= 70
        assert 8 <= len(charges) <= 31
        assert all(0 < d.distance_km < 200 for d in drives)
        assert all(d.energy_used_kwh is not None and d.energy_used_kwh > 0 for d in drives)
        assert all(0 < c.energy_added_kwh < (c.energy_used_kwh or 0) < 100 for c in charges)
        assert all(c.ended_at <= NOW and not c.is_supercharger for c in charges)
        assert [d.started_at for d in drives] == sorted(d.started_at for d in drives)
    stats = sim.stats()
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0
    # Five weekly windows per kind and vehicle, one request each.
    assert stats["requests"] == {"drives": 15, "charges": 15}
    assert sleeps.delays == []


async def test_a_later_sync_resumes_without_duplicates_and_with_the_new_episodes(
    sim: Any, clock: FixedClock, sleeps: RecordedSleeps
) -> None:
    publisher = RecordingPublisher()
    poller, tessie = make_poller(sim, clock, publisher, sleeps)
    vin = sim.vins[0]
    await poller.sync_vehicle(vin)
    before = {d.drive_id for d in publisher.of(DriveRecorded, vin)}

    # Nothing new five minutes later; two days later, two days of new episodes.
    clock.advance(timedelta(minutes=5))
    quiet = await poller.sync_vehicle(vin)
    clock.advance(2 * DAY)
    later = await poller.sync_vehicle(vin)
    await tessie.aclose()

    assert (quiet["drives"].published, quiet["charges"].published) == (0, 0)
    drive_ids = [d.drive_id for d in publisher.of(DriveRecorded, vin)]
    charge_ids = [c.charge_id for c in publisher.of(ChargeRecorded, vin)]
    assert len(drive_ids) == len(set(drive_ids))
    assert len(charge_ids) == len(set(charge_ids))
    new = set(drive_ids) - before
    assert new == sim_ids(sim, vin, "drives", NOW + timedelta(minutes=5), clock.now())
    assert later["drives"].published == len(new) >= 2


async def test_a_small_page_limit_still_brings_the_whole_window(
    sim: Any, clock: FixedClock, sleeps: RecordedSleeps
) -> None:
    small, full = RecordingPublisher(), RecordingPublisher()
    vin = sim.vins[1]
    paged, paged_client = make_poller(sim, clock, small, sleeps, history_page_limit=4)
    whole, whole_client = make_poller(sim, clock, full, sleeps)

    await paged.sync_vehicle(vin)
    await whole.sync_vehicle(vin)
    await paged_client.aclose()
    await whole_client.aclose()

    assert [d.drive_id for d in small.of(DriveRecorded)] == [
        d.drive_id for d in full.of(DriveRecorded)
    ]
    assert [c.charge_id for c in small.of(ChargeRecorded)] == [
        c.charge_id for c in full.of(ChargeRecorded)
    ]
    assert sim.stats()["requests"]["drives"] > 10 + 5


@pytest.mark.parametrize("status", [429, 500])
async def test_faults_are_retried_and_the_sync_completes(
    sim: Any, clock: FixedClock, sleeps: RecordedSleeps, status: int
) -> None:
    publisher = RecordingPublisher()
    poller, tessie = make_poller(sim, clock, publisher, sleeps)
    sim.inject_faults(status=status, count=2, retry_after_s=1 if status == 429 else None)

    await poller.sync_vehicle(sim.vins[0])
    await tessie.aclose()

    assert sim.stats()["faults_served"] == 2
    assert len(sleeps.delays) == 2
    assert publisher.of(DriveRecorded)
    assert publisher.of(ChargeRecorded)


async def test_persistent_faults_fail_the_sync_and_the_next_one_fills_the_gap_once(
    sim: Any, clock: FixedClock, sleeps: RecordedSleeps, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = RecordingPublisher()
    poller, tessie = make_poller(sim, clock, publisher, sleeps, max_attempts=2)
    vin = sim.vins[2]
    sim.inject_faults(status=503, count=2)

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TessieUnavailableError):
            await poller.sync_vehicle(vin)
        await poller.sync_vehicle(vin)
    await tessie.aclose()

    assert poller.covered_to(vin, "drives") == NOW
    ids = [d.drive_id for d in publisher.of(DriveRecorded, vin)]
    assert len(ids) == len(set(ids))
    assert sim_ids(sim, vin, "drives", NOW - 30 * DAY, NOW) <= set(ids)
    assert SIM_TOKEN not in caplog.text
