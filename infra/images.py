"""Container images: one `pulumi_docker_build.Image` per deployable app, pushed to ACR.

Each image is tagged with a hash of exactly the files its build copies (its content), so an
unchanged app keeps its tag and a changed one gets a new tag that App Service / k3s roll to;
the stack's `images.channel` adds a moving tag for people. The push uses the Docker
credentials of the machine running `pulumi up` (`az acr login`), because the registry's admin
user is off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build

REPO_ROOT = Path(__file__).resolve().parents[1]
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "build"}
# Local build products (compiled extensions, setuptools metadata), which the build context
# leaves out (apps/Dockerfile.dockerignore) and the image builds afresh.
_SKIP_SUFFIXES = {".pyc", ".so", ".egg-info"}
# What the build copies (`COPY pyproject.toml uv.lock` and `COPY apps`): all of it counts,
# or a change to one app (apps/backend was once missing here) would keep its old tag.
_WORKSPACE = ("pyproject.toml", "uv.lock", "apps")


# One Dockerfile (and `<Dockerfile>.dockerignore`): a shared build and runtime, a target per app.
DOCKERFILE = "apps/Dockerfile"


@dataclass(frozen=True)
class AppImage:
    """A deployable: its target in `dockerfile` (named like the image), the workspace package
    it installs (the PACKAGE build argument), and the files the build copies."""

    name: str
    package: str
    inputs: tuple[str, ...] = _WORKSPACE
    dockerfile: str = DOCKERFILE


APP_IMAGES = (
    AppImage("backend", "spy-backend"),
    AppImage("marketdata", "spy-platform"),
    AppImage("gateway-sim", "spy-platform"),
    AppImage("trader", "spy-platform"),
)


def content_hash(root: Path, inputs: tuple[str, ...], dockerfile: str) -> str:
    """sha256 over the relative paths and bytes of every input file, in a stable order."""
    digest = hashlib.sha256()
    files: set[Path] = set()
    for entry in (*inputs, dockerfile, f"{dockerfile}.dockerignore"):
        path = root / entry
        if path.is_file():
            files.add(path)
        elif path.is_dir():
            files.update(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not _SKIP_PARTS & set(p.parts)
                and not any(Path(part).suffix in _SKIP_SUFFIXES for part in p.parts)
            )
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ImagesArgs:
    login_server: pulumi.Input[str]
    channel: str
    platform: str
    apps: tuple[AppImage, ...] = APP_IMAGES
    root: Path = REPO_ROOT


class Images(pulumi.ComponentResource):
    """`refs[name]` is the content-tagged reference (`<registry>/<name>:<hash>`) to deploy."""

    images: dict[str, docker_build.Image]
    refs: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ImagesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:images:Images", name, None, opts)
        self.images, self.refs = {}, {}
        for app in args.apps:
            tag = content_hash(args.root, app.inputs, app.dockerfile)
            repo = pulumi.Output.concat(args.login_server, "/", app.name)
            ref = pulumi.Output.concat(repo, ":", tag)
            self.images[app.name] = docker_build.Image(
                f"{name}-{app.name}",
                context=docker_build.BuildContextArgs(location=str(args.root)),
                dockerfile=docker_build.DockerfileArgs(location=str(args.root / app.dockerfile)),
                target=app.name,
                build_args={"PACKAGE": app.package},
                platforms=[docker_build.Platform(args.platform)],
                tags=[ref, pulumi.Output.concat(repo, ":", args.channel)],
                push=True,
                build_on_preview=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.refs[app.name] = ref
        self.register_outputs({"refs": self.refs})
