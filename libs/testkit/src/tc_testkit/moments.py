"""The moments the time-sensitive tests run at.

The simulated fleet lives on Oslo time: people leave for work on weekday mornings, sleep at
night, run errands on Saturdays. A test that lets it follow the wall clock passes or fails by
the hour CI happens to run (issue 9: ``make test`` failed on a Saturday afternoon because one
car was asleep). Every test that depends on what the fleet or the market is doing pins its
clock to these moments instead, and asserts what must hold at each.

Each moment is a few seconds before something changes where that matters (a DST jump, a new
year), so a test that runs for a minute from it crosses the change.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class Moment:
    name: str
    at: datetime
    why: str

    def __str__(self) -> str:
        return self.name


WEEKDAY_MORNING = Moment(
    "weekday-0730",
    datetime(2026, 12, 10, 7, 30, tzinfo=OSLO),
    "a Thursday 07:30 in Oslo: commuters leave; in the simulated fleet one car drives, one "
    "sleeps at work, one is parked at home",
)
WEEKDAY_NIGHT = Moment(
    "weekday-0300",
    datetime(2026, 12, 10, 3, 0, tzinfo=OSLO),
    "a Thursday 03:00 in Oslo: every car parked at home; asleep unless sentry keeps it awake",
)
SATURDAY_AFTERNOON = Moment(
    "saturday-1300",
    datetime(2026, 12, 5, 13, 0, tzinfo=OSLO),
    "a Saturday 13:00 in Oslo: errands; the hour issue 9's make test failed at",
)
DST_FALL_BACK = Moment(
    "dst-fall-back",
    datetime(2026, 10, 25, 0, 59, 30, tzinfo=UTC),
    "30 s before 03:00 CEST becomes 02:00 CET (2026-10-25): the local hour repeats",
)
DST_SPRING_FORWARD = Moment(
    "dst-spring-forward",
    datetime(2027, 3, 28, 0, 59, 30, tzinfo=UTC),
    "30 s before 02:00 CET becomes 03:00 CEST (2027-03-28): the local hour is skipped",
)
NEW_YEARS_EVE = Moment(
    "new-years-eve",
    datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
    "New Year's Eve 23:59 UTC: the UTC year turns a minute later, Oslo's turned an hour ago",
)

MOMENTS: tuple[Moment, ...] = (
    WEEKDAY_MORNING,
    WEEKDAY_NIGHT,
    SATURDAY_AFTERNOON,
    DST_FALL_BACK,
    DST_SPRING_FORWARD,
    NEW_YEARS_EVE,
)


def each_moment(
    moments: tuple[Moment, ...] = MOMENTS, *, in_make_test: tuple[Moment, ...] | None = None
) -> pytest.MarkDecorator:
    """``@each_moment()`` runs a test once per moment, with the moment as ``moment``.

    A test too slow to run at every moment in ``make test`` (a whole stack per moment) names
    the moments it runs there with ``in_make_test``; the others are marked ``all_moments``,
    which ``make test-moments`` runs and ``make test`` leaves out.
    """
    params = [
        pytest.param(
            m,
            id=m.name,
            marks=() if in_make_test is None or m in in_make_test else pytest.mark.all_moments,
        )
        for m in moments
    ]
    return pytest.mark.parametrize("moment", params)
