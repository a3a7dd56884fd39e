"""Detector settings: one typed, validated object with documented defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from spy_core.forward import DEFAULT_RATE

from .gex import DealerConvention


class SmileSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_points: int = Field(default=4, ge=3)  # fewer usable mids: no smile, no smile flags
    points_per_knot: float = Field(default=1.5, gt=0)
    max_intervals: int = Field(default=24, ge=2)
    smoothing: float = Field(default=0.002, gt=0)  # second-difference penalty, in "quotes"
    # Log-moneyness fits of fewer two-sided quotes than this choose their smoothing (the
    # configured value or stiffer) by generalised cross-validation; see `smile._fit`.
    gcv_below: int = Field(default=12, ge=0)
    robust_iterations: int = Field(default=5, ge=1)
    huber_c: float = Field(default=2.0, gt=0)  # residuals in half-spread units
    tukey_c: float = Field(default=6.0, gt=0)
    min_residual_scale: float = Field(default=0.5, gt=0)
    # A cap (bound-only offer) between two-sided quotes that the uncapped smile overshoots by
    # more than this many scaled half-ticks is a mispriced offer, not a bound.
    cap_doubt: float = Field(default=6.0, gt=0)
    # Largest weight of one quote relative to the median quote (weights are 1/half-width²).
    max_weight: float = Field(default=4.0, gt=0)
    # c in the second fit's coordinate asinh(k / (c·σ_atm·√t)): at-the-money standard
    # deviations over which it stays linear in log-moneyness k.
    atm_stretch: float = Field(default=1.5, gt=0)


class DetectorConfig(BaseModel):
    """What counts as an anomaly. Dollar amounts are per share (×100 per contract)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_edge: float = Field(default=0.03, ge=0)  # dollars beyond fair at the executable side
    min_score: float = Field(default=3.0, ge=0)  # edge over its standard error
    # Minimum price increment: None follows each class's exchange rule (spy_core.ticks); a
    # quote bid at one tick or less only bounds the smile.
    tick: float | None = Field(default=None, gt=0)
    arbitrage_tolerance: float | None = Field(default=None, ge=0)  # default: the largest tick
    max_expiries: int | None = Field(default=None, ge=1)  # nearest N expiries only
    default_rate: float = Field(
        default=DEFAULT_RATE, ge=-0.05, le=0.5
    )  # when the snapshot has none
    # Standard error of the rate (given in the snapshot, defaulted): widens the uncertainty
    # of deep in-the-money, long-dated fair values, which scale with the discount factor.
    rate_error_given: float = Field(default=0.0025, ge=0)
    rate_error_default: float = Field(default=0.015, ge=0)
    dealer_convention: DealerConvention = DealerConvention.LONG_CALLS_SHORT_PUTS
    # Quotes whose line last ticked longer ago than this (seconds) are excluded; None keeps
    # all. Quotes stamped more than `clock_skew` seconds after the snapshot are excluded.
    max_quote_age: float | None = Field(default=15.0, gt=0)
    clock_skew: float = Field(default=1.0, ge=0)
    # A quoted spot above the options' implied spot by up to this fraction is a dividend
    # paid before expiry, not a stale spot (dividend payers, expiries after today).
    dividend_allowance: float = Field(default=0.005, ge=0, le=0.1)
    smile: SmileSettings = SmileSettings()


class StreamSettings(BaseModel):
    """Hysteresis of the streaming detector: announce at the detector's thresholds, clear
    only well below them, so a quote hovering at the threshold is not re-announced on every
    snapshot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # An announced anomaly stays open while its edge (and, for smile findings, its score)
    # stays above this fraction of `min_edge` / `min_score`.
    clear_ratio: float = Field(default=0.5, gt=0, le=1)
    # Consecutive snapshots a new finding must appear in before it is announced.
    confirm_snapshots: int = Field(default=1, ge=1)
    # Consecutive snapshots without the quote (unsubscribed, excluded) before it clears.
    missing_snapshots: int = Field(default=3, ge=1)
