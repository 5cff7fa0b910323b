"""LocalAthena: one statement at a time, as Athena runs it.

A SELECT (or WITH / UNION / VALUES) runs in DuckDB over the catalog's tables (tables.py) after the
Trino -> DuckDB rewrite (translate.py); catalog statements (SHOW, DESCRIBE, MSCK REPAIR TABLE, DDL)
are answered from the Glue Data Catalog (statements.py); CTAS, INSERT INTO and UNLOAD write Parquet
to S3 and register what they wrote (writers.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
from botocore.exceptions import ClientError, EndpointConnectionError
from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.tokens import TokenType

from vigia.local import aws
from vigia.local.athena import statements, tables, translate, writers
from vigia.local.athena.errors import AthenaError, unsupported
from vigia.local.athena.types import arrow_type
from vigia_core import clock
from vigia_core.config import Pipeline

INFORMATION_SCHEMA = "information_schema"
_QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]
    run_time_s: float = 0.0


def _bind(text: str, params: list[str]) -> str:
    """The query with its `?` placeholders replaced, in the order of the text, like Athena's
    ExecutionParameters (each a SQL literal; bare text is taken as a string). Done on the tokens:
    the order of a parsed tree's placeholders is not that of the text (a WITH clause comes last)."""
    holes = [t for t in Athena().tokenize(text) if t.token_type == TokenType.PLACEHOLDER]
    if len(holes) != len(params):
        raise AthenaError(f"the query has {len(holes)} parameter(s) (?), {len(params)} given")
    for hole, value in reversed(list(zip(holes, params, strict=True))):
        literal = value if re.fullmatch(r"'.*'|-?\d+(\.\d+)?", value) else "'" + value.replace("'", "''") + "'"
        text = text[:hole.start] + literal + text[hole.end + 1:]
    return text


def _strip(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql).strip()  # a comment may hold a `;`
    return sql[:-1].rstrip() if sql.endswith(";") else sql


class LocalAthena:
    def __init__(self, p: Pipeline, port: int | None = None, s3_endpoint: str | None = None,
                 now: Callable[[], datetime] = clock.now):
        self.p, self.now = p, now
        self.glue = aws.client("glue", p.region, port)
        host = (s3_endpoint or aws.endpoint(port)).removeprefix("http://")
        self.fs = pafs.S3FileSystem(endpoint_override=host, scheme="http", access_key="testing",
                                    secret_key="testing", region=p.region,
                                    connect_timeout=10, request_timeout=120)  # a busy laptop is slow
        self.catalog = tables.Catalog(self.glue, p.glue.database)

    def tables(self, database: str | None = None) -> list[str]:
        return self.catalog.tables(database)

    def query(self, sql: str, params: list[str] | tuple[str, ...] = ()) -> Result:
        """Run one statement; `params` fill its `?` placeholders in order, like Athena's
        ExecutionParameters (each a SQL literal; bare text is taken as a string)."""
        started = time.perf_counter()
        text = _strip(sql)
        try:
            result = statements.run(self, text)
            if result is None:
                tree = translate.parse(_bind(text, list(params)))
                result = self._statement(tree)
        except ClientError as err:  # a catalog call Glue refused (a name it does not accept, ...)
            e = err.response.get("Error", {})
            raise AthenaError(f"{e.get('Code', 'Error')}: {e.get('Message', err)}") from None
        except EndpointConnectionError as err:
            raise AthenaError(f"cannot reach the local AWS endpoint ({err.kwargs.get('endpoint_url')}): "
                              "is it running? (`make up`)") from None
        except (pa.ArrowException, OSError) as err:  # reading or writing S3, or a value Arrow cannot cast
            raise AthenaError(str(err).splitlines()[0]) from None
        return Result(result.columns, result.rows, round(time.perf_counter() - started, 3))

    def _statement(self, tree: exp.Expression) -> Result:
        if isinstance(tree, _QUERIES) or (isinstance(tree, exp.Query) and not isinstance(tree, exp.DDL)):
            return self.select(tree)
        if isinstance(tree, exp.Create) and tree.kind == "TABLE" and tree.expression is not None:
            return writers.create_table_as(self, tree)
        if isinstance(tree, exp.Insert):
            return writers.insert_into(self, tree)
        handled = statements.ddl(self, tree)
        if handled is None:
            raise unsupported(f"the statement {tree.key.upper()}")
        return handled

    def arrow(self, tree: exp.Expression) -> pa.Table:
        """The rows of a query as an Arrow table (what the writers write)."""
        return self._run(tree, lambda con, sql: con.sql(sql).to_arrow_table())

    def select(self, tree: exp.Expression) -> Result:
        def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
            cur = con.execute(sql)
            rows = cur.fetchall()
            return Result([d[0] for d in cur.description], rows)
        return self._run(tree, fetch)

    def _run(self, tree: exp.Expression, fetch: Callable):
        with _Session(self, tree) as (con, sql, names):
            try:
                return fetch(con, sql)
            except duckdb.Error as err:
                raise translate.duckdb_error(err, names) from None


