"""The Prometheus metric names the on-prem apps export and the k3s monitoring reads (alert
rules, Grafana dashboards: infra/k3s). One definition, so a rename cannot silently blank a
dashboard or mute an alert (the system this replaces drifted exactly there).

Names are the *family* names given to prometheus_client; a Counter is exposed with `_total`,
a Histogram with `_bucket`/`_sum`/`_count`. The apps import them from here (never a copy of the
string). `EXPORTED_BY` says which app's /metrics serves each; the monitoring tests build each
app's registry and check it does, and that every name an alert or dashboard reads is served by
an app a scrape job targets. A name an app does not serve yet would be listed in `PENDING`
(the contract that app must implement); none is today.
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

# Trader (apps/trader, spy_trader.metrics), on its HTTP port at /metrics.
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

PENDING: frozenset[str] = frozenset()
"""Names an app in `EXPORTED_BY` does not serve yet: the contract to implement (none today)."""
