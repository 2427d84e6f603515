"""Quantiles from the empirical distribution of recent out-of-sample errors.

Errors are measured in an asinh-transformed space fitted on the four weeks before each origin,
so a band learnt in a calm period widens automatically when prices are high and volatile (the
transform's scale follows the recent price level and spread).
"""

import numpy as np

from tc_forecast.domain.prices.features import FloatArray
from tc_forecast.domain.prices.quantile_scale import origin_scaler
from tc_forecast.domain.prices.transforms import AsinhScaler

__all__ = ["origin_scaler", "quantile_band", "transformed_residual"]


def transformed_residual(scaler: AsinhScaler, actual: FloatArray, point: FloatArray) -> FloatArray:
    """An error (24,) in the space the bands are built in."""
    return np.asarray(scaler.transform(actual) - scaler.transform(point), dtype=np.float64)


def quantile_band(
    scaler: AsinhScaler,
    point: FloatArray,
    residuals: FloatArray,
    quantiles: tuple[float, ...],
) -> FloatArray:
    """(len(quantiles), 24) prices: the point forecast shifted by residual quantiles.

    The residuals of all hours are pooled: per-hour quantiles of a few weeks of errors are
    too noisy in the tails (measured on NO1, 7 days ahead, 90 test days: p10-p90 coverage 0.76
    per hour vs 0.78 pooled, mean pinball 6.79 vs 6.66 EUR/MWh); the transform already makes
    the band wider where prices are high. With fewer than 10 residual days the band falls
    back to +-50 % of the transformed scale's unit (wide, honest about knowing little). The
    output is sorted along the quantile axis so crossings are impossible.
    """
    z = scaler.transform(point)
    if residuals.shape[0] >= 10:
        offsets = np.quantile(residuals, quantiles)[:, None] * np.ones((1, point.shape[0]))
    else:
        offsets = np.array([[(q - 0.5) * 2.0] * point.shape[0] for q in quantiles])
    band = scaler.inverse(z[None, :] + offsets)
    return np.sort(band, axis=0)
