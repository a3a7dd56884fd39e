"""Time to evaluate the whole Pulumi program under mocks: `python -m bench.pulumi_benchmark`.

Cold = a fresh interpreter: imports (pulumi, the azure-native modules used) + one evaluation,
what `spy-platform preview` pays. Warm = median of repeated evaluations in one process. The
peer is Pulumi's own floor measured in the same run: the same number of trivial resources
(random.RandomId) registered under the same mocks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0

_COLD = """
import time
start = time.perf_counter()
import stacks.platform
from stacks.offline import evaluate
imported = time.perf_counter()
evaluate({stack!r})
print(imported - start, time.perf_counter() - imported)
"""


def _cold(stack: str) -> tuple[float, float]:
    """(import seconds, first-evaluation seconds) in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _COLD.format(stack=stack)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    imports, first = out.stdout.strip().splitlines()[-1].split()
    return float(imports), float(first)


def _floor(count: int) -> float:
    """Register `count` RandomId resources under the same mocks, in a fresh context."""
    import asyncio
    import contextvars

    import pulumi
    import pulumi_random as random
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from stacks.offline import PlatformMocks

    def body() -> None:
        pulumi.runtime.set_mocks(PlatformMocks(), project="floor", stack="floor", preview=False)
        for i in range(count):
            random.RandomId(f"r{i}", byte_length=8)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    start = time.perf_counter()
    try:
        contextvars.Context().run(lambda: _sync_await(run_pulumi_func(body)))
        return time.perf_counter() - start
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def run(repeats: int = 5) -> dict:
    from stacks.offline import evaluate

    results = {}
    for stack in ("dev", "prod"):
        imports, first = _cold(stack)
        cold = imports + first
        warm, count = [], 0
        for _ in range(repeats):
            start = time.perf_counter()
            count = len(evaluate(stack).resources)
            warm.append(time.perf_counter() - start)
        floor = statistics.median(_floor(count) for _ in range(repeats))
        median = statistics.median(warm)
        results[stack] = {
            "resources": count,
            "cold_s": round(cold, 3),
            "cold_imports_s": round(imports, 3),
            "cold_first_evaluation_s": round(first, 3),
            "warm_median_s": round(median, 3),
            "floor_median_s": round(floor, 3),
            "ratio_to_floor": round(median / floor, 2),
            "meets_target": cold < TARGET_SECONDS,
        }
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pulumi_benchmark", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    results = run(args.repeats)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine: {os.cpu_count()} CPU, Python {sys.version.split()[0]}")
    for stack, r in results.items():
        print(
            f"{stack}: {r['resources']} resources; cold {r['cold_s']:.2f} s "
            f"(imports {r['cold_imports_s']:.2f} s + first evaluation "
            f"{r['cold_first_evaluation_s']:.2f} s; target < {TARGET_SECONDS:g} s: "
            f"{'met' if r['meets_target'] else 'NOT met'}); "
            f"warm {r['warm_median_s'] * 1000:.0f} ms median; SDK floor for as many trivial "
            f"resources {r['floor_median_s'] * 1000:.0f} ms ({r['ratio_to_floor']:.1f}x)"
        )


if __name__ == "__main__":
    main()
