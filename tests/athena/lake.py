"""A small data lake written the way the pipeline writes it, for the local Athena's conformance tests.

- `events` (gold): Parquet partitioned by dt and source, timestamps stored as UTC instants (as Spark
  writes them), an attributes map; one extra day is written but not registered in the catalog.
- `entity_metric_hourly`: Parquet partitioned by dt.
- `raw`: gzip JSON lines under src=/dt=/hour=, the OpenX JSON SerDe with ignore.malformed.json = true;
  one malformed line and one value of the wrong type.
Every file is also written to a local folder, where plain DuckDB computes the expected answers.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
EVENT_COLUMNS = [("schema_version", "int"), ("event_id", "string"), ("entity_id", "string"), ("metric", "string"),
                 ("value", "double"), ("unit", "string"), ("event_time", "timestamp"), ("ingest_time", "timestamp"),
                 ("attributes", "map<string,string>")]
HOURLY_COLUMNS = [("hour", "timestamp"), ("source", "string"), ("entity_id", "string"), ("metric", "string"),
                  ("unit", "string"), ("readings", "bigint"), ("min_value", "double"), ("max_value", "double"),
                  ("avg_value", "double"), ("p95_value", "double"), ("last_event_time", "timestamp")]
RAW_COLUMNS = [("event_id", "string"), ("source", "string"), ("entity_id", "string"), ("metric", "string"),
               ("value", "double"), ("unit", "string"), ("event_time", "timestamp"),
               ("attributes", "map<string,string>")]
UNREGISTERED_DAY = "2026-11-04"
NOW = datetime(2026, 11, 5, 12, 30, tzinfo=timezone.utc)  # the local Athena's clock in these tests
PARQUET = {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}
JSON_SERDE = {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
              "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
              "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                            "Parameters": {"ignore.malformed.json": "true"}}}
METRICS = {"temperature": "celsius", "humidity": "percent"}


def events(n: int = 400) -> list[dict]:
    rng = random.Random(12)
    out = []
    for i in range(n):
        at = T0 + timedelta(minutes=rng.randrange(4 * 24 * 60))  # four days, the last one unregistered
        metric = rng.choice(sorted(METRICS))
        attrs = {"site": rng.choice(["plant-a", "plant-b"])}
        if i % 3 == 0:
            attrs["floor"] = str(rng.randrange(1, 4))
        out.append({"schema_version": 1, "event_id": f"ev-{i:05d}", "source": rng.choice(["simulator", "weather"]),
                    "entity_id": f"sensor-{rng.randrange(5)}", "metric": metric,
                    "value": round(rng.uniform(-10, 100), 2), "unit": METRICS[metric], "event_time": at,
                    "ingest_time": at + timedelta(seconds=rng.randrange(1, 90)), "attributes": attrs})
    return out


def _schema(columns) -> pa.Schema:
    types = {"int": pa.int32(), "bigint": pa.int64(), "string": pa.string(), "double": pa.float64(),
             "timestamp": pa.timestamp("us", tz="UTC"), "map<string,string>": pa.map_(pa.string(), pa.string())}
    return pa.schema([(n, types[t]) for n, t in columns])


def _table_input(name, columns, keys, location, storage) -> dict:
    sd = {**storage, "Columns": [{"Name": n, "Type": t} for n, t in columns], "Location": location}
    return {"Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd,
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys], "Parameters": {"EXTERNAL": "TRUE"}}


class Lake:
    def __init__(self, fs, glue, db: str, bucket: str, local: Path):
        self.fs, self.glue, self.db, self.bucket, self.local = fs, glue, db, bucket, local
        self.events = events()

    def _put(self, key: str, data: bytes, local_too: bool = True) -> None:
        with self.fs.open_output_stream(f"{self.bucket}/{key}", compression=None) as out:
            out.write(data)
        if local_too:
            path = self.local / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def _parquet(self, rows: list[dict], columns) -> bytes:
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pylist([{n: r[n] for n, _ in columns} for r in rows], schema=_schema(columns))
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes()

    def register(self, name, columns, keys, prefix, storage, partitions) -> None:
        location = f"s3://{self.bucket}/{prefix}/"
        self.glue.create_table(DatabaseName=self.db, TableInput=_table_input(name, columns, keys, location, storage))
        sd = _table_input(name, columns, keys, location, storage)["StorageDescriptor"]
        inputs = [{"Values": list(v), "StorageDescriptor": {**sd, "Location": location + "/".join(
            f"{k}={x}" for k, x in zip(keys, v)) + "/"}} for v in sorted(partitions)]
        for i in range(0, len(inputs), 100):
            self.glue.batch_create_partition(DatabaseName=self.db, TableName=name, PartitionInputList=inputs[i:i + 100])

    def write_events(self, name: str = "events", prefix: str = "events", register_all: bool = False) -> None:
        parts = defaultdict(list)
        for e in self.events:
            parts[(e["event_time"].strftime("%Y-%m-%d"), e["source"])].append(e)
        for (dt, source), rows in parts.items():
            registered = register_all or dt != UNREGISTERED_DAY
            self._put(f"{prefix}/dt={dt}/source={source}/part-0000.snappy.parquet",
                      self._parquet(rows, EVENT_COLUMNS), local_too=registered and prefix == "events")
        self.register(name, EVENT_COLUMNS, ["dt", "source"], prefix, PARQUET,
                      [k for k in parts if register_all or k[0] != UNREGISTERED_DAY])

    def write_hourly(self) -> None:
        groups = defaultdict(list)
        for e in self.events:
            if e["event_time"].strftime("%Y-%m-%d") == UNREGISTERED_DAY:
                continue
            hour = e["event_time"].replace(minute=0, second=0, microsecond=0)
            groups[(hour, e["source"], e["entity_id"], e["metric"], e["unit"])].append(e)
        by_day = defaultdict(list)
        for (hour, source, entity, metric, unit), rows in groups.items():
            values = sorted(r["value"] for r in rows)
            by_day[hour.strftime("%Y-%m-%d")].append({
                "hour": hour, "source": source, "entity_id": entity, "metric": metric, "unit": unit,
                "readings": len(rows), "min_value": values[0], "max_value": values[-1],
                "avg_value": sum(values) / len(values), "p95_value": values[int(0.95 * (len(values) - 1))],
                "last_event_time": max(r["event_time"] for r in rows)})
        for dt, rows in by_day.items():
            self._put(f"entity_metric_hourly/dt={dt}/part-0000.snappy.parquet", self._parquet(rows, HOURLY_COLUMNS))
        self.register("entity_metric_hourly", HOURLY_COLUMNS, ["dt"], "entity_metric_hourly", PARQUET,
                      [(d,) for d in by_day])

    def raw_lines(self) -> dict[tuple[str, str, str], list[bytes]]:
        out = defaultdict(list)
        for e in self.events[:120]:
            t = e["event_time"]
            wire = {k: e[k] for k, _ in RAW_COLUMNS} | {"event_time": t.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
            out[(e["source"], t.strftime("%Y-%m-%d"), t.strftime("%H"))].append(json.dumps(wire).encode())
        first = sorted(out)[0]
        out[first].append(b'{"event_id": "broken", "value": ')                           # malformed JSON
        out[first].append(json.dumps({"event_id": "wrong-type", "value": "high", "SOURCE": "simulator",
                                      "event_time": "2026-11-01T00:00:00Z"}).encode())  # wrong type, upper-case key
        return out

    def write_raw(self) -> None:
        parts = self.raw_lines()
        for (src, dt, hour), lines in parts.items():
            self._put(f"raw/src={src}/dt={dt}/hour={hour}/vigia-1-{dt}-{hour}-00-00-x.gz",
                      gzip.compress(b"\n".join(lines) + b"\n"))
        self.register("raw", RAW_COLUMNS, ["src", "dt", "hour"], "raw", JSON_SERDE, list(parts))
