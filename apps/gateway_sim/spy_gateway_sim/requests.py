"""Parsing the client requests whose layout is more than a few fixed fields.

Layouts are those ib_async 2.1.0's `client.py` writes at server version 176. Parsers raise
ValueError (or IndexError) on malformed input; the session turns that into an error message
for the client and keeps the connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .instruments import ContractRequest
from .orders import ComboLegRequest, OrderRequest

_CONTRACT_START = 3  # after message id, version and request id


@dataclass(frozen=True, slots=True)
class MarketDataRequest:
    req_id: int
    contract: ContractRequest
    generic_ticks: frozenset[str]
    snapshot: bool


def market_data(fields: Sequence[str]) -> MarketDataRequest:
    """reqMktData: 1, 11, reqId, contract(12), [combo legs], dnc flag [+3], genericTicks,
    snapshot, regulatorySnapshot, options. The snapshot flag is field 17 without extras."""
    req_id = int(fields[2])
    contract = ContractRequest.parse(fields[_CONTRACT_START : _CONTRACT_START + 12])
    index = _CONTRACT_START + 12
    if contract.sec_type == "BAG":
        raise ValueError("no market data for combo (BAG) contracts: ask for each leg")
    if _flag(fields[index]):  # delta-neutral contract: conId, delta, price follow
        index += 3
    index += 1
    generic = frozenset(t.strip() for t in fields[index].split(",") if t.strip())
    return MarketDataRequest(req_id, contract, generic, _flag(fields[index + 1]))


def contract_details(fields: Sequence[str]) -> tuple[int, ContractRequest]:
    """reqContractDetails: 9, 8, reqId, contract(12), includeExpired, secIdType, secId, ..."""
    return int(fields[2]), ContractRequest.parse(fields[_CONTRACT_START : _CONTRACT_START + 12])


_COMBO_LEGS = 35  # placeOrder's field with the number of combo legs (BAG contracts only)
_COMBO_LEG_FIELDS = 8  # conId, ratio, action, exchange, openClose, shortSaleSlot, ...


def place_order(fields: Sequence[str]) -> tuple[ContractRequest, OrderRequest]:
    """placeOrder (no version field): 3, orderId, contract(12), secIdType, secId, action,
    totalQuantity, orderType, lmtPrice, auxPrice, tif, ocaGroup, account, openClose, origin,
    orderRef (field 26), transmit … hidden (34); for a BAG contract then the combo legs
    (field 35: their number, 8 fields each). The rest describes order features the
    simulator does not offer."""
    order_id = int(fields[1])
    contract = ContractRequest.parse(fields[2:14])
    action, quantity, order_type, limit = fields[16], fields[17], fields[18], fields[19]
    tif, account, order_ref = fields[21], fields[23], fields[26]
    legs: list[ComboLegRequest] = []
    if contract.sec_type == "BAG":
        for i in range(int(fields[_COMBO_LEGS])):
            start = _COMBO_LEGS + 1 + i * _COMBO_LEG_FIELDS
            con_id, ratio, leg_action = fields[start : start + 3]
            legs.append(ComboLegRequest(int(con_id), int(ratio), leg_action.upper()))
        if not legs:
            raise ValueError("a BAG order needs combo legs")
    return contract, OrderRequest(
        order_id=order_id,
        action=action.upper(),
        quantity=float(quantity or 0.0),
        order_type=order_type.upper(),
        limit=float(limit) if limit else None,
        tif=tif.upper(),
        account=account,
        order_ref=order_ref,
        legs=tuple(legs),
    )


def _flag(text: str) -> bool:
    return text.strip() not in ("", "0", "False", "false")
