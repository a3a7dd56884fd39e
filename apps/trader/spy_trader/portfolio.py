"""Positions and P&L from fills (pure): per contract for risk and IB reconciliation, per
position group (the legs one opening signal bought or sold) for the strategy's exits.

Order references name the signal and the leg: `<signal id>:L<n>`, or `<signal id>:C` for
a combo order carrying all of a signal's legs; an exit signal's id is
`<opening signal id>:X<n>`, so any fill finds its group without a lookup table that a
restart could lose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from spy_core.trading import CONTRACT_MULTIPLIER, Action, ContractRef

_LEG = ":L"
_EXIT = ":X"
_COMBO = ":C"


def order_ref(signal_id: str, leg: int) -> str:
    return f"{signal_id}{_LEG}{leg}"


def combo_ref(signal_id: str) -> str:
    """The orderRef of the one combo (BAG) order that carries every leg of a signal."""
    return f"{signal_id}{_COMBO}"


def is_combo_ref(ref: str) -> bool:
    return ref.endswith(_COMBO)


def signal_of(ref: str) -> str:
    if is_combo_ref(ref):
        return ref.removesuffix(_COMBO)
    return ref.rsplit(_LEG, 1)[0]


def group_of(signal_id: str) -> str:
    return signal_id.split(_EXIT, 1)[0]


def exit_id(group_id: str, attempt: int) -> str:
    return f"{group_id}{_EXIT}{attempt}"


@dataclass
class Holding:
    """Signed contracts and average price per share (commissions kept apart), and the
    opening commissions still in the open quantity — IB counts those in its average cost,
    so its realised P&L holds them back until the position closes (`Portfolio.ib_view`)."""

    quantity: int = 0
    avg_price: float = 0.0
    open_commission: float = 0.0  # dollars

    def apply(self, signed: int, price: float, commission: float = 0.0) -> float:
        """Book a fill; return the realised P&L in dollars (before commissions)."""
        realized = 0.0
        if self.quantity * signed < 0:
            closing = min(abs(signed), abs(self.quantity))
            direction = 1 if self.quantity > 0 else -1
            realized = closing * direction * (price - self.avg_price) * CONTRACT_MULTIPLIER
            remaining = self.quantity + signed
            if remaining * self.quantity <= 0:  # closed or flipped: a flip opens at cost
                self.avg_price = price if remaining else 0.0
                self.open_commission = 0.0
            else:
                self.open_commission *= remaining / self.quantity
            self.quantity = remaining
        else:
            total = self.quantity + signed
            self.avg_price = (self.avg_price * abs(self.quantity) + price * abs(signed)) / abs(
                total
            )
            self.quantity = total
            self.open_commission += commission
        return realized


@dataclass
class Group:
    """The position one opening signal built, and what its exits need to know."""

    id: str
    opened_at: datetime
    source_event: str | None
    entry_fair: float  # dollars per share for the whole structure (per 1 lot)
    entry_price: float = 0.0  # per share paid (+) or received (−), per 1 lot, as filled
    legs: dict[ContractRef, Holding] = field(default_factory=dict)
    cleared: bool = False
    exits: int = 0  # exit signals issued so far

    @property
    def is_flat(self) -> bool:
        return all(h.quantity == 0 for h in self.legs.values())

    @property
    def lots(self) -> int:
        """Lots held: the long leg's size (a vertical's legs match once complete)."""
        return max((abs(h.quantity) for h in self.legs.values()), default=0)


@dataclass
class Portfolio:
    holdings: dict[ContractRef, Holding] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    realized: float = 0.0  # dollars, before commissions
    commissions: float = 0.0
    seen_exec_ids: set[str] = field(default_factory=set)
    # Groups opened or filled since `open_groups` last found them flat: a day closes many
    # groups, and scanning all of them on every decision made the decision O(day).
    _maybe_open: set[str] = field(default_factory=set, repr=False)
    _rank: dict[str, int] = field(default_factory=dict, repr=False)  # creation order

    def open_group(
        self, group_id: str, at: datetime, source_event: str | None, entry_fair: float
    ) -> Group:
        """The group (created if new); callers may then set its legs directly."""
        self._maybe_open.add(group_id)
        if group_id not in self.groups:
            self._rank[group_id] = len(self.groups)
            self.groups[group_id] = Group(group_id, at, source_event, entry_fair)
        return self.groups[group_id]

    def apply_fill(
        self,
        exec_id: str,
        ref: str,
        contract: ContractRef,
        action: Action,
        quantity: int,
        price: float,
        commission: float,
        at: datetime,
    ) -> bool:
        """Book one execution once (IB re-sends executions after a reconnect); False if
        it was already booked."""
        if exec_id in self.seen_exec_ids:
            return False
        self.seen_exec_ids.add(exec_id)
        signed = quantity if action is Action.BUY else -quantity
        holding = self.holdings.setdefault(contract, Holding())
        self.realized += holding.apply(signed, price, commission)
        self.commissions += commission
        group = self.open_group(group_of(signal_of(ref)), at, None, 0.0)
        leg = group.legs.setdefault(contract, Holding())
        leg.apply(signed, price)
        if signal_of(ref) == group.id:
            group.entry_price = sum(
                h.avg_price * (1 if h.quantity > 0 else -1)
                for h in group.legs.values()
                if h.quantity
            )
        return True

    @property
    def realized_net(self) -> float:
        return self.realized - self.commissions

    def open_groups(self) -> list[Group]:
        """Groups holding anything, in the order they were opened."""
        self._maybe_open -= {g for g in self._maybe_open if self.groups[g].is_flat}
        return [self.groups[g] for g in sorted(self._maybe_open, key=self._rank.__getitem__)]

    def contracts_held(self) -> int:
        return sum(abs(h.quantity) for h in self.holdings.values())

    def ib_view(self, marks: dict[ContractRef, float]) -> tuple[float, float]:
        """(realised, unrealised) the way IB's reqPnL counts them: opening commissions of
        what is still open sit in the cost, not in realised. Their sum is ours."""
        held_back = sum(h.open_commission for h in self.holdings.values() if h.quantity)
        return self.realized_net + held_back, self.unrealized(marks) - held_back

    def unrealized(self, marks: dict[ContractRef, float]) -> float:
        """Dollars against average price at the given marks (missing marks count as cost)."""
        return sum(
            h.quantity * (marks.get(c, h.avg_price) - h.avg_price) * CONTRACT_MULTIPLIER
            for c, h in self.holdings.items()
            if h.quantity
        )
