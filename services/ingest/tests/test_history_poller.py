"""The history poller's decisions with an in-memory history source and a publisher that can
fail."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tc_common.clock import FixedClock
from tc_common.events import ChargeRecorded, DriveRecorded
from tc_ingest.domain.history import ChargeRecord, DriveRecord
from tc_ingest.errors import TessieUnavailableError, TessieVehicleNotFoundError
from tc_ingest.history_poller import HistoryPoller, PublishFailedError
from tc_ingest.metrics import HistoryMetrics
from tc_testkit.recorders import RecordingPublisher
from tc_testkit.waiting import eventually

from .support import VIN_A, VIN_B

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def drive(vin_index: int, start: datetime, minutes: int = 30, **fields: Any) -> DriveRecord:
    return DriveRecord(
        id=vin_index * 100_000 + int(start.timestamp()) // 60,
        started_at_s=start.timestamp(),
        ended_at_s=(start + timedelta(minutes=minutes)).timestamp(),
        starting_battery=80,
        ending_battery=75,
        odometer_distance_km=20.0,
        energy_used_kwh=3.2,
        **fields,
    )


def charge(start: datetime, hours: float = 3.0) -> ChargeRecord:
    return ChargeRecord(
        id=int(start.timestamp()) // 60,
        started_at_s=start.timestamp(),
        ended_at_s=(start + timedelta(hours=hours)).timestamp(),
        energy_added_kwh=10.0,
        energy_used_kwh=11.1,
    )


class FakeHistory:
    """Lists records like Tessie and the simulator: started in ``[from, to]`` and ended by
    ``to``. ``fail[vin]`` makes that vehicle's next calls raise."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.drives: dict[str, list[DriveRecord]] = {}
        self.charges: dict[str, list[ChargeRecord]] = {}
        self.calls: list[tuple[str, str, datetime, datetime]] = []
        self.fail: dict[str, Exception] = {}

    def _window(self, records: list[Any], lo: datetime, hi: datetime) -> list[Any]:
        now = self.clock.now().timestamp()
        lo_s, hi_s = lo.timestamp(), min(hi.timestamp(), now)
        return [
            r for r in records if lo_s <= r.started_at_s <= hi_s and (r.ended_at_s or 0) <= hi_s
        ]

    async def get_drives(self, vin: str, from_at: datetime, to_at: datetime) -> list[DriveRecord]:
        self.calls.append((vin, "drives", from_at, to_at))
        if vin in self.fail:
            raise self.fail[vin]
        return self._window(self.drives.get(vin, []), from_at, to_at)

    async def get_charges(self, vin: str, from_at: datetime, to_at: datetime) -> list[ChargeRecord]:
        self.calls.append((vin, "charges", from_at, to_at))
        if vin in self.fail:
            raise self.fail[vin]
        return self._window(self.charges.get(vin, []), from_at, to_at)


def drive_ids(publisher: RecordingPublisher) -> list[int]:
    return [d.drive_id for d in publisher.of(DriveRecorded)]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def history(clock: FixedClock) -> FakeHistory:
    source = FakeHistory(clock)
    # Two commutes every day for 40 days and an evening charge every other day.
    for d in range(40, 0, -1):
        day = NOW.replace(hour=0) - d * DAY
        source.drives.setdefault(VIN_A, []).extend(
            [drive(1, day + timedelta(hours=6)), drive(1, day + timedelta(hours=15))]
        )
        if d % 2 == 0:
            source.charges.setdefault(VIN_A, []).append(charge(day + timedelta(hours=16)))
    source.drives[VIN_B] = [drive(2, NOW - 2 * DAY)]
    return source


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def make_poller(
    history: FakeHistory,
    publisher: RecordingPublisher,
    clock: FixedClock,
    registry: CollectorRegistry,
) -> Callable[..., HistoryPoller]:
    def build(**overrides: Any) -> HistoryPoller:
        options: dict[str, Any] = {
            "vins": lambda: [VIN_A],
            "backfill_days": 30,
            "chunk": timedelta(days=7),
            "overlap": DAY,
            "poll_interval_s": 0.05,
            "reconcile_interval_s": 0.01,
            "error_backoff_base_s": 0.01,
            "jitter": lambda: 0.0,
            **overrides,
        }
        return HistoryPoller(
            history, publisher, clock=clock, metrics=HistoryMetrics(registry), **options
        )

    return build


