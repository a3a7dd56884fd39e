"""An independent, adversarial generator of option chains with known mispricings.

Written without reference to `spy_core.synthetic`: its smiles, quoting and clocks are its
own, so a detector tuned on that generator meets assumptions here it has not seen. Each
named `Scenario` fixes what a market varies (smile family, strike grid, underlying and
exercise style, time to expiry, stale spot); everything else is drawn per chain.

Chain `index` of `seed` in a scenario is regenerated exactly by
`make_chain(scenario, seed, index, chains)`; the first `chains` indices are clean, the next
`chains` carry 1–5 injected mispricings.

The true market (per chain):
- spot S, rate r ∈ [0, 5.5%], dividend yield q ∈ [0, 2%], forward F = S·e^{(r−q)T};
  T in calendar years to the 16:00 ET settlement (`spy_core.market_hours.time_to_expiry`);
- a European terminal distribution from one of the smile families
  (`sabr`: Hagan 2002 lognormal vol; `heston` / `bates`: Heston with Merton jumps, priced
  by the Lewis (2001) integral with Gauss–Legendre quadrature; `sticky`: a parametric
  smile in standardised moneyness with a steep put wing and a kinked call wing; `event`:
  a mixture of lognormals around a binary event, which gives a W-shaped implied vol).
  Parameters are redrawn until the listed calls are monotone, within the vertical bound
  and convex in strike: every clean chain is free of static arbitrage;
- American options (SPY) add an early-exercise premium from a CRR tree at each strike's
  implied vol (American minus European on the same tree) and are floored at intrinsic;
  European options (SPX) are the model prices. That is the recorded true fair value.

Quoting: a market maker's width ∝ vega × vol uncertainty (0.1–0.5 vol points, growing in
the wings), plus delta × spot uncertainty (0.2–1 bp of spot) and in some chains 0.5–3% of
the price (×3 the first two in the `wide` scenarios, thin hours), centred on fair shifted
by inventory skew up to a third of the width, rounded outwards to the tick (SPY $0.01;
SPXW $0.05 under $3, $0.10 above), one tick at the money, bid 0 in far wings, a few locked
quotes. The quoted spot carries a few cents of noise and, in stale scenarios, is 0.3–1%
off.

Injection (like the judge): 1–5 contracts, each moved so that its executable side crosses
fair by `size` ∈ [$0.02, $0.50] (buy: ask ≤ fair − size; sell: bid ≥ fair + size), width
kept, bid never below zero.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from scipy.special import ndtr

from spy_core.market_hours import next_session, session, time_to_expiry
from spy_core.models import ChainSnapshot, ContractKey, OptionQuote, Right, Side
from spy_core.pricing import black76_price, implied_vol

MAX_INJECTED = 5
SIZE_RANGE = (0.02, 0.50)
FIRST_DAY = date(2023, 1, 3)
DAYS = 900  # trading days are drawn from FIRST_DAY .. FIRST_DAY + DAYS
_REDRAWS = 40


@dataclass(frozen=True)
class Scenario:
    name: str
    family: str  # sabr | heston | bates | sticky | event
    grid: str = "dollar"  # dollar | half | index5
    underlying: str = "SPY"  # SPY (American, penny ticks) | SPX (European, SPXW ticks)
    expiry: str = "0dte"  # 0dte (5 min–6.5 h) | late (5–30 min) | days (1–5 sessions)
    stale_share: float = 0.0  # share of chains whose quoted spot is 0.3–1% off
    spreads: str = "normal"  # normal | wide (thin hours: vol and spot uncertainty ×3)
    description: str = ""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("spy0-sabr", "sabr", description="SPY 0DTE, Hagan SABR, $1 strikes"),
        Scenario("spy-days-sabr", "sabr", expiry="days", description="SPY 1–5 DTE, SABR"),
        Scenario("spy0-bates", "bates", description="SPY 0DTE, Heston + jumps (Lewis)"),
        Scenario("spy-days-heston", "heston", expiry="days", description="SPY 1–5 DTE, Heston"),
        Scenario(
            "spy0-sticky",
            "sticky",
            grid="half",
            description="SPY 0DTE, steep put wing, kinked call wing, $0.5 strikes near ATM",
        ),
        Scenario("spy0-event", "event", description="SPY 0DTE event day, W-shaped smile"),
        Scenario("spy0-late", "sabr", expiry="late", description="SPY, 5–30 min to expiry"),
        Scenario(
            "spx0-sabr",
            "sabr",
            grid="index5",
            underlying="SPX",
            description="SPXW 0DTE, 5-pt strikes, $0.05/$0.10 ticks, European",
        ),
        Scenario(
            "spx-days-bates",
            "bates",
            grid="index5",
            underlying="SPX",
            expiry="days",
            description="SPXW 1–5 DTE, Bates",
        ),
        Scenario(
            "spy0-wide",
            "sabr",
            spreads="wide",
            description="SPY 0DTE, thin-hours quotes (3× the vol and spot uncertainty)",
        ),
        Scenario(
            "spx0-wide",
            "sabr",
            grid="index5",
            underlying="SPX",
            spreads="wide",
            description="SPXW 0DTE, thin-hours quotes",
        ),
        Scenario(
            "spy0-stale",
            "sabr",
            stale_share=1.0,
            description="SPY 0DTE, quoted spot 0.3–1% off the options' market",
        ),
    )
}


@dataclass(frozen=True)
class Injection:
    """One injected mispricing; `edge` is how far the executable side is through fair."""

    expiry: date
    strike: float
    right: Right
    side: Side
    size: float
    edge: float
    fair: float
    bid: float
    ask: float
    original_bid: float
    original_ask: float
    region: str  # atm | otm | far-otm | itm | deep-itm (standardised moneyness of the contract)

    @property
    def key(self) -> tuple[date, float, Right, Side]:
        return (self.expiry, self.strike, self.right, self.side)


@dataclass(frozen=True)
class GeneratedChain:
    snapshot: ChainSnapshot
    injected: tuple[Injection, ...]
    fair: dict[ContractKey, float]
    minutes_to_expiry: float
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- ticks


def tick_at(price: np.ndarray | float, index: bool) -> np.ndarray:
    price = np.asarray(price, dtype=float)
    if not index:
        return np.full(price.shape, 0.01)
    return np.where(price < 3.0 - 1e-9, 0.05, 0.10)


def _floor_tick(price: np.ndarray, index: bool) -> np.ndarray:
    tick = tick_at(price, index)
    return np.round(np.floor(price / tick + 1e-9) * tick, 2)


def _ceil_tick(price: np.ndarray, index: bool) -> np.ndarray:
    tick = tick_at(price, index)
    up = np.round(np.ceil(price / tick - 1e-9) * tick, 2)
    if index:  # crossing $3 from below on the nickel grid: the dime grid applies
        up = np.where(up >= 3.0 - 1e-9, np.round(np.ceil(up / 0.10 - 1e-9) * 0.10, 2), up)
    return up


# ------------------------------------------------------------------- smile families


def sabr_vol(F: float, K: np.ndarray, T: float, alpha, beta, rho, nu) -> np.ndarray:
    """Hagan et al. (2002) lognormal implied vol."""
    K = np.asarray(K, dtype=float)
    lfk = np.log(F / K)
    fk = (F * K) ** ((1 - beta) / 2)
    omb = 1 - beta
    denom = fk * (1 + omb**2 / 24 * lfk**2 + omb**4 / 1920 * lfk**4)
    z = nu / alpha * fk * lfk
    x = np.log((np.sqrt(1 - 2 * rho * z + z * z) + z - rho) / (1 - rho))
    small = np.abs(z) < 1e-7
    zx = np.where(small, 1.0 - 0.5 * rho * z, z / np.where(small, 1.0, x))
    corr = (
        1
        + (
            omb**2 / 24 * alpha**2 / fk**2
            + 0.25 * rho * beta * nu * alpha / fk
            + (2 - 3 * rho**2) / 24 * nu**2
        )
        * T
    )
    return alpha / denom * zx * corr


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def heston_cf(u: np.ndarray, T: float, v0, kappa, theta, xi, rho) -> np.ndarray:
    """E[exp(iu·X)] for X = ln(S_T/F) under Heston ("little trap" form, Albrecher et al.)."""
    iu = 1j * u
    b = kappa - rho * xi * iu
    d = np.sqrt(b * b + xi * xi * (iu + u * u))
    g = (b - d) / (b + d)
    edt = np.exp(-d * T)
    C = kappa * theta / xi**2 * ((b - d) * T - 2 * np.log((1 - g * edt) / (1 - g)))
    D = (b - d) / xi**2 * (1 - edt) / (1 - g * edt)
    return np.exp(C + D * v0)


def merton_cf(u: np.ndarray, T: float, lam, mu, delta) -> np.ndarray:
    """Compensated Merton jump part of X: E[exp(iu·J_T)], E[exp(J_T)] = 1."""
    kbar = math.exp(mu + 0.5 * delta * delta) - 1
    return np.exp(lam * T * (np.exp(1j * u * mu - 0.5 * delta * delta * u * u) - 1 - 1j * u * kbar))


def lewis_calls(
    F: float, K: np.ndarray, cf: Callable[[np.ndarray], np.ndarray], scale: float
) -> np.ndarray:
    """Undiscounted calls, C = F − √(FK)/π ∫₀^∞ Re[e^{iuk} φ(u − i/2)] / (u² + ¼) du, k = ln F/K.

    `scale` is the standard deviation of X: the integrand is negligible beyond u ≈ 14/scale.
    Composite Gauss–Legendre (16 nodes a panel), with panels enough for the oscillation
    e^{iuk} of the farthest strike."""
    k = np.log(F / np.asarray(K, dtype=float))
    top = 14.0 / scale
    periods = top * float(np.max(np.abs(k))) / (2 * math.pi)
    panels = 24 + math.ceil(periods / 2)
    nodes, weights = _legendre(16)
    # geometric panels resolve the 1/(u² + ¼) peak at 0, uniform ones the oscillation
    edges = np.union1d(np.geomspace(0.05, top, 40), np.linspace(0.0, top, panels + 1))
    half = 0.5 * np.diff(edges)[:, None]
    u = (edges[:-1, None] + half * (nodes + 1)).ravel()
    w = (half * weights).ravel()
    phi = cf(u - 0.5j) / (u * u + 0.25)
    integrand = np.cos(np.outer(k, u)) * phi.real - np.sin(np.outer(k, u)) * phi.imag
    return F - np.sqrt(F * K) / math.pi * (integrand @ w)


def _undiscounted_black(F, K, T, vol, is_call) -> np.ndarray:
    return np.asarray(black76_price(F, K, T, vol, 1.0, is_call), dtype=float)


@dataclass
class Market:
    """The true market of one chain: European undiscounted call prices on the grid."""

    family: str
    params: dict
    calls: np.ndarray  # undiscounted European calls at each strike


def _draw_family(family: str, rng: np.random.Generator, F: float, K: np.ndarray, T: float):
    sqt = math.sqrt(T)
    short = T < 1.5 / 365
    if family == "sabr":
        atm = rng.uniform(0.10, 0.45) if short else rng.uniform(0.10, 0.32)
        beta = rng.uniform(0.3, 1.0)
        rho = rng.uniform(-0.9, -0.15)
        nu = rng.uniform(0.2, 0.8) / sqt
        alpha = atm * F ** (1 - beta)
        vol = sabr_vol(F, K, T, alpha, beta, rho, nu)
        params = {"atm": atm, "alpha": alpha, "beta": beta, "rho": rho, "nu": nu}
        return params, _undiscounted_black(F, K, T, vol, True)
    if family in ("heston", "bates"):
        sigma0 = rng.uniform(0.10, 0.40) if short else rng.uniform(0.10, 0.30)
        v0 = sigma0**2
        theta = rng.uniform(0.5, 1.5) * v0
        kappa = rng.uniform(1.0, 8.0)
        xi = rng.uniform(1.0, 4.0) if short else rng.uniform(0.5, 2.5)
        rho = rng.uniform(-0.95, -0.4)
        if family == "bates":
            lam = rng.uniform(10, 80) if short else rng.uniform(2, 20)
            mu = -rng.uniform(0.003, 0.012) if short else -rng.uniform(0.01, 0.04)
            delta = rng.uniform(0.002, 0.008) if short else rng.uniform(0.005, 0.02)
        else:
            lam, mu, delta = 0.0, 0.0, 0.0
        params = {
            "v0": v0,
            "theta": theta,
            "kappa": kappa,
            "xi": xi,
            "rho": rho,
            "lambda": lam,
            "mu_j": mu,
            "delta_j": delta,
        }

        def cf(u):
            out = heston_cf(u, T, v0, kappa, theta, xi, rho)
            return out * merton_cf(u, T, lam, mu, delta) if lam else out

        scale = math.sqrt(min(v0, theta) * T)
        return params, lewis_calls(F, K, cf, scale)
    if family == "sticky":
        s0 = rng.uniform(0.10, 0.40) if short else rng.uniform(0.10, 0.28)
        a = rng.uniform(0.10, 0.28)  # put-wing slope per standard deviation
        b = rng.uniform(0.005, 0.03)
        c1 = rng.uniform(0.5, 1.1)  # call side first falls at c1·a per sd …
        z0 = rng.uniform(0.2, 1.2)  # … up to the kink …
        a2 = rng.uniform(-0.02, 0.12)  # … then turns with this slope
        z = np.log(K / F) / (s0 * sqt)
        # quadratic near the money, then variance linear in |z| (Lee's moment bound)
        zp = np.maximum(z, -3.0)
        put = s0 * (1 - a * zp + b * zp * zp)
        put = np.sqrt(put**2 + 2 * put * s0 * (a + 6 * b) * (zp - z))
        at_kink = s0 * (1 - a * c1 * z0)
        call = np.where(z < z0, s0 * (1 - a * c1 * z), at_kink + s0 * a2 * (z - z0))
        vol = np.maximum(np.where(z < 0, put, call), 0.35 * s0)
        params = {
            "atm": s0,
            "put_slope": a,
            "put_curv": b,
            "call_ratio": c1,
            "kink": z0,
            "wing": a2,
        }
        return params, _undiscounted_black(F, K, T, vol, True)
    if family == "event":
        move = rng.uniform(0.004, 0.02)
        up = rng.uniform(0.15, 0.45)
        down = rng.uniform(0.15, 0.45)
        mid = max(0.0, 1 - up - down)
        weights = np.array([down, mid, up])
        weights = weights / weights.sum()
        shifts = np.array([-move * rng.uniform(0.8, 1.3), 0.0, move])
        vols = rng.uniform(0.06, 0.25, 3)
        forwards = F * np.exp(shifts) / float(weights @ np.exp(shifts))
        calls = sum(
            w * _undiscounted_black(f, K, T, v, True)
            for w, f, v in zip(weights, forwards, vols, strict=True)
        )
        params = {
            "weights": weights.round(4).tolist(),
            "forwards": forwards.round(4).tolist(),
            "vols": vols.round(4).tolist(),
        }
        return params, np.asarray(calls)
    raise ValueError(f"unknown family {family}")


def arbitrage_free(calls: np.ndarray, K: np.ndarray, F: float, tol: float = 1e-7) -> bool:
    """Undiscounted calls on the grid: above intrinsic, below F, decreasing with slope ≥ −1,
    convex (second divided differences ≥ 0), all within `tol` dollars."""
    if not np.all(np.isfinite(calls)):
        return False
    if np.any(calls < np.maximum(F - K, 0) - tol) or np.any(calls > F + tol):
        return False
    dk = np.diff(K)
    slope = np.diff(calls) / dk
    if np.any(slope > tol) or np.any(slope < -1 - tol):
        return False
    convex = np.diff(slope) * dk[1:]
    return not np.any(convex < -tol)


def draw_market(family: str, rng: np.random.Generator, F: float, K: np.ndarray, T: float) -> Market:
    """Redraw the family's parameters until the chain on this grid is arbitrage-free."""
    for _ in range(_REDRAWS):
        params, calls = _draw_family(family, rng, F, K, T)
        calls = np.maximum(calls, np.maximum(F - K, 0.0))  # quadrature noise below 1e-10
        if arbitrage_free(calls, K, F):
            return Market(family, params, calls)
    raise RuntimeError(f"no arbitrage-free {family} smile in {_REDRAWS} draws")


