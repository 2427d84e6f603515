"""The transform quantile bands are built in: fitted on the 28 days of prices before an origin."""

import numpy as np

from tc_forecast.domain.prices.features import FloatArray
from tc_forecast.domain.prices.transforms import AsinhScaler

SCALE_DAYS = 28


def origin_scaler(prices: FloatArray, origin: int) -> AsinhScaler:
    """One scaler for all hours from prices of days ``origin-28 .. origin-1`` (known then)."""
    lo = max(0, origin - SCALE_DAYS)
    return AsinhScaler.fit(np.asarray(prices[lo:origin], dtype=np.float64), axis=None)
