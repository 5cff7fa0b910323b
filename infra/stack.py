"""The whole pipeline as one CloudFormation stack, every name and size from the definition."""

from __future__ import annotations

from aws_cdk import Stack, Tags
from constructs import Construct

from infra.artifacts import Artifacts
from infra.components import alerts, athena, firehose, flink, glue, keys, monitoring, producer, storage, stream
from infra.components.iam import suppress
from infra.naming import check_bucket_names
from vigia_core.config import Pipeline

# The singleton Lambda function CDK adds once per stack for all AwsCustomResource constructs
# (aws-cdk-lib custom-resources, AwsCustomResource: its fixed construct id).
AWS_CUSTOM_RESOURCE_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"


class VigiaStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, pipeline: Pipeline, artifacts: Artifacts, **kwargs) -> None:
        super().__init__(scope, cid, description=f"{pipeline.project}: real-time alerts and batch analytics", **kwargs)
        p = pipeline
        check_bucket_names(p)
        Tags.of(self).add("project", p.project)

        k = keys.build(self, p)
        buckets = storage.build(self, p)
        self.stream = stream.build(self, p)
        alerting = alerts.build(self, p, k.messaging)
        self.producer = producer.build(self, p, artifacts.producer_dir, self.stream, buckets.raw, buckets.artifacts)
        self.flink = flink.build(self, p, artifacts, self.stream, alerting.alert_topic, alerting.dead_letter_queue,
                                 buckets.raw)
        self.delivery = firehose.build(self, p, self.stream, buckets.raw)
        self.batch = glue.build(self, p, artifacts, buckets.raw, buckets.gold, buckets.artifacts, k.data)
        athena.build(self, p, buckets.athena_results, artifacts.queries())
        monitoring.build(self, p, stream=self.stream, producer=self.producer.function,
                         sources=producer.aws_sources(p), flink_app=self.flink.name,
                         delivery_stream=p.firehose.name, etl_job=p.glue.etl_job,
                         crawlers=[c.name for c in p.glue.crawlers], alert_topic=alerting.alert_topic,
                         dlq=alerting.dead_letter_queue, ops_topic=alerting.ops_topic)
        self.buckets = buckets
        # The one function CDK itself provides for every AwsCustomResource (starting Flink, writing
        # the deployed definition) is not ours to tune; a managed policy on any of our roles is flagged.
        suppress(self.node.find_child(AWS_CUSTOM_RESOURCE_FUNCTION), "AwsSolutions-IAM4",
                 "CDK's AwsCustomResource function uses the AWS managed Lambda basic execution policy.",
                 applies_to=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])