# ------------------------------------------------------------------ American premium


def american_premium(
    S: float, K: np.ndarray, T: float, r: float, q: float, vol: np.ndarray, is_call: bool, steps=120
) -> np.ndarray:
    """Early-exercise premium per strike: CRR American minus CRR European at each strike's
    vol. Only strikes in the money or within three standard deviations of it can carry one;
    the rest get 0."""
    K = np.asarray(K, dtype=float)
    vol = np.asarray(vol, dtype=float)
    sd = vol * math.sqrt(T)
    moneyness = np.log(S / K) if is_call else np.log(K / S)
    live = moneyness > -3 * sd
    out = np.zeros(K.size)
    if not live.any():
        return out
    Kl = K[live][:, None]
    dt = T / steps
    up = np.exp(vol[live] * math.sqrt(dt))[:, None]
    down = 1 / up
    p = (math.exp((r - q) * dt) - down) / (up - down)
    disc = math.exp(-r * dt)
    powers = S * up ** np.arange(-steps, steps + 1)[None, :]
    sign = 1.0 if is_call else -1.0
    euro = amer = np.maximum(sign * (powers[:, ::2] - Kl), 0.0)
    for n in range(steps - 1, -1, -1):
        exercise = sign * (powers[:, steps - n : steps + n + 1 : 2] - Kl)
        euro = disc * (p * euro[:, 1:] + (1 - p) * euro[:, :-1])
        amer = np.maximum(disc * (p * amer[:, 1:] + (1 - p) * amer[:, :-1]), exercise)
    out[live] = np.maximum(amer[:, 0] - euro[:, 0], 0.0)
    return out


