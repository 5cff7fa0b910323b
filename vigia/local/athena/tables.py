"""Tables as Athena reads them: resolved in the Glue Data Catalog, data from the registered
partitions' S3 locations (only those: a folder MSCK REPAIR or the ETL never registered is not read).

Parquet is opened as a pyarrow dataset, so DuckDB's filters on partition columns prune whole
partitions and columns are read chunk by chunk. JSON (OpenX JSON SerDe, one object per line, gzip by
extension) is parsed here, line by line, as the SerDe would: keys match columns case-insensitively,
and with `ignore.malformed.json = true` a malformed line or a value of the wrong type reads as NULL
instead of failing the query. `"$path"` (the object each row came from) exists on every table.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from vigia.local.athena.errors import AthenaError, unsupported
from vigia.local.athena.types import arrow_type, base, split_top

PATH = "$path"


@dataclass(frozen=True)
class Table:
    db: str
    name: str
    raw: dict  # the Glue table

    @property
    def columns(self) -> list[dict]:
        return self.raw["StorageDescriptor"]["Columns"]

    @property
    def keys(self) -> list[dict]:
        return self.raw.get("PartitionKeys", [])

    @property
    def location(self) -> str:
        return self.raw["StorageDescriptor"].get("Location", "")

    @property
    def serde(self) -> dict:
        return self.raw["StorageDescriptor"].get("SerdeInfo", {})

    @property
    def is_parquet(self) -> bool:
        sd = self.raw["StorageDescriptor"]
        return "parquet" in (self.serde.get("SerializationLibrary", "") + sd.get("InputFormat", "")).lower()

    @property
    def is_json(self) -> bool:
        return "json" in self.serde.get("SerializationLibrary", "").lower()

    @property
    def is_view(self) -> bool:
        return self.raw.get("TableType") == "VIRTUAL_VIEW"

    def schema(self, with_path: bool = False) -> pa.Schema:
        fields = [pa.field(c["Name"].lower(), arrow_type(c["Type"])) for c in self.columns + self.keys]
        return pa.schema(fields + ([pa.field(PATH, pa.string())] if with_path else []))


class Catalog:
    """The Glue Data Catalog as Athena sees it: names folded to lower case."""

    def __init__(self, glue, default_db: str):
        self.glue, self.default_db = glue, default_db

    def databases(self) -> list[str]:
        return sorted(d["Name"] for page in self.glue.get_paginator("get_databases").paginate()
                      for d in page["DatabaseList"])

    def require_db(self, db: str) -> None:
        try:
            self.glue.get_database(Name=db)
        except self.glue.exceptions.EntityNotFoundException:
            raise AthenaError(f"Schema '{db}' does not exist (databases: {', '.join(self.databases())})") from None

    def tables(self, db: str | None = None) -> list[str]:
        db = (db or self.default_db).lower()
        self.require_db(db)
        return sorted(t["Name"] for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=db)
                      for t in page["TableList"])

    def table(self, db: str | None, name: str) -> Table:
        db, name = (db or self.default_db).lower(), name.lower()
        try:
            return Table(db, name, self.glue.get_table(DatabaseName=db, Name=name)["Table"])
        except self.glue.exceptions.EntityNotFoundException:
            known = self.tables(db)
            raise AthenaError(f"Table '{db}.{name}' does not exist (tables in {db}: "
                              f"{', '.join(known) or 'none'})") from None

    def exists(self, db: str | None, name: str) -> bool:
        try:
            self.glue.get_table(DatabaseName=(db or self.default_db).lower(), Name=name.lower())
            return True
        except self.glue.exceptions.EntityNotFoundException:
            return False

    def partitions(self, t: Table) -> list[tuple[list[str], str]]:
        """(values, location) of every registered partition; one unnamed partition when unpartitioned."""
        if not t.keys:
            return [([], t.location)]
        if t.raw.get("Parameters", {}).get("projection.enabled", "").lower() == "true":
            raise unsupported(f"partition projection (table {t.db}.{t.name})")
        return sorted((p["Values"], p["StorageDescriptor"]["Location"]) for page in
                      self.glue.get_paginator("get_partitions").paginate(DatabaseName=t.db, TableName=t.name)
                      for p in page["Partitions"])


def files(fs: pafs.FileSystem, location: str) -> list[pafs.FileInfo]:
    """The data files under an S3 location (hidden `_`/`.` files are not data, as in Hive)."""
    base_path = location.removeprefix("s3://").rstrip("/")
    try:
        infos = fs.get_file_info(pafs.FileSelector(base_path, recursive=True))
    except FileNotFoundError:
        return []
    rel = len(base_path) + 1
    return sorted((i for i in infos if i.type == pafs.FileType.File
                   and not any(seg.startswith(("_", ".")) for seg in i.path[rel:].split("/"))),
                  key=lambda i: i.path)


def _utc(t: pa.DataType) -> pa.DataType:
    """Parquet writers (Spark, ours) store instants (isAdjustedToUTC): a timestamp column is read as
    UTC and shown to the query as Athena's zone-less timestamp (see LocalAthena)."""
    return pa.timestamp("us", tz="UTC") if pa.types.is_timestamp(t) else t


