"""The market-data service's settings: one typed, validated object, built by the caller (the
CLI, or a deployment's config) and injected, never read from the environment here."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spy_core.default_ports import GATEWAY_PORT
from spy_detector import DetectorConfig, StreamSettings


class ClockSource(StrEnum):
    GATEWAY = "gateway"  # the gateway's reqCurrentTime (a simulator plays its own day)
    REAL = "real"  # the machine's clock (a real IB Gateway)


class MarketDataSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=GATEWAY_PORT, ge=1, le=65535)
    client_id: int = Field(default=11, ge=0)
    underlying: str = "SPY"
    # Strikes within spot × (1 ± band) are subscribed (both rights), within the line limit.
    band: float = Field(default=0.01, gt=0, le=0.5)
    # Follow the money: re-plan the strikes once spot has moved this fraction from the spot
    # of the last plan (hysteresis, so a spot hovering between strikes does not churn lines).
    follow_threshold: float = Field(default=0.001, ge=0)
    # Wall seconds between snapshots when no tick arrives (ticks also trigger one at once).
    interval: float = Field(default=1.0, gt=0)
    # Wall seconds to let a burst of ticks finish arriving before a tick-triggered snapshot,
    # so one snapshot does not mix two market updates.
    coalesce: float = Field(default=0.002, ge=0)
    # Shortest wall time between two tick-triggered snapshots: bounds the detector's CPU share.
    min_gap: float = Field(default=0.0, ge=0)
    # IBKR's default market-data line limit; the underlying takes one.
    max_lines: int = Field(default=100, ge=2)
    # Messages per second to the gateway (IBKR allows 50; ib_async throttles at 45).
    pacing: int = Field(default=45, ge=1, le=50)
    qualify_batch: int = Field(default=20, ge=1)
    generic_ticks: str = "101"  # open interest
    clock: ClockSource = ClockSource.GATEWAY
    clock_resync: float = Field(default=30.0, gt=0)  # wall seconds between clock re-syncs
    connect_timeout: float = Field(default=10.0, gt=0)
    reconnect_initial: float = Field(default=0.5, gt=0)  # first backoff, wall seconds
    reconnect_max: float = Field(default=30.0, gt=0)
    detector: DetectorConfig = DetectorConfig(max_expiries=1)
    stream: StreamSettings = StreamSettings()

    @model_validator(mode="after")
    def _backoff_order(self) -> MarketDataSettings:
        if self.reconnect_max < self.reconnect_initial:
            raise ValueError("reconnect_max must be ≥ reconnect_initial")
        return self

    @property
    def option_lines(self) -> int:
        """Lines left for options once the underlying has its one."""
        return self.max_lines - 1
