"""`vigia rules backtest` and `vigia rules diff`: what the alert rules would have sent over gold.

Each rule runs as Athena SQL over the gold `events` table (athena/backtest.py compiles it from the
same rule model as the Flink SQL), on the local Athena or, with `--aws`, on Athena in the pipeline's
workgroup; its window rows then go through the job's own decisions (flink_app/lifecycle.py: every
rule kind, cooldown, resolved notices), so an alert here has the alert_id the job would give it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from athena import backtest
from flink_app import lifecycle
from flink_app import rules as rules_mod
from flink_app.alerts import Alert
from vigia.cli.context import pipeline
from vigia.local import aws
from vigia_core import clock, config
from vigia_core.config import Pipeline, Rule

ATHENA_POLL_S = 0.5


@dataclass
class Backtest:
    """What the rules would have sent over the days (firing and resolved), and what it cost."""
    alerts: list[Alert] = field(default_factory=list)
    suppressed: list[Alert] = field(default_factory=list)
    bytes_scanned: int = 0

    def per_rule_and_day(self, status: str = "firing") -> Counter:
        return Counter((a.rule, a.window_start[:10]) for a in self.alerts if a.status == status)


def run_backtest(run_query, rules: list[Rule], first_day: date, last_day: date,
                 now: datetime | None = None) -> Backtest:
    """`run_query(sql, params) -> (rows, bytes_scanned)` runs one Athena query. Each (rule,
    entity)'s window rows go through the job's decisions in window order, starting with no
    history at `first_day` (a baseline or M-of-N warms up within the days asked for). An absence
    rule's clock ends at the end of `last_day`, or at `now` (the pipeline's clock) if earlier."""
    out = Backtest()
    params = backtest.parameters(first_day, last_day)
    end_ms = round(datetime.combine(last_day + timedelta(days=1), datetime.min.time(), timezone.utc).timestamp() * 1000)
    end_ms = min(end_ms, round((now or clock.now()).timestamp() * 1000))
    for r in rules:
        rows, scanned = run_query(backtest.window_rows_sql(r, breaking_only=not lifecycle.needs_state(r)), params)
        out.bytes_scanned += scanned or 0
        by_entity: dict[str, list] = defaultdict(list)
        for entity, start, end, observed, count, first, last in rows:
            by_entity[entity].append((int(start), int(end), float(observed), int(count), int(first), int(last)))
        for entity, windows in sorted(by_entity.items()):
            st, fired = {}, {}
            remember = lambda s: fired.__setitem__("last", s)  # noqa: E731 - the cooldown's state
            for start, end, observed, count, first, last in sorted(windows):
                if r.kind == "absence":
                    d = lifecycle.on_report(r, st, entity, first, last, count, fired.get("last"), remember)
                else:
                    d = lifecycle.on_window(r, st, entity, start, end, observed, count, fired.get("last"), remember)
                out.alerts += d.alerts
                out.suppressed += d.suppressed
            if r.kind == "absence":
                d = lifecycle.on_clock(r, st, entity, end_ms - 1, fired.get("last"), remember)
                out.alerts += d.alerts
                out.suppressed += d.suppressed
    return out


@contextmanager
def local_runner(p: Pipeline, port: int | None = None):
    """Queries on the local Athena; data scanned as the metering proxy counts it."""
    from vigia.local.athena import AthenaError, LocalAthena
    from vigia.local.s3_meter import S3Meter

    with S3Meter(port or aws.port()) as meter:
        athena = LocalAthena(p, port, s3_endpoint=meter.endpoint)

        def run(sql: str, params: list[str]):
            try:
                result = athena.query(sql, params)
            except AthenaError as err:
                raise click.ClickException(str(err)) from None
            return result.rows, meter.reset()
        yield run


@contextmanager
def aws_runner(p: Pipeline):
    """Queries on Athena in the pipeline's workgroup (its output location and scan cutoff apply)."""
    import boto3

    client = boto3.client("athena", region_name=p.region)

    def run(sql: str, params: list[str]):
        qid = client.start_query_execution(QueryString=sql, WorkGroup=p.athena.workgroup,
                                           QueryExecutionContext={"Database": p.glue.database},
                                           ExecutionParameters=params)["QueryExecutionId"]
        while True:
            q = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            state = q["Status"]["State"]
            if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(ATHENA_POLL_S)  # Athena has no wait-for-completion call
        if state != "SUCCEEDED":
            raise click.ClickException(f"Athena query {qid} {state}: {q['Status'].get('StateChangeReason', '')}")
        rows = []
        for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            rows += [[c.get("VarCharValue") for c in row["Data"]] for row in page["ResultSet"]["Rows"]]
        typed = [(e, int(s), int(t), float(o), int(n), int(f), int(la)) for e, s, t, o, n, f, la in rows[1:]]  # row 0: the header
        return typed, q.get("Statistics", {}).get("DataScannedInBytes", 0)
    yield run