def _name_columns(tree: exp.Expression) -> None:
    """Athena names an unnamed result column `_col<i>` (DuckDB would use the expression's text)."""
    first = tree
    while isinstance(first, exp.SetOperation):
        first = first.this
    if isinstance(first, exp.Select):
        for i, e in enumerate(first.expressions):
            if isinstance(e, exp.Alias) and not e.args["alias"].quoted:  # names fold to lower case
                e.set("alias", exp.to_identifier(e.alias.lower()))
            elif isinstance(e, exp.Column) and not e.this.quoted and e.name != e.name.lower():
                e.replace(exp.alias_(e.copy(), e.name.lower()))
            elif not isinstance(e, (exp.Alias, exp.Column, exp.Star)):
                e.replace(exp.alias_(e.copy(), f"_col{i}"))


def _partition_filters(table: exp.Table) -> list[exp.Expression]:
    """The AND-ed conditions of the WHERE around `table` that name only its columns (when the
    table is in FROM or an inner JOIN, so that they filter its rows)."""
    parent = table.parent
    if not (isinstance(parent, exp.From) or (isinstance(parent, exp.Join) and not parent.side)):
        return []
    select = table.find_ancestor(exp.Select)
    where = select.args.get("where") if select else None
    if where is None:
        return []
    alias = (table.alias or table.name).lower()
    conds = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    return [c for c in conds if not c.find(exp.Select) and c.find(exp.Column)
            and all(not col.table or col.table.lower() == alias for col in c.find_all(exp.Column))]


def _hide_path_from_stars(tree: exp.Expression) -> None:
    """`SELECT *` lists no pseudo-column: `"$path"` is there only when named. (Only for a SELECT
    reading tables alone; a subquery's own columns are already what it selected.)"""
    for select in tree.find_all(exp.Select):
        sources = [select.args.get("from_") and select.args["from_"].this] + [j.this for j in select.args.get("joins") or []]
        if all(isinstance(x, exp.Table) and x.name.startswith("__t") for x in sources):
            for star in select.expressions:
                if isinstance(star, exp.Star):
                    star.set("except_", [exp.column(tables.PATH, quoted=True)])


