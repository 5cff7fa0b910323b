"""Raw -> gold transformations: plain functions over Spark DataFrames, shared by Glue and local runs.

Every raw record ends in exactly one place: a gold `events` row, a `quarantine` row with the reason,
or a counted duplicate (an `event_id` already in gold or earlier in the batch, or the very same
invalid record already quarantined). The functions never read or write storage themselves;
`glue/raw_to_gold.py` does the I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vigia import contract
from vigia.config import MetricSpec

_SPARK_TYPES = {
    "string": T.StringType(),
    "double": T.DoubleType(),
    "int": T.IntegerType(),
    "timestamp": T.TimestampType(),
    "map<string,string>": T.MapType(T.StringType(), T.StringType()),
}
P95 = 0.95


def event_schema(parse: bool = False) -> T.StructType:
    """The envelope as a Spark schema, from the contract's columns. With `parse`, timestamps are
    strings (as on the wire) so that they can be cast explicitly."""
    def typ(c):
        return T.StringType() if parse and c.type == "timestamp" else _SPARK_TYPES[c.type]
    return T.StructType([T.StructField(c.name, typ(c), not c.required) for c in contract.columns()])


def _contract_reason(line: str) -> str | None:
    try:
        event = json.loads(line)
    except ValueError as err:
        return f"(record): not valid JSON ({err.msg} at position {err.pos})"
    errors = contract.validate(event)
    return "; ".join(str(e) for e in errors) if errors else None


contract_reason = F.udf(_contract_reason, T.StringType())


def _spec_lookup(metrics: dict[str, MetricSpec], attr: str) -> Column:
    pairs = [x for name, spec in sorted(metrics.items()) for x in (F.lit(name), F.lit(getattr(spec, attr)))]
    return F.create_map(*pairs)[F.col("metric")]


def validate(raw: DataFrame, metrics: dict[str, MetricSpec], now: datetime, max_future_skew_s: int) -> DataFrame:
    """Add `reason` (null when valid) and the typed envelope columns to raw records.

    `raw` has `line` (the record text) and `source_file`. Checks, in order: the event contract
    (same function as the producer), then the gold rules: declared metric, its unit, its physical
    range, and an event_time no later than `now` + skew.
    """
    parsed = (raw.withColumn("reason", contract_reason("line"))
              .withColumn("e", F.from_json("line", event_schema(parse=True))).select("*", "e.*").drop("e"))
    unit, lo, hi = (_spec_lookup(metrics, a) for a in ("unit", "min", "max"))
    event_time = F.col("event_time").cast("timestamp")
    limit = F.lit(now).cast("timestamp") + F.expr(f"INTERVAL {int(max_future_skew_s)} SECONDS")
    rule = (F.when(unit.isNull(), F.format_string("metric: %s is not declared in the pipeline's metrics", "metric"))
            .when(F.col("unit") != unit,
                  F.format_string("unit: must be %s for %s, got %s", unit, F.col("metric"), F.col("unit")))
            .when((F.col("value") < lo) | (F.col("value") > hi),
                  F.format_string("value: %s is outside the physical range [%s, %s] of %s",
                                  F.col("value").cast("string"), lo.cast("string"), hi.cast("string"), F.col("metric")))
            .when(event_time > limit,
                  F.format_string("event_time: %s is in the future (job time %s)", F.col("event_time"),
                                  F.lit(now.isoformat()))))
    return (parsed.withColumn("reason", F.coalesce("reason", rule))
            .withColumn("event_time", event_time)
            .withColumn("ingest_time", F.col("ingest_time").cast("timestamp")))


def to_gold_events(valid: DataFrame) -> DataFrame:
    """Typed gold rows in contract column order, plus the `dt` partition from the event's own time."""
    names = [c.name for c in contract.columns()]
    return valid.select(*names).withColumn("dt", F.date_format("event_time", "yyyy-MM-dd"))


def first_per_event_id(valid: DataFrame) -> DataFrame:
    """One row per event_id: the first ingested (ties broken by file and text, so reruns agree)."""
    w = Window.partitionBy("event_id").orderBy("ingest_time", "source_file", "line")
    return valid.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")


def new_rows(batch: DataFrame, existing: DataFrame | None, key: str) -> DataFrame:
    """Rows of `batch` whose `key` is not in `existing` (the gold table so far)."""
    if existing is None:
        return batch
    return batch.join(existing.select(key).distinct(), key, "left_anti")


def quarantine_rows(invalid: DataFrame, now: datetime) -> DataFrame:
    """One row per distinct invalid record, keyed by the hash of its text."""
    return (invalid.select(F.sha2("line", 256).alias("record_id"), F.col("line").alias("raw_record"), "reason",
                           "source_file")
            .dropDuplicates(["record_id"])
            .withColumn("quarantined_at", F.lit(now).cast("timestamp"))
            .withColumn("dt", F.lit(now.strftime("%Y-%m-%d"))))


def hourly(events: DataFrame) -> DataFrame:
    """Per entity, metric and hour: count, min, max, avg and the exact 95th percentile of value, and
    the newest event time (so that freshness questions need not scan the events)."""
    return (events.withColumn("hour", F.date_trunc("hour", "event_time"))
            .groupBy("dt", "hour", "source", "entity_id", "metric", "unit")
            .agg(F.count("*").alias("readings"), F.min("value").alias("min_value"),
                 F.max("value").alias("max_value"), F.avg("value").alias("avg_value"),
                 F.percentile("value", F.lit(P95)).alias("p95_value"),
                 F.max("event_time").alias("last_event_time")))


@dataclass(frozen=True)
class Split:
    gold: DataFrame          # new gold rows
    quarantine: DataFrame    # new quarantine rows
    raw_records: int
    duplicates_dropped: int


def split(raw: DataFrame, existing_events: DataFrame | None, existing_quarantine: DataFrame | None,
          metrics: dict[str, MetricSpec], now: datetime, max_future_skew_s: int) -> Split:
    """Route every raw record to gold, quarantine or the duplicate count (which the caller reports)."""
    checked = validate(raw, metrics, now, max_future_skew_s).cache()
    valid, invalid = checked.where("reason IS NULL"), checked.where("reason IS NOT NULL")
    # Materialised now, with their lineage cut: the caller appends them to the very tables they were
    # compared with, and a recomputation after that would find nothing new.
    gold = new_rows(to_gold_events(first_per_event_id(valid)), existing_events, "event_id").localCheckpoint()
    quarantine = new_rows(quarantine_rows(invalid, now), existing_quarantine, "record_id").localCheckpoint()
    total = checked.count()
    return Split(gold, quarantine, total, total - gold.count() - quarantine.count())