def parquet_dataset(fs: pafs.FileSystem, t: Table, parts: list[tuple[list[str], str]],
                    with_path: bool) -> ds.Dataset:
    schema = t.schema(with_path)
    schema = pa.schema([f.with_type(_utc(f.type)) for f in schema])
    # No pre-buffering: read the footer and the needed column chunks only, as Athena does
    # (pre-buffering coalesces a small file's ranges into one read of all of it).
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
    paths, exprs = [], []
    for values, location in parts:
        cond = _partition_expr(t, values)
        for f in files(fs, location):
            paths.append(f.path)
            exprs.append(cond & (ds.field(PATH) == f"s3://{f.path}") if with_path else cond)
    return ds.FileSystemDataset.from_paths(paths, schema=schema, format=fmt, filesystem=fs, partitions=exprs)


def _partition_expr(t: Table, values: list[str]) -> ds.Expression:
    cond = ds.scalar(True)
    for k, v in zip(t.keys, values, strict=True):
        cond = cond & (ds.field(k["Name"].lower()) == pa.scalar(v).cast(arrow_type(k["Type"])))
    return cond


# --- JSON (OpenX JSON SerDe) -------------------------------------------------------------------

class _Bad(Exception):
    pass


def _coerce(v, t: str):
    """A JSON value as the column type `t`, as the SerDe converts it; _Bad if it cannot be."""
    if v is None:
        return None
    b = base(t)
    if b in ("string", "varchar", "char"):
        return json.dumps(v) if isinstance(v, (dict, list)) else ("true" if v is True else "false" if v is False
                                                                  else str(v))
    if b in ("int", "integer", "bigint", "smallint", "tinyint"):
        if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, str) and not v.strip().lstrip("-").isdigit()):
            raise _Bad
        return int(v)
    if b in ("double", "float", "real", "decimal"):
        if isinstance(v, bool) or isinstance(v, (dict, list)):
            raise _Bad
        try:
            return float(v)
        except ValueError:
            raise _Bad from None
    if b == "boolean":
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        raise _Bad
    if b == "timestamp":
        if not isinstance(v, str):
            raise _Bad
        try:
            ts = datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Bad from None
        return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts
    if b == "date":
        try:
            return date.fromisoformat(v)
        except (TypeError, ValueError):
            raise _Bad from None
    inner = t[t.index("<") + 1:-1] if "<" in t else ""
    if b == "array":
        if not isinstance(v, list):
            raise _Bad
        return [_coerce(x, inner) for x in v]
    if b == "map":
        if not isinstance(v, dict):
            raise _Bad
        kt, vt = split_top(inner)
        return [(_coerce(k, kt), _coerce(x, vt)) for k, x in v.items()]
    if b == "struct":
        if not isinstance(v, dict):
            raise _Bad
        low = {k.lower(): x for k, x in v.items()}
        return {n.strip(): _coerce(low.get(n.strip().lower()), ty) for n, ty in
                (f.split(":", 1) for f in split_top(inner))}
    raise unsupported(f"column type {t!r} in a JSON table")


def json_table(fs: pafs.FileSystem, t: Table, parts: list[tuple[list[str], str]], with_path: bool,
               read: set[str] | None = None) -> pa.Table:
    """The rows of a JSON table. A value of the wrong type fails the query only in a column it
    reads (`read`, None for all), as the SerDe converts a field only when it is read."""
    lenient = t.serde.get("Parameters", {}).get("ignore.malformed.json", "").lower() == "true"
    cols = [(c["Name"].lower(), c["Type"]) for c in t.columns]
    out: dict[str, list] = {n: [] for n, _ in cols} | {k["Name"].lower(): [] for k in t.keys}
    paths: list[str] = []
    for values, location in parts:
        for f in files(fs, location):
            with fs.open_input_stream(f.path, compression=None) as stream:
                body = stream.read()
            if f.path.endswith(".gz"):
                body = gzip.decompress(body)
            for lineno, line in enumerate(body.splitlines(), 1):
                if not line.strip():
                    continue
                row = _json_row(line, cols, lenient, f"s3://{f.path}", lineno, read)
                for (n, _), v in zip(cols, row, strict=True):
                    out[n].append(v)
                for k, v in zip(t.keys, values, strict=True):
                    out[k["Name"].lower()].append(v)
                paths.append(f"s3://{f.path}")
    schema = t.schema(with_path)
    arrays = [pa.array(out[f.name], type=f.type) if f.name != PATH else pa.array(paths, pa.string())
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _json_row(line: bytes, cols: list[tuple[str, str]], lenient: bool, path: str, lineno: int,
              read: set[str] | None) -> list:
    try:
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("not an object")
    except ValueError as err:
        if lenient:
            return [None] * len(cols)
        raise AthenaError(f"HIVE_CURSOR_ERROR: Row is not a valid JSON Object ({err}) in {path} line {lineno}"
                          " (the table's SerDe parameter ignore.malformed.json = true reads it as NULLs)") from None
    low = {k.lower(): v for k, v in obj.items()}
    row = []
    for n, typ in cols:
        try:
            row.append(_coerce(low.get(n), typ))
        except _Bad:
            if not lenient and (read is None or n in read):
                raise AthenaError(f"HIVE_BAD_DATA: Error parsing field value '{low.get(n)}' for field {n} "
                                  f"({typ}) in {path} line {lineno}") from None
            row.append(None)
    return row
