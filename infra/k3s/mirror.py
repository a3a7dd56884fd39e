"""Third-party images the cluster runs, copied into the stack's registry by `pulumi up`
(`FROM <upstream>` built and pushed by pulumi-docker-build), so every pod pulls from the one
registry the policy pack allows (k8s-image-origin) and an upstream re-push of a tag cannot
change what runs after the copy was made."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker_build as docker_build


@dataclass(frozen=True)
class Upstream:
    name: str  # repository name in the stack's registry
    image: str  # upstream reference, a fixed version tag

    @property
    def tag(self) -> str:
        return self.image.rsplit(":", 1)[1]


@dataclass(frozen=True)
class MirroredImagesArgs:
    login_server: pulumi.Input[str]
    platform: str
    upstreams: tuple[Upstream, ...]


class MirroredImages(pulumi.ComponentResource):
    """`refs[name]` is `<registry>/<name>:<upstream tag>`."""

    refs: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: MirroredImagesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:k3s:MirroredImages", name, None, opts)
        self.refs = {}
        for upstream in args.upstreams:
            ref = pulumi.Output.concat(args.login_server, f"/{upstream.name}:{upstream.tag}")
            docker_build.Image(
                f"{name}-{upstream.name}",
                dockerfile=docker_build.DockerfileArgs(inline=f"FROM {upstream.image}\n"),
                platforms=[docker_build.Platform(args.platform)],
                tags=[ref],
                push=True,
                build_on_preview=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.refs[upstream.name] = ref
        self.register_outputs({"refs": self.refs})
