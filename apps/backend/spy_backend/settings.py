"""The backend's settings: one typed object, read from `SPY_*` environment variables once (by
`Settings()`), then injected into `create_app`; no other module reads the environment."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .market_clock import MarketClockKind


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class StorageKind(StrEnum):
    SQLITE = "sqlite"
    AZURE_TABLES = "azure-tables"


def _default_data_dir() -> Path:
    return Path.home() / ".config" / "spy-platform"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPY_", extra="forbid", frozen=True)

    environment: Environment = Environment.DEV
    # Where dev keeps its generated service token and its SQLite file (outside git).
    data_dir: Path = Field(default_factory=_default_data_dir)
    # The on-prem services' write token. In the cloud an App Service setting that is a Key
    # Vault reference; in dev, when unset, generated once into data_dir/service-token (0600).
    service_token: SecretStr | None = None
    # Reads open (the dashboard is public) or behind the same bearer token.
    protect_reads: bool = False
    # Origins allowed to call the API from a browser. Unset: the loopback origins of the
    # port the server listens on (http://127.0.0.1:PORT, http://localhost:PORT).
    cors_origins: list[str] | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_batch: int = Field(default=1000, ge=1, le=10_000)
    # OpenAPI docs (/docs, /openapi.json): default on in dev, off in prod.
    docs: bool | None = None

    storage: StorageKind = StorageKind.SQLITE
    sqlite_path: Path | None = None  # default data_dir/backend.sqlite3
    # Azure Tables: the account's table endpoint, reached with the process's Azure identity
    # (the cloud's way: no key), or a connection string with the account key (Azurite).
    azure_tables_endpoint: str | None = Field(default=None, pattern=r"^https://\S+$")
    azure_tables_connection_string: SecretStr | None = None
    azure_tables_prefix: str = Field(default="spy", pattern=r"^[A-Za-z][A-Za-z0-9]{0,40}$")
    retention_days: int = Field(default=30, ge=1)

    # Azure SignalR (serverless). Unset: the app's own hub serves realtime clients. Deployed:
    # the service endpoint, reached with the process's Microsoft Entra identity (no key; the
    # service has local auth off). Local stand-ins only: a connection string with AccessKey.
    signalr_endpoint: str | None = Field(
        default=None, pattern=r"^(https://\S+|http://(127\.0\.0\.1|localhost)(:\d+)?/?)$"
    )
    signalr_connection_string: SecretStr | None = None
    hub_name: str = Field(default="spy", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    # Delivered messages per day the broadcaster may spend (Free tier: 20,000); 0 = no limit.
    message_budget_per_day: int = Field(default=0, ge=0)
    # Viewers assumed when the count is unknown (Azure serverless): each copy counts.
    expected_viewers: int = Field(default=3, ge=1)
    # Shortest gap between two market-state messages (anomaly events go out at once).
    state_interval_seconds: float = Field(default=1.0, ge=0)
    ping_seconds: float = Field(default=15.0, gt=0)
    # A hub client silent this long is closed (ASP.NET Core's ClientTimeoutInterval; the
    # official clients ping every 15 s).
    client_timeout_seconds: float = Field(default=30.0, gt=0)

    # The trader's own HTTP surface (`spy_trader.http`: /ready, /kill-switch), reached by
    # the backend only (on-prem over the VPN in the cloud): the dashboard reads the trader's
    # state and sends the operator's kill switch through `/api/trader`. Unset: no trader.
    trader_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # Whose clock the desk's session header follows (`market_clock`): the machine's for a
    # live feed, the data's own when it comes from a simulator or a replay.
    market_clock: MarketClockKind = MarketClockKind.REAL
    # Static dashboard to serve at / when present.
    frontend_dir: Path | None = None
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_json: bool = True
    # Telemetry: App Insights when its standard variable is set (App Service sets it), else
    # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else console exporters if asked.
    applicationinsights_connection_string: SecretStr | None = Field(
        default=None, validation_alias="APPLICATIONINSIGHTS_CONNECTION_STRING"
    )
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    telemetry_console: bool = False

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.cors_origins is not None and "*" in self.cors_origins:
            raise ValueError("cors_origins must list explicit origins, not '*'")
        if self.storage is StorageKind.AZURE_TABLES:
            ways = (self.azure_tables_endpoint, self.azure_tables_connection_string)
            if sum(way is not None for way in ways) != 1:
                raise ValueError(
                    "storage azure-tables needs one of SPY_AZURE_TABLES_ENDPOINT (managed "
                    "identity) or SPY_AZURE_TABLES_CONNECTION_STRING (account key)"
                )
        if self.signalr_endpoint is not None and self.signalr_connection_string is not None:
            raise ValueError(
                "set one of SPY_SIGNALR_ENDPOINT (Entra identity) or "
                "SPY_SIGNALR_CONNECTION_STRING (access key, local stand-ins only)"
            )
        if self.environment is Environment.PROD and self.service_token is None:
            raise ValueError("prod needs SPY_SERVICE_TOKEN (a Key Vault reference)")
        return self

    @property
    def docs_enabled(self) -> bool:
        return self.environment is Environment.DEV if self.docs is None else self.docs

    @property
    def database_path(self) -> Path:
        return self.sqlite_path or self.data_dir / "backend.sqlite3"
