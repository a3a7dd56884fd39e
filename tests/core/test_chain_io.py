"""chain_io: the JSON form, Cboe quotedata CSVs (synthetic and the real files in ../shared/data)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spy_core.chain_io import (
    ChainInputError,
    Exclusion,
    LoadedChain,
    chain_to_json,
    load_chain,
    parse_cboe_csv,
    parse_chain_json,
)
from spy_core.market_hours import NEW_YORK
from spy_core.models import ChainSnapshot, OptionQuote, Right

# --- JSON -------------------------------------------------------------------------------------


def _quote(**changes: object) -> dict[str, object]:
    return {
        "expiry": "2026-03-09",
        "strike": 588.0,
        "right": "C",
        "bid": 2.31,
        "ask": 2.35,
    } | changes


def _document(quotes: list[object] | None = None, **changes: object) -> dict[str, object]:
    if quotes is None:
        quotes = [_quote(strike=587.0), _quote(), _quote(strike=589.0)]
    header = {"underlying": "SPY", "timestamp": "2026-03-09T14:30:00-05:00", "spot": 590.12}
    return header | {"quotes": quotes} | changes


def _without(mapping: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in mapping.items() if k != key}


def test_json_reads_every_field():
    full = _quote(bid_size=10, ask_size=12, volume=1234, open_interest=5000, last=2.33, root="SPY")
    text = json.dumps(_document([full, _quote(right="P")], rate=0.043, dividend_yield=0.013))

    loaded = parse_chain_json(text)

    snapshot = loaded.snapshot
    assert loaded.excluded == ()
    assert loaded.exclusion_counts() == {}
    assert (snapshot.underlying, snapshot.spot, snapshot.rate, snapshot.dividend_yield) == (
        "SPY",
        590.12,
        0.043,
        0.013,
    )
    assert snapshot.timestamp == datetime(2026, 3, 9, 19, 30, tzinfo=UTC)
    assert snapshot.timestamp.utcoffset() == timedelta(hours=-5)
    assert snapshot.quotes[0] == OptionQuote(
        expiry=date(2026, 3, 9),
        strike=588.0,
        right=Right.CALL,
        bid=2.31,
        ask=2.35,
        bid_size=10,
        ask_size=12,
        volume=1234,
        open_interest=5000,
        last=2.33,
        root="SPY",
    )
    assert snapshot.quotes[1].right is Right.PUT
    assert snapshot.quotes[1].root is None


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_quote(bid=2.5, ask=2.4), "crossed quote: bid 2.5 is above ask 2.4"),
        (_quote(bid=-0.01), "out of range: bid: "),
        (_quote(strike=0), "out of range: strike: "),
        (_quote(ask=math.nan), "non-finite number: ask"),
        (_quote(last=math.inf), "non-finite number: last"),
        (_quote(bid=-math.inf), "non-finite number: bid"),
        (_without(_quote(), "ask"), "missing field: ask"),
        (_quote(colour="red"), "unknown field: colour"),
        (_quote(right="X"), "invalid value: right: "),
        (_quote(bid="2.31"), "invalid value: bid: "),
        (_quote(volume=True), "invalid value: volume: "),
        (_quote(bid_size=1.5), "invalid value: bid_size: "),
        (_quote(expiry="09/03/2026"), "invalid value: expiry: "),
        (_quote(root=7), "invalid value: root: "),
        ([_quote()], "invalid value: a quote must be an object, got array"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_json_bad_quote_is_excluded_by_position_and_field(bad: object, reason: str):
    text = json.dumps(_document([_quote(strike=587.0), bad, _quote(strike=589.0)]))

    loaded = parse_chain_json(text)

    assert [quote.strike for quote in loaded.snapshot.quotes] == [587.0, 589.0]
    (exclusion,) = loaded.excluded
    assert exclusion.where == "quotes[1]"
    assert exclusion.reason.startswith(reason)
    assert loaded.exclusion_counts() == {reason.partition(":")[0]: 1}
    assert "pydantic" not in exclusion.reason
    assert "Traceback" not in exclusion.reason


def test_json_overflowing_literal_is_non_finite():
    # 1e400 parses as inf in Python; it is a non-finite number, not a huge price.
    text = json.dumps(_document([_quote(strike=587.0), _quote(bid=12345.0)]))

    loaded = parse_chain_json(text.replace("12345.0", "1e400"))

    assert loaded.excluded == (Exclusion("quotes[1]", "non-finite number: bid"),)


def test_json_quote_with_several_problems_is_counted_once_under_the_first():
    loaded = parse_chain_json(json.dumps(_document([_quote(), _quote(strike=1.0, ask="x", y=1)])))

    (exclusion,) = loaded.excluded
    assert exclusion.category == "invalid value"
    assert "ask" in exclusion.reason
    assert "unknown field: y" in exclusion.reason


def test_json_duplicate_contracts_exclude_every_copy():
    quotes = [_quote(), _quote(strike=589.0), _quote(bid=2.0), _quote(root="SPXW")]

    loaded = parse_chain_json(json.dumps(_document(quotes)))

    # quotes[0] and [2] are the same contract; [3] differs by root, so it is not a copy.
    assert [(q.strike, q.root) for q in loaded.snapshot.quotes] == [(589.0, None), (588.0, "SPXW")]
    assert [exclusion.where for exclusion in loaded.excluded] == ["quotes[0]", "quotes[2]"]
    assert loaded.excluded[0].reason == "duplicate contract: 2026-03-09 588C also at quotes[2]"
    assert loaded.exclusion_counts() == {"duplicate contract": 2}


def test_json_many_copies_are_summarised():
    loaded = parse_chain_json(json.dumps(_document([_quote(strike=1.0), *[_quote()] * 6])))

    assert loaded.exclusion_counts() == {"duplicate contract": 6}
    assert loaded.excluded[0].reason == (
        "duplicate contract: 2026-03-09 588C also at quotes[2], quotes[3], quotes[4] and 2 more"
    )


def test_json_without_valid_quotes_is_an_error_with_counts():
    quotes = [_quote(bid=3.0), _without(_quote(strike=1.0), "ask"), _quote(strike=2.0, bid=9.0)]

    with pytest.raises(ChainInputError) as raised:
        parse_chain_json(json.dumps(_document(quotes)), source="chain.json")

    assert str(raised.value).startswith(
        "chain.json: no valid quotes: 3 excluded (crossed quote: 2, missing field: 1); "
        "first: quotes[0]: crossed quote: bid 3.0 is above ask 2.35"
    )


_BAD_DOCUMENTS = {
    "not JSON": ("{not json", "chain.json: not JSON: "),
    "array": ("[]", "chain.json: top level must be a JSON object, got array"),
    "string": ('"SPY"', "top level must be a JSON object, got string"),
    "no spot": (_without(_document(), "spot"), "chain.json: spot: missing or zero, and no expiry"),
    "zero spot": (_document(spot=0), "chain.json: spot: missing or zero, and no expiry"),
    "no underlying": (_without(_document(), "underlying"), "missing field: underlying"),
    "no timestamp": (_without(_document(), "timestamp"), "missing field: timestamp"),
    "no quotes": (_without(_document(), "quotes"), "missing field: quotes"),
    "naive timestamp": (
        _document(timestamp="2026-03-09T14:30:00"),
        "chain.json: timestamp: needs a UTC offset, e.g. 2026-03-09T14:30:00-05:00",
    ),
    "date only": (_document(timestamp="2026-03-09"), "timestamp: needs a UTC offset"),
    "bad timestamp": (_document(timestamp="yesterday"), "timestamp: 'yesterday' is not an ISO"),
    "numeric timestamp": (_document(timestamp=1.7e9), "timestamp: must be an ISO 8601 string"),
    "NaN spot": (_document(spot=math.nan), "chain.json: spot: must be a finite number"),
    "infinite rate": (_document(rate=math.inf), "rate: must be a finite number"),
    "negative spot": (_document(spot=-1.0), "out of range: spot: "),
    "string spot": (_document(spot="590.12"), "invalid value: spot: "),
    "boolean spot": (_document(spot=True), "invalid value: spot: "),
    "rate out of range": (_document(rate=4.3), "out of range: rate: "),
    "null dividend": (_document(dividend_yield=None), None),
    "empty underlying": (_document(underlying=""), "invalid value: underlying: "),
    "unknown key": (_document(colour="red"), "chain.json: unknown field: colour"),
    "empty quotes": (_document([]), "chain.json: quotes: must contain at least one quote"),
    "quotes object": (_document({}), "chain.json: quotes: must be an array, got object"),
    "too deep": ("[" * 100_000, "chain.json: not usable JSON: nested too deeply"),
}


@pytest.mark.parametrize(("document", "message"), _BAD_DOCUMENTS.values(), ids=_BAD_DOCUMENTS)
def test_json_bad_document_is_rejected_naming_the_field(document: object, message: str | None):
    text = document if isinstance(document, str) else json.dumps(document)

    if message is None:  # an explicit null for an optional field is simply "not given"
        assert parse_chain_json(text).snapshot.dividend_yield is None
        return
    with pytest.raises(ChainInputError) as raised:
        parse_chain_json(text, source="chain.json")

    assert message in str(raised.value)
    assert "pydantic" not in str(raised.value)


# Snapshots the model accepts, for the round trip.
@st.composite
def _quotes(draw: st.DrawFn) -> OptionQuote:
    prices = st.floats(0, 1e4)
    bid = draw(prices)
    counts = st.none() | st.integers(0, 10**7)
    return OptionQuote(
        expiry=draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))),
        strike=draw(st.floats(0.01, 1e5)),
        right=draw(st.sampled_from(Right)),
        bid=bid,
        ask=draw(st.floats(bid, 1e4)),
        bid_size=draw(counts),
        ask_size=draw(counts),
        volume=draw(counts),
        open_interest=draw(counts),
        last=draw(st.none() | prices),
        root=draw(st.none() | st.sampled_from(["SPY", "SPX", "SPXW"])),
    )


_ZONES = st.sampled_from([UTC, NEW_YORK, timezone(timedelta(hours=5, minutes=30))])
_snapshots = st.builds(
    ChainSnapshot,
    underlying=st.sampled_from(["SPY", "SPX"]),
    timestamp=st.datetimes(
        datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=_ZONES, allow_imaginary=False
    ),
    spot=st.floats(0.01, 1e6),
    rate=st.none() | st.floats(-0.05, 0.5),
    dividend_yield=st.none() | st.floats(-0.05, 0.5),
    quotes=st.lists(_quotes(), min_size=1, max_size=6, unique_by=lambda q: q.contract_key).map(
        tuple
    ),
)


@given(_snapshots)
def test_chain_to_json_round_trips(snapshot: ChainSnapshot):
    loaded = parse_chain_json(chain_to_json(snapshot))

    assert loaded.excluded == ()
    # Compared as instants: the zone comes back as a fixed offset (and an aware datetime in
    # New York's repeated hour never equals one in another zone, by PEP 495).
    assert loaded.snapshot.timestamp.astimezone(UTC) == snapshot.timestamp.astimezone(UTC)
    assert loaded.snapshot.model_copy(update={"timestamp": snapshot.timestamp}) == snapshot


def _parsed_or_rejected(parse, text: str) -> LoadedChain | None:
    """Parse, allowing only ChainInputError: anything else fails the test."""
    try:
        return parse(text)
    except ChainInputError:
        return None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_tricky_values = st.sampled_from(
    [None, True, 0, -1, -0.0, 10**400, 1e308, math.nan, -math.inf, "", "C", "2026-03-09", [], {}]
)


@given(st.one_of(_json_values, st.text()))
def test_json_fuzz_arbitrary_input_only_raises_chain_input_error(value: object):
    text = value if isinstance(value, str) else json.dumps(value)
    _parsed_or_rejected(parse_chain_json, text)


@given(st.data())
@settings(max_examples=300)
def test_json_fuzz_mutated_documents_only_raise_chain_input_error(data: st.DataObject):
    document = _document()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        quotes = document.get("quotes")
        quotes = quotes if isinstance(quotes, list) else []
        targets = [document, *(quote for quote in quotes if isinstance(quote, dict))]
        target = data.draw(st.sampled_from(targets), label="target")
        key = data.draw(st.sampled_from([*target, "extra"]), label="key")
        if data.draw(st.booleans(), label="delete"):
            target.pop(key, None)
        else:
            target[key] = data.draw(_tricky_values | _json_values, label="value")

    loaded = _parsed_or_rejected(parse_chain_json, json.dumps(document))

    if loaded is not None:  # every quote is either kept or accounted for
        assert len(loaded.snapshot.quotes) + len(loaded.excluded) == len(document["quotes"])


# --- Cboe CSV (synthetic; invented numbers) ---------------------------------------------------

_CSV_HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)
_EXPIRY = date(2026, 3, 20)


def _csv_side(symbol: str, changes: dict[str, str] | None) -> list[str]:
    side = {"symbol": symbol, "last": "1.25", "net": "0.05", "bid": "1.20", "ask": "1.30"}
    side |= {"volume": "7", "iv": "0.21", "delta": "0.48", "gamma": "0.03", "open_interest": "40"}
    return list((side | (changes or {})).values())


def _csv_row(
    strike: float = 100.0,
    root: str = "ABC",
    expiry: date = _EXPIRY,
    call: dict[str, str] | None = None,
    put: dict[str, str] | None = None,
) -> str:
    def symbol(right: str) -> str:
        return f"{root}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"

    return ",".join(
        [
            f"{expiry:%a %b %d %Y}",
            *_csv_side(symbol("C"), call),
            f"{strike:.2f}",
            *_csv_side(symbol("P"), put),
        ]
    )


def _csv(
    *rows: str,
    last: str = "100.50",
    bid: str = "100.49",
    ask: str = "100.51",
    when: str = "March 6, 2026 at 3:45 PM EST",
    header: str = _CSV_HEADER,
) -> str:
    """Line 1 blank (as Cboe writes it), 2 name, 3 date, 4 header, rows from line 5."""
    rows = rows or (_csv_row(99.0), _csv_row(100.0))
    preamble = [
        "",
        f"Invented Fund,Last: {last},Change:  0.25",
        f'"Date: {when}",Bid: {bid},Ask: {ask},Size: 3*4,"Volume: 1,234"',
        header,
    ]
    return "\n".join([*preamble, *rows]) + "\n"


def test_csv_reads_both_sides_of_every_row():
    loaded = parse_cboe_csv(_csv())

    snapshot = loaded.snapshot
    assert loaded.excluded == ()
    assert snapshot.underlying == "ABC"
    assert snapshot.timestamp == datetime(2026, 3, 6, 15, 45, tzinfo=NEW_YORK)
    assert snapshot.timestamp.utcoffset() == timedelta(hours=-5)
    assert snapshot.spot == pytest.approx(100.50)  # the mid: a 0.02 % wide market
    assert [(q.strike, q.right) for q in snapshot.quotes] == [
        (99.0, Right.CALL),
        (99.0, Right.PUT),
        (100.0, Right.CALL),
        (100.0, Right.PUT),
    ]
    assert snapshot.quotes[0] == OptionQuote(
        expiry=_EXPIRY,
        strike=99.0,
        right=Right.CALL,
        bid=1.20,
        ask=1.30,
        volume=7,
        open_interest=40,
        last=1.25,
        root="ABC",
    )


def test_csv_summer_time_and_last_sale_zero():
    loaded = parse_cboe_csv(_csv(_csv_row(call={"last": "0"}), when="July 1, 2026 at 4:31 PM EDT"))

    assert loaded.snapshot.timestamp == datetime(2026, 7, 1, 16, 31, tzinfo=NEW_YORK)
    assert loaded.snapshot.timestamp.utcoffset() == timedelta(hours=-4)
    # Cboe writes Last Sale 0 for "no trade", which is not a price.
    assert [q.last for q in loaded.snapshot.quotes] == [None, 1.25]


@pytest.mark.parametrize(
    ("bid", "ask", "last", "spot"),
    [
        ("100.49", "100.51", "100.70", 100.50),  # 0.02 % wide: the mid
        ("99.00", "102.00", "100.70", 100.70),  # 3 % wide (an index page): Last
        ("0", "100.51", "100.70", 100.70),  # one-sided: Last
        ("100.51", "100.49", "100.70", 100.70),  # crossed: Last
    ],
)
def test_csv_spot_is_the_mid_only_when_the_market_is_tight(bid, ask, last, spot):
    loaded = parse_cboe_csv(_csv(bid=bid, ask=ask, last=last))

    assert loaded.snapshot.spot == pytest.approx(spot)


def test_csv_weekly_root_maps_to_its_index_and_keeps_the_root():
    rows = (_csv_row(root="SPX"), _csv_row(root="SPXW"))

    loaded = parse_cboe_csv(_csv(*rows))

    # Same expiry, strike and right under two roots: different contracts, all kept.
    assert loaded.excluded == ()
    assert loaded.snapshot.underlying == "SPX"
    assert [q.root for q in loaded.snapshot.quotes] == ["SPX", "SPX", "SPXW", "SPXW"]


@pytest.mark.parametrize(
    ("call", "put", "where", "reason"),
    [
        ({"bid": "1.2x"}, {}, "line 6 calls", "invalid value: Bid '1.2x' is not a valid number"),
        ({"ask": "nan"}, {}, "line 6 calls", "invalid value: Ask 'nan' is not a valid number"),
        ({}, {"volume": "7.5"}, "line 6 puts", "invalid value: Volume '7.5'"),
        ({}, {"open_interest": ""}, "line 6 puts", "invalid value: Open Interest ''"),
        ({}, {"last": "-"}, "line 6 puts", "invalid value: Last Sale '-'"),
        ({}, {"bid": "1.40"}, "line 6 puts", "crossed quote: bid 1.4 is above ask 1.3"),
        ({"bid": "0", "ask": "-0.05"}, {}, "line 6 calls", "out of range: ask: "),
        ({"bid": "0", "ask": "0"}, {}, "line 6 calls", "no quote: bid and ask are both 0"),
        (
            {"symbol": "ABC260320P00100000"},
            {},
            "line 6 calls",
            "invalid value: symbol 'ABC260320P00100000' does not match the row",
        ),
        ({}, {"symbol": "ABC260320P00101000"}, "line 6 puts", "invalid value: symbol"),
        ({}, {"symbol": "ABC260321P00100000"}, "line 6 puts", "invalid value: symbol"),
    ],
)
def test_csv_bad_side_is_excluded_and_the_other_side_kept(call, put, where, reason):
    loaded = parse_cboe_csv(_csv(_csv_row(99.0), _csv_row(100.0, call=call, put=put)))

    (exclusion,) = loaded.excluded
    assert exclusion.where == where
    assert exclusion.reason.startswith(reason)
    assert len(loaded.snapshot.quotes) == 3
    kept_side = Right.PUT if where.endswith("calls") else Right.CALL
    assert (100.0, kept_side) in {(q.strike, q.right) for q in loaded.snapshot.quotes}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Fri Mar 20 2026,ABC260320C00100000,1.25", "malformed row: expected 22 fields, got 3"),
        (_csv_row() + ",", "malformed row: expected 22 fields, got 23"),
        (_csv_row().replace("Fri Mar 20 2026", "Someday"), "invalid value: Expiration Date"),
        (_csv_row().replace("100.00", "1OO"), "invalid value: Strike '1OO' is not a valid"),
    ],
)
def test_csv_bad_row_is_excluded_whole(row: str, reason: str):
    loaded = parse_cboe_csv(_csv(_csv_row(99.0), row))

    assert [(e.where, e.reason.startswith(reason)) for e in loaded.excluded] == [("line 6", True)]
    assert len(loaded.snapshot.quotes) == 2


def test_csv_duplicate_rows_exclude_every_copy():
    loaded = parse_cboe_csv(_csv(_csv_row(99.0), _csv_row(100.0), _csv_row(100.0)))

    assert [e.where for e in loaded.excluded] == [
        "line 6 calls",
        "line 6 puts",
        "line 7 calls",
        "line 7 puts",
    ]
    assert loaded.excluded[0].reason == (
        "duplicate contract: 2026-03-20 100C (ABC) also at line 7 calls"
    )
    assert loaded.exclusion_counts() == {"duplicate contract": 4}
    assert {q.strike for q in loaded.snapshot.quotes} == {99.0}


def test_csv_counts_categories_together():
    rows = (
        _csv_row(98.0, call={"bid": "0", "ask": "0"}, put={"bid": "0", "ask": "0"}),
        _csv_row(99.0, call={"bid": "2.00"}),
        _csv_row(100.0),
    )

    loaded = parse_cboe_csv(_csv(*rows))

    assert loaded.exclusion_counts() == {"no quote": 2, "crossed quote": 1}
    assert len(loaded.snapshot.quotes) == 3


_BAD_CSVS = {
    "empty": ("", "f.csv: line 1: not a Cboe quotedata file: expected 3 preamble lines"),
    "JSON": (json.dumps(_document()), "f.csv: line 1: not a Cboe quotedata file"),
    "no preamble": (
        "\n".join([_CSV_HEADER, _csv_row(), _csv_row(101.0), _csv_row(102.0)]),
        "f.csv: line 1: not a Cboe quotedata preamble: expected 'Last: <number>' in field 2",
    ),
    "other header": (
        _csv(header=_CSV_HEADER.replace("Strike", "Strike Price")),
        "f.csv: line 4: expected the Cboe column header",
    ),
    "bad date": (
        _csv(when="14/09/2023 16:31"),
        "f.csv: line 3: expected 'Date: September 14, 2023 at 4:31 PM EDT'",
    ),
    "zone": (_csv(when="March 6, 2026 at 3:45 PM PST"), "f.csv: line 3: unknown time zone 'PST'"),
    "offset zone": (
        _csv(when="March 6, 2026 at 3:45 PM GMT+15"),
        "f.csv: line 3: time zone offset +15 is out of range",
    ),
    "hour": (_csv(when="March 6, 2026 at 13:45 PM EST"), "f.csv: line 3: expected 'Date: "),
    "wrong DST": (
        _csv(when="March 6, 2026 at 3:45 PM EDT"),
        "f.csv: line 3: EDT is wrong for New York on March 06, 2026",
    ),
    "bad bid": (_csv(bid="n/a"), "f.csv: line 3: Bid: 'n/a' is not a price"),
    "no spot": (
        _csv(_csv_row(99.0), last="0", bid="0", ask="0"),
        "f.csv: line 2: no spot: Last is 0 and Bid/Ask give no usable mid: missing or zero",
    ),
    "no rows": (_csv("\n"), "f.csv: line 4: no option rows after the header"),
    "no quotes": (
        _csv(_csv_row(call={"bid": "0", "ask": "0"}, put={"bid": "0", "ask": "0"})),
        "f.csv: no valid quotes: 2 excluded (no quote: 2); first: line 5 calls: no quote",
    ),
    "two underlyings": (
        _csv(_csv_row(root="ABC"), _csv_row(root="XYZ")),
        "f.csv: option roots of several underlyings: ['ABC', 'XYZ']",
    ),
}


@pytest.mark.parametrize(("text", "message"), _BAD_CSVS.values(), ids=_BAD_CSVS)
def test_csv_not_in_the_format_is_rejected_naming_the_line(text: str, message: str):
    with pytest.raises(ChainInputError) as raised:
        parse_cboe_csv(text, source="f.csv")

    assert str(raised.value).startswith(message)


@given(st.data())
@settings(max_examples=300)
def test_csv_fuzz_mutated_cells_only_raise_chain_input_error(data: st.DataObject):
    lines = _csv().split("\n")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        index = data.draw(st.integers(0, len(lines) - 1), label="line")
        cells = lines[index].split(",")
        cell = data.draw(st.integers(0, len(cells) - 1), label="cell")
        cells[cell] = data.draw(st.text(max_size=12), label="value")
        lines[index] = ",".join(cells)

    _parsed_or_rejected(parse_cboe_csv, "\n".join(lines))


@given(st.text())
def test_csv_fuzz_arbitrary_text_only_raises_chain_input_error(text: str):
    _parsed_or_rejected(parse_cboe_csv, text)


# --- load_chain -------------------------------------------------------------------------------


def test_load_chain_dispatches_on_the_extension(tmp_path: Path):
    csv_path = tmp_path / "chain.CSV"
    csv_path.write_text(_csv(), encoding="utf-8-sig")  # Excel-style byte order mark
    json_path = tmp_path / "chain.json"

    from_csv = load_chain(csv_path)
    json_path.write_text(chain_to_json(from_csv.snapshot))

    assert load_chain(str(json_path)) == LoadedChain(from_csv.snapshot, ())


def test_load_chain_names_the_file_in_errors(tmp_path: Path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_document(timestamp="2026-03-09 14:30")))

    with pytest.raises(ChainInputError, match=re.escape(f"{path}: timestamp: needs a UTC offset")):
        load_chain(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("chain.txt", b"{}", "unsupported extension '.txt'; expected .csv"),
        ("chain", b"{}", "unsupported extension '(none)'"),
        ("chain.csv", b"\xff\xfe\x00binary", "not UTF-8 text (byte 0)"),
        ("missing.json", None, "cannot read: No such file or directory"),
    ],
)
def test_load_chain_unusable_files(tmp_path: Path, name: str, content: bytes | None, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(ChainInputError, match=re.escape(f"{path}: {message}")):
        load_chain(path)


# --- real Cboe files (read in place from ../shared/data; never copied) ------------------------


def _expiries(snapshot: ChainSnapshot, root: str | None = None) -> set[date]:
    return {q.expiry for q in snapshot.quotes if root is None or q.root == root}


def test_real_spy_chain(real_chain_path):
    loaded = load_chain(real_chain_path("cboe_spy_2023-09-14_1631ET.csv"))

    snapshot = loaded.snapshot
    assert snapshot.underlying == "SPY"
    assert snapshot.timestamp == datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)
    assert snapshot.timestamp.utcoffset() == timedelta(hours=-4)
    # Bid 450.81 / Ask 450.83 is 0.004 % wide, so the spot is the mid, not Last (450.81).
    assert snapshot.spot == pytest.approx(450.82)
    assert len(_expiries(snapshot)) == 31
    # 3,646 rows of call + put, every side quoted (788 sides with bid 0 but an ask: kept),
    # nothing crossed or malformed: 7,292 quotes and no exclusions.
    assert len(snapshot.quotes) == 7_292
    assert loaded.excluded == ()
    assert sum(q.bid == 0 for q in snapshot.quotes) == 788
    assert {q.root for q in snapshot.quotes} == {"SPY"}
    assert all(q.bid <= q.ask for q in snapshot.quotes)
    # The 0DTE expiry (expired at 16:00) is still here: the detector drops and reports it.
    assert min(_expiries(snapshot)) == date(2023, 9, 14)


def test_real_spx_chain(real_chain_path):
    loaded = load_chain(real_chain_path("cboe_spx_2023-09-14_1631ET.csv"))

    snapshot = loaded.snapshot
    assert snapshot.underlying == "SPX"
    assert snapshot.timestamp == datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)
    # The index "market" 4483.25 / 4526.27 is ~1 % wide, so the spot is Last.
    assert snapshot.spot == 4505.1001
    assert {q.root for q in snapshot.quotes} == {"SPX", "SPXW"}
    assert len(_expiries(snapshot)) == 53
    # AM-settled SPX monthlies and PM-settled SPXW share 6 expiry dates; root tells them apart.
    assert len(_expiries(snapshot, "SPX") & _expiries(snapshot, "SPXW")) == 6
    # 9,960 rows = 19,920 sides: 228 sides with bid and ask both 0 (far-dated, deep strikes)
    # and one call, Dec 19 2025 4200 on line 9928, quoted bid 0.1 / ask 0 (crossed).
    assert len(snapshot.quotes) == 19_691
    assert loaded.exclusion_counts() == {"no quote": 228, "crossed quote": 1}
    crossed = [e for e in loaded.excluded if e.category == "crossed quote"]
    assert crossed == [Exclusion("line 9928 calls", "crossed quote: bid 0.1 is above ask 0.0")]
    assert all(q.bid <= q.ask for q in snapshot.quotes)


_MONTH_NAMES = [datetime(2000, m, 1).strftime(f) for m in range(1, 13) for f in ("%B", "%b")]


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
    day_first=st.booleans(),
    short_month=st.booleans(),
    comma=st.booleans(),
    at=st.booleans(),
    twelve_hour=st.booleans(),
    zone=st.sampled_from(["NY", "ET", "GMT", "UTC"]),
    offset_minutes=st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 30),
)
def test_csv_date_line_reads_the_forms_cboe_has_written(
    moment, day_first, short_month, comma, at, twelve_hour, zone, offset_minutes
):
    """Day/month order, comma or none, "at" or none, full or short month, 12/24-hour clock,
    New York zone names or a GMT/UTC offset: every form reads back the same instant."""
    wall = moment.replace(second=0, microsecond=0)
    month = wall.strftime("%b" if short_month else "%B")
    date_text = f"{wall.day} {month} {wall.year}" if day_first else f"{month} {wall.day}"
    if not day_first:
        date_text += f"{',' if comma else ''} {wall.year}"
    clock = wall.strftime("%I:%M %p").lstrip("0") if twelve_hour else wall.strftime("%H:%M")
    if zone == "NY":
        aware = wall.replace(tzinfo=NEW_YORK)
        if aware.utcoffset() != aware.replace(fold=1).utcoffset():
            return  # the repeated hour is told apart by EDT/EST, tested separately
        suffix = aware.tzname()
    elif zone == "ET":
        aware = wall.replace(tzinfo=NEW_YORK)
        suffix = "ET"
    else:
        offset = timezone(timedelta(minutes=offset_minutes))
        aware = wall.replace(tzinfo=offset)
        hours, minutes = divmod(abs(offset_minutes), 60)
        sign = "-" if offset_minutes < 0 else "+"
        suffix = f"{zone}{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    when = f"{date_text}{',' if comma and day_first else ''} {'at ' if at else ''}{clock} {suffix}"
    loaded = parse_cboe_csv(_csv(when=when), "f.csv")
    assert loaded.snapshot.timestamp == aware
    assert loaded.snapshot.timestamp.utcoffset() == aware.utcoffset()


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            "19 September 2022, 8:29 PM GMT-4",
            datetime(2022, 9, 19, 20, 29, tzinfo=timezone(timedelta(hours=-4))),
        ),
        ("February 5 2022, 8:09 PM EST", datetime(2022, 2, 5, 20, 9, tzinfo=NEW_YORK)),
        ("September 14, 2023 at 4:31 PM EDT", datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)),
    ],
)
def test_csv_date_line_forms_seen_in_public_files(when, expected):
    assert parse_cboe_csv(_csv(when=when), "f.csv").snapshot.timestamp == expected


def test_csv_without_a_spot_uses_the_parity_implied_spot_and_says_so():
    rows = [_csv_row(float(k)) for k in (98, 99, 100, 101, 102)]
    loaded = parse_cboe_csv(_csv(*rows, last="0", bid="0", ask="0"), "f.csv")
    (warning,) = loaded.warnings
    assert warning["kind"] == "spot_missing"
    # Calls and puts of _csv_row are priced alike: parity puts the forward at each strike.
    assert loaded.snapshot.spot == pytest.approx(warning["implied"], abs=1e-3)
    assert 97.0 < loaded.snapshot.spot < 103.0


@pytest.mark.parametrize("spot", ["missing", 0, 0.0, None])
def test_json_without_a_spot_uses_the_parity_implied_spot_and_says_so(spot):
    quotes = [_quote(strike=k, right=r) for k in (588.0, 589.0, 590.0) for r in ("C", "P")]
    document = _document(quotes) if spot == "missing" else _document(quotes, spot=spot)
    if spot == "missing":
        document = _without(document, "spot")
    loaded = parse_chain_json(json.dumps(document))
    (warning,) = loaded.warnings
    assert warning["kind"] == "spot_missing"
    # Calls and puts at one price: parity puts the forward at the strike itself.
    assert loaded.snapshot.spot == pytest.approx(589.0, abs=1.0)
