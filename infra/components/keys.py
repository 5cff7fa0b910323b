"""Customer-managed KMS keys (rotation on).

- data key: Glue's encrypted job bookmarks and CloudWatch logs;
- messaging key: both SNS topics; its policy lets CloudWatch alarms and EventBridge publish.
Two keys so that services allowed to publish alarms can never decrypt Glue's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, aws_iam as iam, aws_kms as kms
from constructs import Construct

from infra.components import lifetime
from vigia_core.config import Pipeline


@dataclass(frozen=True)
class Keys:
    data: kms.Key
    messaging: kms.Key


def build(scope: Construct, p: Pipeline) -> Keys:
    removal = lifetime.removal(p)
    data = kms.Key(scope, "DataKey", alias=f"alias/{p.project}-data", enable_key_rotation=True,
                   description=f"{p.project}: Glue job bookmarks and logs", removal_policy=removal)
    # Glue writes its job and crawler logs encrypted with this key (security configuration).
    data.add_to_resource_policy(iam.PolicyStatement(
        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
        actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                 "kms:DescribeKey"],
        resources=["*"],  # in a key policy "*" means this key
        conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                f"arn:aws:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws-glue/*"}}))
    messaging = kms.Key(scope, "MessagingKey", alias=f"alias/{p.project}-messaging", enable_key_rotation=True,
                        description=f"{p.project}: SNS alert and operations topics", removal_policy=removal)
    messaging.add_to_resource_policy(iam.PolicyStatement(
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com"), iam.ServicePrincipal("events.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey"],
        resources=["*"],
        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}))
    return Keys(data=data, messaging=messaging)
