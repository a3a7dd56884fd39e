"""Message ids and the layouts of the messages the simulator sends, at server version 176.

Each builder returns the field list of one message, in the order ib_async 2.1.0's
`decoder.py` unpacks it (the authority: it destructures many messages into fixed tuples, so
a missing field is a silent parse failure on the client side). Version fields are included
exactly where the decoder skips one.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum

from spy_core.market_hours import NEW_YORK, next_session, session

from .analytics import Computation
from .instruments import CURRENCY, STOCK_CON_ID, SYMBOL, Instrument
from .orders import Execution, Order

SERVER_VERSION = 176
TIME_ZONE = "US/Eastern"
_LONG_NAME = "SPDR S&P 500 ETF TRUST"


class In(IntEnum):
    """Requests the simulator understands."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCOUNT_UPDATES = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DATA = 9
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_CURRENT_TIME = 49
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_SEC_DEF_OPT_PARAMS = 78
    REQ_PNL = 92
    CANCEL_PNL = 93
    REQ_PNL_SINGLE = 94
    CANCEL_PNL_SINGLE = 95
    REQ_COMPLETED_ORDERS = 99


class Out(IntEnum):
    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    TICK_OPTION_COMPUTATION = 21
    CURRENT_TIME = 49
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    SECURITY_DEFINITION_OPTION_PARAMETER = 75
    SECURITY_DEFINITION_OPTION_PARAMETER_END = 76
    PNL = 94
    PNL_SINGLE = 95
    COMPLETED_ORDERS_END = 102


class Tick(IntEnum):
    """Tick types; the delayed ones are the live ones shifted (see `delayed`)."""

    BID_SIZE = 0
    BID = 1
    ASK = 2
    ASK_SIZE = 3
    LAST = 4
    LAST_SIZE = 5
    VOLUME = 8
    BID_OPTION = 10
    ASK_OPTION = 11
    LAST_OPTION = 12
    MODEL_OPTION = 13
    CALL_OPEN_INTEREST = 27
    PUT_OPEN_INTEREST = 28


_DELAYED = {
    Tick.BID: 66,
    Tick.ASK: 67,
    Tick.LAST: 68,
    Tick.BID_SIZE: 69,
    Tick.ASK_SIZE: 70,
    Tick.LAST_SIZE: 71,
    Tick.VOLUME: 74,
    Tick.BID_OPTION: 80,
    Tick.ASK_OPTION: 81,
    Tick.LAST_OPTION: 82,
    Tick.MODEL_OPTION: 83,
}


def delayed(tick: Tick) -> int:
    """The delayed-data tick type (market data type 3) for a live one, where IB has one."""
    return _DELAYED.get(tick, int(tick))


def ib_time(moment: datetime) -> str:
    """ "20250425 15:23:54 US/Eastern": the connection-time and execution-time format."""
    return f"{moment.astimezone(NEW_YORK):%Y%m%d %H:%M:%S} {TIME_ZONE}"


def handshake(moment: datetime, version: int) -> list[object]:
    return [version, ib_time(moment)]


def error(req_id: int, code: int, message: str) -> list[object]:
    return [Out.ERR_MSG, 2, req_id, code, message, ""]


def managed_accounts(account: str) -> list[object]:
    return [Out.MANAGED_ACCTS, 1, account]


def next_valid_id(order_id: int) -> list[object]:
    return [Out.NEXT_VALID_ID, 1, order_id]


def current_time(moment: datetime) -> list[object]:
    return [Out.CURRENT_TIME, 1, int(moment.timestamp())]


def tick_price(req_id: int, tick: int, price: float, size: float) -> list[object]:
    return [Out.TICK_PRICE, 6, req_id, tick, price, size, 0]


def tick_size(req_id: int, tick: int, size: float) -> list[object]:
    return [Out.TICK_SIZE, 6, req_id, tick, size]


def option_computation(req_id: int, tick: int, computation: Computation) -> list[object]:
    # tickAttrib 1 = price-based (IB's flag for computations from a quote).
    return [Out.TICK_OPTION_COMPUTATION, req_id, tick, 1, *computation.fields()]


def market_data_type(req_id: int, data_type: int) -> list[object]:
    return [Out.MARKET_DATA_TYPE, 1, req_id, data_type]


def end_of(kind: Out, req_id: int | None = None) -> list[object]:
    """The end marker messages: version 1, then the request id where the message has one."""
    if kind is Out.COMPLETED_ORDERS_END:
        return [kind]
    if kind is Out.SECURITY_DEFINITION_OPTION_PARAMETER_END:
        return [kind, req_id]
    return [kind, 1] if req_id is None else [kind, 1, req_id]


