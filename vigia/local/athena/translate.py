"""Athena (Trino) SQL -> DuckDB SQL, with Trino's semantics where the two engines differ.

sqlglot does most of the dialect work (`athena` -> `duckdb`). On top of it (names as in Trino):
- `timestamp` has no time zone in Athena and the session zone is UTC. Timestamp columns reach
  DuckDB as TIMESTAMP (zone-less) holding UTC wall-clock time; `timestamp with time zone` values
  (`AT TIME ZONE`, `with_timezone`, `from_unixtime`, `parse_datetime`, `current_timestamp`, ...)
  are DuckDB TIMESTAMPTZ, an instant. `ts AT TIME ZONE z` is the same instant shown in `z`:
  DuckDB's own `AT TIME ZONE` reads a zone-less value as wall-clock time *in* z, which is a
  different instant, so it is rewritten. The zone a value is shown in (and whose hour, day ...
  its field functions return) is the DuckDB session zone: the one zone the query names, else UTC.
- `format_datetime` / `parse_datetime` take Joda patterns: converted to strftime.
- `CROSS JOIN UNNEST(map) AS t(k, v)` and `UNNEST(a, b) AS t(x, y)` (several arrays, zipped):
  a lateral subquery of `unnest`s, which DuckDB zips the same way.
- `current_timestamp`, `now()`, `current_date`, `localtimestamp` come from the pipeline's clock.
- integer division truncates (`7 / 2` is 3); `date_diff` counts whole units; `slice` takes a length;
  `reduce` applies its output function; `cardinality` takes maps; `map_agg` builds a map.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, UnsupportedError

from vigia.local.athena.errors import AthenaError, unsupported

# sqlglot logs what it cannot parse or translate ("Falling back to parsing as a 'Command'"):
# the local Athena turns those cases into its own one-line errors, so nothing reaches stderr.
logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

_JODA = [("yyyy", "%Y"), ("YYYY", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"),
         ("M", "%-m"), ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"),
         ("mm", "%M"), ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSSSSS", "%f"), ("SSS", "%g"),
         ("EEEE", "%A"), ("EEE", "%a"), ("E", "%a"), ("a", "%p"), ("ZZ", "%z"), ("Z", "%z"), ("z", "%Z"),
         ("DDD", "%j"), ("D", "%-j")]


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern (`yyyy-MM-dd HH:mm`) as a strftime format; quoted text is literal."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for token, fmt in _JODA:
            if pattern.startswith(token, i):
                out.append(fmt)
                i += len(token)
                break
        else:
            if ch.isalpha():
                raise unsupported(f"the Joda pattern letter {ch!r} in {pattern!r}")
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


# Trino functions DuckDB lacks, as DuckDB macros created in every query's connection.
MACROS = {
    "url_extract_host(u)": "nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]*)', 1), '')",
    "url_extract_path(u)": "regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1)",
    "url_extract_parameter(u, name)": "nullif(regexp_extract(u, '[?&]' || name || '=([^&#]*)', 1), '')",
    "json_size(j, p)": "CASE json_type(json_extract(j, p)) WHEN 'ARRAY' THEN json_array_length(json_extract(j, p)) "
                       "WHEN 'OBJECT' THEN len(json_keys(json_extract(j, p))) ELSE 0 END",
    "codepoint(c)": "unicode(c)",
    "e()": "exp(1)",
    "to_milliseconds(i)": "CAST(epoch(i) * 1000 AS BIGINT)",
    "array_union(a, b)": "list_distinct(list_concat(a, b))",
    "zip(a, b)": "list_zip(a, b)",
    "json_array_contains(j, v)": "list_contains(json_transform(j, '[\"JSON\"]')::VARCHAR[], to_json(v)::VARCHAR)",
    "str_to_map(s, entry_sep, kv_sep)": "map_from_entries(list_transform(string_split(s, entry_sep), "
                                        "lambda x: {'key': split_part(x, kv_sep, 1), 'value': split_part(x, kv_sep, 2)}))",
    "arrays_overlap(a, b)": "len(list_intersect(a, b)) > 0",
    "nan()": "CAST('NaN' AS DOUBLE)",
    "infinity()": "CAST('Infinity' AS DOUBLE)",
    "trino_typeof(x)": "replace(lower(typeof(x)), 'timestamp', 'timestamp(3)')",
}
_MAP_LAMBDAS = {  # Trino (map, (k, v) -> ...) functions over DuckDB's map entries {key, value}
    "map_filter": "map_from_entries(list_filter(map_entries({m}), __e -> {body}))",
    "transform_values": "map_from_entries(list_transform(map_entries({m}), __e -> {{'key': __e.key, 'value': {body}}}))",
    "transform_keys": "map_from_entries(list_transform(map_entries({m}), __e -> {{'key': {body}, 'value': __e.value}}))",
}


def create_macros(con) -> None:
    for signature, body in MACROS.items():
        con.execute(f"CREATE MACRO {signature} AS {body}")


def _replace_params(body: exp.Expression, values: dict[str, exp.Expression]) -> exp.Expression:
    """A lambda's body with each bare reference to a parameter replaced by its value."""
    def swap(n: exp.Expression) -> exp.Expression:
        bare = (isinstance(n, exp.Column) and not n.table) or (isinstance(n, exp.Identifier)
                                                              and not isinstance(n.parent, exp.Column))
        return values[n.name].copy() if bare and n.name in values else n
    return body.copy().transform(swap)


