"""Batch path: Glue ETL throughput, its cost as history grows, and what gold saves Athena over raw.

One moto server on a free port (object bodies over 1 MiB spill to disk). Two data sets:
1. volume, shaped like Firehose output at 1 M events a day: one day of gzip JSON-lines objects,
   one per hour (~41.7 k records each, 500 sensors), written under raw/ as the delivery stream
   names them; then single new hours.
   - `etl_rows_per_s`: the whole job on the day (list, read, validate, dedup, write gold and
     hourly, compact, register partitions), net of Spark start-up and of the s3a client's first
     use (`etl_s3a_first_use_s`, a fixed cost of a new JVM: AWS SDK class loading; reported apart,
     and `etl_rows_per_s_with_s3a_start` counts it in);
   - `etl_transform_rows_per_s`: validation + dedup + write to Spark's `noop` sink on the same
     records already in memory (storage excluded); `python_checks_rows_per_s` is the Python
     evaluation of the same checks (`checks.first_failure`) on a sample, for the ratio;
   - `etl_hour_after_30_days_vs_after_1_day`: the job on one new hour with 30 days of gold present
     divided by the same with 1 day present: two pipelines (the second's 30 days are server-side
     copies of the first's day), the same three new hours each, alternating; fastest of each;
2. 30 days of events (4 entities, one reading each 2 minutes) through Kinesis and the local
   Firehose, the job, the crawlers, and the local Athena behind a metering proxy:
   - `gold_vs_raw_bytes_scanned`: bytes the project's queries read on gold divided by the bytes the
     same questions read on raw (the 7-day questions prune partitions on both sides).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import functions as F

from glue import raw_to_gold, spark_local, transforms
from producer.adapters.base import event_id
from vigia.local import aws, provision
from vigia.local.athena import LocalAthena
from vigia.local.crawler import LocalCrawler
from vigia.local.firehose import LocalDelivery
from vigia.local.s3_meter import S3Meter
from vigia.local.variants import unique_pipeline
from vigia_core import clock, config
from vigia_core.contract import checks, format_time

DAYS, ENTITIES, EVERY_MIN = 30, 4, 2
VOLUME_PER_DAY, VOLUME_SENSORS = 1_000_000, 500
METRICS = [("temperature", "celsius", 18, 30), ("humidity", "percent", 30, 70),
           ("pressure", "hpa", 990, 1030), ("vibration", "mm_s", 2, 15)]
QUERIES = Path(__file__).resolve().parent.parent / "athena" / "queries"

# The same questions asked of the raw table (JSON lines, Firehose partitions src/dt/hour; every
# column a string, as the raw table is declared: numbers are cast where they are aggregated).
RAW_HOURLY = """
SELECT src AS source, entity_id, metric, unit,
       date_trunc('hour', date_parse(substr(event_time, 1, 19), '%Y-%m-%dT%H:%i:%s')) AS hour,
       count(*) AS readings, min(v) AS min_value, max(v) AS max_value,
       round(avg(v), 3) AS avg_value, round(approx_percentile(v, 0.95), 3) AS p95_value
