"""What the job must deliver for the events now in the local stream, and waiting until it has.

The plain-Python reference evaluator (flink_app/reference.py) over the stream's events gives the
expected alerts; the demo's real-time stage and the tests compare the inbox with it. A replayed,
finite dataset needs its last windows closed: `end_of_replay_markers`.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta

import boto3

from flink_app import reference, rules
from vigia.local import flink, inbox, services, stream
from vigia_core.config import Pipeline
from vigia_core.contract import checks, format_time, parse_time


def end_of_replay_markers(p: Pipeline) -> list[dict]:
    """One contract-valid `clock_tick` event per shard, later than every event in the stream by the
    time every rule needs to decide (the longest window, or an absence deadline) plus the watermark
    bound, so every window of a replayed (finite) dataset closes and every entity an absence rule
    expects is found missing by event time, as the reference's end of input says. A live stream
    needs none: newer events move event time. Matches no rule (metric clock_tick)."""
    latest = max(parse_time(e["event_time"]) for e in gold_events(p))  # what the windows hold
    at = latest + timedelta(seconds=rules.decided_within_s(list(p.rules)) + p.flink.out_of_orderness_s + 1)
    markers = []
    for entity in shard_keys(p, "vigia-clock"):
        markers.append({"schema_version": 1, "event_id": f"clock-{entity}-{format_time(at)}", "source": "vigia",
                        "entity_id": entity, "metric": "clock_tick", "value": 0, "unit": "none",
                        "event_time": format_time(at), "ingest_time": format_time(at)})
    boto3.client("kinesis", region_name=p.region).put_records(
        StreamName=p.stream.name, Records=[{"Data": json.dumps(m).encode(), "PartitionKey": m["entity_id"]}
                                           for m in markers])
    return markers


def shard_keys(p: Pipeline, prefix: str) -> list[str]:
    """One partition key per open shard of the stream, in shard order: `<prefix>-<n>` whose MD5
    (how Kinesis maps a key to a shard) falls in the shard's hash key range."""
    shards = [s for s in boto3.client("kinesis", region_name=p.region).list_shards(StreamName=p.stream.name)["Shards"]
              if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    keys = []
    for shard in shards:
        lo, hi = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        keys.append(next(f"{prefix}-{n}" for n in range(100_000)
                         if lo <= int(hashlib.md5(f"{prefix}-{n}".encode()).hexdigest(), 16) <= hi))
    return keys


def wait_for_alerts(p: Pipeline, timeout_s: float, job_name: str = flink.SERVICE,
                    received: list[dict] | None = None, settle_s: float = 3):
    """Poll the inbox until it holds every alert the reference expects, then let stragglers in.

    Which events are late depends on when the job's watermarks were emitted (flink_app/README.md),
    so the expectation is re-evaluated with the late events the job stored;
    the reference decides everything else (windows, aggregates, thresholds, cooldown).
    Returns (expected reference result, alerts received)."""
    received = received if received is not None else []
    deadline = time.monotonic() + timeout_s
    while True:
        received.extend(inbox.receive(p))
        exp = expected(p, stored_late_ids(p))
        if exp.alert_ids and exp.alert_ids <= {a["alert_id"] for a in received}:
            received.extend(inbox.receive(p, wait_s=settle_s))  # a long poll: catches unexpected extras
            return expected(p, stored_late_ids(p)), received
        if time.monotonic() > deadline:
            return exp, received
        if services.running_pid(job_name) is None:
            raise flink.JobExited(job_name)


def stored_late_ids(p: Pipeline) -> set[str]:
    """Ids of the late events the job stored under the raw bucket's late prefix."""
    return set(stored_late(p))


def stored_late(p: Pipeline) -> dict:
    """When each late event the job stored (by id) was last written (S3 LastModified)."""
    s3 = boto3.client("s3", region_name=p.region)
    prefix = f"{p.flink.late_events_prefix}late/"
    return {o["Key"].rsplit("/", 1)[1].removesuffix(".json"): o["LastModified"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix)
            for o in page.get("Contents", [])}


def expected(p: Pipeline, late_ids: set[str] | None = None):
    """What the job must deliver for the events now in the stream: the reference evaluator over
    them in stream order, with per-shard watermarks, or with the given late events."""
    shards = boto3.client("kinesis", region_name=p.region).list_shards(StreamName=p.stream.name)["Shards"]
    return reference.evaluate(gold_events(p), rules.rules_of(p), p.flink.out_of_orderness_s,
                              partition_of=reference.kinesis_partitioner(shards), late_ids=late_ids)


def gold_events(p: Pipeline) -> list[dict]:
    """The events in the stream that the job may aggregate, in stream order: those passing the
    contract and the gold rules (vigia_core.contract.checks, measured against their arrival time), the
    first copy of each event_id only (the job counts the others as duplicates)."""
    return reference.admit(stream.read_records_with_arrival(p), checks.Limits.of(p)).events


def kinds_summary(alerts) -> dict:
    """The demo summary's view of alerts (dicts as delivered, or reference Alerts): firing alerts per
    rule kind (`alerts_by_kind`) and resolved notices (`alerts_resolved`)."""
    by_kind: dict[str, int] = {}
    resolved = 0
    for a in alerts:
        a = a if isinstance(a, dict) else a.to_dict()
        if a.get("status", "firing") == "resolved":
            resolved += 1
        else:
            kind = a.get("rule_kind", "threshold")
            by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"alerts_by_kind": dict(sorted(by_kind.items())), "alerts_resolved": resolved}
