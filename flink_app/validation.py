"""The contract's checks and the gold rules (vigia_core.contract.checks) compiled to one Flink SQL expression.

`reason_sql(limits, line, arrival)` is a `CASE` that yields the code of the first failing check, or
NULL for a valid record, over the record's text `line` (the `raw` format: JSON is never coerced,
no record is skipped) and its arrival time on the stream. Types are read from the JSON text as
written: `JSON_QUERY(line, '$.f' WITH ARRAY WRAPPER)` is `[<the value re-serialised>]`, whose
first character after `[` names the JSON type ("99" stays a string, true is no number).
`event_time_sql(line)` is the event time of a record that passed the checks. Pure Python (no pyflink
import), so the SQL can be unit tested.
"""

from __future__ import annotations

from vigia_core.contract.checks import Check, Limits, checks

MAX_DOUBLE = "1.7976931348623157E308"


def lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _wrapped(line: str, field: str) -> str:
    # NULL when the field is absent or JSON null (presence is read from the keys).
    return f"JSON_QUERY({line}, {lit('$.' + field)} WITH ARRAY WRAPPER)"


def _first_char(line: str, field: str) -> str:
    return f"SUBSTR({_wrapped(line, field)}, 2, 1)"


def string_value(line: str, field: str) -> str:
    """The (unescaped) value of a string field."""
    return f"JSON_VALUE({line}, {lit('$.' + field)})"


def number_value(line: str, field: str) -> str:
    """A number field as a DOUBLE, read only where its JSON type is number (JSON_VALUE would coerce a
    string, or fail on one)."""
    w = _wrapped(line, field)
    return f"CAST(SUBSTR({w}, 2, CHAR_LENGTH({w}) - 2) AS DOUBLE)"


_TYPE_FIRST_CHARS = {"string": "('\"')", "object": "('{')",
                     "number": "('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"}


def _keys(line: str) -> str:
    return f"JSON_QUERY({line}, '$.keys()' WITH ARRAY WRAPPER)"


def present(line: str, field: str) -> str:
    # keys() is [["k1","k2",...]] in canonical JSON: a key's text is "<name>" only if it is that name.
    key = lit('[\\[,]"' + field + '"[,\\]]')
    return f"REGEXP({_keys(line)}, {key})"


def _time_text_ok(text: str) -> str:
    """A real calendar instant: the text's date and time survive a parse and format unchanged (the
    parser would move February 30 to the 28th), and the year is not 0000."""
    head = f"SUBSTR({text}, 1, 19)"
    parsed = f"TRY_CAST(REPLACE({head}, 'T', ' ') AS TIMESTAMP(0))"
    return (f"(SUBSTR({text}, 1, 4) <> '0000' AND "
            f"DATE_FORMAT({parsed}, 'yyyy-MM-dd''T''HH:mm:ss') = {head})")


def instant_ms(text: str) -> str:
    """Epoch milliseconds of an instant's text that passed its checks (sub-millisecond digits dropped)."""
    head = f"CAST(REPLACE(SUBSTR({text}, 1, 19), 'T', ' ') AS TIMESTAMP(0))"
    frac = f"CAST(SUBSTR(CONCAT(REGEXP_EXTRACT({text}, '\\.([0-9]+)Z$', 1), '000'), 1, 3) AS BIGINT)"
    return f"(UNIX_TIMESTAMP(DATE_FORMAT({head}, 'yyyy-MM-dd HH:mm:ss')) * 1000 + COALESCE({frac}, 0))"


def event_time_sql(line: str) -> str:
    """The event time as TIMESTAMP_LTZ(3) (for a record that passed every check)."""
    return f"TO_TIMESTAMP_LTZ({instant_ms(string_value(line, 'event_time'))}, 3)"


def _json_ok(line: str, data: str | None) -> str:
    """Exactly one JSON text. `IS JSON` alone accepts trailing content ('{} {}'): the text must
    also be the only element of an array and the only member value of an object."""
    one = [f"JSON_VALUE(CONCAT('[', {line}, ']'), '$.length()') = '1'",
           f"CONCAT('{{\"k\":', {line}, '}}') IS JSON OBJECT"]
    if data is not None:  # bytes that are not UTF-8 would decode with replacement characters
        one.insert(0, f"ENCODE({line}, 'UTF-8') = {data}")
    else:  # text decoded by the source: a replacement character marks bytes that were not UTF-8
        one.insert(0, f"POSITION(U&'\\FFFD' IN {line}) = 0")
    return "(" + " AND ".join(one) + ")"


def _spec_case(limits: Limits, value_of) -> str:
    whens = " ".join(f"WHEN {lit(m)} THEN {value_of(s)}" for m, s in sorted(limits.metrics.items()))
    return f"CASE {string_value('LINE', 'metric')} {whens} END"


