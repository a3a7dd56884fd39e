"""The array type of the numeric code: one name for 'a numpy array of float64'."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
