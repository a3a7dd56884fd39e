"""Prometheus metrics of one trader: orders, fills, rejections by rule, P&L, how much of
each risk limit is in use, the trading state, the gateway connection, the lease and the bytes
spooled for the backend. The names the k3s alerts and dashboards read are the contract in
spy_core.metric_names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from spy_core import metric_names as names
from spy_core.trading import PnlPoint, TradingState
from spy_marketdata.metrics import spool_gauge

from .settings import RiskSettings


class TraderMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.orders = Counter(names.TRADER_ORDERS, "Orders sent to IB", ["action"], registry=r)
        self.fills = Counter(names.TRADER_FILLS, "Executions booked", registry=r)
        self.rejections = Counter(
            "trader_rejections", "Signals rejected, by risk rule", ["rule"], registry=r
        )
        self.order_rejections = Counter(
            names.TRADER_ORDER_REJECTIONS, "Orders IB rejected", registry=r
        )
        self.skips = Counter("trader_skips", "Findings the strategy passed on", registry=r)
        self.orphans = Counter("trader_orphan_orders", "Orders at IB unknown to us", registry=r)
        self.position_mismatches = Counter(
            "trader_position_mismatches", "Positions that differed from IB's", registry=r
        )
        self.pnl_dollars = Gauge(names.TRADER_PNL_DOLLARS, "Day P&L", ["kind"], registry=r)
        self.pnl_difference = Gauge(
            "trader_pnl_difference_dollars",
            "Our day P&L less IB's (reqPnL), in IB's convention",
            ["kind"],
            registry=r,
        )
        self.pnl_mismatches = Counter(
            "trader_pnl_mismatches", "Times our P&L stayed apart from IB's", registry=r
        )
        self.risk_use = Gauge(
            names.TRADER_RISK_USE, "Share of each risk limit in use", ["limit"], registry=r
        )
        self.trading_state = Gauge(
            names.TRADER_TRADING_STATE, "1 for the current trading state", ["state"], registry=r
        )
        self.gateway_connected = Gauge(
            names.TRADER_GATEWAY_CONNECTED, "1 while connected to IB", registry=r
        )
        self.leader = Gauge(names.TRADER_LEADER, "1 while this trader holds the lease", registry=r)
        self.spool_bytes = spool_gauge(r)

    def state(self, state: TradingState) -> None:
        for each in TradingState:
            self.trading_state.labels(each.value).set(1 if each is state else 0)

    def pnl(self, point: PnlPoint, limits: RiskSettings) -> None:
        self.pnl_dollars.labels("realized").set(point.realized)
        self.pnl_dollars.labels("unrealized_mid").set(point.unrealized_mid)
        self.pnl_dollars.labels("unrealized_fair").set(point.unrealized_fair)
        self.pnl_dollars.labels("commissions").set(point.commissions)
        loss = max(-(point.realized + point.unrealized_mid), 0.0)
        self.risk_use.labels("max_daily_loss").set(loss / limits.max_daily_loss)
        self.risk_use.labels("max_open_positions").set(
            point.open_positions / limits.max_open_positions
        )
        self.risk_use.labels("max_premium_at_risk").set(
            point.premium_at_risk / limits.max_premium_at_risk
        )
        self.risk_use.labels("max_net_delta").set(abs(point.net_delta) / limits.max_net_delta)
