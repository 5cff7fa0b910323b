"""Catalog statements, answered from (and written to) the Glue Data Catalog the pipeline uses.

SHOW DATABASES|SCHEMAS, SHOW TABLES [IN db] ['pattern'], SHOW PARTITIONS t, SHOW COLUMNS IN t,
SHOW CREATE TABLE t, SHOW TBLPROPERTIES t, SHOW VIEWS, DESCRIBE t, information_schema.{schemata,
tables, columns}, MSCK REPAIR TABLE t (registers the Hive-style `k=v/` folders found under the
table's location), CREATE EXTERNAL TABLE, CREATE [OR REPLACE] VIEW, CREATE DATABASE,
ALTER TABLE ADD|DROP PARTITION, DROP TABLE|VIEW|DATABASE. As in Athena, DROP TABLE and DROP
PARTITION remove catalog entries only: the data stays in S3.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from vigia.local.athena import tables
from vigia.local.athena.errors import AthenaError, unsupported
from vigia.local.athena.types import trino_type

if TYPE_CHECKING:
    from vigia.local.athena.engine import LocalAthena, Result

PARQUET = {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}
JSON = {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}
_NAME = r"[`\"]?([\w.]+?)[`\"]?"
_UNSUPPORTED = re.compile(r"(EXPLAIN|PREPARE|EXECUTE|DEALLOCATE|VACUUM|OPTIMIZE|MERGE|UPDATE|DELETE|USE"
                          r"|CREATE\s+(MATERIALIZED\s+VIEW|FUNCTION)|SHOW\s+(FUNCTIONS|STATS|CATALOGS|CREATE\s+VIEW))\b",
                          re.I)


def _result(columns: list[str], rows: list[tuple]) -> "Result":
    from vigia.local.athena.engine import Result
    return Result(columns, rows)


def _split_name(a: "LocalAthena", name: str) -> tuple[str, str]:
    db, _, t = name.strip("`\"").lower().rpartition(".")
    return (db.strip("`\"") or a.catalog.default_db), t.strip("`\"")


def run(a: "LocalAthena", sql: str) -> "Result | None":
    """Statements sqlglot does not parse; None for everything else."""
    flat = " ".join(sql.split())
    m = _UNSUPPORTED.match(flat)
    if m:
        raise unsupported(f"the statement {m.group(0).upper()}")
    if m := re.fullmatch(r"SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+LIKE)?(?:\s+'([^']*)')?", flat, re.I):
        return _result(["database_name"], [(d,) for d in _like(a.catalog.databases(), m.group(1))])
    if m := re.fullmatch(rf"SHOW\s+(TABLES|VIEWS)(?:\s+(?:IN|FROM)\s+{_NAME})?(?:\s+LIKE)?(?:\s+'([^']*)')?",
                         flat, re.I):
        db = (m.group(2) or a.catalog.default_db).lower()
        views = m.group(1).upper() == "VIEWS"
        names = [t for t in a.catalog.tables(db) if not views or a.catalog.table(db, t).is_view]
        return _result(["views" if views else "tab_name"], [(t,) for t in _like(names, m.group(3))])
    if m := re.fullmatch(rf"SHOW\s+PARTITIONS\s+{_NAME}", flat, re.I):
        t = a.catalog.table(*_split_name(a, m.group(1)))
        if not t.keys:
            raise AthenaError(f"Table {t.name} is not partitioned")
        keys = [k["Name"] for k in t.keys]
        return _result(["partition"], [("/".join(f"{k}={v}" for k, v in zip(keys, values, strict=True)),)
                                       for values, _ in a.catalog.partitions(t)])
    if m := re.fullmatch(rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_NAME}(?:\s+(?:IN|FROM)\s+{_NAME})?", flat, re.I):
        name = f"{m.group(2)}.{m.group(1)}" if m.group(2) else m.group(1)
        t = a.catalog.table(*_split_name(a, name))
        return _result(["field"], [(c["Name"],) for c in t.columns + t.keys])
    if m := re.fullmatch(rf"SHOW\s+TBLPROPERTIES\s+{_NAME}(?:\s*\(\s*'([^']*)'\s*\))?", flat, re.I):
        props = a.catalog.table(*_split_name(a, m.group(1))).raw.get("Parameters", {})
        return _result(["prpt_name", "prpt_value"], sorted((k, v) for k, v in props.items()
                                                           if m.group(2) in (None, k)))
    if m := re.fullmatch(rf"SHOW\s+CREATE\s+TABLE\s+{_NAME}", flat, re.I):
        return _result(["createtab_stmt"], [(line,) for line in _create_statement(
            a.catalog.table(*_split_name(a, m.group(1)))).splitlines()])
    if m := re.fullmatch(rf"(?:DESCRIBE|DESC)(\s+(?:EXTENDED|FORMATTED))?\s+{_NAME}(?:\s+(\w+))?", flat, re.I):
        return _describe(a.catalog.table(*_split_name(a, m.group(2))), m.group(3))
    if m := re.fullmatch(rf"MSCK\s+REPAIR\s+TABLE\s+{_NAME}", flat, re.I):
        return repair(a, a.catalog.table(*_split_name(a, m.group(1))))
    if re.match(r"(SHOW|DESCRIBE|DESC|MSCK)\b", flat, re.I):
        raise unsupported(f"this form of {flat.split()[0].upper()} ({flat[:60]})")
    if re.match(r"UNLOAD\b", flat, re.I):
        from vigia.local.athena import writers
        return writers.unload(a, sql)
    return None


def _like(names: list[str], pattern: str | None) -> list[str]:
    """Athena's SHOW ... 'pattern': `*` any characters, `|` between alternatives."""
    if not pattern:
        return names
    return [n for n in names if any(fnmatch.fnmatchcase(n, p.strip().lower()) for p in pattern.split("|"))]