class _Session:
    """A DuckDB connection holding the tables one query reads, and the query in DuckDB's SQL."""

    def __init__(self, athena: LocalAthena, tree: exp.Expression):
        self.athena, self.tree = athena, tree.copy()
        self.views: dict[tuple[str, str], exp.Subquery] = {}

    def __enter__(self):
        self.con = duckdb.connect()
        try:
            return self._prepare()
        except BaseException:
            self.con.close()
            raise

    def _prepare(self):
        a, tree, con = self.athena, self.tree, self.con
        _name_columns(tree)
        translate.create_macros(con)
        names: dict[str, str] = {}
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        with_path = any(c.name == tables.PATH for c in tree.find_all(exp.Column))
        map_columns: set[str] = set()
        registered: dict[tuple[str, str], str] = {}
        for _ in range(20):  # a view's query may name tables (and views) in turn
            pending = [t for t in tree.find_all(exp.Table) if t.name and not t.name.startswith("__t")
                       and not (not t.db and t.name.lower() in ctes) and not isinstance(t.parent, exp.Unnest)]
            if not pending:
                break
            keys = [((t.db or a.catalog.default_db).lower(), t.name.lower()) for t in pending]
            for table, key in zip(pending, keys):
                view = None
                if key not in registered:
                    registered[key] = internal = f"__t{len(registered)}_{key[1]}"
                    names[internal] = key[1]
                    filters = _partition_filters(table) if keys.count(key) == 1 else []
                    view = self._register(internal, key, with_path, map_columns, filters)
                    if view is not None:
                        ctes.update(c.alias_or_name.lower() for c in view.find_all(exp.CTE))
                        self.views[key] = view
                view = self.views.get(key)
                new = view.copy() if view is not None else exp.Table(this=exp.to_identifier(registered[key]))
                new.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias or key[1])))
                table.replace(new)
        if with_path:
            _hide_path_from_stars(tree)
        t = translate.Translation(a.now(), map_columns)
        tree = t.apply(tree)
        con.execute(f"SET TimeZone = '{t.session_zone}'")
        return con, translate.to_duckdb(tree), names

    def _register(self, internal: str, key: tuple[str, str], with_path: bool, map_columns: set[str],
                  filters: list[exp.Expression]):
        a, con = self.athena, self.con
        if key[0] == INFORMATION_SCHEMA:
            con.register(internal, statements.information_schema(a, key[1]))
            return None
        t = a.catalog.table(*key)
        if t.is_view:
            return exp.Subquery(this=translate.parse(t.raw["ViewOriginalText"]))
        schema = t.schema(with_path)
        map_columns.update(f.name for f in schema if pa.types.is_map(f.type))
        parts = a.catalog.partitions(t)
        if t.is_parquet:
            con.register(f"{internal}_files", tables.parquet_dataset(a.fs, t, parts, with_path))
            stamps = [f.name for f in schema if pa.types.is_timestamp(f.type)]
            replace = ", ".join(f"timezone('UTC', \"{n}\") AS \"{n}\"" for n in stamps)
            con.execute(f'CREATE VIEW {internal} AS SELECT * {f"REPLACE ({replace})" if replace else ""} '
                        f"FROM {internal}_files")
        elif t.is_json:  # parsed here, so partitions are pruned here (pyarrow does it for Parquet)
            con.register(internal, tables.json_table(a.fs, t, self._prune(t, parts, filters), with_path,
                                                     self._columns_read()))
        else:
            raise unsupported(f"the SerDe {t.serde.get('SerializationLibrary')!r} of table {t.db}.{t.name}")
        return None

    def _columns_read(self) -> set[str] | None:
        """The column names the query names (None: all of them, for a `*`)."""
        if any(isinstance(s.parent, exp.Select) for s in self.tree.find_all(exp.Star)):
            return None
        names = {c.name.lower() for c in self.tree.find_all(exp.Column)}
        return None if "*" in names else names

    def _prune(self, t: tables.Table, parts: list[tuple[list[str], str]],
               filters: list[exp.Expression]) -> list[tuple[list[str], str]]:
        """The partitions whose values pass the query's conditions on partition columns alone."""
        keys = {k["Name"].lower(): k["Type"] for k in t.keys}
        usable = [f for f in filters if {c.name.lower() for c in f.find_all(exp.Column)} <= set(keys)]
        if not usable or not parts:
            return parts
        values = {k: pa.array([v[i] for v, _ in parts]).cast(arrow_type(typ)) for i, (k, typ) in enumerate(keys.items())}
        conds = []
        for f in usable:
            f = f.copy()
            for c in f.find_all(exp.Column):
                c.set("table", None)
            conds.append(translate.to_duckdb(translate.Translation(self.athena.now(), set()).apply(f)))
        con = duckdb.connect()
        try:
            con.register("partitions", pa.table({**values, "__i": list(range(len(parts)))}))
            keep = {r[0] for r in con.execute(f"SELECT __i FROM partitions WHERE {' AND '.join(conds)}").fetchall()}
        except duckdb.Error:  # a condition DuckDB cannot evaluate alone: read every partition
            return parts
        finally:
            con.close()
        return [p for i, p in enumerate(parts) if i in keep]

    def __exit__(self, *exc):
        self.con.close()
