"""The metric names the monitoring reads, as an interface: the composition passes the apps'
contract module (spy_core.metric_names), since infra/ imports no app."""

from __future__ import annotations

from typing import Protocol


class MetricNames(Protocol):
    MARKET_OPEN: str
    GATEWAY_CONNECTED: str
    TICKS: str
    SNAPSHOTS: str
    SNAPSHOT_SECONDS: str
    TICK_TO_ANOMALY_SECONDS: str
    OPEN_ANOMALIES: str
    SPOOL_BYTES: str
    TRADER_ORDERS: str
    TRADER_FILLS: str
    TRADER_ORDER_REJECTIONS: str
    TRADER_PNL_DOLLARS: str
    TRADER_RISK_USE: str
    TRADER_TRADING_STATE: str
    TRADER_GATEWAY_CONNECTED: str
    TRADER_LEADER: str
