"""The array type of the numeric code: one name for 'a numpy array of float64'."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def median(values: ArrayLike) -> float:
    """The median of a few values. np.median would import numpy.ma on first use (~75 ms of a
    one-shot CLI run) for what is a sort of a handful of numbers here."""
    ordered = np.sort(np.asarray(values, dtype=np.float64), axis=None)
    n = ordered.size
    if n == 0:
        return float("nan")
    middle = n // 2
    return float(ordered[middle] if n % 2 else 0.5 * (ordered[middle - 1] + ordered[middle]))
