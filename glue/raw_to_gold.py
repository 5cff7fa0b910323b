"""Glue 5.0 job `raw_to_gold`: raw gzip JSON lines (Firehose output) -> gold Parquet tables.

In AWS: Glue runs this file with `--extra-py-files vigia_glue_libs.zip` and `--pipeline_uri
s3://.../pipeline.yaml`; the raw read goes through a DynamicFrame with a `transformation_ctx`, so
job bookmarks (`--job-bookmark-option job-bookmark-enable`) skip files already processed.
Locally: `python glue/raw_to_gold.py --endpoint http://127.0.0.1:PORT [--full]` runs the same
`run()` in a plain SparkSession against the moto S3 through s3a, reading only the raw objects the
local bookmark (glue/bookmark.py) has not seen. Reruns are harmless either way: duplicates of gold
`event_id`s and already quarantined records are counted and dropped, never written twice. Each run
then compacts complete days and registers the partitions it wrote in the Glue Data Catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from glue import catalog, transforms
from glue.bookmark import Bookmark
from vigia_core import clock, config
from vigia_core.config import Pipeline
from vigia_core.contract.checks import Limits

COMPACT_AFTER_S = 3600  # a day is compacted once this long (plus Firehose's buffer interval) has passed since it ended


def raw_prefix(p: Pipeline) -> str:
    """The folders of the Firehose prefix before its first expression (e.g. `raw/`)."""
    static = p.firehose.prefix.split("!{", 1)[0]
    return static[:static.rfind("/") + 1]


def table_path(p: Pipeline, scheme: str, table: str) -> str:
    return f"{scheme}://{p.buckets.gold}/{table}/"


def aws_client(spark: SparkSession, p: Pipeline, service: str):
    """A boto3 client where the job's s3a goes: the local endpoint when the session has one (local
    runs), the AWS default chain otherwise (in Glue)."""
    import boto3

    endpoint = spark.conf.get("spark.hadoop.fs.s3a.endpoint", None)
    if endpoint is None:
        return boto3.client(service, region_name=p.region)
    return boto3.client(service, region_name=p.region, endpoint_url=endpoint,
                        aws_access_key_id=spark.conf.get("spark.hadoop.fs.s3a.access.key"),
                        aws_secret_access_key=spark.conf.get("spark.hadoop.fs.s3a.secret.key"))


def _list(s3, bucket: str, prefix: str) -> list[dict]:
    return [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]


def _is_data(key: str) -> bool:
    return not any(seg.startswith(("_", ".")) for seg in key.split("/"))


def read_raw_text(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Every record line of the objects at `paths` with the file it came from (gzip is decoded by
    extension)."""
    if not paths:
        return spark.createDataFrame([], "line string, source_file string")
    df = spark.read.text(paths)
    return df.select(F.col("value").alias("line"), F.input_file_name().alias("source_file"))


def read_days(spark: SparkSession, s3, p: Pipeline, scheme: str, table: str, days: list[str],
              columns: list[str]) -> DataFrame | None:
    """`columns` of the `dt=` partitions of `table` for `days` (only those that exist), or None."""
    folders = [f"{table}/dt={d}/" for d in days]
    present = [f for f in folders if s3.list_objects_v2(Bucket=p.buckets.gold, Prefix=f, MaxKeys=1).get("KeyCount")]
    if not present:
        return None
    base = table_path(p, scheme, table)
    return (spark.read.option("basePath", base).parquet(*(f"{scheme}://{p.buckets.gold}/{f}" for f in present))
            .select(*columns))


def compact(spark: SparkSession, s3, p: Pipeline, scheme: str, table: str, partition_by: list[str],
            days: list[str]) -> int:
    """Rewrite each partition of `days` that holds more than one file as one file; returns how many
    partitions were rewritten. Only complete days are passed in: hourly runs add no file to them
    (a late event may add one, and the next run compacts that day again)."""
    rewritten = 0
    for d in days:
        files: dict[str, int] = {}
        for o in _list(s3, p.buckets.gold, f"{table}/dt={d}/"):
            if _is_data(o["Key"]):
                folder = o["Key"].rsplit("/", 1)[0]
                files[folder] = files.get(folder, 0) + 1
        if not any(n > 1 for n in files.values()):
            continue
        base = table_path(p, scheme, table)
        # Materialised first: the rewrite replaces the very files it reads.
        day = spark.read.option("basePath", base).parquet(f"{base}dt={d}/").localCheckpoint()
        day.repartition(*partition_by).write.mode("overwrite").partitionBy(*partition_by).parquet(base)
        rewritten += sum(1 for n in files.values() if n > 1)
    return rewritten


def complete_days(now: datetime, grace: timedelta, touched: list[str]) -> list[str]:
    """The days among `touched`, and the last day, that ended more than `grace` before `now`."""
    last_complete = (now - grace).date() - timedelta(days=1)
    return sorted({d for d in touched if date.fromisoformat(d) <= last_complete} | {last_complete.isoformat()})


