"""Local stand-in for the Glue crawlers of `pipeline.yaml` (moto's crawlers only change state).

Follows the documented behaviour of the subset we use (AWS Glue developer guide, "How crawlers
work", "Setting crawler configuration options", "Scheduling incremental crawls"):
- the include path holds one table, named after its last folder, when it holds data files or
  `key=value` folders (Hive-style partitions); an empty include path (a whole bucket) holds one
  table per top-level folder;
- the schema is inferred from the data: Parquet footers, and a sample of JSON lines (gzip is
  recognised by its extension); partition keys are typed `string`;
- new partitions (folders) are added to the catalog;
- schema change policy: UPDATE_IN_DATABASE adds new columns and updates changed types;
  LOG only reports them. Deletions are only ever reported (delete behaviour LOG);
- recrawl policy CRAWL_NEW_FOLDERS_ONLY reads only folders not yet in the catalog;
- a table that exists at the crawled location is the crawler's table; with the crawler option
  partitions `InheritFromTable` new partitions copy its schema and SerDe. The raw table is such a
  table, declared from the contract (`firehose.definition.raw_table`, created by CloudFormation in
  AWS and here by the first crawl), so the raw crawler never infers its schema.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from firehose import definition
from vigia.local import aws
from vigia_core.config import Crawler, Pipeline

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
JSON = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
}
JSON_SAMPLE_BYTES = 1024 * 1024  # the JSON classifier reads the start of a file


@dataclass
class CrawlResult:
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    partitions_added: int = 0
    logged: list[str] = field(default_factory=list)  # changes the policy said to only log


# --- type inference --------------------------------------------------------------------------

def hive_type(t: pa.DataType) -> str:
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_map(t):
        return f"map<{hive_type(t.key_type)},{hive_type(t.item_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{hive_type(f.type)}" for f in t) + ">"
    if pa.types.is_list(t):
        return f"array<{hive_type(t.value_type)}>"
    raise ValueError(f"no catalog type for {t}")


def json_type(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "int" if -2**31 <= v < 2**31 else "bigint"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        fields = merge_columns([{k: json_type(x) for k, x in v.items()}])
        return "struct<" + ",".join(f"{k}:{t}" for k, t in fields.items()) + ">" if fields else "string"
    if isinstance(v, list):
        inner = merge_columns([{"x": json_type(x)} for x in v]).get("x", "string")
        return f"array<{inner}>"
    return "string"


def _merge_type(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} <= {"int", "bigint", "double"}:
        return "double" if "double" in (a, b) else "bigint"
    if a.startswith("struct<") and b.startswith("struct<"):
        fa, fb = _struct_fields(a), _struct_fields(b)
        merged = merge_columns([fa, fb])
        return "struct<" + ",".join(f"{k}:{t}" for k, t in merged.items()) + ">"
    return "string"


def _struct_fields(t: str) -> dict[str, str]:
    body, out, depth, start = t[len("struct<"):-1], {}, 0, 0
    for i, ch in enumerate(body + ","):
        if ch in "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            name, typ = body[start:i].split(":", 1)
            out[name] = typ
            start = i + 1
    return out


def merge_columns(schemas: list[dict[str, str | None]]) -> dict[str, str]:
    """Union of columns in first-seen order; numeric types widen, other conflicts become string."""
    out: dict[str, str] = {}
    for s in schemas:
        for name, typ in s.items():
            if typ is None:
                continue
            out[name] = _merge_type(out[name], typ) if name in out else typ
    return out


# --- the crawl -------------------------------------------------------------------------------

def _is_data(key: str) -> bool:
    """Hidden files and folders (`_temporary/`, `_SUCCESS`, `.crc`) are not data, as in Hive."""
    return not key.endswith(("/", "$folder$")) and not any(seg.startswith(("_", ".")) for seg in key.split("/"))


def _partition(rel_dir: str) -> list[tuple[str, str]] | None:
    parts = [seg.split("=", 1) for seg in rel_dir.strip("/").split("/") if seg]
    return [(k, v) for k, v in parts] if all(len(x) == 2 for x in parts) else None


class LocalCrawler:
    def __init__(self, p: Pipeline, port: int | None = None):
        self.p = p
        self.s3 = aws.client("s3", p.region, port)
        self.glue = aws.client("glue", p.region, port)

    def crawler(self, name: str) -> Crawler:
        for c in self.p.glue.crawlers:
            if c.name == name:
                return c
        raise KeyError(f"no crawler named {name!r}; defined: {[c.name for c in self.p.glue.crawlers]}")

    def crawl_all(self) -> dict[str, CrawlResult]:
        return {c.name: self.crawl(c.name) for c in self.p.glue.crawlers}

    def crawl(self, name: str) -> CrawlResult:
        c = self.crawler(name)
        bucket = getattr(self.p.buckets, c.bucket)
        keys = [o for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=c.path)
                for o in page.get("Contents", []) if _is_data(o["Key"])]
        result = CrawlResult()
        for table, root, files in self._tables(c.path, keys):
            self._crawl_table(c, bucket, table, root, files, result)
        return result

    def _tables(self, path: str, objs: list[dict]):
        rel = [(o["Key"][len(path):], o) for o in objs]
        holds_table = path and all("/" not in r or _partition(r.rsplit("/", 1)[0]) is not None for r, _ in rel)
        if holds_table:
            yield path.rstrip("/").rsplit("/", 1)[-1], path, rel
            return
        groups: dict[str, list] = defaultdict(list)
        for r, o in rel:
            if "/" in r:
                top, rest = r.split("/", 1)
                groups[top].append((rest, o))
        for top, files in sorted(groups.items()):
            yield top, f"{path}{top}/", files

    def _declared(self, c: Crawler, table: str) -> dict | None:
        """The TableInput of a table whose schema is declared, not crawled (the raw table)."""
        if c.bucket == "raw" and table == definition.raw_table_name(self.p):
            return definition.raw_table(self.p)
        return None

    def _crawl_table(self, c: Crawler, bucket: str, table: str, root: str, files: list, result: CrawlResult) -> None:
        db = self.p.glue.database
        by_partition: dict[tuple, list[dict]] = defaultdict(list)
        for r, o in files:
            part = _partition(r.rsplit("/", 1)[0]) if "/" in r else []
            by_partition[tuple(part or [])].append(o)
        existing = self._table(db, table)
        declared = self._declared(c, table)
        if declared is not None:
            if existing is None:
                self.glue.create_table(DatabaseName=db, TableInput=declared)
                result.tables_created.append(table)
            table_sd = (existing or declared)["StorageDescriptor"]
            known = self._partition_values(db, table) if existing else set()
            self._add_partitions(db, table, [k for k in by_partition if k and tuple(x for _, x in k) not in known],
                                 lambda k: {**table_sd, "Location": table_sd["Location"] + "".join(f"{n}={v}/" for n, v in k)},
                                 result)
            return
        known = self._partition_values(db, table) if existing else set()
        to_read = {k: v for k, v in by_partition.items()
                   if not (c.recrawl == "CRAWL_NEW_FOLDERS_ONLY" and tuple(x for _, x in k) in known)}
        if not to_read:
            return
        parquet = any(o["Key"].endswith(".parquet") for objs in to_read.values() for o in objs)
        columns = merge_columns([self._schema(bucket, objs, parquet) for objs in to_read.values()])
        part_keys = [k for k, _ in next(iter(by_partition))]
        for k in part_keys:
            columns.pop(k, None)
        fmt = PARQUET if parquet else JSON
        location = f"s3://{bucket}/{root}"

        def sd(loc: str, cols: dict[str, str]) -> dict:
            return {"Columns": [{"Name": n, "Type": t} for n, t in cols.items()], "Location": loc, **fmt}

        params = {"classification": "parquet" if parquet else "json", "UPDATED_BY_CRAWLER": c.name,
                  "compressionType": "none" if parquet else "gzip"}
        if existing is None:
            self.glue.create_table(DatabaseName=db, TableInput={
                "Name": table, "TableType": "EXTERNAL_TABLE", "Parameters": params,
                "StorageDescriptor": sd(location, columns),
                "PartitionKeys": [{"Name": k, "Type": "string"} for k in part_keys]})
            result.tables_created.append(table)
            table_cols = columns
        else:
            table_cols = {col["Name"]: col["Type"] for col in existing["StorageDescriptor"]["Columns"]}
            changed = {n: t for n, t in columns.items() if table_cols.get(n) != t}
            if changed and c.schema_change.update == "UPDATE_IN_DATABASE":
                table_cols = {**table_cols, **changed}
                self.glue.update_table(DatabaseName=db, TableInput={
                    "Name": table, "TableType": "EXTERNAL_TABLE", "Parameters": params,
                    "StorageDescriptor": sd(location, table_cols), "PartitionKeys": existing["PartitionKeys"]})
                result.tables_updated.append(table)
            elif changed:
                result.logged.append(f"{table}: schema changes not applied (LOG): {changed}")
        self._add_partitions(db, table, [k for k in by_partition if k and tuple(x for _, x in k) not in known],
                             lambda k: sd(location + "".join(f"{n}={v}/" for n, v in k), table_cols), result)

    def _add_partitions(self, db: str, table: str, new: list[tuple], storage, result: CrawlResult) -> None:
        for i in range(0, len(new), 100):  # BatchCreatePartition takes at most 100
            self.glue.batch_create_partition(DatabaseName=db, TableName=table, PartitionInputList=[
                {"Values": [v for _, v in k], "StorageDescriptor": storage(k)} for k in new[i:i + 100]])
        result.partitions_added += len(new)

    def _table(self, db: str, table: str) -> dict | None:
        try:
            return self.glue.get_table(DatabaseName=db, Name=table)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def _partition_values(self, db: str, table: str) -> set[tuple]:
        return {tuple(p["Values"]) for page in self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=db, TableName=table) for p in page["Partitions"]}

    def _schema(self, bucket: str, objs: list[dict], parquet: bool) -> dict[str, str]:
        if parquet:  # footers of every file: Parquet schemas are exact and cheap to read
            schemas = []
            for o in objs:
                body = self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                schemas.append({f.name: hive_type(f.type) for f in pq.read_schema(io.BytesIO(body))})
            return merge_columns(schemas)
        o = objs[0]  # a sample: the start of the partition's first file
        body = self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        if o["Key"].endswith(".gz"):
            body = gzip.decompress(body)
        body = body[:JSON_SAMPLE_BYTES]
        rows = []
        for line in body.splitlines()[:1000]:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a truncated last line of the sample, or a stray non-JSON line
            if isinstance(rec, dict):
                rows.append({k: json_type(v) for k, v in rec.items()})
        return merge_columns(rows)
