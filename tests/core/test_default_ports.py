"""The default ports are named once in spy_core; the Dockerfile cannot import them, so this
checks that its backend and gateway-sim targets expose and listen on the same ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spy_core.default_ports import BACKEND_PORT, GATEWAY_PORT

DOCKERFILE = Path(__file__).resolve().parents[2] / "apps" / "Dockerfile"


def _stage(name: str) -> str:
    stages = re.split(r"^FROM \S+ AS (\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    return dict(zip(stages[1::2], stages[2::2], strict=True))[name]


@pytest.mark.parametrize(
    ("target", "port"), [("backend", BACKEND_PORT), ("gateway-sim", GATEWAY_PORT)]
)
def test_the_image_exposes_and_listens_on_the_default_port(target: str, port: int):
    stage = _stage(target)
    assert re.findall(r"^EXPOSE (\d+)$", stage, re.MULTILINE) == [str(port)]
    assert re.findall(r'"--port", "(\d+)"', stage) == [str(port)]
