"""Detector latency on a 0DTE sample chain and the whole real SPY CSV, beside the predecessor's
exponential-curve method (re-implemented from its description) for timing and flag counts."""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from spy_core.models import ChainSnapshot, Right, Side
from spy_core.synthetic import sample_chain

# ../shared/data beside the checkout, or SPY_SHARED_DATA (as for the tests).
_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_CSV = Path(os.environ.get("SPY_SHARED_DATA", _SHARED)) / "cboe_spy_2023-09-14_1631ET.csv"
Z_FLAG = 0.3
FlagKey = tuple[date, float, Right, Side]


def _curve(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.exp(-b * x)


def predecessor(snapshot: ChainSnapshot) -> list[FlagKey]:
    """Per expiry and right: fit a·exp(−b·|K−ATM|) to mids, flag residual |z| > 0.3."""
    groups: dict[tuple[date, Right], list[tuple[float, float]]] = {}
    for q in snapshot.quotes:
        groups.setdefault((q.expiry, q.right), []).append((q.strike, 0.5 * (q.bid + q.ask)))
    flags: list[FlagKey] = []
    for (expiry, right), rows in groups.items():
        strikes, mids = (np.array(c) for c in zip(*rows, strict=True))
        if len(strikes) < 3:
            continue
        atm = strikes[np.argmin(np.abs(strikes - snapshot.spot))]
        x = np.abs(strikes - atm)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(_curve, x, mids, p0=(max(mids.max(), 1e-3), 0.1), maxfev=2000)
        except RuntimeError:
            continue
        resid = mids - _curve(x, *params)
        sd = resid.std()
        if sd == 0:
            continue
        for i in np.flatnonzero(np.abs((resid - resid.mean()) / sd) > Z_FLAG):
            side = Side.SELL if resid[i] > 0 else Side.BUY
            flags.append((expiry, float(strikes[i]), right, side))
    return flags


def _median_ms(fn: Callable[[], object], runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _recall_precision(chains: int, seed: int) -> dict[str, Any]:
    """Predecessor vs ours on `chains` clean + `chains` mispriced chains from evaluate_detector."""
    from bench.evaluate_detector import make_chain
    from spy_detector import detect

    out: dict[str, Any] = {"chains": 2 * chains}
    for name, method in (
        ("ours", lambda s: {(a.expiry, a.strike, a.right, a.side) for a in detect(s).anomalies}),
        ("predecessor", lambda s: set(predecessor(s))),
    ):
        hits = flagged = injected_total = 0
        for index in range(2 * chains):
            snapshot, injected, _ = make_chain(seed, index, chains)
            flags = method(snapshot)
            truth = {m.key for m in injected}
            hits += len(flags & truth)
            flagged += len(flags)
            injected_total += len(truth)
        out[name] = {
            "flags_per_chain": flagged / (2 * chains),
            "recall": hits / injected_total if injected_total else float("nan"),
            "precision": hits / flagged if flagged else float("nan"),
        }
    return out


def run(chains: int = 100, seed: int = 1) -> dict[str, Any]:
    from spy_detector import detect

    sample = sample_chain(seed=7, mispricings=3)[0]
    result: dict[str, Any] = {
        "sample": {
            "quotes": len(sample.quotes),
            "ours_ms": _median_ms(lambda: detect(sample), 200),
            "predecessor_ms": _median_ms(lambda: predecessor(sample), 200),
            "ours_flags": len(detect(sample).anomalies),
            "predecessor_flags": len(predecessor(sample)),
        }
    }
    if REAL_CSV.exists():
        from spy_core.chain_io import load_chain

        real = load_chain(REAL_CSV).snapshot
        result["real"] = {
            "quotes": len(real.quotes),
            "expiries": len({q.expiry for q in real.quotes}),
            "ours_ms": _median_ms(lambda: detect(real), 20, warmup=1),
            "predecessor_ms": _median_ms(lambda: predecessor(real), 20, warmup=1),
            "ours_flags": len(detect(real).anomalies),
            "predecessor_flags": len(predecessor(real)),
        }
    else:
        result["real"] = {"skipped": f"{REAL_CSV} not found"}
    result["accuracy"] = _recall_precision(chains, seed)
    return result


if __name__ == "__main__":
    print(run())
