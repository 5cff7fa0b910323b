"""Raw -> gold transformations: plain functions over Spark DataFrames, shared by Glue and local runs.

Every raw record ends in exactly one place: a gold `events` row, a `quarantine` row with the reason
and the record's text, or a count: a duplicate (an `event_id` already in gold or earlier in the
batch, or the same invalid record twice in the batch) or an already quarantined record. The
functions never read or write storage themselves; `glue/raw_to_gold.py` does the I/O, and hands in
only the stored keys a batch can collide with (see `split`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from glue import validation
from vigia_core import clock, contract
from vigia_core.contract.checks import Limits

_SPARK_TYPES = {
    "string": T.StringType(),
    "double": T.DoubleType(),
    "int": T.IntegerType(),
    "timestamp": T.TimestampType(),
    "map<string,string>": T.MapType(T.StringType(), T.StringType()),
}
P95 = 0.95
# The time Firehose puts in an object's name: the arrival of the object's oldest record (UTC, seconds).
_OBJECT_TIME = r"-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-fA-F-]{36}[^/]*$"


def event_schema() -> T.StructType:
    """The envelope as a Spark schema, from the contract's columns."""
    return T.StructType([T.StructField(c.name, _SPARK_TYPES[c.type], not c.required) for c in contract.columns()])


def arrival_window(source_file: Column, now: datetime, buffer_interval_s: int) -> tuple[Column, Column]:
    """Earliest and latest arrival on the stream of a record read from `source_file`.

    A Firehose object's name carries the arrival of its oldest record, and the buffer holds records
    for at most `buffer_interval_s`: every record of the object arrived in that window (the record's
    own `ingest_time` is clamped into it). A file without that name arrived, as far as we know, `now`.
    """
    stamp = F.regexp_extract(source_file, _OBJECT_TIME, 1)
    # The service stamps the wall clock; the pipeline's clock may be moved (tests: vigia_core.clock.shifted).
    shift = F.make_interval(secs=F.lit(clock.offset().total_seconds()))
    oldest = F.to_timestamp(stamp, "yyyy-MM-dd-HH-mm-ss") + shift
    known = stamp != ""
    # +1 s: the name's time is truncated to the second.
    latest = oldest + F.make_interval(secs=F.lit(buffer_interval_s + 1))
    return (F.when(known, oldest).otherwise(F.lit(now)), F.when(known, latest).otherwise(F.lit(now)))


def validate(raw: DataFrame, limits: Limits, now: datetime, buffer_interval_s: int) -> DataFrame:
    """`raw` (`line`, `source_file`) with `reason_code`/`reason` (null when valid), the typed envelope
    and `arrival_dt`, the day the record arrived (its quarantine partition)."""
    window = arrival_window(F.col("source_file"), now, buffer_interval_s)
    out = validation.checked(raw, limits, window)
    arrival = F.greatest(window[0], F.least(window[1], F.col("ingest_time")))
    return out.withColumn("arrival_dt", F.date_format(arrival, "yyyy-MM-dd"))


def to_gold_events(valid: DataFrame) -> DataFrame:
    """Typed gold rows in contract column order, plus the `dt` partition from the event's own time."""
    names = [c.name for c in contract.columns()]
    return valid.select(*names).withColumn("dt", F.date_format("event_time", "yyyy-MM-dd"))


def first_per_event_id(valid: DataFrame) -> DataFrame:
    """One row per event_id: the first ingested (ties broken by file and text, so reruns agree).
    The sort carries the hash of the record's text (`_text`), not the text."""
    w = Window.partitionBy("event_id").orderBy("ingest_time", "source_file", "_text")
    slim = valid.select(*(c.name for c in contract.columns()), "source_file", "_text")
    return slim.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n", "_text")


def new_rows(batch: DataFrame, existing: DataFrame | None, *keys: str) -> DataFrame:
    """Rows of `batch` whose `keys` are not in `existing` (the stored keys the batch can collide with)."""
    if existing is None:
        return batch
    return batch.join(existing.select(*keys).distinct(), list(keys), "left_anti")


def quarantine_rows(invalid: DataFrame, now: datetime) -> DataFrame:
    """One row per distinct invalid record of an arrival day, keyed by the hash of its text."""
    return (invalid.select(F.sha2("line", 256).alias("record_id"), F.col("line").alias("raw_record"),
                           "reason_code", "reason", "source_file", F.col("arrival_dt").alias("dt"))
            .dropDuplicates(["dt", "record_id"])
            .withColumn("quarantined_at", F.lit(now).cast("timestamp")))


def hourly(events: DataFrame) -> DataFrame:
    """Per entity, metric and hour: count, min, max, avg and the exact 95th percentile of value, and
    the newest event time (so that freshness questions need not scan the events)."""
    return (events.withColumn("hour", F.date_trunc("hour", "event_time"))
            .groupBy("dt", "hour", "source", "entity_id", "metric", "unit")
            .agg(F.count("*").alias("readings"), F.min("value").alias("min_value"),
                 F.max("value").alias("max_value"), F.avg("value").alias("avg_value"),
                 F.percentile("value", F.lit(P95)).alias("p95_value"),
                 F.max("event_time").alias("last_event_time")))


def days(df: DataFrame, column: str = "dt") -> list[str]:
    return sorted(r[0] for r in df.select(column).distinct().collect())


@dataclass(frozen=True)
class Split:
    gold: DataFrame          # new gold rows
    quarantine: DataFrame    # new quarantine rows
    raw_records: int
    duplicates_dropped: int  # valid copies of an event_id (in the batch or in gold), repeated invalid records
    already_quarantined: int  # invalid records a previous run stored in quarantine


StoredKeys = Callable[[list[str]], "DataFrame | None"]  # days -> the stored keys of those days (or None)


def split(checked: DataFrame, now: datetime, stored_event_ids: StoredKeys, stored_record_ids: StoredKeys) -> Split:
    """Route every validated record to gold, quarantine or a count (which the caller reports).

    Dedup reads only what the batch can collide with: the gold `event_id`s of the days the batch's
    events fall in (an event_id names one reading, so its copies carry the same event time), and
    the quarantine `record_id`s of the days the batch's invalid records arrived.
    """
    # Cached once validated; a valid record's text is needed only as its hash (first_per_event_id).
    checked = checked.select(*(c for c in checked.columns if c != "line"), F.xxhash64("line").alias("_text"),
                             F.when(F.col("reason_code").isNotNull(), F.col("line")).alias("line")).cache()
    valid, invalid = checked.where("reason_code IS NULL"), checked.where("reason_code IS NOT NULL")
    distinct_invalid = quarantine_rows(invalid, now).cache()
    event_days = days(valid.select(F.date_format("event_time", "yyyy-MM-dd").alias("dt")))
    # Materialised now, with their lineage cut: the caller appends them to the very tables they were
    # compared with, and a recomputation after that would find nothing new.
    gold = new_rows(to_gold_events(first_per_event_id(valid)), stored_event_ids(event_days),
                    "event_id").localCheckpoint()
    quarantine = new_rows(distinct_invalid, stored_record_ids(days(distinct_invalid)),
                          "dt", "record_id").localCheckpoint()
    total, n_valid = checked.agg(F.count("*"), F.count(F.when(F.col("reason_code").isNull(), 1))).first()
    n_distinct_invalid, n_gold, n_quarantine = distinct_invalid.count(), gold.count(), quarantine.count()
    return Split(gold, quarantine, total,
                 duplicates_dropped=(n_valid - n_gold) + (total - n_valid - n_distinct_invalid),
                 already_quarantined=n_distinct_invalid - n_quarantine)
