"""Ingest on the local runtime: run the producer, read the stream back, and the demo's ingest stage."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from datetime import datetime

import boto3
from rich.table import Table

from producer import handler as producer
from vigia import foreign_writer
from vigia.config import Pipeline
from vigia.local import emf, services
from vigia.stage import StageError


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


def read_records_with_arrival(p: Pipeline) -> list[tuple[bytes, datetime]]:
    """Every record now in the stream with its arrival time, all shards, from TRIM_HORIZON, in
    shard then sequence order."""
    kinesis = boto3.client("kinesis", region_name=p.region)
    records: list[tuple[bytes, datetime]] = []
    for shard in kinesis.list_shards(StreamName=p.stream.name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=p.stream.name, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = kinesis.get_records(ShardIterator=it, Limit=10_000)
            records.extend((r["Data"], r["ApproximateArrivalTimestamp"]) for r in resp["Records"])
            if not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0:
                break
            it = resp.get("NextShardIterator")
    return records


def read_records(p: Pipeline) -> list[bytes]:
    """Every record now in the stream, all shards, from TRIM_HORIZON, in shard then sequence order."""
    return [data for data, _ in read_records_with_arrival(p)]


def read_stream(p: Pipeline) -> list[dict]:
    """The JSON events in the stream (records that are not JSON objects are left out here)."""
    events = []
    for data in read_records(p):
        try:
            obj = json.loads(data)
        except ValueError:
            continue
        if isinstance(obj, dict):
            events.append(obj)
    return events


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


def demo_stage(demo) -> None:
    """simulator -> producer -> Kinesis, a foreign writer's records beside them -> read back.

    `produced` counts every record Kinesis accepted (the producer's and the foreign writer's);
    `in_stream` is what reading the stream back finds: the two must agree.
    """
    demo.section("ingest: simulator -> producer -> Kinesis")
    p = demo.pipeline
    result = produce(p, ["simulator"])
    foreign = foreign_writer.inject(p)
    records = read_records(p)
    demo.summary.update({"source_items": result["source_items"], "rejected": result["rejected"],
                         "producer_produced": result["produced"], "foreign_records": foreign,
                         "produced": result["produced"] + foreign, "in_stream": len(records)})
    demo.console.print(f"simulator served {result['source_items']} items in {result['pages']} pages; "
                       f"producer put {result['produced']} on stream {p.stream.name} and rejected "
                       f"{result['rejected']} (under s3://{p.buckets.raw}/{p.producer.rejects_prefix})")
    demo.console.print(f"a foreign writer put {foreign} records of its own (not JSON, re-sends, broken values)")
    demo.console.print(f"read back {len(records)} records from the stream")
    reasons = reject_reasons(p)
    table = Table(title="why items were rejected (top 6)")
    for column in ("field", "problem", "items", "example"):
        table.add_column(column, justify="right" if column == "items" else "left", overflow="fold")
    for field, kind, n, example in reasons[:6]:
        table.add_row(field, kind, str(n), example)
    demo.console.print(table)
    if not result["produced"]:
        top = f"; top reason: {reasons[0][0]} {reasons[0][1]} ({reasons[0][2]} items, e.g. {reasons[0][3]})" if reasons else ""
        raise StageError(f"ingest: the producer put none of the {result['source_items']} items the simulator "
                         f"served on the stream ({result['rejected']} rejected{top})")
