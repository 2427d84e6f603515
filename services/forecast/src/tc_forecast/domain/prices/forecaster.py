"""The service-facing API: fit on a zone's history, forecast the next days with quantiles.

Pure: no I/O and no clock. The caller passes the history (prices known so far, plus any
exogenous forecasts, as a DataFrame indexed by naive local time) and gets DataFrames back.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tc_forecast.domain.prices.ensemble import (
    QUANTILES,
    Calibration,
    EnsembleConfig,
    calibrate,
    combine,
    first_origin,
    predict_members,
)
from tc_forecast.domain.prices.features import HOURS, DailyMarket
from tc_forecast.domain.prices.frames import daily_market, to_hourly
from tc_forecast.domain.prices.naive_blend import blend, model_weight
from tc_forecast.domain.prices.quantiles import origin_scaler, quantile_band, transformed_residual

# The band's residuals come from a cheap rolling backtest (short LEAR windows only): its errors
# are somewhat larger than the full ensemble's, so the band errs on the wide side.
_BACKTEST_CONFIG = EnsembleConfig(lear_windows_days=(56, 84), use_gbm=False, alpha_every_days=7)


@dataclass
class PriceForecaster:
    """Day-ahead-to-7-days price forecaster (LEAR windows + LightGBM ensemble, quantile bands).

    ``fit(history)`` takes hourly or 15-minute rows with a ``price`` column (EUR/MWh; NaN or
    absent for hours not yet published) and optional exogenous columns (day-ahead load and
    wind forecasts). The first day without prices is the *origin*: ``predict_horizon`` returns
    its 24 hours and those of the following days.
    """

    config: EnsembleConfig = field(default_factory=EnsembleConfig)
    horizon_days: int = 7
    backtest_days: int = 28
    _market: DailyMarket | None = None
    _dates: pd.DatetimeIndex | None = None
    _origin: int = 0
    _calibrations: list[Calibration] = field(default_factory=list)
    _residuals: list[np.ndarray] = field(default_factory=list)
    _naive_weights: list[float] = field(default_factory=list)

    def fit(self, history: pd.DataFrame, price_column: str = "price") -> "PriceForecaster":
        if not 1 <= self.horizon_days <= 7:
            raise ValueError("horizon_days must be 1..7")
        hourly = to_hourly(history.rename(columns={price_column: "price"}))
        known = hourly["price"].dropna()
        if known.empty:
            raise ValueError("history holds no prices")
        last_known_day = known.index[-1].normalize()
        if known.index[-1].hour != 23:
            last_known_day -= pd.Timedelta(days=1)
        origin_day = last_known_day + pd.Timedelta(days=1)
        end = origin_day + pd.Timedelta(days=self.horizon_days) - pd.Timedelta(hours=1)
        start = hourly.index[0].normalize()
        if hourly.index[0] != start:
            start += pd.Timedelta(days=1)
        frame = hourly.reindex(pd.date_range(start, end, freq="1h"))
        frame.loc[frame.index >= origin_day, "price"] = np.nan
        frame["price"] = frame["price"].interpolate(limit_area="inside")
        exog_cols = [c for c in frame.columns if c != "price"]
        for col in exog_cols:
            # The origin day's forecasts may not be published yet: fall back to a week earlier.
            missing = frame[col].isna() & (frame.index >= origin_day)
            frame.loc[missing, col] = frame[col].shift(7 * HOURS)[missing]
        market, dates = daily_market(frame)
        origin = int(np.searchsorted(dates, origin_day))
        need = first_origin(self.horizon_days - 1) + 14
        if origin < need:
            raise ValueError(f"need at least {need} days of price history, got {origin}")
        self._market, self._dates, self._origin = market, dates, origin
        self._calibrations = [
            calibrate(market, origin, self.config, None, horizon_days=k)
            for k in range(self.horizon_days)
        ]
        backtests = [self._backtest(market, origin, k) for k in range(self.horizon_days)]
        self._residuals = [residuals for residuals, _ in backtests]
        self._naive_weights = [weight for _, weight in backtests]
        return self

    def _backtest(self, market: DailyMarket, origin: int, k: int) -> tuple[np.ndarray, float]:
        """Residuals (days, 24) of the blended backtest forecasts and the model's weight
        against the weekly naive for horizon ``k`` (1.0 for day-ahead)."""
        first = max(first_origin(k) + 14, origin - k - self.backtest_days)
        cal: Calibration | None = None
        origins, points = [], []
        for o in range(first, origin - k):
            cal = calibrate(market, o, _BACKTEST_CONFIG, cal, horizon_days=k)
            points.append(combine(predict_members(cal, market, o), _BACKTEST_CONFIG))
            origins.append(o)
        if not origins:
            return np.zeros((0, HOURS)), 1.0
        actual = np.stack([market.prices[o + k] for o in origins])
        naive = np.stack([market.prices[o + k - 7] for o in origins])
        model = np.stack(points)
        # The weights come from the cheap backtest members, a stand-in for the full ensemble
        # (which is better at long horizons, so this leans a little more on the naive).
        weight = model_weight(actual, model, naive) if k >= 1 else 1.0
        rows = [
            transformed_residual(
                origin_scaler(market.prices, o), actual[i], blend(model[i], naive[i], weight)
            )
            for i, o in enumerate(origins)
        ]
        return np.array(rows), weight

    def predict_horizon(self) -> pd.DataFrame:
        """Hourly p10/p50/p90 (EUR/MWh) from the origin day's 00:00 for ``horizon_days`` days."""
        if self._market is None or self._dates is None:
            raise RuntimeError("fit() first")
        market, origin = self._market, self._origin
        scaler = origin_scaler(market.prices, origin)
        bands = []
        for k, cal in enumerate(self._calibrations):
            point = combine(predict_members(cal, market, origin), self.config)
            point = blend(point, market.prices[origin + k - 7], self._naive_weights[k])
            bands.append(quantile_band(scaler, point, self._residuals[k], QUANTILES))
        stacked = np.concatenate(bands, axis=1)  # (3, horizon*24)
        index = pd.date_range(self._dates[origin], periods=stacked.shape[1], freq="1h")
        return pd.DataFrame({"p10": stacked[0], "p50": stacked[1], "p90": stacked[2]}, index=index)

    def predict_day(self) -> pd.DataFrame:
        """The origin day's 24 hours (the day-ahead forecast)."""
        return self.predict_horizon().iloc[:HOURS]
