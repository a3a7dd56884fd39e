"""`spy-platform detect`: analyse chain files, one result per file, in input order."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import TextIO

from spy_core.chain_io import ChainInputError, LoadedChain, load_chain
from spy_detector import DetectorConfig, detect

from .table import render_analysis


def analyse_file(path: str, config: DetectorConfig) -> dict:
    """The JSON-ready result for one file, or {"source", "error"} naming what is wrong."""
    try:
        loaded = load_chain(path)
    except ChainInputError as error:
        return {"source": path, "error": str(error)}
    except OSError as error:
        return {"source": path, "error": f"cannot read {path}: {error.strerror or error}"}
    return analyse_loaded(path, loaded, config)


def analyse_loaded(source: str, loaded: LoadedChain, config: DetectorConfig) -> dict:
    analysis = detect(loaded.snapshot, config)
    result = {"source": source, **analysis.to_dict()}
    result["excluded"] = {**loaded.exclusion_counts(), **analysis.excluded}
    result["warnings"] = [*loaded.warnings, *analysis.warnings]
    return result


def run_detect(
    paths: Iterable[str], config: DetectorConfig, output_format: str, out: TextIO
) -> int:
    """Write one line (json) or one block (table) per file; 1 if any file failed, else 0."""
    failed = False
    for path in paths:
        result = analyse_file(path, config)
        failed |= "error" in result
        if output_format == "json":
            out.write(json.dumps(finite_json(result), allow_nan=False) + "\n")
        else:
            out.write(render_analysis(result) + "\n")
        out.flush()
    return 1 if failed else 0


def finite_json(value: object) -> object:
    """JSON has no NaN: undefined numbers (no smile, no sign change) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(item) for item in value]
    return value
