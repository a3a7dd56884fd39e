"""Detector benchmark on synthetic 0DTE SPY chains with known mispricings.

    python -m bench.evaluate_detector [--chains N] [--seed S] [--json]

Generates N clean chains and N chains with 1–5 injected mispricings (moves of $0.02–0.50),
each one expiry with ±15 strikes of calls and puts (`spy_core.synthetic`), runs
`spy_detector.detect`, and matches flags to the injected truth by (expiry, strike, right,
side); several flags on one contract and side count once. Chain i of seed S is regenerated
by `make_chain(S, i, N)`, so any flag in the report can be replayed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from spy_core.models import Anomaly, ChainSnapshot, Right, Side
from spy_core.synthetic import (
    ContractKey,
    InjectedMispricing,
    fair_values,
    inject_mispricings,
    quote_chain,
    random_scenario,
)

SIZES = (0.02, 0.05, 0.08, 0.12, 0.20, 0.50)
MAX_INJECTED = 5
TARGET_SIZE = 0.08  # the goal: recall ≥ 0.95 on moves of at least this many dollars
# Upper bounds (dollars) of the realised-edge buckets; edges ≤ 0 are not exploitable.
EDGE_BOUNDS = (0.0, 0.02, 0.05, 0.08, 0.12, 0.20, float("inf"))
MatchKey = tuple[date, float, Right, Side]


@dataclass(frozen=True)
class ChainOutcome:
    """One chain's truth and the detector's flags; a chain with no injections is clean."""

    name: str
    injected: tuple[InjectedMispricing, ...]
    flags: tuple[Anomaly, ...]
    fair: Mapping[ContractKey, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FalseFlag:
    chain: str
    anomaly: Anomaly
    true_fair: float | None


@dataclass(frozen=True)
class Evaluation:
    """Counts behind the figures; recall maps a bucket to (found, injected)."""

    recall_by_size: dict[float, tuple[int, int]]
    recall_by_edge: dict[str, tuple[int, int]]
    true_flags: int
    false_flags: int
    clean_chains: int
    clean_chains_flagged: int
    clean_false_flags: int
    worst_false_flags: tuple[FalseFlag, ...]

    @property
    def precision(self) -> float:
        flagged = self.true_flags + self.false_flags
        return self.true_flags / flagged if flagged else float("nan")

    @property
    def false_flags_per_clean_chain(self) -> float:
        return self.clean_false_flags / self.clean_chains if self.clean_chains else float("nan")

    @property
    def clean_flagged_share(self) -> float:
        return self.clean_chains_flagged / self.clean_chains if self.clean_chains else float("nan")

    def recall_at_least(self, size: float) -> float:
        found = sum(f for s, (f, _) in self.recall_by_size.items() if s >= size - 1e-9)
        total = sum(n for s, (_, n) in self.recall_by_size.items() if s >= size - 1e-9)
        return found / total if total else float("nan")


def _edge_bucket(edge: float) -> str:
    lower = -float("inf")
    for upper in EDGE_BOUNDS:
        if edge <= upper:
            return f"{lower:.2f} to {upper:.2f}"
        lower = upper
    raise AssertionError("unreachable: the last bound is infinite")


def _flag_key(anomaly: Anomaly) -> MatchKey:
    return (anomaly.expiry, anomaly.strike, anomaly.right, anomaly.side)


def _strongest_flags(flags: Sequence[Anomaly]) -> dict[MatchKey, Anomaly]:
    """One flag per contract and side: the highest-scoring one."""
    strongest: dict[MatchKey, Anomaly] = {}
    for anomaly in flags:
        key = _flag_key(anomaly)
        if key not in strongest or anomaly.score > strongest[key].score:
            strongest[key] = anomaly
    return strongest


def evaluate(outcomes: Sequence[ChainOutcome], worst: int = 10) -> Evaluation:
    """Match flags to injected truth; `worst` false flags are kept, highest score first."""
    by_size: dict[float, list[int]] = {}
    by_edge: dict[str, list[int]] = {_edge_bucket(b): [0, 0] for b in EDGE_BOUNDS}
    true_flags = false_flags = clean_flagged = clean_false = 0
    false_list: list[FalseFlag] = []
    for outcome in outcomes:
        flags = _strongest_flags(outcome.flags)
        truth = {m.key for m in outcome.injected}
        for mispricing in outcome.injected:
            hit = int(mispricing.key in flags)
            for counts in (
                by_size.setdefault(mispricing.size, [0, 0]),
                by_edge[_edge_bucket(mispricing.edge)],
            ):
                counts[0] += hit
                counts[1] += 1
        false_here = [a for key, a in flags.items() if key not in truth]
        true_flags += len(flags) - len(false_here)
        false_flags += len(false_here)
        if not outcome.injected:
            clean_flagged += bool(false_here)
            clean_false += len(false_here)
        false_list += [
            FalseFlag(outcome.name, a, outcome.fair.get(_flag_key(a)[:3])) for a in false_here
        ]
    false_list.sort(key=lambda f: f.anomaly.score, reverse=True)
    return Evaluation(
        recall_by_size={s: (c[0], c[1]) for s, c in sorted(by_size.items())},
        recall_by_edge={b: (c[0], c[1]) for b, c in by_edge.items() if c[1]},
        true_flags=true_flags,
        false_flags=false_flags,
        clean_chains=sum(not o.injected for o in outcomes),
        clean_chains_flagged=clean_flagged,
        clean_false_flags=clean_false,
        worst_false_flags=tuple(false_list[:worst]),
    )


def make_chain(
    seed: int, index: int, chains: int
) -> tuple[ChainSnapshot, list[InjectedMispricing], dict[ContractKey, float]]:
    """Chain `index` of a run: the first `chains` are clean, the next `chains` mispriced."""
    rng = np.random.default_rng([seed, index])
    scenario = random_scenario(rng)
    fair = fair_values(scenario)
    snapshot = quote_chain(scenario, rng)
    if index < chains:
        return snapshot, [], fair
    count = int(rng.integers(1, MAX_INJECTED + 1))
    snapshot, injected = inject_mispricings(snapshot, fair, rng, count, SIZES)
    return snapshot, injected, fair


def run(chains: int, seed: int) -> tuple[list[ChainOutcome], list[float]]:
    """Outcomes of the detector with its default config, and its run time per chain (s)."""
    from spy_detector import DetectorConfig, detect

    config = DetectorConfig()
    outcomes, seconds = [], []
    for index in range(2 * chains):
        snapshot, injected, fair = make_chain(seed, index, chains)
        start = time.perf_counter()
        analysis = detect(snapshot, config)
        seconds.append(time.perf_counter() - start)
        name = f"seed {seed} chain {index}"
        outcomes.append(ChainOutcome(name, tuple(injected), tuple(analysis.anomalies), fair))
    return outcomes, seconds


def _ratio(counts: tuple[int, int]) -> float:
    return counts[0] / counts[1] if counts[1] else float("nan")


def as_json(evaluation: Evaluation, seconds: Sequence[float]) -> dict:
    return {
        "recall_by_size": {
            f"{s:.2f}": {"found": f, "injected": n, "recall": _ratio((f, n))}
            for s, (f, n) in evaluation.recall_by_size.items()
        },
        "recall_by_edge": {
            b: {"found": f, "injected": n, "recall": _ratio((f, n))}
            for b, (f, n) in evaluation.recall_by_edge.items()
        },
        f"recall_size_at_least_{TARGET_SIZE:.2f}": evaluation.recall_at_least(TARGET_SIZE),
        "precision": evaluation.precision,
        "true_flags": evaluation.true_flags,
        "false_flags": evaluation.false_flags,
        "false_flags_per_clean_chain": evaluation.false_flags_per_clean_chain,
        "clean_chains_flagged_share": evaluation.clean_flagged_share,
        "median_detect_ms": 1e3 * statistics.median(seconds) if seconds else None,
        "worst_false_flags": [
            {"chain": f.chain, "true_fair": f.true_fair, **f.anomaly.model_dump(mode="json")}
            for f in evaluation.worst_false_flags
        ],
    }


def report(evaluation: Evaluation, seconds: Sequence[float]) -> str:
    lines = ["recall by injected size ($):"]
    lines += [
        f"  {s:5.2f}  {_ratio(c):6.3f}  ({c[0]}/{c[1]})"
        for s, c in evaluation.recall_by_size.items()
    ]
    lines.append("recall by realised edge ($, fair − ask or bid − fair after the move):")
    lines += [
        f"  {b:>14}  {_ratio(c):6.3f}  ({c[0]}/{c[1]})"
        for b, c in evaluation.recall_by_edge.items()
    ]
    lines += [
        f"recall on moves ≥ {TARGET_SIZE:.2f}: {evaluation.recall_at_least(TARGET_SIZE):.3f}",
        f"precision: {evaluation.precision:.3f} "
        f"({evaluation.true_flags} true, {evaluation.false_flags} false flags)",
        f"false flags per clean chain: {evaluation.false_flags_per_clean_chain:.3f}; "
        f"clean chains with any flag: {evaluation.clean_flagged_share:.1%}",
    ]
    if seconds:
        lines.append(f"median detect time: {1e3 * statistics.median(seconds):.1f} ms/chain")
    lines.append("worst false flags (chain, contract, side, kind, bid/ask, fair vs true, score):")
    for flag in evaluation.worst_false_flags:
        a, true = flag.anomaly, flag.true_fair
        lines.append(
            f"  {flag.chain}: {a.expiry} {a.strike:g}{a.right.value} {a.side.value} "
            f"{a.kind.value} {a.bid:.2f}/{a.ask:.2f} fair {a.fair:.4f} vs "
            f"{'?' if true is None else f'{true:.4f}'} edge {a.edge:.3f} score {a.score:.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chains", type=int, default=200, help="clean chains (and as many mispriced)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worst", type=int, default=10, help="false flags to list")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    outcomes, seconds = run(args.chains, args.seed)
    evaluation = evaluate(outcomes, args.worst)
    if args.json:
        print(json.dumps(as_json(evaluation, seconds), indent=2))
    else:
        print(report(evaluation, seconds))


if __name__ == "__main__":
    main()
