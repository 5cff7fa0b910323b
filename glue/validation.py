"""The contract checks and gold rules of `vigia_core.contract.checks`, compiled to Spark column expressions.

The same list the Flink job compiles to SQL, evaluated here in the JVM (no Python UDF): the first
failing check gives a record's `reason_code`, exactly as `checks.first_failure` does in Python.
How a JSON text is inspected without a per-row Python parser:
- two `from_json` parses per record, both Jackson in the JVM: the record wrapped as `[record]` into
  an array of `map<string,string>` (which keys are present, JSON nulls, and the text of every
  top-level value: a string's content, any other value's compact JSON) and wrapped as
  `{"r":record}` into the typed fields (numbers as double, objects as map). Together the two
  wrappers reject trailing content after the value (`{...} {}`, `{...}]`, `{...}}`);
- a value the contract wants as a string is a JSON string unless its text looks like a number, a
  boolean, an object or an array AND a typed parse of that kind succeeds; these extra parses run
  only for the rare rows that look suspicious (CASE WHEN evaluates its branches lazily);
- attribute values are all non-null JSON strings when the map written back as JSON (`to_json`)
  equals the compact JSON Jackson kept of the object and holds no null;
- the bytes are UTF-8 when decoding them changes nothing; an instant is the string cast to a
  timestamp (null for an impossible date or time; year 0 is refused apart).
Spark's parser leniencies that JSON does not allow (NaN/Infinity literals, single quotes) are off.
Per-row intermediate values live in one struct column so that Spark computes each once.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vigia_core.contract import checks as C

JSON_OPTIONS = {"allowNonNumericNumbers": "false", "allowSingleQuotes": "false", "mode": "PERMISSIVE"}
DETAIL_CHARS = 32  # a reason quotes at most this much of the offending value, and gives its length
_STRING_MAP = T.MapType(T.StringType(), T.StringType())
_SPARK = {"number": T.DoubleType(), "object": _STRING_MAP}
_LOOKS = {  # the compact JSON text of a non-string value, per JSON kind, and the type that parses it
    "number": (r'-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|"-?Infinity"', T.DoubleType()),
    "boolean": (r"true|false", T.BooleanType()),
    "object": (r"\{.*\}", _STRING_MAP),
    "array": (r"\[.*\]", T.ArrayType(T.StringType())),
}
_FIRST_CHARS = list('-0123456789tf{["')  # a cheap test before the regular expression
_ANY_LOOK = "(?s)^(?:" + "|".join(r for r, _ in _LOOKS.values()) + ")$"
_NULL_VALUE = r'(?<!\\)(?:\\\\)*":null[,}]'  # an unescaped `":null` in compact JSON: a null value
_NON_STRING_VALUE = r'":[^"]'  # compact JSON with a value that is not a string (or a false alarm)
_JSON_CHAR = r'(?:[^"\\]|\\u[0-9a-fA-F]{4}|\\.)'  # one character of a JSON string's text
INF = float("inf")


def _typed(fields: dict[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField("r", T.StructType([T.StructField(n, t) for n, t in fields.items()]))])


def _as_object(line: Column) -> Column:
    return F.concat(F.lit('{"r":'), line, F.lit("}"))


def _as_array(line: Column) -> Column:
    return F.concat(F.lit("["), line, F.lit("]"))


def declared_types(cs: tuple[C.Check, ...]) -> dict[str, str]:
    """Field -> the JSON type the contract wants ("number" for a `const` too), in check order."""
    out = {c.field: c.arg for c in cs if c.test == "type"}
    out.update({c.field: "number" for c in cs if c.test == "const"})
    return out


def checked(raw: DataFrame, limits: C.Limits, arrival_window: tuple[Column, Column]) -> DataFrame:
    """`raw` (with `line`) plus `reason_code`, `reason` (both null when valid) and the typed envelope.

    The age and future-skew rules are measured against the record's arrival: its `ingest_time`
    clamped to `arrival_window` (earliest, latest: timestamp columns; equal when it is known).
    """
    cs = C.checks(limits)
    types = declared_types(cs)
    strings = [f for f, t in types.items() if t == "string"]
    line = F.col("line")
    parsed = raw.select("*", F.from_json(_as_array(line), T.ArrayType(_STRING_MAP), JSON_OPTIONS).alias("_m"),
                        F.from_json(_as_object(line), _typed({f: _SPARK[t] for f, t in types.items() if t != "string"}),
                                    JSON_OPTIONS).r.alias("_t"))
    m, m0 = F.col("_m"), F.col("_m")[0]
    looks = {f: F.substring(m0[f], 1, 1).isin(_FIRST_CHARS) & m0[f].rlike(_ANY_LOOK) for f in strings}
    per_row = {f"text_{f}": m0[f] for f in types}
    per_row.update({f"has_{f}": F.map_contains_key(m0, f) for f in types})
    per_row.update({f"looks_{f}": F.coalesce(looks[f], F.lit(False)) for f in strings})
    per_row.update({f"ts_{f}": m0[f].cast("timestamp") for f in C.TIME_FIELDS})
    per_row["keys"] = F.map_keys(m0)
    per_row["one_object"] = m.isNotNull() & (F.size(m) == 1) & m0.isNotNull()
    per_row["json_null"] = m.isNotNull() & (F.size(m) == 1) & m0.isNull()
    # Spark decodes the raw text as UTF-8 with replacement: U+FFFD is what is left of bytes that were
    # not UTF-8, the same rule as the checks' Python evaluation and the Flink job.
    per_row["utf8"] = F.instr(line, "\ufffd") == 0
    df = parsed.select("*", F.struct(*(c.alias(n) for n, c in per_row.items())).alias("_r"))

    r, typed = (lambda name: F.col("_r")[name]), F.col("_t")
    suspicious = F.lit(False)
    for f in strings:
        suspicious = suspicious | r(f"looks_{f}")
    # Parsed only for rows that need them: a string field that may be another kind, a non-object.
    lazy = {f"_k_{kind}": F.when(suspicious, F.from_json(_as_object(line), _typed({f: typ for f in strings}),
                                                         JSON_OPTIONS).r)
            for kind, (_, typ) in _LOOKS.items()}
    lazy["_other"] = F.when(m.isNull(), F.struct(
        F.size(F.from_json(_as_array(line), T.ArrayType(T.StringType()), JSON_OPTIONS)).alias("n"),
        F.from_json(_as_object(line), "r string", JSON_OPTIONS).r.alias("v")))
    df = df.select("*", *(c.alias(n) for n, c in lazy.items()))

    def is_string(f: str) -> Column:
        other = F.lit(False)
        for kind, (regex, _) in _LOOKS.items():
            other = other | (r(f"text_{f}").rlike(f"(?s)^(?:{regex})$") & F.col(f"_k_{kind}")[f].isNotNull())
        return r(f"text_{f}").isNotNull() & ~(r(f"looks_{f}") & other)

    def lookup(attr: str) -> Column:
        pairs = [x for n, s in sorted(limits.metrics.items()) for x in (F.lit(n), F.lit(getattr(s, attr)))]
        return F.create_map(*pairs)[r("text_metric")] if pairs else F.lit(None)

    lo, hi = arrival_window
    arrival_ms = F.unix_millis(F.greatest(lo, F.least(hi, r("ts_ingest_time"))))

    def passes(c: C.Check) -> Column:
        f, t, a = c.field, c.test, c.arg
        if t == "json":
            valid_object = r("one_object") & typed.isNotNull()
            other_value = m.isNull() & (F.col("_other.n") == 1) & F.col("_other.v").isNotNull()
            return r("utf8") & (valid_object | r("json_null") | other_value)
        if t == "object":
            return r("one_object")
        if t == "additional_properties":
            return F.size(F.array_except(r("keys"), F.array(*map(F.lit, a)))) == 0
        if t == "required":
            return r(f"has_{f}")
        v = r(f"text_{f}")
        if t == "type":
            ok = is_string(f) if a == "string" else typed[f].isNotNull()
        elif t == "const":
            ok = typed[f] == float(a)
        elif t == "finite":
            ok = ~F.isnan(typed[f]) & (F.abs(typed[f]) != INF)
        elif t == "min_length":
            ok = F.length(v) >= a
        elif t == "max_length":
            ok = F.length(v) <= a
        elif t == "pattern":
            ok = v.rlike(f"^(?:{a})\\z")
        elif t == "format":
            ok = r(f"ts_{f}").isNotNull() & (F.substring(v, 1, 4) != "0000")
        elif t == "values_type":  # `v` is the object's compact JSON; to_json quotes every value
            ok = ~v.rlike(_NON_STRING_VALUE) | ((F.to_json(typed[f]) == v) & ~v.rlike(_NULL_VALUE))
        elif t == "values_max_length":  # no value longer than `a` characters (an escape is one)
            ok = (F.length(v) <= a) | ~v.rlike(f'":"{_JSON_CHAR}{{{a + 1}}}')
        elif t == "declared":
            ok = v.isin(list(a)) if a else F.lit(False)
        elif t == "unit":
            ok = v == lookup("unit")
        elif t == "range":
            ok = (typed[f] >= lookup("min")) & (typed[f] <= lookup("max"))
        elif t == "too_old":  # passes when event_time >= arrival - max age
            ok = F.unix_millis(r(f"ts_{f}")) >= arrival_ms - a * 1000
        elif t == "in_future":  # passes when event_time <= arrival + skew
            ok = F.unix_millis(r(f"ts_{f}")) <= arrival_ms + a * 1000
        else:
            raise ValueError(f"no Spark compilation for test {t!r} of check {c.code}")
        return ~r(f"has_{f}") | ok

    # One flat CASE WHEN NOT c1 THEN code1 WHEN NOT c2 THEN code2 ... (the first failure wins);
    # nested CASEs generate deeply nested code that takes several times longer to compile.
    branches = [(~F.coalesce(passes(c), F.lit(False)), F.lit(c.code)) for c in cs]
    code = F.when(*branches[0])
    for condition, value in branches[1:]:
        code = code.when(condition, value)
    consts = {c.field for c in cs if c.test == "const"}
    envelope = [r(f"ts_{f}").alias(f) if f in C.TIME_FIELDS else typed[f].cast("int").alias(f) if f in consts
                else typed[f].alias(f) if types[f] != "string" else r(f"text_{f}").alias(f) for f in types]
    out = df.select(*raw.columns, code.alias("reason_code"), m0.alias("_m0"), *envelope)
    return out.withColumn("reason", _reason(cs, F.col("_m0"))).drop("_m0")


def _reason(cs: tuple[C.Check, ...], top_level: Column) -> Column:
    """`field: why (got "a short prefix", its length)`: bounded, whatever the size of the value."""
    reasons = F.create_map(*(x for c in cs for x in (F.lit(c.code), F.lit(c.reason))))
    field = F.substring_index("reason_code", ".", 1)
    offending = F.when(field == "record", F.col("line")).otherwise(top_level[field])
    detail = F.when(offending.isNotNull(), F.format_string(
        ' (got "%s", %d chars)', F.substring(offending, 1, DETAIL_CHARS), F.length(offending)))
    return F.when(F.col("reason_code").isNotNull(),
                  F.concat(field, F.lit(": "), reasons[F.col("reason_code")], F.coalesce(detail, F.lit(""))))
