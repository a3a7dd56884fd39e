"""How likely a quote is live and executable: a judgement apart from how mispriced it is.

A wide, small or old quote is more likely stale, thin or about to move than a tight, deep,
fresh one; none of that says how well fair value is known (that is the score's job). The
trader uses `confidence` to decide whether to act; the detector uses it for severity.
"""

from __future__ import annotations

import math

# Relative width beyond one tick at which width alone halves confidence.
WIDTH_HALF = 0.10
# Contracts over which displayed size earns its confidence (see `quote_confidence`).
SIZE_SCALE = 5.0
UNKNOWN_SIZE = 0.9  # feeds without sizes (Cboe snapshots) are not penalised much


def quote_confidence(
    bid: float,
    ask: float,
    tick: float,
    size: int | None,
    age_seconds: float,
    max_age_seconds: float | None,
) -> float:
    """0–1, the product of three factors:

    - width: 2^(−w/WIDTH_HALF), w the width beyond one tick over the mid (a one-tick quote
      scores 1, a 10%-wide wing 0.5);
    - size at the executable side: 1 − e^(−size/SIZE_SCALE)/2 (one contract 0.59, ten
      0.93), `UNKNOWN_SIZE` when the feed has none, 0.3 when nothing is displayed;
    - age: e^(−age/max_age) (1 when unknown or no limit is set).
    """
    mid = 0.5 * (bid + ask)
    excess = max(ask - bid - tick, 0.0)
    width = 2.0 ** (-(excess / mid) / WIDTH_HALF) if mid > 0 else 0.0
    if size is None:
        depth = UNKNOWN_SIZE
    elif size <= 0:
        depth = 0.3
    else:
        depth = 1.0 - 0.5 * math.exp(-size / SIZE_SCALE)
    if max_age_seconds is None or not math.isfinite(age_seconds):
        freshness = 1.0
    else:
        freshness = math.exp(-max(age_seconds, 0.0) / max_age_seconds)
    return max(0.0, min(1.0, width * depth * freshness))
