"""Local stand-in for Athena: Athena (Trino) SQL over the Glue Data Catalog, run in DuckDB.

As Athena does, each table is resolved in the Glue Data Catalog (moto): its columns, its format
(the SerDe), and its partitions, each with an S3 location whose files are the data. Only the
partitions registered in the catalog are read. The files are opened through a pyarrow dataset on
the S3 endpoint, so DuckDB's filters on partition columns prune whole partitions and Parquet is read
column by column; the SQL is translated with sqlglot (`athena` -> `duckdb`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import sqlglot
from sqlglot import exp

from vigia.config import Pipeline
from vigia.local import aws

_SIMPLE = {"string": pa.string(), "double": pa.float64(), "float": pa.float32(), "int": pa.int32(),
           "bigint": pa.int64(), "smallint": pa.int16(), "tinyint": pa.int8(), "boolean": pa.bool_(),
           "timestamp": pa.timestamp("us"), "date": pa.date32()}


class AthenaError(Exception):
    """A query Athena would refuse: syntax error, unknown table or column; the message says which."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]


def arrow_type(t: str) -> pa.DataType:
    t = t.strip()
    if t in _SIMPLE:
        return _SIMPLE[t]
    if t.startswith("decimal"):
        return pa.float64()
    inner = t[t.index("<") + 1:-1] if "<" in t else ""
    if t.startswith("array<"):
        return pa.list_(arrow_type(inner))
    if t.startswith("map<"):
        k, v = _split_top(inner)
        return pa.map_(arrow_type(k), arrow_type(v))
    if t.startswith("struct<"):
        return pa.struct([pa.field(n, arrow_type(ty)) for n, ty in
                          (f.split(":", 1) for f in _split_top(inner))])
    raise AthenaError(f"unsupported column type {t!r}")


def _as_declared(v, declared: str):
    """A JSON value for a declared column: text for `string` (numbers and objects as JSON)."""
    if declared == "string" and v is not None and not isinstance(v, str):
        return json.dumps(v, separators=(",", ":"))
    return v


def _split_top(s: str) -> list[str]:
    out, depth, start = [], 0, 0
    for i, ch in enumerate(s + ","):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            out.append(s[start:i])
            start = i + 1
    return out


