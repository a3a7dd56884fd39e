"""The simulator's listed instruments (SPY and its options) and contract lookup.

Contract ids are a pure function of the contract, so they are stable across restarts and
days, as IB's are; a request contract is matched field by field, empty fields matching
anything, the way IB answers reqContractDetails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from spy_core.models import Right

SYMBOL = "SPY"
STOCK_CON_ID = 756733  # SPY's real IB contract id
OPTION_MULTIPLIER = "100"
CURRENCY = "USD"
_OPTION_CON_ID_BASE = 600_000_000
_CON_ID_EPOCH = date(2020, 1, 1)
_RIGHT_WORDS = {"C": Right.CALL, "CALL": Right.CALL, "P": Right.PUT, "PUT": Right.PUT}


@dataclass(frozen=True, slots=True)
class Instrument:
    """SPY stock (expiry None) or one SPY option."""

    con_id: int
    expiry: date | None = None
    strike: float = 0.0
    right: Right | None = None
    is_combo: bool = False  # the BAG a combo order is placed on (its legs are options)

    @property
    def is_option(self) -> bool:
        return self.expiry is not None

    @property
    def sec_type(self) -> str:
        return "BAG" if self.is_combo else "OPT" if self.is_option else "STK"

    @property
    def last_trade(self) -> str:
        return self.expiry.strftime("%Y%m%d") if self.expiry else ""

    @property
    def multiplier(self) -> str:
        return OPTION_MULTIPLIER if self.is_option else ""

    @property
    def local_symbol(self) -> str:
        """OCC symbol for options (root padded to 6, yymmdd, C/P, strike × 1000 in 8 digits)."""
        if self.expiry is None or self.right is None:
            return SYMBOL
        strike = round(self.strike * 1000)
        return f"{SYMBOL:<6}{self.expiry:%y%m%d}{self.right.value}{strike:08d}"

    @property
    def key(self) -> tuple[date, float, Right]:
        """The (expiry, strike, right) key of `spy_core.synthetic` for options."""
        assert self.expiry is not None and self.right is not None
        return (self.expiry, self.strike, self.right)

    def contract_fields(self, exchange: str = "SMART") -> list[object]:
        """conId, symbol, secType, lastTrade, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass: the contract block of position, execution, order messages."""
        return [
            self.con_id,
            SYMBOL,
            self.sec_type,
            self.last_trade,
            self.strike,
            self.right.value if self.right else "",
            self.multiplier,
            exchange,
            CURRENCY,
            self.local_symbol,
            SYMBOL,
        ]


STOCK = Instrument(STOCK_CON_ID)
COMBO = Instrument(0, is_combo=True)  # IB reports a combo's own executions on a BAG


def option(expiry: date, strike: float, right: Right) -> Instrument:
    """The listed option with its stable contract id."""
    days = (expiry - _CON_ID_EPOCH).days
    con_id = _OPTION_CON_ID_BASE + days * 20_000 + round(strike * 10) * 2 + (right is Right.PUT)
    return Instrument(con_id, expiry, float(strike), right)


@dataclass(frozen=True, slots=True)
class ContractRequest:
    """The 12-field contract block a client sends (reqContractDetails, reqMktData, orders)."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade: str
    strike: float
    right: str
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str

    FIELDS = 12

    @classmethod
    def parse(cls, fields: Sequence[str]) -> ContractRequest:
        """From the 12 fields; raises ValueError on malformed numbers or a short block."""
        if len(fields) < cls.FIELDS:
            raise ValueError(f"contract needs {cls.FIELDS} fields, got {len(fields)}")
        con_id, symbol, sec_type, last_trade, strike, right, multiplier, *rest = fields[:12]
        return cls(
            int(con_id or 0),
            symbol.upper(),
            sec_type.upper(),
            last_trade,
            float(strike or 0.0),
            right.upper(),
            multiplier,
            *rest,
        )


def match(request: ContractRequest, listed: Iterable[Instrument]) -> list[Instrument]:
    """Every listed instrument the request describes; empty fields are wildcards."""
    if request.con_id:
        return [i for i in listed if i.con_id == request.con_id]
    if request.symbol not in ("", SYMBOL) or request.currency not in ("", CURRENCY):
        return []
    if request.trading_class not in ("", SYMBOL):
        return []
    right = _RIGHT_WORDS.get(request.right) if request.right not in ("", "?") else None
    if request.right not in ("", "?") and right is None:
        return []
    found = []
    for instrument in listed:
        if request.sec_type and request.sec_type != instrument.sec_type:
            continue
        if request.local_symbol and request.local_symbol != instrument.local_symbol:
            continue
        if instrument.is_option and not _option_matches(request, instrument, right):
            continue
        found.append(instrument)
    return found


def _option_matches(request: ContractRequest, instrument: Instrument, right: Right | None) -> bool:
    if request.multiplier not in ("", OPTION_MULTIPLIER):
        return False
    # A month (YYYYMM) selects every expiry in it, as IB does.
    if request.last_trade and not instrument.last_trade.startswith(request.last_trade):
        return False
    if request.strike and abs(request.strike - instrument.strike) > 1e-6:
        return False
    return right is None or right is instrument.right