# ---------------------------------------------------------------------- the chain


def _strikes(grid: str, rng: np.random.Generator, spot: float) -> np.ndarray:
    wings = int(rng.integers(20, 61))
    if grid == "index5":
        centre = 5 * round(spot / 5)
        return centre + 5.0 * np.arange(-wings, wings + 1)
    centre = round(spot)
    whole = centre + np.arange(-wings, wings + 1, dtype=float)
    if grid == "half":
        near = int(rng.integers(4, 11))
        halves = centre + 0.5 + np.arange(-near, near, dtype=float)
        whole = np.union1d(whole, halves)
    return whole


def _clock(scenario: Scenario, rng: np.random.Generator) -> tuple[datetime, date]:
    while (day := session(FIRST_DAY + timedelta(days=int(rng.integers(0, DAYS))))) is None:
        pass
    length = (day.close - day.open).total_seconds() / 60
    if scenario.expiry == "days":
        now = day.open + timedelta(minutes=float(rng.uniform(5, length - 5)))
        expiry = day
        for _ in range(int(rng.integers(1, 6))):
            expiry = next_session(expiry.day)
        return now, expiry.day
    top = 30.0 if scenario.expiry == "late" else min(390.0, length - 1)
    now = day.close - timedelta(minutes=float(rng.uniform(5, top)))
    return now, day.day


