"""The variance-stabilising transform of epftoolbox's LEAR: median/MAD normalisation, then asinh.

Electricity prices have heavy tails (spikes, negative hours); asinh is linear near zero and
logarithmic far from it, so a squared or absolute loss in the transformed space is not dominated
by a few spikes, and negative prices stay representable (unlike a log).
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# MAD of a standard normal is 0.6745 sigma; dividing by it makes the scale comparable to a std.
_MAD_TO_STD = 0.6744897501960817
_TINY = 1e-9

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AsinhScaler:
    """Per-column median/MAD normalisation followed by asinh, fitted on a calibration window.

    ``median`` and ``scale`` broadcast against the last axis of the arrays it transforms.
    """

    median: FloatArray
    scale: FloatArray

    @classmethod
    def fit(cls, values: FloatArray, axis: int | tuple[int, ...] | None = 0) -> "AsinhScaler":
        """Fit on ``values``; ``axis`` are the axes reduced (0: one scaler per column)."""
        median = np.median(values, axis=axis, keepdims=True)
        mad = np.median(np.abs(values - median), axis=axis, keepdims=True)
        scale = np.maximum(mad / _MAD_TO_STD, _TINY)
        # axis=None gives 0-d parameters, which broadcast against any shape.
        squeeze = None if axis is None else axis
        return cls(
            median=np.squeeze(median, axis=squeeze).astype(np.float64),
            scale=np.squeeze(scale, axis=squeeze).astype(np.float64),
        )

    def transform(self, values: FloatArray) -> FloatArray:
        return np.arcsinh((values - self.median) / self.scale)

    def inverse(self, values: FloatArray) -> FloatArray:
        return np.sinh(values) * self.scale + self.median
