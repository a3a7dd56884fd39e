"""Run the benchmarks: `python -m bench [--json] [--chains N]`."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Sequence

from bench import cold_start_benchmark, detector_benchmark, iv_benchmark


def _summary(iv: dict, det: dict) -> str:
    s, r, acc = det["sample"], det["real"], det["accuracy"]
    lines = [
        f"machine: {os.cpu_count()} CPU, Python {platform.python_version()}",
        f"IV, 10k OTM options: ours {iv['ours_ms']:.2f} ms, pyfeng {iv['pyfeng_ms']:.2f} ms, "
        f"speed-up {iv['speedup']:.2f}x (target >= 2x)",
        f"  max |vol error| over {iv['counted']} options: ours {iv['ours_max_abs_vol_err']:.1e}, "
        f"pyfeng {iv['pyfeng_max_abs_vol_err']:.1e}",
        f"detect() on 0DTE sample ({s['quotes']} quotes): {s['ours_ms']:.2f} ms median "
        f"(target <= 1 ms); predecessor {s['predecessor_ms']:.2f} ms",
        f"  flags: ours {s['ours_flags']}, predecessor {s['predecessor_flags']}",
    ]
    if "skipped" in r:
        lines.append(f"real SPY CSV skipped: {r['skipped']}")
    else:
        lines += [
            f"detect() on real SPY CSV ({r['quotes']} quotes, {r['expiries']} expiries): "
            f"{r['ours_ms']:.1f} ms median (target <= 50 ms); "
            f"predecessor {r['predecessor_ms']:.1f} ms",
            f"  flags: ours {r['ours_flags']}, predecessor {r['predecessor_flags']}",
        ]
    lines.append(f"synthetic chains ({acc['chains']}, half clean):")
    for name in ("ours", "predecessor"):
        m = acc[name]
        lines.append(
            f"  {name:<12} flags/chain {m['flags_per_chain']:6.2f}  recall {m['recall']:.3f}  "
            f"precision {m['precision']:.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--chains", type=int, default=100, help="clean (and mispriced) chains")
    parser.add_argument("--cold-runs", type=int, default=10, help="cold CLI processes to time")
    args = parser.parse_args(argv)
    iv = iv_benchmark.run()
    det = detector_benchmark.run(chains=args.chains)
    cold = cold_start_benchmark.run(args.cold_runs)
    if args.json:
        print(json.dumps({"iv": iv, "detector": det, "cold_start": cold}, indent=2))
    else:
        print(_summary(iv, det) + "\n" + cold_start_benchmark.summary(cold))


if __name__ == "__main__":
    main()
