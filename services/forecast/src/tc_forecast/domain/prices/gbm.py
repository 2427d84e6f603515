"""A LightGBM model across all 24 hours on same-hour lags, in the asinh-transformed space.

Trees cannot extrapolate, so the target is the price *relative to yesterday's mean* (both in
the transformed space), which keeps a price level never seen in the window within reach.
"""

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from tc_forecast.domain.prices.features import HOURS, DailyMarket, FloatArray
from tc_forecast.domain.prices.transforms import AsinhScaler

_PARAMS: dict[str, Any] = {
    "objective": "l1",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "seed": 7,
}
_ROUNDS = 400


def gbm_rows(
    market: DailyMarket,
    origin: np.ndarray,
    horizon_days: int,
    price_scaler: AsinhScaler,
    exog_scaler: AsinhScaler,
) -> tuple[FloatArray, FloatArray]:
    """(rows*24, features) design and the per-row baseline (yesterday's transformed mean)."""
    o = np.asarray(origin, dtype=np.int64)
    t = o + horizon_days
    sp = price_scaler.transform
    lags = [sp(market.prices[o - lag]) for lag in (1, 2, 3, 7)]
    if horizon_days > 0:
        lags.append(sp(market.prices[t - 7]))
    base = lags[0].mean(axis=1, keepdims=True)
    cols = [lag - base for lag in lags]
    cols += [
        np.repeat(lags[0].max(axis=1, keepdims=True) - base, HOURS, 1),
        np.repeat(lags[0].min(axis=1, keepdims=True) - base, HOURS, 1),
        np.repeat(lags[0][:, -1:] - base, HOURS, 1),
        np.repeat(base, HOURS, 1),
    ]
    for j in range(market.n_exog):
        ex = exog_scaler.transform(market.exog[:, :, j : j + 1])[..., 0]
        for lag in (0, 1, 7):
            cols.append(ex[o - lag])
        cols.append(np.repeat(ex[o].mean(axis=1, keepdims=True), HOURS, 1))
        cols.append(ex[o] - ex[o - 7])
    weekday = (market.weekday[o] + horizon_days) % 7
    cols.append(np.repeat(weekday[:, None].astype(np.float64), HOURS, 1))
    cols.append(np.tile(np.arange(HOURS, dtype=np.float64), (o.size, 1)))
    design = np.stack(cols, axis=2).reshape(o.size * HOURS, len(cols))
    return design, np.repeat(base[:, 0], HOURS)


@dataclass(frozen=True)
class GbmModel:
    """A calibrated LightGBM price model with its scalers."""

    booster: lgb.Booster
    price_scaler: AsinhScaler
    exog_scaler: AsinhScaler
    horizon_days: int

    @classmethod
    def fit(
        cls, market: DailyMarket, origins: np.ndarray, horizon_days: int = 0, rounds: int = _ROUNDS
    ) -> "GbmModel":
        """Calibrate on the given origin days (their targets must be known prices)."""
        targets = market.prices[origins + horizon_days]
        price_scaler = AsinhScaler.fit(market.prices[origins], axis=None)
        # Explicit row count: a market without exogenous columns (the live feed) has width 0,
        # and reshape(-1, 0) cannot infer the rows.
        exog = market.exog[origins]
        exog_scaler = AsinhScaler.fit(exog.reshape(exog.shape[0] * exog.shape[1], market.n_exog))
        design, base = gbm_rows(market, origins, horizon_days, price_scaler, exog_scaler)
        label = price_scaler.transform(targets).ravel() - base
        data = lgb.Dataset(
            design, label=label, categorical_feature=[design.shape[1] - 2], free_raw_data=True
        )
        booster = lgb.train(_PARAMS, data, num_boost_round=rounds)
        return cls(booster, price_scaler, exog_scaler, horizon_days)

    def predict(self, market: DailyMarket, origins: np.ndarray) -> FloatArray:
        """Prices (rows, 24) in EUR/MWh for the given origin days."""
        design, base = gbm_rows(
            market, origins, self.horizon_days, self.price_scaler, self.exog_scaler
        )
        pred = np.asarray(self.booster.predict(design), dtype=np.float64) + base
        return self.price_scaler.inverse(pred).reshape(-1, HOURS)
