"""The platform's JSON form of a chain snapshot, and the result types every chain loader shares.

Form (fields marked ? are optional):
    {"underlying": "SPY", "timestamp": "2026-03-09T14:30:00-05:00", "spot"?: 590.12,
     "rate"?: 0.043, "dividend_yield"?: 0.013,
     "quotes": [{"expiry": "2026-03-09", "strike": 588.0, "right": "C", "bid": 2.31,
                 "ask": 2.35, "bid_size"?: 10, "ask_size"?: 12, "volume"?: 1234,
                 "open_interest"?: 5000, "last"?: 2.33, "root"?: "SPY",
                 "updated_at"?: "2026-03-09T14:29:59.250-05:00"}]}

Rules:
- The whole document is rejected (ChainInputError naming the field) when it is not JSON, the
  top level is not an object, a top-level key is unknown, a top-level field is missing or
  invalid, the timestamp has no UTC offset, or `quotes` is not a non-empty array.
- Types are strict: numbers must be JSON numbers (no "2.31", no true), sizes integers.
  NaN and ±Infinity (which Python's json accepts) and overflowing literals such as 1e400 are
  non-finite and rejected.
- Each quote is validated on its own with OptionQuote. A bad quote is excluded (Exclusion
  where="quotes[i]") and the rest are used. All copies of a duplicated contract (same expiry,
  strike, right, root) are excluded: we cannot tell which is right. If no quote survives,
  ChainInputError.
- A missing, null or zero `spot` is implied by put-call parity from the nearest expiry with a
  call and a put quoted at one strike, and `LoadedChain.warnings` says so ("spot_missing");
  ChainInputError when no expiry can imply it.
- `updated_at`, when the quote's line last ticked, lets the detector exclude quotes older
  than its `max_quote_age` or stamped after the snapshot (counted in "excluded").

An Exclusion's reason reads "<category>: <detail>"; `category` is the text before the first
':' and is the key of LoadedChain.exclusion_counts(). Categories: "missing field",
"unknown field", "invalid value" (wrong type or format), "out of range" (negative price,
zero strike), "non-finite number", "crossed quote", "duplicate contract"; the Cboe CSV loader
adds "no quote" and "malformed row".
"""

from __future__ import annotations

import json
import math
import reprlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from spy_core.forward import implied_spot
from spy_core.models import ChainSnapshot, OptionQuote

_EXAMPLE_TIMESTAMP = "2026-03-09T14:30:00-05:00"
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


class ChainInputError(ValueError):
    """A chain file that cannot be used at all; the message says what is wrong and where."""


@dataclass(frozen=True)
class Exclusion:
    """One quote left out of a snapshot: where it was and why ("<category>: <detail>")."""

    where: str
    reason: str

    @property
    def category(self) -> str:
        return self.reason.split(":", 1)[0]


@dataclass(frozen=True)
class LoadedChain:
    """A usable snapshot plus every quote that was left out of it, so callers can report them."""

    snapshot: ChainSnapshot
    excluded: tuple[Exclusion, ...]
    # What a reader must know about the snapshot itself, e.g. {"kind": "spot_missing", ...}.
    warnings: tuple[dict, ...] = ()

    def exclusion_counts(self) -> dict[str, int]:
        """Reason category -> count, most frequent first."""
        return _counts(self.excluded)


def parse_chain_json(text: str, source: str = "<string>") -> LoadedChain:
    """Read the JSON form (see the module docstring); bad quotes are excluded, not fatal."""
    document = _load_object(text, source)
    raw_quotes = _quote_array(document, source)
    header = _checked_header({k: v for k, v in document.items() if k != "quotes"}, source)
    candidates: list[tuple[str, OptionQuote]] = []
    excluded: list[Exclusion] = []
    for index, raw in enumerate(raw_quotes):
        where = f"quotes[{index}]"
        result = _parse_quote(raw)
        if isinstance(result, str):
            excluded.append(Exclusion(where, result))
        else:
            candidates.append((where, result))
    quotes, excluded_all = keep_unique(candidates, excluded, source)
    warnings: tuple[dict, ...] = ()
    if header.get("spot") is None:
        spot, warning = spot_from_parity(quotes, header["timestamp"], f"{source}: spot")
        header, warnings = {**header, "spot": spot}, (warning,)
    snapshot = ChainSnapshot.model_validate({**header, "quotes": quotes}, strict=True)
    return LoadedChain(snapshot, excluded_all, warnings)


def spot_from_parity(
    quotes: tuple[OptionQuote, ...], timestamp: datetime, where: str
) -> tuple[float, dict]:
    """The spot the options imply, and the warning that says it stands in for a missing one;
    ChainInputError (naming `where`) when no expiry has the quotes to imply it."""
    spot = implied_spot(quotes, timestamp)
    if spot is None or not spot > 0:
        raise ChainInputError(
            f"{where}: missing or zero, and no expiry has calls and puts quoted at a strike "
            "to imply it by put-call parity"
        )
    warning = {
        "kind": "spot_missing",
        "implied": round(spot, 4),
        "detail": "the snapshot gives no spot: the spot implied by put-call parity is used",
    }
    return spot, warning


def chain_to_json(snapshot: ChainSnapshot) -> str:
    """The JSON form, unset optional fields omitted; parse_chain_json reads it back unchanged."""
    data = snapshot.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def describe(error: ValidationError) -> str:
    """A pydantic error as an exclusion reason: plain "<category>: <field>: <problem>" text."""
    return "; ".join(_problem(detail) for detail in error.errors())


