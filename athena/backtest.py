"""A rule of pipeline.yaml as Athena SQL over the gold `events` table: its window rows.

The same rule model the Flink job compiles (flink_app/rules.py), with the same window semantics:
windows aligned to the epoch in UTC, [start, start + size), a hop window every `slide_s`; the
aggregate over `value` of the rule's metric (and source/entity filters); the comparison with the
threshold. Gold holds every valid event once, so on the days it covers the window rows equal those
the streaming job computes from its on-time events (late events: gold has them, the job did not
count them). What follows from the rows (threshold, M-of-N, change, anomaly, absence, cooldown,
resolved) is decided afterwards by the job's own code (flink_app/lifecycle.py).

Times are epoch milliseconds in integer arithmetic (a DOUBLE from to_unixtime can put an event at a
window's edge into the window before). The windows returned are those that START on the days asked
for; the events of the day after are read too, so a window crossing midnight is complete (a window
is at most one day long). `parameters` gives the query's execution parameters (the same for every rule).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from vigia_core.config import Rule

SQL_AGGREGATES = {"count": "count(*)", "sum": "sum(value)", "avg": "avg(value)", "min": "min(value)",
                  "max": "max(value)"}
SQL_COMPARISONS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}
COLUMNS = ("entity_id", "window_start_ms", "window_end_ms", "observed", "event_count", "first_ms", "last_ms")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def window_rows_sql(r: Rule, breaking_only: bool, table: str = "events") -> str:
    """Per entity and window of rule `r`: start and end (epoch ms), the aggregate (count for an
    absence rule), the number of events and the first and last event time (epoch ms). With
    `breaking_only` (a plain threshold rule) only the windows past the threshold; rules that judge a
    window by the ones before it (M-of-N, change, anomaly, resolve, absence) need them all."""
    size = r.window.size_s * 1000
    slide = (r.window.slide_s or r.window.size_s) * 1000
    where = [f"metric = {_literal(r.metric)}",
             # partition pruning: the days asked for, and the next one for windows crossing midnight
             "dt BETWEEN ? AND ?"]
    if r.source is not None:
        where.append(f"source = {_literal(r.source)}")
    if r.entity_id is not None:
        where.append(f"entity_id = {_literal(r.entity_id)}")
    ms = "date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', event_time)"
    if slide == size:
        windows, start = "", f"ms - ms % {size}"
    else:  # every window holding the event: the latest starts at its slide, the others before it
        windows = f"\n  CROSS JOIN UNNEST(sequence(0, {size // slide - 1})) AS hop(k)"
        start = f"ms - ms % {slide} - k * {slide}"
    observed = SQL_AGGREGATES[r.aggregate or "count"]
    having = f"\nHAVING {observed} {SQL_COMPARISONS[r.comparison]} {r.threshold!r}" if breaking_only else ""
    return (f"SELECT entity_id, window_start_ms, window_start_ms + {size} AS window_end_ms,\n"
            f"  CAST({observed} AS double) AS observed, count(*) AS event_count, min(ms) AS first_ms, "
            f"max(ms) AS last_ms\n"
            f"FROM (\n"
            f"  SELECT entity_id, value, ms, {start} AS window_start_ms\n"
            f"  FROM (SELECT entity_id, value, {ms} AS ms FROM {table} WHERE {' AND '.join(where)}) AS e"
            f"{windows}\n"
            f") AS w\n"
            f"WHERE window_start_ms >= ? AND window_start_ms < ?\n"
            f"GROUP BY entity_id, window_start_ms{having}\n"
            f"ORDER BY entity_id, window_start_ms")


def parameters(first_day: date, last_day: date) -> list[str]:
    """The execution parameters of `window_rows_sql`, in the order of its `?`: the partitions
    to read (the days and the one after), then the window starts to keep (epoch ms)."""
    after = last_day + timedelta(days=1)
    start_ms = [round(datetime.combine(d, time(), timezone.utc).timestamp() * 1000) for d in (first_day, after)]
    return [f"'{first_day}'", f"'{after}'", str(start_ms[0]), str(start_ms[1])]
