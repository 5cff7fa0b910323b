"""Catalog (Hive) column types: as Arrow types for reading, and as Athena (Trino) prints them."""

from __future__ import annotations

import pyarrow as pa

from vigia.local.athena.errors import unsupported

_SIMPLE = {"string": pa.string(), "varchar": pa.string(), "char": pa.string(), "double": pa.float64(),
           "float": pa.float32(), "real": pa.float32(), "int": pa.int32(), "integer": pa.int32(),
           "bigint": pa.int64(), "smallint": pa.int16(), "tinyint": pa.int8(), "boolean": pa.bool_(),
           "timestamp": pa.timestamp("us"), "date": pa.date32(), "binary": pa.binary()}
_TRINO = {"string": "varchar", "int": "integer", "float": "real"}


def split_top(s: str) -> list[str]:
    """`a,map<b,c>,d` -> [`a`, `map<b,c>`, `d`]: split on commas outside angle brackets."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(s + ","):
        depth += ch in "<("
        depth -= ch in ">)"
        if ch == "," and depth == 0:
            out.append(s[start:i].strip())
            start = i + 1
    return out


def _inner(t: str) -> str:
    return t[t.index("<") + 1:-1]


def base(t: str) -> str:
    """`varchar(10)` -> `varchar`, `decimal(10,2)` -> `decimal`."""
    return t.split("(", 1)[0].split("<", 1)[0].strip().lower()


def arrow_type(t: str) -> pa.DataType:
    t = t.strip()
    b = base(t)
    if b in _SIMPLE and "<" not in t:
        return _SIMPLE[b]
    if b == "decimal":
        p, s = (int(x) for x in t[t.index("(") + 1:-1].split(",")) if "(" in t else (10, 0)
        return pa.decimal128(p, s)
    if b == "array":
        return pa.list_(arrow_type(_inner(t)))
    if b == "map":
        k, v = split_top(_inner(t))
        return pa.map_(arrow_type(k), arrow_type(v))
    if b == "struct":
        return pa.struct([pa.field(n.strip(), arrow_type(ty)) for n, ty in
                          (f.split(":", 1) for f in split_top(_inner(t)))])
    raise unsupported(f"column type {t!r}")


def trino_type(t: str) -> str:
    """The type as Athena's information_schema and DESCRIBE of a query print it: `map(varchar, varchar)`."""
    t = t.strip()
    b = base(t)
    if b in ("array", "map"):
        return f"{b}({', '.join(trino_type(x) for x in split_top(_inner(t)))})"
    if b == "struct":
        return "row(" + ", ".join(f"{n.strip()} {trino_type(ty)}" for n, ty in
                                  (f.split(":", 1) for f in split_top(_inner(t)))) + ")"
    if b == "timestamp":
        return "timestamp(3)"
    return _TRINO.get(b, t.lower())


def hive_type(t: pa.DataType) -> str:
    """The catalog type of an Arrow type (what a CTAS registers): the crawler's mapping, plus the
    types a query can produce that Parquet files from the pipeline never hold."""
    from vigia.local.crawler import hive_type as crawled

    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_binary(t):
        return "binary"
    if pa.types.is_null(t):
        return "string"
    try:
        return crawled(t)
    except ValueError:
        raise unsupported(f"a column of type {t} in a written table") from None
