"""detect(): one chain snapshot in, anomalies, per-expiry diagnostics and gamma exposure out."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from spy_core.market_hours import is_market_open
from spy_core.models import (
    Anomaly,
    AnomalyKind,
    ChainSnapshot,
    ExerciseStyle,
    Right,
    Severity,
    Side,
)

from .arbitrage import Violation, static_arbitrage
from .config import DetectorConfig
from .fair_value import CalendarFloors, FairValues, fair_values
from .gex import GammaExposure, gamma_exposure
from .liveness import quote_confidence
from .slices import ExpirySlice, split_expiries
from .underlying import UnderlyingCheck, check_underlying

_MINUTES_PER_YEAR = 365.0 * 24 * 60


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    expiry: date
    root: str | None
    minutes_to_expiry: float
    forward: float
    forward_strikes: int  # strikes whose parity set the forward (0: carry forward used)
    discount: float
    atm_vol: float | None
    quotes: int
    fitted: int  # quotes in the smile fit (two-sided out of the money, and informative in it)
    bound_only: int  # zero-bid / one-tick quotes used only as bounds
    outliers: int  # fitted quotes the robust fit gave zero weight
    residual_scale: float | None  # robust residual std in half-spreads (≈0.6 is a good fit)

    def to_dict(self) -> dict:
        return {
            "expiry": self.expiry.isoformat(),
            "root": self.root,
            "minutes_to_expiry": round(self.minutes_to_expiry, 1),
            "forward": round(self.forward, 4),
            "forward_strikes": self.forward_strikes,
            "discount": round(self.discount, 6),
            "atm_vol": None if self.atm_vol is None else round(self.atm_vol, 4),
            "quotes": self.quotes,
            "fitted": self.fitted,
            "bound_only": self.bound_only,
            "outliers": self.outliers,
            "fit_residual_scale": _rounded(self.residual_scale, 3),
            **({"note": self.note} if self.note else {}),
        }

    @property
    def note(self) -> str:
        """Why an expiry has no smile (and so no smile findings), where it has none."""
        if self.atm_vol is not None:
            return ""
        if self.fitted == 0:
            return "no two-sided quotes: no smile; only model-free bounds checked"
        return f"only {self.fitted} two-sided quotes: too sparse for a smile"


@dataclass(frozen=True, slots=True)
class ChainAnalysis:
    timestamp: str
    spot: float
    anomalies: list[Anomaly]
    expiries: list[ExpiryReport]
    gex: GammaExposure | None
    excluded: dict[str, int] = field(default_factory=dict)
    # Conditions a reader must know before acting: {"kind": "stale_underlying" | ..., ...}.
    warnings: list[dict] = field(default_factory=list)
    market_open: bool = True
    underlying: UnderlyingCheck | None = None

    def to_dict(self) -> dict:
        return {
            "timestamp": self.timestamp,
            "spot": self.spot,
            "market_open": self.market_open,
            "warnings": self.warnings,
            "anomalies": [anomaly_to_dict(a) for a in self.anomalies],
            "expiries": [e.to_dict() for e in self.expiries],
            "gex": None if self.gex is None else self.gex.to_dict(),
            "excluded": self.excluded,
        }


def anomaly_to_dict(anomaly: Anomaly) -> dict:
    data = anomaly.model_dump(mode="json")
    for key in ("bid", "ask", "fair", "edge"):
        data[key] = round(data[key], 4)
    data["score"] = round(data["score"], 2)
    data["confidence"] = round(data["confidence"], 3)
    return data


# Smallest ratio of the two edges of a strike's call and put that both cross the smile on one
# side for the pair to be read as the fit's miss, not two mispricings (`_pair_against_fit`).
PAIR_AGREEMENT = 0.5

MARKET_CLOSED_WARNING = {
    "kind": "market_closed",
    "detail": "outside the options' regular session: findings are shown for study and are "
    "not executable",
}


def detect(snapshot: ChainSnapshot, config: DetectorConfig | None = None) -> ChainAnalysis:
    config = config or DetectorConfig()
    snapshot, excluded = _current_quotes(snapshot, config)
    slices, expired = split_expiries(
        snapshot,
        config.default_rate,
        (config.rate_error_given, config.rate_error_default),
        config.tick,
    )
    if expired:
        excluded["expired expiries"] = len(expired)
        excluded["quotes in expired expiries"] = sum(expired.values())
    if config.max_expiries is not None and len(slices) > config.max_expiries:
        excluded["expiries beyond --expiries"] = len(slices) - config.max_expiries
        slices = slices[: config.max_expiries]
    underlying = check_underlying(
        slices,
        snapshot.spot,
        snapshot.timestamp,
        snapshot.dividend_yield or 0.0,
        config.dividend_allowance,
    )
    spot_error = underlying.tolerance if underlying.implied is not None else 0.0
    slices = [dataclasses.replace(s, spot=underlying.used, spot_error=spot_error) for s in slices]
    market_open = is_market_open(snapshot.timestamp)
    warnings = [underlying.warning()] if underlying.stale else []
    if not market_open:
        warnings.append(MARKET_CLOSED_WARNING)
    anomalies: list[Anomaly] = []
    reports: list[ExpiryReport] = []
    vols: list[np.ndarray] = []
    floors = CalendarFloors()
    for chain in slices:  # nearest expiry first
        values = floors.apply(chain, fair_values(chain, config))
        anomalies += _expiry_anomalies(chain, values, config, market_open)
        reports.append(_report(chain, values))
        vols.append(values.vol)
    return ChainAnalysis(
        timestamp=snapshot.timestamp.isoformat(),
        spot=snapshot.spot,
        anomalies=ranked(anomalies),
        expiries=reports,
        gex=_gex(underlying.used, slices, vols, config),
        excluded=excluded,
        warnings=warnings,
        market_open=market_open,
        underlying=underlying,
    )


def _current_quotes(
    snapshot: ChainSnapshot, config: DetectorConfig
) -> tuple[ChainSnapshot, dict[str, int]]:
    """Drop quotes stamped in the future (beyond the clock skew) or older than the maximum
    age: an old line shows the prices of another market."""
    stamps = [quote.updated_at for quote in snapshot.quotes]
    if stamps.count(None) == len(stamps):  # a feed without times (Cboe snapshots): all kept
        return snapshot, {}
    now = snapshot.timestamp
    ahead = now + timedelta(seconds=config.clock_skew)
    oldest = None if config.max_quote_age is None else now - timedelta(seconds=config.max_quote_age)
    future = old = 0
    kept = []
    for quote in snapshot.quotes:
        stamp = quote.updated_at
        if stamp is not None and stamp > ahead:
            future += 1
        elif stamp is not None and oldest is not None and stamp < oldest:
            old += 1
        else:
            kept.append(quote)
    excluded = {}
    if future:
        excluded["quotes timestamped after the snapshot"] = future
    if old:
        excluded[f"quotes older than {config.max_quote_age:g} s"] = old
    if not excluded:
        return snapshot, excluded
    return snapshot.model_copy(update={"quotes": tuple(kept)}), excluded


def _expiry_anomalies(
    chain: ExpirySlice, values: FairValues, config: DetectorConfig, executable: bool = True
) -> list[Anomaly]:
    """Static-arbitrage violations (model-free) and smile mispricings; one anomaly per quote
    and side, labelled with the model-free kind when there is one. Its edge and score are
    the larger of the two findings: a small bound the quote also crosses must not hide how
    far it is off its fair value (nor make whether it is reported depend on the thresholds,
    which the streaming detector lowers to keep findings open)."""
    found: dict[tuple[int, Side], Anomaly] = {}
    slack = arbitrage_slack(chain, config)
    for violation in static_arbitrage(chain, slack):
        if not reportable(violation.kind, violation.amount, math.inf, config):
            continue
        index, side = _attribute(chain, violation, values)
        if (index, side) not in found:
            found[(index, side)] = _arbitrage_anomaly(
                chain, values, violation, index, side, slack, config, executable
            )
    for index, side, edge in _smile_candidates(chain, values, config):
        static = found.get((index, side))
        if static is not None and static.edge >= edge:
            continue
        uncertainty = fair_value_error(chain, values, index)
        score = edge / uncertainty
        if not reportable(AnomalyKind.SMILE, edge, score, config):
            continue
        if static is not None:
            score = max(score, static.score)
            found[(index, side)] = static.model_copy(
                update={
                    "edge": edge,
                    "score": score,
                    "severity": severity(edge, score, static.confidence, static.executable),
                }
            )
        else:
            found[(index, side)] = _anomaly(
                chain,
                index,
                side,
                (AnomalyKind.SMILE, values.fair[index], edge, score),
                f"smile vol {values.vol[index]:.4f}, fair ± {uncertainty:.3f}",
                config,
                executable,
            )
    return list(found.values())


def _smile_candidates(chain: ExpirySlice, values: FairValues, config: DetectorConfig):
    informed = True if values.extrapolated is None else ~values.extrapolated
    with np.errstate(invalid="ignore"):
        for side, edges in ((Side.BUY, values.buy_edge), (Side.SELL, values.sell_edge)):
            found = (edges >= config.min_edge) & informed
            if found.any():
                found &= ~_pair_against_fit(chain, edges, config.min_edge)
            for index in np.flatnonzero(found):
                yield int(index), side, float(edges[index])


def _pair_against_fit(chain: ExpirySlice, edges: np.ndarray, min_edge: float) -> np.ndarray:
    """Quotes whose strike's call and put both cross the smile on the same side by comparable
    edges (the smaller at least `PAIR_AGREEMENT` of the larger). Parity gives both one vol,
    so two quotes that agree with each other and not with the fit say the fit is wrong at
    that strike (an event day's W-shaped smile the spline cannot follow), not that both are
    mispriced alike; one mispriced leg leaves the other near its usual edge."""
    against = np.zeros(chain.strike.size, dtype=bool)
    call = np.flatnonzero(chain.strike[1:] == chain.strike[:-1])  # calls sort first
    if call.size == 0:
        return against
    put = call + 1
    low, high = np.minimum(edges[call], edges[put]), np.maximum(edges[call], edges[put])
    with np.errstate(invalid="ignore"):
        both = (low >= min_edge) & (low >= PAIR_AGREEMENT * high)
    against[call[both]] = against[put[both]] = True
    return against


def fair_value_error(chain: ExpirySlice, values: FairValues, i: int) -> float:
    """Standard error (dollars) of quote i's fair value, which a smile edge is scored in: the
    smile fit's error, the forward's (through the quote's forward delta: an in-the-money
    quote is its out-of-the-money counterpart plus parity, so it carries that error in full),
    the discount factor's, and half a tick (fair is compared with prices on a grid), in
    quadrature. Not the quote's own width: how wide a quote is says how likely it is stale
    (`liveness`), not how well fair value is known."""
    fair = float(values.fair[i])
    forward = chain.forward
    if math.isfinite(forward.error):
        forward_error = forward.error
    else:  # carry forward: the rate's error and an unknown dividend, at least 10 bp
        forward_error = forward.forward * max(chain.discount_error, 1e-3)
    delta = chain.discount * _forward_delta(
        forward.forward, float(chain.strike[i]), chain.t, float(values.vol[i]), chain.is_call[i]
    )
    return math.sqrt(
        values.fair_error[i] ** 2
        + (chain.discount_error * fair) ** 2
        + (delta * forward_error) ** 2
        + (0.5 * chain.tick[i]) ** 2
    )


def _forward_delta(forward: float, strike: float, t: float, vol: float, is_call: bool) -> float:
    """|∂ undiscounted Black-76 price / ∂F|: N(d1) for calls, N(−d1) for puts (1 when the
    vol is unknown, the most the forward can move a price)."""
    if not (math.isfinite(vol) and vol > 0):
        return 1.0
    sd = vol * math.sqrt(t)
    d1 = (math.log(forward / strike) + 0.5 * sd * sd) / sd
    return 0.5 * math.erfc((-d1 if is_call else d1) / math.sqrt(2.0))


def _attribute(chain: ExpirySlice, violation: Violation, values: FairValues) -> tuple[int, Side]:
    """A violation has a sell leg and buy legs; the mispriced one is the leg furthest from
    its smile fair value (the sell leg when no smile could be fitted). Furthest from fair,
    not most profitable: an American in-the-money sale clears an early-exercise allowance
    and a neighbour's bound, which say whether selling pays, not which leg is off (a call
    bid $0.36 over fair lost to its neighbour offered $0.06 over fair)."""
    candidates = [(violation.sell, Side.SELL)] if violation.sell is not None else []
    candidates += [(i, Side.BUY) for i in violation.buy]
    american = chain.style is ExerciseStyle.AMERICAN

    def deviation(candidate: tuple[int, Side]) -> float:
        i, side = candidate
        fair = float(values.fair[i])
        if american:
            # A deep in-the-money put worth exercising is worth its exercise value, not the
            # European value the smile gives (0.36 below it six days out at a 5% rate).
            strike = float(chain.strike[i])
            fair = max(fair, chain.spot - strike if chain.is_call[i] else strike - chain.spot)
        edge = chain.bid[i] - fair if side is Side.SELL else fair - chain.ask[i]
        return -math.inf if math.isnan(edge) else float(edge)

    return max(candidates, key=deviation)


def _arbitrage_anomaly(
    chain: ExpirySlice,
    values: FairValues,
    violation: Violation,
    index: int,
    side: Side,
    slack: float,
    config: DetectorConfig,
    executable: bool,
) -> Anomaly:
    smile_fair = values.fair[index]
    fair = violation.bound if math.isnan(smile_fair) else float(smile_fair)
    score = violation.amount / slack if slack else math.inf
    finding = (violation.kind, fair, violation.amount, max(score, config.min_score))
    return _anomaly(chain, index, side, finding, violation.detail, config, executable)


def _anomaly(
    chain: ExpirySlice,
    i: int,
    side: Side,
    finding: tuple[AnomalyKind, float, float, float],
    detail: str,
    config: DetectorConfig,
    executable: bool,
) -> Anomaly:
    """`finding` is (kind, fair, edge, score)."""
    kind, fair, edge, score = finding
    quote = chain.quotes[i]
    confidence = quote_confidence(
        float(chain.bid[i]),
        float(chain.ask[i]),
        float(chain.tick[i]),
        quote.ask_size if side is Side.BUY else quote.bid_size,
        float(chain.age[i]),
        config.max_quote_age,
    )
    return Anomaly(
        expiry=chain.expiry,
        strike=float(chain.strike[i]),
        right=Right.CALL if chain.is_call[i] else Right.PUT,
        side=side,
        kind=kind,
        bid=float(chain.bid[i]),
        ask=float(chain.ask[i]),
        fair=float(fair),
        edge=float(edge),
        score=float(score),
        severity=severity(edge, score, confidence, executable),
        root=chain.root,
        detail=detail,
        confidence=confidence,
        executable=executable,
    )


def arbitrage_slack(chain: ExpirySlice, config: DetectorConfig) -> float:
    """Dollars a static bound may be crossed by before it counts: one (largest) tick of the
    class unless configured, since a quote can only sit on the tick grid."""
    if config.arbitrage_tolerance is not None:
        return config.arbitrage_tolerance
    return float(chain.tick.max())


def ranked(anomalies: Iterable[Anomaly]) -> list[Anomaly]:
    """Strongest first; ties in a stable contract order."""
    return sorted(anomalies, key=lambda a: (-a.score, a.expiry, a.strike, a.right, a.side))


def reportable(kind: AnomalyKind, edge: float, score: float, config: DetectorConfig) -> bool:
    """The one reporting rule: every finding needs `min_edge`; a smile finding, which rests on
    a model, also needs `min_score` standard errors. A static-arbitrage finding is model-free."""
    if kind is AnomalyKind.SMILE:
        return edge >= config.min_edge and score >= config.min_score
    return edge >= config.min_edge


def severity(
    edge: float, score: float, confidence: float = 1.0, executable: bool = True
) -> Severity:
    """High: a dime or more, ten standard errors out, on a quote at least even odds live
    (confidence ≥ 0.5); medium: a nickel, five out, confidence ≥ 0.25; low otherwise, and
    always low when the finding is not executable (market closed)."""
    if not executable:
        return Severity.LOW
    if edge >= 0.10 and score >= 10 and confidence >= 0.5:
        return Severity.HIGH
    if edge >= 0.05 and score >= 5 and confidence >= 0.25:
        return Severity.MEDIUM
    return Severity.LOW


def _report(chain: ExpirySlice, values: FairValues) -> ExpiryReport:
    fit = values.fit
    return ExpiryReport(
        expiry=chain.expiry,
        root=chain.root,
        minutes_to_expiry=chain.t * _MINUTES_PER_YEAR,
        forward=chain.forward.forward,
        forward_strikes=chain.forward.strikes_used,
        discount=chain.discount,
        atm_vol=None if fit is None else _atm_vol(chain, values),
        quotes=len(chain.quotes),
        fitted=values.fitted_quotes,
        bound_only=values.bound_quotes,
        outliers=0 if fit is None else int(fit.outlier.sum()),
        residual_scale=None if fit is None else fit.residual_scale,
    )


def _atm_vol(chain: ExpirySlice, values: FairValues) -> float | None:
    """The judged smile's vol at the forward, interpolated in log-moneyness between the
    strikes either side. The log-moneyness fit alone can miss a short expiry's sharp
    at-the-money curvature when the strikes span a wide range (a 1-day index chain read
    0.142 against 0.085 from its own at-the-money quotes); the vols quotes are judged
    against follow it."""
    forward = chain.forward.forward
    known = np.isfinite(values.vol)
    below = np.flatnonzero(known & (chain.strike <= forward))
    above = np.flatnonzero(known & (chain.strike > forward))
    if below.size == 0 or above.size == 0:
        return None
    lo, hi = below[-1], above[0]
    k_lo, k_hi = math.log(chain.strike[lo] / forward), math.log(chain.strike[hi] / forward)
    weight = -k_lo / (k_hi - k_lo)
    return float((1 - weight) * values.vol[lo] + weight * values.vol[hi])


def _gex(
    spot: float, slices: list[ExpirySlice], vols: list[np.ndarray], config: DetectorConfig
) -> GammaExposure | None:
    if not slices:
        return None
    strike, is_call, oi = (
        np.concatenate([getattr(s, name) for s in slices])
        for name in ("strike", "is_call", "open_interest")
    )
    vol = np.concatenate(vols)
    # Each expiry's forward, time and discount, repeated over its contracts.
    sizes = [s.strike.size for s in slices]
    forward, t, discount = (
        np.repeat(column, sizes)
        for column in zip(*((s.forward.forward, s.t, s.discount) for s in slices), strict=True)
    )
    return gamma_exposure(
        strike, is_call, oi, vol, forward, spot, t, discount, convention=config.dealer_convention
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
