"""Minimum price increments of listed options: one table, used wherever a price is judged
against the grid it must sit on (the detector's one-tick bounds, an order's limit price).

Cboe rules (2023): classes in the penny interval program quote $0.01 below $3.00 and $0.05
at or above; SPY, QQQ and IWM quote $0.01 at every price; SPX, SPXW, NDX and RUT quote
$0.05 below $3.00 and $0.10 at or above. Unknown classes get the penny-program rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

THRESHOLD = 3.00  # dollars: the price at which the larger increment starts


@dataclass(frozen=True, slots=True)
class TickRule:
    below: float  # increment for premiums under THRESHOLD
    at_or_above: float

    def size(self, price: ArrayLike) -> NDArray[np.float64]:
        """The increment that applies at each price (a scalar gives a 0-d array)."""
        return np.where(
            np.asarray(price, dtype=np.float64) < THRESHOLD, self.below, self.at_or_above
        )

    @property
    def largest(self) -> float:
        return max(self.below, self.at_or_above)


PENNY_EVERYWHERE = TickRule(0.01, 0.01)
PENNY_PROGRAM = TickRule(0.01, 0.05)
INDEX_NICKEL_DIME = TickRule(0.05, 0.10)

_RULES = {
    "SPY": PENNY_EVERYWHERE,
    "QQQ": PENNY_EVERYWHERE,
    "IWM": PENNY_EVERYWHERE,
    "SPX": INDEX_NICKEL_DIME,
    "SPXW": INDEX_NICKEL_DIME,
    "NDX": INDEX_NICKEL_DIME,
    "NDXP": INDEX_NICKEL_DIME,
    "RUT": INDEX_NICKEL_DIME,
    "RUTW": INDEX_NICKEL_DIME,
}


def tick_rule(option_class: str) -> TickRule:
    """The rule for an option class (trading class or root, e.g. 'SPXW'; else the underlying)."""
    return _RULES.get(option_class.upper(), PENNY_PROGRAM)
