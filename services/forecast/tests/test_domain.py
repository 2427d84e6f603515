"""The state-of-charge tracker, fed scripts of samples of one vehicle."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events import StateOfChargeChanged, TelemetrySampled
from tc_common.events.telemetry import ChargingState
from tc_forecast.domain import SocState, track_soc
from tc_testkit.events import telemetry_sample

VIN = "5YJ3E7EB0KF000001"
T0 = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)

Step = tuple[int, float | None, ChargingState | None]  # (minute, battery %, charging state)
Emitted = tuple[float, float | None, ChargingState | None]  # (level %, previous %, charging)


def sample(
    minute: int, level_pct: float | None, charging: ChargingState | None = None
) -> TelemetrySampled:
    return telemetry_sample(
        VIN, T0 + timedelta(minutes=minute), battery_level_pct=level_pct, charging_state=charging
    )


def run_script(script: list[Step], step_pct: float = 1.0) -> tuple[SocState | None, list[Emitted]]:
    state: SocState | None = None
    emitted: list[Emitted] = []
    for minute, level, charging in script:
        state, change = track_soc(state, sample(minute, level, charging), step_pct=step_pct)
        if change is not None:
            emitted.append(
                (change.battery_level_pct, change.previous_battery_level_pct, change.charging_state)
            )
    return state, emitted


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param([(0, 72.0, None)], [(72.0, None, None)], id="first-sample-is-reported"),
        pytest.param(
            [(0, 72.0, None), (1, 72.5, None), (2, 73.0, None)],
            [(72.0, None, None), (73.0, 72.0, None)],
            id="half-steps-add-up-to-one-report",
        ),
        pytest.param(
            [(0, 72.0, None), (1, 72.6, None), (2, 73.2, None), (3, 73.7, None)],
            [(72.0, None, None), (73.2, 72.0, None)],
            id="drift-is-measured-from-the-last-reported-level",
        ),
        pytest.param(
            [(0, 80.0, None), (1, 79.0, None), (2, 78.5, None)],
            [(80.0, None, None), (79.0, 80.0, None)],
            id="falling-soc-is-reported-too",
        ),
        pytest.param(
            [(0, 72.1, None), (1, 73.1, None)],
            [(72.1, None, None), (73.1, 72.1, None)],
            id="float-rounding-does-not-swallow-a-full-step",
        ),
        pytest.param(
            [(0, 72.0, "Disconnected"), (1, 72.0, "Charging"), (2, 72.4, "Charging")],
            [(72.0, None, "Disconnected"), (72.0, 72.0, "Charging")],
            id="plugging-in-is-reported-without-a-step",
        ),
        pytest.param(
            [(0, 72.0, "Charging"), (1, 72.2, None), (2, 73.0, None)],
            [(72.0, None, "Charging"), (73.0, 72.0, "Charging")],
            id="missing-charging-state-keeps-the-known-one",
        ),
        pytest.param(
            [(10, 80.0, None), (5, 60.0, "Charging"), (11, 80.5, None)],
            [(80.0, None, None)],
            id="out-of-order-sample-is-ignored",
        ),
        pytest.param(
            [(0, 72.0, None), (0, 50.0, None)],
            [(72.0, None, None)],
            id="redelivered-sample-is-ignored",
        ),
        pytest.param(
            [(0, None, "Charging"), (1, 72.0, None), (2, None, "Complete")],
            [(72.0, None, None)],
            id="samples-without-battery-level-are-ignored",
        ),
    ],
)
def test_script_of_samples_emits_changes_in_order(
    script: list[Step], expected: list[Emitted]
) -> None:
    _, emitted = run_script(script)
    assert emitted == expected


def test_step_size_is_configurable() -> None:
    _, emitted = run_script(
        [(0, 70.0, None), (1, 74.0, None), (2, 75.0, None), (3, 76.0, None)], step_pct=5.0
    )
    assert emitted == [(70.0, None, None), (75.0, 70.0, None)]


def test_out_of_order_sample_does_not_move_the_state_back_in_time() -> None:
    state, _ = run_script([(10, 80.0, None), (5, 60.0, None)])
    assert state is not None
    assert (state.as_of, state.battery_level_pct) == (T0 + timedelta(minutes=10), 80.0)


def test_state_follows_every_newer_sample_even_when_nothing_is_reported() -> None:
    state, _ = run_script([(0, 72.0, None), (1, 72.4, None)])
    assert state == SocState(
        vehicle_id=VIN,
        as_of=T0 + timedelta(minutes=1),
        battery_level_pct=72.4,
        charging_state=None,
        reported_battery_level_pct=72.0,
    )


def test_no_state_exists_before_a_battery_level_was_seen() -> None:
    state, change = track_soc(None, sample(0, None, "Charging"), step_pct=1.0)
    assert (state, change) == (None, None)


def test_reported_change_carries_the_vehicle_and_sample_time() -> None:
    _, change = track_soc(None, sample(3, 55.0, "Charging"), step_pct=1.0)
    assert change == StateOfChargeChanged(
        vehicle_id=VIN,
        as_of=T0 + timedelta(minutes=3),
        battery_level_pct=55.0,
        previous_battery_level_pct=None,
        charging_state="Charging",
    )
    assert change.kafka_key() == VIN.encode()
