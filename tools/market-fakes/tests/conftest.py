"""Fixtures of the market fakes' tests: the fakes served on a clock the test moves."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tc_common.clock import FixedClock
from tc_market_fakes.server import RunningMarketFakes, running_market_fakes

TOKEN = "entsoe-token-123456"
# Monday 3 November 2025, 11:00 UTC = 12:00 CET: tomorrow's prices are not out yet.
MONDAY_NOON_CET = datetime(2025, 11, 3, 11, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_NOON_CET)


@pytest.fixture
def fakes(clock: FixedClock) -> Iterator[RunningMarketFakes]:
    with running_market_fakes(token=TOKEN, seed=1, now=clock) as running:
        yield running


@pytest.fixture
def client(fakes: RunningMarketFakes) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def set_now(clock: FixedClock) -> Callable[[datetime], None]:
    """Move the fakes' clock."""
    return clock.set
