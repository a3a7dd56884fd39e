"""Cold start of the command line: `spy-platform detect --chain <real SPY CSV>` as a whole
process, from exec to exit, and where its time goes.

`python -m bench.cold_start_benchmark [--runs N] [--json]`. Each run is a fresh interpreter
(the installed `spy-platform` script, output to /dev/null); wall time and the child's CPU time
(user + sys, steadier than wall time on a shared machine) are reported as min and median of N.
The breakdown runs the same steps in fresh interpreters with timers between them: Python's own
start, the imports of the command (`spy_platform.cli` and the detect command), reading the CSV,
the first `detect()` (which loads whatever the kernels need), a second `detect()` for
comparison, and writing the JSON result. Peers: `python -c pass` and `python -c "import numpy"`
(with OpenBLAS single-threaded, as `spy-platform` runs it), floors no command that uses numpy
can beat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.detector_benchmark import REAL_CSV

TARGET_S = 1.0
_PHASES = ("imports", "read_csv", "first_detect", "second_detect", "write_json")

_PHASE_SCRIPT = """
import time
t0 = time.perf_counter()
import io, json, sys
import spy_platform.cli
from spy_platform.detect_command import analyse_loaded, finite_json
from spy_core.chain_io import load_chain
from spy_detector import DetectorConfig, detect
t1 = time.perf_counter()
loaded = load_chain(sys.argv[1])
t2 = time.perf_counter()
detect(loaded.snapshot, DetectorConfig())
t3 = time.perf_counter()
result = analyse_loaded(sys.argv[1], loaded, DetectorConfig())
t4 = time.perf_counter()
io.StringIO().write(json.dumps(finite_json(result), allow_nan=False))
t5 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]))
"""


def _script() -> str:
    return str(Path(sys.executable).with_name("spy-platform"))


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _summary(values: list[float]) -> dict[str, float]:
    return {"min_s": min(values), "median_s": statistics.median(values)}


def _repeat(
    command: list[str], runs: int, env: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    _timed(command, env)  # page cache and .pyc files warm, as on any second start
    walls, cpus = zip(*(_timed(command, env) for _ in range(runs)), strict=True)
    return {"wall": _summary(list(walls)), "cpu": _summary(list(cpus))}


def run(runs: int = 10) -> dict:
    if not REAL_CSV.is_file():
        return {"skipped": f"{REAL_CSV} not found"}
    cli = [_script(), "detect", "--chain", str(REAL_CSV)]
    result: dict = {"runs": runs, "command": "spy-platform detect --chain " + REAL_CSV.name}
    result["cli"] = _repeat(cli, runs)
    result["python_floor"] = _repeat([sys.executable, "-c", "pass"], runs)
    # As `spy-platform` imports it (spy_platform/__init__.py): OpenBLAS without worker threads.
    single_thread = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result["numpy_floor"] = _repeat([sys.executable, "-c", "import numpy"], runs, single_thread)
    phases: dict[str, list[float]] = {name: [] for name in _PHASES}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PHASE_SCRIPT, str(REAL_CSV)],
            capture_output=True,
            text=True,
            check=True,
        )
        for name, seconds in zip(_PHASES, json.loads(out.stdout), strict=True):
            phases[name].append(seconds)
    result["phases"] = {name: _summary(values) for name, values in phases.items()}
    result["target_s"] = TARGET_S
    return result


def summary(result: dict) -> str:
    if "skipped" in result:
        return f"cold CLI skipped: {result['skipped']}"
    cli, phases = result["cli"], result["phases"]
    lines = [
        f"cold `{result['command']}`, {result['runs']} runs: wall min "
        f"{cli['wall']['min_s']:.3f} s, median {cli['wall']['median_s']:.3f} s "
        f"(target <= {result['target_s']:.1f} s); CPU min {cli['cpu']['min_s']:.3f} s, "
        f"median {cli['cpu']['median_s']:.3f} s",
        "  in-process phases (min / median): "
        + ", ".join(
            f"{name} {p['min_s'] * 1e3:.0f}/{p['median_s'] * 1e3:.0f} ms"
            for name, p in phases.items()
        ),
        f"  floors (wall min / median): python -c pass "
        f"{result['python_floor']['wall']['min_s'] * 1e3:.0f}/"
        f"{result['python_floor']['wall']['median_s'] * 1e3:.0f} ms, import numpy "
        f"{result['numpy_floor']['wall']['min_s'] * 1e3:.0f}/"
        f"{result['numpy_floor']['wall']['median_s'] * 1e3:.0f} ms",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start_benchmark")
    parser.add_argument("--runs", type=int, default=10, help="runs of each process (default 10)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    result = run(args.runs)
    print(json.dumps(result, indent=2) if args.json else summary(result))


if __name__ == "__main__":
    main()