def predicate(c: Check, line: str, arrival: str, data: str | None = None) -> str:
    """SQL that is TRUE when `c` passes, assuming every earlier check passed."""
    f, t = c.field, c.test
    if t == "json":
        return _json_ok(line, data)
    if t == "object":
        return f"{line} IS JSON OBJECT"
    if t == "additional_properties":
        names = "|".join(c.arg)
        known = lit('"(' + names + ')"')
        rest = f"REGEXP_REPLACE({_keys(line)}, {known}, '')"
        return f"REGEXP({rest}, '^[\\[\\],]*$')"
    if t == "required":
        return present(line, f)
    if t == "type":
        return f"COALESCE({_first_char(line, f)} IN {_TYPE_FIRST_CHARS[c.arg]}, FALSE)"
    if t == "const":
        return (f"COALESCE({_first_char(line, f)} IN {_TYPE_FIRST_CHARS['number']} "
                f"AND {number_value(line, f)} = {c.arg!r}, FALSE)")
    if t == "finite":
        return f"ABS({number_value(line, f)}) <= {MAX_DOUBLE}"
    if t in ("min_length", "max_length"):
        op = ">=" if t == "min_length" else "<="
        return f"CHAR_LENGTH({string_value(line, f)}) {op} {c.arg}"
    if t == "pattern":
        # Java's `$` would also match before a final line terminator: \z is the end of the text.
        whole = lit("^(?:" + c.arg + ")\\z")
        return f"REGEXP({string_value(line, f)}, {whole})"
    if t == "format":
        return _time_text_ok(string_value(line, f))
    if t in ("values_type", "values_max_length"):
        # The object's values as canonical JSON, [[v1,v2,...]], with every escape sequence made one
        # plain character: then a quote always delimits a string and lengths are code points.
        values = (f"REGEXP_REPLACE(JSON_QUERY({line}, {lit('$.' + f + '.*')} WITH ARRAY WRAPPER), "
                  f"{lit(_ESCAPE)}, 'x')")
        if t == "values_type":
            return f"COALESCE(REGEXP({values}, {lit(_STRING_ARRAY)}), TRUE)"
        too_long = lit('"[^"]{' + str(c.arg + 1) + ',}')
        return f"NOT COALESCE(REGEXP({values}, {too_long}), FALSE)"
    if t == "declared":
        return f"{string_value(line, 'metric')} IN ({', '.join(map(lit, c.arg))})"
    raise ValueError(f"check {c.code}: test {t!r} needs the gold limits")


_ESCAPE = "\\\\u[0-9a-fA-F]{4}|\\\\."
# Possessive quantifiers: Java's regex engine recurses per repetition of a group otherwise.
_STRING_ARRAY = '^\\[\\[(?:"[^"]*+"(?:,"[^"]*+")*+)?\\]\\]$'



def gold_predicate(c: Check, limits: Limits, line: str, arrival: str) -> str:
    t = c.test
    if t == "unit":
        return f"{string_value(line, 'unit')} = " + _spec_case(limits, lambda s: lit(s.unit)).replace("LINE", line)
    if t == "range":
        v = number_value(line, "value")
        lo = _spec_case(limits, lambda s: repr(float(s.min))).replace("LINE", line)
        hi = _spec_case(limits, lambda s: repr(float(s.max))).replace("LINE", line)
        return f"{v} BETWEEN {lo} AND {hi}"
    event = event_time_sql(line)
    if t == "too_old":
        return f"{event} >= TIMESTAMPADD(SECOND, {-int(c.arg)}, {arrival})"
    if t == "in_future":
        return f"{event} <= TIMESTAMPADD(SECOND, {int(c.arg)}, {arrival})"
    return predicate(c, line, arrival)


def reason_sql(limits: Limits, line: str = "line", arrival: str = "arrival", data: str | None = None) -> str:
    """The code of the first failing check (contract, then gold rules), NULL when the record is valid.

    A check of an optional field applies only when the field is present."""
    required = {c.field for c in checks() if c.test == "required"}
    whens = []
    for c in checks(limits):
        cond = gold_predicate(c, limits, line, arrival) if c.test in _GOLD_TESTS else predicate(c, line, arrival, data)
        if c.field not in required and c.field != "record":
            cond = f"NOT {present(line, c.field)} OR ({cond})"
        whens.append(f"  WHEN ({cond}) IS NOT TRUE THEN {lit(c.code)}")
    return "CASE\n" + "\n".join(whens) + "\n  ELSE CAST(NULL AS STRING) END"


_GOLD_TESTS = {"unit", "range", "too_old", "in_future", "declared"}


def reasons(limits: Limits) -> dict[str, str]:
    """code -> the human reason stored with an invalid record."""
    return {c.code: c.reason for c in checks(limits)}