def _describe(t: tables.Table, column: str | None) -> "Result":
    comment = "from deserializer" if t.is_json else ""
    rows = [(c["Name"], c["Type"], c.get("Comment", comment)) for c in t.columns + t.keys
            if column is None or c["Name"].lower() == column.lower()]
    if column is None and t.keys:
        rows += [("", "", ""), ("# Partition Information", "", ""), ("# col_name", "data_type", "comment"),
                 ("", "", "")] + [(k["Name"], k["Type"], k.get("Comment", "")) for k in t.keys]
    return _result(["col_name", "data_type", "comment"], rows)


def _create_statement(t: tables.Table) -> str:
    cols = ",\n".join(f"  `{c['Name']}` {c['Type']}" for c in t.columns)
    lines = [f"CREATE EXTERNAL TABLE `{t.db}`.`{t.name}`(", cols + ")"]
    if t.keys:
        lines += ["PARTITIONED BY (", ",\n".join(f"  `{k['Name']}` {k['Type']}" for k in t.keys) + ")"]
    sd = t.raw["StorageDescriptor"]
    lines += ["ROW FORMAT SERDE", f"  '{t.serde.get('SerializationLibrary', '')}'"]
    if t.serde.get("Parameters"):
        lines += ["WITH SERDEPROPERTIES (", ",\n".join(f"  '{k}'='{v}'" for k, v in t.serde["Parameters"].items()) + ")"]
    lines += ["STORED AS INPUTFORMAT", f"  '{sd.get('InputFormat', '')}'", "OUTPUTFORMAT",
              f"  '{sd.get('OutputFormat', '')}'", "LOCATION", f"  '{t.location}'"]
    if t.raw.get("Parameters"):
        lines += ["TBLPROPERTIES (", ",\n".join(f"  '{k}'='{v}'" for k, v in t.raw["Parameters"].items()) + ")"]
    return "\n".join(lines)


