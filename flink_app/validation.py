"""The contract's checks and the gold rules (vigia_core.contract.checks) in the Flink job.

The job's jar has one JVM function, `VIGIA_CHECK(line, arrival, checks)`
(flink_app/connector/src/main/java/io/vigia/flink/validation/, over the checks of jvm/checks that
the Glue job calls too): it parses a record's text once and
returns `ROW<reason, event_ms, event_id, source, entity_id, metric, value>`, where `reason` is
the code of the first failing check (NULL for a valid event) and the other fields are set only for
a valid event. `checks` is the check list of vigia_core.contract.checks as JSON, written here: the
Python, Spark and JVM runtimes read one list, in one order, and only the meaning of each test is
coded per runtime.

Why a function and not SQL: the same checks as Flink SQL JSON functions (tried first) parse the
text once per function call, ~25 times a record, and ran at ~2,400 events/s (docs/benchmarks.md).
"""

from __future__ import annotations

from flink_app.rules import sql_literal
from vigia_core.contract.checks import Limits, as_json

FUNCTION = "VIGIA_CHECK"
FUNCTION_CLASS = "io.vigia.flink.validation.CheckRecord"


def check_sql(limits: Limits, line: str, arrival: str) -> str:
    """The verdict row of the record `line` that arrived at `arrival` (SQL expressions)."""
    return f"{FUNCTION}({line}, {arrival}, {sql_literal(as_json(limits))})"
