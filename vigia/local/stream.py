"""Reading the local Kinesis stream back, every shard from TRIM_HORIZON: what the demo counts and
the real-time checks evaluate (a consumer of its own, independent of the Flink job's source)."""

from __future__ import annotations

import json
from datetime import datetime

import boto3

from vigia_core.config import Pipeline


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


def read_events(p: Pipeline) -> list[dict]:
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
