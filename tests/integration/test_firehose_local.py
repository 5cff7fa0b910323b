"""The local Firehose delivery against the moto server: it must write S3 exactly as Firehose would.

Documented behaviour checked here (Amazon Data Firehose developer guide):
- s3-object-name.html: "S3 object key name follows the format <evaluated prefix><suffix>, where the
  suffix has the format <Firehose stream name>-<Firehose stream version>-<year>-<month>-<day>-<hour>-
  <minute>-<second>-<uuid><file extension>"; "<Firehose stream version> begins with 1".
- dynamic-partitioning (partitioning keys with inline parsing): "!{partitionKeyFromQuery:keyID}" is
  replaced by the value the JQ (1.6) MetadataExtractionQuery produced for the record.
- dynamic-partitioning-error-handling.html: records Firehose "is not able to parse" or whose
  partitioning keys it "fails to extract" are "delivered to the S3 error bucket prefix", "organized
  based on the error type", and "along with the record, the delivered object also includes
  information about the error"; the error document carries attemptsMade, arrivalTimestamp,
  errorCode, errorMessage, attemptEndingTimestamp and rawData (base64), as in
  record-format-conversion-error-handling.html.
- s3-prefixes.html: "!{timestamp:...}" takes a Java DateTimeFormatter pattern evaluated on the
  approximate arrival time of the oldest record in the object, in UTC.
- buffering.html / BufferingHints: delivery happens when the buffer reaches SizeInMBs or when
  IntervalInSeconds has passed, whichever comes first, per partition with dynamic partitioning.
- dynamic-partitioning-partitioning-keys.html: a key's value becomes part of the S3 prefix as it
  is (a `/` in it makes more folders), so pipeline.yaml's query fails, sending the record to the
  error prefix, unless `source` is a source name and `event_time` a real UTC time.
- basic-deliver.html: "By default, Firehose concatenates data without any delimiters"; the
  AppendDelimiterToRecord processor adds the delimiter after each record.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter

import pytest

from tests.support.batch import T0, envelope, lines, objects, put, put_events
from vigia.local import aws
from vigia.local.firehose import LocalDelivery
from vigia_core import config

pytestmark = pytest.mark.integration

NAME = r"(?P<name>[\w.-]+)-1-(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]{36}\.json\.gz"


def with_buffering(p: config.Pipeline, size_mib: int, interval_s: int) -> config.Pipeline:
    data = p.model_dump(mode="json")
    data["firehose"]["buffering"] = {"size_mib": size_mib, "interval_s": interval_s}
    return config.parse(data)


def test_partitions_by_query_on_event_time_with_delimiter_and_gzip(local_pipeline, aws_env):
    p = local_pipeline
    partitions = [(s, h) for s in ("simulator", "usgs") for h in (9, 10, 23) for _ in range(7)]
    events = [envelope(i, source=src, at=T0.replace(hour=h, minute=i % 60)) for i, (src, h) in enumerate(partitions)]
    put_events(aws.client("kinesis", p.region, aws_env), p.stream.name, events)

    stats = LocalDelivery(p, aws_env).drain()

    assert (stats.records_read, stats.delivered, stats.errors) == (len(events), len(events), 0)
    raw = objects(aws.client("s3", p.region, aws_env), p.buckets.raw)
    assert len(raw) == 6  # one object per (source, dt, hour) partition
    seen = []
    for key, body in raw.items():
        m = re.fullmatch(rf"raw/src=(\w+)/dt=(\d{{4}}-\d\d-\d\d)/hour=(\d\d)/{NAME}", key)
        assert m, key
        assert m.group("name") == p.firehose.name
        assert body[:2] == b"\x1f\x8b"  # GZIP
        text = gzip.decompress(body)
        assert text.endswith(b"\n") and text.count(b"\n") == len(text.splitlines())  # a delimiter after each
        for line in text.splitlines():
            e = json.loads(line)
            # the partition comes from the event's own time, not from the arrival time
            assert (e["source"], e["event_time"][:10], e["event_time"][11:13]) == m.group(1, 2, 3)
            seen.append(e["event_id"])
    assert Counter(seen) == Counter(e["event_id"] for e in events)


def test_unparseable_records_go_to_the_error_prefix_in_firehose_format(local_pipeline, aws_env):
    p = local_pipeline
    bad = [b"not json at all", b'{"source": "simulator"}', b'["a", "list"]', b"\xff\xfe binary"]
    good = json.dumps(envelope(1)).encode()
    put(aws.client("kinesis", p.region, aws_env), p.stream.name, bad + [good])

    stats = LocalDelivery(p, aws_env).drain()

    assert (stats.delivered, stats.errors) == (1, len(bad))
    s3 = aws.client("s3", p.region, aws_env)
    errors = objects(s3, p.buckets.raw, "errors/")
    assert len(errors) == 1
    key, body = next(iter(errors.items()))
    m = re.fullmatch(rf"errors/processing-failed/dt=(\d{{4}}-\d\d-\d\d)/{NAME}", key)
    assert m, key
    assert m.group(1) == m.group("ts")[:10]  # !{timestamp:yyyy-MM-dd} is the oldest arrival date
    docs = [json.loads(line) for line in lines(body)]
    assert sorted(base64.b64decode(d["rawData"]) for d in docs) == sorted(bad)
    for d in docs:
        assert d["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
        assert d["errorMessage"]
        assert {"attemptsMade", "arrivalTimestamp", "attemptEndingTimestamp"} <= d.keys()
    assert len(objects(s3, p.buckets.raw, "raw/")) == 1


@pytest.mark.parametrize("bad", [
    {"source": "plant/a"}, {"source": "Sim"}, {"source": 7}, {"source": None},
    {"event_time": "2026-13-45T99:00:00Z"}, {"event_time": "2026-02-30T10:00:00Z"},
    {"event_time": "2026-11-01 10:00:00"}, {"event_time": 1730000000},
])
def test_partition_keys_that_would_make_wrong_folders_go_to_the_error_prefix(local_pipeline, aws_env, bad):
    p = local_pipeline
    good = envelope(1)
    put_events(aws.client("kinesis", p.region, aws_env), p.stream.name, [good, envelope(2, **bad)])

    stats = LocalDelivery(p, aws_env).drain()

    assert (stats.delivered, stats.errors) == (1, 1)
    s3 = aws.client("s3", p.region, aws_env)
    [raw_key] = objects(s3, p.buckets.raw, "raw/")
    assert raw_key.startswith(f"raw/src={good['source']}/dt={good['event_time'][:10]}/hour={good['event_time'][11:13]}/")
    [doc] = [json.loads(line) for body in objects(s3, p.buckets.raw, "errors/").values() for line in lines(body)]
    field = next(iter(bad))
    assert json.loads(base64.b64decode(doc["rawData"]))[field] == bad[field]
    assert field in doc["errorMessage"]  # the query names what is wrong


def test_buffers_flush_at_the_size_hint(local_pipeline, aws_env):
    p = with_buffering(local_pipeline, size_mib=1, interval_s=900)
    pad = "x" * 1000
    payloads = [json.dumps(envelope(i, attributes={"pad": pad})).encode() for i in range(2600)]  # ~3.3 MiB
    put(aws.client("kinesis", p.region, aws_env), p.stream.name, payloads)
    delivery = LocalDelivery(p, aws_env)

    while delivery.poll():
        pass  # no interval has passed: only the size hint can trigger delivery

    # independent reference: cut the byte stream each time the running size reaches 1 MiB
    sizes, run = [], 0
    for d in payloads:
        run += len(d) + 1
        if run >= 1024 * 1024:
            sizes.append(run)
            run = 0
    s3 = aws.client("s3", p.region, aws_env)
    written = objects(s3, p.buckets.raw, "raw/")
    assert sorted(len(gzip.decompress(b)) for b in written.values()) == sorted(sizes)
    delivery.flush_all()
    assert sum(len(lines(b)) for b in objects(s3, p.buckets.raw, "raw/").values()) == len(payloads)


def test_buffers_flush_at_the_interval_hint(local_pipeline, aws_env):
    p = with_buffering(local_pipeline, size_mib=64, interval_s=60)
    now = [1000.0]
    delivery = LocalDelivery(p, aws_env, clock=lambda: now[0])
    put_events(aws.client("kinesis", p.region, aws_env), p.stream.name, [envelope(i) for i in range(5)])
    s3 = aws.client("s3", p.region, aws_env)

    assert delivery.poll() == 5
    now[0] += 59
    assert delivery.flush_due() == 0 and not objects(s3, p.buckets.raw)
    now[0] += 1
    assert delivery.flush_due() == 1
    assert sum(len(lines(b)) for b in objects(s3, p.buckets.raw, "raw/").values()) == 5


def test_restart_resumes_after_the_checkpoint_without_redelivery(local_pipeline, aws_env):
    p = local_pipeline
    kinesis, s3 = aws.client("kinesis", p.region, aws_env), aws.client("s3", p.region, aws_env)
    put_events(kinesis, p.stream.name, [envelope(i) for i in range(10)])
    LocalDelivery(p, aws_env).drain()

    again = LocalDelivery(p, aws_env)  # a restarted service
    assert again.drain().records_read == 0
    put_events(kinesis, p.stream.name, [envelope(i) for i in range(10, 13)])
    assert again.drain().records_read == 3
    ids = [json.loads(line)["event_id"] for b in objects(s3, p.buckets.raw, "raw/").values() for line in lines(b)]
    assert sorted(ids) == sorted(envelope(i)["event_id"] for i in range(13))
