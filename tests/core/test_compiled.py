"""The kernels' compile policy: cached where a cache folder can be written, compiled per
process (with a warning) where none can, as in a read-only container image."""

from __future__ import annotations

import logging

from numba.core import caching

from spy_core.compiled import kernel


def _triple(x: float) -> float:
    return 3.0 * x


def test_a_kernel_is_cached_on_disk_where_it_can_be():
    compiled = kernel(_triple)
    assert compiled(2.0) == 6.0
    assert not isinstance(compiled._cache, caching.NullCache)


def test_without_a_writable_cache_folder_kernels_still_compile(monkeypatch, caplog):
    def read_only(self) -> None:
        raise PermissionError(13, "Read-only file system", self.get_cache_path())

    # What numba meets in a read-only image: every cache folder fails its write test.
    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", read_only)
    with caplog.at_level(logging.WARNING, logger="spy_core.compiled"):
        compiled = kernel(error_model="numpy")(_triple)
    assert compiled(2.0) == 6.0
    assert isinstance(compiled._cache, caching.NullCache)
    assert "numba cache unavailable" in caplog.text


def test_options_reach_numba():
    assert kernel(error_model="numpy")(lambda x: 1.0 / x)(0.0) == float("inf")