FROM (SELECT *, try_cast(value AS double) AS v FROM raw) WHERE dt >= ?
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 5"""
RAW_TOP = """
WITH hourly AS (
    SELECT src AS source, entity_id, metric, unit, dt, hour, approx_percentile(v, 0.95) AS p95,
           max(v) AS mx, count(*) AS n
    FROM (SELECT *, try_cast(value AS double) AS v FROM raw) WHERE dt >= ?
    GROUP BY src, entity_id, metric, unit, dt, hour
), per_entity AS (
    SELECT metric, unit, source, entity_id, max(p95) AS worst_hourly_p95, max(mx) AS peak, sum(n) AS readings
    FROM hourly GROUP BY metric, unit, source, entity_id
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY metric ORDER BY worst_hourly_p95 DESC, source, entity_id) AS place
    FROM per_entity
)
SELECT metric, place, source, entity_id FROM ranked WHERE place <= 3 ORDER BY metric, place"""
RAW_FRESHNESS = """
SELECT src AS source, max(event_time) AS newest_event, count(*) AS events
FROM raw GROUP BY src ORDER BY src"""


def log(msg: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def events(end: datetime) -> list[bytes]:
    """Events as the producer makes them: UUIDv5 ids, noisy values, a few attributes."""
    rng = random.Random(11)
    hours = DAYS * 24 - 1  # the oldest event stays younger than the 30-day age limit at arrival
    out, start = [], end - timedelta(hours=hours)
    steps = hours * 60 // EVERY_MIN
    for step in range(steps):
        at = start + timedelta(minutes=step * EVERY_MIN)
        for e in range(ENTITIES):
            metric, unit, lo, hi = METRICS[e % len(METRICS)]
            i = step * ENTITIES + e
            out.append(json.dumps({
                "schema_version": 1, "event_id": event_id("simulator", f"bench-{i}"),
                "source": "simulator" if e % 2 else "weather",
                "entity_id": f"sensor-{e:03d}", "metric": metric, "unit": unit,
                "value": round(rng.uniform(lo, hi), 3),
                "event_time": format_time(at + timedelta(seconds=e)),
                "ingest_time": format_time(at + timedelta(seconds=e + 2)),
                "attributes": {"site": f"plant-{'abcd'[e % 4]}", "firmware": f"1.{e % 3}.0"}}).encode())
    return out


def put_all(p: config.Pipeline, port: int, payloads: list[bytes]) -> None:
    kinesis = aws.client("kinesis", p.region, port)
    for i in range(0, len(payloads), 500):
        resp = kinesis.put_records(StreamName=p.stream.name, Records=[
            {"Data": d, "PartitionKey": str(i + j)} for j, d in enumerate(payloads[i:i + 500])])
        assert resp["FailedRecordCount"] == 0


def scanned(athena: LocalAthena, meter: S3Meter, sql: str, params: list[str]):
    meter.reset()
    result = athena.query(sql, params)
    return meter.reset(), result


def volume_hour(hour: datetime) -> list[bytes]:
    """One hour at 1 M events a day: a reading every 86.4 ms, sensors in turn."""
    per_hour = VOLUME_PER_DAY // 24
    rng, lines = random.Random(hour.toordinal() * 24 + hour.hour), []
    for i in range(per_hour):
        at = hour + timedelta(microseconds=i * 86_400)
        n = hour.toordinal() * 10_000_000 + hour.hour * 100_000 + i
        lines.append(json.dumps({
            "schema_version": 1, "event_id": event_id("simulator", f"vol-{n}"), "source": "simulator",
            "entity_id": f"sensor-{i % VOLUME_SENSORS:03d}", "metric": "temperature", "unit": "celsius",
            "value": round(rng.uniform(18, 30), 3), "event_time": format_time(at),
            "ingest_time": format_time(at + timedelta(seconds=1)),
            "attributes": {"site": f"plant-{'abcd'[i % 4]}", "firmware": "1.2.0"}}, separators=(",", ":")).encode())
    return lines


def put_hour(s3, p: config.Pipeline, hour: datetime) -> int:
    """The hour's records as one object named like the delivery stream's (arrival: the hour's end)."""
    lines = volume_hour(hour)
    arrival = hour + timedelta(hours=1, seconds=5)
    key = (f"raw/src=simulator/dt={hour:%Y-%m-%d}/hour={hour:%H}/{p.firehose.name}-1-"
           f"{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{p.firehose.file_extension}")
    s3.put_object(Bucket=p.buckets.raw, Key=key, Body=gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6))
    return len(lines)


def copy_day(s3, src: config.Pipeline, dst: config.Pipeline, day: str, to: str) -> None:
    """Server-side copies of one day's gold files (events and hourly) into another gold bucket and day."""
    for table in (src.glue.tables.events, src.glue.tables.hourly):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=src.buckets.gold, Prefix=f"{table}/dt={day}/"):
            for o in page.get("Contents", []):
                s3.copy_object(Bucket=dst.buckets.gold, Key=o["Key"].replace(f"dt={day}/", f"dt={to}/"),
                               CopySource={"Bucket": src.buckets.gold, "Key": o["Key"]})