def information_schema(a: "LocalAthena", view: str) -> pa.Table:
    """information_schema.schemata / tables / columns / views of the Glue catalog (Trino's names)."""
    dbs = a.catalog.databases()
    if view == "schemata":
        names = ["information_schema", *dbs]
        return pa.table({"catalog_name": ["awsdatacatalog"] * len(names), "schema_name": names})
    listed = [(db, a.catalog.table(db, t)) for db in dbs for t in a.catalog.tables(db)]
    if view in ("tables", "views"):
        keep = [(db, t) for db, t in listed if view == "tables" or t.is_view]
        out = {"table_catalog": ["awsdatacatalog"] * len(keep), "table_schema": [db for db, _ in keep],
               "table_name": [t.name for _, t in keep]}
        if view == "tables":
            out["table_type"] = ["VIEW" if t.is_view else "BASE TABLE" for _, t in keep]
        else:
            out["view_definition"] = [t.raw.get("ViewOriginalText", "") for _, t in keep]
        return pa.table(out)
    if view == "columns":
        rows = [(db, t.name, c["Name"], i, "YES", trino_type(c["Type"]), c.get("Comment"),
                 "partition key" if c in t.keys else None)
                for db, t in listed for i, c in enumerate(t.columns + t.keys, 1)]
        names = ["table_schema", "table_name", "column_name", "ordinal_position", "is_nullable", "data_type",
                 "comment", "extra_info"]
        cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        return pa.table({"table_catalog": ["awsdatacatalog"] * len(rows), **cols,
                         "column_default": pa.nulls(len(rows), pa.string())}).select(
            ["table_catalog", *names[:4], "column_default", *names[4:]])
    raise unsupported(f"information_schema.{view}")


# --- writing the catalog ---------------------------------------------------------------------

def register_partitions(a: "LocalAthena", t: tables.Table, found: dict[tuple[str, ...], str]) -> list[tuple[str, ...]]:
    """Register the partitions (values -> location) not yet in the catalog; returns those added."""
    known = {tuple(v) for v, _ in a.catalog.partitions(t)}
    new = sorted(v for v in found if v not in known)
    sd = t.raw["StorageDescriptor"]
    for i in range(0, len(new), 100):  # BatchCreatePartition takes at most 100
        inputs = [{"Values": list(v), "StorageDescriptor": {**{k: sd[k] for k in ("Columns", "InputFormat",
                                                                                  "OutputFormat", "SerdeInfo")
                                                                if k in sd}, "Location": found[v]}}
                  for v in new[i:i + 100]]
        errors = a.glue.batch_create_partition(DatabaseName=t.db, TableName=t.name,
                                               PartitionInputList=inputs).get("Errors", [])
        if errors:
            raise AthenaError(f"could not register partitions of {t.name}: {errors[0]['ErrorDetail']['ErrorMessage']}")
    return new


def repair(a: "LocalAthena", t: tables.Table) -> "Result":
    """MSCK REPAIR TABLE: every `k1=v1/k2=v2/` folder (the table's keys, in order) holding data
    files under the table's location becomes a partition, as Athena's Hive-compatible repair does."""
    keys = [k["Name"].lower() for k in t.keys]
    if not keys:
        raise AthenaError(f"Table {t.name} is not partitioned: MSCK REPAIR TABLE has nothing to add")
    base = t.location.rstrip("/")
    found: dict[tuple[str, ...], str] = {}
    for f in tables.files(a.fs, base):
        segs = f.path[len(base.removeprefix("s3://")) + 1:].split("/")[:-1]
        pairs = [s.split("=", 1) for s in segs[:len(keys)]]
        if len(pairs) == len(keys) and all(len(p) == 2 and p[0].lower() == k for p, k in zip(pairs, keys)):
            found[tuple(v for _, v in pairs)] = f"{base}/{'/'.join(segs[:len(keys)])}/"
    new = register_partitions(a, t, found)
    spec = ["/".join(f"{k}={v}" for k, v in zip(keys, values)) for values in new]
    lines = [f"Partitions not in metastore:\t{' '.join(f'{t.name}:{s}' for s in spec)}"] if spec else []
    return _result(["result"], [(x,) for x in lines + [f"Repair: Added partition to metastore {t.name}:{s}"
                                                       for s in spec]])


