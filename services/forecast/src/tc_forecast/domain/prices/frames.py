"""From hourly (or 15-minute) DataFrames to the daily arrays the models use, and back."""

import numpy as np
import pandas as pd

from tc_forecast.domain.prices.features import HOURS, DailyMarket


def to_hourly(frame: pd.DataFrame) -> pd.DataFrame:
    """Average sub-hourly rows (15-minute prices) into hours; hourly input passes unchanged."""
    hourly = frame.resample("1h").mean()
    return hourly


def daily_market(
    hourly: pd.DataFrame, price_column: str = "price"
) -> tuple[DailyMarket, pd.DatetimeIndex]:
    """Whole days of an hourly frame (naive local time, 24 rows a day) as a :class:`DailyMarket`.

    Every column other than ``price_column`` is an exogenous forecast. Missing exogenous values
    are interpolated (then carried); partial leading/trailing days are dropped. Prices may be
    NaN only in trailing days (the ones to forecast).
    """
    frame = hourly.sort_index()
    frame = frame[~frame.index.duplicated(keep="first")]
    days = frame.index.normalize()
    counts = pd.Series(1, index=days).groupby(level=0).sum()
    full_days = counts.index[counts == HOURS]
    frame = frame[days.isin(full_days)]
    exog_cols = [c for c in frame.columns if c != price_column]
    exog = frame[exog_cols].interpolate(limit_direction="both") if exog_cols else frame[[]]
    prices = frame[price_column].to_numpy(dtype=np.float64).reshape(-1, HOURS)
    n_days = prices.shape[0]
    exog_arr = exog.to_numpy(dtype=np.float64).reshape(n_days, HOURS, len(exog_cols))
    dates = pd.DatetimeIndex(full_days)
    weekday = np.asarray(dates.day_of_week, dtype=np.int64)
    return DailyMarket(prices=prices, exog=exog_arr, weekday=weekday), dates