def _volume(port: int) -> dict:
    p = unique_pipeline(config.load(), "benchvol")
    provision.provision(p, port)
    s3 = aws.client("s3", p.region, port)
    day0 = clock.hour_floor(clock.now()).replace(hour=0) - timedelta(days=3)
    t0 = time.perf_counter()
    records = sum(put_hour(s3, p, day0 + timedelta(hours=h)) for h in range(24))
    log(f"{records} records in 24 hourly objects written in {time.perf_counter() - t0:.0f}s")

    spark = spark_local.session(aws.endpoint(port), p.region, app="vigia-bench")
    spark.range(1).count()  # JVM and executor warm-up outside the measurement
    # The s3a client's first use in this JVM, on a one-line object: ~1 s quiet, ~10 s under load.
    s3.put_object(Bucket=p.buckets.artifacts, Key="bench/first-use.txt", Body=b"x\n")
    t0 = time.perf_counter()
    spark.read.text(f"s3a://{p.buckets.artifacts}/bench/first-use.txt").count()
    s3a_first_use_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = raw_to_gold.run(spark, p, now=day0 + timedelta(days=1, hours=1))
    etl_s = time.perf_counter() - t0
    assert counts["gold_rows"] == records, counts
    log(f"ETL of one day {counts} in {etl_s:.0f}s")

    # The same records in memory: validation + dedup + a sink that stores nothing.
    limits = checks.Limits.of(p)
    raw = raw_to_gold.read_raw_text(spark, [f"s3a://{p.buckets.raw}/raw/"]).cache()
    raw.count()
    t0 = time.perf_counter()
    s = transforms.split(transforms.validate(raw, limits, day0, p.firehose.buffering.interval_s),
                         day0 + timedelta(days=1, hours=1), lambda days: None, lambda days: None)
    s.gold.write.format("noop").mode("overwrite").save()
    transform_s = time.perf_counter() - t0
    assert s.raw_records == records
    sample = [r.line for r in raw.limit(20_000).collect()]
    raw.unpersist()
    t0 = time.perf_counter()
    for line in sample:
        checks.first_failure(line, limits, day0 + timedelta(days=1))
    python_s = time.perf_counter() - t0
    log(f"transform {transform_s:.1f}s, Python checks {len(sample) / python_s:.0f}/s")

    spark.catalog.clearCache()

    # History: a second pipeline whose gold holds 30 days (the first day's files, copied server-side).
    q = unique_pipeline(config.load(), "benchhist")
    provision.provision(q, port)
    t0 = time.perf_counter()
    for back in range(DAYS):
        copy_day(s3, p, q, f"{day0:%Y-%m-%d}", f"{day0 - timedelta(days=back):%Y-%m-%d}")
    log(f"30 days of gold copied in {time.perf_counter() - t0:.0f}s")

    def hour_run(pipeline: config.Pipeline, h: int) -> float:
        hour = day0 + timedelta(days=1, hours=h)
        n = put_hour(s3, pipeline, hour)
        t0 = time.perf_counter()
        c = raw_to_gold.run(spark, pipeline, now=hour + timedelta(hours=1, minutes=5))
        assert c["gold_rows"] == n and c["raw_records"] == n, c
        return time.perf_counter() - t0

    def table_ids_s(pipeline: config.Pipeline) -> float:  # what the job read per run before: every gold event_id
        t0 = time.perf_counter()
        (spark.read.parquet(f"s3a://{pipeline.buckets.gold}/{pipeline.glue.tables.events}/")
         .select("event_id").distinct().count())
        return time.perf_counter() - t0

    # The same new hours for both pipelines, alternating, so that a load change on the shared machine
    # hits both alike; the first hour of the day (untimed) also checks the previous day for compaction.
    hour_run(p, 0)
    hour_run(q, 0)
    pairs = [(hour_run(p, h), hour_run(q, h)) for h in (1, 2, 3)]
    after_1, after_30 = min(a for a, _ in pairs), min(b for _, b in pairs)
    all_ids_1, all_ids_30 = table_ids_s(p), table_ids_s(q)
    spark.stop()
    log(f"one new hour: {after_1:.1f}s after 1 day, {after_30:.1f}s after 30 days ({pairs})")
    return {
        "etl_volume_records": records,
        "etl_rows_per_s": round(records / etl_s),
        "etl_wall_s": round(etl_s, 1),
        "etl_s3a_first_use_s": round(s3a_first_use_s, 2),
        "etl_rows_per_s_with_s3a_start": round(records / (etl_s + s3a_first_use_s)),
        "etl_seconds": counts["seconds"],
        "etl_transform_rows_per_s": round(records / transform_s),
        "python_checks_rows_per_s": round(len(sample) / python_s),
        "etl_transform_vs_python_checks": round((records / transform_s) / (len(sample) / python_s), 1),
        "etl_hour_s_after_1_day": round(after_1, 2),
        "etl_hour_s_after_30_days": round(after_30, 2),
        "etl_hour_after_30_days_vs_after_1_day": round(after_30 / after_1, 3),
        "all_gold_event_ids_read_30_days_vs_1_day": round(all_ids_30 / all_ids_1, 2),
    }


