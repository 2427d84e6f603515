"""One slot type for prices, forecasts and plans (after evcc's ``api.Rate``/``api.Rates``).

A slot is a half-open UTC interval ``[start_at, end_at)``. Market data arrives in 60- or
15-minute resolution; consumers normalise at the edge with ``Slots.resample``. Slots are always
generated from UTC, never from local wall-clock time, so DST days simply have 92 or 100
quarter-hours.
"""

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

QUARTER_HOUR = timedelta(minutes=15)
HOUR = timedelta(hours=1)


class Slot(BaseModel):
    """A value over ``[start_at, end_at)``; ``value`` carries its unit in the owner's field name."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    start_at: AwareDatetime = Field(description="Start of the interval (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the interval (UTC, exclusive).")

    @model_validator(mode="after")
    def _ordered_utc(self) -> "Slot":
        # To UTC first: two datetimes of one tzinfo compare as wall-clock times, so an
        # interval given in local time across the clocks going back would look reversed.
        object.__setattr__(self, "start_at", self.start_at.astimezone(UTC))
        object.__setattr__(self, "end_at", self.end_at.astimezone(UTC))
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    @property
    def duration(self) -> timedelta:
        return self.end_at - self.start_at

    def contains(self, at: datetime) -> bool:
        return self.start_at <= at < self.end_at


S = TypeVar("S", bound=Slot)


class Slots(Generic[S]):
    """An immutable, sorted, non-overlapping run of slots with lookup by instant.

    Construction sorts by ``start_at`` and REJECTS overlaps; gaps are allowed (a price feed may
    miss hours) and ``at()`` returns ``None`` inside a gap.
    """

    def __init__(self, slots: Iterable[S]) -> None:
        ordered = sorted(slots, key=lambda s: s.start_at)
        for before, after in pairwise(ordered):
            if after.start_at < before.end_at:
                raise ValueError(f"overlapping slots at {after.start_at.isoformat()}")
        self._slots: tuple[S, ...] = tuple(ordered)
        self._starts = [s.start_at for s in self._slots]

    def __iter__(self) -> Iterator[S]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __getitem__(self, index: int) -> S:
        return self._slots[index]

    def sorted(self) -> Sequence[S]:
        return self._slots

    def at(self, instant: datetime) -> S | None:
        i = bisect_right(self._starts, instant) - 1
        if i >= 0 and self._slots[i].contains(instant):
            return self._slots[i]
        return None

    def between(self, start: datetime, end: datetime) -> "Slots[S]":
        """Slots that overlap ``[start, end)``."""
        return Slots(s for s in self._slots if s.start_at < end and s.end_at > start)

    @property
    def start_at(self) -> datetime | None:
        return self._slots[0].start_at if self._slots else None

    @property
    def end_at(self) -> datetime | None:
        return self._slots[-1].end_at if self._slots else None

    def gaps(self) -> list[tuple[datetime, datetime]]:
        return [(a.end_at, b.start_at) for a, b in pairwise(self._slots) if b.start_at > a.end_at]


def quarter_hours(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The UTC quarter-hours covering ``[start, end)``; both MUST be aligned to 15 minutes."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("quarter_hours needs aware datetimes")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if (start.minute % 15, start.second, start.microsecond) != (0, 0, 0):
        raise ValueError("start is not aligned to a quarter-hour")
    out = []
    at = start
    while at < end:
        out.append((at, at + QUARTER_HOUR))
        at += QUARTER_HOUR
    return out
