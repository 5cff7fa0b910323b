"""Conformance of the local Athena: queries as the Athena documentation writes them, on the lake of
tests/athena/lake.py, each compared with an answer computed without the local Athena (plain DuckDB
SQL on the local copies of the files, or Python on the records written).

The supported share is asserted in test_supported_share: every query of SUPPORTED plus every one of
UNSUPPORTED (which must fail with the one-line "not supported by the local Athena: ..." message).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.athena.lake import NOW, UNREGISTERED_DAY
from vigia.local.athena import NOT_SUPPORTED, AthenaError

pytestmark = pytest.mark.integration

QUERIES = Path(__file__).resolve().parents[2] / "athena" / "queries"


def _project(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text().replace("?", "'2026-11-02'")


# (Athena SQL, the same question in plain DuckDB SQL over the reference views `events` and `hourly`)
SUPPORTED: dict[str, tuple[str, str]] = {
    # --- basics, aggregation, names ---
    "count": ("SELECT count(*) FROM events", "SELECT count(*) FROM events"),
    "case_folded_table": ("SELECT count(*) FROM Events", "SELECT count(*) FROM events"),
    "qualified_upper": ("SELECT count(*) FROM {DB}.EVENTS", "SELECT count(*) FROM events"),
    "group_by_partition": ("SELECT source, count(*) AS n FROM events GROUP BY source",
                           "SELECT source, count(*) FROM events GROUP BY source"),
    "aggregates": ("SELECT metric, round(avg(value), 3), min(value), max(value), sum(value) FROM events GROUP BY metric",
                   "SELECT metric, round(avg(value), 3), min(value), max(value), sum(value) FROM events GROUP BY metric"),
    "count_distinct": ("SELECT count(DISTINCT entity_id) FROM events", "SELECT count(DISTINCT entity_id) FROM events"),
    "approx_distinct_small": ("SELECT approx_distinct(entity_id) FROM events", "SELECT count(DISTINCT entity_id) FROM events"),
    "count_if": ("SELECT count_if(value > 50) FROM events", "SELECT count(*) FILTER (WHERE value > 50) FROM events"),
    "filter_clause": ("SELECT sum(value) FILTER (WHERE metric = 'humidity') FROM events",
                      "SELECT sum(value) FILTER (WHERE metric = 'humidity') FROM events"),
    "max_by": ("SELECT metric, max_by(event_id, value), min_by(event_id, value) FROM events GROUP BY metric",
               "SELECT metric, arg_max(event_id, value), arg_min(event_id, value) FROM events GROUP BY metric"),
    "having": ("SELECT entity_id, count(*) FROM events GROUP BY entity_id HAVING count(*) > 60",
               "SELECT entity_id, count(*) FROM events GROUP BY entity_id HAVING count(*) > 60"),
    "rollup": ("SELECT source, metric, count(*) FROM events GROUP BY ROLLUP (source, metric)",
               "SELECT source, metric, count(*) FROM events GROUP BY ROLLUP (source, metric)"),
    "case_when": ("SELECT CASE WHEN value < 0 THEN 'below' WHEN value < 50 THEN 'mid' ELSE 'high' END AS band, count(*) "
                  "FROM events GROUP BY 1",
                  "SELECT CASE WHEN value < 0 THEN 'below' WHEN value < 50 THEN 'mid' ELSE 'high' END, count(*) "
                  "FROM events GROUP BY 1"),
    "order_limit_offset": ("SELECT event_id, value FROM events ORDER BY value DESC, event_id LIMIT 5 OFFSET 2",
                           "SELECT event_id, value FROM events ORDER BY value DESC, event_id LIMIT 5 OFFSET 2"),
    "strings": ("SELECT upper(entity_id), substr(entity_id, 1, 6), concat(source, '/', entity_id), length(event_id), "
                "replace(entity_id, 'sensor', 's'), split_part(event_id, '-', 2), lpad(split_part(entity_id, '-', 2), 3, '0') "
                "FROM events WHERE event_id = 'ev-00007'",
                "SELECT upper(entity_id), substr(entity_id, 1, 6), concat(source, '/', entity_id), length(event_id), "
                "replace(entity_id, 'sensor', 's'), split_part(event_id, '-', 2), lpad(split_part(entity_id, '-', 2), 3, '0') "
                "FROM events WHERE event_id = 'ev-00007'"),
    "regexp": ("SELECT regexp_extract(entity_id, '(\\d+)', 1) AS n, count(*) FROM events "
               "WHERE regexp_like(entity_id, 'sensor-[0-3]') GROUP BY 1",
               "SELECT regexp_extract(entity_id, '(\\d+)', 1), count(*) FROM events "
               "WHERE regexp_matches(entity_id, 'sensor-[0-3]') GROUP BY 1"),
    "like_in_between": ("SELECT count(*) FROM events WHERE entity_id LIKE 'sensor-%' AND metric IN ('humidity') "
                        "AND value BETWEEN 10 AND 60",
                        "SELECT count(*) FROM events WHERE metric = 'humidity' AND value BETWEEN 10 AND 60"),
    "coalesce_nullif": ("SELECT coalesce(element_at(attributes, 'floor'), 'none') AS floor, count(*) FROM events GROUP BY 1",
                        "SELECT coalesce(attributes['floor'], 'none'), count(*) FROM events GROUP BY 1"),
    "math": ("SELECT round(sqrt(abs(min(value))), 4), floor(max(value)), ceil(min(value)), round(power(2, 10)) FROM events",
             "SELECT round(sqrt(abs(min(value))), 4), floor(max(value)), ceil(min(value)), power(2, 10) FROM events"),
    "try_cast": ("SELECT try_cast('x' AS integer), CAST('42' AS bigint), CAST(1.5 AS varchar)",
                 "SELECT NULL::INTEGER, 42::BIGINT, '1.5'"),
    # --- time: Athena's timestamp has no zone, the session zone is UTC ---
    "timestamp_literal_filter": ("SELECT count(*) FROM events WHERE event_time >= TIMESTAMP '2026-11-01 10:00:00'",
                                 "SELECT count(*) FROM events WHERE event_time >= TIMESTAMP '2026-11-01 10:00:00'"),
    "timestamp_equality_hourly": ("SELECT count(*) FROM entity_metric_hourly WHERE hour = TIMESTAMP '2026-11-02 10:00:00'",
                                  "SELECT count(*) FROM hourly WHERE hour = TIMESTAMP '2026-11-02 10:00:00'"),
    "cast_string_to_timestamp": ("SELECT count(*) FROM events WHERE event_time >= CAST('2026-11-02 06:30:00' AS timestamp)",
                                 "SELECT count(*) FROM events WHERE event_time >= TIMESTAMP '2026-11-02 06:30:00'"),
    "date_function": ("SELECT count(*) FROM events WHERE date(event_time) = DATE '2026-11-02'",
                      "SELECT count(*) FROM events WHERE CAST(event_time AS DATE) = DATE '2026-11-02'"),
    "between_timestamps": ("SELECT count(*) FROM events WHERE event_time BETWEEN TIMESTAMP '2026-11-01 06:00:00' "
                           "AND TIMESTAMP '2026-11-01 18:00:00'",
                           "SELECT count(*) FROM events WHERE event_time BETWEEN TIMESTAMP '2026-11-01 06:00:00' "
                           "AND TIMESTAMP '2026-11-01 18:00:00'"),
    "interval_arithmetic": ("SELECT count(*) FROM events WHERE event_time > TIMESTAMP '2026-11-03 12:00:00' - INTERVAL '1' DAY",
                            "SELECT count(*) FROM events WHERE event_time > TIMESTAMP '2026-11-02 12:00:00'"),
    "date_trunc": ("SELECT date_trunc('hour', event_time) AS h, count(*) FROM events GROUP BY 1",
                   "SELECT date_trunc('hour', event_time), count(*) FROM events GROUP BY 1"),
    "date_format_mysql": ("SELECT date_format(event_time, '%Y-%m-%d %H:%i:%s') FROM events WHERE event_id = 'ev-00011'",
                          "SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') FROM events WHERE event_id = 'ev-00011'"),
    "format_datetime_joda": ("SELECT format_datetime(event_time, 'yyyy-MM-dd HH:mm') FROM events WHERE event_id = 'ev-00011'",
                             "SELECT strftime(event_time, '%Y-%m-%d %H:%M') FROM events WHERE event_id = 'ev-00011'"),
    "field_functions": ("SELECT year(event_time), month(event_time), day(event_time), hour(event_time), "
                        "minute(event_time), day_of_week(event_time), day_of_year(event_time) FROM events WHERE event_id = 'ev-00011'",
                        "SELECT year(event_time), month(event_time), day(event_time), hour(event_time), "
                        "minute(event_time), isodow(event_time), dayofyear(event_time) FROM events WHERE event_id = 'ev-00011'"),
    "date_add_diff": ("SELECT date_add('hour', 3, event_time), date_diff('second', event_time, ingest_time) "
                      "FROM events WHERE event_id = 'ev-00011'",
                      "SELECT event_time + INTERVAL 3 HOUR, date_diff('second', event_time, ingest_time) "
                      "FROM events WHERE event_id = 'ev-00011'"),
    "to_unixtime": ("SELECT to_unixtime(event_time) FROM events WHERE event_id = 'ev-00011'",
                    "SELECT epoch(event_time) FROM events WHERE event_id = 'ev-00011'"),
    "from_unixtime_roundtrip": ("SELECT count(*) FROM events WHERE from_unixtime(to_unixtime(event_time)) = event_time",
                                "SELECT count(*) FROM events"),
    "date_parse": ("SELECT date_parse('2026-11-01 10:15', '%Y-%m-%d %H:%i')", "SELECT TIMESTAMP '2026-11-01 10:15:00'"),
    "parse_datetime_instant": ("SELECT to_unixtime(parse_datetime('2026-11-01 10:15', 'yyyy-MM-dd HH:mm'))",
                               "SELECT epoch(TIMESTAMP '2026-11-01 10:15:00')"),
    "from_iso8601": ("SELECT to_unixtime(from_iso8601_timestamp('2026-11-01T10:00:00Z'))",
                     "SELECT epoch(TIMESTAMP '2026-11-01 10:00:00')"),
    "with_timezone_instant": ("SELECT to_unixtime(with_timezone(TIMESTAMP '2026-11-10 10:00:00', 'America/Los_Angeles'))",
                              "SELECT epoch(timezone('America/Los_Angeles', TIMESTAMP '2026-11-10 10:00:00'))"),
    "current_timestamp_clock": ("SELECT date_diff('minute', max(event_time), current_timestamp) FROM events",
                                f"SELECT floor(epoch(TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}' - max(event_time)) / 60) "
                                "FROM events"),
    "date_diff_whole_units": ("SELECT date_diff('hour', TIMESTAMP '2026-11-01 10:59:00', TIMESTAMP '2026-11-01 12:58:00'), "
                              "date_diff('day', DATE '2026-11-01', DATE '2026-11-03')",
                              "SELECT floor(epoch(TIMESTAMP '2026-11-01 12:58:00' - TIMESTAMP '2026-11-01 10:59:00') / 3600), "
                              "DATE '2026-11-03' - DATE '2026-11-01'"),
    "integer_division": ("SELECT 7 / 2, -7 / 2, 7.0 / 2, sum(readings) / count(*) FROM entity_metric_hourly",
                         "SELECT trunc(7 / 2), trunc(-7 / 2), 7.0 / 2, trunc(sum(readings) / count(*)) FROM hourly"),
    "current_date_clock": ("SELECT count(*) FROM events WHERE date(event_time) >= current_date - INTERVAL '3' DAY",
                           f"SELECT count(*) FROM events WHERE CAST(event_time AS DATE) >= DATE '{NOW:%Y-%m-%d}' - 3"),
    # --- maps, arrays, UNNEST ---
    "map_subscript": ("SELECT attributes['site'] AS site, count(*) FROM events GROUP BY 1",
                      "SELECT attributes['site'], count(*) FROM events GROUP BY 1"),
    "element_at_missing_key": ("SELECT count(element_at(attributes, 'floor')) FROM events",
                               "SELECT count(attributes['floor']) FROM events"),
    "cardinality_map_keys": ("SELECT cardinality(attributes) AS n, count(*) FROM events GROUP BY 1",
                             "SELECT cardinality(attributes), count(*) FROM events GROUP BY 1"),
    "contains_map_keys": ("SELECT count(*) FROM events WHERE contains(map_keys(attributes), 'floor')",
                          "SELECT count(*) FROM events WHERE list_contains(map_keys(attributes), 'floor')"),
    "unnest_map": ("SELECT k, v, count(*) FROM events CROSS JOIN UNNEST(attributes) AS t(k, v) GROUP BY k, v",
                   "SELECT k, v, count(*) FROM (SELECT unnest(map_keys(attributes)) k, unnest(map_values(attributes)) v "
                   "FROM events) GROUP BY k, v"),
    "unnest_array": ("SELECT part, count(*) FROM events CROSS JOIN UNNEST(split(entity_id, '-')) AS t(part) GROUP BY part",
                     "SELECT part, count(*) FROM (SELECT unnest(string_split(entity_id, '-')) part FROM events) GROUP BY part"),
    "unnest_two_arrays": ("SELECT x, y FROM UNNEST(ARRAY[1, 2, 3], ARRAY['a', 'b']) AS t(x, y)",
                          "SELECT unnest([1, 2, 3]) AS x, unnest(['a', 'b']) AS y"),
    "array_agg_join": ("SELECT entity_id, array_join(array_sort(array_agg(DISTINCT metric)), ',') FROM events GROUP BY entity_id",
                       "SELECT entity_id, array_to_string(list_sort(list(DISTINCT metric)), ',') FROM events GROUP BY entity_id"),
    "lambdas": ("SELECT transform(ARRAY[1, 2, 3], x -> x * 2), filter(ARRAY[1, 2, 3, 4], x -> x % 2 = 0), "
                "reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10)", "SELECT list_transform([1, 2, 3], lambda x: x * 2), list_filter([1, 2, 3, 4], lambda x: x % 2 = 0), "
                "list_reduce([1, 2, 3], lambda s, x: s + x, 0) * 10"),
    "sequence_slice": ("SELECT sequence(1, 5), slice(ARRAY[10, 20, 30, 40], 2, 2), array_max(ARRAY[3, 9, 2]), "
                       "array_position(ARRAY['a', 'b'], 'b')",
                       "SELECT range(1, 6), [10, 20, 30, 40][2:3], list_max([3, 9, 2]), list_position(['a', 'b'], 'b')"),
    "map_agg": ("SELECT element_at(map_agg(event_id, value), 'ev-00011') FROM events",
                "SELECT value FROM events WHERE event_id = 'ev-00011'"),
    "map_lambdas": ("SELECT event_id, map_filter(attributes, (k, v) -> k <> 'site'), "
                    "transform_values(attributes, (k, v) -> upper(v) || k) FROM events",
                    "SELECT event_id, map_from_entries(list_filter(map_entries(attributes), lambda e: e.key <> 'site')), "
                    "map_from_entries(list_transform(map_entries(attributes), "
                    "lambda e: {'key': e.key, 'value': upper(e.value) || e.key})) FROM events"),
    "zip_arrays_overlap": ("SELECT zip(ARRAY[1, 2], ARRAY['a', 'b']), arrays_overlap(ARRAY[1, 2], ARRAY[2, 3]), "
                           "array_union(ARRAY[1, 2], ARRAY[2, 3])",
                           "SELECT list_zip([1, 2], ['a', 'b']), true, list_distinct([1, 2, 2, 3])"),
    "split_to_map": ("SELECT element_at(split_to_map(concat('site=', attributes['site'], ',id=', event_id), ',', '='), 'id') "
                     "FROM events", "SELECT event_id FROM events"),
    "typeof_trino_names": ("SELECT typeof(schema_version), typeof(event_time), typeof(attributes), typeof(value) "
                           "FROM events LIMIT 1", "SELECT 'integer', 'timestamp(3)', 'map(varchar, varchar)', 'double'"),
    # --- window functions ---
    "row_number": ("SELECT metric, event_id FROM (SELECT metric, event_id, row_number() OVER (PARTITION BY metric "
                   "ORDER BY value DESC, event_id) AS rn FROM events) WHERE rn <= 3",
                   "SELECT metric, event_id FROM (SELECT metric, event_id, row_number() OVER (PARTITION BY metric "
                   "ORDER BY value DESC, event_id) AS rn FROM events) WHERE rn <= 3"),
    "rank_dense_rank": ("SELECT entity_id, rank() OVER (ORDER BY count(*) DESC), dense_rank() OVER (ORDER BY count(*) DESC) "
                        "FROM events GROUP BY entity_id",
                        "SELECT entity_id, rank() OVER (ORDER BY count(*) DESC), dense_rank() OVER (ORDER BY count(*) DESC) "
                        "FROM events GROUP BY entity_id"),
    "lag_lead": ("SELECT event_id, lag(value) OVER w, lead(value, 2) OVER w FROM events WHERE entity_id = 'sensor-1' "
                 "WINDOW w AS (ORDER BY event_time, event_id)",
                 "SELECT event_id, lag(value) OVER w, lead(value, 2) OVER w FROM events WHERE entity_id = 'sensor-1' "
                 "WINDOW w AS (ORDER BY event_time, event_id)"),
    "running_sum": ("SELECT event_id, sum(value) OVER (PARTITION BY entity_id ORDER BY event_time, event_id "
                    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM events",
                    "SELECT event_id, sum(value) OVER (PARTITION BY entity_id ORDER BY event_time, event_id "
                    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM events"),
    "ntile_first_value": ("SELECT event_id, ntile(4) OVER (ORDER BY value, event_id), "
                          "first_value(event_id) OVER (PARTITION BY metric ORDER BY value, event_id) FROM events",
                          "SELECT event_id, ntile(4) OVER (ORDER BY value, event_id), "
                          "first_value(event_id) OVER (PARTITION BY metric ORDER BY value, event_id) FROM events"),
    # --- joins, subqueries, set operations ---
    "cte_join_hourly": ("WITH e AS (SELECT source, entity_id, metric, date_trunc('hour', event_time) AS hour, value "
                        "FROM events) SELECT count(*) FROM e JOIN entity_metric_hourly h ON e.entity_id = h.entity_id "
                        "AND e.source = h.source "
                        "AND e.metric = h.metric AND e.hour = h.hour AND e.value BETWEEN h.min_value AND h.max_value",
                        "SELECT count(*) FROM events"),
    "left_join_in_subquery": ("SELECT count(*) FROM events e LEFT JOIN (SELECT DISTINCT entity_id FROM events "
                              "WHERE value > 95) x ON e.entity_id = x.entity_id WHERE x.entity_id IS NULL",
                              "SELECT count(*) FROM events WHERE entity_id NOT IN "
                              "(SELECT entity_id FROM events WHERE value > 95)"),
    "exists": ("SELECT count(*) FROM entity_metric_hourly h WHERE EXISTS (SELECT 1 FROM events e "
               "WHERE e.entity_id = h.entity_id AND e.value > 99)",
               "SELECT count(*) FROM hourly h WHERE entity_id IN (SELECT entity_id FROM events WHERE value > 99)"),
    "union_all_intersect": ("SELECT entity_id FROM events WHERE source = 'simulator' INTERSECT "
                            "SELECT entity_id FROM events WHERE source = 'weather' UNION ALL SELECT 'extra'",
                            "(SELECT entity_id FROM events WHERE source = 'simulator' INTERSECT "
                            "SELECT entity_id FROM events WHERE source = 'weather') UNION ALL SELECT 'extra'"),
    "values": ("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(n, s)", "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(n, s)"),
    # --- the project's own queries (athena/queries/, run by `make demo`), from the second day on ---
    "project_hourly_rollup": (_project("hourly_rollup"),
                              "SELECT source, entity_id, metric, unit, hour, readings, min_value, max_value, "
                              "round(avg_value, 3), round(p95_value, 3) FROM hourly WHERE dt >= '2026-11-02' "
                              "ORDER BY source, entity_id, metric, hour"),
    "project_top_entities": (_project("top_entities"),
                             "SELECT metric, place, source, entity_id, round(worst, 3), peak, unit, readings FROM ("
                             "SELECT *, row_number() OVER (PARTITION BY metric ORDER BY worst DESC, source, entity_id) "
                             "AS place FROM (SELECT metric, unit, source, entity_id, max(p95_value) AS worst, "
                             "max(max_value) AS peak, sum(readings) AS readings FROM hourly WHERE dt >= '2026-11-02' "
                             "GROUP BY ALL)) WHERE place <= 3 ORDER BY metric, place"),
    "project_freshness": (_project("freshness"),
                          "SELECT source, max(last_event_time), sum(readings), "
                          f"floor(epoch(TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}' - max(last_event_time)) / 60) "
                          "FROM hourly GROUP BY source ORDER BY source"),
    # --- partitions: only registered ones are read ---
    "partition_filter": ("SELECT count(*) FROM events WHERE dt = '2026-11-02' AND source = 'weather'",
                         "SELECT count(*) FROM events WHERE dt = '2026-11-02' AND source = 'weather'"),
    "unregistered_partition_unseen": (f"SELECT count(*) FROM events WHERE dt = '{UNREGISTERED_DAY}'",
                                      f"SELECT count(*) FROM events WHERE dt = '{UNREGISTERED_DAY}'"),
    "hourly_partition_range": ("SELECT dt, sum(readings) FROM entity_metric_hourly WHERE dt >= '2026-11-02' GROUP BY dt",
                               "SELECT dt, count(*) FROM events WHERE dt >= '2026-11-02' GROUP BY dt"),
    "path_pseudo_column": ("SELECT count(DISTINCT \"$path\") FROM events", "SELECT count(DISTINCT (dt, source)) FROM events"),
    "path_filter": ("SELECT count(*) FROM events WHERE \"$path\" LIKE '%source=weather%'",
                    "SELECT count(*) FROM events WHERE source = 'weather'"),
    # --- JSON, URLs ---
    "json_functions": ("SELECT json_size('{\"a\": {\"b\": 1, \"c\": 2}}', '$.a'), json_array_contains('[1, 2]', 2), "
                       "json_format(json_parse('{\"a\": 1}'))",
                       "SELECT len(json_keys(json_extract('{\"a\": {\"b\": 1, \"c\": 2}}', '$.a'))), "
                       "list_contains([1, 2], 2), json('{\"a\": 1}')::VARCHAR"),
    "url_functions": ("SELECT url_extract_host('https://a.example.com:8443/x/y?site=' || entity_id), "
                      "url_extract_parameter('https://h/p?site=' || entity_id || '&b=2', 'site') FROM events",
                      "SELECT 'a.example.com', entity_id FROM events"),
    "json_extract_scalar": ("SELECT json_extract_scalar('{\"a\": {\"b\": 7}}', '$.a.b'), "
                            "json_array_length('[1, 2, 3]')",
                            "SELECT json_extract_string('{\"a\": {\"b\": 7}}', '$.a.b'), json_array_length('[1, 2, 3]')"),
}


def _norm(v):
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, (float, Decimal)):
        return round(float(v), 6) if not math.isnan(float(v)) else "nan"
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _norm(x)) for k, x in v.items()))
    return v


def _rows(rows, ordered: bool):
    out = [tuple(_norm(v) for v in r) for r in rows]
    return out if ordered else sorted(out, key=repr)


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_query_matches_reference(lake, reference, name):
    athena_sql, duckdb_sql = SUPPORTED[name]
    athena_sql = athena_sql.replace("{DB}", lake.pipeline.glue.database.upper())
    got = lake.athena.query(athena_sql)
    expected = reference.execute(duckdb_sql).fetchall()
    assert expected, "the reference answer must not be empty"
    ordered = "ORDER BY" in athena_sql.upper().rsplit(")", 1)[-1]
    assert _rows(got.rows, ordered) == _rows(expected, ordered)


# Queries in the documentation's style that the local Athena does not run, with what it says.
UNSUPPORTED: dict[str, tuple[str, str]] = {
    "hyperloglog": ("SELECT cardinality(merge(approx_set(entity_id))) FROM events", "the function merge"),
    "explain": ("EXPLAIN SELECT count(*) FROM events", "the statement EXPLAIN"),
    "geospatial": ("SELECT ST_Distance(ST_Point(0, 0), ST_Point(3, 4))", "the function st_"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_fails_with_one_clear_line(lake, capfd, name):
    sql, what = UNSUPPORTED[name]
    with pytest.raises(AthenaError) as err:
        lake.athena.query(sql)
    message = str(err.value)
    assert message.startswith(f"{NOT_SUPPORTED}: ") and what in message and "\n" not in message
    assert capfd.readouterr().err == ""  # sqlglot's fallback warnings do not leak


def test_supported_share():
    """Done when ≥ 95 % of the conformance queries are supported (the rest fail as above)."""
    from tests.athena import test_statements

    supported = len(SUPPORTED) + len(test_statements.STATEMENTS)
    total = supported + len(UNSUPPORTED)
    assert total >= 60 and supported / total >= 0.95, (supported, total)


def test_at_time_zone_is_the_same_instant_shown_in_the_zone(lake):
    """Trino: `ts AT TIME ZONE z` reads the zone-less ts in the session zone (UTC) and shows it in z."""
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    registered = [e for e in lake.events if e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY]
    (got,), = lake.athena.query("SELECT min(event_time AT TIME ZONE 'America/Los_Angeles') FROM events").rows
    first = min(e["event_time"] for e in registered)
    assert got == first and got.utcoffset() == first.astimezone(la).utcoffset()
    hours = Counter(e["event_time"].astimezone(la).hour for e in registered)
    assert dict(lake.athena.query("SELECT hour(event_time AT TIME ZONE 'America/Los_Angeles'), count(*) "
                                  "FROM events GROUP BY 1").rows) == hours
