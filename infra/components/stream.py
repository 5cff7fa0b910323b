"""The Kinesis Data Stream, sized from the definition, encrypted with the AWS managed `aws/kinesis`
key: no per-consumer KMS costs or key grants, and what cdk-nag (KDS3) recommends."""

from __future__ import annotations

from aws_cdk import Duration, aws_kinesis as kinesis
from constructs import Construct

from infra.components import lifetime
from vigia_core.config import Pipeline


def build(scope: Construct, p: Pipeline) -> kinesis.Stream:
    on_demand = p.stream.mode == "on_demand"
    return kinesis.Stream(
        scope, "Stream",
        stream_name=p.stream.name,
        stream_mode=kinesis.StreamMode.ON_DEMAND if on_demand else kinesis.StreamMode.PROVISIONED,
        shard_count=None if on_demand else p.stream.shard_count,
        retention_period=Duration.hours(p.stream.retention_hours),
        encryption=kinesis.StreamEncryption.MANAGED,
        removal_policy=lifetime.removal(p),
    )
