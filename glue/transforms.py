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


def event_schema() -> T.StructType:
    """The envelope as a Spark schema, from the contract's columns."""
    return T.StructType([T.StructField(c.name, _SPARK_TYPES[c.type], not c.required) for c in contract.columns()])


def validate(raw: DataFrame, limits: Limits, now: datetime, buffer_interval_s: int) -> DataFrame:
    """`raw` (`line`, `source_file`) with `reason_code`/`reason` (null when valid), the typed envelope
    and `arrival_dt`, the day the record arrived (its quarantine partition).

    The arrival: the record's `ingest_time` clamped into the window its Firehose object's name gives
    (validation.Arrival), worked out by the JVM once per file: as Spark expressions (a regular
    expression and a time parse) once per record, it cost twice as much as the checks themselves."""
    arrival = validation.Arrival(now, buffer_interval_s, clock.offset().total_seconds())
    out = validation.checked(raw, limits, arrival)
    return out.withColumn("arrival_dt", day(F.col("arrival"))).drop("arrival")


def day(ts: Column) -> Column:
    """The UTC day of a timestamp as `yyyy-MM-dd` (the session zone is UTC); a date's text is
    cheaper to make than `date_format`'s."""
    return F.to_date(ts).cast("string")


def to_gold_events(valid: DataFrame) -> DataFrame:
    """Typed gold rows in contract column order, plus the `dt` partition from the event's own time."""
    names = [c.name for c in contract.columns()]
    return valid.select(*names).withColumn("dt", day(F.col("event_time")))


def first_per_event_id(valid: DataFrame) -> DataFrame:
    """One row per event_id: the first ingested (ties broken by the file and the text, so reruns
    agree). The sort carries their hashes (`_file`, `_text`), not the texts.

    Almost every event_id of a batch occurs once: only the copies of repeated ids are shuffled and
    sorted (finding them shuffles the ids alone, partially aggregated); the other rows stay where
    they are. Sorting every row by event_id was the transform's largest cost after validation."""
    cols = [c.name for c in contract.columns()]
    slim = valid.select(*cols, "_file", "_text")
    repeated = F.broadcast(slim.groupBy("event_id").count().where("count > 1").select(F.col("event_id").alias("_id")))
    once = slim.join(repeated, F.col("event_id") == F.col("_id"), "left_anti")
    w = Window.partitionBy("event_id").orderBy("ingest_time", "_file", "_text")
    copies = (slim.join(repeated, F.col("event_id") == F.col("_id"), "left_semi")
              .withColumn("_n", F.row_number().over(w)).where("_n = 1"))
    return once.select(*cols).unionByName(copies.select(*cols))


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
    # Cached once validated. A valid record's text and file name are needed only as hashes
    # (first_per_event_id): building the cache of every record's file name cost as much as the checks.
    invalid_only = F.col("reason_code").isNotNull()
    checked = checked.select(*(c for c in checked.columns if c not in ("line", "source_file")),
                             F.xxhash64("line").alias("_text"), F.xxhash64("source_file").alias("_file"),
                             F.when(invalid_only, F.col("line")).alias("line"),
                             F.when(invalid_only, F.col("source_file")).alias("source_file")).cache()
    valid, invalid = checked.where("reason_code IS NULL"), checked.where("reason_code IS NOT NULL")
    distinct_invalid = quarantine_rows(invalid, now).cache()
    event_days = days(valid.select(day(F.col("event_time")).alias("dt")))
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
