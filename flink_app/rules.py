"""Alert rules: validation with messages that name the rule, and compilation to Flink SQL.

Every rule of the pipeline definition becomes one window-TVF SELECT over the `events` view; the
SELECTs are joined with UNION ALL into one query, so all rules run in one job and the hot path stays
in the JVM. Pure Python (no pyflink import): the reference evaluator and the tests use it too.
"""

from __future__ import annotations

import math

from pydantic import ValidationError

from vigia.config import Pipeline, Rule

# Rule aggregate -> Flink SQL aggregate over the `value` column (`value` is reserved: quoted).
SQL_AGGREGATES = {"count": "COUNT(*)", "sum": "SUM(`value`)", "avg": "AVG(`value`)",
                  "min": "MIN(`value`)", "max": "MAX(`value`)"}
SQL_COMPARISONS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}

# Columns of every row the compiled query emits, in order (the alert stream's schema).
ALERT_COLUMNS = ("rule", "entity_id", "metric", "window_start", "window_end", "observed", "event_count")


class RuleError(ValueError):
    """A rule cannot run; the message names the rule and the problem."""


def validate_raw(raw_rules: object) -> list[Rule]:
    """Validate rules as written in pipeline.yaml, one by one, so an error names the rule."""
    if not isinstance(raw_rules, list):
        raise RuleError(f"rules must be a list, got {type(raw_rules).__name__}")
    rules = []
    for i, raw in enumerate(raw_rules):
        name = raw.get("name", f"#{i}") if isinstance(raw, dict) else f"#{i}"
        try:
            rules.append(Rule.model_validate(raw))
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'rule'}: "
                                 f"{'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}"
                                 for e in err.errors())
            raise RuleError(f"rule {name!r}: {problems}") from None
    return rules


def check(rules: list[Rule], metrics: dict | None = None) -> None:
    """Problems pydantic cannot see: what would make a compiled rule meaningless or never fire."""
    seen: set[str] = set()
    for r in rules:
        where = f"rule {r.name!r}"
        if r.name in seen:
            raise RuleError(f"{where}: duplicate rule name")
        seen.add(r.name)
        if not math.isfinite(r.threshold):
            raise RuleError(f"{where}: threshold must be a finite number, got {r.threshold}")
        if metrics and r.metric not in metrics:
            raise RuleError(f"{where}: metric {r.metric!r} is not declared under 'metrics' "
                            f"(declared: {', '.join(sorted(metrics))})")
        if r.aggregate == "count" and r.threshold < 0 and r.comparison in (">", ">="):
            raise RuleError(f"{where}: count {r.comparison} {r.threshold} is always true")
        if r.window.size_s > 86_400:
            raise RuleError(f"{where}: window size_s {r.window.size_s} exceeds one day")


def rules_of(p: Pipeline) -> list[Rule]:
    check(list(p.rules), p.metrics)
    return list(p.rules)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def window_tvf(r: Rule, table: str = "events", time_col: str = "rowtime") -> str:
    if r.window.type == "tumble":
        return f"TUMBLE(TABLE {table}, DESCRIPTOR({time_col}), INTERVAL '{r.window.size_s}' SECOND)"
    return (f"HOP(TABLE {table}, DESCRIPTOR({time_col}), INTERVAL '{r.window.slide_s}' SECOND, "
            f"INTERVAL '{r.window.size_s}' SECOND)")


def rule_sql(r: Rule, table: str = "events") -> str:
    """One rule as a window-TVF aggregation; emits a row per (entity, window) that breaks it."""
    agg = SQL_AGGREGATES[r.aggregate]
    where = [f"metric = {_literal(r.metric)}"]
    if r.source is not None:
        where.append(f"source = {_literal(r.source)}")
    if r.entity_id is not None:
        where.append(f"entity_id = {_literal(r.entity_id)}")
    return (f"SELECT {_literal(r.name)} AS rule, entity_id, metric, window_start, window_end, "
            f"CAST({agg} AS DOUBLE) AS observed, COUNT(*) AS event_count\n"
            f"FROM TABLE({window_tvf(r, table)})\n"
            f"WHERE {' AND '.join(where)}\n"
            f"GROUP BY entity_id, metric, window_start, window_end\n"
            f"HAVING {agg} {SQL_COMPARISONS[r.comparison]} {r.threshold!r}")


def compile_rules(rules: list[Rule], table: str = "events") -> str:
    """All rules as one UNION ALL query (one job, one alert stream)."""
    if not rules:
        raise RuleError("no rules defined: the job would have nothing to evaluate")
    check(rules)
    return "\nUNION ALL\n".join(rule_sql(r, table) for r in rules)


def max_window_s(rules: list[Rule]) -> int:
    return max(r.window.size_s for r in rules)
