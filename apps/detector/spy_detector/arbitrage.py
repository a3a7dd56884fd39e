"""Model-free static no-arbitrage checks on one expiry, on executable prices (bid/ask).

Mid-price checks "find" hundreds of violations on real chains; bid/ask checks find the ones
that could actually be traded. Each violation names the quote to sell (at its bid) and the
quote(s) to buy (at their ask); `amount` is the dollars per share left after `slack`.
Bounds, for strikes K1 < K2 < K3 (calls; puts mirrored):
  monotonicity  C_bid(K2) ≤ C_ask(K1)
  vertical      C_bid(K1) − C_ask(K2) ≤ K2 − K1 (×DF when European)
  butterfly     C_bid(K2) ≤ λ·C_ask(K1) + (1−λ)·C_ask(K3),  λ = (K3−K2)/(K3−K1)
  intrinsic     ask ≥ S − K (American) or DF·(F − K) (European)
  parity        |C − P − DF·(F − K)| within the bid/ask (European only, within a week)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spy_core.models import AnomalyKind, ExerciseStyle

from . import _native
from .slices import ExpirySlice

SPOT_UNCERTAINTY = 1e-4  # of spot (1 bp): allowance for a stale or mid-quoted spot
PARITY_HORIZON = 7 / 365  # years: European parity/intrinsic checks only this close to expiry


@dataclass(frozen=True, slots=True)
class Violation:
    kind: AnomalyKind
    sell: int | None  # index into the slice of the quote to sell at its bid
    buy: tuple[int, ...]  # indices of the quotes to buy at their ask
    amount: float  # dollars per share beyond the bound and the slack
    bound: float  # the price the violated bound allows for the sold (or bought) quote
    detail: str


def static_arbitrage(chain: ExpirySlice, slack: float) -> list[Violation]:
    found: list[Violation] = []
    scale = chain.discount if chain.style is ExerciseStyle.EUROPEAN else 1.0
    columns = [
        np.ascontiguousarray(a, dtype=np.float64) for a in (chain.strike, chain.bid, chain.ask)
    ]
    for is_call in (True, False):
        idx = np.flatnonzero(chain.is_call == is_call)
        if is_call is False:
            idx = idx[::-1]  # puts decrease in value as strike falls: mirror to the call case
        # Where each bound along idx is crossed, by one compiled scan; the few hits are
        # priced and described here.
        monotonicity, vertical, butterfly = _native.arbitrage_hits(
            *columns, np.ascontiguousarray(idx, dtype=np.int64), scale, slack
        )
        found += _monotonicity(chain, monotonicity, slack)
        found += _vertical(chain, idx, vertical, slack, scale)
        found += _butterfly(chain, butterfly, slack)
    if chain.style is ExerciseStyle.AMERICAN:
        found += _intrinsic(chain, slack)
    elif chain.t <= PARITY_HORIZON:
        # European bounds involve the forward and the discount factor, both estimates; past a
        # week an error of a few basis points in the rate is worth more than a tick on deep
        # in-the-money strikes, so these checks would report our estimate, not the market.
        found += _intrinsic(chain, slack)
        found += _parity(chain, slack)
    return found


def _label(chain: ExpirySlice, i: int) -> str:
    return f"{chain.strike[i]:g}{'C' if chain.is_call[i] else 'P'}"


def _monotonicity(chain: ExpirySlice, hits: list[tuple[int, int]], slack: float) -> list[Violation]:
    """Along a right value must not rise: a later bid above any earlier ask is free money.
    `hits`: (quote, the first quote offering the lowest ask before it)."""
    out = []
    for i, best_at in hits:
        bid, best_ask = float(chain.bid[i]), float(chain.ask[best_at])
        out.append(
            Violation(
                AnomalyKind.MONOTONICITY,
                i,
                (best_at,),
                bid - best_ask - slack,
                best_ask,
                f"bid {bid:.2f} on {_label(chain, i)} above ask "
                f"{best_ask:.2f} on {_label(chain, best_at)}",
            )
        )
    return out


def _vertical(
    chain: ExpirySlice, idx: np.ndarray, hits: list[int], slack: float, scale: float
) -> list[Violation]:
    """Selling the nearer-the-money leg and buying the farther one never loses more than the
    strike distance (×DF when European: `scale`), so bid(near) − ask(far) above that distance
    is arbitrage. `hits`: positions j along `idx` of the near legs (idx[j + 1] the far)."""
    out = []
    for j in hits:
        n, f = int(idx[j]), int(idx[j + 1])
        width = scale * abs(chain.strike[f] - chain.strike[n])
        excess = chain.bid[n] - chain.ask[f] - width
        out.append(
            Violation(
                AnomalyKind.VERTICAL,
                n,
                (f,),
                excess - slack,
                chain.ask[f] + width,
                f"{_label(chain, n)}/{_label(chain, f)} spread bid "
                f"{chain.bid[n] - chain.ask[f]:.2f} above width {width:.2f}",
            )
        )
    return out


def convexity_caps(
    chain: ExpirySlice, offered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each run of three offered quotes of one right (strike order): the left, middle
    and right positions and the cap convexity puts on the middle's bid, the interpolation of
    its neighbours' asks."""
    left, mid, right = offered[:-2], offered[1:-1], offered[2:]
    k1, k2, k3 = chain.strike[left], chain.strike[mid], chain.strike[right]
    lam = (k3 - k2) / (k3 - k1)
    return left, mid, right, lam * chain.ask[left] + (1 - lam) * chain.ask[right]


