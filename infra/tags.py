"""The tag policy: every Azure resource carries the same four tags, applied in one place.

A stack transformation runs in the program itself (not in the engine), so it applies under
`pulumi up` and under the test mocks alike. It merges the policy tags into every azure-native
resource that accepts `tags`; a tag the resource sets itself wins only for other keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi


class TagKey(StrEnum):
    PROJECT = "project"
    ENVIRONMENT = "environment"
    OWNER = "owner"
    COST_CENTER = "cost-center"


def policy_tags(project: str, environment: str, owner: str, cost_center: str) -> dict[str, str]:
    return {
        TagKey.PROJECT: project,
        TagKey.ENVIRONMENT: environment,
        TagKey.OWNER: owner,
        TagKey.COST_CENTER: cost_center,
    }


def tag_transformation(tags: Mapping[str, str]) -> pulumi.ResourceTransformation:
    """A transformation adding `tags` to every taggable azure-native resource."""
    policy = {str(k): v for k, v in tags.items()}

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        if not args.type_.startswith("azure-native:") or "tags" not in args.props:
            return None
        own = args.props.get("tags") or {}
        props = dict(args.props)
        props["tags"] = pulumi.Output.from_input(own).apply(lambda t: {**(t or {}), **policy})
        return pulumi.ResourceTransformationResult(props=props, opts=args.opts)

    return transform


def apply_tag_policy(tags: Mapping[str, str]) -> None:
    """Register the policy for every resource declared after this call in the stack."""
    pulumi.runtime.register_stack_transformation(tag_transformation(tags))
