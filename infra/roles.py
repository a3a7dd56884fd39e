"""Azure built-in roles the platform grants, and one helper that grants them."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

# Built-in role definition ids (Azure RBAC built-in roles, Microsoft Learn).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
# Serverless REST calls (:send, :generateToken) with an Entra token; App Server is for
# server connections in Default mode.
SIGNALR_REST_API_OWNER = "fd53cd77-2268-407a-8f46-7e7863d0f521"


def grant(
    name: str,
    *,
    role: str,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    principal_type: authorization.PrincipalType | None,
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Assign a built-in role; azure-native names the assignment with a fresh GUID."""
    definition = pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        role,
    )
    return authorization.RoleAssignment(
        name,
        scope=scope,
        role_definition_id=definition,
        principal_id=principal_id,
        principal_type=principal_type,
        opts=pulumi.ResourceOptions(parent=parent),
    )
