"""A foreign writer: records another application puts on the stream next to the producer.

The demo uses them to show that the batch path accounts for input it did not produce itself: two
records that are not JSON (Firehose error records), two re-sends of an event already on the stream
(duplicates for the Glue dedup) and two events that break the gold rules (quarantine).
"""

from __future__ import annotations

import json
from datetime import timedelta

from vigia.local import aws
from vigia_core import contract
from vigia_core.config import Pipeline


def _first_event(kinesis, p: Pipeline) -> dict | None:
    """An event the producer already put on the stream (the oldest of the first shard)."""
    shard = kinesis.list_shards(StreamName=p.stream.name)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=p.stream.name, ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(10):
        resp = kinesis.get_records(ShardIterator=it, Limit=1)
        for rec in resp["Records"]:
            return json.loads(rec["Data"])
        it = resp["NextShardIterator"]
    return None


def foreign_records(event: dict) -> list[bytes]:
    resend = dict(event, ingest_time=contract.format_time(contract.parse_time(event["ingest_time"])
                                                          + timedelta(minutes=5)))
    broken_sensor = dict(event, event_id=event["event_id"] + "-foreign-1", value=1e6)
    wrong_unit = dict(event, event_id=event["event_id"] + "-foreign-2", unit="furlongs")
    return [b"<reading>not json</reading>", b"\x00\x01 binary garbage", json.dumps(event).encode(),
            json.dumps(resend).encode(), json.dumps(broken_sensor).encode(), json.dumps(wrong_unit).encode()]


def inject(p: Pipeline, port: int | None = None) -> int:
    """Put the foreign writer's records on the stream; how many Kinesis accepted (0: empty stream)."""
    kinesis = aws.client("kinesis", p.region, port)
    event = _first_event(kinesis, p)
    if event is None:
        return 0
    records = foreign_records(event)
    resp = kinesis.put_records(StreamName=p.stream.name,
                               Records=[{"Data": r, "PartitionKey": f"foreign-{i}"} for i, r in enumerate(records)])
    if resp["FailedRecordCount"]:
        raise RuntimeError(f"the stream refused {resp['FailedRecordCount']} of the foreign writer's records")
    return len(records)
