"""Forecast accuracy measures, with epftoolbox's definitions (all inputs in EUR/MWh)."""

import numpy as np
from numpy.typing import ArrayLike


def _pair(actual: ArrayLike, forecast: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(actual, dtype=np.float64).ravel()
    f = np.asarray(forecast, dtype=np.float64).ravel()
    if y.shape != f.shape:
        raise ValueError(f"actual {y.shape} and forecast {f.shape} differ in shape")
    return y, f


def mae(actual: ArrayLike, forecast: ArrayLike) -> float:
    y, f = _pair(actual, forecast)
    return float(np.mean(np.abs(y - f)))


def rmse(actual: ArrayLike, forecast: ArrayLike) -> float:
    y, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def smape_pct(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Symmetric MAPE in percent: mean(2|y-f| / (|y|+|f|)); a 0/0 term counts as 0."""
    y, f = _pair(actual, forecast)
    denominator = np.abs(y) + np.abs(f)
    terms = np.divide(2 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(100 * np.mean(terms))


def rmae(actual: ArrayLike, forecast: ArrayLike, naive_forecast: ArrayLike) -> float:
    """MAE relative to a naive forecast's MAE over the same period (epftoolbox's rMAE)."""
    return mae(actual, forecast) / mae(actual, naive_forecast)


def pinball_loss(actual: ArrayLike, quantile_forecast: ArrayLike, quantile: float) -> float:
    """Mean pinball (quantile) loss of one quantile forecast."""
    y, q = _pair(actual, quantile_forecast)
    diff = y - q
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def interval_coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actual values inside the closed interval [lower, upper]."""
    y, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    return float(np.mean((y >= lo) & (y <= hi)))
