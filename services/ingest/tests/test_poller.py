import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tc_common.clock import FixedClock
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_testkit.recorders import RecordingPublisher
from tc_testkit.waiting import eventually

from .support import TOKEN, VIN_A, VIN_B, FakeTessie

MakeClient = Callable[..., TessieHttpClient]
MakePoller = Callable[..., TelemetryPoller]


@pytest.fixture
def make_poller(
    make_client: MakeClient,
    publisher: RecordingPublisher,
    clock: FixedClock,
    metrics: IngestMetrics,
) -> MakePoller:
    def build(token: str = TOKEN, **overrides: Any) -> TelemetryPoller:
        options: dict[str, Any] = {
            "poll_interval_s": 0.02,
            "publish_backoff_base_s": 0.01,
            "publish_backoff_cap_s": 0.02,
            "auth_backoff_s": 0.5,
            "jitter": lambda: 0.0,
            **overrides,
        }
        return TelemetryPoller(
            make_client(token=token), publisher, clock=clock, metrics=metrics, **options
        )

    return build


class TestOnePoll:
    async def test_the_first_snapshot_of_a_vehicle_is_published(
        self, make_poller: MakePoller, publisher: RecordingPublisher
    ) -> None:
        poller = make_poller()

        await poller.poll_vehicle(VIN_A)
        assert await poller.flush(VIN_A)

        [sample] = publisher.published
        assert sample.vehicle_id == VIN_A
        assert sample.battery_range_km == pytest.approx(231.4 * 1.609344)
        assert poller.last_published_at(VIN_A) == sample.sampled_at

    @pytest.mark.parametrize(
        ("charge", "expected"),
        [
            ({"preconditioning_enabled": True}, datetime(2024, 6, 4, 6, 0, tzinfo=UTC)),
            ({"preconditioning_enabled": False, "off_peak_charging_enabled": False}, None),
        ],
        ids=["scheduled-departure-on", "stale-time-with-feature-off"],
    )
    async def test_the_owners_scheduled_departure_is_published_only_while_it_is_on(
        self,
        make_poller: MakePoller,
        publisher: RecordingPublisher,
        fake_tessie: FakeTessie,
        charge: dict[str, Any],
        expected: datetime | None,
    ) -> None:
        fake_tessie.add(VIN_A, **charge)
        poller = make_poller()

        await poller.poll_vehicle(VIN_A)
        assert await poller.flush(VIN_A)

        [sample] = publisher.published
        assert sample.scheduled_departure_at == expected

    async def test_a_nan_from_tessie_empties_that_field_and_the_sample_is_published(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        state = fake_tessie.states[VIN_A]
        state["charge_state"]["battery_level"] = float("nan")
        state["climate_state"]["outside_temp"] = float("-inf")
        state["drive_state"]["power"] = "NaN"
        poller = make_poller()

        await poller.poll_vehicle(VIN_A)
        assert await poller.flush(VIN_A)

        [sample] = publisher.published
        assert (sample.battery_level_pct, sample.outside_temp_c, sample.power_kw) == (
            None,
            None,
            None,
        )
        assert sample.usable_battery_level_pct == 75
        assert sample.inside_temp_c == 21.4
        assert sample.odometer_km == pytest.approx(18342.71 * 1.609344)

    async def test_the_same_snapshot_is_published_only_once(
        self, make_poller: MakePoller, publisher: RecordingPublisher
    ) -> None:
        poller = make_poller()

        for _ in range(3):
            await poller.poll_vehicle(VIN_A)
            await poller.flush(VIN_A)

        assert len(publisher.published) == 1

    async def test_a_newer_snapshot_is_published_after_the_first(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        poller = make_poller()
        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)

        fake_tessie.advance(VIN_A, 15_000)
        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)

        first, second = publisher.published
        assert second.sampled_at - first.sampled_at == timedelta(seconds=15)

    async def test_a_sleeping_car_gets_no_state_read_once_its_last_state_is_known(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        poller = make_poller()
        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)
        fake_tessie.requests.clear()
        fake_tessie.statuses[VIN_A] = "asleep"

        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)

        assert fake_tessie.paths() == [f"/{VIN_A}/status"]
        assert len(publisher.published) == 1

    async def test_a_car_asleep_at_start_is_read_once_from_the_cache(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.statuses[VIN_A] = "asleep"
        fake_tessie.states[VIN_A]["state"] = "asleep"
        poller = make_poller()

        for _ in range(3):
            await poller.poll_vehicle(VIN_A)
            await poller.flush(VIN_A)

        assert fake_tessie.paths().count(f"/{VIN_A}/state") == 1
        [sample] = publisher.published
        assert sample.online_state == "asleep"
        assert fake_tessie.wakes == fake_tessie.live_reads == 0

    async def test_a_car_waiting_for_sleep_is_read_from_the_cache(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.statuses[VIN_A] = "waiting_for_sleep"
        poller = make_poller()

        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)

        assert fake_tessie.paths() == [f"/{VIN_A}/status", f"/{VIN_A}/state"]
        assert len(publisher.published) == 1
        assert fake_tessie.wakes == fake_tessie.live_reads == 0

    async def test_polls_published_samples_and_sample_age_are_measured(
        self,
        make_poller: MakePoller,
        metrics: IngestMetrics,
        clock: FixedClock,
    ) -> None:
        poller = make_poller()

        await poller.poll_vehicle(VIN_A)
        await poller.flush(VIN_A)
        clock.advance(timedelta(seconds=60))
        await poller.poll_vehicle(VIN_A)

        assert metrics.polls._value.get() == 2
        assert metrics.samples_published._value.get() == 1
        # snapshot taken 16:00:00.123, clock now 16:01:30: one car between 60 s and 5 min behind
        [ages] = metrics.last_sample_age.collect()
        values = {(s.name, s.labels.get("le")): s.value for s in ages.samples}
        assert values[("tc_ingest_last_sample_age_seconds_bucket", "60.0")] == 0
        assert values[("tc_ingest_last_sample_age_seconds_bucket", "300.0")] == 1
        assert values[("tc_ingest_last_sample_age_seconds_gcount", None)] == 1
        assert values[("tc_ingest_last_sample_age_seconds_gsum", None)] == pytest.approx(89.877)
        assert all(VIN_A not in str(s.labels) for s in ages.samples)


class TestBrokerOutage:
    async def test_a_sample_the_broker_did_not_acknowledge_stays_queued(
        self, make_poller: MakePoller, publisher: RecordingPublisher
    ) -> None:
        poller = make_poller()
        publisher.down = True

        await poller.poll_vehicle(VIN_A)
        delivered = await poller.flush(VIN_A)

        assert not delivered
        assert poller.last_published_at(VIN_A) is None
        assert poller.pending_count(VIN_A) == 1

    async def test_queued_samples_are_sent_in_order_once_the_broker_is_back(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        poller = make_poller()
        publisher.down = True
        for _ in range(3):
            await poller.poll_vehicle(VIN_A)
            await poller.flush(VIN_A)
            fake_tessie.advance(VIN_A, 10_000)

        publisher.down = False
        assert await poller.flush(VIN_A)

        times = [s.sampled_at for s in publisher.published]
        assert len(times) == 3
        assert times == sorted(times)
        assert poller.last_published_at(VIN_A) == times[-1]
        assert poller.pending_count(VIN_A) == 0


class TestLoops:
    async def test_configured_vins_are_polled_until_stopped(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.add(VIN_B)
        poller = make_poller(vins=[VIN_A, VIN_B])

        await poller.start()
        await eventually(lambda: len(publisher.published) == 2)
        await poller.stop()

        assert {s.vehicle_id for s in publisher.published} == {VIN_A, VIN_B}
        assert "/vehicles" not in fake_tessie.paths()
        assert poller.vehicles == []
        requests_after_stop = len(fake_tessie.requests)
        await asyncio.sleep(0.1)
        assert len(fake_tessie.requests) == requests_after_stop

    async def test_vehicles_are_discovered_when_no_vins_are_configured(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        fake_tessie.add(VIN_B)
        poller = make_poller()

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 2)
            assert poller.vehicles == [VIN_A, VIN_B]
        finally:
            await poller.stop()

        assert fake_tessie.paths()[0] == "/vehicles"

    async def test_each_new_snapshot_is_published_once_while_polling(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        poller = make_poller(vins=[VIN_A])

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 1)
            fake_tessie.advance(VIN_A, 30_000)
            await eventually(lambda: len(publisher.published) == 2)
            await asyncio.sleep(0.1)
        finally:
            await poller.stop()

        assert len(publisher.published) == 2

    async def test_samples_from_a_broker_outage_are_published_after_it(
        self, make_poller: MakePoller, publisher: RecordingPublisher, fake_tessie: FakeTessie
    ) -> None:
        poller = make_poller(vins=[VIN_A])
        publisher.down = True

        await poller.start()
        try:
            await eventually(lambda: publisher.attempts >= 3)
            fake_tessie.advance(VIN_A, 30_000)
            await eventually(lambda: poller.pending_count(VIN_A) == 2)
            publisher.down = False
            await eventually(lambda: len(publisher.published) == 2)
        finally:
            await poller.stop()

        first, second = publisher.published
        assert second.sampled_at - first.sampled_at == timedelta(seconds=30)

    async def test_a_rejected_token_is_logged_once_and_never_printed(
        self,
        make_poller: MakePoller,
        fake_tessie: FakeTessie,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        fake_tessie.add(VIN_B)
        bad_token = "revoked-token-9d8c7b6a"
        poller = make_poller(token=bad_token, vins=[VIN_A, VIN_B], auth_backoff_s=0.05)
        caplog.set_level(logging.INFO, logger="tc_ingest")

        await poller.start()
        try:
            await eventually(lambda: len(fake_tessie.requests) >= 6)
        finally:
            await poller.stop()

        rejections = [r for r in caplog.records if "rejected the access token" in r.message]
        assert len(rejections) == 1
        assert bad_token not in caplog.text
        assert all(p.endswith("/status") for p in fake_tessie.paths())

    async def test_polling_resumes_when_the_token_is_accepted_again(
        self,
        make_poller: MakePoller,
        publisher: RecordingPublisher,
        fake_tessie: FakeTessie,
    ) -> None:
        fake_tessie.fail_next(401)
        poller = make_poller(vins=[VIN_A], auth_backoff_s=0.05)

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 1)
        finally:
            await poller.stop()

    async def test_whoever_runs_the_poller_is_told_of_each_refusal_and_acceptance(
        self,
        make_poller: MakePoller,
        publisher: RecordingPublisher,
        fake_tessie: FakeTessie,
    ) -> None:
        # An account's supervisor decides on these (stop, publish); the poller only reports.
        answers: list[int | str] = []
        fake_tessie.fail_next(403)
        poller = make_poller(
            vins=[VIN_A],
            auth_backoff_s=0.05,
            on_auth_rejected=answers.append,
            on_auth_accepted=lambda: answers.append("accepted"),
        )

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 1)
        finally:
            await poller.stop()

        assert answers[:2] == [403, "accepted"]

    async def test_a_vehicle_that_left_the_account_stops_being_polled(
        self,
        make_poller: MakePoller,
        publisher: RecordingPublisher,
        fake_tessie: FakeTessie,
    ) -> None:
        fake_tessie.add(VIN_B)
        poller = make_poller(vins=[VIN_A, VIN_B])

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 2)
            del fake_tessie.states[VIN_B]
            await eventually(lambda: poller.vehicles == [VIN_A])
            fake_tessie.advance(VIN_A, 30_000)
            await eventually(lambda: len(publisher.published) == 3)
        finally:
            await poller.stop()

    async def test_transient_tessie_errors_do_not_stop_the_loop(
        self,
        make_poller: MakePoller,
        publisher: RecordingPublisher,
        fake_tessie: FakeTessie,
    ) -> None:
        fake_tessie.fail_next(500, count=12)
        poller = make_poller(vins=[VIN_A])

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 1)
        finally:
            await poller.stop()

        assert len(fake_tessie.requests) > 12

    async def test_vehicle_discovery_waits_as_long_as_retry_after_asks(
        self,
        make_client: MakeClient,
        publisher: RecordingPublisher,
        clock: FixedClock,
        metrics: IngestMetrics,
        fake_tessie: FakeTessie,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # A Retry-After beyond the client's backoff cap ends the call at once with
        # TessieUnavailableError(retry_after_s=0.6); without any vehicle yet, discovery would
        # otherwise come back at poll pace (0.02 s) and hammer a throttling Tessie.
        listed_at: list[float] = []
        serve = fake_tessie.handle

        def timed(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/vehicles":
                listed_at.append(time.monotonic())
            return serve(request)

        monkeypatch.setattr(fake_tessie, "handle", timed)
        fake_tessie.fail_next(429, headers={"Retry-After": "0.6"})
        poller = TelemetryPoller(
            make_client(backoff_cap_s=0.1),
            publisher,
            clock=clock,
            metrics=metrics,
            poll_interval_s=0.02,
            jitter=lambda: 0.0,
        )

        await poller.start()
        try:
            await eventually(lambda: len(publisher.published) == 1)
        finally:
            await poller.stop()

        first, second = listed_at[:2]
        assert second - first >= 0.6
