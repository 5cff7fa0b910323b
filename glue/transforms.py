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
    gold_rows: int           # rows of `gold`
    quarantined: int         # rows of `quarantine`


StoredKeys = Callable[[list[str]], "DataFrame | None"]  # days -> the stored keys of those days (or None)

# The grouping sets of the census (`split`), as grouping_id() numbers them: a bit per GROUP BY
# column, set when the column is not in the set.
_PER_ID, _PER_DAY, _PER_ARRIVAL_DAY = 0b011, 0b101, 0b110


def split(checked: DataFrame, now: datetime, stored_event_ids: StoredKeys, stored_record_ids: StoredKeys) -> Split:
    """Route every validated record to gold, quarantine or a count (which the caller reports).

    Dedup reads only what the batch can collide with: the gold `event_id`s of the days the batch's
    events fall in (an event_id names one reading, so its copies carry the same event time), and
    the quarantine `record_id`s of the days the batch's invalid records arrived.

    Within the batch, one event_id keeps its first ingested copy (ties broken by the hashes of the
    file name and the text, so reruns agree). Almost every event_id of a batch occurs once: only the
    copies of repeated ids are shuffled and sorted; the other rows stay where they are (sorting every
    row by event_id was the transform's largest cost after validation).
    """
    is_valid, is_invalid = F.col("reason_code").isNull(), F.col("reason_code").isNotNull()
    cols = [c.name for c in contract.columns()]
    # Validated once and kept as rows (localCheckpoint), not as Spark's columnar cache: building
    # the compressed columns cost as much as the checks, and each later pass decoded them again.
    # A valid record's text and file name are needed only as hashes (ties between copies), the
    # event_id as a 64-bit hash to find the repeated ones (a collision only sends an id the way of
    # the copies, where the real ids are compared).
    rows = checked.select(
        *cols, F.when(is_valid, day(F.col("event_time"))).alias("dt"),
        F.when(is_valid, F.xxhash64("event_id")).alias("_id"),
        F.xxhash64("line").alias("_text"), F.xxhash64("source_file").alias("_file"), "reason_code", "reason",
        *(F.when(is_invalid, F.col(c)).alias(c) for c in ("line", "source_file", "arrival_dt"))).localCheckpoint()
    # One pass for everything the routing needs to know first: the valid records' days and the
    # invalid ones' arrival days (which stored keys to read), the counts, and the repeated ids.
    census = rows.sparkSession.sql(
        "SELECT _id, dt, arrival_dt, count(*) AS n, grouping_id() AS g FROM {rows} "
        "GROUP BY GROUPING SETS ((_id), (dt), (arrival_dt))", rows=rows)
    census = census.where(f"g != {_PER_ID} OR (_id IS NOT NULL AND n > 1)").localCheckpoint()
    per_day = census.where(f"g != {_PER_ID}").collect()  # a few rows a day of the batch
    event_days = sorted(r.dt for r in per_day if r.g == _PER_DAY and r.dt is not None)
    arrival_days = sorted(r.arrival_dt for r in per_day if r.g == _PER_ARRIVAL_DAY and r.arrival_dt is not None)
    total = sum(r.n for r in per_day if r.g == _PER_DAY)
    n_valid = sum(r.n for r in per_day if r.g == _PER_DAY and r.dt is not None)

    valid = rows.where(is_valid)
    repeated = F.broadcast(census.where(f"g = {_PER_ID}").select("_id"))
    once = valid.join(repeated, "_id", "left_anti")
    w = Window.partitionBy("event_id").orderBy("ingest_time", "_file", "_text")
    copies = valid.join(repeated, "_id", "left_semi").withColumn("_n", F.row_number().over(w)).where("_n = 1")
    # Materialised now, with their lineage cut: the caller appends them to the very tables they were
    # compared with, and a recomputation after that would find nothing new.
    gold = new_rows(once.select(*cols, "dt").unionByName(copies.select(*cols, "dt")),
                    stored_event_ids(event_days), "event_id").localCheckpoint()
    distinct_invalid = quarantine_rows(rows.where(is_invalid), now)
    if total == n_valid:  # nothing to quarantine: no pass over the rows to find that out again
        distinct_invalid = quarantine = rows.sparkSession.createDataFrame([], distinct_invalid.schema)
    else:
        distinct_invalid = distinct_invalid.localCheckpoint()
        quarantine = new_rows(distinct_invalid, stored_record_ids(arrival_days), "dt", "record_id").localCheckpoint()
    n_distinct_invalid, n_gold, n_quarantine = distinct_invalid.count(), gold.count(), quarantine.count()
    return Split(gold, quarantine, total,
                 duplicates_dropped=(n_valid - n_gold) + (total - n_valid - n_distinct_invalid),
                 already_quarantined=n_distinct_invalid - n_quarantine, gold_rows=n_gold, quarantined=n_quarantine)
