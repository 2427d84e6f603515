"""Clocks: a shifted one plays another moment at real speed; production refuses it."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tc_common.clock import FixedClock, ShiftedClock, SystemClock, as_now_fn, system_or_shifted
from tc_common.settings import ServiceSettings

NEW_YEAR = datetime(2027, 1, 1, tzinfo=UTC)


def test_a_shifted_clock_starts_at_the_moment_and_runs_at_real_speed() -> None:
    clock = ShiftedClock.starting_at(NEW_YEAR - timedelta(seconds=1))
    first = clock.now()
    time.sleep(0.05)
    second = clock.now()

    assert abs(first - (NEW_YEAR - timedelta(seconds=1))) < timedelta(seconds=1)
    assert timedelta(seconds=0.04) < second - first < timedelta(seconds=1)
    assert second.tzinfo is UTC


def test_two_clocks_with_one_offset_agree() -> None:
    offset = NEW_YEAR - datetime.now(UTC)
    a, b = ShiftedClock(offset), ShiftedClock(offset)

    assert abs(a.now() - b.now()) < timedelta(milliseconds=50)


def test_no_offset_is_the_system_clock() -> None:
    assert isinstance(system_or_shifted(0.0), SystemClock)
    assert isinstance(system_or_shifted(-3600.0), ShiftedClock)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        ShiftedClock.starting_at(datetime(2027, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        FixedClock(NEW_YEAR).set(datetime(2027, 1, 1))  # noqa: DTZ001


def test_now_may_come_from_a_callable_or_a_clock() -> None:
    assert as_now_fn(FixedClock(NEW_YEAR))() == NEW_YEAR
    assert as_now_fn(lambda: NEW_YEAR)() == NEW_YEAR
    assert as_now_fn(None)().tzinfo is UTC


def test_a_service_runs_on_the_shifted_clock_in_development_only() -> None:
    shifted = ServiceSettings(clock_offset_s=86_400.0)
    assert shifted.clock().now() - datetime.now(UTC) > timedelta(hours=23)
    assert isinstance(ServiceSettings().clock(), SystemClock)
    with pytest.raises(ValidationError, match="production runs on the system clock"):
        ServiceSettings(environment="production", clock_offset_s=60.0)
