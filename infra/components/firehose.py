"""Firehose delivery stream: Kinesis stream -> raw bucket, JQ dynamic partitioning, error prefix,
compression, buffering and newline delimiter, all from the definition's `firehose` section.

No delivery-stream SSE: Firehose does not support it when the source is a Kinesis stream (the
data is encrypted in the stream with its KMS key and in S3 with SSE-S3).
"""

from __future__ import annotations

from aws_cdk import Aws, aws_iam as iam, aws_kinesis as kinesis, aws_kinesisfirehose as kfh, aws_logs as logs, aws_s3 as s3
from constructs import Construct

from firehose import definition
from firehose.definition import static_prefix
from infra.components import lifetime
from infra.components.iam import allow, log_group_arn, objects_under, suppress
from vigia_core.config import Pipeline

LOG_STREAM = "DestinationDelivery"


def destination(p: Pipeline, bucket_arn: str, role_arn: str, log_group: str, log_stream: str) -> dict:
    """ExtendedS3DestinationConfiguration: firehose.definition's (which the local delivery runs),
    with the deployed bucket and the delivery logs."""
    return {**definition.extended_s3_destination(p, role_arn), "BucketARN": bucket_arn,
            "CloudWatchLoggingOptions": {"Enabled": True, "LogGroupName": log_group, "LogStreamName": log_stream},
            "S3BackupMode": "Disabled"}


def build(scope: Construct, p: Pipeline, stream: kinesis.IStream, raw: s3.IBucket) -> kfh.CfnDeliveryStream:
    log_group_name = f"/aws/kinesisfirehose/{p.firehose.name}"
    log_group = lifetime.log_group(scope, "FirehoseLogs", log_group_name, p)
    log_stream = logs.LogStream(scope, "FirehoseLogStream", log_group=log_group, log_stream_name=LOG_STREAM,
                               removal_policy=lifetime.removal(p))
    role = iam.Role(scope, "FirehoseRole", assumed_by=iam.ServicePrincipal(
        "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": Aws.ACCOUNT_ID}}),
        description="Firehose: read the stream, write raw objects and error records")
    allow(role, ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator",
                 "kinesis:GetRecords", "kinesis:ListShards"], [stream.stream_arn])
    allow(role, ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], [raw.bucket_arn])
    prefixes = sorted({static_prefix(p.firehose.prefix), static_prefix(p.firehose.error_output_prefix)})
    allow(role, ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
          [raw.arn_for_objects(f"{prefix}*") for prefix in prefixes])
    allow(role, ["logs:PutLogEvents"], [f"{log_group_arn(log_group_name)}:log-stream:{LOG_STREAM}"])
    suppress(role, "AwsSolutions-IAM5",
             "Firehose creates objects under the raw and error prefixes with run-time names.",
             applies_to=[objects_under(raw, prefix) for prefix in prefixes])
    ds = kfh.CfnDeliveryStream(
        scope, "DeliveryStream",
        delivery_stream_name=p.firehose.name,
        delivery_stream_type="KinesisStreamAsSource",
        kinesis_stream_source_configuration=kfh.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
            kinesis_stream_arn=stream.stream_arn, role_arn=role.role_arn),
    )
    ds.add_property_override("ExtendedS3DestinationConfiguration",
                             destination(p, raw.bucket_arn, role.role_arn, log_group_name, LOG_STREAM))
    ds.node.add_dependency(log_stream)
    # Firehose validates its role when the delivery stream is created.
    ds.node.add_dependency(role.node.find_child("DefaultPolicy"))
    suppress(ds, "AwsSolutions-KDF1",
             "Delivery-stream SSE is not supported with a Kinesis stream as source; data is KMS-encrypted in the "
             "stream and SSE-S3-encrypted in the raw bucket.")
    return ds
