"""When will a plugged-in car leave? A weighted distribution learnt from earlier sessions.

Pure: sessions and instants are passed in. The planner consumes ``DepartureDistribution``;
``predict_departure`` builds one from the same user's earlier plug-in sessions only.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# With no history at all the car is assumed to stay plugged in this long (overnight).
DEFAULT_DURATION_H = 10.0


@dataclass(frozen=True)
class PastSession:
    """One earlier plug-in session of the same vehicle/user (aware datetimes)."""

    plugged_in_at: datetime
    plugged_out_at: datetime
    energy_kwh: float

    @property
    def duration_h(self) -> float:
        return (self.plugged_out_at - self.plugged_in_at).total_seconds() / 3600.0


@dataclass(frozen=True)
class DepartureDistribution:
    """A weighted sample of plugged-in durations (hours) counted from ``plugged_in_at``."""

    plugged_in_at: datetime
    durations_h: FloatArray
    weights: FloatArray

    def __post_init__(self) -> None:
        if self.durations_h.shape != self.weights.shape or self.durations_h.size == 0:
            raise ValueError("durations and weights must be non-empty and of equal shape")
        order = np.argsort(self.durations_h, kind="stable")
        object.__setattr__(self, "durations_h", np.asarray(self.durations_h[order], float))
        w = np.asarray(self.weights[order], float)
        object.__setattr__(self, "weights", w / w.sum())

    @classmethod
    def point(cls, plugged_in_at: datetime, duration_h: float) -> "DepartureDistribution":
        return cls(plugged_in_at, np.array([duration_h]), np.array([1.0]))

    def quantile_h(self, q: float) -> float:
        """The q-quantile of the duration in hours (lower weighted quantile)."""
        cw = np.cumsum(self.weights)
        i = int(np.searchsorted(cw, q * cw[-1] - 1e-12))
        return float(self.durations_h[min(i, self.durations_h.size - 1)])

    def quantile(self, q: float) -> datetime:
        return self.plugged_in_at + timedelta(hours=self.quantile_h(q))

    def prob_departed_by(self, at: datetime) -> float:
        h = (at - self.plugged_in_at).total_seconds() / 3600.0
        return float(self.weights[self.durations_h <= h].sum())

    def given_still_plugged_at(self, at: datetime) -> "DepartureDistribution":
        """The distribution conditioned on the car not having left by ``at``.

        When every sample says it should have left already, the car is assumed to stay a
        little longer than observed (a quarter of an hour past ``at``) rather than none.
        """
        h = (at - self.plugged_in_at).total_seconds() / 3600.0
        keep = self.durations_h > h
        if not keep.any():
            return DepartureDistribution.point(self.plugged_in_at, h + 0.25)
        return DepartureDistribution(self.plugged_in_at, self.durations_h[keep], self.weights[keep])


def predict_departure(
    history: Sequence[PastSession],
    plugged_in_at: datetime,
    energy_kwh: float | None,  # noqa: ARG001 - the learned model uses it
) -> DepartureDistribution:
    """The departure distribution of a session plugged in at ``plugged_in_at``.

    ``history`` holds only sessions that ended before ``plugged_in_at`` (the caller's duty).
    Baseline implementation: the durations of the same weekday type (weekday/weekend),
    equally weighted; a learned model replaces it.
    """
    if not history:
        return DepartureDistribution.point(plugged_in_at, DEFAULT_DURATION_H)
    weekend = plugged_in_at.weekday() >= 5
    same = [s for s in history if (s.plugged_in_at.weekday() >= 5) == weekend] or list(history)
    durations = np.array([s.duration_h for s in same], dtype=np.float64)
    return DepartureDistribution(plugged_in_at, durations, np.ones_like(durations))
