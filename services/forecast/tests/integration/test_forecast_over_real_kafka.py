"""The forecast app against a real Kafka-protocol broker: real topics, groups and offsets."""

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream

from tc_common.events import MessageDeadLettered, StateOfChargeChanged, TelemetrySampled
from tc_common.topics import DEAD_LETTER_V1, STATE_OF_CHARGE_CHANGED_V1, TELEMETRY_SAMPLED_V1
from tc_devstack import LocalKafka
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.kafka import consume, produce
from tc_testkit.service_app import healthz_status, until_ready

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

T0 = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def new_vin() -> str:
    return f"TEST{uuid.uuid4().hex[:13].upper()}"


def sample(vin: str, minute: int, level_pct: float) -> TelemetrySampled:
    return telemetry_sample(vin, T0 + timedelta(minutes=minute), battery_level_pct=level_pct)


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    """A broker of this module's own. On the session's shared broker the app, which replays
    every changelog there at its start, did not start consuming within 150 s in full runs
    (it does in seconds alone or after the other forecast tests); what the earlier tests leave
    there is not what these tests are about."""
    with LocalKafka() as broker:
        yield broker


@pytest.fixture
async def running_app(kafka: LocalKafka) -> AsyncIterator[AsgiFastStream]:
    # Each test starts a new app in the group "forecast": when the previous one's consumer has
    # not left it yet, the broker holds the join for up to the rebalance timeout, which follows
    # max_poll_interval (5 min by default). The subscribers then started only after the test
    # had given up; these handlers never take 20 s.
    kafka_settings = {"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 20_000}
    app = create_app(ForecastSettings(kafka=kafka_settings))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await until_ready(app)
        yield app


async def consume_until(kafka: LocalKafka, topic: str, key: bytes, count: int) -> list[bytes]:
    """Values under ``key`` on ``topic`` from the beginning, once ``count`` arrived (or timeout)."""
    return await consume(
        kafka.bootstrap_servers,
        topic,
        lambda r: r.value if r.key == key else None,
        until=lambda found: len(found) >= count,
        # In a loaded full run the app's subscribers took 90 s to start (on the session's shared
        # broker, whose changelogs its start replays); the app is ready now, but the margin
        # costs nothing when all is well.
        timeout_s=150,
    )


async def test_telemetry_samples_come_out_as_state_of_charge_changes(
    kafka: LocalKafka, running_app: AsgiFastStream
) -> None:
    vin = new_vin()
    script = [sample(vin, 0, 72.0), sample(vin, 1, 72.4), sample(vin, 2, 73.5)]
    await produce(kafka.bootstrap_servers, TELEMETRY_SAMPLED_V1, script)

    values = await consume_until(kafka, STATE_OF_CHARGE_CHANGED_V1, vin.encode(), count=2)

    changes = [StateOfChargeChanged.model_validate_json(v) for v in values]
    assert [(c.battery_level_pct, c.previous_battery_level_pct, c.as_of) for c in changes] == [
        (72.0, None, T0),
        (73.5, 72.0, T0 + timedelta(minutes=2)),
    ]


async def test_malformed_sample_lands_on_the_dead_letter_topic(
    kafka: LocalKafka, running_app: AsgiFastStream
) -> None:
    vin = new_vin()
    # A valid sample after the bad one proves the partition was not blocked by it.
    await produce(
        kafka.bootstrap_servers,
        TELEMETRY_SAMPLED_V1,
        [(vin.encode(), b'{"vehicle_id": "no dates"}'), sample(vin, 0, 50.0)],
    )

    # A dead letter is keyed by the digest of the source key, never by a VIN.
    digest = hashlib.sha256(vin.encode()).hexdigest()
    letters = await consume_until(kafka, DEAD_LETTER_V1, digest.encode(), count=1)
    changes = await consume_until(kafka, STATE_OF_CHARGE_CHANGED_V1, vin.encode(), count=1)

    (letter,) = [MessageDeadLettered.model_validate_json(v) for v in letters]
    assert (letter.consumer, letter.source_topic) == ("forecast", TELEMETRY_SAMPLED_V1)
    assert letter.payload == "{vehicle_id: string(8)}"
    assert letter.body_sha256 == hashlib.sha256(b'{"vehicle_id": "no dates"}').hexdigest()
    assert [StateOfChargeChanged.model_validate_json(v).battery_level_pct for v in changes] == [
        50.0
    ]


async def test_healthz_follows_the_broker_livez_does_not_and_metrics_are_served(
    kafka: LocalKafka, running_app: AsgiFastStream
) -> None:
    transport = httpx.ASGITransport(app=running_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://forecast") as client:
        metrics = await client.get("/metrics")
        kafka.pause()
        try:
            during_outage = await healthz_status(running_app)
            alive_during_outage = (await client.get("/livez", timeout=30)).status_code
        finally:
            kafka.resume()
    await until_ready(running_app, timeout_s=60)
    after_outage = await healthz_status(running_app)

    assert metrics.status_code == 200
    assert "tc_dead_letters_total" in metrics.text
    assert (during_outage, after_outage) == (503, 204)
    # Liveness restarts the pod when it fails: a broker outage must not.
    assert alive_during_outage == 204
