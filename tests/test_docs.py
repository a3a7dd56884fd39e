"""The manual's relative links lead somewhere: every one in README.md, docs/*.md and
bench/README.md names a file or folder of the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:


def relative_links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    targets = (match.group(1) for match in _LINK.finditer(text))
    return [t for t in targets if not _EXTERNAL.match(t) and not t.startswith("#")]


def test_the_pages_exist_and_the_front_page_links_to_the_manual():
    assert (ROOT / "docs").is_dir()
    linked = {(ROOT / link.split("#")[0]).resolve() for link in relative_links(ROOT / "README.md")}
    assert set(ROOT.glob("docs/*.md")) <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = [
        link
        for link in relative_links(page)
        if not (page.parent / link.split("#")[0]).resolve().exists()
    ]
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_link_reader_sees_links_and_skips_code_and_external_ones(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "[a](docs/a.md) [b](https://example.com) [c](#top) [d](x.md#part)\n"
        "```\n[e](not/a/link.md)\n```\n"
    )
    assert relative_links(page) == ["docs/a.md", "x.md#part"]