def _map_lambda(name: str, m: exp.Expression, fn: exp.Lambda) -> exp.Expression:
    k, v = (p.name for p in fn.expressions)
    body = _replace_params(fn.this, {k: exp.column("key", table="__e"), v: exp.column("value", table="__e")})
    return sqlglot.parse_one(_MAP_LAMBDAS[name].format(m=m.sql("duckdb"), body=body.sql("duckdb")), read="duckdb")


def parse(sql: str) -> exp.Expression:
    try:
        tree = sqlglot.parse_one(sql, read="athena", error_level=ErrorLevel.RAISE)
    except ParseError as err:
        e = err.errors[0] if err.errors else {}
        where = f" at line {e['line']}, column {e['col']} near {e['highlight']!r}" if e.get("line") else ""
        raise AthenaError(f"syntax error{where}: {e.get('description', err)}") from None
    except SqlglotError as err:  # the tokenizer's: an unterminated string or quoted name
        raise AthenaError(f"syntax error: {str(err).splitlines()[0]}") from None
    if tree is None:
        raise AthenaError("syntax error: empty query")
    if isinstance(tree, exp.Command):
        raise unsupported(f"the statement {tree.name} {tree.expression.name.split(' ', 1)[0]}".strip())
    return tree


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _finish(node: exp.Reduce) -> exp.Expression:
    """reduce(a, s0, f, finish) -> finish applied to DuckDB's list_reduce(a, f, s0)."""
    finish = node.args["finish"]
    if len(finish.expressions) != 1:
        raise unsupported("a reduce output function with several parameters")
    reduced = node.copy()
    reduced.set("finish", None)
    return _replace_params(finish.this, {finish.expressions[0].name: reduced})