def keep_unique(
    candidates: list[tuple[str, OptionQuote]], excluded: list[Exclusion], source: str
) -> tuple[tuple[OptionQuote, ...], tuple[Exclusion, ...]]:
    """Drop every copy of a duplicated contract; raise if no quote is left."""
    places: dict[tuple, list[str]] = defaultdict(list)
    for where, quote in candidates:
        places[quote.contract_key].append(where)
    kept: list[OptionQuote] = []
    excluded = list(excluded)
    for where, quote in candidates:
        copies = places[quote.contract_key]
        if len(copies) == 1:
            kept.append(quote)
            continue
        others = [place for place in copies[:4] if place != where][:3]
        more = f" and {len(copies) - 1 - len(others)} more" if len(copies) > 4 else ""
        reason = f"duplicate contract: {_contract(quote)} also at {', '.join(others)}{more}"
        excluded.append(Exclusion(where, reason))
    if not kept:
        summary = ", ".join(f"{category}: {count}" for category, count in _counts(excluded).items())
        first = f"; first: {excluded[0].where}: {excluded[0].reason}" if excluded else ""
        raise ChainInputError(
            f"{source}: no valid quotes: {len(excluded)} excluded ({summary}){first}"
        )
    return tuple(kept), tuple(excluded)


def _counts(excluded: Iterable[Exclusion]) -> dict[str, int]:
    return dict(Counter(exclusion.category for exclusion in excluded).most_common())


def _load_object(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChainInputError(
            f"{source}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise ChainInputError(f"{source}: not usable JSON: nested too deeply") from exc
    if not isinstance(document, dict):
        raise ChainInputError(
            f"{source}: top level must be a JSON object, got {_json_type(document)}"
        )
    return document


def _quote_array(document: dict[str, Any], source: str) -> list[Any]:
    if "quotes" not in document:
        raise ChainInputError(f"{source}: missing field: quotes")
    quotes = document["quotes"]
    if not isinstance(quotes, list):
        raise ChainInputError(f"{source}: quotes: must be an array, got {_json_type(quotes)}")
    if not quotes:
        raise ChainInputError(f"{source}: quotes: must contain at least one quote")
    return quotes


def _checked_header(fields: dict[str, Any], source: str) -> dict[str, Any]:
    """The top-level fields, validated by ChainSnapshot itself, with the timestamp parsed."""
    non_finite = [f"{key}: must be a finite number" for key, v in fields.items() if _bad_float(v)]
    if non_finite:
        raise ChainInputError(f"{source}: {'; '.join(non_finite)}")
    if "timestamp" in fields:
        fields = {**fields, "timestamp": _parse_timestamp(fields["timestamp"], source)}
    if fields.get("spot", 0) in (0, None) and not isinstance(fields.get("spot"), bool):
        fields = {**fields, "spot": None}  # implied from the quotes by the caller
    try:
        ChainSnapshot.model_validate(
            {**fields, **_spot_or_stand_in(fields), "quotes": ()}, strict=True
        )
    except ValidationError as exc:
        # quotes=() always fails min_length; the quotes are checked one by one instead.
        problems = [_problem(d) for d in exc.errors() if d["loc"][:1] != ("quotes",)]
        if problems:
            raise ChainInputError(f"{source}: {'; '.join(problems)}") from None
    return fields


def _spot_or_stand_in(fields: dict[str, Any]) -> dict[str, Any]:
    """A missing spot is validated as a stand-in; the quotes will imply the real one."""
    return {"spot": 1.0} if fields.get("spot") is None else {}


def _parse_timestamp(value: object, source: str) -> datetime:
    if not isinstance(value, str):
        raise ChainInputError(
            f"{source}: timestamp: must be an ISO 8601 string such as {_EXAMPLE_TIMESTAMP}, "
            f"got {_json_type(value)}"
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ChainInputError(
            f"{source}: timestamp: {reprlib.repr(value)} is not an ISO 8601 date-time, "
            f"e.g. {_EXAMPLE_TIMESTAMP}"
        ) from None
    if parsed.utcoffset() is None:
        raise ChainInputError(f"{source}: timestamp: needs a UTC offset, e.g. {_EXAMPLE_TIMESTAMP}")
    return parsed


def _parse_quote(raw: object) -> OptionQuote | str:
    """The quote, or why it is excluded."""
    if not isinstance(raw, dict):
        return f"invalid value: a quote must be an object, got {_json_type(raw)}"
    non_finite = [key for key, value in raw.items() if _bad_float(value)]
    if non_finite:
        return f"non-finite number: {', '.join(non_finite)}"
    try:
        # JSON mode, so ISO dates and "C"/"P" are read as JSON text while strict typing holds.
        return OptionQuote.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        return describe(exc)


def _problem(detail: ErrorDetails) -> str:
    field = ".".join(str(part) for part in detail["loc"])
    kind = detail["type"]
    message = detail["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return f"missing field: {field}"
    if kind == "extra_forbidden":
        return f"unknown field: {field}"
    if kind == "json_invalid":  # the only way our re-serialized quote is invalid JSON
        return "invalid value: nested too deeply"
    if message.startswith("crossed quote"):  # OptionQuote's own "crossed quote: bid .. ask .."
        return message
    if kind == "finite_number" or "finite" in message:
        return f"non-finite number: {field}"
    category = "out of range" if kind in _RANGE_ERRORS else "invalid value"
    return f"{category}: {field}: {message}" if field else f"{category}: {message}"


def _contract(quote: OptionQuote) -> str:
    root = f" ({quote.root})" if quote.root else ""
    return f"{quote.expiry} {quote.strike:g}{quote.right.value}{root}"


def _bad_float(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