def _region(z: np.ndarray, is_call: bool) -> np.ndarray:
    otm = z if is_call else -z  # positive: out of the money
    return np.select(
        [np.abs(otm) < 0.5, otm >= 2.5, otm > 0, otm <= -2.5],
        ["atm", "far-otm", "otm", "deep-itm"],
        "itm",
    )


def _quotes(
    rng: np.random.Generator,
    fair: np.ndarray,
    vega: np.ndarray,
    delta: np.ndarray,
    z: np.ndarray,
    spot: float,
    index: bool,
    style: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Market-maker quotes around fair: bid ≤ fair ≤ ask except on locked lines."""
    n = fair.size
    width = (
        vega * style["vol_unc"] * (1 + style["wing"] * np.abs(z)) * rng.uniform(0.7, 1.4, n)
        + np.abs(delta) * spot * style["spot_unc"]
        + style["share"] * fair
    )
    tick = tick_at(fair, index)
    one_tick = (np.abs(z) < style["penny_z"]) | (width < tick)
    centre = fair + rng.uniform(-1, 1, n) * style["skew"] * width / 3
    bid = _floor_tick(np.minimum(centre - width / 2, fair), index)
    ask = _ceil_tick(np.maximum(centre + width / 2, fair), index)
    lo = _floor_tick(fair, index)
    on_grid = np.abs(lo - fair) < 1e-9
    lo = np.where(on_grid & (rng.random(n) < 0.5), np.round(lo - tick, 2), lo)
    bid = np.where(one_tick, lo, bid)
    ask = np.where(one_tick, np.round(lo + tick_at(lo, index), 2), ask)
    bid = np.maximum(bid, 0.0)
    ask = np.maximum(ask, tick_at(0.0, index))
    # far wings: zero bid once fair is within a couple of ticks of nothing
    zero = fair < style["zero_bid"] * tick
    bid = np.where(zero, 0.0, bid)
    locked = (rng.random(n) < style["locked"]) & (fair > 2 * tick)
    at = np.round(np.round(fair / tick) * tick, 2)
    bid = np.where(locked, at, bid)
    ask = np.where(locked, at, ask)
    return np.round(bid, 2), np.round(ask, 2)


def scenario_code(name: str) -> int:
    return zlib.crc32(name.encode())


def make_chain(scenario: Scenario | str, seed: int, index: int, chains: int) -> GeneratedChain:
    """Chain `index` of `seed`: indices below `chains` are clean, the rest mispriced."""
    if isinstance(scenario, str):
        scenario = SCENARIOS[scenario]
    rng = np.random.default_rng([seed, scenario_code(scenario.name), index])
    is_index = scenario.underlying == "SPX"
    spot = rng.uniform(4000, 6000) if is_index else rng.uniform(380, 620)
    spot = round(spot, 2)
    r = rng.uniform(0.0, 0.055)
    q = rng.uniform(0.0, 0.02)
    now, expiry = _clock(scenario, rng)
    root = "SPXW" if is_index else None
    T = time_to_expiry(now, expiry)
    F = spot * math.exp((r - q) * T)
    discount = math.exp(-r * T)
    K = _strikes(scenario.grid, rng, spot)
    market = draw_market(scenario.family, rng, F, K, T)
    calls_u = market.calls
    puts_u = calls_u - (F - K)
    otm = np.where(K >= F, calls_u, puts_u)
    vol = np.asarray(implied_vol(otm, F, K, T, 1.0, K >= F), dtype=float)
    valid = np.isfinite(vol) & (vol > 0) & (otm > 1e-9 * F)
    vol = np.interp(K, K[valid], vol[valid])  # flat beyond the last priced wing
    call_fair = discount * calls_u
    put_fair = np.maximum(discount * puts_u, 0.0)
    if not is_index:  # American: early-exercise premium, then at least intrinsic
        if q > 0:
            call_fair = call_fair + american_premium(spot, K, T, r, q, vol, True)
        if r > 0:
            put_fair = put_fair + american_premium(spot, K, T, r, q, vol, False)
        call_fair = np.maximum(call_fair, np.maximum(spot - K, 0))
        put_fair = np.maximum(put_fair, np.maximum(K - spot, 0))
    sqt = math.sqrt(T)
    d1 = (np.log(F / K) + 0.5 * vol**2 * T) / (vol * sqt)
    pdf = np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    vega = discount * F * pdf * sqt
    call_delta = ndtr(d1)
    z = np.log(K / F) / (np.median(vol[np.abs(K - F) <= 3 * np.diff(K).max()]) * sqt)
    wide = 3.0 if scenario.spreads == "wide" else 1.0
    style = {
        "vol_unc": wide * rng.uniform(0.001, 0.005),
        "wing": rng.uniform(0.2, 1.5),
        "spot_unc": wide * rng.uniform(0.00002, 0.0001),
        "share": rng.choice([0.0, rng.uniform(0.005, 0.03)]),
        "skew": rng.uniform(0.0, 1.0),
        "penny_z": rng.uniform(0.0, 0.6),
        "zero_bid": rng.uniform(0.6, 2.5),
        "locked": rng.choice([0.0, 0.01]),
    }
    fair = np.concatenate([call_fair, put_fair])
    zz = np.concatenate([z, z])
    bid, ask = _quotes(
        rng,
        fair,
        np.concatenate([vega, vega]),
        np.concatenate([call_delta, call_delta - 1]),
        zz,
        spot,
        is_index,
        style,
    )
    strikes = np.concatenate([K, K])
    rights = [Right.CALL] * K.size + [Right.PUT] * K.size
    regions = np.concatenate([_region(z, True), _region(z, False)])
    injected: list[Injection] = []
    if index >= chains:
        injected = _inject(rng, expiry, strikes, rights, fair, bid, ask, regions, is_index)
        for inj in injected:
            i = int(np.flatnonzero((strikes == inj.strike) & [rr is inj.right for rr in rights])[0])
            bid[i], ask[i] = inj.bid, inj.ask
    # the underlying's quote: a few cents of noise, or stale
    stale = rng.random() < scenario.stale_share
    if stale:
        quoted = spot * (1 + rng.choice((-1, 1)) * rng.uniform(0.003, 0.01))
    else:
        quoted = spot + rng.normal(0, 0.3 if is_index else 0.02)
    given = rng.random() < 0.5
    stamped = rng.random() < 0.5
    sizes = rng.lognormal(3.5, 1.2, (4, fair.size)).astype(int)
    quotes = tuple(
        OptionQuote(
            expiry=expiry,
            strike=float(strikes[i]),
            right=rights[i],
            bid=float(bid[i]),
            ask=float(ask[i]),
            bid_size=int(sizes[0, i]) + (bid[i] > 0),
            ask_size=int(sizes[1, i]) + 1,
            volume=int(sizes[2, i]),
            open_interest=int(sizes[3, i]) * 10,
            root=root,
            updated_at=(now - timedelta(seconds=float(rng.uniform(0, 3)))) if stamped else None,
        )
        for i in range(fair.size)
    )
    snapshot = ChainSnapshot(
        underlying=scenario.underlying,
        timestamp=now,
        spot=round(float(quoted), 2),
        rate=round(r, 5) if given else None,
        dividend_yield=round(q, 5) if given else None,
        quotes=quotes,
    )
    fair_map = {(expiry, float(strikes[i]), rights[i]): float(fair[i]) for i in range(fair.size)}
    info = {
        "family": market.family,
        "params": market.params,
        "spot": spot,
        "quoted_spot": round(float(quoted), 2),
        "stale": bool(stale),
        "forward": F,
        "rate": r,
        "dividend_yield": q,
        "carry_given": bool(given),
        "strikes": int(K.size),
        "atm_vol": float(np.interp(F, K, vol)),
        "quote_style": {k: float(v) for k, v in style.items()},
    }
    return GeneratedChain(snapshot, tuple(injected), fair_map, T * 365 * 24 * 60, info)


def _inject(
    rng: np.random.Generator,
    expiry: date,
    strikes: np.ndarray,
    rights: list[Right],
    fair: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    regions: np.ndarray,
    index: bool,
) -> list[Injection]:
    count = int(rng.integers(1, MAX_INJECTED + 1))
    order = rng.permutation(fair.size)
    out: list[Injection] = []
    for i in order:
        if len(out) == count:
            break
        size = round(float(rng.uniform(*SIZE_RANGE)), 2)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        width = float(ask[i] - bid[i])
        if side is Side.BUY:
            target = fair[i] - size
            new_ask = float(_floor_tick(np.array(target), index))
            if new_ask < float(tick_at(new_ask, index)) - 1e-9:
                continue  # nothing to buy below zero
            new_bid = max(0.0, float(_floor_tick(np.array(new_ask - width), index)))
            edge = fair[i] - new_ask
        else:
            new_bid = float(_ceil_tick(np.array(fair[i] + size), index))
            new_ask = float(_ceil_tick(np.array(new_bid + width), index))
            edge = new_bid - fair[i]
        out.append(
            Injection(
                expiry,
                float(strikes[i]),
                rights[i],
                side,
                size,
                round(float(edge), 6),
                float(fair[i]),
                round(new_bid, 2),
                round(new_ask, 2),
                float(bid[i]),
                float(ask[i]),
                str(regions[i]),
            )
        )
    return out
