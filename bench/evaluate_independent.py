"""The detector on independent adversarial chains (`bench.independent_chains`), per scenario.

    python -m bench.evaluate_independent [--chains N] [--seed S] [--scenario NAME ...] [--json]
    python -m bench.evaluate_independent --replay SCENARIO:INDEX [--chains N] [--seed S]

For each scenario: N clean and N mispriced chains, `spy_detector.detect(snapshot)` with the
default `DetectorConfig()`, flags matched to the injected truth by (expiry, strike, right,
side), one flag per contract and side (`bench.evaluate_detector.evaluate`). Reported: recall
on injected edges ≥ $0.08, by edge bucket and by the contract's moneyness region; precision;
false flags per clean chain; the worst false flags and a sample of misses, each with its
chain id ("SCENARIO seed S chain I"): `--replay SCENARIO:I` with the same --seed and
--chains regenerates it and prints its quotes, truth and flags.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.evaluate_detector import (
    EDGE_FLOORS,
    TARGET_SIZE,
    ChainOutcome,
    Evaluation,
    edge_label,
    evaluate,
)
from bench.independent_chains import SCENARIOS, GeneratedChain, Injection, make_chain

REGIONS = ("deep-itm", "itm", "atm", "otm", "far-otm")


@dataclass(frozen=True)
class Miss:
    chain: str
    injection: Injection
    flagged_other_side: bool
    minutes: float


@dataclass
class ScenarioResult:
    name: str
    outcomes: list[ChainOutcome]
    evaluation: Evaluation
    misses: list[Miss]
    by_region: dict[str, tuple[int, int]]
    by_expiry: dict[str, tuple[int, int]]
    stale_warned: tuple[int, int]  # (chains warned stale_underlying, chains with a stale spot)
    static_false_flags: int
    high_false_flags: int
    generate_ms: float
    detect_ms: float


def _key(anomaly) -> tuple:
    return (anomaly.expiry, anomaly.strike, anomaly.right, anomaly.side)


def _minutes_bucket(minutes: float) -> str:
    for top, label in ((30, "<30m"), (120, "30m-2h"), (400, "2h-6.5h")):
        if minutes < top:
            return label
    return "days"


def run_scenario(name: str, chains: int, seed: int, worst: int = 10) -> ScenarioResult:
    from spy_detector import DetectorConfig, detect

    config = DetectorConfig()
    outcomes: list[ChainOutcome] = []
    misses: list[Miss] = []
    region: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    expiry: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    gen_s, det_s = [], []
    stale = warned = 0
    for index in range(2 * chains):
        start = time.perf_counter()
        chain: GeneratedChain = make_chain(name, seed, index, chains)
        gen_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        analysis = detect(chain.snapshot, config)
        det_s.append(time.perf_counter() - start)
        chain_id = f"{name} seed {seed} chain {index}"
        warnings = tuple(w["kind"] for w in analysis.warnings)
        stale += chain.info["stale"]
        warned += "stale_underlying" in warnings
        outcome = ChainOutcome(
            chain_id,
            chain.injected,  # duck-typed like spy_core.synthetic.InjectedMispricing
            tuple(analysis.anomalies),
            chain.fair,
            chain.minutes_to_expiry,
            warnings,
        )
        outcomes.append(outcome)
        flagged = {_key(a) for a in analysis.anomalies}
        for inj in chain.injected:
            if inj.edge < TARGET_SIZE - 1e-9:
                continue
            hit = inj.key in flagged
            region[inj.region][0] += hit
            region[inj.region][1] += 1
            bucket = _minutes_bucket(chain.minutes_to_expiry)
            expiry[bucket][0] += hit
            expiry[bucket][1] += 1
            if not hit:
                other = any(k[:3] == inj.key[:3] for k in flagged)
                misses.append(Miss(chain_id, inj, other, chain.minutes_to_expiry))
    evaluation = evaluate(outcomes, worst)
    truth = {(o.name, m.key) for o in outcomes for m in o.injected}
    false = [
        a
        for o in outcomes
        for a in {_key(a): a for a in o.flags}.values()
        if (o.name, _key(a)) not in truth
    ]
    return ScenarioResult(
        name,
        outcomes,
        evaluation,
        misses,
        {r: (region[r][0], region[r][1]) for r in REGIONS if region[r][1]},
        {k: (v[0], v[1]) for k, v in sorted(expiry.items())},
        (warned, stale),
        sum(a.kind.value != "smile" for a in false),
        sum(a.severity.value == "high" for a in false),
        1e3 * statistics.median(gen_s),
        1e3 * statistics.median(det_s),
    )


def _ratio(c: tuple[int, int]) -> float:
    return c[0] / c[1] if c[1] else float("nan")


def _miss_dict(m: Miss) -> dict:
    i = m.injection
    return {
        "chain": m.chain,
        "contract": f"{i.expiry} {i.strike:g}{i.right.value}",
        "side": i.side.value,
        "region": i.region,
        "minutes_to_expiry": round(m.minutes, 1),
        "fair": round(i.fair, 4),
        "quote": [i.bid, i.ask],
        "original_quote": [i.original_bid, i.original_ask],
        "edge": round(i.edge, 4),
        "flagged_other_side": m.flagged_other_side,
    }


def as_json(result: ScenarioResult, sample: int = 10) -> dict:
    e = result.evaluation
    return {
        "scenario": result.name,
        "description": SCENARIOS[result.name].description,
        f"recall_edge_at_least_{TARGET_SIZE:.2f}": e.recall_at_least(TARGET_SIZE, by_edge=True),
        "recall_by_edge": {
            edge_label(b): {"found": f, "injected": n, "recall": _ratio((f, n))}
            for b, (f, n) in e.recall_by_edge.items()
        },
        "recall_by_region_edge_at_least_0.08": {
            r: {"found": f, "injected": n, "recall": _ratio((f, n))}
            for r, (f, n) in result.by_region.items()
        },
        "recall_by_time_edge_at_least_0.08": {
            r: {"found": f, "injected": n, "recall": _ratio((f, n))}
            for r, (f, n) in result.by_expiry.items()
        },
        "precision": e.precision,
        "true_flags": e.true_flags,
        "false_flags": e.false_flags,
        "collateral_false_flags": e.collateral_false_flags,
        "static_false_flags": result.static_false_flags,
        "high_severity_false_flags": result.high_false_flags,
        "false_flags_per_clean_chain": e.false_flags_per_clean_chain,
        "clean_chains_flagged_share": e.clean_flagged_share,
        "stale_spot_chains": result.stale_warned[1],
        "stale_underlying_warnings": result.stale_warned[0],
        "median_generate_ms": result.generate_ms,
        "median_detect_ms": result.detect_ms,
        "worst_false_flags": [
            {
                "chain": f.chain,
                "true_fair": f.true_fair,
                **{k: v for k, v in f.anomaly.model_dump(mode="json").items() if k != "id"},
            }
            for f in e.worst_false_flags
        ],
        "misses": [_miss_dict(m) for m in _sample_misses(result.misses, sample)],
        "misses_total": len(result.misses),
    }


def _sample_misses(misses: Sequence[Miss], sample: int) -> list[Miss]:
    """The largest-edge misses first: those are the least excusable."""
    return sorted(misses, key=lambda m: -m.injection.edge)[:sample]


def report(result: ScenarioResult, sample: int = 8) -> str:
    e = result.evaluation
    lines = [f"== {result.name}: {SCENARIOS[result.name].description} =="]
    lines.append(
        f"recall (edge ≥ {TARGET_SIZE:.2f}): {e.recall_at_least(TARGET_SIZE, by_edge=True):.3f}"
        f"   precision: {e.precision:.3f} ({e.true_flags} true, {e.false_flags} false, "
        f"{e.collateral_false_flags} collateral, {result.static_false_flags} static, "
        f"{result.high_false_flags} high)"
    )
    lines.append(
        f"false flags per clean chain: {e.false_flags_per_clean_chain:.3f}; clean chains "
        f"flagged: {e.clean_flagged_share:.1%}; stale warnings {result.stale_warned[0]} "
        f"on {result.stale_warned[1]} stale-spot chains"
    )
    lines.append(
        "  by edge: "
        + "  ".join(
            f"{edge_label(b)}: {_ratio(c):.2f} ({c[0]}/{c[1]})"
            for b, c in e.recall_by_edge.items()
            if b >= 0
        )
    )
    lines.append(
        "  by region (edge ≥ 0.08): "
        + "  ".join(f"{r}: {_ratio(c):.2f} ({c[0]}/{c[1]})" for r, c in result.by_region.items())
    )
    lines.append(
        "  by time (edge ≥ 0.08): "
        + "  ".join(f"{r}: {_ratio(c):.2f} ({c[0]}/{c[1]})" for r, c in result.by_expiry.items())
    )
    lines.append(
        f"  median ms/chain: generate {result.generate_ms:.1f}, detect {result.detect_ms:.1f}"
    )
    if e.worst_false_flags:
        lines.append("  worst false flags:")
    for flag in e.worst_false_flags:
        a, true = flag.anomaly, flag.true_fair
        lines.append(
            f"    {flag.chain}: {a.strike:g}{a.right.value} {a.side.value} {a.kind.value} "
            f"{a.bid:.2f}/{a.ask:.2f} fair {a.fair:.4f} true "
            f"{'?' if true is None else f'{true:.4f}'} edge {a.edge:.3f} score {a.score:.1f} "
            f"{a.severity.value}"
        )
    if result.misses:
        lines.append(f"  misses (edge ≥ 0.08; {len(result.misses)} in all; largest edges):")
    for m in _sample_misses(result.misses, sample):
        i = m.injection
        lines.append(
            f"    {m.chain}: {i.strike:g}{i.right.value} {i.side.value} {i.region} "
            f"{m.minutes:.0f} min, quote {i.bid:.2f}/{i.ask:.2f} (was {i.original_bid:.2f}/"
            f"{i.original_ask:.2f}) true fair {i.fair:.4f} edge {i.edge:.3f}"
            + (" [other side flagged]" if m.flagged_other_side else "")
        )
    return "\n".join(lines)


def table(results: Sequence[ScenarioResult]) -> str:
    buckets = [b for b in EDGE_FLOORS if b >= TARGET_SIZE - 1e-9]
    head = (
        f"{'scenario':16s} {'rec≥.08':>7s} "
        + " ".join(f"{edge_label(b):>9s}" for b in buckets)
        + f" {'prec':>6s} {'FF/clean':>8s} {'static':>6s} {'high':>5s} {'stale w':>7s}"
    )
    lines = [head]
    for r in results:
        e = r.evaluation
        cells = [f"{_ratio(e.recall_by_edge.get(b, (0, 0))):9.3f}" for b in buckets]
        lines.append(
            f"{r.name:16s} {e.recall_at_least(TARGET_SIZE, by_edge=True):7.3f} "
            + " ".join(cells)
            + f" {e.precision:6.3f} {e.false_flags_per_clean_chain:8.3f} "
            f"{r.static_false_flags:6d} {r.high_false_flags:5d} "
            f"{r.stale_warned[0]:3d}/{r.stale_warned[1]:<3d}"
        )
    everything = evaluate([o for r in results for o in r.outcomes])
    lines.append(
        f"{'ALL':16s} {everything.recall_at_least(TARGET_SIZE, by_edge=True):7.3f} "
        + " ".join(f"{_ratio(everything.recall_by_edge.get(b, (0, 0))):9.3f}" for b in buckets)
        + f" {everything.precision:6.3f} {everything.false_flags_per_clean_chain:8.3f}"
    )
    return "\n".join(lines)


def replay(name: str, index: int, chains: int, seed: int) -> str:
    from spy_detector import detect

    chain = make_chain(name, seed, index, chains)
    analysis = detect(chain.snapshot)
    snap = chain.snapshot
    lines = [
        f"{name} seed {seed} chain {index}: {snap.underlying} {snap.timestamp.isoformat()} "
        f"quoted spot {snap.spot} ({chain.minutes_to_expiry:.1f} min to expiry)",
        json.dumps(chain.info, default=str),
        f"warnings: {analysis.warnings}",
        f"expiries: {[e.to_dict() for e in analysis.expiries]}",
        "injected: "
        + "; ".join(
            f"{i.strike:g}{i.right.value} {i.side.value} edge {i.edge:.3f} fair {i.fair:.4f} "
            f"{i.original_bid:.2f}/{i.original_ask:.2f} -> {i.bid:.2f}/{i.ask:.2f}"
            for i in chain.injected
        ),
        "flags: "
        + "; ".join(
            f"{a.strike:g}{a.right.value} {a.side.value} {a.kind.value} fair {a.fair:.4f} "
            f"edge {a.edge:.3f} score {a.score:.1f}"
            for a in analysis.anomalies
        ),
        "strike right   bid    ask   true_fair",
    ]
    for q in sorted(snap.quotes, key=lambda q: (q.right.value, q.strike)):
        fair = chain.fair[(q.expiry, q.strike, q.right)]
        lines.append(f"{q.strike:8g} {q.right.value} {q.bid:7.2f} {q.ask:7.2f} {fair:10.4f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=200, help="clean chains (as many dirty)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", nargs="*", choices=sorted(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--worst", type=int, default=8, help="false flags to list")
    parser.add_argument("--misses", type=int, default=8, help="misses to list")
    parser.add_argument("--replay", metavar="SCENARIO:INDEX", help="print one chain")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.replay:
        name, index = args.replay.rsplit(":", 1)
        print(replay(name, int(index), args.chains, args.seed))
        return
    results = []
    for name in args.scenario:
        result = run_scenario(name, args.chains, args.seed, args.worst)
        results.append(result)
        if not args.json:
            print(report(result, args.misses), flush=True)
    if args.json:
        print(
            json.dumps(
                {"seed": args.seed, "chains": args.chains}
                | {r.name: as_json(r, args.misses) for r in results},
                indent=1,
            )
        )
    else:
        print()
        print(f"seed {args.seed}, {args.chains} clean + {args.chains} mispriced chains each")
        print(table(results))


if __name__ == "__main__":
    main()
