from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tc_market_fakes.server import RunningMarketFakes, running_market_fakes

TOKEN = "entsoe-token-123456"
# Monday 3 November 2025, 11:00 UTC = 12:00 CET: tomorrow's prices are not out yet.
MONDAY_NOON_CET = datetime(2025, 11, 3, 11, 0, tzinfo=UTC)


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(MONDAY_NOON_CET)


@pytest.fixture
def fakes(clock: MovableClock) -> Iterator[RunningMarketFakes]:
    with running_market_fakes(token=TOKEN, seed=1, now=clock) as running:
        yield running


@pytest.fixture
def client(fakes: RunningMarketFakes) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def set_now(clock: MovableClock) -> Callable[[datetime], None]:
    """Move the fakes' clock."""
    return clock.set
