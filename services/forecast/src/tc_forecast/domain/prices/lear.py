"""LEAR: per-hour LASSO on the asinh-transformed LEAR features (Lago et al. 2021, epftoolbox).

The penalty of each hour's LASSO is chosen by AIC along the LARS path computed on unit-norm
columns (what epftoolbox's ``LassoLarsIC`` did, with the AIC of Zou et al. 2007 and the target's
variance as noise level), then the LASSO at that penalty is solved on the un-normalised columns
(epftoolbox's ``Lasso`` refit). All 24 hours share one design matrix, so its Gram matrix is
computed once per calibration and every path runs on the Gram matrix (p x p, p ~ 250), which
is what makes daily recalibration of four windows affordable.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, lars_path_gram

from tc_forecast.domain.prices.features import FloatArray
from tc_forecast.domain.prices.transforms import AsinhScaler

_N_DUMMIES = 7
_AIC_K = 2.0
_MAX_ITER = 2500
_EPS = np.finfo(np.float64).eps


def _aic_alpha(xy: FloatArray, gram: FloatArray, yy: float, y_var: float, n: int) -> float:
    """The LARS-lasso penalty minimising AIC = n*mse/var(y) + 2*df (Zou et al. eqs 2.15-16)."""
    alphas, _, coefs = lars_path_gram(
        xy, gram, n_samples=n, method="lasso", max_iter=_MAX_ITER, copy_Gram=True
    )
    rss = yy - 2.0 * coefs.T @ xy + ((gram @ coefs) * coefs).sum(axis=0)
    df = np.count_nonzero(np.abs(coefs) > _EPS, axis=0)
    criterion = np.maximum(rss, 0.0) / (y_var + _EPS) + _AIC_K * df
    return float(alphas[int(np.argmin(criterion))])


def _lasso_per_target(
    xc: FloatArray, yc: FloatArray, gram: FloatArray, alpha: FloatArray, start: FloatArray | None
) -> FloatArray:
    """Each target's LASSO at its own penalty (sklearn's Gram-based coordinate descent)."""
    coef = np.zeros((xc.shape[1], yc.shape[1]))
    for h in range(yc.shape[1]):
        model = Lasso(
            alpha=float(alpha[h]),
            fit_intercept=False,
            precompute=gram,
            max_iter=_MAX_ITER,
            warm_start=start is not None,
        )
        if start is not None:
            model.coef_ = start[:, h].copy()
        model.fit(xc, yc[:, h], check_input=False)
        coef[:, h] = model.coef_
    return coef


@dataclass(frozen=True)
class LearModel:
    """A calibrated LEAR: scalers, per-hour penalties, intercepts and coefficients (p x 24)."""

    x_scaler: AsinhScaler
    y_scaler: AsinhScaler
    n_scaled: int
    alpha: FloatArray
    coef: FloatArray
    intercept: FloatArray

    @classmethod
    def fit(
        cls,
        features: FloatArray,
        targets: FloatArray,
        alpha: FloatArray | None = None,
        warm_coef: FloatArray | None = None,
    ) -> "LearModel":
        """Calibrate on rows of :func:`lear_features` and the matching (rows, 24) prices.

        Without ``alpha`` the per-hour penalties are chosen by AIC (the expensive part); a
        caller recalibrating daily may pass the penalties of a recent calibration instead and
        the previous coefficients as ``warm_coef``.
        """
        n_scaled = features.shape[1] - _N_DUMMIES
        x_scaler = AsinhScaler.fit(features[:, :n_scaled])
        y_scaler = AsinhScaler.fit(targets)
        xs = np.concatenate([x_scaler.transform(features[:, :n_scaled]), features[:, n_scaled:]], 1)
        ys = y_scaler.transform(targets)
        x_mean, y_mean = xs.mean(axis=0), ys.mean(axis=0)
        xc, yc = xs - x_mean, ys - y_mean
        if alpha is None:
            alpha = _aic_alphas(xc, yc)
        xc = np.asfortranarray(xc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # AIC may choose no penalty for an hour whose prices the features fit exactly (a
            # flat or periodic stretch): that is plain least squares, which coordinate descent
            # reaches; sklearn's advice to use LinearRegression instead is one warning per fit.
            warnings.filterwarnings("ignore", "With alpha=0", UserWarning)
            coef = _lasso_per_target(xc, np.asfortranarray(yc), xc.T @ xc, alpha, warm_coef)
        intercept = y_mean - x_mean @ coef
        return cls(x_scaler, y_scaler, n_scaled, alpha, coef, intercept)

    def predict(self, features: FloatArray) -> FloatArray:
        """Prices (rows, 24) in EUR/MWh for rows of :func:`lear_features`."""
        xs = np.concatenate(
            [self.x_scaler.transform(features[:, : self.n_scaled]), features[:, self.n_scaled :]],
            1,
        )
        return self.y_scaler.inverse(xs @ self.coef + self.intercept)


def _aic_alphas(xc: FloatArray, yc: FloatArray) -> FloatArray:
    """Per-target AIC penalties from LARS paths on unit-norm columns (epftoolbox's choice)."""
    n = xc.shape[0]
    norms = np.sqrt((xc**2).sum(axis=0))
    norms[norms < _EPS] = 1.0
    xn = xc / norms
    gram_n, xy_n = xn.T @ xn, xn.T @ yc
    yy = (yc**2).sum(axis=0)
    y_var = yc.var(axis=0)
    alphas = np.empty(yc.shape[1])
    with warnings.catch_warnings():
        # Collinear columns (weekday dummies with the intercept) make LARS drop/repeat steps.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for h in range(yc.shape[1]):
            alphas[h] = _aic_alpha(xy_n[:, h], gram_n, float(yy[h]), float(y_var[h]), n)
    return alphas
