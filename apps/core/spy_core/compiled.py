"""How the numeric kernels are compiled: numba's nopython mode, cached on disk.

numba needs a writable cache folder even to read a cache (its locators test for it), and
with none it refuses to decorate the function at all. A read-only image without a writable
`NUMBA_CACHE_DIR` then compiles every kernel in each process (~7 s at start) instead of
failing to import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

_log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def kernel(function: F | None = None, /, **options: Any) -> Any:
    """`@kernel` or `@kernel(error_model="numpy", ...)`: numba.njit with the GIL released and
    the on-disk cache where one can be written."""

    def compile_(fn: F) -> F:
        try:
            return njit(cache=True, nogil=True, **options)(fn)
        except RuntimeError as problem:  # "cannot cache function ...: no locator available"
            _log.warning("numba cache unavailable (%s): compiling %s per process", problem, fn)
            return njit(cache=False, nogil=True, **options)(fn)

    return compile_ if function is None else compile_(function)
