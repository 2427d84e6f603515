"""Per-user recalibration of the departure risk from the user's own earlier sessions.

Pure. The departure model is deliberately cautious in its low tail (prior, broad mixture,
jitter), and how cautious it is differs per user. Each finished session tells how the
model's conditional distribution fared: at every hour ``k`` the car was still plugged in,
the conditional probability integral transform ``u = P(departure <= real | plugged in at k)``
would be uniform if the model were calibrated. The empirical distribution ``G`` of these
values, shrunk toward the identity while there are few of them, maps the model's conditional
CDF ``F`` to a calibrated one, ``G(F)``. The planner then sees the same duration samples with
the weights of ``G(F)``: its risk ``P(idle < departure < done)`` becomes
``G(F(done)) - G(F(idle))``. Only the same user's sessions that had ended before the decision
may feed ``G`` (the caller's duty).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tc_forecast.domain.behaviour.departure import DepartureDistribution

# ``G`` is the empirical CDF mixed with the identity as if this many PIT values were exactly
# uniform: with few sessions the map stays close to "trust the model".
CALIBRATION_PRIOR_POINTS = 50.0
# Only the first hours after plug-in feed ``G``: that is where the planner takes its risk
# (the evening, before the cheap night), and where the model's low tail is most cautious.
# Measured on bench_planner: all hours moved along the old trade-off frontier, 6 h above it.
CALIBRATION_HORIZON_H = 6.0


def conditional_pits(
    dist: DepartureDistribution,
    real_duration_h: float,
    step_h: float = 1.0,
    max_h: float = CALIBRATION_HORIZON_H,
) -> list[float]:
    """The conditional PIT of a finished session at every ``step_h`` while it was plugged in
    (up to ``max_h`` after plug-in).

    ``dist`` is the distribution predicted at plug-in; ``u_k = P(D <= real | D > k)``.
    """
    cum = np.cumsum(dist.weights)
    cum[-1] = 1.0

    def cdf(x: float) -> float:
        i = int(np.searchsorted(dist.durations_h, x, side="right"))
        return float(cum[i - 1]) if i else 0.0

    f_real = cdf(real_duration_h)
    out = []
    k = 0.0
    last_h = min(real_duration_h, max_h)
    while k < last_h:
        f_k = cdf(k)
        if f_k < 1.0 - 1e-9:
            out.append(min(max((f_real - f_k) / (1.0 - f_k), 0.0), 1.0))
        k += step_h
    return out


@dataclass(frozen=True)
class RiskCalibration:
    """A monotone map ``G: [0, 1] -> [0, 1]`` of the model's conditional CDF values."""

    pits: np.ndarray  # sorted
    prior_points: float = CALIBRATION_PRIOR_POINTS

    @classmethod
    def from_pits(
        cls, pits: Sequence[float], prior_points: float = CALIBRATION_PRIOR_POINTS
    ) -> "RiskCalibration":
        return cls(np.sort(np.asarray(pits, dtype=np.float64)), prior_points)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        n = self.pits.size
        below = np.searchsorted(self.pits, u, side="right").astype(np.float64)
        return np.clip((below + self.prior_points * u) / (n + self.prior_points), 0.0, 1.0)

    def apply(self, dist: DepartureDistribution) -> DepartureDistribution:
        """The same duration samples, reweighted so their CDF is ``G(F)``."""
        if self.pits.size == 0 or dist.durations_h.size == 1:
            return dist
        cum = np.cumsum(dist.weights)
        cum[-1] = 1.0
        g = self(cum)
        g[-1] = 1.0
        w = np.diff(g, prepend=0.0)
        keep = w > 0.0
        if not keep.any():
            return dist
        return DepartureDistribution(dist.plugged_in_at, dist.durations_h[keep], w[keep])
