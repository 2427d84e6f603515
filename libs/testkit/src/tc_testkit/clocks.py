"""Clocks for tests that ``tc_common.clock.FixedClock`` does not cover.

A fake server (the Tessie simulator, the market fakes) and the service under test must agree on
the time; these give them one clock that a test either sets by hand or lets run from a pinned
instant, so the result does not depend on when the test runs.
"""

import time
from datetime import UTC, datetime, timedelta


class MovableClock:
    """Stands at ``at`` until a test sets it anywhere, backwards too (``FixedClock`` only
    advances)."""

    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


class RunningClock:
    """Starts at ``start`` and runs at real speed: for processes that wait on real timers
    (a poll interval, a broker) while the simulated world must be at a chosen hour."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)
