"""`spy-platform demo`: the platform's main job on a chain it generates itself.

A realistic 0DTE SPY chain is generated with a few quotes deliberately mispriced; the
detector runs on it exactly as on a real file, and the planted quotes are listed beside the
findings so a user can see what it caught.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from spy_core.chain_io import LoadedChain, chain_to_json
from spy_core.synthetic import sample_chain
from spy_detector import DetectorConfig

from .detect_command import analyse_loaded, finite_json
from .table import format_table, render_analysis


def run_demo(
    seed: int,
    mispricings: int,
    save: str | None,
    config: DetectorConfig,
    output_format: str,
    out: TextIO,
) -> int:
    snapshot, planted = sample_chain(seed=seed, mispricings=mispricings)
    source = f"generated chain (seed {seed})"
    if save:
        Path(save).write_text(chain_to_json(snapshot), encoding="utf-8")
        source = save
    result = analyse_loaded(source, LoadedChain(snapshot, ()), config)
    if output_format == "json":
        out.write(json.dumps(finite_json(result), allow_nan=False) + "\n")
        return 0
    out.write(render_analysis(result))
    found = {(a["strike"], a["right"], a["side"]) for a in result["anomalies"]}
    rows = [
        [
            f"{p.strike:g}",
            p.right.value,
            p.side.value,
            f"{p.size:.2f}",
            f"{p.edge:+.3f}",
            "yes" if (p.strike, p.right.value, p.side.value) in found else "no",
        ]
        for p in planted
    ]
    out.write(f"\nplanted mispricings ({len(planted)}):\n")
    out.write(format_table(["strike", "", "side", "moved", "edge", "found"], rows) + "\n")
    return 0
