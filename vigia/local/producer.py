"""The producer Lambda on the local runtime: one run of its handler's code against the local
endpoint, its logs and metrics where CloudWatch would put them, and what it rejected."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter

import boto3

from producer import handler as producer
from vigia.local import emf, services
from vigia_core.config import Pipeline


def produce(p: Pipeline, sources: list[str] | None = None, **producer_args) -> dict:
    """Run the producer once, as its Lambda would run: its log lines go to .local/logs/producer.log
    and its EMF metrics to the local CloudWatch (what CloudWatch Logs does with them in AWS)."""
    out = io.StringIO()
    log = services.log_file("producer")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        handler = producer.logger.registered_handler
        previous = handler.setStream(f)
        try:
            with contextlib.redirect_stdout(out):
                result = producer.run(p, sources, local_only=True, **producer_args)
        finally:
            handler.setStream(previous)
        lines = out.getvalue()
        f.write(lines)
    result["metric_points"] = emf.forward(boto3.client("cloudwatch", region_name=p.region), lines)
    return result


def reject_reasons(p: Pipeline) -> list[tuple[str, str, int, str]]:
    """Producer rejects grouped by their first error's field and kind (the rule broken, whatever
    the offending value), read from rejects/ in S3: (field, kind, items, an example reason),
    most frequent first."""
    s3 = boto3.client("s3", region_name=p.region)
    counts: Counter = Counter()
    examples: dict[tuple[str, str], str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=p.producer.rejects_prefix):
        for obj in page.get("Contents", []):
            for line in s3.get_object(Bucket=p.buckets.raw, Key=obj["Key"])["Body"].read().splitlines():
                e = json.loads(line)["errors"][0]
                key = (e["field"], e.get("kind", "invalid"))
                counts[key] += 1
                examples.setdefault(key, e["reason"])
    return [(field, kind, n, examples[(field, kind)]) for (field, kind), n in counts.most_common()]
