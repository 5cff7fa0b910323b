"""SNS topics: alerts (e-mail/SMS subscriptions filtered by severity, undeliverable messages to
the SQS dead-letter queue) and operations (CloudWatch alarms, e-mail)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, aws_kms as kms, aws_sns as sns, aws_sns_subscriptions as subs, aws_sqs as sqs
from constructs import Construct

from infra.components.iam import suppress
from vigia_core.config import SEVERITY_ORDER, Pipeline


@dataclass(frozen=True)
class Alerting:
    alert_topic: sns.Topic
    dead_letter_queue: sqs.Queue
    ops_topic: sns.Topic


def severities_at_least(minimum: str) -> list[str]:
    """The severities a subscription with `min_severity` receives (the Flink job publishes the
    message attribute `severity`; SNS filter policies match exact strings, so list them)."""
    return [s for s, rank in sorted(SEVERITY_ORDER.items(), key=lambda kv: kv[1]) if rank >= SEVERITY_ORDER[minimum]]


def build(scope: Construct, p: Pipeline, key: kms.IKey) -> Alerting:
    dlq = sqs.Queue(scope, "AlertsDeadLetterQueue", queue_name=p.alerts.dead_letter_queue,
                    encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                    retention_period=Duration.days(14))
    suppress(dlq, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue for undeliverable alerts.")
    topic = sns.Topic(scope, "AlertTopic", topic_name=p.alerts.topic, master_key=key, enforce_ssl=True)
    protocols = {"email": sns.SubscriptionProtocol.EMAIL, "sms": sns.SubscriptionProtocol.SMS}
    for i, sub in enumerate(p.alerts.subscriptions):
        receives = severities_at_least(sub.min_severity)
        filter_policy = None if len(receives) == len(SEVERITY_ORDER) else {
            "severity": sns.SubscriptionFilter.string_filter(allowlist=receives)}
        sns.Subscription(scope, f"AlertSubscription{i}", topic=topic, protocol=protocols[sub.protocol],
                         endpoint=sub.endpoint, filter_policy=filter_policy, dead_letter_queue=dlq)
    ops = sns.Topic(scope, "OperationsTopic", topic_name=p.operations.topic, master_key=key, enforce_ssl=True)
    ops.add_subscription(subs.EmailSubscription(p.operations.email))
    return Alerting(alert_topic=topic, dead_letter_queue=dlq, ops_topic=ops)
