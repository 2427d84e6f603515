"""The forecast ensemble: LEAR over several calibration windows, plus LightGBM, averaged.

Calibration is split from prediction so a caller stepping through days (the benchmark, or the
service re-forecasting daily) can reuse what is expensive: the AIC penalties of each LEAR
window (re-chosen every ``alpha_every_days``), yesterday's coefficients as a warm start, and the
LightGBM model (re-trained every ``gbm_every_days``).
"""

from dataclasses import dataclass, field

import numpy as np

from tc_forecast.domain.prices.features import (
    MAX_LAG_DAYS,
    DailyMarket,
    FloatArray,
    lear_features,
)
from tc_forecast.domain.prices.gbm import GbmModel
from tc_forecast.domain.prices.lear import LearModel

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class EnsembleConfig:
    """What the ensemble is made of; weights: LEAR mean gets 1 - gbm_weight."""

    lear_windows_days: tuple[int, ...] = (56, 84, 1092, 1456)
    gbm_window_days: int = 1456
    gbm_weight: float = 0.5
    alpha_every_days: int = 7
    gbm_every_days: int = 7
    use_gbm: bool = True
    gbm_rounds: int = 400


@dataclass
class Calibration:
    """Fitted models for one horizon, and when their expensive parts were last refreshed."""

    horizon_days: int
    lear: dict[int, LearModel] = field(default_factory=dict)
    alpha_origin: int = -(10**9)
    gbm: GbmModel | None = None
    gbm_origin: int = -(10**9)


def first_origin(horizon_days: int) -> int:
    """The first day index that has enough history to be forecast ``horizon_days`` ahead."""
    return MAX_LAG_DAYS + horizon_days + 1


def calibrate(
    market: DailyMarket,
    origin: int,
    config: EnsembleConfig,
    previous: Calibration | None = None,
    horizon_days: int = 0,
) -> Calibration:
    """Calibrate for forecasting day ``origin + horizon_days`` from information before ``origin``.

    Only prices of days ``< origin`` are read (each training pair's target day is at most
    ``origin - 1``) and exogenous forecasts of days ``<= origin``.
    """
    cal = previous or Calibration(horizon_days=horizon_days)
    refresh_alpha = origin - cal.alpha_origin >= config.alpha_every_days
    last_origin = origin - 1 - horizon_days
    lear: dict[int, LearModel] = {}
    for window in config.lear_windows_days:
        lo = max(MAX_LAG_DAYS, last_origin + 1 - window)
        origins = np.arange(lo, last_origin + 1)
        feats = lear_features(market, origins, horizon_days)
        old = cal.lear.get(window)
        alpha = None if refresh_alpha or old is None else old.alpha
        warm = None if old is None else old.coef
        lear[window] = LearModel.fit(feats, market.prices[origins + horizon_days], alpha, warm)
    cal.lear = lear
    if refresh_alpha:
        cal.alpha_origin = origin
    if config.use_gbm and origin - cal.gbm_origin >= config.gbm_every_days:
        lo = max(MAX_LAG_DAYS, last_origin + 1 - config.gbm_window_days)
        cal.gbm = GbmModel.fit(
            market, np.arange(lo, last_origin + 1), horizon_days, config.gbm_rounds
        )
        cal.gbm_origin = origin
    return cal


def predict_members(cal: Calibration, market: DailyMarket, origin: int) -> dict[str, FloatArray]:
    """Each member's 24 prices for day ``origin + horizon``, keyed ``lear<window>`` / ``gbm``."""
    feats = lear_features(market, np.array([origin]), cal.horizon_days)
    out = {f"lear{w}": m.predict(feats)[0] for w, m in cal.lear.items()}
    if cal.gbm is not None:
        out["gbm"] = cal.gbm.predict(market, np.array([origin]))[0]
    return out


def combine(members: dict[str, FloatArray], config: EnsembleConfig) -> FloatArray:
    """The ensemble's point forecast: (1-w) * mean(LEAR windows) + w * LightGBM."""
    lear = np.mean([v for k, v in members.items() if k.startswith("lear")], axis=0)
    if "gbm" not in members:
        return np.asarray(lear, dtype=np.float64)
    w = config.gbm_weight
    return np.asarray((1 - w) * lear + w * members["gbm"], dtype=np.float64)
