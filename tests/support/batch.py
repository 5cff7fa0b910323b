"""Helpers shared by the batch-path tests (Firehose stand-in, Glue ETL, crawler, Athena)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

from vigia_core.contract import format_time

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def envelope(i: int, *, source: str = "simulator", entity: str = "sensor-001", metric: str = "temperature",
             value: float = 21.5, unit: str = "celsius", at: datetime | None = None, **extra) -> dict:
    """A contract-valid event (unless `extra` overrides fields)."""
    at = at or T0 + timedelta(seconds=i)
    event = {"schema_version": 1, "event_id": f"{source}-{i:06d}", "source": source, "entity_id": entity,
             "metric": metric, "value": value, "unit": unit, "event_time": format_time(at),
             "ingest_time": format_time(at + timedelta(seconds=1)), "attributes": {"site": "plant-a"}}
    event.update(extra)
    return event


def put(kinesis, stream: str, payloads: list[bytes], key: str = "k") -> None:
    """PutRecords in batches of 500, failing loudly if any record is rejected."""
    for i in range(0, len(payloads), 500):
        resp = kinesis.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": f"{key}{i + j}"}
                                                               for j, d in enumerate(payloads[i:i + 500])])
        assert resp["FailedRecordCount"] == 0, resp


def put_events(kinesis, stream: str, events: list[dict]) -> None:
    put(kinesis, stream, [json.dumps(e).encode() for e in events])


def objects(s3, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under `prefix`, key -> body."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


def lines(body: bytes) -> list[bytes]:
    return gzip.decompress(body).splitlines()


def firehose_key(p, source: str, hour: datetime, arrival: datetime) -> str:
    """The key the delivery stream gives an object of `source` for event `hour`, whose oldest record
    arrived at `arrival` (prefix src/dt/hour, then `<stream>-<version>-<arrival>-<uuid><ext>`)."""
    import uuid

    return (f"raw/src={source}/dt={hour:%Y-%m-%d}/hour={hour:%H}/{p.firehose.name}-1-"
            f"{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{p.firehose.file_extension}")


def put_raw_object(s3, p, records: list, hour: datetime, arrival: datetime, source: str = "simulator") -> str:
    """One raw object shaped like Firehose output (gzip JSON lines); records are dicts or text."""
    body = b"".join((r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode()) + b"\n"
                    for r in records)
    key = firehose_key(p, source, hour, arrival)
    s3.put_object(Bucket=p.buckets.raw, Key=key, Body=gzip.compress(body))
    return key
