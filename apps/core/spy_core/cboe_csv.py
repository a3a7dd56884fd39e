"""Cboe "quotedata" CSV (the delayed-quotes page download) read into a chain snapshot.

Layout, after any blank lines:
    <name>,Last: 450.81,Change:  3.85
    "Date: September 14, 2023 at 4:31 PM EDT",Bid: 450.81,Ask: 450.83,Size: 9*11,...
    Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,...
then one row per expiry and strike: the call's columns, the strike, the put's columns.

Rules:
- timestamp: the Date line as America/New_York wall time; its EDT/EST must agree with the date.
- spot: the underlying's bid/ask mid when both are > 0 and the spread is at most 0.05 % of the
  mid, else `Last` (index pages such as SPX show a wide bid/ask that is not a market).
- underlying: from the OCC symbol root, weekly roots mapped to their index (SPXW -> SPX).
  Every quote keeps its root: SPX (AM-settled) and SPXW (PM-settled) share expiry dates.
- Per side ("line N calls" / "line N puts"): bid and ask both 0 is "no quote" and excluded; a
  malformed number, a symbol that disagrees with the row, or a quote OptionQuote rejects
  (crossed, negative) excludes that side only. A bad expiry or strike, or the wrong number of
  fields, excludes the row ("line N"). Last Sale 0 means no trade and becomes last=None.
  IV and greeks are ignored (the platform computes its own).
- Expired expiries are kept: the detector filters and reports them.
- Anything not in this layout (no preamble, other header, not text) -> ChainInputError naming
  the line. Line numbers are physical lines of the text, blank lines included.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
import reprlib
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from pydantic import ValidationError

from spy_core.chain_json import (
    ChainInputError,
    Exclusion,
    LoadedChain,
    describe,
    keep_unique,
    spot_from_parity,
)
from spy_core.market_hours import NEW_YORK
from spy_core.models import ChainSnapshot, OptionQuote, Right

_SIDE_COLUMNS = (
    "Last Sale",
    "Net",
    "Bid",
    "Ask",
    "Volume",
    "IV",
    "Delta",
    "Gamma",
    "Open Interest",
)
_HEADER = ["Expiration Date", "Calls", *_SIDE_COLUMNS, "Strike", "Puts", *_SIDE_COLUMNS]
_STRIKE = _HEADER.index("Strike")
_SIDE_NUMBERS = (  # OptionQuote field, column, type
    ("last", "Last Sale", float),
    ("bid", "Bid", float),
    ("ask", "Ask", float),
    ("volume", "Volume", int),
    ("open_interest", "Open Interest", int),
)


class _Side(NamedTuple):
    """Where one side of a row is: its symbol's column, then its numbers' columns."""

    right: Right
    label: str
    symbol: int
    # (OptionQuote field, column name, column index, type), in _SIDE_NUMBERS order
    numbers: tuple[tuple[str, str, int, type[float] | type[int]], ...]


def _side(right: Right, label: str, symbol: int) -> _Side:
    numbers = tuple(
        (field, column, symbol + 1 + _SIDE_COLUMNS.index(column), kind)
        for field, column, kind in _SIDE_NUMBERS
    )
    return _Side(right, label, symbol, numbers)


_SIDES = (_side(Right.CALL, "calls", 1), _side(Right.PUT, "puts", _STRIKE + 1))
_OCC_SYMBOL = re.compile(r"([A-Z]+)(\d{6})([CP])(\d{8})")
# Roots listed under another underlying; any other root is its own (SPY, SPX, XSP, QQQ).
_UNDERLYING_OF_ROOT = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX"}
_MAX_SPREAD_FOR_MID = 0.0005
_DATE_EXAMPLE = "Date: September 14, 2023 at 4:31 PM EDT"

_Candidates = list[tuple[str, OptionQuote]]


def parse_cboe_csv(text: str, source: str = "<string>") -> LoadedChain:
    """Read a Cboe quotedata CSV (see the module docstring); bad sides are excluded."""
    rows = _rows(text, source)
    timestamp, spot = _parse_preamble(rows, source)
    if len(rows) == 3:
        raise ChainInputError(f"{source}: line {rows[2][0]}: no option rows after the header")
    candidates: _Candidates = []
    excluded: list[Exclusion] = []
    for line, row in rows[3:]:
        row_candidates, row_excluded = _parse_row(line, row)
        candidates += row_candidates
        excluded += row_excluded
    quotes, excluded_all = keep_unique(candidates, excluded, source)
    warnings: tuple[dict, ...] = ()
    if spot <= 0:
        where = f"{source}: line {rows[0][0]}: no spot: Last is 0 and Bid/Ask give no usable mid"
        spot, warning = spot_from_parity(quotes, timestamp, where)
        warnings = (warning,)
    snapshot = ChainSnapshot(
        underlying=_underlying(quotes, source), timestamp=timestamp, spot=spot, quotes=quotes
    )
    return LoadedChain(snapshot, excluded_all, warnings)


def _rows(text: str, source: str) -> list[tuple[int, list[str]]]:
    """Non-blank CSV rows with their line numbers."""
    reader = csv.reader(io.StringIO(text))
    try:
        return [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ChainInputError(f"{source}: line {reader.line_num}: not CSV: {exc}") from exc


def _parse_preamble(rows: list[tuple[int, list[str]]], source: str) -> tuple[datetime, float]:
    if len(rows) < 3:
        raise ChainInputError(
            f"{source}: line 1: not a Cboe quotedata file: expected 3 preamble lines "
            f"(name and Last, Date with Bid and Ask, column header), found {len(rows)}"
        )
    (name_line, name_row), (date_line, date_row), (header_line, header_row) = rows[:3]
    last = _labelled_number(name_row, 1, "Last", f"{source}: line {name_line}")
    timestamp = _parse_date(date_row[0], f"{source}: line {date_line}")
    bid = _labelled_number(date_row, 1, "Bid", f"{source}: line {date_line}")
    ask = _labelled_number(date_row, 2, "Ask", f"{source}: line {date_line}")
    if [cell.strip() for cell in header_row] != _HEADER:
        raise ChainInputError(
            f"{source}: line {header_line}: expected the Cboe column header "
            f"{reprlib.repr(','.join(_HEADER))}, got {reprlib.repr(','.join(header_row))}"
        )
    return timestamp, _spot(last, bid, ask)


def _labelled_number(row: list[str], index: int, label: str, where: str) -> float:
    """The number in a preamble cell such as "Last: 450.81"."""
    cell = row[index].strip() if index < len(row) else ""
    if not cell.startswith(f"{label}:"):
        raise ChainInputError(
            f"{where}: not a Cboe quotedata preamble: expected '{label}: <number>' "
            f"in field {index + 1}, got {reprlib.repr(cell)}"
        )
    text = cell.removeprefix(f"{label}:").strip()
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ChainInputError(f"{where}: {label}: {reprlib.repr(text)} is not a price")
    return value


_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (
        datetime(2000, number, 1).strftime("%B"),
        datetime(2000, number, 1).strftime("%b"),
    )
} | {"sept": 9}
_DATE_FORM = re.compile(
    r"""^(?:(?P<month_first>[A-Za-z]+)\.?\s+(?P<day_second>\d{1,2})
        |(?P<day_first>\d{1,2})\s+(?P<month_second>[A-Za-z]+)\.?)
        ,?\s+(?P<year>\d{4}),?\s+(?:at\s+)?
        (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?
        \s*(?P<half>[AaPp]\.?\s?[Mm]\.?)?
        \s*(?P<zone>[A-Za-z]*)\s*(?P<offset>[+-]\d{1,2}(?::?\d{2})?)?$""",
    re.VERBOSE,
)
_NEW_YORK_ZONES = {"EDT": 1, "EST": 0, "ET": None, "": None}
_OFFSET_ZONES = ("GMT", "UTC", "Z")


def _parse_date(cell: str, where: str) -> datetime:
    """The Date line as an aware time, in the forms Cboe's page has produced:
    'September 14, 2023 at 4:31 PM EDT', '19 September 2022, 8:29 PM GMT-4',
    'February 5 2022, 8:09 PM EST' — month first or day first, with or without comma or
    "at", full or short month names, 12- or 24-hour clock, EDT/EST/ET (New York) or a
    GMT/UTC offset."""
    text = cell.strip().removeprefix("Date:").strip()
    match = _DATE_FORM.match(text)
    wall = _wall_time(match) if match else None
    if wall is None:
        raise ChainInputError(f"{where}: expected '{_DATE_EXAMPLE}', got {reprlib.repr(cell)}")
    zone, offset = match["zone"].upper(), match["offset"]
    if zone in _OFFSET_ZONES or offset:
        if zone not in _OFFSET_ZONES:
            raise ChainInputError(f"{where}: unknown time zone {reprlib.repr(zone + offset)}")
        return wall.replace(tzinfo=_fixed_offset(offset or "+0", where))
    if zone not in _NEW_YORK_ZONES:
        raise ChainInputError(f"{where}: unknown time zone {reprlib.repr(zone)}")
    daylight = _NEW_YORK_ZONES[zone]
    # fold=1 picks EST for the repeated hour when clocks fall back.
    moment = wall.replace(tzinfo=NEW_YORK, fold=int(daylight == 0))
    if daylight is not None and moment.tzname() != zone:
        raise ChainInputError(f"{where}: {zone} is wrong for New York on {wall:%B %d, %Y}")
    return moment


def _wall_time(match: re.Match[str]) -> datetime | None:
    month = _MONTHS.get((match["month_first"] or match["month_second"]).lower())
    day = int(match["day_second"] or match["day_first"])
    hour, half = int(match["hour"]), (match["half"] or "").replace(".", "").replace(" ", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.upper() == "PM" else 0)
    try:
        return datetime(
            int(match["year"]),
            month or 0,
            day,
            hour,
            int(match["minute"]),
            int(match["second"] or 0),
        )
    except ValueError:
        return None


def _fixed_offset(text: str, where: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if hours > 14 or minutes >= 60:
        raise ChainInputError(f"{where}: time zone offset {text} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _spot(last: float, bid: float, ask: float) -> float:
    mid = (bid + ask) / 2
    if 0 < bid <= ask and ask - bid <= _MAX_SPREAD_FOR_MID * mid:
        return mid
    return last


def _parse_row(line: int, row: list[str]) -> tuple[_Candidates, list[Exclusion]]:
    """The row's two sides as quotes, or the reasons they are excluded."""
    if len(row) != len(_HEADER):
        reason = f"malformed row: expected {len(_HEADER)} fields, got {len(row)}"
        return [], [Exclusion(f"line {line}", reason)]
    expiry = _expiry(row[0])
    if expiry is None:
        reason = f"invalid value: Expiration Date {reprlib.repr(row[0])}"
        return [], [Exclusion(f"line {line}", reason)]
    strike = _number(row[_STRIKE], float)
    if strike is None:
        reason = f"invalid value: Strike {reprlib.repr(row[_STRIKE])} is not a valid number"
        return [], [Exclusion(f"line {line}", reason)]
    candidates: _Candidates = []
    excluded: list[Exclusion] = []
    for side in _SIDES:
        where = f"line {line} {side.label}"
        result = _parse_side(row, side, expiry, strike)
        if isinstance(result, str):
            excluded.append(Exclusion(where, result))
        else:
            candidates.append((where, result))
    return candidates, excluded


def _parse_side(row: list[str], side: _Side, expiry: _Expiry, strike: float) -> OptionQuote | str:
    """One side's quote, or why it is excluded."""
    cell = row[side.symbol]
    symbol = _OCC_SYMBOL.fullmatch(cell.strip())
    if symbol is None or (
        symbol[2] != expiry.code
        or symbol[3] != side.right.value
        or not math.isclose(int(symbol[4]) / 1000, strike)
    ):
        return f"invalid value: symbol {reprlib.repr(cell)} does not match the row"
    values: dict[str, object] = {"expiry": expiry.day, "strike": strike, "right": side.right}
    for field, column, index, kind in side.numbers:
        value = _number(row[index], kind)
        if value is None:
            return f"invalid value: {column} {reprlib.repr(row[index])} is not a valid number"
        values[field] = value
    if values["bid"] == 0 and values["ask"] == 0:
        return "no quote: bid and ask are both 0"
    if values["last"] == 0:
        values["last"] = None
    values["root"] = symbol[1]
    try:
        return OptionQuote.model_validate(values)
    except ValidationError as exc:
        return describe(exc)


class _Expiry(NamedTuple):
    day: date
    code: str  # as in OCC symbols: YYMMDD


@functools.lru_cache(maxsize=512)
def _expiry(cell: str) -> _Expiry | None:
    """Cached: a file repeats a few dozen expiry cells over thousands of rows."""
    try:
        day = datetime.strptime(cell.strip(), "%a %b %d %Y").date()
    except ValueError:
        return None
    return _Expiry(day, f"{day:%y%m%d}")


def _number(cell: str, kind: type[float] | type[int]) -> float | int | None:
    """The cell as a finite number, else None ("nan" would otherwise pass float())."""
    try:
        value = kind(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _underlying(quotes: tuple[OptionQuote, ...], source: str) -> str:
    names = sorted({_UNDERLYING_OF_ROOT.get(q.root or "", q.root or "") for q in quotes})
    if len(names) > 1:
        raise ChainInputError(f"{source}: option roots of several underlyings: {names}")
    return names[0]
