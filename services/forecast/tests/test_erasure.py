"""The forecast step of an account's erasure (issue 11): which VINs are erased, what is
tombstoned and reported, and that an erased car is not learnt again."""

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tc_common.clock import FixedClock
from tc_common.events import AccountChanged, ErasureStepDone
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.adapters import InMemorySocStateRepo
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.domain.changelog import EpisodeKey, parse_episode_key
from tc_forecast.domain.erasure import ErasedVehicles, erased_after, erasure_done, tombstones_of
from tc_forecast.handlers import build_router
from tc_forecast.main import build_runners
from tc_forecast.plan_runner import PlanRunner
from tc_forecast.settings import ForecastSettings
from tc_testkit.events import telemetry_sample

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 1, 26, 17, tzinfo=OSLO).astimezone(UTC)
ERASED_CAR = Commuter(vehicle_id="5YJ3E7EB0KF0ERASE")
KEPT_CAR = Commuter(vehicle_id="5YJ3E7EB0KF000KEPT")
ACCOUNT = uuid.UUID("00000000-0000-4000-8000-000000000011")


def account_change(state: str, *vins: str, minutes: int = 0) -> AccountChanged:
    return AccountChanged.model_validate(
        {
            "account_id": ACCOUNT,
            "email": "",
            "state": state,
            "vehicle_ids": vins,
            "created_at": NOW - timedelta(days=30),
            "changed_at": NOW + timedelta(minutes=minutes),
            "reason": f"{state} by an operator",
        }
    )


class TestErasedVehicles:
    def test_an_erasure_pending_or_done_erases_the_accounts_vins(self) -> None:
        pending = erased_after(ErasedVehicles(), account_change("erasure_pending", "A", "B"))
        done = erased_after(ErasedVehicles(), account_change("erased", "C"))
        assert ("A" in pending, "B" in pending, "C" in done) == (True, True, True)

    def test_an_active_account_owning_a_vin_brings_it_back(self) -> None:
        erased = erased_after(ErasedVehicles(), account_change("erasure_pending", "A", "B"))
        back = erased_after(erased, account_change("active", "B"))
        assert ("A" in back, "B" in back) == (True, False)

    def test_a_suspension_changes_nothing(self) -> None:
        erased = erased_after(ErasedVehicles(), account_change("erasure_pending", "A"))
        assert erased_after(erased, account_change("suspended", "A")) == erased

    def test_an_erasure_again_keeps_the_tombstones_already_sent(self) -> None:
        sent = {(FORECAST_DRIVES_CHANGELOG_V1, b"A/drive/1")}
        erased = ErasedVehicles().with_tombstones("A", sent)
        again = erased_after(erased, account_change("erasure_pending", "A"))
        assert again.tombstones["A"] == frozenset(sent)


def test_a_vehicle_is_tombstoned_on_its_memory_profile_and_every_known_episode() -> None:
    episodes = [EpisodeKey("A", "drive", 7), EpisodeKey("A", "charge", 3)]
    assert tombstones_of("A", episodes) == {
        (FORECAST_VEHICLES_CHANGELOG_V1, b"A"),
        (BEHAVIOUR_PROFILE_UPDATED_V1, b"A"),
        (FORECAST_DRIVES_CHANGELOG_V1, b"A/drive/7"),
        (FORECAST_CHARGES_CHANGELOG_V1, b"A/charge/3"),
    }


def test_the_report_counts_tombstones_per_topic_and_what_was_forgotten() -> None:
    change = account_change("erasure_pending", "A")
    sent = tombstones_of("A", [EpisodeKey("A", "drive", 1), EpisodeKey("A", "drive", 2)])
    done = erasure_done(change, sent, {"memory.drives": 2}, now=NOW + timedelta(minutes=1))
    assert (done.step, done.account_id, done.requested_at) == ("forecast", ACCOUNT, NOW)
    assert done.removed == {
        BEHAVIOUR_PROFILE_UPDATED_V1: 1,
        FORECAST_DRIVES_CHANGELOG_V1: 2,
        FORECAST_VEHICLES_CHANGELOG_V1: 1,
        "memory.drives": 2,
    }


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (b"5YJ3/drive/12", EpisodeKey("5YJ3", "drive", 12)),
        (b"5YJ3/charge/4", EpisodeKey("5YJ3", "charge", 4)),
        (b"NO1/2026-01-26", None),
        (b"5YJ3/parking/4", None),
        (b"5YJ3/drive/x", None),
        (b"\xff/drive/1", None),
        (None, None),
    ],
    ids=["drive", "charge", "price-day", "other-kind", "no-id", "not-utf8", "no-key"],
)
def test_a_changelog_key_names_its_episode(key: bytes | None, expected: EpisodeKey | None) -> None:
    assert parse_episode_key(key) == expected