class Translation:
    """One query's rewrite. `map_columns`: names of map-typed columns of the tables it reads."""

    def __init__(self, now: datetime, map_columns: set[str]):
        self.now, self.map_columns = now.astimezone(timezone.utc), map_columns
        self.zones: set[str] = set()
        self._tz: set[int] = set()  # ids of nodes that are `timestamp with time zone`

    def _instant(self, node: exp.Expression) -> exp.Expression:
        self._tz.add(id(node))
        return node

    def is_tz(self, node: exp.Expression) -> bool:
        if id(node) in self._tz:
            return True
        if isinstance(node, exp.Cast):
            return node.to.is_type(exp.DataType.Type.TIMESTAMPTZ)
        return isinstance(node, (exp.UnixToTime, exp.FromISO8601Timestamp))

    def _zone(self, zone: exp.Expression) -> None:
        if isinstance(zone, exp.Literal) and zone.is_string:
            self.zones.add(zone.name)

    def _as_instant(self, value: exp.Expression) -> exp.Expression:
        """A zone-less timestamp read in the session zone of Athena (UTC) -> the instant."""
        return value if self.is_tz(value) else self._instant(_fn("timezone", exp.Literal.string("UTC"), value))

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AtTimeZone):
            self._zone(node.args["zone"])
            return self._instant(self._as_instant(node.this))
        if isinstance(node, exp.Anonymous):
            name, args = node.name.lower(), node.expressions
            if name == "with_timezone" and len(args) == 2:
                self._zone(args[1])
                return self._instant(_fn("timezone", args[1], args[0]))
            if name == "at_timezone" and len(args) == 2:
                self._zone(args[1])
                return self._instant(self._as_instant(args[0]))
            if name == "format_datetime" and len(args) == 2 and isinstance(args[1], exp.Literal):
                return _fn("strftime", args[0], exp.Literal.string(joda_to_strftime(args[1].name)))
            if name in _MAP_LAMBDAS and len(args) == 2 and isinstance(args[1], exp.Lambda) \
                    and len(args[1].expressions) == 2:
                return _map_lambda(name, args[0], args[1])
            if name == "to_iso8601" and len(args) == 1:
                fmt = "%Y-%m-%dT%H:%M:%S.%g" + ("%z" if self.is_tz(args[0]) else "")
                return _fn("strftime", args[0], exp.Literal.string(fmt))
        if isinstance(node, exp.ParseDatetime) and isinstance(node.args.get("format"), exp.Literal):
            fmt = exp.Literal.string(joda_to_strftime(node.args["format"].name))
            return self._instant(_fn("timezone", exp.Literal.string("UTC"), _fn("strptime", node.this, fmt)))
        if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.TIMESTAMPTZ) \
                and not isinstance(node.this, exp.Literal):
            return self._instant(self._as_instant(node.this))
        if isinstance(node, exp.CurrentTimestamp) or (isinstance(node, exp.Anonymous) and node.name.lower() == "now"):
            return self._instant(exp.cast(exp.Literal.string(self.now.isoformat()), exp.DataType.Type.TIMESTAMPTZ))
        if isinstance(node, exp.CurrentTimezone):
            return exp.Literal.string("UTC")  # Athena's session zone
        if isinstance(node, exp.UnixToTime) and node.args.get("zone") is not None:
            self._zone(node.args["zone"])
            return self._instant(exp.UnixToTime(this=node.this))
        if isinstance(node, exp.Typeof):
            return _fn("trino_typeof", node.this)
        if isinstance(node, exp.CurrentDate):
            return exp.cast(exp.Literal.string(self.now.date().isoformat()), exp.DataType.Type.DATE)
        if isinstance(node, (exp.Localtimestamp,)):
            return exp.cast(exp.Literal.string(self.now.replace(tzinfo=None).isoformat()), exp.DataType.Type.TIMESTAMP)
        if isinstance(node, exp.ArraySlice) and node.args.get("end") is not None:  # Trino: (start, length)
            start, length = node.args["start"], node.args["end"]
            return _fn("list_slice", node.this, start, exp.Sub(this=exp.Add(this=start.copy(), expression=length),
                                                                expression=exp.Literal.number(1)))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "map_agg" and len(node.expressions) == 2:
            return _fn("map", _fn("list", node.expressions[0]), _fn("list", node.expressions[1]))
        if isinstance(node, exp.Div):  # Trino: integer / integer truncates; DuckDB's `//` does the same,
            return exp.IntDiv(this=node.this, expression=node.expression)  # and divides others as `/`
        if isinstance(node, exp.DateDiff) and isinstance(node.args.get("unit"), (exp.Var, exp.Literal)):
            # Trino counts whole units elapsed (10:59 -> 11:01 is 0 hours); DuckDB's date_diff counts
            # boundaries crossed (1), its date_sub whole units.
            unit = exp.Literal.string(node.args["unit"].name.lower())
            return _fn("date_sub", unit, node.expression, node.this)
        if isinstance(node, exp.ArraySize) and not node.expression:
            return _fn("cardinality", node.this)  # DuckDB's array_length takes no map; cardinality takes both
        if isinstance(node, exp.Unnest):
            return self._unnest(node)
        if isinstance(node, exp.Reduce) and isinstance(node.args.get("finish"), exp.Lambda):
            return _finish(node)
        return node

    def _unnest(self, node: exp.Unnest) -> exp.Expression:
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if alias else []
        values = node.expressions
        is_map = len(values) == 1 and len(names) == 2 and isinstance(values[0], exp.Column) \
            and values[0].name.lower() in self.map_columns
        if not (is_map or len(values) > 1) or not isinstance(node.parent, (exp.Join, exp.From)):
            return node
        if node.args.get("offset"):
            raise unsupported("WITH ORDINALITY on an UNNEST of a map or of several arrays")
        if is_map:
            values = [_fn("map_keys", values[0]), _fn("map_values", values[0])]
        if len(names) != len(values):
            raise unsupported(f"UNNEST of {len(values)} value(s) into {len(names)} column(s)")
        select = exp.select(*(exp.alias_(_fn("unnest", v), n, quoted=True) for v, n in zip(values, names)))
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias.name or "u")))

    def apply(self, tree: exp.Expression) -> exp.Expression:
        for node in reversed(list(tree.walk(bfs=False))):  # children before their parents
            new = self.rewrite(node)
            if new is not node:
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
        return tree

    @property
    def session_zone(self) -> str:
        return next(iter(self.zones)) if len(self.zones) == 1 else "UTC"


def to_duckdb(tree: exp.Expression) -> str:
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as err:
        raise unsupported(str(err).splitlines()[0].rstrip(".")) from None


def duckdb_error(err: Exception, names: dict[str, str]) -> AthenaError:
    """A DuckDB error as one line, named as the user wrote it."""
    line = str(err).splitlines()[0]
    for internal, shown in names.items():
        line = line.replace(internal, shown)
    m = re.search(r"Function with name \"?(\w+)\"? (?:does not exist|is not in the catalog)", line)
    if m:
        return unsupported(f"the function {m.group(1)}")
    if "Division by zero" in line:
        return AthenaError("Division by zero")
    if line.startswith("Not implemented Error"):
        return unsupported(line.split(":", 1)[1].strip())
    return AthenaError(line)
