"""The contract checks and gold rules of `vigia_core.contract.checks`, evaluated in the Glue job.

One Java function decides: `io.vigia.glue.CheckRecordUdf` (glue/udf, in the job's jar
`vigia-glue-checks.jar`) wraps `io.vigia.checks.RecordChecks` (jvm/checks), the very class the
Flink job's `VIGIA_CHECK` calls. It reads each record once (strict JSON as Python's `json.loads`
reads it) and runs the check list that `checks.as_json` writes: the first failing check is the
record's `reason_code`, the same code `checks.first_failure` gives in Python. No Python UDF, and no
Spark JSON functions: the Spark expressions this replaced parsed every record twice with
`from_json` and evaluated ~60 column expressions a record (docs/benchmarks.md, issue #13).

The arrival the age rules measure against is the record's `ingest_time` clamped into the window its
Firehose object was delivered in (`Arrival`, worked out by the UDF once per file); the reason is
composed here, bounded: `field: why (got "a short prefix", its length)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vigia_core import contract
from vigia_core.contract import checks as C

UDF_CLASS = "io.vigia.glue.CheckRecordUdf"
JAR = "vigia-glue-checks.jar"  # built by `make glue-udf` (glue/udf), the job's --extra-jars in AWS
ARRIVAL_FIELD = "ingest_time"  # the record's own arrival time, clamped into its file's delivery window
DETAIL_CHARS = 32  # a reason quotes at most this much of the offending value, and gives its length
# How the UDF hands back each contract column type (timestamps as epoch microseconds: casting their
# text in Spark cost more than the Java parse).
_KINDS = {"string": ("string", T.StringType()), "timestamp": ("micros", T.LongType()),
          "double": ("double", T.DoubleType()), "int": ("int", T.IntegerType()),
          "map<string,string>": ("string_map", T.MapType(T.StringType(), T.StringType()))}


# The time Firehose puts in an object's name: the arrival of the object's oldest record (UTC, seconds).
OBJECT_TIME = r"-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-fA-F-]{36}[^/]*$"
OBJECT_TIME_FORMAT = "yyyy-MM-dd-HH-mm-ss"


@dataclass(frozen=True)
class Arrival:
    """When a record read from a file reached the stream, as far as the batch path can know.

    A Firehose object's name carries the arrival of its oldest record, and the buffer holds records
    for at most `buffer_interval_s`: every record of the object arrived in [that time, that time +
    the interval + 1 s (the name's time is truncated to the second)], and the record's own
    `ingest_time` is clamped into it. A file without that name arrived, as far as we know, at
    `unknown` (the run's time). `shift_s`: the service stamps the wall clock, the pipeline's clock
    may be moved (vigia_core.clock.offset).
    """
    unknown: datetime
    buffer_interval_s: int
    shift_s: float = 0.0

    def as_json(self) -> str:
        return json.dumps({"name_time": OBJECT_TIME, "name_time_format": OBJECT_TIME_FORMAT,
                           "shift_ms": round(self.shift_s * 1000), "window_ms": (self.buffer_interval_s + 1) * 1000,
                           "unknown_ms": round(self.unknown.timestamp() * 1000)})


def register(spark: SparkSession, limits: C.Limits, arrival: Arrival) -> str:
    """Register the checks of `limits` as a Java UDF in `spark`; returns its name (one per check
    list and arrival rule)."""
    columns = contract.columns()
    spec, rule = C.as_json(limits), arrival.as_json()
    outputs = json.dumps({c.name: _KINDS[c.type][0] for c in columns})
    returns = T.StructType([T.StructField("reason_code", T.StringType()), T.StructField("offending", T.StringType()),
                            T.StructField("arrival", T.LongType()),
                            *(T.StructField(c.name, _KINDS[c.type][1]) for c in columns)])
    name = "vigia_check_" + hashlib.sha256((spec + outputs + rule).encode()).hexdigest()[:12]
    jvm, js = spark.sparkContext._jvm, spark._jsparkSession
    try:
        udf = getattr(jvm, UDF_CLASS)(spec, outputs, ARRIVAL_FIELD, rule)
    except TypeError as e:  # py4j: the class is not on the classpath (a JavaPackage is not callable)
        raise RuntimeError(f"{UDF_CLASS} is not on the Spark classpath: add {JAR} (`make glue-udf`)") from e
    js.udf().register(name, udf, js.parseDataType(returns.json()))
    return name


def checked(raw: DataFrame, limits: C.Limits, arrival: Arrival) -> DataFrame:
    """`raw` (`line`, optionally `source_file`) plus `reason_code`, `reason` (both null when valid),
    `arrival` (timestamp: what the age and future-skew rules measured against) and the typed envelope.
    """
    cs = C.checks(limits)
    source_file = F.col("source_file") if "source_file" in raw.columns else F.lit(None).cast("string")
    verdict = F.call_udf(register(raw.sparkSession, limits, arrival), F.col("line"), source_file)
    # One struct column, read field by field below: Spark calls the function once a record.
    df = raw.select("*", verdict.alias("_v"))
    v = F.col("_v")
    envelope = [F.timestamp_micros(v[c.name]).alias(c.name) if c.type == "timestamp" else v[c.name].alias(c.name)
                for c in contract.columns()]
    out = df.select(*raw.columns, v.reason_code.alias("reason_code"), v.offending.alias("_offending"),
                    F.timestamp_micros(v.arrival).alias("arrival"), *envelope)
    return out.withColumn("reason", _reason(cs, F.col("_offending"))).drop("_offending")


def _reason(cs: tuple[C.Check, ...], offending_field: Column) -> Column:
    """`field: why (got "a short prefix", its length)`: bounded, whatever the size of the value."""
    reasons = F.create_map(*(x for c in cs for x in (F.lit(c.code), F.lit(c.reason))))
    field = F.substring_index("reason_code", ".", 1)
    offending = F.when(field == "record", F.col("line")).otherwise(offending_field)
    detail = F.when(offending.isNotNull(), F.format_string(
        ' (got "%s", %d chars)', F.substring(offending, 1, DETAIL_CHARS), F.length(offending)))
    return F.when(F.col("reason_code").isNotNull(),
                  F.concat(field, F.lit(": "), reasons[F.col("reason_code")], F.coalesce(detail, F.lit(""))))
