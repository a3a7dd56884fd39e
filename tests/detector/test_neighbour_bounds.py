"""The neighbour bounds against their definition, pair by pair (hypothesis)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spy_detector.fair_value import _neighbour_bounds

prices = st.integers(min_value=0, max_value=60).map(lambda cents: cents / 20)


@st.composite
def chains(draw):
    """One side or both, strikes ascending and calls first within a strike, any prices
    (crossed neighbours included: that is what the bounds must survive)."""
    strikes = sorted(draw(st.sets(st.integers(90, 110), min_size=1, max_size=12)))
    rows = []
    for strike in strikes:
        for is_call in (True, False):
            if draw(st.booleans()):
                bid = draw(prices)
                ask = bid + draw(prices)
                rows.append((float(strike), is_call, bid, ask))
    if not rows:
        rows.append((100.0, True, 1.0, 1.05))
    strike, is_call, bid, ask = (np.array(column) for column in zip(*rows, strict=True))
    return SimpleNamespace(strike=strike, is_call=is_call.astype(bool), bid=bid, ask=ask)


def _crossings(chain, i):
    """The same-side neighbours in arbitrage with quote i (a cheaper one bid at or above its
    ask, a richer one offered at or below its bid)."""
    ask_i = chain.ask[i] if chain.ask[i] > 0 else math.inf
    found = []
    for j in range(chain.strike.size):
        if j == i or chain.is_call[j] != chain.is_call[i] or chain.strike[j] == chain.strike[i]:
            continue
        richer = (chain.strike[j] < chain.strike[i]) == bool(chain.is_call[i])
        ask_j = chain.ask[j] if chain.ask[j] > 0 else math.inf
        if (richer and ask_j <= chain.bid[i]) or (not richer and chain.bid[j] >= ask_i):
            found.append(j)
    return found


def _reference(chain, i):
    """Cap: lowest ask of richer same-side quotes whose ask is above i's bid; floor: highest
    bid of cheaper ones whose bid is below i's ask; crossed (the suspect): i crosses at
    least as many neighbours as any neighbour it crosses does."""
    cap, floor = math.inf, -math.inf
    crossings = _crossings(chain, i)
    for j in range(chain.strike.size):
        if j == i or chain.is_call[j] != chain.is_call[i] or chain.strike[j] == chain.strike[i]:
            continue
        if j in crossings:
            continue
        richer = (chain.strike[j] < chain.strike[i]) == bool(chain.is_call[i])
        ask_j = chain.ask[j] if chain.ask[j] > 0 else math.inf
        if richer:
            cap = min(cap, ask_j)
        else:
            floor = max(floor, chain.bid[j])
    most = max((len(_crossings(chain, j)) for j in crossings), default=0)
    return cap, floor, bool(crossings) and len(crossings) >= most


@settings(max_examples=300, deadline=None)
@given(chains())
def test_bounds_match_their_pairwise_definition(chain):
    cap, floor, crossed = _neighbour_bounds(chain)
    for i in range(chain.strike.size):
        assert (cap[i], floor[i], bool(crossed[i])) == _reference(chain, i), i
