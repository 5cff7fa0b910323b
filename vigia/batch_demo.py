"""The demo's batch stage: stream -> local Firehose -> raw -> Glue ETL -> crawlers -> Athena.

Adds to the demo summary: raw_records, firehose_errors, gold_rows, quarantined, duplicates_dropped,
already_quarantined, queries_ok. Every record on the stream (`in_stream`, counted by the ingest stage
after the producer and the foreign writer) is accounted for: raw_records + firehose_errors ==
in_stream, and gold_rows + quarantined + duplicates_dropped + already_quarantined == raw_records.
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

from vigia import contract
from vigia.config import Pipeline
from vigia.local import aws
from vigia.stage import StageError

QUERIES = Path(__file__).resolve().parent.parent / "athena" / "queries"


def count_lines(p: Pipeline, prefix: str, port: int | None = None) -> int:
    """Records in the delivered objects under `prefix` of the raw bucket (read back from S3)."""
    s3, n = aws.client("s3", p.region, port), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=p.buckets.raw, Key=o["Key"])["Body"].read()
            n += len((gzip.decompress(body) if o["Key"].endswith(".gz") else body).splitlines())
    return n


def first_day(athena) -> str:
    """The first day of the demo's query window: the day before the newest gold day."""
    newest = athena.query("SELECT max(dt) FROM events").rows[0][0]
    return str(contract.parse_time(f"{newest}T00:00:00Z").date() - timedelta(days=1)) if newest else "1970-01-01"


def run_queries(athena, params: dict[str, list[str]], console) -> tuple[int, dict]:
    """Run every project query; a failing one is reported, not fatal. Returns (ok count, results)."""
    from vigia.local.athena import AthenaError

    ok, results = 0, {}
    for f in sorted(QUERIES.glob("*.sql")):
        try:
            results[f.stem] = athena.query(f.read_text(), params.get(f.stem, []))
            ok += 1
        except AthenaError as err:
            console.print(f"[red]query {f.name} failed: {err}")
    return ok, results


def demo_stage(demo) -> None:
    from glue import raw_to_gold, spark_local
    from vigia.batch_cli import result_table
    from vigia.local.athena import AthenaError, LocalAthena
    from vigia.local.crawler import LocalCrawler
    from vigia.local.firehose import LocalDelivery

    p, console, summary = demo.pipeline, demo.console, demo.summary
    demo.section("batch: Firehose -> raw -> Glue ETL -> crawlers -> Athena")
    stats = LocalDelivery(p).drain()
    summary["raw_records"] = count_lines(p, raw_to_gold.raw_prefix(p))
    summary["firehose_errors"] = count_lines(p, p.firehose.error_output_prefix.split("!{", 1)[0])
    console.print(f"local Firehose: {stats.records_read} records read, {len(stats.objects)} objects written; "
                  f"raw {summary['raw_records']}, errors {summary['firehose_errors']}")
    if not summary["raw_records"]:
        raise StageError(f"batch: Firehose delivered no record to s3://{p.buckets.raw}/{raw_to_gold.raw_prefix(p)} "
                         f"({stats.records_read} read from the stream, {summary['firehose_errors']} to the error prefix)")
    counts = raw_to_gold.run(spark_local.session(aws.endpoint(), p.region), p)
    summary.update({k: counts[k] for k in ("gold_rows", "quarantined", "duplicates_dropped", "already_quarantined")})
    console.print(f"Glue ETL: {json.dumps(counts)}")  # includes the seconds per phase
    if not counts["gold_rows"]:
        raise StageError(f"batch: the Glue ETL wrote no gold row from {summary['raw_records']} raw records "
                         f"({counts['quarantined']} quarantined, {counts['duplicates_dropped']} duplicates)")
    for name, r in LocalCrawler(p).crawl_all().items():
        console.print(f"crawler {name}: tables created {r.tables_created}, {r.partitions_added} partitions added")
    athena = LocalAthena(p)
    try:
        day = first_day(athena)
    except AthenaError as err:
        raise StageError(f"batch: the gold events table cannot be queried after the crawl: {err}") from None
    summary["queries_ok"], results = run_queries(athena, {"hourly_rollup": [day], "top_entities": [day]}, console)
    if "top_entities" in results:
        console.print(result_table(results["top_entities"], title=f"athena/queries/top_entities.sql (from {day})"))
