"""Alert publishing against the moto server: SNS -> the subscribed inbox queue, retries, the DLQ."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from flink_app import alerts
from flink_app.publisher import Publisher
from vigia.local import aws, flink, inbox, provision

pytestmark = pytest.mark.integration


def an_alert(p, entity="sensor-7") -> alerts.Alert:
    t = datetime(2026, 11, 1, 10, 1, tzinfo=timezone.utc)
    return alerts.Alert.of(p.rules[0], entity, t, t + timedelta(minutes=1), 101.5, 30)


def test_published_alert_reaches_the_inbox_with_texts_and_attributes(local_pipeline, aws_env):
    p = local_pipeline
    pub = Publisher(provision.topic_arn(p, p.alerts.topic), flink.dlq_url(p), p.region, endpoint_url=aws.endpoint(aws_env))
    a = an_alert(p)
    out = pub.publish(a)
    assert (out.status, out.attempts) == ("published", 1)
    got = inbox.receive(p)
    assert [g["alert_id"] for g in got] == [a.alert_id]
    assert {k: v for k, v in got[0].items() if not k.startswith("_")} == a.to_dict()
    assert got[0]["_attributes"]["severity"]["Value"] == a.severity


def test_publish_failures_are_retried_then_dead_lettered(local_pipeline, aws_env):
    p = local_pipeline
    sleeps: list[float] = []
    missing_topic = provision.topic_arn(p, "no-such-topic")
    pub = Publisher(missing_topic, flink.dlq_url(p), p.region, max_attempts=3, backoff_base_s=0.1,
                    endpoint_url=aws.endpoint(aws_env), sleep=sleeps.append)
    a = an_alert(p, "sensor-9")
    out = pub.publish(a)
    assert (out.status, out.attempts) == ("dead-lettered", 3) and "NotFound" in out.detail
    assert sleeps == [0.1, 0.2]  # exponential backoff between the attempts
    msgs = boto3.client("sqs", region_name=p.region).receive_message(
        QueueUrl=flink.dlq_url(p), MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    body = json.loads(msgs[0]["Body"])
    assert len(msgs) == 1 and body["alert"] == a.to_dict() and body["topic_arn"] == missing_topic
    assert inbox.receive(p, wait_s=0) == []
