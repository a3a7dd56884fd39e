"""TWS API socket framing: the byte layer under every message, and nothing above it.

After the client's `API\\0` greeting every message, in both directions, is a 4-byte
big-endian length followed by ASCII fields each terminated by NUL; the first field is the
message id. Kept apart from message layouts so it can be property-tested on its own.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable

GREETING = b"API\0"
# Real gateways cap messages far below this; a larger length means a broken stream.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")
_VERSION_RANGE = re.compile(r"v(\d+)\.\.(\d+)")
_SIGNIFICANT_DIGITS = 12  # enough for prices and greeks, no float noise like 0.30000000000000004


class FramingError(ValueError):
    """The byte stream cannot be split into messages (it cannot be resynchronised)."""


def format_field(value: object) -> str:
    """One field as the TWS protocol writes it: None → "", bools as 1/0, floats without
    exponent noise, infinities as "Infinite" (the protocol's spelling), NaN → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "Infinite" if value > 0 else "-Infinite"
        return format(value, f".{_SIGNIFICANT_DIGITS}g")
    return str(value)


def encode_message(fields: Iterable[object]) -> bytes:
    """A length-prefixed message; fields must not contain NUL."""
    texts = [format_field(field) for field in fields]
    if any("\0" in text for text in texts):
        raise ValueError("a field contains NUL, which is the field terminator")
    return frame("".join(text + "\0" for text in texts).encode("utf-8"))


def frame(payload: bytes) -> bytes:
    """Length-prefix a raw payload (also the client's version-range greeting)."""
    return _LENGTH.pack(len(payload)) + payload


class FrameDecoder:
    """Splits an incoming byte stream, arriving in arbitrary chunks, into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return the complete payloads now available, in order."""
        self._buffer.extend(data)
        payloads = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if length > MAX_MESSAGE_BYTES:
                raise FramingError(f"message length {length} exceeds {MAX_MESSAGE_BYTES}")
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            payloads.append(bytes(self._buffer[_LENGTH.size : end]))
            del self._buffer[:end]
        return payloads


def split_fields(payload: bytes) -> list[str]:
    """The NUL-terminated fields of one payload (a missing final NUL is tolerated)."""
    text = payload.decode("utf-8", errors="replace")
    fields = text.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


def parse_version_range(text: str) -> tuple[int, int]:
    """(min, max) client versions from the greeting payload, e.g. "v157..178 +PACEAPI"."""
    found = _VERSION_RANGE.match(text.strip())
    if found is None:
        raise FramingError(f"not a version range: {text!r}")
    low, high = int(found.group(1)), int(found.group(2))
    if low > high:
        raise FramingError(f"empty version range: {text!r}")
    return low, high
