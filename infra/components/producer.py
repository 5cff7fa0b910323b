"""The producer Lambda (Powertools logger/metrics/tracer), its EventBridge schedule and its role.

The handler polls the sources named in the schedule's input (`{"sources": [...]}`); by default
every source except the laptop-only simulator. None of the sources needs an API key, so the
function has no secret to read.

One run at a time: EventBridge invokes Lambda asynchronously, at least once, and a throttled
event is retried for up to 6 hours unless MaximumEventAgeInSeconds says otherwise (Lambda
developer guide, "Asynchronous invocation"; "Configuring reserved concurrency"). So the function
reserves `deploy.producer.reserved_concurrency` (1), keeps an event at most one schedule period
(the next run catches up from the cursor anyway) and does not retry; the cursor's conditional
writes cover what is left (producer/cursors.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import (Duration, aws_events as events, aws_events_targets as targets, aws_iam as iam,
                     aws_kinesis as kinesis, aws_lambda as lambda_, aws_s3 as s3)
from constructs import Construct

from infra.components import lifetime
from infra.components.iam import allow, objects_under, suppress
from infra.naming import BUCKET_SUFFIX_ENV, bucket_suffix
from vigia_core.config import Pipeline, rate_seconds

HANDLER = "producer.handler.handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12  # the same Python as the Flink 2.2 runtime; wheels built for it


@dataclass(frozen=True)
class Producer:
    function: lambda_.Function
    role: iam.Role
    schedule: events.Rule


def aws_sources(p: Pipeline) -> list[str]:
    if p.deploy.producer.sources is not None:
        return list(p.deploy.producer.sources)
    return [s.name for s in p.producer.sources if s.type != "simulator"]


def build(scope: Construct, p: Pipeline, code_dir: Path, stream: kinesis.IStream, raw: s3.IBucket,
          artifacts: s3.IBucket) -> Producer:
    name = f"{p.project}-producer"
    log_group = lifetime.log_group(scope, "ProducerLogs", f"/aws/lambda/{name}", p)
    role = iam.Role(scope, "ProducerRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description="Producer Lambda: poll APIs, write to the stream, rejects and cursors")
    # An event older than one period is superseded by the next scheduled run (60 s is Lambda's minimum).
    max_event_age = max(60, min(rate_seconds(p.producer.schedule) or 3600, 21600))
    fn = lambda_.Function(
        scope, "Producer",
        function_name=name,
        runtime=RUNTIME,
        handler=HANDLER,
        code=lambda_.Code.from_asset(str(code_dir)),
        role=role,
        memory_size=p.deploy.producer.memory_mib,
        timeout=Duration.seconds(p.deploy.producer.timeout_s),
        reserved_concurrent_executions=p.deploy.producer.reserved_concurrency,
        # No async retries: a retry could overlap the next scheduled run, which catches up anyway.
        retry_attempts=0,
        max_event_age=Duration.seconds(max_event_age),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        environment={
            BUCKET_SUFFIX_ENV: bucket_suffix(p),
            "POWERTOOLS_SERVICE_NAME": "producer",
        },
    )
    suppress(fn, "AwsSolutions-L1",
             "Python 3.12 on purpose: the same Python as the Flink 2.2 runtime, and package-producer builds the "
             "dependency wheels for 3.12; move both together.")
    allow(role, ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
          [stream.stream_arn])
    allow(role, ["s3:PutObject"], [raw.arn_for_objects(f"{p.producer.rejects_prefix}*")])
    allow(role, ["s3:GetObject", "s3:PutObject"], [artifacts.arn_for_objects(f"{p.producer.cursor_prefix}*")])
    # Without ListBucket a missing cursor reads as AccessDenied instead of NoSuchKey (first run).
    allow(role, ["s3:ListBucket"], [artifacts.bucket_arn],
          StringLike={"s3:prefix": [f"{p.producer.cursor_prefix}*"]})
    allow(role, ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn])
    allow(role, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"])
    rule = events.Rule(scope, "ProducerSchedule", schedule=events.Schedule.expression(p.producer.schedule),
                       description=f"Poll {', '.join(aws_sources(p))}")
    rule.add_target(targets.LambdaFunction(fn, event=events.RuleTargetInput.from_object({"sources": aws_sources(p)}),
                                           retry_attempts=0))  # the next scheduled run catches up from the cursor
    suppress(role, "AwsSolutions-IAM5",
             "Object keys under the rejects/cursor prefixes are created at run time; X-Ray trace APIs do not "
             "allow a narrower resource.",
             applies_to=[objects_under(raw, p.producer.rejects_prefix), objects_under(artifacts, p.producer.cursor_prefix),
                         "Resource::*"])
    return Producer(function=fn, role=role, schedule=rule)
