"""Small helpers for least-privilege policies and cdk-nag suppressions with reasons."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Aws, Stack, Validations, aws_iam as iam
from constructs import IConstruct


def allow(role: iam.IRole, actions: Sequence[str], resources: Sequence[str], **conditions) -> None:
    """Add one explicit statement (no wildcard actions, resources named by the caller)."""
    role.add_to_principal_policy(iam.PolicyStatement(
        actions=list(actions), resources=list(resources), conditions=conditions or None))


def log_group_arn(name: str) -> str:
    return f"arn:aws:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{name}"


def suppress(construct: IConstruct, rule: str, reason: str, applies_to: Sequence[str] | None = None) -> None:
    """Acknowledge a cdk-nag rule on `construct` and its children, for each finding in `applies_to`
    (e.g. `Resource::*`) or for the whole rule; the reason is mandatory."""
    ids = [f"{rule}[{finding}]" for finding in applies_to] if applies_to else [rule]
    Validations.of(construct).acknowledge(*[Acknowledgment(id=i, reason=reason) for i in ids])


def objects_under(bucket: IConstruct, prefix: str) -> str:
    """cdk-nag's name for the resource `<bucket ARN>/<prefix>*` (to suppress IAM5 for exactly it)."""
    return f"Resource::<{Stack.of(bucket).get_logical_id(bucket.node.default_child)}.Arn>/{prefix}*"