# --- wired into the router, over FastStream's in-memory Kafka --------------------------------


class FakeTombstones:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def __call__(self, tombstones: Iterable[tuple[str, bytes]], /) -> int:
        wanted = list(tombstones)
        self.sent += wanted
        return len(wanted)


Wired = tuple[KafkaBroker, BehaviourRunner, PlanRunner, FixedClock, FakeTombstones]


@pytest.fixture
def wired() -> Wired:
    clock = FixedClock(NOW)
    behaviour, plans = build_runners(
        ForecastSettings(behaviour_debounce_s=1.0, plan_startup_grace_s=0), clock
    )
    tombstones = FakeTombstones()
    broker = KafkaBroker()
    broker.include_router(
        build_router(
            InMemorySocStateRepo(),
            soc_step_pct=1.0,
            behaviour=behaviour,
            plans=plans,
            tombstones=tombstones,
            clock=clock,
        )
    )
    return broker, behaviour, plans, clock, tombstones


def publisher(broker: KafkaBroker, topic: str) -> Any:
    (found,) = [p for p in broker.publishers if p.topic == topic]  # type: ignore[attr-defined]
    return found


async def learn(br: KafkaBroker, car: Commuter) -> None:
    drives, charges = commuter_history(date(2026, 1, 5), 21, car=car)
    for d in drives:
        if d.ended_at <= NOW:
            await br.publish(d, DRIVE_RECORDED_V1, key=d.kafka_key())
    for c in charges:
        if c.ended_at <= NOW:
            await br.publish(c, CHARGE_RECORDED_V1, key=c.kafka_key())
    sample = telemetry_sample(car.vehicle_id, NOW, battery_level_pct=40.0)
    await br.publish(sample, TELEMETRY_SAMPLED_V1, key=sample.kafka_key())


async def test_an_erasure_forgets_the_accounts_car_tombstones_its_keys_and_reports(
    wired: Wired,
) -> None:
    broker, behaviour, plans, clock, tombstones = wired
    async with TestKafkaBroker(broker) as br:
        await learn(br, ERASED_CAR)
        await learn(br, KEPT_CAR)
        episodes = behaviour.episodes(ERASED_CAR.vehicle_id)
        kept_episodes = behaviour.episodes(KEPT_CAR.vehicle_id)
        clock.advance(timedelta(minutes=1))
        erasure = account_change("erasure_pending", ERASED_CAR.vehicle_id)
        await br.publish(erasure, ACCOUNT_CHANGED_V1, key=erasure.kafka_key())
        (call,) = publisher(br, ERASURE_STEP_DONE_V1).mock.call_args_list

    done = ErasureStepDone.model_validate(call.args[0])
    assert (done.step, done.requested_at, done.finished_at) == ("forecast", NOW, clock.now())
    drives = sum(e.kind == "drive" for e in episodes)
    assert done.removed[FORECAST_DRIVES_CHANGELOG_V1] == drives > 0
    assert done.removed["memory.drives"] == drives
    assert done.removed["memory.soc_states"] == 1
    assert set(tombstones.sent) == tombstones_of(ERASED_CAR.vehicle_id, episodes)
    assert behaviour.episodes(ERASED_CAR.vehicle_id) == []
    assert plans.live_state(ERASED_CAR.vehicle_id) is None
    assert behaviour.episodes(KEPT_CAR.vehicle_id) == kept_episodes
    assert plans.live_state(KEPT_CAR.vehicle_id) is not None