def _hours(day: date) -> str:
    """IB's tradingHours form for today and the next session: "YYYYMMDD:HHMM-YYYYMMDD:HHMM"."""
    parts = []
    found = session(day)
    for current in (found, next_session(day)):
        if current is None:
            parts.append(f"{day:%Y%m%d}:CLOSED")
            continue
        start, end = current.open.astimezone(NEW_YORK), current.close.astimezone(NEW_YORK)
        parts.append(f"{start:%Y%m%d:%H%M}-{end:%Y%m%d:%H%M}")
    return ";".join(parts)


def contract_data(req_id: int, instrument: Instrument, today: date) -> list[object]:
    hours = _hours(today)
    exchanges = "SMART,AMEX,CBOE,ISE,PHLX,ARCA" if instrument.is_option else "SMART,ARCA,NYSE"
    return [
        Out.CONTRACT_DATA,
        req_id,
        SYMBOL,
        instrument.sec_type,
        instrument.last_trade,
        instrument.strike,
        instrument.right.value if instrument.right else "",
        "SMART",
        CURRENCY,
        instrument.local_symbol,
        SYMBOL,  # marketName
        SYMBOL,  # tradingClass
        instrument.con_id,
        0.01,  # minTick
        instrument.multiplier,
        "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,DAY,GTC,LMT,MKT,NONALGO,OCA,STP,STPLMT,TRAIL",
        exchanges,
        1,  # priceMagnifier
        STOCK_CON_ID if instrument.is_option else 0,  # underConId
        _LONG_NAME,
        "" if instrument.is_option else "ARCA",  # primaryExchange
        instrument.last_trade[:6] if instrument.is_option else "",  # contractMonth
        "",  # industry
        "",  # category
        "",  # subcategory
        TIME_ZONE,
        hours,  # tradingHours
        hours,  # liquidHours
        "",  # evRule
        "",  # evMultiplier
        0,  # secIdList count
        1,  # aggGroup
        SYMBOL if instrument.is_option else "",  # underSymbol
        "STK" if instrument.is_option else "",  # underSecType
        "26",  # marketRuleIds
        instrument.last_trade,  # realExpirationDate
        "" if instrument.is_option else "ETF",  # stockType
        1,  # minSize
        1,  # sizeIncrement
        1,  # suggestedSizeIncrement
    ]


def option_parameters(
    req_id: int, exchange: str, expiries: list[date], strikes: list[float]
) -> list[object]:
    return [
        Out.SECURITY_DEFINITION_OPTION_PARAMETER,
        req_id,
        exchange,
        STOCK_CON_ID,
        SYMBOL,
        "100",
        len(expiries),
        *(f"{e:%Y%m%d}" for e in expiries),
        len(strikes),
        *strikes,
    ]


def position(
    account: str, instrument: Instrument, quantity: float, avg_cost: float
) -> list[object]:
    return [Out.POSITION_DATA, 3, account, *instrument.contract_fields(), quantity, avg_cost]


def portfolio_value(
    account: str,
    instrument: Instrument,
    quantity: float,
    mark: float,
    avg_cost: float,
    realized: float,
) -> list[object]:
    multiplier = float(instrument.multiplier or 1)
    value = quantity * mark * multiplier
    contract = instrument.contract_fields(exchange="")  # primaryExchange sits in that slot
    return [
        Out.PORTFOLIO_VALUE,
        8,
        *contract,
        quantity,
        mark,
        value,
        avg_cost,
        value - quantity * avg_cost,
        realized,
        account,
    ]


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> list[object]:
    """reqPnL's answer (no version field): the account's day P&L, unrealised, realised."""
    return [Out.PNL, req_id, daily, unrealized, realized]


def pnl_single(
    req_id: int, position: float, daily: float, unrealized: float, realized: float, value: float
) -> list[object]:
    """reqPnLSingle's answer (no version field): one contract's position and P&L."""
    return [Out.PNL_SINGLE, req_id, position, daily, unrealized, realized, value]


def account_value(tag: str, value: str, account: str, currency: str = CURRENCY) -> list[object]:
    return [Out.ACCT_VALUE, 2, tag, value, currency, account]


