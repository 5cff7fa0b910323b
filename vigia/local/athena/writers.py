"""CTAS, INSERT INTO and UNLOAD: query results written as files to S3, as Athena writes them.

CREATE TABLE ... WITH (format, external_location, partitioned_by) AS SELECT and INSERT INTO write
Parquet (the partition columns, last in the select list, become `k=v/` folders) and register the
table and its new partitions in the Glue catalog; UNLOAD writes Parquet or JSON lines (gzip) and
registers nothing. Like Athena, CTAS and UNLOAD refuse a location that already holds data (UNLOAD
into partitions adds files), and timestamps are stored as instants (UTC), as the Glue ETL stores them.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from vigia.local.athena import statements, tables
from vigia.local.athena.errors import AthenaError, unsupported
from vigia.local.athena.types import hive_type

if TYPE_CHECKING:
    from vigia.local.athena.engine import LocalAthena, Result

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_KNOWN = {"format", "external_location", "partitioned_by", "write_compression", "parquet_compression",
          "compression", "table_type"}


def _with(props: exp.Properties | None) -> dict[str, object]:
    """WITH (...) properties: strings, or a list of strings for ARRAY[...]."""
    out: dict[str, object] = {}
    for p in props.expressions if props else []:
        if isinstance(p, exp.WithDataProperty):
            out["no_data"] = bool(p.args.get("no"))
            continue
        name = "format" if isinstance(p, exp.FileFormatProperty) else \
            "partitioned_by" if isinstance(p, exp.PartitionedByProperty) else p.name.lower()
        value = p.this if isinstance(p, (exp.FileFormatProperty, exp.PartitionedByProperty)) else p.args.get("value")
        if isinstance(value, exp.Schema):
            value = exp.Array(expressions=value.expressions)
        if name not in _KNOWN:
            raise unsupported(f"the table property {name}")
        out[name] = [v.name.lower() for v in value.expressions] if isinstance(value, exp.Array) else value.name
    if str(out.get("table_type", "HIVE")).upper() != "HIVE":
        raise unsupported(f"table_type = '{out['table_type']}' (Iceberg tables)")
    return out


def _compression(props: dict) -> str:
    c = str(props.get("write_compression") or props.get("parquet_compression") or props.get("compression")
            or "SNAPPY").lower()
    if c not in ("snappy", "gzip", "zstd", "none", "uncompressed", "lz4"):
        raise unsupported(f"the compression {c!r}")
    return "none" if c == "uncompressed" else c


def _writable(data: pa.Table) -> pa.Table:
    """Zone-less timestamps stored as UTC instants; `timestamp with time zone` cannot be stored."""
    fields = []
    for f in data.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz:
            raise AthenaError(f"NOT_SUPPORTED: Unsupported Hive type: timestamp with time zone (column {f.name}); "
                              "cast it to timestamp")
        fields.append(f.with_type(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f)
    return data.cast(pa.schema(fields))


def _partition_value(v) -> str:
    return HIVE_NULL if v is None else str(v)


def _write(a: "LocalAthena", data: pa.Table, location: str, keys: list[str], fmt: str,
           compression: str) -> dict[tuple[str, ...], str]:
    """Write `data` under `location` (one file per partition); returns partition values -> folder."""
    base = location.rstrip("/")
    groups: dict[tuple[str, ...], pa.Table] = {}
    if keys:
        distinct = data.select(keys).group_by(keys).aggregate([]).to_pylist()
        for row in distinct:
            mask = None
            for k in keys:
                m = pc.is_null(data[k]) if row[k] is None else pc.equal(data[k], row[k])
                mask = m if mask is None else pc.and_(mask, m)
            groups[tuple(_partition_value(row[k]) for k in keys)] = data.filter(mask).drop_columns(keys)
    else:
        groups[()] = data
    if len(groups) > 100:
        raise AthenaError(f"HIVE_TOO_MANY_OPEN_PARTITIONS: {len(groups)} partitions; Athena writes at most 100 "
                          "per CTAS, INSERT INTO or UNLOAD")
    written: dict[tuple[str, ...], str] = {}
    for values, part in groups.items():
        folder = base + "".join(f"/{k}={v}" for k, v in zip(keys, values)) + "/"
        name = f"{uuid.uuid4()}"
        path = folder.removeprefix("s3://")
        if fmt == "PARQUET":
            pq.write_table(part, f"{path}{name}.parquet" if compression == "none" else f"{path}{name}.{compression}.parquet",
                           filesystem=a.fs, compression=compression)
        elif fmt == "JSON":
            lines = "".join(json.dumps(r, default=str, separators=(",", ":")) + "\n" for r in part.to_pylist())
            with a.fs.open_output_stream(f"{path}{name}.gz", compression=None) as out:
                out.write(gzip.compress(lines.encode()))
        else:
            raise unsupported(f"writing format '{fmt}' (PARQUET and JSON are)")
        written[values] = folder
    return written


def _require_empty(a: "LocalAthena", location: str, what: str) -> None:
    if tables.files(a.fs, location):
        raise AthenaError(f"HIVE_PATH_ALREADY_EXISTS: Target directory for {what} already exists: {location}")


def _split_keys(data: pa.Table, keys: list[str]) -> None:
    names = [n.lower() for n in data.column_names]
    if keys and names[-len(keys):] != keys:
        raise AthenaError(f"the partition columns {keys} must be the last columns of the SELECT, in that order "
                          f"(got {names})")


def _catalog_columns(schema: pa.Schema) -> list[dict]:
    return [{"Name": f.name.lower(), "Type": hive_type(f.type)} for f in schema]


def create_table_as(a: "LocalAthena", tree: exp.Create) -> "Result":
    table = tree.this
    db, name = (table.db or a.catalog.default_db).lower(), table.name.lower()
    props = _with(tree.args.get("properties"))
    fmt = str(props.get("format", "PARQUET")).upper()
    if fmt != "PARQUET":
        raise unsupported(f"CREATE TABLE AS with format '{fmt}' (PARQUET is)")
    if a.catalog.exists(db, name):
        if tree.args.get("exists"):
            return statements._result([], [])
        raise AthenaError(f"Table {db}.{name} already exists")
    a.catalog.require_db(db)
    location = str(props.get("external_location") or f"s3://{a.p.buckets.athena_results}/tables/{uuid.uuid4()}/")
    location = location if location.endswith("/") else location + "/"
    keys = list(props.get("partitioned_by", []))  # type: ignore[arg-type]
    query = tree.expression
    data = _writable(a.arrow(query.copy().limit(0) if props.get("no_data") else query))
    _split_keys(data, keys)
    _require_empty(a, location, f"table '{db}.{name}'")
    cols = _catalog_columns(data.schema)
    sd = {**statements.PARQUET, "Columns": [c for c in cols if c["Name"] not in keys], "Location": location}
    a.glue.create_table(DatabaseName=db, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd,
        "PartitionKeys": [c for c in cols if c["Name"] in keys],
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet", "has_encrypted_data": "false"}})
    if not props.get("no_data") and data.num_rows:
        written = _write(a, data, location, keys, fmt, _compression(props))
        if keys:
            statements.register_partitions(a, a.catalog.table(db, name), written)
    return statements._result(["rows"], [(0 if props.get("no_data") else data.num_rows,)])


def insert_into(a: "LocalAthena", tree: exp.Insert) -> "Result":
    target = tree.this
    listed = None
    if isinstance(target, exp.Schema):
        listed = [c.name.lower() for c in target.expressions]
        target = target.this
    t = a.catalog.table(target.db or None, target.name)
    if not t.is_parquet:
        raise unsupported(f"INSERT INTO a table that is not Parquet ({t.name})")
    data = a.arrow(tree.expression)
    schema = t.schema()
    names = listed or schema.names
    if data.num_columns != len(names):
        raise AthenaError(f"Insert query has {data.num_columns} columns, table {t.name} has {len(names)}"
                          + (" listed" if listed else ""))
    data = data.rename_columns(names)
    columns = []
    for f in schema:
        col = data[f.name] if f.name in names else pa.nulls(data.num_rows, f.type)
        try:
            columns.append(col.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise AthenaError(f"Insert query has mismatched column types: {f.name} is {hive_type(f.type)}, "
                              f"the query gives {hive_type(col.type)}") from None
    data = _writable(pa.Table.from_arrays(columns, schema=schema))
    keys = [k["Name"].lower() for k in t.keys]
    if data.num_rows:
        written = _write(a, data, t.location, keys, "PARQUET", "snappy")
        if keys:
            statements.register_partitions(a, t, written)
    return statements._result(["rows"], [(data.num_rows,)])


def unload(a: "LocalAthena", sql: str) -> "Result":
    m = re.fullmatch(r"UNLOAD\s*\((.*)\)\s*TO\s*'([^']+)'\s*WITH\s*\((.*)\)", sql.strip(), re.I | re.S)
    if not m:
        raise AthenaError("syntax error: UNLOAD (SELECT ...) TO 's3://bucket/folder/' WITH (format = '...')")
    from vigia.local.athena import translate
    query, location, with_text = translate.parse(m.group(1)), m.group(2), m.group(3)
    holder = sqlglot.parse_one(f"CREATE TABLE x WITH ({with_text}) AS SELECT 1", read="athena")
    props = _with(holder.args.get("properties"))
    if "format" not in props:
        raise AthenaError("UNLOAD needs WITH (format = 'PARQUET' | 'JSON' | ...)")
    fmt = str(props["format"]).upper()
    keys = list(props.get("partitioned_by", []))  # type: ignore[arg-type]
    data = _writable(a.arrow(query))
    _split_keys(data, keys)
    if not keys:
        _require_empty(a, location, "UNLOAD")
    comp = _compression(props) if fmt == "PARQUET" else "gzip"
    _write(a, data, location, keys, fmt, comp)
    return statements._result(["rows"], [(data.num_rows,)])


