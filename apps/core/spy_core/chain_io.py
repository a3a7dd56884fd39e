"""Load an option chain snapshot from a file: a Cboe quotedata CSV or the platform's JSON form.

The rules for each format are in spy_core.cboe_csv and spy_core.chain_json. Every loader
returns a LoadedChain (snapshot + excluded quotes) or raises ChainInputError; unreadable
files (missing, not UTF-8) raise ChainInputError too, so callers handle one exception.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spy_core.cboe_csv import parse_cboe_csv
from spy_core.chain_json import (
    ChainInputError,
    Exclusion,
    LoadedChain,
    chain_to_json,
    parse_chain_json,
)

__all__ = [
    "ChainInputError",
    "Exclusion",
    "LoadedChain",
    "chain_to_json",
    "load_chain",
    "parse_cboe_csv",
    "parse_chain_json",
]

_PARSERS: dict[str, Callable[[str, str], LoadedChain]] = {
    ".csv": parse_cboe_csv,
    ".json": parse_chain_json,
}


def load_chain(path: str | Path) -> LoadedChain:
    """Parse `path` by its extension: .csv is Cboe quotedata, .json the platform's JSON form."""
    path = Path(path)
    parser = _PARSERS.get(path.suffix.lower())
    if parser is None:
        raise ChainInputError(
            f"{path}: unsupported extension {path.suffix or '(none)'!r}; "
            "expected .csv (Cboe quotedata) or .json"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChainInputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ChainInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parser(text, str(path))
