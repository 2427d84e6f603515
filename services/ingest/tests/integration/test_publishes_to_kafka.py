"""Ingest against the Tessie simulator and a real Kafka-protocol broker (Tansu)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tc_common.clock import ShiftedClock, SystemClock
from tc_common.events import TelemetrySampled
from tc_common.messaging import build_broker, ensure_topics
from tc_common.settings import KafkaSettings
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.adapters.kafka import KafkaSamplePublisher
from tc_ingest.adapters.tessie import TessieHttpClient
from tc_ingest.main import create_app
from tc_ingest.metrics import IngestMetrics
from tc_ingest.poller import TelemetryPoller
from tc_ingest.settings import IngestSettings, TessieSettings
from tc_tessie_sim.server import running_simulator
from tc_testkit.kafka import Record, consume, event_of
from tc_testkit.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SIM_TOKEN = "sim-token-123456"
# A Tuesday, 20:30 in Oslo: every simulated car is parked at home with sentry on, so awake and
# refreshing Tessie's cache every 10 s. The simulated time runs on from here at real speed, so
# the tests do not depend on the hour they run at (at 10:30 the cars would sleep at work).
SIM_START = datetime(2024, 6, 4, 18, 30, tzinfo=UTC)


def samples_of(
    vins: set[str], since: datetime
) -> Callable[[Record], tuple[bytes | None, TelemetrySampled] | None]:
    """A ``keep``: this test's samples (of its simulator's cars, fetched since ``since``). The
    session broker is shared: other tests' samples (some on clocks pinned to other moments) and
    their deliberately malformed messages are on the topic too."""

    def keep(record: Record) -> tuple[bytes | None, TelemetrySampled] | None:
        event = event_of(TelemetrySampled, record)
        if event is None or event.vehicle_id not in vins or event.fetched_at < since:
            return None
        return record.key, event

    return keep


@pytest.fixture
def simulator() -> Any:
    with running_simulator(
        token=SIM_TOKEN,
        vehicles=3,
        seed=1,
        sentry_share=1.0,
        now=ShiftedClock.starting_at(SIM_START),
    ) as sim:
        yield sim


async def test_the_service_publishes_metric_samples_keyed_by_vin_without_waking_cars(
    kafka: LocalKafka, simulator: Any
) -> None:
    settings = IngestSettings(
        tessie=TessieSettings(base_url=simulator.base_url, token=SIM_TOKEN),
        kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        poll_interval_s=5,
    )
    since = datetime.now(UTC)
    vins = set(simulator.vins)

    async with LifespanManager(create_app(settings), startup_timeout=60, shutdown_timeout=30):
        seen = await consume(
            kafka.bootstrap_servers,
            TELEMETRY_SAMPLED_V1,
            samples_of(vins, since),
            until=lambda got: {e.vehicle_id for _, e in got} >= vins,
            timeout_s=90,
        )

    assert {e.vehicle_id for _, e in seen} == vins
    for key, event in seen:
        assert key == event.vehicle_id.encode()
        assert event.online_state == "online"
        assert event.battery_level_pct is not None
        assert 0 <= event.battery_level_pct <= 100
        # a car with 100 % rated range of up to ~650 km; in miles it would read ~60 % of this
        assert event.battery_range_km is not None
        assert 0 < event.battery_range_km < 700
        assert event.odometer_km is not None
        assert event.odometer_km > 0
        assert event.latitude_deg is not None
        assert 55 < event.latitude_deg < 72
    pairs = [(e.vehicle_id, e.sampled_at) for _, e in seen]
    assert len(pairs) == len(set(pairs)), "a sample was published twice"
    stats = simulator.stats()
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0


def metric_sum(text: str, sample: str) -> float:
    """The sum of the samples named ``sample`` in a /metrics text, whatever their labels; 0
    when there are none."""
    return sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == sample
    )


async def test_metrics_after_polling_the_simulator_carry_no_vin(
    kafka: LocalKafka, simulator: Any
) -> None:
    # /metrics is unauthenticated: a VIN there identifies a customer's car to anyone who can
    # reach the port, and every new car would add series.
    settings = IngestSettings(
        tessie=TessieSettings(base_url=simulator.base_url, token=SIM_TOKEN),
        kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        poll_interval_s=5,
        market={"enabled": False},
        weather={"enabled": False},
        # The simulator's time: its cars' samples are fresh and their history is there.
        clock_offset_s=(SIM_START - datetime.now(UTC)).total_seconds(),
    )
    cars = len(simulator.vins)
    app = create_app(settings)

    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(manager.app), base_url="http://ingest.test"
        ) as http,
    ):

        async def scrape() -> str:
            return (await http.get("/metrics")).text

        async def polled_and_synced() -> bool:
            text = await scrape()
            return (
                metric_sum(text, "tc_ingest_samples_published_total") >= cars
                and metric_sum(text, "tc_ingest_history_records_published_total") >= cars
                and "tc_ingest_history_covered_age_seconds" in text
            )

        await eventually(
            polled_and_synced, timeout_s=120, what="every car polled and its history synced"
        )
        text = await scrape()

    assert [vin for vin in simulator.vins if vin in text] == []
    assert "vehicle=" not in text


class RecordingKafkaPublisher:
    """The real Kafka publisher, remembering every sample the poller handed it."""

    def __init__(self, inner: KafkaSamplePublisher) -> None:
        self.inner = inner
        self.offered: list[TelemetrySampled] = []
        self.failures = 0

    async def publish(self, sample: TelemetrySampled) -> None:
        self.offered.append(sample)
        try:
            await self.inner.publish(sample)
        except Exception:
            self.failures += 1
            raise


@pytest.fixture
async def outage_poller(
    kafka: LocalKafka, simulator: Any
) -> AsyncIterator[tuple[TelemetryPoller, RecordingKafkaPublisher]]:
    await ensure_topics(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers), [TELEMETRY_SAMPLED_V1]
    )
    registry = CollectorRegistry()
    # A short request timeout so that publishing during the outage fails (and is retried)
    # rather than merely waiting for the broker to come back.
    broker = build_broker(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=1_000),
        service="ingest-test",
        registry=registry,
    )
    publisher = RecordingKafkaPublisher(
        KafkaSamplePublisher(broker.publisher(TELEMETRY_SAMPLED_V1, schema=TelemetrySampled))
    )
    metrics = IngestMetrics(registry)
    tessie = TessieHttpClient(
        TessieSettings(base_url=simulator.base_url, token=SIM_TOKEN),
        on_error=metrics.count_tessie_error,
    )
    poller = TelemetryPoller(
        tessie,
        publisher,
        clock=SystemClock(),
        metrics=metrics,
        poll_interval_s=1.0,
        publish_backoff_base_s=0.5,
        publish_backoff_cap_s=2.0,
    )
    await broker.start()
    try:
        yield poller, publisher
    finally:
        await poller.stop()
        await tessie.aclose()
        await broker.stop()


async def test_samples_polled_during_a_broker_outage_are_published_after_it(
    kafka: LocalKafka,
    simulator: Any,
    outage_poller: tuple[TelemetryPoller, RecordingKafkaPublisher],
) -> None:
    poller, publisher = outage_poller
    since = datetime.now(UTC)
    vins = set(simulator.vins)
    await poller.start()
    await eventually(lambda: {s.vehicle_id for s in publisher.offered} >= vins, timeout_s=30)

    kafka.pause()
    try:
        paused_at = datetime.now(UTC)
        # Longer than Tessie's 10 s cache refresh: new samples arrive while the broker is down.
        await asyncio.sleep(12)
    finally:
        kafka.resume()
    resumed_at = datetime.now(UTC)

    await eventually(
        lambda: (
            all(poller.pending_count(vin) == 0 for vin in vins)
            and any(s.fetched_at > resumed_at for s in publisher.offered)
        ),
        timeout_s=60,
    )

    expected = {(s.vehicle_id, s.sampled_at) for s in publisher.offered}
    during_outage = {
        (s.vehicle_id, s.sampled_at)
        for s in publisher.offered
        if paused_at <= s.fetched_at <= resumed_at
    }
    seen = await consume(
        kafka.bootstrap_servers,
        TELEMETRY_SAMPLED_V1,
        samples_of(vins, since),
        until=lambda got: expected <= {(e.vehicle_id, e.sampled_at) for _, e in got},
        timeout_s=60,
    )

    assert publisher.failures > 0, "the outage did not make any publish fail"
    assert during_outage, "no sample was polled while the broker was down"
    assert expected <= {(e.vehicle_id, e.sampled_at) for _, e in seen}
    assert all(key == e.vehicle_id.encode() for key, e in seen)
