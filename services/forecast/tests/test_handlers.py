"""The forecast handler wired into the app's broker, over FastStream's in-memory Kafka."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tc_common.events import MessageDeadLettered, StateOfChargeChanged, TelemetrySampled
from tc_common.topics import DEAD_LETTER_V1, STATE_OF_CHARGE_CHANGED_V1, TELEMETRY_SAMPLED_V1
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings

VIN = "5YJ3E7EB0KF000001"
OTHER_VIN = "5YJ3E7EB0KF000002"
T0 = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def sample(vin: str, minute: int, level_pct: float | None) -> TelemetrySampled:
    at = T0 + timedelta(minutes=minute)
    return TelemetrySampled(
        vehicle_id=vin,
        sampled_at=at,
        fetched_at=at,
        online_state="online",
        battery_level_pct=level_pct,
    )


@pytest.fixture
def broker() -> KafkaBroker:
    app = create_app(ForecastSettings(soc_step_pct=1.0))
    assert isinstance(app.broker, KafkaBroker)
    return app.broker


def soc_publisher(broker: KafkaBroker) -> Any:
    (publisher,) = [p for p in broker.publishers if p.topic == STATE_OF_CHARGE_CHANGED_V1]  # type: ignore[attr-defined]
    return publisher


def published_changes(broker: KafkaBroker) -> list[StateOfChargeChanged]:
    mock = soc_publisher(broker).mock
    return [StateOfChargeChanged.model_validate(c.args[0]) for c in mock.call_args_list]


async def test_samples_become_state_of_charge_changes_in_order(broker: KafkaBroker) -> None:
    script = [
        sample(VIN, 0, 72.0),
        sample(VIN, 1, 72.5),
        sample(OTHER_VIN, 1, 40.0),
        sample(VIN, 2, 73.0),
        sample(VIN, 1, 10.0),  # late: older than what the service already knows
        sample(VIN, 3, None),
    ]
    async with TestKafkaBroker(broker) as br:
        for event in script:
            await br.publish(event, TELEMETRY_SAMPLED_V1, key=event.kafka_key())

        changes = published_changes(br)

    assert [(c.vehicle_id, c.battery_level_pct, c.previous_battery_level_pct) for c in changes] == [
        (VIN, 72.0, None),
        (OTHER_VIN, 40.0, None),
        (VIN, 73.0, 72.0),
    ]


async def test_state_of_charge_change_is_keyed_by_vin(broker: KafkaBroker) -> None:
    async with TestKafkaBroker(broker) as br:
        await br.publish(sample(VIN, 0, 72.0), TELEMETRY_SAMPLED_V1, key=VIN.encode())

        (call,) = soc_publisher(br).mock.call_args_list

    assert StateOfChargeChanged.model_validate(call.args[0]).kafka_key() == VIN.encode()


async def test_malformed_sample_is_dead_lettered_and_publishes_nothing(
    broker: KafkaBroker,
) -> None:
    dead_letters: list[MessageDeadLettered] = []

    @broker.subscriber(DEAD_LETTER_V1)
    async def spy(letter: MessageDeadLettered) -> None:
        dead_letters.append(letter)

    async with TestKafkaBroker(broker) as br:
        await br.publish(
            {"vehicle_id": VIN, "battery_level_pct": 250}, TELEMETRY_SAMPLED_V1, key=VIN.encode()
        )

        assert not soc_publisher(br).mock.called

    (letter,) = dead_letters
    assert (letter.consumer, letter.source_topic) == ("forecast", TELEMETRY_SAMPLED_V1)
    assert "battery_level_pct" in letter.reason
