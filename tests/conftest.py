"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Real Cboe snapshots live in ../shared/data beside the checkout; they are not
    redistributable, so they are never copied into the repository."""
    return Path(os.environ.get("SPY_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def real_chain_path():
    """Path to a real Cboe file by name; skips (with the reason) where shared data is absent."""

    def find(name: str) -> Path:
        path = shared_data_dir() / name
        if not path.is_file():
            pytest.skip(
                f"real chain {name} not found under {shared_data_dir()} (set SPY_SHARED_DATA)"
            )
        return path

    return find
