"""What every gradient-boosting fit here needs beyond the library: input sklearn can bin."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fittable"]


def fittable(x: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """`x` with every column that has no value at all (only NaN) set to 0.

    HistGradientBoosting's binning fails on such a column ("window shape cannot be larger than input
    array shape"), and real fleets have them: no purchase dates known, so no device age; weekly reports,
    so no 7-day slope; a classifier fitted on a handful of failures that all lack one signal. A column
    without values has nothing to learn from; as a constant it gets one bin and is never split on, so
    prediction (which handles NaN itself) is unaffected."""
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    out = x.copy()
    out[:, empty] = 0.0
    return out
