"""The Prometheus metric names the on-prem apps export and the k3s monitoring reads (alert
rules, Grafana dashboards: infra/k3s). One definition, so a rename cannot silently blank a
dashboard or mute an alert (the system this replaces drifted exactly there).

Names are the *family* names given to prometheus_client; a Counter is exposed with `_total`,
a Histogram with `_bucket`/`_sum`/`_count`. `EXPORTED_BY` says which app defines each with
prometheus_client today; a name whose app does not define it yet is listed in `PENDING` (the
contract that app must implement), and the monitoring tests accept it only from there.
"""

from __future__ import annotations

# Market data + detector (apps/marketdata), served on its health port at /metrics.
# Types: the comment after each name (the monitoring tests read them).
MARKET_OPEN = "spy_market_open"  # Gauge: 1 during a regular NYSE session (spy_core.market_hours)
GATEWAY_CONNECTED = "spy_marketdata_gateway_connected"  # Gauge: 1 while the API session is up
TICKS = "spy_marketdata_ticks"  # Counter: market-data updates received
SNAPSHOTS = "spy_marketdata_snapshots"  # Counter: chain snapshots published
SNAPSHOT_SECONDS = "spy_marketdata_snapshot_seconds"  # Histogram: assemble one snapshot
TICK_TO_ANOMALY_SECONDS = "spy_marketdata_tick_to_anomaly_seconds"  # Histogram: tick -> event
OPEN_ANOMALIES = "spy_marketdata_open_anomalies"  # Gauge: findings currently open
SPOOL_BYTES = "spy_sink_spool_bytes"  # Gauge: unacknowledged bytes spooled for the backend

# Trader (apps/trader, spy_trader.metrics): the names as that package defines them.
TRADER_ORDERS = "trader_orders"  # Counter, label action
TRADER_FILLS = "trader_fills"  # Counter
TRADER_ORDER_REJECTIONS = "trader_order_rejections"  # Counter: orders IB rejected
TRADER_PNL_DOLLARS = "trader_pnl_dollars"  # Gauge, label kind (realized, unrealized_mid, ...)
TRADER_RISK_USE = "trader_risk_use_ratio"  # Gauge, label limit (max_daily_loss, ...)
TRADER_TRADING_STATE = "trader_trading_state"  # Gauge, label state (active|reducing|halted)
TRADER_GATEWAY_CONNECTED = "trader_gateway_connected"  # Gauge
TRADER_LEADER = "trader_leader"  # Gauge: 1 while this replica holds the Lease

# Backend (apps/backend, spy_backend.metrics).
BACKEND_REQUESTS = "spy_http_requests"  # Counter, labels method, route, status
BACKEND_INGESTED = "spy_ingested_records"  # Counter, labels kind, new

EXPORTED_BY = {
    "marketdata": (
        MARKET_OPEN,
        GATEWAY_CONNECTED,
        TICKS,
        SNAPSHOTS,
        SNAPSHOT_SECONDS,
        TICK_TO_ANOMALY_SECONDS,
        OPEN_ANOMALIES,
        SPOOL_BYTES,
    ),
    "trader": (
        TRADER_ORDERS,
        TRADER_FILLS,
        TRADER_ORDER_REJECTIONS,
        TRADER_PNL_DOLLARS,
        TRADER_RISK_USE,
        TRADER_TRADING_STATE,
        TRADER_GATEWAY_CONNECTED,
        TRADER_LEADER,
        SPOOL_BYTES,
    ),
    "backend": (BACKEND_REQUESTS, BACKEND_INGESTED),
}

PENDING = frozenset(
    {
        # apps/marketdata's /metrics (spy_marketdata.metrics) exports the status-derived names
        # (market open, gateway connected, snapshots); the pipeline's tick counter, latency
        # histograms, open-anomaly gauge and the spool gauge are still to be instrumented.
        TICKS,
        SNAPSHOT_SECONDS,
        TICK_TO_ANOMALY_SECONDS,
        OPEN_ANOMALIES,
        SPOOL_BYTES,
        # apps/trader is being built on its own branch (it defines the trader_* names above);
        # the spool gauge is not defined by any app yet.
        *EXPORTED_BY["trader"],
    }
)
"""Names no app defines with prometheus_client in this tree yet: the contract to implement."""
