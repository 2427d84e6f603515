"""The forecast handler wired into the app's broker, over FastStream's in-memory Kafka."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tc_common.clock import FixedClock
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    MessageDeadLettered,
    StateOfChargeChanged,
    TelemetrySampled,
)
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.adapters import InMemorySocStateRepo
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.handlers import build_router
from tc_forecast.main import build_runners, create_app
from tc_forecast.plan_runner import PlanRunner
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample
from tc_testkit.market import spot_prices

VIN = "5YJ3E7EB0KF000001"
OTHER_VIN = "5YJ3E7EB0KF000002"
T0 = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def sample(vin: str, minute: int, level_pct: float | None) -> TelemetrySampled:
    return telemetry_sample(vin, T0 + timedelta(minutes=minute), battery_level_pct=level_pct)


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


# --- behaviour profiles and charge plans ---------------------------------------------------

OSLO = ZoneInfo("Europe/Oslo")
CAR = Commuter()
HISTORY_START = date(2026, 1, 5)
EVENING = datetime(2026, 1, 26, 17, tzinfo=OSLO).astimezone(UTC)  # a Monday, after work


def history_until_evening() -> tuple[list[DriveRecorded], list[ChargeRecorded]]:
    drives, charges = commuter_history(HISTORY_START, 22)
    return (
        [d for d in drives if d.ended_at <= EVENING],
        [c for c in charges if c.ended_at <= EVENING],
    )


@pytest.fixture
def wired() -> tuple[KafkaBroker, BehaviourRunner, PlanRunner, FixedClock]:
    clock = FixedClock(EVENING)
    settings = ForecastSettings(behaviour_debounce_s=1.0, plan_startup_grace_s=0)
    behaviour, plans = build_runners(settings, clock)
    broker = KafkaBroker()
    broker.include_router(
        build_router(InMemorySocStateRepo(), soc_step_pct=1.0, behaviour=behaviour, plans=plans)
    )
    return broker, behaviour, plans, clock


async def publish_history_until_evening(br: KafkaBroker) -> None:
    drives, charges = history_until_evening()
    for d in drives:
        await br.publish(d, DRIVE_RECORDED_V1, key=d.kafka_key())
    for c in charges:
        await br.publish(c, CHARGE_RECORDED_V1, key=c.kafka_key())


def publisher(broker: KafkaBroker, topic: str) -> Any:
    (found,) = [p for p in broker.publishers if p.topic == topic]  # type: ignore[attr-defined]
    return found


async def test_drives_and_charges_become_a_ready_behaviour_profile(
    wired: tuple[KafkaBroker, BehaviourRunner, PlanRunner, FixedClock],
) -> None:
    broker, behaviour, _, clock = wired
    async with TestKafkaBroker(broker) as br:
        await publish_history_until_evening(br)
        assert await behaviour.tick() == []  # still arriving: wait for the burst to end
        clock.advance(timedelta(seconds=2))
        await behaviour.tick()
        clock.advance(timedelta(minutes=10))
        await behaviour.tick()  # nothing new: nothing published
        (call,) = publisher(br, BEHAVIOUR_PROFILE_UPDATED_V1).mock.call_args_list

    profile = BehaviourProfileUpdated.model_validate(call.args[0])
    assert (profile.vehicle_id, profile.learning_state, profile.days_observed) == (
        CAR.vehicle_id,
        "ready",
        21,
    )
    assert [loc.kind for loc in profile.locations] == ["home"]
    assert profile.weekdays[0].first_departure_p50_min == pytest.approx(7.5 * 60, abs=20)


async def test_a_plugged_in_car_gets_a_charge_plan_keyed_by_vin(
    wired: tuple[KafkaBroker, BehaviourRunner, PlanRunner, FixedClock],
) -> None:
    broker, behaviour, plans, clock = wired
    async with TestKafkaBroker(broker) as br:
        await publish_history_until_evening(br)
        for day in (date(2026, 1, 26), date(2026, 1, 27)):
            await br.publish(spot_prices(day), SPOT_PRICES_PUBLISHED_V1, key=b"NO1")
        clock.advance(timedelta(seconds=2))
        await behaviour.tick()
        plugged = telemetry_sample(
            CAR.vehicle_id,
            clock.now(),
            battery_level_pct=35.0,
            charge_limit_pct=80.0,
            charging_state="Stopped",
            latitude_deg=CAR.home[0],
            longitude_deg=CAR.home[1],
        )
        await br.publish(plugged, TELEMETRY_SAMPLED_V1, key=plugged.kafka_key())
        await plans.tick()
        (call,) = publisher(br, CHARGE_PLAN_PUBLISHED_V1).mock.call_args_list

    plan = ChargePlanPublished.model_validate(call.args[0])
    assert plan.kafka_key() == CAR.vehicle_id.encode()
    assert plan.status in ("planned", "charging_now")
    assert (plan.trigger, plan.target_source, plan.currency) == (
        "state_changed",
        "learned_need",
        "NOK",
    )
    assert plan.energy_to_add_kwh > 5
    assert sum(s.energy_kwh for s in plan.slots) == pytest.approx(plan.energy_to_add_kwh, rel=0.01)
    assert all(not s.price_is_forecast for s in plan.slots)
    assert plan.expected_cost <= plan.cost_if_charged_now


def test_the_app_consumes_history_and_publishes_profiles_and_plans() -> None:
    app = create_app(ForecastSettings())
    assert isinstance(app.broker, KafkaBroker)
    consumed = {t.name for s in app.broker.subscribers for t in s.topics}  # type: ignore[attr-defined]
    produced = {p.topic for p in app.broker.publishers}  # type: ignore[attr-defined]
    assert {DRIVE_RECORDED_V1, CHARGE_RECORDED_V1, TELEMETRY_SAMPLED_V1} <= consumed
    assert {BEHAVIOUR_PROFILE_UPDATED_V1, CHARGE_PLAN_PUBLISHED_V1} <= produced
