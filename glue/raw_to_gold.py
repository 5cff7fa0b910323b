"""Glue 5.0 job `raw_to_gold`: raw gzip JSON lines (Firehose output) -> gold Parquet tables.

In AWS: Glue runs this file with `--extra-py-files vigia_glue_libs.zip` and `--pipeline_uri
s3://.../pipeline.yaml`; the raw read goes through a DynamicFrame with a `transformation_ctx`, so
job bookmarks (`--job-bookmark-option job-bookmark-enable`) skip files already processed.
Locally: `python glue/raw_to_gold.py --endpoint http://127.0.0.1:PORT` runs the same `run()` in a
plain SparkSession against the moto S3 through s3a. Reruns are harmless either way: duplicates of
gold `event_id`s and already quarantined records are counted and dropped, never written twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from glue import transforms
from vigia import clock, config
from vigia.config import Pipeline


def raw_prefix(p: Pipeline) -> str:
    """The folders of the Firehose prefix before its first expression (e.g. `raw/`)."""
    static = p.firehose.prefix.split("!{", 1)[0]
    return static[:static.rfind("/") + 1]


def table_path(p: Pipeline, scheme: str, table: str) -> str:
    return f"{scheme}://{p.buckets.gold}/{table}/"


def read_raw_text(spark: SparkSession, path: str) -> DataFrame:
    """Every record line under `path` with the file it came from (gzip is decoded by extension)."""
    try:
        df = spark.read.option("recursiveFileLookup", "true").text(path)
    except AnalysisException as err:
        if "PATH_NOT_FOUND" not in str(err) and "Path does not exist" not in str(err):
            raise
        return spark.createDataFrame([], "line string, source_file string")
    return df.select(F.col("value").alias("line"), F.input_file_name().alias("source_file"))


def read_table(spark: SparkSession, path: str) -> DataFrame | None:
    try:
        return spark.read.parquet(path)
    except AnalysisException as err:
        if "PATH_NOT_FOUND" in str(err) or "Path does not exist" in str(err) or "UNABLE_TO_INFER_SCHEMA" in str(err):
            return None
        raise


def run(spark: SparkSession, p: Pipeline, raw: DataFrame | None = None, *, scheme: str = "s3a",
        now: datetime | None = None) -> dict:
    """Transform raw records into the gold tables; returns the counts of where every record went."""
    now = now or clock.now()
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")  # dt stays a string
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")  # not legacy INT96
    if raw is None:
        raw = read_raw_text(spark, f"{scheme}://{p.buckets.raw}/{raw_prefix(p)}")
    t = p.glue.tables
    events_path, quarantine_path = table_path(p, scheme, t.events), table_path(p, scheme, t.quarantine)
    laps = [time.perf_counter()]

    def lap() -> float:
        laps.append(time.perf_counter())
        return round(laps[-1] - laps[-2], 1)

    s = transforms.split(raw, read_table(spark, events_path), read_table(spark, quarantine_path),
                         p.metrics, now, p.producer.max_future_skew_s)
    gold_rows, quarantined = s.gold.count(), s.quarantine.count()
    seconds = {"read_validate_dedup": lap()}
    # One task per output partition: one file per folder and run, not one per task and folder
    # (small files cost Athena a request and a footer each).
    if gold_rows:
        s.gold.repartition("dt", "source").write.mode("append").partitionBy("dt", "source").parquet(events_path)
    if quarantined:
        s.quarantine.repartition("dt").write.mode("append").partitionBy("dt").parquet(quarantine_path)
    seconds["write"] = lap()
    touched = sorted(r.dt for r in s.gold.select("dt").distinct().collect())
    if touched:  # recompute the hourly aggregates of every day that gained events
        events = spark.read.parquet(events_path).where(F.col("dt").isin(touched))
        (transforms.hourly(events).repartition("dt").write.mode("overwrite").partitionBy("dt")
         .parquet(table_path(p, scheme, t.hourly)))
    seconds["hourly"] = lap()
    return {"raw_records": s.raw_records, "gold_rows": gold_rows, "quarantined": quarantined,
            "duplicates_dropped": s.duplicates_dropped, "hourly_days_recomputed": len(touched),
            "seconds": seconds}


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
    from vigia.local import aws

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", default=None, help="pipeline.yaml (default: the repo's)")
    ap.add_argument("--endpoint", default=None, help="local S3 endpoint (default: the moto server)")
    a = ap.parse_args(argv)
    p = config.load(a.pipeline)
    counts = run(spark_local.session(a.endpoint or aws.endpoint(), p.region), p)
    print(json.dumps(counts))
    return counts


if __name__ == "__main__":
    try:
        import awsglue  # noqa: F401
    except ImportError:
        main_local(sys.argv[1:])
    else:
        main_glue()