def _butterfly(
    chain: ExpirySlice, hits: list[tuple[int, int, int]], slack: float
) -> list[Violation]:
    """Among the offered quotes of a right, a middle bid above the `convexity_caps` of its
    two offered neighbours. `hits`: (left, middle, right) quotes."""
    out = []
    for lo, m, hi in hits:
        _, _, _, (cap,) = convexity_caps(chain, np.array([lo, m, hi]))
        out.append(
            Violation(
                AnomalyKind.BUTTERFLY,
                m,
                (lo, hi),
                chain.bid[m] - cap - slack,
                cap,
                f"bid {chain.bid[m]:.2f} on {_label(chain, m)} above the "
                f"{_label(chain, lo)}/{_label(chain, hi)} interpolation {cap:.2f}",
            )
        )
    return out


def _intrinsic(chain: ExpirySlice, slack: float) -> list[Violation]:
    if chain.style is ExerciseStyle.AMERICAN:
        # A snapshot's spot is a mid or a last trade, not the price the hedge would pay.
        underlying, scale = chain.spot, 1.0
        slack += SPOT_UNCERTAINTY * chain.spot + chain.spot_error
    else:
        underlying, scale = chain.forward.forward, chain.discount
    sign = np.where(chain.is_call, 1.0, -1.0)
    floor = scale * np.maximum(sign * (underlying - chain.strike), 0.0)
    short = floor - chain.ask
    out = []
    for i in np.flatnonzero((chain.ask > 0) & (short > slack)):
        out.append(
            Violation(
                AnomalyKind.INTRINSIC,
                None,
                (int(i),),
                short[i] - slack,
                floor[i],
                f"ask {chain.ask[i]:.2f} on {_label(chain, i)} below intrinsic {floor[i]:.2f}",
            )
        )
    return out


def _parity(chain: ExpirySlice, slack: float) -> list[Violation]:
    """C − P = DF·(F − K) for European options, F the slice's parity forward."""
    calls = {float(k): i for i, k in enumerate(chain.strike) if chain.is_call[i]}
    out = []
    for p in np.flatnonzero(~chain.is_call):
        c = calls.get(float(chain.strike[p]))
        if c is None:
            continue
        value = chain.discount * (chain.forward.forward - chain.strike[p])
        rich_call = chain.bid[c] - chain.ask[p] - value
        rich_put = chain.bid[p] - chain.ask[c] + value
        for excess, sell, buy in ((rich_call, c, p), (rich_put, p, c)):
            if excess > slack and chain.ask[buy] > 0:
                out.append(
                    Violation(
                        AnomalyKind.PARITY,
                        int(sell),
                        (int(buy),),
                        excess - slack,
                        chain.bid[sell] - excess,
                        f"{_label(chain, sell)} bid vs {_label(chain, buy)} ask off parity by "
                        f"{excess:.2f} (forward {chain.forward.forward:.2f})",
                    )
                )
    return out
