"""What a car is doing and since when: from /status and the newest snapshot (pure rules)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tc_common.events import TelemetrySampled, VehicleActivityObserved
from tc_ingest.domain.activity import activity_of, is_due, observe
from tc_testkit.events import VIN, telemetry_sample

T0 = datetime(2026, 12, 9, 6, 0, tzinfo=UTC)


def snapshot(at: datetime = T0, **values: Any) -> TelemetrySampled:
    return telemetry_sample(VIN, at, **values)


@pytest.mark.parametrize(
    ("status", "values", "expected"),
    [
        ("asleep", {"shift_state": "D", "speed_kmh": 50.0}, "asleep"),
        ("awake", {"shift_state": "D", "speed_kmh": 50.0}, "driving"),
        ("awake", {"shift_state": "R"}, "driving"),
        ("awake", {"shift_state": None, "speed_kmh": 3.0}, "driving"),
        ("awake", {"charging_state": "Charging"}, "charging"),
        ("awake", {"charging_state": "Starting"}, "charging"),
        ("waiting_for_sleep", {"charging_state": "Complete"}, "awake"),
        ("awake", {"shift_state": "P", "charging_state": "Stopped"}, "awake"),
        ("awake", {"online_state": "offline"}, "offline"),
        ("offline", {}, "offline"),
        ("Asleep ", {}, "asleep"),
    ],
)
def test_the_activity_comes_from_the_sleep_status_first_then_the_snapshot(
    status: str, values: dict[str, Any], expected: str
) -> None:
    assert activity_of(status, snapshot(**values)) == expected


def test_a_car_without_any_snapshot_is_awake_unless_it_says_it_sleeps() -> None:
    assert activity_of("awake", None) == "awake"
    assert activity_of("asleep", None) == "asleep"


def test_a_car_found_asleep_at_start_sleeps_since_its_last_snapshot() -> None:
    fell_asleep = T0 - timedelta(hours=3)

    seen = observe(None, VIN, "asleep", now=T0, latest_sampled_at=fell_asleep)

    assert (seen.activity, seen.since, seen.observed_at) == ("asleep", fell_asleep, T0)


def test_the_same_activity_keeps_its_start_and_refreshes_when_it_was_seen() -> None:
    first = observe(None, VIN, "awake", now=T0, latest_sampled_at=T0)

    later = observe(first, VIN, "awake", now=T0 + timedelta(minutes=3), latest_sampled_at=T0)

    assert later.since == T0
    assert later.observed_at == T0 + timedelta(minutes=3)


def test_a_new_activity_starts_at_the_snapshot_that_shows_it() -> None:
    parked = observe(None, VIN, "awake", now=T0, latest_sampled_at=T0)
    drive_seen = T0 + timedelta(seconds=20)

    driving = observe(
        parked, VIN, "driving", now=T0 + timedelta(seconds=30), latest_sampled_at=drive_seen
    )

    assert (driving.activity, driving.since) == ("driving", drive_seen)


def test_a_new_activity_without_a_newer_snapshot_starts_at_the_poll_that_saw_it() -> None:
    asleep = observe(None, VIN, "asleep", now=T0, latest_sampled_at=T0 - timedelta(hours=1))
    woke_seen = T0 + timedelta(minutes=10)

    # Tessie's cache may still hold the snapshot from before the car slept.
    awake = observe(asleep, VIN, "awake", now=woke_seen, latest_sampled_at=asleep.since)

    assert (awake.activity, awake.since) == ("awake", woke_seen)


def test_since_is_never_after_the_observation_even_with_a_car_clock_ahead() -> None:
    seen = observe(None, VIN, "driving", now=T0, latest_sampled_at=T0 + timedelta(seconds=40))

    assert seen.since == T0


def test_an_observation_is_published_on_change_and_as_a_heartbeat() -> None:
    heartbeat = timedelta(minutes=5)
    first = observe(None, VIN, "awake", now=T0, latest_sampled_at=T0)
    soon = observe(first, VIN, "awake", now=T0 + timedelta(minutes=1), latest_sampled_at=T0)
    late = observe(first, VIN, "awake", now=T0 + timedelta(minutes=5), latest_sampled_at=T0)
    changed = observe(
        first,
        VIN,
        "charging",
        now=T0 + timedelta(minutes=1),
        latest_sampled_at=T0 + timedelta(seconds=50),
    )

    assert is_due(None, first, heartbeat=heartbeat)
    assert not is_due(first, soon, heartbeat=heartbeat)
    assert is_due(first, late, heartbeat=heartbeat)
    assert is_due(first, changed, heartbeat=heartbeat)


def test_an_activity_that_starts_after_it_was_observed_is_refused() -> None:
    with pytest.raises(ValueError, match="since must not be after observed_at"):
        VehicleActivityObserved(
            vehicle_id=VIN, activity="awake", since=T0 + timedelta(seconds=1), observed_at=T0
        )