def _days(first: str | None, last: str | None) -> tuple[date, date]:
    """Default: the seven days up to today (the pipeline's clock)."""
    last_day = date.fromisoformat(last) if last else clock.now().date()
    first_day = date.fromisoformat(first) if first else last_day - timedelta(days=6)
    if first_day > last_day:
        raise click.BadParameter(f"--from {first_day} is after --to {last_day}")
    return first_day, last_day


def _select(rules: list[Rule], names: tuple[str, ...]) -> list[Rule]:
    unknown = set(names) - {r.name for r in rules}
    if unknown:
        raise click.BadParameter(f"no rule named {', '.join(sorted(unknown))} "
                                 f"(rules: {', '.join(r.name for r in rules)})", param_hint="--rule")
    return [r for r in rules if not names or r.name in names]


def rules_file(path: str) -> list[Rule]:
    """The rules of a pipeline definition, or of a YAML file holding only a list of rules (or `rules:`)."""
    data = yaml.safe_load(Path(path).read_text())
    try:
        if isinstance(data, dict) and set(data) != {"rules"}:
            found = config.load(path).rules
        else:
            found = rules_mod.validate_raw(data["rules"] if isinstance(data, dict) else data)
        rules_mod.check(list(found))
    except (config.ConfigError, rules_mod.RuleError) as err:
        raise click.ClickException(f"{path}: {err}") from None
    return list(found)


day_options = [click.option("--from", "first", help="First day (yyyy-mm-dd); default: six days before --to."),
               click.option("--to", "last", help="Last day (yyyy-mm-dd); default: today."),
               click.option("--aws", "on_aws", is_flag=True, help="Run on Athena in AWS instead of the local Athena.")]


def with_days(f):
    for option in reversed(day_options):
        f = option(f)
    return f


def _runner(p: Pipeline, on_aws: bool):
    return aws_runner(p) if on_aws else local_runner(p)


@click.group("rules")
def rules_group() -> None:
    """Replay the alert rules over the gold tables before they go live."""


@rules_group.command("backtest")
@click.option("--rule", "names", multiple=True, help="Only this rule (repeatable); default: every rule.")
@with_days
@click.option("--details", is_flag=True, help="List every alert, not only the counts.")
@click.pass_context
def backtest_cmd(ctx: click.Context, names: tuple[str, ...], first: str | None, last: str | None,
                 on_aws: bool, details: bool) -> None:
    """What each rule would have fired, per day, over gold."""
    p = pipeline(ctx)
    first_day, last_day = _days(first, last)
    selected = _select(list(p.rules), names)
    with _runner(p, on_aws) as run:
        result = run_backtest(run, selected, first_day, last_day)
    console = Console(soft_wrap=False)
    counts = result.per_rule_and_day()
    table = Table(title=f"alerts that would have fired, {first_day} .. {last_day}")
    table.add_column("rule")
    days = [str(first_day + timedelta(days=i)) for i in range((last_day - first_day).days + 1)]
    for d in days:
        table.add_column(d[5:], justify="right")
    table.add_column("total", justify="right")
    for r in selected:
        table.add_row(r.name, *(str(counts[(r.name, d)]) for d in days), str(sum(counts[(r.name, d)] for d in days)))
    console.print(table)
    if details:
        for a in result.alerts:
            console.print(f"{a.window_end}  {a.alert_id}  {a.sms_text()}")
    firing = sum(1 for a in result.alerts if a.status == "firing")
    console.print(f"{firing} alerts, {len(result.alerts) - firing} resolved, {len(result.suppressed)} suppressed "
                  f"by cooldown; data scanned: {result.bytes_scanned} bytes")


@rules_group.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@with_days
@click.pass_context
def diff_cmd(ctx: click.Context, old: str, new: str, first: str | None, last: str | None, on_aws: bool) -> None:
    """Which alerts a rule change adds or removes over the days (rules of two YAML files)."""
    p = pipeline(ctx)
    first_day, last_day = _days(first, last)
    old_rules, new_rules = rules_file(old), rules_file(new)
    with _runner(p, on_aws) as run:
        before = {a.alert_id: a for a in run_backtest(run, old_rules, first_day, last_day).alerts}
        after = {a.alert_id: a for a in run_backtest(run, new_rules, first_day, last_day).alerts}
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    console = Console(soft_wrap=False)
    for sign, ids, side in (("+", added, after), ("-", removed, before)):
        for a in sorted((side[i] for i in ids), key=lambda a: (a.window_end, a.rule, a.entity_id)):
            console.print(f"{sign} {a.window_end}  {a.rule}  {a.entity_id}  {a.sms_text()}")
    console.print(f"{len(added)} added, {len(removed)} removed, {len(before.keys() & after.keys())} unchanged "
                  f"({first_day} .. {last_day})")


COMMANDS = [rules_group]
