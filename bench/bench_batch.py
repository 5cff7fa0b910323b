"""Batch path: Glue ETL throughput, and what gold saves Athena over raw on 30 days of data.

One moto server on a free port; 30 days of events (4 entities, one reading each 2 minutes) go
through Kinesis and the local Firehose into raw (hourly partitions), then the local Glue job,
the crawlers, and the local Athena behind a metering proxy that counts the object bytes read.
- `etl_rows_per_s`: raw records the job handles per second (read, validate, dedup, write gold and
  hourly), net of Spark start-up;
- `gold_vs_raw_bytes_scanned`: bytes the project's queries read on gold divided by the bytes the
  same questions read on raw (the 7-day questions prune partitions on both sides).
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from glue import raw_to_gold, spark_local
from producer.adapters.base import event_id
from vigia import config
from vigia.contract import format_time
from vigia.local import aws, provision
from vigia.local.athena import LocalAthena
from vigia.local.crawler import LocalCrawler
from vigia.local.firehose import LocalDelivery
from vigia.local.s3_meter import S3Meter
from vigia.local.variants import unique_pipeline

DAYS, ENTITIES, EVERY_MIN = 30, 4, 2
METRICS = [("temperature", "celsius", 18, 30), ("humidity", "percent", 30, 70),
           ("pressure", "hpa", 990, 1030), ("vibration", "mm_s", 2, 15)]
QUERIES = Path(__file__).resolve().parent.parent / "athena" / "queries"

# The same questions asked of the raw table (JSON lines, Firehose partitions src/dt/hour).
RAW_HOURLY = """
SELECT src AS source, entity_id, metric, unit,
       date_trunc('hour', date_parse(substr(event_time, 1, 19), '%Y-%m-%dT%H:%i:%s')) AS hour,
       count(*) AS readings, min(value) AS min_value, max(value) AS max_value,
       round(avg(value), 3) AS avg_value, round(approx_percentile(value, 0.95), 3) AS p95_value
FROM raw WHERE dt >= ?
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 5"""
RAW_TOP = """
WITH hourly AS (
    SELECT src AS source, entity_id, metric, unit, dt, hour, approx_percentile(value, 0.95) AS p95,
           max(value) AS mx, count(*) AS n
    FROM raw WHERE dt >= ? GROUP BY src, entity_id, metric, unit, dt, hour
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
    out, start = [], end - timedelta(days=DAYS)
    steps = DAYS * 24 * 60 // EVERY_MIN
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


def run() -> dict:
    with aws.private_server() as port:
        return _measure(port)


def _measure(port: int) -> dict:
    p = unique_pipeline(config.load(), "bench")
    aws.use(p.region, port)
    provision.provision(p, port)
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    payloads = events(end)
    t0 = time.perf_counter()
    put_all(p, port, payloads)
    put_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    delivery = LocalDelivery(p, port).drain()
    delivery_s = time.perf_counter() - t0
    log(f"{len(payloads)} events put in {put_s:.0f}s, delivered in {delivery_s:.0f}s")

    spark = spark_local.session(aws.endpoint(port), p.region, app="vigia-bench")
    spark.range(1).count()  # JVM and executor warm-up outside the measurement
    t0 = time.perf_counter()
    counts = raw_to_gold.run(spark, p)
    etl_s = time.perf_counter() - t0
    assert counts["gold_rows"] == len(payloads), counts
    spark.stop()
    log(f"ETL {counts} in {etl_s:.0f}s")
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
        "etl_rows_per_s": round(counts["raw_records"] / etl_s),
        "etl_wall_s": round(etl_s, 1),
        "gold_bytes_scanned": gold_total,
        "raw_bytes_scanned": raw_total,
        "gold_vs_raw_bytes_scanned": round(gold_total / raw_total, 4),
    }
    result.update({f"bytes_scanned_{k}_gold_raw": list(v) for k, v in out.items()})
    return result
