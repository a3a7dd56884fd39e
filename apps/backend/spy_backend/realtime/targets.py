"""The hub targets viewers subscribe to, and how each is delivered when a viewer lags.

`EVERY`: each message matters and is sent in order (anomaly events). `LATEST`: only the
newest unsent message matters (market state), so a lagging viewer's older unsent one is
replaced, never queued: state is shed before events. A new target is one more `Target`
here with its delivery and priority (lower is sent first when a viewer has several
pending), e.g. a ladder of quotes as another LATEST target.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Delivery(StrEnum):
    EVERY = "every"
    LATEST = "latest"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    delivery: Delivery
    priority: int


ANOMALIES = Target("anomalies", Delivery.EVERY, priority=0)
MARKET = Target("market", Delivery.LATEST, priority=10)
# The trader's records: each matters (signals, decisions, fills), after anomaly events.
TRADING = Target("trading", Delivery.EVERY, priority=5)
# The band's quotes as numbered deltas (`realtime.ladder`): each matters, in order (a page
# that sees a gap re-reads /api/ladder); after everything else.
LADDER = Target("ladder", Delivery.EVERY, priority=20)
# The front expiry's smile (bid/ask IV, the fitted vol, fair values), whole: only the
# newest matters; at most one a second locally, one per 5 state intervals when billed.
SMILE = Target("smile", Delivery.LATEST, priority=25)
