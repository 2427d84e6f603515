"""Daily price/exogenous arrays and the causal feature matrices built from them.

Everything works on *daily* arrays: ``prices[d, h]`` is the price of hour ``h`` of day ``d``
and ``exog[d, h, j]`` the ``j``-th exogenous forecast (load, wind) for that hour. A forecast
issued for day ``o`` (the *origin*) may use prices of days ``< o`` and the exogenous forecasts of
days ``<= o``; nothing else. The feature builders below only ever read those cells, and the
tests check it by perturbing the forbidden ones.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

HOURS = 24
# Lags (in days before the origin) of the full 24-hour price profiles, as in epftoolbox's LEAR.
PRICE_LAGS_DAYS = (1, 2, 3, 7)
# Lags of the exogenous profiles: 0 is the origin day itself (its day-ahead forecasts are known).
EXOG_LAGS_DAYS = (0, 1, 7)
MAX_LAG_DAYS = 7


@dataclass(frozen=True)
class DailyMarket:
    """A market's history as whole days: prices (days, 24), exogenous (days, 24, k), weekdays.

    ``weekday[d]`` is 0 for Monday. ``prices`` may hold NaN for days not yet known (the days
    being forecast); the builders never read them for the day they build features for.
    """

    prices: FloatArray
    exog: FloatArray
    weekday: NDArray[np.int64]

    @property
    def n_days(self) -> int:
        return int(self.prices.shape[0])

    @property
    def n_exog(self) -> int:
        return int(self.exog.shape[2])


def lear_features(
    market: DailyMarket, origin: NDArray[np.int64], horizon_days: int = 0
) -> FloatArray:
    """Feature rows (one per origin day) for the day ``origin + horizon_days``.

    Columns: prices of days o-1, o-2, o-3, o-7 (24 each); for H>0 also the prices of the target's
    weekday a week earlier (t-7 <= o-1 as long as H <= 6); each exogenous series on days o, o-1,
    o-7 (24 each); then 7 weekday dummies of the *target* day. Exogenous forecasts of days after
    the origin are never used: they would not have been published yet.
    """
    o = np.asarray(origin, dtype=np.int64)
    target = o + horizon_days
    if np.any(o < MAX_LAG_DAYS):
        raise ValueError("origins need 7 days of history")
    if horizon_days > MAX_LAG_DAYS - 1:
        raise ValueError("horizon_days must be at most 6 (a week-ago price must be known)")
    blocks = [market.prices[o - lag] for lag in PRICE_LAGS_DAYS]
    if horizon_days > 0:
        blocks.append(market.prices[target - 7])
    for j in range(market.n_exog):
        blocks.extend(market.exog[o - lag, :, j] for lag in EXOG_LAGS_DAYS)
    dummies = np.zeros((o.size, 7))
    dummies[np.arange(o.size), market.weekday[np.clip(target, 0, market.n_days - 1)] % 7] = 1.0
    if np.any(target >= market.n_days):
        # Weekdays past the end of the arrays follow the calendar.
        beyond = target >= market.n_days
        last = market.weekday[-1] + (target[beyond] - (market.n_days - 1))
        dummies[beyond] = 0.0
        dummies[np.flatnonzero(beyond), last % 7] = 1.0
    blocks.append(dummies)
    return np.concatenate(blocks, axis=1).astype(np.float64)


def n_price_columns(horizon_days: int) -> int:
    """How many leading columns of :func:`lear_features` are prices (scaled like the target)."""
    return HOURS * (len(PRICE_LAGS_DAYS) + (1 if horizon_days > 0 else 0))
