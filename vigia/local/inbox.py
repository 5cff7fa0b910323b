"""The local alert inbox: an SQS queue subscribed to the alert topic (vigia.local.provision creates
it), standing in for the e-mail and SMS subscribers, which moto cannot deliver to."""

from __future__ import annotations

import json
import time

import boto3

from vigia.local import provision
from vigia_core.config import Pipeline


def receive(p: Pipeline, wait_s: float = 1) -> list[dict]:
    """Take every alert now in the inbox off the queue (deleted once read, as a reader of a mailbox
    sees each message once), waiting up to `wait_s` for the first; oldest delivery first as SQS gives them."""
    sqs = boto3.client("sqs", region_name=p.region)
    url = sqs.get_queue_url(QueueName=provision.inbox_queue_name(p))["QueueUrl"]
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait_s)).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            envelope = json.loads(m["Body"])
            # When the message reached the inbox: compared with the job's publish time to measure
            # alert latency, a duration between two wall-clock readings (not a pipeline decision).
            out.append({**json.loads(envelope["Message"]), "_received_at": time.time(),
                        "_attributes": envelope.get("MessageAttributes", {})})
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(msgs)])
