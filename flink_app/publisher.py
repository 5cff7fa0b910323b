"""Publish alerts to SNS with retries; an alert that still fails goes to the SQS dead-letter queue.

Alert volume is low (a few per minute), so this runs in Python inside the job. If even the DLQ
cannot take the alert, the error propagates: the job fails and restarts from its last checkpoint,
which re-emits the alert (at-least-once, same alert_id), so nothing is lost silently.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

import boto3

from flink_app.alerts import Alert


@dataclass(frozen=True)
class Outcome:
    alert_id: str
    status: str          # "published" | "dead-lettered"
    attempts: int
    detail: str          # SNS MessageId, or the last error


class Publisher:
    def __init__(self, topic_arn: str, dlq_url: str, region: str, max_attempts: int = 3,
                 backoff_base_s: float = 0.2, endpoint_url: str | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        kw = {"region_name": region, **({"endpoint_url": endpoint_url} if endpoint_url else {})}
        self.sns = boto3.client("sns", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.topic_arn, self.dlq_url = topic_arn, dlq_url
        self.max_attempts, self.backoff_base_s, self.sleep = max(1, max_attempts), backoff_base_s, sleep

    def publish(self, alert: Alert) -> Outcome:
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self.sns.publish(TopicArn=self.topic_arn, MessageStructure="json",
                                        Message=alert.sns_message(), Subject=alert.email_subject(),
                                        MessageAttributes=alert.sns_attributes())
                return Outcome(alert.alert_id, "published", attempt, resp["MessageId"])
            except Exception as err:  # noqa: BLE001 - any failure is retried, then dead-lettered
                error = f"{type(err).__name__}: {err}"
                if attempt < self.max_attempts:
                    self.sleep(self.backoff_base_s * 2 ** (attempt - 1))
        body = json.dumps({"alert": alert.to_dict(), "error": error, "attempts": self.max_attempts,
                           "topic_arn": self.topic_arn})
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=body,
                              MessageAttributes={"alert_id": {"DataType": "String", "StringValue": alert.alert_id}})
        return Outcome(alert.alert_id, "dead-lettered", self.max_attempts, error)
