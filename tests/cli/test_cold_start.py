"""What a `spy-platform` command loads: the compiled kernels are extensions built at install,
so a detect run imports neither a JIT compiler nor pandas (the NYSE calendar comes from its
generated table) nor scipy, nor the asyncio/ssl stack the services need; OpenBLAS runs
single-threaded. Timing itself is benchmarked (bench/cold_start_benchmark.py), never
asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_HEAVY = ("numba", "llvmlite", "pandas", "exchange_calendars", "scipy", "asyncio", "ssl")

_SCRIPT = """
import contextlib, io, json, sys
from spy_platform.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["demo", "--seed", "1", "--save", sys.argv[1]])
    main(["detect", "--chain", sys.argv[1]])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_detect_run_loads_no_jit_compiler_pandas_or_scipy(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "chain.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(out.stdout))
    assert {"spy_core", "spy_detector"} <= loaded
    assert not loaded & set(_HEAVY)


_THREADS = "import os, spy_platform; print(os.environ['OPENBLAS_NUM_THREADS'])"


def _openblas_threads(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _THREADS], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout.strip()


def test_the_command_runs_openblas_single_threaded_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _openblas_threads(env) == "1"
    assert _openblas_threads({**env, "OPENBLAS_NUM_THREADS": "2"}) == "2"