def expected_drive_ids(history: FakeHistory, vin: str, lo: datetime, hi: datetime) -> list[int]:
    return [
        r.id or 0
        for r in history.drives[vin]
        if lo.timestamp() <= r.started_at_s <= hi.timestamp()  # type: ignore[operator]
        and (r.ended_at_s or 0) <= hi.timestamp()
    ]


class TestBackfillAndResume:
    async def test_the_first_sync_backfills_the_window_in_chunks_oldest_first(
        self, make_poller, history: FakeHistory, publisher: RecordingPublisher
    ) -> None:
        poller = make_poller()

        results = await poller.sync_vehicle(VIN_A)

        assert (results["drives"].windows, results["charges"].windows) == (5, 5)
        # Each window reaches a day back, so the drives of the 31st day come too.
        published = drive_ids(publisher)
        assert set(published) >= set(expected_drive_ids(history, VIN_A, NOW - 30 * DAY, NOW))
        assert set(published) <= set(expected_drive_ids(history, VIN_A, NOW - 31 * DAY, NOW))
        assert published == sorted(published)
        assert len(published) == len(set(published))
        charges = publisher.of(ChargeRecorded)
        assert 14 <= len(charges) <= 16
        assert poller.covered_to(VIN_A, "drives") == NOW

    async def test_a_later_sync_publishes_only_what_is_new(
        self, make_poller, history: FakeHistory, publisher: RecordingPublisher, clock: FixedClock
    ) -> None:
        poller = make_poller()
        await poller.sync_vehicle(VIN_A)
        before = len(drive_ids(publisher))
        new = [drive(1, NOW + timedelta(hours=2)), drive(1, NOW + timedelta(hours=5))]
        history.drives[VIN_A].extend(new)
        clock.advance(timedelta(hours=6))

        results = await poller.sync_vehicle(VIN_A)

        assert drive_ids(publisher)[before:] == [d.id for d in new]
        assert (results["drives"].windows, results["drives"].published) == (1, 2)
        assert results["charges"].published == 0
        (last_request,) = [c for c in history.calls[-2:] if c[1] == "drives"]
        assert last_request[2:] == (NOW - DAY, NOW + timedelta(hours=6))

    async def test_a_session_still_running_at_one_sync_is_published_once_it_ended(
        self, make_poller, history: FakeHistory, publisher: RecordingPublisher, clock: FixedClock
    ) -> None:
        overnight = charge(NOW - timedelta(hours=2), hours=10)
        history.charges[VIN_A].append(overnight)
        poller = make_poller()
        await poller.sync_vehicle(VIN_A)
        assert overnight.id not in [c.charge_id for c in publisher.of(ChargeRecorded)]

        clock.advance(timedelta(hours=9))
        await poller.sync_vehicle(VIN_A)

        charge_ids = [c.charge_id for c in publisher.of(ChargeRecorded)]
        assert charge_ids[-1] == overnight.id
        assert len(charge_ids) == len(set(charge_ids))

    async def test_a_record_tessie_changed_is_published_again(
        self, make_poller, history: FakeHistory, publisher: RecordingPublisher, clock: FixedClock
    ) -> None:
        poller = make_poller()
        await poller.sync_vehicle(VIN_A)
        last = history.drives[VIN_A][-1]
        history.drives[VIN_A][-1] = replace(last, odometer_distance_km=21.5)
        clock.advance(timedelta(minutes=5))

        await poller.sync_vehicle(VIN_A)

        again = [d for d in publisher.of(DriveRecorded) if d.drive_id == last.id]
        assert [e.distance_km for e in again] == [20.0, 21.5]

    async def test_how_far_behind_the_history_is_is_measured_over_the_fleet_without_vins(
        self, make_poller, clock: FixedClock, registry: CollectorRegistry
    ) -> None:
        poller = make_poller(vins=lambda: [VIN_A, VIN_B])

        await poller.sync_vehicle(VIN_A)
        await poller.sync_vehicle(VIN_B)
        clock.advance(timedelta(minutes=2))

        def sample(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(
                f"tc_ingest_history_covered_age_seconds_{name}", labels
            )

        assert sample("bucket", kind="drives", le="60.0") == 0
        assert sample("bucket", kind="drives", le="300.0") == 2
        assert sample("gcount", kind="charges") == 2
        assert sample("gsum", kind="charges") == pytest.approx(240.0)
        assert VIN_A not in generate_latest(registry).decode()


class TestFailures:
    async def test_a_broker_failure_keeps_the_window_and_the_retry_has_no_duplicates(
        self, make_poller, publisher: RecordingPublisher
    ) -> None:
        poller = make_poller()
        publisher.fail_after = 10

        with pytest.raises(PublishFailedError, match="ConnectionError: broker unreachable"):
            await poller.sync_vehicle(VIN_A)
        covered = poller.covered_to(VIN_A, "drives")
        publisher.fail_after = None
        await poller.sync_vehicle(VIN_A)

        assert covered is not None
        assert covered < NOW - 20 * DAY
        ids = drive_ids(publisher)
        assert len(ids) == len(set(ids))
        assert len(ids) >= 60

    async def test_a_malformed_record_is_skipped_logged_once_and_the_rest_published(
        self,
        make_poller,
        history: FakeHistory,
        publisher: RecordingPublisher,
        clock: FixedClock,
        registry: CollectorRegistry,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        broken = replace(drive(1, NOW - timedelta(hours=3)), odometer_distance_km=None)
        history.drives[VIN_A].append(broken)
        poller = make_poller()

        with caplog.at_level(logging.WARNING, logger="tc_ingest.history_poller"):
            await poller.sync_vehicle(VIN_A)
            clock.advance(timedelta(minutes=5))
            await poller.sync_vehicle(VIN_A)

        assert broken.id not in drive_ids(publisher)
        assert len(drive_ids(publisher)) >= 60
        warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
        assert warnings == [
            f"{VIN_A}: malformed drives record {broken.id} skipped: "
            "no or negative odometer_distance"
        ]
        skipped = registry.get_sample_value(
            "tc_ingest_history_records_skipped_total", {"kind": "drives"}
        )
        assert skipped == 1.0

    async def test_one_failing_vehicle_does_not_stop_the_others(
        self, make_poller, history: FakeHistory, publisher: RecordingPublisher
    ) -> None:
        history.fail[VIN_A] = TessieUnavailableError("HTTP 500 after 4 attempts")
        poller = make_poller(vins=lambda: [VIN_A, VIN_B])

        await poller.start()
        try:
            await eventually(
                lambda: (
                    poller.syncs_completed(VIN_B) >= 2
                    and len([c for c in history.calls if c[0] == VIN_A]) >= 3
                )
            )
        finally:
            await poller.stop()

        assert {e.vehicle_id for e in publisher.published} == {VIN_B}
        assert poller.syncs_completed(VIN_A) == 0

    async def test_a_vin_tessie_no_longer_knows_ends_its_history_loop(
        self, make_poller, history: FakeHistory
    ) -> None:
        history.fail[VIN_A] = TessieVehicleNotFoundError(VIN_A)
        poller = make_poller()

        await poller.start()
        try:
            await eventually(lambda: bool(history.calls) and not poller.vehicles)
            # Several reconcile rounds: none may start the gone vehicle again.
            await asyncio.sleep(0.05)
        finally:
            await poller.stop()

        assert len(history.calls) == 1

    async def test_a_vehicle_no_longer_listed_is_no_longer_synced(
        self, make_poller, history: FakeHistory
    ) -> None:
        listed = [VIN_A, VIN_B]
        poller = make_poller(vins=lambda: list(listed))

        await poller.start()
        try:
            await eventually(lambda: poller.vehicles == [VIN_A, VIN_B])
            listed.remove(VIN_B)
            await eventually(lambda: poller.vehicles == [VIN_A])
        finally:
            await poller.stop()
