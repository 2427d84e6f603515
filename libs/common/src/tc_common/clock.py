"""Time is passed in: domain code takes ``now``, services get a ``Clock``."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time. MUST return an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The system clock moved by a fixed offset: it ticks in real time, from another moment.

    The dev stack runs every process (simulator, market fakes, services) on the same offset, so
    the whole system plays a chosen moment, a weekday 07:30 or a DST night, whatever the wall
    clock says. Processes that compute the offset once and pass it on agree to the microsecond;
    a start time alone would not (each process starts a few seconds after the previous one).
    """

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    @classmethod
    def starting_at(cls, at: datetime) -> "ShiftedClock":
        if at.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware datetime")
        return cls(at - datetime.now(UTC))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def system_or_shifted(offset_s: float) -> Clock:
    """The system clock, or the system clock shifted by ``offset_s`` seconds when non-zero."""
    return ShiftedClock(timedelta(seconds=offset_s)) if offset_s else SystemClock()


class FixedClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)


NowFn = Callable[[], datetime]


def as_now_fn(now: NowFn | Clock | None) -> NowFn:
    """Accept a ``now()`` callable, a ``Clock``, or ``None`` for the system clock."""
    if now is None:
        return SystemClock().now
    if callable(now):
        return now
    return now.now