class LocalAthena:
    def __init__(self, p: Pipeline, port: int | None = None, s3_endpoint: str | None = None):
        self.p = p
        self.glue = aws.client("glue", p.region, port)
        host = (s3_endpoint or aws.endpoint(port)).removeprefix("http://")
        self.fs = pafs.S3FileSystem(endpoint_override=host, scheme="http", access_key="testing",
                                    secret_key="testing", region=p.region,
                                    connect_timeout=10, request_timeout=120)  # a busy laptop is slow

    def tables(self, database: str | None = None) -> list[str]:
        db = database or self.p.glue.database
        return sorted(t["Name"] for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=db)
                      for t in page["TableList"])

    def query(self, sql: str, params: list[str] | tuple[str, ...] = ()) -> Result:
        """Run `sql`; `params` fill its `?` placeholders in order, like Athena's ExecutionParameters
        (each a SQL literal; bare text is taken as a string)."""
        try:
            tree = sqlglot.parse_one(sql, read="athena")
        except sqlglot.errors.ParseError as err:
            e = err.errors[0] if err.errors else {}
            where = f" at line {e['line']}, column {e['col']} near {e['highlight']!r}" if e.get("line") else ""
            raise AthenaError(f"syntax error{where}: {e.get('description', err)}") from None
        if tree is None:
            raise AthenaError("syntax error: empty query")
        self._bind(tree, list(params))
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        con = duckdb.connect()
        try:
            registered: dict[tuple[str, str], str] = {}
            for table in list(tree.find_all(exp.Table)):
                if not table.db and table.name in ctes:
                    continue
                key = (table.db or self.p.glue.database, table.name)
                if key not in registered:
                    registered[key] = f"t{len(registered)}_{key[1]}"
                    con.register(registered[key], self._dataset(*key))
                alias = table.alias or table.name
                table.replace(exp.Table(this=exp.to_identifier(registered[key]),
                                        alias=exp.TableAlias(this=exp.to_identifier(alias))))
            cur = con.execute(tree.sql(dialect="duckdb"))
            return Result([d[0] for d in cur.description], cur.fetchall())
        except duckdb.Error as err:  # binder, catalog and conversion errors, named as the user wrote them
            raise AthenaError(re.sub(r"\bt\d+_(\w+)", r"\1", str(err).splitlines()[0])) from None
        finally:
            con.close()

    @staticmethod
    def _bind(tree: exp.Expression, params: list[str]) -> None:
        holes = list(tree.find_all(exp.Placeholder))
        if len(holes) != len(params):
            raise AthenaError(f"the query has {len(holes)} parameter(s) (?), {len(params)} given")
        for hole, value in zip(holes, params, strict=True):
            literal = (sqlglot.parse_one(value, read="athena") if re.fullmatch(r"'.*'|-?\d+(\.\d+)?", value)
                       else exp.Literal.string(value))
            hole.replace(literal)

    def _dataset(self, db: str, name: str) -> ds.Dataset:
        try:
            t = self.glue.get_table(DatabaseName=db, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            raise AthenaError(f"Table '{db}.{name}' does not exist (tables in {db}: "
                              f"{', '.join(self.tables(db)) or 'none'})") from None
        sd, keys = t["StorageDescriptor"], t.get("PartitionKeys", [])
        schema = pa.schema([pa.field(c["Name"], arrow_type(c["Type"])) for c in sd["Columns"]] +
                           [pa.field(k["Name"], arrow_type(k["Type"])) for k in keys])
        serde = sd.get("SerdeInfo", {}).get("SerializationLibrary", "")
        # No pre-buffering: read the footer and the needed column chunks only, as Athena does
        # (pre-buffering coalesces a small file's ranges into one read of all of it).
        fmt = (ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
               if "parquet" in serde.lower() else ds.JsonFileFormat())
        if keys:
            parts = [(p["StorageDescriptor"]["Location"], p["Values"]) for page in
                     self.glue.get_paginator("get_partitions").paginate(DatabaseName=db, TableName=name)
                     for p in page["Partitions"]]
        else:
            parts = [(sd["Location"], [])]
        if "parquet" not in serde.lower():
            skip_malformed = sd["SerdeInfo"].get("Parameters", {}).get("ignore.malformed.json") == "true"
            return self._json_dataset(schema, sd["Columns"], keys, parts, skip_malformed)
        paths, exprs = [], []
        for location, values in parts:
            cond = ds.scalar(True)
            for k, v in zip(keys, values, strict=True):
                cond = cond & (ds.field(k["Name"]) == pa.scalar(v).cast(arrow_type(k["Type"])))
            for f in self._files(location):
                paths.append(f)
                exprs.append(cond)
        return ds.FileSystemDataset.from_paths(paths, schema=schema, format=fmt, filesystem=self.fs,
                                               partitions=exprs)

    def _json_dataset(self, schema: pa.Schema, columns: list[dict], keys: list[dict], parts, skip_malformed: bool):
        """JSON lines read as the OpenX SerDe reads them: by the declared columns, a `string`
        column holding any JSON value as text (an object as its JSON); a line that is not a JSON
        object skipped with `ignore.malformed.json`, else an error naming the file."""
        rows = []
        for location, values in parts:
            for path in self._files(location):
                with self.fs.open_input_stream(path) as f:  # gunzips a .gz by its extension
                    body = f.read()
                for n, line in enumerate(body.splitlines(), 1):
                    try:
                        rec = json.loads(line) if line.strip() else None
                    except ValueError:
                        rec = None
                    if not isinstance(rec, dict):
                        if line.strip() and not skip_malformed:
                            raise AthenaError(f"HIVE_CURSOR_ERROR: Row is not a valid JSON Object ({path}, line {n})")
                        continue
                    row = {c["Name"]: _as_declared(rec.get(c["Name"]), c["Type"]) for c in columns}
                    row.update({k["Name"]: v for k, v in zip(keys, values, strict=True)})
                    rows.append(row)
        return ds.dataset(pa.Table.from_pylist(rows, schema=schema))

    def _files(self, location: str) -> list[str]:
        base = location.removeprefix("s3://").rstrip("/")
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True))
        except FileNotFoundError:
            return []
        return sorted(i.path for i in infos if i.type == pafs.FileType.File
                      and not i.base_name.startswith(("_", ".")))
