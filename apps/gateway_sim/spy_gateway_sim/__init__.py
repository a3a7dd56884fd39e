"""IB Gateway simulator: speaks the TWS API socket protocol over a simulated SPY market, so
unmodified ib_async code connects, streams quotes and trades against it."""

from .faults import Faults
from .market import MarketConfig, MarketModel, MarketView
from .server import GatewaySimulator, SimulatorConfig

__all__ = [
    "Faults",
    "GatewaySimulator",
    "MarketConfig",
    "MarketModel",
    "MarketView",
    "SimulatorConfig",
]
