"""The real Cboe chains in ../shared/data, perturbed as a real market varies.

    python -m bench.perturb_real_chains [--seed S]

Each file is moved to 14:00 ET (in session: findings are executable), then: half or three
quarters of its quotes dropped at random (two draws each), the spot moved ±0.3% / ±1% or
removed, every quote widened by one or two ticks a side, mids skewed by a tick. The
originals flag nothing, so every flag printed is a false one. Prints one line per variant:
flags, high-severity flags, warnings and the first three flags.
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Sequence
from pathlib import Path

from spy_core.chain_io import load_chain
from spy_core.models import ChainSnapshot
from spy_detector import detect

_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = Path(os.environ.get("SPY_SHARED_DATA", _SHARED))
FILES = {"spy": "cboe_spy_2023-09-14_1631ET.csv", "spx": "cboe_spx_2023-09-14_1631ET.csv"}


def report(label: str, snapshot: ChainSnapshot) -> None:
    analysis = detect(snapshot)
    high = [a for a in analysis.anomalies if a.severity.value == "high"]
    warnings = [w["kind"] for w in analysis.warnings]
    first = "; ".join(
        f"{a.expiry} {a.strike:g}{a.right.value} {a.side.value} {a.kind.value} "
        f"{a.bid}/{a.ask} fair {a.fair:.3f} edge {a.edge:.3f} {a.severity.value}"
        for a in analysis.anomalies[:3]
    )
    print(f"{label:34s} flags {len(analysis.anomalies):3d} high {len(high):3d} {warnings} {first}")


def variants(name: str, snapshot: ChainSnapshot, rng: random.Random):
    intraday = snapshot.model_copy(update={"timestamp": snapshot.timestamp.replace(hour=14)})
    yield "original", snapshot
    yield "at 14:00", intraday
    for share in (0.5, 0.25):
        for draw in range(2):
            quotes = tuple(q for q in snapshot.quotes if rng.random() < share)
            yield f"keep {share} #{draw}", intraday.model_copy(update={"quotes": quotes})
    for shift in (-0.01, -0.003, 0.003, 0.01):
        moved = intraday.model_copy(update={"spot": snapshot.spot * (1 + shift)})
        yield f"spot {shift:+.3f}", moved
    yield "spot missing", intraday.model_copy(update={"spot": 0.0})
    tick = 0.01 if name == "spy" else 0.05

    def widened(q):
        bid = max(0.0, round(q.bid - rng.choice((1, 2)) * tick, 2))
        ask = round(q.ask + rng.choice((1, 2)) * tick, 2) if q.ask > 0 else q.ask
        return q.model_copy(update={"bid": bid, "ask": ask})

    def skewed(q):
        shift = rng.choice((-tick, 0.0, tick)) if q.ask - q.bid >= 3 * tick else 0.0
        bid = max(0.0, round(q.bid + shift, 2))
        ask = round(q.ask + shift, 2) if q.ask > 0 else q.ask
        return q.model_copy(update={"bid": bid, "ask": ask})

    wide = tuple(widened(q) for q in snapshot.quotes)
    yield "widened 1-2 ticks", intraday.model_copy(update={"quotes": wide})
    skew = tuple(skewed(q) for q in snapshot.quotes)
    yield "mids skewed a tick", intraday.model_copy(update={"quotes": skew})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    for name, file in FILES.items():
        path = DATA / file
        if not path.is_file():
            print(f"{path} not found (set SPY_SHARED_DATA)")
            continue
        snapshot = load_chain(path).snapshot
        for label, variant in variants(name, snapshot, rng):
            report(f"{name} {label}", variant)


if __name__ == "__main__":
    main()