def account_update_multi(
    req_id: int, account: str, tag: str, value: str, currency: str = CURRENCY
) -> list[object]:
    return [Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", tag, value, currency]


def account_summary(req_id: int, account: str, tag: str, value: str) -> list[object]:
    return [Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, CURRENCY]


def account_time(moment: datetime) -> list[object]:
    return [Out.ACCT_UPDATE_TIME, 1, f"{moment.astimezone(NEW_YORK):%H:%M}"]


def order_status(order: Order) -> list[object]:
    return [
        Out.ORDER_STATUS,
        order.order_id,
        order.status.value,
        order.filled,
        order.remaining,
        order.avg_price,
        order.perm_id,
        0,  # parentId
        order.last_fill,
        order.client_id,
        "",  # whyHeld
        0.0,  # mktCapPrice
    ]


def open_order(order: Order) -> list[object]:
    """OPEN_ORDER without a version field, every field in the decoder's order (v176)."""
    contract = order.instrument.contract_fields()
    head = [
        Out.OPEN_ORDER,
        order.order_id,
        *contract,
        order.action,
        order.quantity,
        "LMT",
        order.limit,
        "",  # auxPrice
        order.tif,
        "",  # ocaGroup
        order.account,
        "O",  # openClose
        0,  # origin: customer
        order.order_ref,
        order.client_id,
        order.perm_id,
        0,  # outsideRth
        0,  # hidden
        0,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # deprecated sharesAllocation
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        "",  # faProfile (server version < 177)
        "",  # modelCode
        "",  # goodTillDate
        "",  # rule80A
        "",  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        "",  # startingPrice
        "",  # stockRefPrice
        "",  # delta
        "",  # stockRangeLower
        "",  # stockRangeUpper
        "",  # displaySize
        0,  # blockOrder
        0,  # sweepToFill
        0,  # allOrNone
        "",  # minQty
        3,  # ocaType
        0,  # eTradeOnly
        0,  # firmQuoteOnly
        "",  # nbboPriceCap
        0,  # parentId
        0,  # triggerMethod
        "",  # volatility
        0,  # volatilityType
        "",  # deltaNeutralOrderType: "" (a "None" string would pull 8 more fields)
        "",  # deltaNeutralAuxPrice
        0,  # continuousUpdate
        0,  # referencePriceType
        "",  # trailStopPrice
        "",  # trailingPercent
        "",  # basisPoints
        "",  # basisPointsType
        "",  # comboLegsDescrip
        *_combo_legs(order),
        0,  # order combo legs
        0,  # smart combo routing params
        "",  # scaleInitLevelSize
        "",  # scaleSubsLevelSize
        "",  # scalePriceIncrement
        "",  # hedgeType
        0,  # optOutSmartRouting
        "",  # clearingAccount
        "",  # clearingIntent
        0,  # notHeld
        0,  # delta-neutral contract present
        "",  # algoStrategy
        0,  # solicited
        0,  # whatIf
        order.status.value,
    ]
    margins = [""] * 12  # init/maint/equity-with-loan before, change, after; commissions
    tail = [
        "",  # commissionCurrency
        "",  # warningText
        0,  # randomizeSize
        0,  # randomizePrice
        0,  # conditions
        "",  # adjustedOrderType
        "",  # triggerPrice
        "",  # trailStopPrice
        "",  # lmtPriceOffset
        "",  # adjustedStopPrice
        "",  # adjustedStopLimitPrice
        "",  # adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",  # softDollarTier name
        "",  # softDollarTier value
        "",  # softDollarTier displayName
        "",  # cashQty
        0,  # dontUseAutoPriceForHedge
        0,  # isOmsContainer
        0,  # discretionaryUpToLimitPrice
        0,  # usePriceMgmtAlgo
        "",  # duration
        0,  # postToAts
        0,  # autoCancelParent
        "",  # minTradeQty
        "",  # minCompeteSize
        "",  # competeAgainstBestOffset
        "",  # midOffsetAtWhole
        "",  # midOffsetAtHalf
    ]
    return head + margins + tail


def _combo_legs(order: Order) -> list[object]:
    """The number of combo legs, then per leg: conId, ratio, action, exchange, openClose,
    shortSaleSlot, designatedLocation, exemptCode."""
    fields: list[object] = [len(order.legs)]
    for leg in order.legs:
        fields += [leg.instrument.con_id, leg.ratio, leg.action, "SMART", 0, 0, "", -1]
    return fields


def execution_data(req_id: int, execution: Execution) -> list[object]:
    """EXECUTION_DATA: 31 fields at v176; req_id −1 for a live fill."""
    return [
        Out.EXECUTION_DATA,
        req_id,
        execution.order_id,
        *execution.instrument.contract_fields(),
        execution.exec_id,
        ib_time(execution.time),
        execution.account,
        "ARCA" if execution.instrument.sec_type == "STK" else "SMART",
        execution.side,
        execution.shares,
        execution.price,
        execution.perm_id,
        execution.client_id,
        0,  # liquidation
        execution.cum_qty,
        execution.avg_price,
        execution.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        2,  # lastLiquidity: removed liquidity
    ]


def commission_report(execution: Execution) -> list[object]:
    return [
        Out.COMMISSION_REPORT,
        1,
        execution.exec_id,
        execution.commission,
        CURRENCY,
        execution.realized_pnl if execution.realized_pnl else "",
        "",  # yield
        "",  # yieldRedemptionDate
    ]
