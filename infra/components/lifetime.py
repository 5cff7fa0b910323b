"""What `make destroy` removes: everything by default (deploy.retain_data: false), or keeps the
data-holding resources. Log groups follow the same rule, so a redeploy never trips over a
retained log group of the same name."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_logs as logs
from constructs import Construct

from vigia_core.config import Pipeline

# deploy.log_retention_days (validated to these values) -> CloudWatch Logs retention.
_RETENTION = {1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
              60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
              365: "ONE_YEAR"}


def removal(p: Pipeline) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if p.deploy.retain_data else RemovalPolicy.DESTROY


def log_group(scope: Construct, cid: str, name: str, p: Pipeline) -> logs.LogGroup:
    return logs.LogGroup(scope, cid, log_group_name=name, removal_policy=removal(p),
                         retention=logs.RetentionDays[_RETENTION[p.deploy.log_retention_days]])
