"""The offline preview of both stacks, pinned: the resource set (type + logical name) and the
monthly cost lines and total.

`preview_pinned.json` was recorded from `spy-platform preview` before the layering refactor
(issue 15), so any refactor of infra/ and stacks/ is proven to declare the same resources at
the same price. A deliberate change to the platform updates the file in the same commit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.conftest import STACKS, evaluated

PINNED = json.loads((Path(__file__).with_name("preview_pinned.json")).read_text())
COST_LINE = re.compile(r"^\s+(\d+\.\d\d)  (.+?)\s{2,}")


def preview_cost(stack: str, capsys) -> tuple[list[list], float]:
    """The cost lines (item, USD) and the total as `spy-platform preview` prints them."""
    from spy_platform.cli import main

    assert main(["preview", "--stack", stack]) == 0
    text = capsys.readouterr().out.split("estimated monthly cost", 1)[1]
    lines, total = [], None
    for line in text.splitlines()[1:]:
        if line.strip().endswith("  total"):
            total = float(line.split()[0])
            break
        match = COST_LINE.match(line)
        assert match, line
        lines.append([match.group(2), float(match.group(1))])
    return lines, total


@pytest.mark.parametrize("stack", STACKS)
def test_resource_set_is_pinned(stack):
    declared = sorted([r.type_token, r.name] for r in evaluated(stack).resources)
    assert declared == PINNED[stack]["resources"]


@pytest.mark.parametrize("stack", STACKS)
def test_monthly_cost_is_pinned(stack, capsys):
    lines, total = preview_cost(stack, capsys)
    assert total == PINNED[stack]["total_usd"]
    assert lines == PINNED[stack]["cost_lines"]