def run(spark: SparkSession, p: Pipeline, raw: DataFrame | None = None, *, scheme: str = "s3a",
        now: datetime | None = None, full: bool = False) -> dict:
    """Transform raw records into the gold tables; returns the counts of where every record went.

    Without `raw` (local runs), the raw objects are listed and only those the local bookmark has not
    seen are read (`full`: all of them); in Glue, `raw` comes from a bookmarked DynamicFrame.
    """
    now = now or clock.now()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")  # dt stays a string
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")  # not legacy INT96
    s3, glue = aws_client(spark, p, "s3"), aws_client(spark, p, "glue")
    laps = [time.perf_counter()]

    def lap() -> float:
        laps.append(time.perf_counter())
        return round(laps[-1] - laps[-2], 2)

    bookmark, listed = None, []
    if raw is None:
        bookmark = Bookmark(s3, p.buckets.artifacts, p.glue.etl_job)
        listed = [o for o in _list(s3, p.buckets.raw, raw_prefix(p)) if _is_data(o["Key"])]
        todo = listed if full else bookmark.new(listed)
        raw = read_raw_text(spark, [f"{scheme}://{p.buckets.raw}/{o['Key']}" for o in todo])
    t = p.glue.tables
    events_path, quarantine_path = table_path(p, scheme, t.events), table_path(p, scheme, t.quarantine)
    checked = transforms.validate(raw, Limits.of(p), now, p.firehose.buffering.interval_s)
    s = transforms.split(
        checked, now,
        lambda days: read_days(spark, s3, p, scheme, t.events, days, ["event_id"]),
        lambda days: read_days(spark, s3, p, scheme, t.quarantine, days, ["dt", "record_id"]))
    gold_rows, quarantined = s.gold_rows, s.quarantined
    seconds = {"read_validate_dedup": lap()}
    # One task per output partition: one file per folder and run, not one per task and folder
    # (small files cost Athena a request and a footer each).
    if gold_rows:
        s.gold.repartition("dt", "source").write.mode("append").partitionBy("dt", "source").parquet(events_path)
    if quarantined:
        s.quarantine.repartition("dt").write.mode("append").partitionBy("dt").parquet(quarantine_path)
    seconds["write"] = lap()
    # The partitions the run wrote, each listed once (the hourly step, compaction and the catalog use them)
    gold_parts = sorted(tuple(r) for r in s.gold.select("dt", "source").distinct().collect())
    touched = sorted({dt for dt, _ in gold_parts})
    quarantine_days = transforms.days(s.quarantine)
    if touched:  # recompute the hourly aggregates of every day that gained events
        events = read_days(spark, s3, p, scheme, t.events, touched, ["*"])
        (transforms.hourly(events).repartition("dt").write.mode("overwrite").partitionBy("dt")
         .parquet(table_path(p, scheme, t.hourly)))
    seconds["hourly"] = lap()
    grace = timedelta(seconds=p.firehose.buffering.interval_s + COMPACT_AFTER_S)
    compacted = (compact(spark, s3, p, scheme, t.events, ["dt", "source"], complete_days(now, grace, touched))
                 + compact(spark, s3, p, scheme, t.quarantine, ["dt"],
                           complete_days(now, grace, quarantine_days)))
    seconds["compact"] = lap()
    gold = f"s3://{p.buckets.gold}/"
    registered = sum(catalog.register(glue, p.glue.database, table, f"{gold}{table}/", schema, keys, parts) for
                     table, schema, keys, parts in (
                         (t.events, s.gold.schema, ["dt", "source"],
                          gold_parts),
                         (t.quarantine, s.quarantine.schema, ["dt"], [(d,) for d in quarantine_days]),
                         (t.hourly, transforms.hourly(s.gold).schema, ["dt"], [(d,) for d in touched])))
    seconds["catalog"] = lap()
    if bookmark is not None:
        bookmark.commit(listed)
    return {"raw_records": s.raw_records, "gold_rows": gold_rows, "quarantined": quarantined,
            "duplicates_dropped": s.duplicates_dropped, "already_quarantined": s.already_quarantined,
            "hourly_days_recomputed": len(touched), "partitions_compacted": compacted,
            "partitions_registered": registered, "seconds": seconds}


def main_glue() -> None:  # pragma: no cover - runs only inside AWS Glue
    import boto3
    import yaml
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "pipeline_uri"])
    bucket, key = args["pipeline_uri"].removeprefix("s3://").split("/", 1)
    p = config.parse(yaml.safe_load(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()),
                     origin=args["pipeline_uri"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    # One column per line: a separator that never occurs and no quoting keep each record's text intact.
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3", format="csv",
        connection_options={"paths": [f"s3://{p.buckets.raw}/{raw_prefix(p)}"], "recurse": True},
        format_options={"separator": "\u0001", "quoteChar": -1, "withHeader": False,
                        "attachFilename": "source_file"},
        transformation_ctx="raw_records")
    df = frame.toDF()
    raw = (df.select(F.col("col0").alias("line"), "source_file") if "col0" in df.columns  # no new files: no columns
           else glue_context.spark_session.createDataFrame([], "line string, source_file string"))
    print(json.dumps(run(glue_context.spark_session, p, raw, scheme="s3")))
    job.commit()


def main_local(argv: list[str]) -> dict:
    from glue import spark_local

    # The endpoint is given, not looked up: the job stands on the shared core only, never on the
    # local runtime (`vigia etl` is the command that finds the local endpoint itself).
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", default=None, help="pipeline.yaml (default: the repo's)")
    ap.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"),
                    help="local S3 endpoint, e.g. http://127.0.0.1:5055 (default: $AWS_ENDPOINT_URL)")
    ap.add_argument("--full", action="store_true", help="read every raw object, not only new ones")
    a = ap.parse_args(argv)
    if not a.endpoint:
        ap.error("--endpoint is required (or $AWS_ENDPOINT_URL)")
    p = config.load(a.pipeline)
    counts = run(spark_local.session(a.endpoint, p.region), p, full=a.full)
    print(json.dumps(counts))
    return counts


if __name__ == "__main__":
    try:
        import awsglue  # noqa: F401
    except ImportError:
        main_local(sys.argv[1:])
    else:
        main_glue()
