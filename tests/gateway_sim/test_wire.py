"""Properties of the TWS framing, and a raw client showing bad input never kills a session."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spy_gateway_sim import Faults, wire

from .conftest import TIMEOUT, run, simulator, wait_until

field_text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))
messages = st.lists(st.lists(field_text, min_size=1, max_size=12), min_size=1, max_size=8)


@given(messages, st.lists(st.integers(1, 64), min_size=1, max_size=50))
def test_any_chunking_of_the_stream_gives_back_the_same_messages(batch, cuts):
    stream = b"".join(wire.encode_message(fields) for fields in batch)
    decoder = wire.FrameDecoder()
    decoded, position, index = [], 0, 0
    while position < len(stream):
        size = cuts[index % len(cuts)]
        decoded += decoder.feed(stream[position : position + size])
        position, index = position + size, index + 1
    assert [wire.split_fields(payload) for payload in decoded] == batch


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_survive_formatting_to_twelve_significant_digits(value):
    text = wire.format_field(value)
    assert math.isclose(float(text), value, rel_tol=1e-11, abs_tol=1e-300)


@given(st.integers(1, 500), st.integers(0, 500), st.sampled_from(["", " +PACEAPI"]))
def test_version_range_is_parsed_or_rejected(low, extra, options):
    assert wire.parse_version_range(f"v{low}..{low + extra}{options}") == (low, low + extra)


def test_special_fields():
    assert [wire.format_field(v) for v in (None, True, False, math.inf, math.nan, 7)] == [
        "",
        "1",
        "0",
        "Infinite",
        "",
        "7",
    ]


def test_impossible_length_is_a_framing_error():
    with pytest.raises(wire.FramingError):
        wire.FrameDecoder().feed(b"\xff\xff\xff\xff")


async def _read_message(reader: asyncio.StreamReader) -> list[str]:
    header = await reader.readexactly(4)
    payload = await reader.readexactly(int.from_bytes(header, "big"))
    return wire.split_fields(payload)


def test_unknown_and_malformed_requests_get_errors_and_keep_the_connection():
    async def body():
        async with simulator(speed=0) as sim:
            reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
            writer.write(wire.GREETING + wire.frame(b"v100..200"))
            assert (await _read_message(reader))[0] == "176"  # min(client max, 176)
            writer.write(wire.encode_message([71, 2, 9, ""]))
            assert (await _read_message(reader))[0] == "15"
            assert (await _read_message(reader))[0] == "9"
            bad_contract = [0, "SPY", "OPT", "20251030", "not-a-strike", "C", "100", "SMART", ""]
            writer.write(wire.encode_message([999, 1, 2]))  # unknown id: ignored
            writer.write(wire.encode_message([9, 8, 42, *bad_contract, "USD", "", "SPY"]))
            writer.write(wire.encode_message([49, 1]))
            error = await asyncio.wait_for(_read_message(reader), TIMEOUT)
            assert error[:4] == ["4", "2", "42", "320"]
            current = await asyncio.wait_for(_read_message(reader), TIMEOUT)
            assert current[0] == "49"
            writer.close()

    run(body())


def test_closed_connections_leave_no_tasks_behind_with_the_latency_fault():
    """The latency fault's delayed writer is cancelled with its connection, not left waiting
    on an empty queue for the life of the simulator."""

    async def body():
        async with simulator(speed=0, faults=Faults(latency=0.01)) as sim:
            baseline = len(asyncio.all_tasks())
            closed = []  # kept alive, so a leaked task cannot vanish with its session in a gc
            for client_id in range(1, 6):
                reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
                writer.write(wire.GREETING + wire.frame(b"v100..200"))
                await _read_message(reader)  # the handshake
                writer.write(wire.encode_message([71, 2, client_id, ""]))
                assert (await asyncio.wait_for(_read_message(reader), TIMEOUT))[0] == "15"
                closed += sim.sessions
                writer.close()
                await writer.wait_closed()
            await wait_until(lambda: not sim.sessions)
            await wait_until(lambda: len(asyncio.all_tasks()) <= baseline, timeout=5.0)

    run(body())
