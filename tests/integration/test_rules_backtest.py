"""`vigia rules backtest` / `diff`: the rules as Athena SQL over gold, on the local Athena, against
the reference evaluator (which the job equals: test_flink_rules_job.py) on the same events.

The events span two days and the start of a third, with readings on window edges (to the
millisecond) and hop windows crossing midnight, for every aggregate, window type and filter of the
test rules."""

from __future__ import annotations

import os
import random
import re
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest
import requests
import yaml
from click.testing import CliRunner

from athena import backtest
from flink_app import reference
from tests.athena.lake import Lake
from tests.support import flink_data as fd
from tests.support import kinds_data as kd
from vigia.cli import main
from vigia.cli import rules as rules_cli
from vigia.local import aws, provision
from vigia.local.athena import LocalAthena
from vigia.local.variants import unique_pipeline
from vigia_core import config
from vigia_core.contract import format_time, parse_time

pytestmark = pytest.mark.integration

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 2)
START = datetime(2026, 11, 1, 0, 5, tzinfo=timezone.utc)  # no window starting before FIRST holds an event


def events(n: int = 3000, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    high = {"temperature": 95.0, "pressure": 900.0, "vibration": 60.0, "humidity": 99.0}
    # the bursts: a few entities break their rules for minutes at a time, around midnight too
    spans = [START + timedelta(hours=h) for h in (1, 9, 23.95, 30, 47.98)]
    out = []
    for i in range(n):
        entity = rng.choice(sorted(fd.ENTITIES))
        metric = fd.ENTITIES[entity]
        if i % 3 == 0:
            at = rng.choice(spans) + timedelta(seconds=rng.randrange(0, 240))
        else:
            at = START + timedelta(seconds=rng.randrange(0, 48 * 3600 - 300))
        if i % 11 == 0:
            at = at.replace(second=(at.second // 20) * 20, microsecond=0)  # exactly on a window edge
        else:
            at += timedelta(milliseconds=rng.randrange(1000))
        lo, hi = fd.NORMAL[metric]
        value = high[metric] if (i % 3 == 0 and rng.random() < 0.6) else round(rng.uniform(lo, hi), 3)
        source = "other" if (metric == "temperature" and i % 7 == 0) else "simulator"
        out.append({**fd.envelope(i, entity, metric, value, at, source), "event_time": at, "ingest_time": at})
    # humidity floods (count and sum rules): 30 readings each in 24 s, one of them across midnight
    for at0 in (START + timedelta(hours=5, seconds=7), datetime(2026, 11, 2, 23, 59, 50, tzinfo=timezone.utc)):
        for k in range(60):
            at = at0 + timedelta(milliseconds=800 * (k // 2))
            out.append({**fd.envelope(len(out) + 10_000, f"h-{k % 2}", "humidity", 99.0, at),
                        "event_time": at, "ingest_time": at})
    # the day after LAST: only its first seconds, to complete the windows that cross midnight
    end = datetime.combine(LAST + timedelta(days=1), datetime.min.time(), timezone.utc)
    for k in range(40):
        entity = sorted(fd.ENTITIES)[k % len(fd.ENTITIES)]
        at = end + timedelta(seconds=k % 30)
        out.append({**fd.envelope(n + k, entity, fd.ENTITIES[entity], high[fd.ENTITIES[entity]], at),
                    "event_time": at, "ingest_time": at})
    return out


def write_gold(moto_port, folder, name: str, rows: list[dict]):
    """A pipeline of its own with `rows` as its gold `events` table (Parquet by dt and source)."""
    p = unique_pipeline(config.load(), f"{name}{os.getpid()}")
    provision.provision(p, moto_port)
    athena = LocalAthena(p, moto_port)
    lake = Lake(athena.fs, athena.glue, p.glue.database, p.buckets.gold, folder)
    lake.events = rows
    lake.write_events(register_all=True)
    return p


@pytest.fixture(scope="module")
def gold(moto_port, tmp_path_factory):
    rows = events()
    return write_gold(moto_port, tmp_path_factory.mktemp("gold"), "bt", rows), rows


def expected(evts: list[dict], rules) -> reference.Result:
    """The reference on the same events (in event-time order: none is late), keeping the alerts of
    windows that start on the days asked for (later windows cannot suppress earlier ones)."""
    wire = [{**e, "event_time": format_time(e["event_time"]), "ingest_time": format_time(e["ingest_time"])}
            for e in sorted(evts, key=lambda e: e["event_time"])]
    res = reference.evaluate(wire, rules, fd.BOUND_S)
    keep = {str(FIRST), str(LAST)}
    res.alerts = [a for a in res.alerts if a.window_start[:10] in keep]
    res.suppressed = [a for a in res.suppressed if a.window_start[:10] in keep]
    return res


def test_backtest_equals_the_reference_for_every_window_kind_and_filter(gold, moto_port):
    p, evts = gold
    with rules_cli.local_runner(p, moto_port) as run:
        got = rules_cli.run_backtest(run, fd.RULES, FIRST, LAST)
    want = expected(evts, fd.RULES)
    assert len(want.alerts) > 20 and want.suppressed, "the data must make the rules fire and the cooldown act"
    assert {r.name for r in fd.RULES} == {a.rule for a in want.alerts}, "every test rule fires"
    assert sorted(a.alert_id for a in got.alerts) == sorted(a.alert_id for a in want.alerts)
    assert sorted(a.alert_id for a in got.suppressed) == sorted(a.alert_id for a in want.suppressed)
    by_id = {a.alert_id: a for a in want.alerts}
    for a in got.alerts:  # the same window, value and count as the job's alert would carry
        assert (a.window_end, a.event_count, round(a.observed, 6)) == \
            (by_id[a.alert_id].window_end, by_id[a.alert_id].event_count, round(by_id[a.alert_id].observed, 6))
    assert {a.window_start[:10] for a in got.alerts} == {str(FIRST), str(LAST)}
    assert got.bytes_scanned > 0


@pytest.fixture(scope="module")
def kinds_gold(moto_port, tmp_path_factory):
    """Gold holding the timeline that exercises every rule kind and the lifecycle."""
    wire = kd.timeline()
    rows = [{**e, "event_time": parse_time(e["event_time"]), "ingest_time": parse_time(e["ingest_time"])} for e in wire]
    return write_gold(moto_port, tmp_path_factory.mktemp("gold-kinds"), "btk", rows), wire


def test_backtest_of_every_rule_kind_equals_the_reference(kinds_gold, moto_port):
    """M-of-N, change (difference and rate), anomaly and absence, with resolved notices and
    cooldown: the same alerts (firing and resolved, same ids and group ids) as the reference."""
    p, wire = kinds_gold
    day = parse_time(wire[0]["event_time"]).date()
    with rules_cli.local_runner(p, moto_port) as run:
        got = rules_cli.run_backtest(run, kd.KIND_RULES, day, day)
    want = reference.evaluate(wire, kd.KIND_RULES, kd.BOUND_S)
    assert {r.kind for r in kd.KIND_RULES} == {a.rule_kind for a in want.alerts}
    assert any(a.status == "resolved" for a in want.alerts)
    view = lambda alerts: sorted((a.alert_id, a.status, a.group_id, a.window_start, round(a.observed, 6))  # noqa: E731
                                 for a in alerts)
    assert view(got.alerts) == view(want.alerts)
    assert view(got.suppressed) == view(want.suppressed)


def test_backtest_of_the_pipeline_rules_on_the_demo_data_equals_the_job(moto_port, tmp_path_factory):
    """The demo's data (the simulator's seed with its kind anomalies, as the producer makes it) and
    the pipeline's rules, one of each kind: over gold holding the events the job aggregated (its
    late ones left out), the backtest gives the alerts the job raises, which equal the reference's
    (test_flink_rule_kinds.py runs the same events through the job)."""
    wire = kd.simulator_events()
    p0 = config.load()
    want = reference.evaluate(wire, list(p0.rules), kd.BOUND_S)
    late = {e["event_id"] for e in want.late}
    assert late, "the simulator's late readings must be in the data"
    rows = [{**e, "event_time": parse_time(e["event_time"]), "ingest_time": parse_time(e["ingest_time"])}
            for e in wire if e["event_id"] not in late]
    p = write_gold(moto_port, tmp_path_factory.mktemp("gold-demo"), "btd", rows)
    days = sorted({r["event_time"].date() for r in rows})
    with rules_cli.local_runner(p, moto_port) as run:
        got = rules_cli.run_backtest(run, list(p.rules), days[0], days[-1])
    assert {a.rule for a in want.alerts} == {r.name for r in p.rules}
    view = lambda alerts: sorted((a.alert_id, a.status, a.group_id, a.window_start, round(a.observed, 6))  # noqa: E731
                                 for a in alerts)
    assert view(got.alerts) == view(want.alerts)
    assert view(got.suppressed) == view(want.suppressed)


def test_one_day_reads_only_its_partitions_and_the_next(gold, moto_port):
    p, _ = gold
    with rules_cli.local_runner(p, moto_port) as run:
        one = rules_cli.run_backtest(run, fd.RULES[:1], FIRST, FIRST)
        both = rules_cli.run_backtest(run, fd.RULES[:1], FIRST, LAST)
    assert {a.window_start[:10] for a in one.alerts} == {str(FIRST)}
    assert one.bytes_scanned < both.bytes_scanned


@pytest.fixture
def cli(gold, moto_port, monkeypatch):
    """`vigia ...` on the test's pipeline and moto server."""
    p, _ = gold
    monkeypatch.setattr(rules_cli, "pipeline", lambda ctx: p)
    monkeypatch.setattr(rules_cli.aws, "port", lambda: moto_port)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def athena_result(rows: list[tuple]) -> dict:
    """Rows as GetQueryResults gives them: every value a string in VarCharValue, the column names as
    the first row (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html)."""
    return {"rows": [{"Data": [{"VarCharValue": c} for c in backtest.COLUMNS]}] +
                    [{"Data": [{"VarCharValue": str(v)} for v in row]} for row in rows],
            "column_info": [{"Name": c, "Label": c, "Type": "varchar"} for c in backtest.COLUMNS]}


def test_backtest_on_aws_runs_each_query_in_the_workgroup_and_reads_its_results(cli, gold, moto_port, monkeypatch):
    """`--aws`: one query per rule in the pipeline's workgroup and database, the days as execution
    parameters, the results read back as Athena returns them. moto runs no SQL: it is given, in
    order, the rows the local Athena returned for the same queries."""
    p, _ = gold
    for k, v in aws.env(p.region, moto_port).items():
        monkeypatch.setenv(k, v)
    asked = []
    with rules_cli.local_runner(p, moto_port) as run:
        def recording(sql: str, params: list[str]):
            rows, scanned = run(sql, params)
            asked.append((sql, params, rows))
            return rows, scanned
        local = rules_cli.run_backtest(recording, list(p.rules), FIRST, LAST)
    requests.post(f"http://127.0.0.1:{moto_port}/moto-api/static/athena/query-results", timeout=10,
                  json={"region": p.region, "results": [athena_result(rows) for _, _, rows in asked]}).raise_for_status()
    athena = boto3.client("athena", region_name=p.region)
    if p.athena.workgroup not in {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}:
        athena.create_work_group(Name=p.athena.workgroup)  # in AWS the CDK app's (infra/)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    result = cli("rules", "backtest", "--aws", "--from", str(FIRST), "--to", str(LAST), "--details")
    assert result.exit_code == 0, result.output
    firing = sum(a.status == "firing" for a in local.alerts)
    assert f"{firing} alerts, {len(local.alerts) - firing} resolved, {len(local.suppressed)} suppressed" in result.output
    assert all(a.alert_id in result.output for a in local.alerts)
    runs = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]
            for i in set(athena.list_query_executions()["QueryExecutionIds"]) - before]
    assert sorted((q["Query"], q["ExecutionParameters"]) for q in runs) == sorted((sql, params) for sql, params, _ in asked)
    assert {(q["WorkGroup"], q["QueryExecutionContext"]["Database"]) for q in runs} == {(p.athena.workgroup, p.glue.database)}


def test_backtest_command_prints_counts_per_rule_and_day(cli, gold):
    p, evts = gold
    want = expected(evts, list(p.rules))  # the command runs the pipeline's own rules
    assert want.alerts
    result = cli("rules", "backtest", "--from", str(FIRST), "--to", str(LAST), "--details")
    assert result.exit_code == 0, result.output
    resolved = sum(a.status == "resolved" for a in want.alerts)
    assert resolved, "the pipeline's rules with resolve close incidents on this data"
    assert f"{len(want.alerts) - resolved} alerts, {resolved} resolved, {len(want.suppressed)} suppressed by cooldown" \
        in result.output
    assert all(a.alert_id in result.output for a in want.alerts)
    for r in p.rules:  # one row per rule: its name, firings per day, the total
        per_day = [sum(1 for a in want.alerts if a.rule == r.name and a.status == "firing" and a.window_start[:10] == str(d))
                   for d in (FIRST, LAST)]
        assert re.search(rf"{r.name}\W+{per_day[0]}\W+{per_day[1]}\W+{sum(per_day)}\b", result.output), r.name
    one = cli("rules", "backtest", "--rule", p.rules[0].name, "--from", str(FIRST), "--to", str(FIRST))
    assert p.rules[0].name in one.output and p.rules[1].name not in one.output
    bad = cli("rules", "backtest", "--rule", "no_such_rule")
    assert bad.exit_code != 0 and "no rule named no_such_rule" in bad.output


def test_diff_shows_the_alerts_a_threshold_change_adds(cli, gold, tmp_path):
    _, evts = gold
    old_rules = [r.model_dump(mode="json", exclude_none=True) for r in fd.RULES[:1]]
    new_rules = [{**old_rules[0], "threshold": 29}]  # the upper end of normal: many more windows
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({"rules": old_rules}))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new_rules))  # a bare list of rules works too
    before = {a.alert_id for a in expected(evts, fd.RULES[:1]).alerts}
    after = {a.alert_id for a in expected(evts, [fd.RULES[0].model_copy(update={"threshold": 29.0})]).alerts}
    assert after - before
    result = cli("rules", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"),
                 "--from", str(FIRST), "--to", str(LAST))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(line.startswith("+ ") for line in lines) == len(after - before)
    assert sum(line.startswith("- ") for line in lines) == len(before - after)
    assert f"{len(after - before)} added, {len(before - after)} removed, {len(before & after)} unchanged" in result.output