async def test_a_redelivered_erasure_tombstones_the_same_keys_and_reports_again(
    wired: Wired,
) -> None:
    broker, _, _, _, tombstones = wired
    async with TestKafkaBroker(broker) as br:
        await learn(br, ERASED_CAR)
        erasure = account_change("erasure_pending", ERASED_CAR.vehicle_id)
        await br.publish(erasure, ACCOUNT_CHANGED_V1, key=erasure.kafka_key())
        first = list(tombstones.sent)
        await br.publish(erasure, ACCOUNT_CHANGED_V1, key=erasure.kafka_key())
        calls = publisher(br, ERASURE_STEP_DONE_V1).mock.call_args_list

    assert set(tombstones.sent[len(first) :]) == set(first)
    reports = [ErasureStepDone.model_validate(c.args[0]) for c in calls]
    assert len(reports) == 2
    assert (
        reports[1].removed[FORECAST_DRIVES_CHANGELOG_V1]
        == (reports[0].removed[FORECAST_DRIVES_CHANGELOG_V1])
    )
    assert reports[1].removed["memory.drives"] == 0  # nothing was left to forget


async def test_data_of_an_erased_car_in_flight_is_not_learnt_until_an_active_account_owns_it(
    wired: Wired,
) -> None:
    broker, behaviour, plans, _, _ = wired
    vin = ERASED_CAR.vehicle_id
    async with TestKafkaBroker(broker) as br:
        erasure = account_change("erasure_pending", vin)
        await br.publish(erasure, ACCOUNT_CHANGED_V1, key=erasure.kafka_key())
        await learn(br, ERASED_CAR)
        copies = publisher(br, FORECAST_DRIVES_CHANGELOG_V1).mock.call_args_list
        assert (behaviour.episodes(vin), plans.live_state(vin), copies) == ([], None, [])

        # Sold on to an account that is active: learnt again.
        relinked = account_change("active", vin, minutes=5)
        await br.publish(relinked, ACCOUNT_CHANGED_V1, key=relinked.kafka_key())
        await learn(br, ERASED_CAR)
        assert behaviour.episodes(vin) != []
        assert plans.live_state(vin) is not None


async def test_other_account_states_erase_nothing_and_report_nothing(wired: Wired) -> None:
    broker, behaviour, _, _, tombstones = wired
    async with TestKafkaBroker(broker) as br:
        await learn(br, ERASED_CAR)
        for state in ("active", "suspended", "erased"):
            change = account_change(state, ERASED_CAR.vehicle_id)
            await br.publish(change, ACCOUNT_CHANGED_V1, key=change.kafka_key())
        calls = publisher(br, ERASURE_STEP_DONE_V1).mock.call_args_list

    assert (calls, tombstones.sent) == ([], [])
    assert behaviour.episodes(ERASED_CAR.vehicle_id) != []


# --- a tombstone read back from a changelog ---------------------------------------------------


async def test_a_tombstoned_episode_is_dropped_and_the_last_one_forgets_the_vehicle() -> None:
    clock = FixedClock(NOW)
    behaviour = BehaviourRunner(clock=clock, debounce_s=1.0)
    drives, charges = commuter_history(date(2026, 1, 5), 3, car=ERASED_CAR)
    for d in drives:
        behaviour.on_drive(d)
    for c in charges:
        behaviour.on_charge(c)
    clock.advance(timedelta(seconds=2))
    behaviour.bind(publish=_ignore)
    await behaviour.tick()
    keys = behaviour.episodes(ERASED_CAR.vehicle_id)

    await behaviour.forget_episode(keys[0])
    assert keys[0] not in behaviour.episodes(ERASED_CAR.vehicle_id)
    assert not behaviour.is_settled(ERASED_CAR.vehicle_id)  # rebuilt without it

    for key in keys[1:]:
        await behaviour.forget_episode(key)
    assert behaviour.vehicles() == []
    assert behaviour.profile(ERASED_CAR.vehicle_id) is None


async def _ignore(_event: object) -> None:
    pass
