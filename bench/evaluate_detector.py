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
from typing import TYPE_CHECKING

import numpy as np

from spy_core.models import Anomaly, ChainSnapshot, ContractKey, Right, Side
from spy_core.synthetic import (
    DEFAULT_SIZES,
    InjectedMispricing,
    fair_values,
    inject_mispricings,
    quote_chain,
    random_scenario,
)

MAX_INJECTED = 5
TARGET_SIZE = 0.08  # the goal: recall ≥ 0.95 on mispricings of at least this many dollars
# Lower bounds (dollars) of the realised-edge buckets; a negative edge is no mispricing.
EDGE_FLOORS = (-float("inf"), 0.0, 0.02, 0.05, 0.08, 0.12, 0.20)
_SLACK = 1e-9  # edges are differences of floats; 0.08 may be stored as 0.0799999…
# Dollars: a false flag this close to an injected strike (same expiry) is likely collateral,
# e.g. a vertical or butterfly the moved quote broke, flagged on its neighbour.
COLLATERAL_DISTANCE = 2.0
MatchKey = tuple[date, float, Right, Side]

if TYPE_CHECKING:
    from spy_detector import DetectorConfig


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
    """Counts behind the figures. Recall maps a bucket (the injected size, or the floor of
    the realised edge in `EDGE_FLOORS`) to (found, injected)."""

    recall_by_size: dict[float, tuple[int, int]]
    recall_by_edge: dict[float, tuple[int, int]]
    true_flags: int
    false_flags: int
    clean_chains: int
    clean_chains_flagged: int
    clean_false_flags: int
    collateral_false_flags: int  # in mispriced chains, within COLLATERAL_DISTANCE of an injection
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

    def recall_at_least(self, dollars: float, *, by_edge: bool = False) -> float:
        """Recall over injections of at least `dollars` size (or realised edge)."""
        buckets = self.recall_by_edge if by_edge else self.recall_by_size
        kept = [c for b, c in buckets.items() if b >= dollars - _SLACK]
        total = sum(n for _, n in kept)
        return sum(f for f, _ in kept) / total if total else float("nan")


def _edge_bucket(edge: float) -> float:
    return max(f for f in EDGE_FLOORS if edge >= f - _SLACK)


def edge_label(floor: float) -> str:
    index = EDGE_FLOORS.index(floor)
    if index == 0:
        return f"< {EDGE_FLOORS[1]:.2f}"
    if index == len(EDGE_FLOORS) - 1:
        return f">= {floor:.2f}"
    return f"{floor:.2f}-{EDGE_FLOORS[index + 1]:.2f}"


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


def _count_recall(
    outcome: ChainOutcome,
    flags: Mapping[MatchKey, Anomaly],
    by_size: dict[float, list[int]],
    by_edge: dict[float, list[int]],
) -> None:
    for mispricing in outcome.injected:
        hit = int(mispricing.key in flags)
        for counts in (
            by_size.setdefault(mispricing.size, [0, 0]),
            by_edge[_edge_bucket(mispricing.edge)],
        ):
            counts[0] += hit
            counts[1] += 1


def _near_injection(anomaly: Anomaly, injected: Sequence[InjectedMispricing]) -> bool:
    return any(
        m.expiry == anomaly.expiry and abs(m.strike - anomaly.strike) <= COLLATERAL_DISTANCE
        for m in injected
    )


def evaluate(outcomes: Sequence[ChainOutcome], worst: int = 10) -> Evaluation:
    """Match flags to injected truth; `worst` false flags are kept, highest score first."""
    by_size: dict[float, list[int]] = {}
    by_edge: dict[float, list[int]] = {floor: [0, 0] for floor in EDGE_FLOORS}
    true_flags = clean_flagged = clean_false = collateral = 0
    false_list: list[FalseFlag] = []
    for outcome in outcomes:
        flags = _strongest_flags(outcome.flags)
        _count_recall(outcome, flags, by_size, by_edge)
        truth = {m.key for m in outcome.injected}
        false_here = [a for key, a in flags.items() if key not in truth]
        true_flags += len(flags) - len(false_here)
        clean_flagged += not outcome.injected and bool(false_here)
        clean_false += 0 if outcome.injected else len(false_here)
        collateral += sum(_near_injection(a, outcome.injected) for a in false_here)
        false_list += [
            FalseFlag(outcome.name, a, outcome.fair.get(_flag_key(a)[:3])) for a in false_here
        ]
    false_list.sort(key=lambda f: f.anomaly.score, reverse=True)
    return Evaluation(
        recall_by_size={s: (c[0], c[1]) for s, c in sorted(by_size.items())},
        recall_by_edge={b: (c[0], c[1]) for b, c in by_edge.items() if c[1]},
        true_flags=true_flags,
        false_flags=len(false_list),
        clean_chains=sum(not o.injected for o in outcomes),
        clean_chains_flagged=clean_flagged,
        clean_false_flags=clean_false,
        collateral_false_flags=collateral,
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
    snapshot, injected = inject_mispricings(snapshot, fair, rng, count, DEFAULT_SIZES)
    return snapshot, injected, fair


def run(
    chains: int, seed: int, config: DetectorConfig | None = None
) -> tuple[list[ChainOutcome], list[float]]:
    """Outcomes of the detector (default config unless given), and its time per chain (s)."""
    from spy_detector import DetectorConfig, detect

    config = config or DetectorConfig()
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
            edge_label(b): {"found": f, "injected": n, "recall": _ratio((f, n))}
            for b, (f, n) in evaluation.recall_by_edge.items()
        },
        f"recall_size_at_least_{TARGET_SIZE:.2f}": evaluation.recall_at_least(TARGET_SIZE),
        f"recall_edge_at_least_{TARGET_SIZE:.2f}": evaluation.recall_at_least(
            TARGET_SIZE, by_edge=True
        ),
        "precision": evaluation.precision,
        "true_flags": evaluation.true_flags,
        "false_flags": evaluation.false_flags,
        "collateral_false_flags": evaluation.collateral_false_flags,
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
        f"  {edge_label(b):>9}  {_ratio(c):6.3f}  ({c[0]}/{c[1]})"
        for b, c in evaluation.recall_by_edge.items()
    ]
    lines += [
        f"recall on moves ≥ {TARGET_SIZE:.2f}: {evaluation.recall_at_least(TARGET_SIZE):.3f}; "
        f"on edges ≥ {TARGET_SIZE:.2f}: "
        f"{evaluation.recall_at_least(TARGET_SIZE, by_edge=True):.3f}",
        f"precision: {evaluation.precision:.3f} "
        f"({evaluation.true_flags} true, {evaluation.false_flags} false flags, "
        f"{evaluation.collateral_false_flags} of them within ${COLLATERAL_DISTANCE:g} "
        "of an injected strike)",
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
