"""Alert rules: validation with messages that name the rule, and compilation to Flink SQL.

Rules that read the same windows (same window spec, source and entity filters) compile into ONE
window-TVF aggregation over the `events` view; the aggregations are joined with UNION ALL into one
query, so all rules run in one job and the hot path stays in the JVM. Pure Python (no pyflink
import): the reference evaluator and the tests use it too.
"""

from __future__ import annotations

import math

from pydantic import ValidationError

from flink_app.lifecycle import needs_state
from vigia_core.config import Pipeline, Rule

# The envelope fields the job reads, all required by the contract: an event missing one (or with one
# unparseable) is invalid. The job parses no other field: carrying unit, ingest_time, attributes, ...
# through every event only to store them with the rare late or invalid one cost a third of the
# throughput (docs/benchmarks.md); every event's whole envelope is in raw and gold by event_id.
EVENT_FIELDS = ("event_id", "source", "entity_id", "metric", "value", "event_time")

# Rule aggregate -> Flink SQL aggregate over the `value` column (`value` is reserved: quoted).
SQL_AGGREGATES = {"count": "COUNT(*)", "sum": "SUM(`value`)", "avg": "AVG(`value`)",
                  "min": "MIN(`value`)", "max": "MAX(`value`)"}
SQL_COMPARISONS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}

# Column of the shared aggregation that holds each rule aggregate.
AGG_COLUMNS = {"count": "n", "sum": "total", "avg": "mean", "min": "low", "max": "high"}


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
        if r.threshold is not None and not math.isfinite(r.threshold):
            raise RuleError(f"{where}: threshold must be a finite number, got {r.threshold}")
        if metrics and r.metric not in metrics:
            raise RuleError(f"{where}: metric {r.metric!r} is not declared under 'metrics' "
                            f"(declared: {', '.join(sorted(metrics))})")
        if r.kind == "threshold" and r.aggregate == "count" and r.threshold < 0 and r.comparison in (">", ">="):
            raise RuleError(f"{where}: count {r.comparison} {r.threshold} is always true")
        if r.kind == "change" and r.change == "rate" and r.window.type == "hop":
            # consecutive hop windows overlap: their difference is not a rate of the metric
            raise RuleError(f"{where}: a rate of change needs tumbling windows")
        if r.kind == "absence" and r.lookback_s > 30 * 86_400:
            raise RuleError(f"{where}: lookback_s {r.lookback_s} exceeds 30 days (the state of every "
                            "entity seen is kept that long)")
        if r.window.size_s > 86_400:
            raise RuleError(f"{where}: window size_s {r.window.size_s} exceeds one day")


def rules_of(p: Pipeline) -> list[Rule]:
    check(list(p.rules), p.metrics)
    return list(p.rules)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def window_tvf(r: Rule, table: str = "events", time_col: str = "rowtime") -> str:
    if r.window.type == "tumble":
        return f"TUMBLE(TABLE {table}, DESCRIPTOR({time_col}), INTERVAL '{r.window.size_s}' SECOND)"
    return (f"HOP(TABLE {table}, DESCRIPTOR({time_col}), INTERVAL '{r.window.slide_s}' SECOND, "
            f"INTERVAL '{r.window.size_s}' SECOND)")


def _shared_window(r: Rule) -> tuple:
    """Rules with equal keys read the same rows into the same windows: one aggregation serves them."""
    return r.window.type, r.window.size_s, r.window.slide_s, r.source, r.entity_id


def _entry(r: Rule) -> str:
    """The rule's element of the UNNEST array: (rule, observed, start, end), observed NULL when the
    window row is not for this rule. A plain threshold rule gets only the rows that break it (most
    windows break none); a rule decided from history (lifecycle.needs_state: for, resolve, change,
    anomaly) gets EVERY window row of its metric, a few per entity and window; absence gets, per
    step window, the count and the first and last event time (as start and end)."""
    is_metric = f"metric = {sql_literal(r.metric)}"
    start, end = "a.window_start", "a.window_end"
    if r.kind == "absence":
        cond, value, start, end = is_metric, "CAST(n AS DOUBLE)", "a.first_seen", "a.last_seen"
    elif needs_state(r):
        cond, value = is_metric, f"CAST({AGG_COLUMNS[r.aggregate]} AS DOUBLE)"
    else:
        col = AGG_COLUMNS[r.aggregate]
        cond, value = f"{is_metric} AND {col} {SQL_COMPARISONS[r.comparison]} {r.threshold!r}", f"CAST({col} AS DOUBLE)"
    return f"ROW({sql_literal(r.name)}, CASE WHEN {cond} THEN {value} END, {start}, {end})"


def group_sql(members: list[Rule], table: str = "events") -> str:
    """One window-TVF aggregation for rules that share window and filters, computing every aggregate
    they need per (entity, metric, window); then one row per rule the window row concerns.

    Each rule's entry of the UNNEST array is NULL unless the row is for it (_entry). Written as one
    WHERE per rule instead, the planner would push each metric filter below the aggregation and
    split it back into one aggregation per rule."""
    first = members[0]
    metrics = sorted({r.metric for r in members})
    where = [f"metric IN ({', '.join(map(sql_literal, metrics))})"]
    if first.source is not None:
        where.append(f"source = {sql_literal(first.source)}")
    if first.entity_id is not None:
        where.append(f"entity_id = {sql_literal(first.entity_id)}")
    aggregates = ["COUNT(*) AS n"] + [f"CAST({SQL_AGGREGATES[a]} AS DOUBLE) AS {AGG_COLUMNS[a]}"
                                      for a in sorted({r.aggregate for r in members} - {"count", None})]
    if any(r.kind == "absence" for r in members):
        aggregates += ["CAST(MIN(rowtime) AS TIMESTAMP(3)) AS first_seen", "CAST(MAX(rowtime) AS TIMESTAMP(3)) AS last_seen"]
    entries = ",\n  ".join(_entry(r) for r in members)
    return (f"SELECT b.rule, a.entity_id, a.metric, b.w_start AS window_start, b.w_end AS window_end, b.observed, "
            f"a.n AS event_count\n"
            f"FROM (SELECT entity_id, metric, window_start, window_end, {', '.join(aggregates)}\n"
            f"      FROM TABLE({window_tvf(first, table)})\n"
            f"      WHERE {' AND '.join(where)}\n"
            f"      GROUP BY entity_id, metric, window_start, window_end) AS a\n"
            f"CROSS JOIN UNNEST(ARRAY[\n  {entries}]) AS b(rule, observed, w_start, w_end)\n"
            f"WHERE b.observed IS NOT NULL")


def compile_rules(rules: list[Rule], table: str = "events") -> str:
    """All rules as one query (one job, one alert stream): one aggregation per shared window."""
    if not rules:
        raise RuleError("no rules defined: the job would have nothing to evaluate")
    check(rules)
    groups: dict[tuple, list[Rule]] = {}
    for r in rules:
        groups.setdefault(_shared_window(r), []).append(r)
    return "\nUNION ALL\n".join(group_sql(members, table) for members in groups.values())


def max_window_s(rules: list[Rule]) -> int:
    return max(r.window.size_s for r in rules)


def decided_within_s(rules: list[Rule]) -> int:
    """Event time after an event by which every rule has decided it: its windows have ended, and an
    absence deadline it starts (for_s after it, rounded up to the end of a step window) has passed."""
    return max(r.window.size_s + (r.for_s if r.kind == "absence" else 0) for r in rules)
