"""Implied-volatility benchmark: `spy_core.pricing.implied_vol` vs pyfeng on 10,000 OTM options."""

from __future__ import annotations

import timeit

import numpy as np

from spy_core.pricing import black76_price, implied_vol

N_OPTIONS = 10_000
FORWARD = 100.0
REPEATS, NUMBER = 7, 10
PRICE_FLOOR = 1e-8  # accuracy counted over options worth at least this fraction of the forward


def make_inputs(seed: int = 2026) -> dict[str, np.ndarray]:
    """Seeded OTM options: |log-moneyness| up to 4 std devs, t 5 min–2 y log-uniform."""
    rng = np.random.default_rng(seed)
    t = np.exp(rng.uniform(np.log(5 / (60 * 24 * 365)), np.log(2.0), N_OPTIONS))
    vol = rng.uniform(0.05, 1.0, N_OPTIONS)
    k = rng.uniform(-4.0, 4.0, N_OPTIONS) * vol * np.sqrt(t)
    strike = FORWARD * np.exp(k)
    is_call = strike >= FORWARD
    price = np.asarray(black76_price(FORWARD, strike, t, vol, 1.0, is_call), dtype=float)
    return {"price": price, "strike": strike, "t": t, "vol": vol, "is_call": is_call}


def run(seed: int = 2026) -> dict[str, float]:
    import pyfeng

    d = make_inputs(seed)
    price, strike, t, is_call = d["price"], d["strike"], d["t"], d["is_call"]
    cp = np.where(is_call, 1, -1)
    model = pyfeng.Bsm(0.2, intr=0.0, divr=0.0, is_fwd=True)

    def ours() -> np.ndarray:
        return np.asarray(implied_vol(price, FORWARD, strike, t, 1.0, is_call))

    def theirs() -> np.ndarray:
        return np.asarray(model.impvol(price, strike, FORWARD, t, cp=cp))

    ours_ms = min(timeit.repeat(ours, repeat=REPEATS, number=NUMBER)) / NUMBER * 1e3
    theirs_ms = min(timeit.repeat(theirs, repeat=REPEATS, number=NUMBER)) / NUMBER * 1e3
    mask = price >= PRICE_FLOOR * FORWARD

    def max_err(v: np.ndarray) -> float:
        err = np.abs(v[mask] - d["vol"][mask])
        return float(np.inf) if np.isnan(err).any() else float(err.max())

    return {
        "options": N_OPTIONS,
        "counted": int(mask.sum()),
        "ours_ms": ours_ms,
        "pyfeng_ms": theirs_ms,
        "speedup": theirs_ms / ours_ms,
        "ours_max_abs_vol_err": max_err(ours()),
        "pyfeng_max_abs_vol_err": max_err(theirs()),
    }


if __name__ == "__main__":
    print(run())
