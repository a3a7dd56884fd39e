"""The trader's settings: one typed, validated object built by the caller (CLI or deployment)
and injected. Invalid values refuse to start with pydantic's message, which names the field.

Live trading is configured twice on purpose: `account_kind = live` here AND the environment
variable `SPY_TRADER_LIVE=I-UNDERSTAND` (checked by `check_live_twice`), so a copied config
file alone can never send real orders.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

LIVE_ENV = "SPY_TRADER_LIVE"
LIVE_ENV_VALUE = "I-UNDERSTAND"


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AccountKind(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class StrategySettings(_Settings):
    """The default strategy: take a live finding whose edge clears costs; defined risk only."""

    # Dollars per share the finding must still be worth after commissions and the
    # half-spread paid to get out.
    min_edge: float = Field(default=0.03, ge=0)
    # The detector's judgement that the quote is live and executable (0-1).
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    quantity: int = Field(default=1, ge=1, le=100)
    commission_per_contract: float = Field(default=0.65, ge=0)
    min_commission: float = Field(default=1.0, ge=0)
    # Exits, dollars per share against the entry price (per spread for verticals).
    take_profit: float = Field(default=0.25, gt=0)
    stop_loss: float = Field(default=0.40, gt=0)
    # Sell a rich option only as a vertical against this many strikes away (neighbour: 1).
    wing_strikes: int = Field(default=1, ge=1, le=5)
    allow_verticals: bool = True


class RiskSettings(_Settings):
    """Hard limits, each checked by name (the name appears in a rejection)."""

    no_open_first_minutes: float = Field(default=5.0, ge=0)
    no_open_last_minutes: float = Field(default=30.0, ge=0)
    # Flat this long before the close (early closes included): no 0DTE option settles.
    flatten_before_close_minutes: float = Field(default=15.0, gt=0)
    max_contracts_per_order: int = Field(default=5, ge=1)
    max_contracts_per_contract: int = Field(default=10, ge=1)
    max_contracts_total: int = Field(default=40, ge=1)
    max_open_positions: int = Field(default=6, ge=1)
    max_premium_at_risk: float = Field(default=5_000.0, gt=0)  # dollars
    max_net_delta: float = Field(default=500.0, gt=0)  # shares-equivalent
    max_daily_loss: float = Field(default=1_500.0, gt=0)  # dollars, realised + unrealised
    max_orders_per_minute: int = Field(default=30, ge=1)
    max_cancels_per_minute: int = Field(default=30, ge=1)
    max_quote_age_ms: float = Field(default=2_000.0, gt=0)
    # A limit may sit at most this far (dollars per share) beyond the fair value.
    fair_band: float = Field(default=0.10, ge=0)
    min_confidence: float = Field(default=0.5, ge=0, le=1)


class LeaseSettings(_Settings):
    """Who may send orders: the holder of a Kubernetes Lease, or locally a file lock."""

    kind: str = Field(default="file", pattern="^(file|kubernetes)$")
    name: str = "spy-trader"
    namespace: str = "spy"
    api_url: str = "https://kubernetes.default.svc"
    duration_seconds: int = Field(default=15, ge=2)
    renew_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _renew_inside_duration(self) -> LeaseSettings:
        if self.renew_seconds >= self.duration_seconds:
            raise ValueError("lease.renew_seconds must be below lease.duration_seconds")
        return self


class TraderSettings(_Settings):
    host: str = "127.0.0.1"
    port: int = Field(default=4002, ge=1, le=65535)
    client_id: int = Field(default=21, ge=0)  # order client; market data uses its own
    market_data_client_id: int = Field(default=22, ge=0)
    account_kind: AccountKind = AccountKind.PAPER
    account: str | None = None  # default: the only managed account
    data_dir: Path = Path("~/.config/spy-platform/trader")
    # Working orders not filled after this many wall seconds are cancelled (taker strategy:
    # a limit that did not fill at the touch has missed the quote).
    order_ttl_seconds: float = Field(default=5.0, gt=0)
    reconcile_seconds: float = Field(default=30.0, gt=0)
    # Our P&L against IB's (reqPnL): realised must agree to the cent; unrealised differs by
    # the marks (our last snapshot's mids against IB's marks now), hence a band per contract
    # held. A difference beyond these for `pnl_grace_seconds` (IB's P&L trails fills) is
    # logged and counted.
    pnl_tolerance: float = Field(default=1.0, ge=0)  # dollars, realised
    unrealized_pnl_tolerance: float = Field(default=10.0, ge=0)  # dollars per contract held
    pnl_grace_seconds: float = Field(default=5.0, ge=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    strategy: StrategySettings = StrategySettings()
    risk: RiskSettings = RiskSettings()
    lease: LeaseSettings = LeaseSettings()

    @model_validator(mode="after")
    def _distinct_clients(self) -> TraderSettings:
        if self.client_id == self.market_data_client_id:
            raise ValueError("client_id and market_data_client_id must differ")
        return self

    @property
    def state_path(self) -> Path:
        return self.data_dir.expanduser() / "trader.sqlite"


class ConfigurationError(ValueError):
    """The settings and the world disagree (live not confirmed, wrong account kind)."""


def check_live_twice(settings: TraderSettings, environ: dict[str, str]) -> None:
    if settings.account_kind is AccountKind.LIVE and environ.get(LIVE_ENV) != LIVE_ENV_VALUE:
        raise ConfigurationError(
            f"account_kind=live needs the environment variable {LIVE_ENV}={LIVE_ENV_VALUE} too"
        )


def check_account(settings: TraderSettings, account: str) -> None:
    """Paper accounts are DU… (DF… for advisor paper masters); anything else is live."""
    is_paper = account.upper().startswith(("DU", "DF"))
    if is_paper != (settings.account_kind is AccountKind.PAPER):
        raise ConfigurationError(
            f"account_kind={settings.account_kind.value} but the gateway's account "
            f"{account[:2]}… is a {'paper' if is_paper else 'live'} account: refusing to start"
        )
