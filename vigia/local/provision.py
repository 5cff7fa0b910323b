"""Create every resource of the pipeline definition on the local endpoint, idempotently.

Each step checks what exists first, so a second run reports everything as `exists` and creates
nothing. In AWS the same resources come from the CDK app (infra/).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from vigia.local import aws
from vigia_core.config import Pipeline


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # "created" | "exists"


def inbox_queue_name(p: Pipeline) -> str:
    """Local stand-in for the e-mail/SMS inboxes: an SQS queue subscribed to the alert topic."""
    return f"{p.alerts.topic}-inbox"


def topic_arn(p: Pipeline, name: str) -> str:
    return f"arn:aws:sns:{p.region}:{aws.ACCOUNT_ID}:{name}"


def stream_arn(p: Pipeline) -> str:
    return f"arn:aws:kinesis:{p.region}:{aws.ACCOUNT_ID}:stream/{p.stream.name}"


def provision(p: Pipeline, port: int | None = None) -> list[Change]:
    c = lambda svc: aws.client(svc, p.region, port)  # noqa: E731
    changes: list[Change] = []
    changes.append(_stream(c("kinesis"), p))
    s3 = c("s3")
    for bucket in (p.buckets.raw, p.buckets.gold, p.buckets.athena_results, p.buckets.artifacts):
        changes.append(_bucket(s3, bucket, p.region))
    sqs, sns = c("sqs"), c("sns")
    dlq_url, ch = _queue(sqs, p.alerts.dead_letter_queue)
    changes.append(ch)
    inbox_url, ch = _queue(sqs, inbox_queue_name(p))
    changes.append(ch)
    for topic in (p.alerts.topic, p.operations.topic):
        changes.append(_topic(sns, topic))
    alert_topic = topic_arn(p, p.alerts.topic)
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    changes.append(_subscription(sns, alert_topic, "sqs", inbox_arn))
    for sub in p.alerts.subscriptions:
        changes.append(_subscription(sns, alert_topic, sub.protocol, sub.endpoint))
    changes.append(_subscription(sns, topic_arn(p, p.operations.topic), "email", p.operations.email))
    changes.append(_glue_database(c("glue"), p.glue.database))
    return changes


def _stream(kinesis, p: Pipeline) -> Change:
    try:
        kinesis.describe_stream_summary(StreamName=p.stream.name)
        return Change("kinesis stream", p.stream.name, "exists")
    except kinesis.exceptions.ResourceNotFoundException:
        pass
    if p.stream.mode == "on_demand":
        kinesis.create_stream(StreamName=p.stream.name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        kinesis.create_stream(StreamName=p.stream.name, ShardCount=p.stream.shard_count)
    kinesis.get_waiter("stream_exists").wait(StreamName=p.stream.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return Change("kinesis stream", p.stream.name, "created")


def _bucket(s3, name: str, region: str) -> Change:
    try:
        s3.head_bucket(Bucket=name)
        return Change("s3 bucket", name, "exists")
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return Change("s3 bucket", name, "created")


def _queue(sqs, name: str) -> tuple[str, Change]:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"], Change("sqs queue", name, "exists")
    except ClientError as err:
        if "NonExistentQueue" not in err.response["Error"]["Code"]:
            raise
    return sqs.create_queue(QueueName=name)["QueueUrl"], Change("sqs queue", name, "created")


def _topic(sns, name: str) -> Change:
    existing = {t["TopicArn"].rsplit(":", 1)[1] for page in sns.get_paginator("list_topics").paginate()
                for t in page["Topics"]}
    if name in existing:
        return Change("sns topic", name, "exists")
    sns.create_topic(Name=name)
    return Change("sns topic", name, "created")


def _subscription(sns, topic_arn: str, protocol: str, endpoint: str) -> Change:
    label = f"{topic_arn.rsplit(':', 1)[1]} -> {protocol}:{endpoint}"
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        if any(s["Protocol"] == protocol and s["Endpoint"] == endpoint for s in page["Subscriptions"]):
            return Change("sns subscription", label, "exists")
    sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint)
    return Change("sns subscription", label, "created")


def _glue_database(glue, name: str) -> Change:
    try:
        glue.get_database(Name=name)
        return Change("glue database", name, "exists")
    except glue.exceptions.EntityNotFoundException:
        pass
    glue.create_database(DatabaseInput={"Name": name})
    return Change("glue database", name, "created")
