"""Images: one per app, content-tagged, from hadolint-clean multi-stage non-root Dockerfiles."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.images import APP_IMAGES, REPO_ROOT, content_hash

HADOLINT = Path(sys.executable).with_name("hadolint")


def _stages(text: str) -> dict[str, tuple[str, str]]:
    """Each named stage of a Dockerfile: (the image or stage it starts from, its lines)."""
    stages = {}
    for block in re.split(r"^(?=FROM )", text, flags=re.M):
        header = re.match(r"FROM (\S+)(?: AS (\S+))?", block)
        if header and header.group(2):
            stages[header.group(2)] = (header.group(1), block)
    return stages


@pytest.mark.parametrize("app", APP_IMAGES, ids=lambda a: a.name)
def test_dockerfile_is_multi_stage_non_root_with_healthcheck(app):
    text = (REPO_ROOT / app.dockerfile).read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    stages = _stages(text)
    chain, stage = [], app.name  # the app's target, then the stages it is built on
    while stage in stages:
        chain.append(stages[stage][1])
        stage = stages[stage][0]
    assert chain, f"no target {app.name} in {app.dockerfile}"
    users = [u for block in chain for u in re.findall(r"^USER (\S+)", block, re.M)]
    assert users and users[0] not in ("root", "0")  # the nearest USER is the one in effect
    assert re.search(r"^HEALTHCHECK .*CMD", chain[0], re.M | re.S)
    assert (REPO_ROOT / f"{app.dockerfile}.dockerignore").is_file()


@pytest.mark.skipif(not HADOLINT.exists() and not shutil.which("hadolint"), reason="no hadolint")
@pytest.mark.parametrize("dockerfile", sorted({a.dockerfile for a in APP_IMAGES}))
def test_dockerfile_is_hadolint_clean(dockerfile):
    binary = str(HADOLINT) if HADOLINT.exists() else shutil.which("hadolint")
    result = subprocess.run(
        [binary, str(REPO_ROOT / dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_image_per_app_tagged_by_content_and_channel(stack):
    images = {
        r.name: r.inputs
        for r in stack.of_type("docker-build:index:Image")
        if r.name.startswith("images-")  # not the data plane's copies of upstream images
    }
    assert set(images) == {f"images-{app.name}" for app in APP_IMAGES}
    login = stack.outputs["registryLoginServer"]
    for app in APP_IMAGES:
        inputs = images[f"images-{app.name}"]
        digest = content_hash(REPO_ROOT, app.inputs, app.dockerfile)
        assert inputs["tags"] == [
            f"{login}/{app.name}:{digest}",
            f"{login}/{app.name}:{stack.config.images.channel}",
        ]
        assert inputs["push"] is True
        assert inputs["dockerfile"]["location"].endswith(app.dockerfile)
        assert inputs["target"] == app.name
        assert inputs["buildArgs"] == {"PACKAGE": app.package}
    assert stack.outputs["images"]["backend"] == images["images-backend"]["tags"][0]


def test_content_hash_follows_the_files(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print(1)\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    first = content_hash(tmp_path, ("app",), "Dockerfile")
    (tmp_path / "app" / "__pycache__").mkdir()
    (tmp_path / "app" / "__pycache__" / "main.pyc").write_bytes(b"x")
    assert content_hash(tmp_path, ("app",), "Dockerfile") == first
    (tmp_path / "app" / "_native.cpython-311-x86_64-linux-gnu.so").write_bytes(b"x")
    (tmp_path / "app.egg-info").mkdir()
    (tmp_path / "app.egg-info" / "PKG-INFO").write_text("x")
    assert content_hash(tmp_path, ("app", "app.egg-info"), "Dockerfile") == first
    (tmp_path / "app" / "main.py").write_text("print(2)\n")
    assert content_hash(tmp_path, ("app",), "Dockerfile") != first


@pytest.mark.parametrize("app", APP_IMAGES, ids=lambda a: a.name)
def test_every_file_the_build_copies_is_in_the_tag(app):
    """The build copies pyproject.toml, uv.lock and apps/: each app's own sources must be
    among the hashed inputs, or a change to them would not roll a new image."""
    copied = re.findall(
        r"^COPY (?!--from)(.+) \S+$", (REPO_ROOT / app.dockerfile).read_text(), re.M
    )
    sources = {part for line in copied for part in line.split()}
    assert sources == {"pyproject.toml", "uv.lock", "apps"}
    for source in sources:
        assert any(source == i or source.startswith(f"{i}/") for i in app.inputs), source
