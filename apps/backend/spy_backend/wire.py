"""Strict JSON at the edge, for request bodies and for stored rows read back.

Python's `json` takes `NaN`, `Infinity` and `1e999` (a float that overflows to infinity),
lone surrogate escapes (`"\\ud800"`, text no UTF-8 encoder accepts), and nesting deep
enough to raise RecursionError. None of that is JSON a producer of ours sends, and each
used to surface later as a 500 (or as a stored row every later read tripped over). Here:
- a body that is not UTF-8 JSON, or is nested deeper than the parser's recursion limit
  (about 1,000 levels; `MAX_DEPTH` when the document is walked): `BadJsonError` (400);
- a non-finite number or a string with a lone surrogate: one error per place, in pydantic's
  shape (`loc`, `type`, `msg`), so the API answers 422 naming the field.
`StrictJsonRoute` applies both before FastAPI validates the body against the route's model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

MAX_DEPTH = 32  # our deepest record is 6 levels; a handshake or hub message 3
MAX_ERRORS = 20  # errors an answer lists; one more counts the rest
# What every authenticated JSON write can answer besides its own responses (OpenAPI).
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "body is not JSON"},
    401: {"description": "missing or wrong token"},
}


class BadJsonError(ValueError):
    """Not JSON we read at all: the answer is 400 with this message."""


def loads(raw: bytes | str) -> Any:
    """Parse JSON text; non-finite numbers come back as floats for `problems` to name."""
    return parse(raw)[0]


def parse(raw: bytes | str) -> tuple[Any, bool]:
    """The document, and whether it may hold what `problems` finds: a non-finite number
    (seen by the parser's hooks) or a lone surrogate (only a `\\u` escape can make one in
    valid UTF-8). Most documents have neither, and need no walk (~60 % of validation)."""
    suspect = False

    def constant(name: str) -> float:
        nonlocal suspect
        suspect = True
        return float(name)

    def number(text: str) -> float:
        nonlocal suspect
        value = float(text)
        suspect = suspect or not math.isfinite(value)
        return value

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=constant, parse_float=number)
    except UnicodeDecodeError:
        raise BadJsonError("is not UTF-8 text") from None
    except RecursionError:
        raise BadJsonError(f"is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as problem:
        raise BadJsonError(
            f"is not JSON: {problem.msg} at line {problem.lineno} column {problem.colno}"
        ) from None
    except ValueError as problem:  # e.g. an integer over Python's 4,300-digit limit
        raise BadJsonError(f"is not JSON we read: {problem}") from None
    return value, suspect or "\\u" in text


def problems(value: Any, root: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Non-finite numbers and lone surrogates in a parsed document, by location (the first
    `MAX_ERRORS`, then one counting the rest); raises `BadJsonError` past `MAX_DEPTH`.
    Depth-first with one iterator per open container, so its memory is the depth, not the
    size (a stack of every element was 64 MB for a 1 MiB body of 400,000 numbers)."""
    found: list[dict[str, Any]] = []
    count = 0
    stack: list[tuple[tuple[str | int, ...], Iterator[tuple[Any, Any]]]] = []

    def visit(loc: tuple[str | int, ...], item: Any) -> None:
        nonlocal count
        problem = None
        if isinstance(item, float):
            if not math.isfinite(item):
                problem = ("finite_number", "Input should be a finite number")
        elif isinstance(item, str):
            if not _encodable(item):
                problem = ("string_unicode", "Input has a lone surrogate")
        elif isinstance(item, dict | list):
            if len(stack) >= MAX_DEPTH:
                raise BadJsonError(f"is nested deeper than {MAX_DEPTH} levels")
            stack.append((loc, iter(item.items() if isinstance(item, dict) else enumerate(item))))
        if problem is not None:
            count += 1
            if len(found) < MAX_ERRORS:
                found.append(_error(loc, *problem))

    visit(root, value)
    while stack:
        loc, children = stack[-1]
        for key, child in children:
            if isinstance(key, str) and not _encodable(key):
                visit(loc, "\ud800")  # counted as the lone surrogate it is, at its object
            else:
                visit((*loc, key), child)
            break
        else:
            stack.pop()
    if count > len(found):
        found.append(_error(root, "too_many_errors", f"and {count - len(found)} more"))
    return found


def checked(raw: bytes | str) -> Any:
    """`loads`, then raise `ValueError` on the first problem (for stored rows read back)."""
    value, suspect = parse(raw)
    if suspect and (found := problems(value)):
        raise ValueError(f"{found[0]['msg']} at {found[0]['loc']}")
    return value


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(loc: tuple[str | int, ...], kind: str, message: str) -> dict[str, Any]:
    # No "input": the offending value cannot be echoed as JSON (that was the 500).
    return {"type": kind, "loc": loc, "msg": message}


class StrictJsonRoute(APIRoute):
    """An APIRoute whose JSON body is read by `loads` and checked by `problems` first:
    400 for what is not JSON, 422 naming each non-finite number and lone surrogate; what
    passes is handed to FastAPI's own validation already parsed (no second parse)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            body = await request.body()
            if body:
                try:
                    value, suspect = parse(body)
                    found = problems(value, ("body",)) if suspect else []
                except BadJsonError as problem:
                    raise HTTPException(400, f"body {problem}") from None
                if found:
                    raise RequestValidationError(found)
                request._json = value  # Request.json()'s cache: FastAPI reads it from here
            return await handler(request)

        return strict


async def validation_failed(request: Request, problem: RequestValidationError) -> Response:
    """422 with the first `MAX_ERRORS` errors and a last one counting the rest, echoing
    scalar inputs only (`loc` names a list or object): a body of many bad items must not
    become an answer as big as itself, or many times bigger."""
    errors = list(problem.errors())
    shown = [
        {k: v for k, v in error.items() if k != "input" or not isinstance(v, list | dict)}
        for error in errors[:MAX_ERRORS]
    ]
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        shown.append({"type": "too_many_errors", "loc": ["body"], "msg": f"and {more} more"})
    return JSONResponse({"detail": jsonable_encoder(shown)}, status_code=422)
