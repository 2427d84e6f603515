"""When a failed profile email is tried again."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_provisioner.deliveries import next_attempt_at

NOW = datetime(2026, 12, 10, 6, 30, tzinfo=UTC)


def after(attempts: int, *, permanent: bool = False, max_attempts: int = 12) -> datetime | None:
    return next_attempt_at(
        attempts, NOW, permanent=permanent, initial_s=30, max_s=3600, max_attempts=max_attempts
    )


def test_the_pause_doubles_from_the_first_and_stops_growing_at_the_longest() -> None:
    pauses = [after(n) for n in range(1, 10)]
    assert [p - NOW for p in pauses if p] == [
        timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 960, 1920, 3600, 3600)
    ]


def test_a_permanent_refusal_is_not_tried_again() -> None:
    assert after(1, permanent=True) is None


def test_after_the_last_attempt_it_is_given_up() -> None:
    assert after(11) is not None
    assert after(12) is None


def test_no_attempt_made_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        after(0)