def run() -> dict:
    os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(1 << 20))  # large bodies on disk, not in RAM
    with aws.private_server() as port:
        aws.use(config.load().region, port)
        result = _volume(port)
        result.update(_measure(port))
        return result


def _measure(port: int) -> dict:
    p = unique_pipeline(config.load(), "bench")
    provision.provision(p, port)
    end = clock.hour_floor(clock.now())
    payloads = events(end)
    t0 = time.perf_counter()
    put_all(p, port, payloads)
    put_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    delivery = LocalDelivery(p, port).drain()
    delivery_s = time.perf_counter() - t0
    log(f"{len(payloads)} events put in {put_s:.0f}s, delivered in {delivery_s:.0f}s")

    spark = spark_local.session(aws.endpoint(port), p.region, app="vigia-bench")
    counts = raw_to_gold.run(spark, p)
    assert counts["gold_rows"] == len(payloads), counts
    spark.stop()
    log(f"ETL {counts}")
    LocalCrawler(p, port).crawl_all()
    log("crawled")

    first_day = str((end - timedelta(days=7)).date())
    with S3Meter(port) as meter:
        athena = LocalAthena(p, port, s3_endpoint=meter.endpoint)
        pairs = {
            "hourly_rollup": ((QUERIES / "hourly_rollup.sql").read_text(), RAW_HOURLY, [first_day]),
            "top_entities": ((QUERIES / "top_entities.sql").read_text(), RAW_TOP, [first_day]),
            "freshness": ((QUERIES / "freshness.sql").read_text(), RAW_FRESHNESS, []),
        }
        out = {}
        for name, (gold_sql, raw_sql, params) in pairs.items():
            gold_bytes, gold = scanned(athena, meter, gold_sql, params)
            raw_bytes, raw = scanned(athena, meter, raw_sql, params)
            assert len(gold.rows) == len(raw.rows) > 0, name  # the same question, the same answer size
            out[name] = (gold_bytes, raw_bytes)
            log(f"{name}: gold {gold_bytes} bytes, raw {raw_bytes} bytes")
    gold_total, raw_total = sum(g for g, _ in out.values()), sum(r for _, r in out.values())
    result = {
        "batch_events": len(payloads),
        "kinesis_put_records_per_s": round(len(payloads) / put_s),
        "firehose_local_records_per_s": round(delivery.records_read / delivery_s),
        "firehose_local_objects": len(delivery.objects),
        "gold_bytes_scanned": gold_total,
        "raw_bytes_scanned": raw_total,
        "gold_vs_raw_bytes_scanned": round(gold_total / raw_total, 4),
    }
    result.update({f"bytes_scanned_{k}_gold_raw": list(v) for k, v in out.items()})
    return result