def _columns(schema: list[exp.Expression]) -> list[dict]:
    out = []
    for c in schema:
        if not isinstance(c, exp.ColumnDef):
            raise unsupported(f"the column definition {c.sql('athena')}")
        out.append({"Name": c.name.lower(), "Type": c.args["kind"].sql("hive").lower()})
    return out


def _props(props: exp.Properties | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in props.expressions if props else []:
        if isinstance(p, exp.PartitionedByProperty):
            out["partitioned_by"] = p.this
        elif isinstance(p, exp.FileFormatProperty):
            out["format"] = p.name.upper()
        elif isinstance(p, exp.LocationProperty):
            out["location"] = p.name
        elif isinstance(p, exp.RowFormatSerdeProperty):
            out["serde"] = p.name
            out["serde_properties"] = {q.name: q.text("value") for q in
                                       (p.args.get("serde_properties").expressions if p.args.get("serde_properties") else [])}
        elif isinstance(p, exp.SerdeProperties):
            out["serde_properties"] = {q.name: q.text("value") for q in p.expressions}
        elif isinstance(p, exp.ExternalProperty):
            out["external"] = True
        elif isinstance(p, exp.Property):
            out.setdefault("tblproperties", {})[p.name] = p.text("value")  # type: ignore[index]
        else:
            raise unsupported(f"the table property {p.sql('athena')}")
    return out


def _create_external(a: "LocalAthena", tree: exp.Create) -> "Result":
    schema = tree.this
    table = schema.this
    props = _props(tree.args.get("properties"))
    db, name = (table.db or a.catalog.default_db).lower(), table.name.lower()
    if a.catalog.exists(db, name):
        if tree.args.get("exists"):
            return _result([], [])
        raise AthenaError(f"Table {db}.{name} already exists")
    if "location" not in props:
        raise AthenaError("CREATE EXTERNAL TABLE needs a LOCATION 's3://bucket/folder/'")
    keys = _columns(props["partitioned_by"].expressions) if "partitioned_by" in props else []
    serde = str(props.get("serde", "")).lower()
    fmt = PARQUET if props.get("format") == "PARQUET" or "parquet" in serde else JSON if "json" in serde else None
    if fmt is None:
        raise unsupported(f"tables stored as {props.get('format') or props.get('serde') or 'TEXTFILE'} "
                          "(Parquet and the OpenX/Hive JSON SerDe are)")
    sd = {**fmt, "SerdeInfo": {**fmt["SerdeInfo"], "Parameters": props.get("serde_properties", {})},
          "Columns": _columns(schema.expressions), "Location": props["location"]}
    a.glue.create_table(DatabaseName=db, TableInput={
        "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": sd, "PartitionKeys": keys,
        "Parameters": {"EXTERNAL": "TRUE", **props.get("tblproperties", {})}})  # type: ignore[dict-item]
    return _result([], [])


def ddl(a: "LocalAthena", tree: exp.Expression) -> "Result | None":
    """CREATE/DROP/ALTER statements that sqlglot parses; None when `tree` is none of them."""
    if isinstance(tree, exp.Create):
        kind = (tree.kind or "").upper()
        if kind == "TABLE" and isinstance(tree.this, exp.Schema):
            return _create_external(a, tree)
        if kind == "VIEW":
            return _create_view(a, tree)
        if kind in ("DATABASE", "SCHEMA"):
            name = tree.this.name.lower()
            if name in a.catalog.databases():
                if tree.args.get("exists"):
                    return _result([], [])
                raise AthenaError(f"Database {name} already exists")
            a.glue.create_database(DatabaseInput={"Name": name})
            return _result([], [])
        return None
    if isinstance(tree, exp.Drop):
        return _drop(a, tree)
    if isinstance(tree, exp.Alter):
        return _alter(a, tree)
    return None


def _create_view(a: "LocalAthena", tree: exp.Create) -> "Result":
    table = tree.this
    db, name = (table.db or a.catalog.default_db).lower(), table.name.lower()
    a.select(tree.expression.copy().limit(0))  # Athena checks the view's query when it is created
    exists = a.catalog.exists(db, name)
    if exists and not tree.args.get("replace"):
        raise AthenaError(f"View {db}.{name} already exists")
    view = {"Name": name, "TableType": "VIRTUAL_VIEW", "ViewOriginalText": tree.expression.sql("athena"),
            "StorageDescriptor": {"Columns": []}, "Parameters": {"presto_view": "true"}}
    (a.glue.update_table if exists else a.glue.create_table)(DatabaseName=db, TableInput=view)
    return _result([], [])


def _drop(a: "LocalAthena", tree: exp.Drop) -> "Result":
    kind = (tree.kind or "").upper()
    if kind in ("DATABASE", "SCHEMA"):
        name = (tree.this or tree.args["tables"][0]).name.lower()
        if name not in a.catalog.databases():
            if tree.args.get("exists"):
                return _result([], [])
            raise AthenaError(f"Database {name} does not exist")
        if a.catalog.tables(name) and not tree.args.get("cascade"):
            raise AthenaError(f"Database {name} is not empty (DROP DATABASE {name} CASCADE drops its tables)")
        a.glue.delete_database(Name=name)
        return _result([], [])
    if kind not in ("TABLE", "VIEW"):
        raise unsupported(f"DROP {kind}")
    table = tree.this or tree.args["tables"][0]
    db, name = (table.db or a.catalog.default_db).lower(), table.name.lower()
    if not a.catalog.exists(db, name):
        if tree.args.get("exists"):
            return _result([], [])
        a.catalog.table(db, name)  # raises: does not exist, with the tables that do
    a.glue.delete_table(DatabaseName=db, Name=name)  # the data files stay, as for Athena's external tables
    return _result([], [])


def _drop_partitions(a: "LocalAthena", t: tables.Table, action: exp.DropPartition) -> None:
    """ALTER TABLE DROP PARTITION (k = 'v', ...) [, PARTITION (...)]: every registered partition that
    matches a spec leaves the catalog (a spec may name some keys only); the files stay."""
    keys = [k["Name"].lower() for k in t.keys]
    registered = [v for v, _ in a.catalog.partitions(t)]
    doomed: list[list[str]] = []
    for spec_node in action.expressions:
        spec = {eq.this.name.lower(): eq.expression.name for eq in spec_node.expressions}
        if not set(spec) <= set(keys):
            raise AthenaError(f"the partition spec names {sorted(spec)}, the table's keys are {keys}")
        match = [v for v in registered if all(v[keys.index(k)] == x for k, x in spec.items())]
        if not match and not action.args.get("exists"):
            raise AthenaError(f"Partition not found: {spec}")
        doomed += [v for v in match if v not in doomed]
    for i in range(0, len(doomed), 25):  # BatchDeletePartition takes at most 25
        a.glue.batch_delete_partition(DatabaseName=t.db, TableName=t.name,
                                      PartitionsToDelete=[{"Values": v} for v in doomed[i:i + 25]])


def _alter(a: "LocalAthena", tree: exp.Alter) -> "Result":
    t = a.catalog.table(tree.this.db or None, tree.this.name)
    keys = [k["Name"].lower() for k in t.keys]
    for action in tree.args.get("actions", []):
        if isinstance(action, exp.AddPartition):
            spec = {eq.this.name.lower(): eq.expression.name for eq in action.this.expressions}
            if sorted(spec) != sorted(keys):
                raise AthenaError(f"the partition spec names {sorted(spec)}, the table's keys are {keys}")
            values = tuple(spec[k] for k in keys)
            loc = action.args.get("location")
            location = loc.name if loc else f"{t.location.rstrip('/')}/" + "/".join(f"{k}={spec[k]}" for k in keys) + "/"
            if values in {tuple(v) for v, _ in a.catalog.partitions(t)} and not action.args.get("exists"):
                raise AthenaError(f"Partition already exists: {dict(zip(keys, values))}")
            register_partitions(a, t, {values: location})
        elif isinstance(action, exp.DropPartition):
            _drop_partitions(a, t, action)
        else:
            raise unsupported(f"ALTER TABLE {action.sql('athena')[:40]}")
    return _result([], [])
