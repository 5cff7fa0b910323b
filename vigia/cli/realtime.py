"""`vigia flink start|stop|status`, `vigia alerts`, and the demo's real-time stage, which runs the
same code: the job on the local Flink mini-cluster reads the stream, and the alerts it publishes to
SNS arrive in the inbox queue subscribed to the topic.

In the demo the job runs after the ingest stage: the replayed events are already in the stream, so
it starts at TRIM_HORIZON, and one end-of-replay marker per shard closes the last windows. The
stage waits (polling the inbox queue, with a deadline) for every alert the reference evaluator
expects, stops the job, and prints the alerts as the on-call reads them.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import boto3
import click
from rich.table import Table

from flink_app.alerts import Alert
from vigia.cli.context import pipeline
from vigia.cli.stage import Demo, StageError
from vigia.local import aws, expected_alerts, flink, inbox, services, stream

TIMEOUT_S = 300
COUNT_TIMEOUT_S = 30  # the job counts records per second of processing time
COUNT_LINE = re.compile(r"count (\w+) (\d+)$")
SHOWN_EMAILS = 2
FOLLOW_POLL_S = 5  # SQS long poll while following: returns as soon as an alert arrives


@click.group("flink")
def flink_group() -> None:
    """The real-time job on the local Flink mini-cluster (reads the stream, publishes alerts to SNS)."""


@flink_group.command("start")
@click.option("--from", "position", type=click.Choice(flink.POSITIONS), default=None,
              help="Where to start reading the shards (default: flink.start_position of the pipeline).")
@click.option("--at", "at", default=None, metavar="TIME",
              help="With --from AT_TIMESTAMP: ISO-8601 time (UTC unless it has an offset) or epoch seconds.")
@click.option("--restore", "restore", type=click.Path(exists=True, file_okay=False), default=None,
              metavar="CHECKPOINT", help="Restore from this checkpoint folder (.../chk-N); its positions win over --from.")
@click.option("--restore-latest", is_flag=True, help="Restore from the newest checkpoint of the newest run.")
@click.pass_context
def flink_start(ctx: click.Context, position: str | None, at: str | None, restore: str | None,
                restore_latest: bool) -> None:
    """Start the job in the background (stopping a running one first); checkpoints are kept under
    .local/flink/checkpoints, so a later start can restore from them."""
    if (position == "AT_TIMESTAMP") != (at is not None):
        raise click.UsageError("--at goes with --from AT_TIMESTAMP, and AT_TIMESTAMP needs --at")
    if restore and restore_latest:
        raise click.UsageError("give --restore or --restore-latest, not both")
    checkpoints = flink.checkpoint_dir()
    if restore_latest:
        latest = flink.latest_checkpoint(checkpoints)
        if latest is None:
            raise click.ClickException(f"no completed checkpoint under {checkpoints}")
        restore = str(latest)
    p = pipeline(ctx)
    aws.use(p.region)
    checkpoints.mkdir(parents=True, exist_ok=True)
    pid = flink.start(p, flink.state_dir(), init_position=position, init_timestamp=epoch_seconds(at) if at else "",
                      checkpoint_dir=checkpoints.resolve().as_uri(), restore_from=restore or "")
    start = f"restored from {restore}" if restore else f"from {position or p.flink.start_position}"
    click.echo(f"flink job started (pid {pid}), {start}; log {services.log_file(flink.SERVICE)}, "
               f"checkpoints {checkpoints}")


@flink_group.command("stop")
def flink_stop() -> None:
    """Stop the job (its checkpoints stay on disk)."""
    click.echo("flink job stopped" if flink.stop() else "flink job not running")


@flink_group.command("status")
def flink_status() -> None:
    """Whether the job runs, where its log is, and its newest checkpoint."""
    s = flink.status()
    click.echo(f"flink job: {'running (pid %d)' % s.pid if s.pid else 'stopped'}")
    click.echo(f"log: {s.log}")
    click.echo(f"latest checkpoint: {s.latest_checkpoint or 'none'}")


def epoch_seconds(text: str) -> str:
    """The connector's AT_TIMESTAMP value (epoch seconds) of an ISO-8601 time or epoch seconds."""
    try:
        return f"{float(text):.3f}"
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 time or epoch seconds: {text!r}", param_hint="--at") from None
    return f"{(t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp():.3f}"


@click.command("alerts")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new alerts until interrupted.")
@click.option("--format", "fmt", type=click.Choice(["sms", "email", "json"]), default="sms", show_default=True,
              help="sms: one line per alert, as the text message reads; email: the full e-mail; json: one object a line.")
@click.pass_context
def alerts_cmd(ctx: click.Context, follow: bool, fmt: str) -> None:
    """Print the alerts SNS delivered to the inbox queue subscribed to the alert topic, oldest first.

    Each alert is taken off the queue once printed (the next run shows only newer ones); without
    --follow the command prints what is there and exits."""
    p = pipeline(ctx)
    aws.use(p.region)
    try:
        while True:
            for a in inbox.receive(p, wait_s=FOLLOW_POLL_S if follow else 1):
                click.echo(alert_text(a, fmt), nl=fmt != "email")
            if not follow:
                return
    except KeyboardInterrupt:
        return


def alert_text(message: dict, fmt: str) -> str:
    """One delivered alert as an operator reads it."""
    a = Alert(**{k: v for k, v in message.items() if not k.startswith("_")})
    if fmt == "json":
        return json.dumps(a.to_dict(), sort_keys=True)
    if fmt == "email":
        return f"Subject: {a.email_subject()}\n{a.email_text()}\n\n"
    return f"{a.window_end}  {a.sms_text()}"


COMMANDS = [flink_group, alerts_cmd]


def demo_stage(demo: Demo) -> None:
    demo.section("real time: Kinesis -> Flink rules -> SNS")
    p = demo.pipeline
    markers = expected_alerts.end_of_replay_markers(p)
    demo.console.print(f"{len(markers)} end-of-replay markers put (one per shard) so the last windows close")
    log = services.log_file(flink.SERVICE)
    log_start = log.stat().st_size if log.exists() else 0
    flink.start(p, flink.state_dir(), init_position="TRIM_HORIZON")  # a replay: what is already there
    demo.console.print(f"Flink job started on the mini-cluster ({len(p.rules)} rules, "
                       f"log {services.log_file(flink.SERVICE)}); waiting for alerts...")
    try:
        expected, received = expected_alerts.wait_for_alerts(p, timeout_s=TIMEOUT_S)
        counts = wait_for_counts(log, log_start, len(stream.read_records(p)), timeout_s=COUNT_TIMEOUT_S)
    except flink.JobExited as err:
        raise StageError(f"real time: {err}") from None
    finally:
        flink.stop()
    got = {a["alert_id"]: a for a in received}
    demo.summary.update({
        "alerts_expected": len(expected.alert_ids),
        "alerts_received": len(got),
        "alerts_missing": len(expected.alert_ids - set(got)),
        "alerts_unexpected": len(set(got) - expected.alert_ids),
        "alerts_suppressed_by_cooldown": len(expected.suppressed),
        **expected_alerts.kinds_summary(got.values()),  # alerts_by_kind, alerts_resolved (as delivered)
        "flink_late_events": len(expected.late),
        # the job's own counts (recordsRead = the sum of the routes), and what it stored in S3
        "flink_read": sum(counts.values()),
        "flink_on_time": counts.get("on_time", 0),
        "flink_late": counts.get("late", 0),
        "flink_invalid": counts.get("invalid", 0),
        "flink_duplicates": counts.get("duplicate", 0),
        "flink_stream_records": len(stream.read_records(p)),
        "flink_invalid_stored": stored_count(p, "invalid"),
        # The reference's own lateness model (a watermark per shard, advanced by every event); the
        # job's periodic watermarks lag it, so during a fast replay it marks fewer events late.
        "flink_late_events_per_shard_model": len(expected_alerts.expected(p).late),
    })
    alerts = sorted((Alert(**{k: v for k, v in a.items() if not k.startswith("_")}) for a in got.values()),
                    key=lambda a: (a.window_end, a.rule, a.entity_id))
    table = Table(title=f"SMS as delivered ({len(alerts)} alerts)")
    table.add_column("text (<= 140 chars)")
    for a in alerts:
        table.add_row(a.sms_text())
    demo.console.print(table)
    for a in alerts[:SHOWN_EMAILS]:
        demo.console.print(f"[bold]E-mail:[/bold] {a.email_subject()}\n{a.email_text()}\n")
    if len(alerts) > SHOWN_EMAILS:
        demo.console.print(f"(and {len(alerts) - SHOWN_EMAILS} more e-mails)")
    demo.console.print(f"stored by the job under s3://{p.buckets.raw}/{p.flink.late_events_prefix}: "
                       f"{len(expected.late)} late events (late/), {demo.summary['flink_invalid_stored']} invalid records "
                       f"(invalid/); alerts expected {len(expected.alert_ids)}, received {len(got)}")
    if not expected.alert_ids:
        raise StageError("real time: the reference evaluator expects no alert from the events on the stream, "
                         "so the job could not be checked (did the ingest stage put any anomaly on it?)")
    if expected.alert_ids != set(got):
        raise StageError(f"real time: alerts expected {len(expected.alert_ids)}, received {len(got)} within "
                         f"{TIMEOUT_S} s ({demo.summary['alerts_missing']} missing, "
                         f"{demo.summary['alerts_unexpected']} unexpected); job log {services.log_file(flink.SERVICE)}")


def job_counts(log, start: int) -> dict[str, int]:
    """Records the job counted per route, from the `count <route> <n>` lines it logged since `start`."""
    counts: dict[str, int] = {}
    with open(log, "rb") as f:
        f.seek(start)
        for line in f.read().decode(errors="replace").splitlines():
            m = COUNT_LINE.search(line.strip())
            if m:
                counts[m[1]] = counts.get(m[1], 0) + int(m[2])
    return counts


def wait_for_counts(log, start: int, records: int, timeout_s: float) -> dict[str, int]:
    """The job's counts once they account for `records` (every record on the stream), or at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = job_counts(log, start)
        if sum(counts.values()) >= records or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)  # polling a log file the job appends to once a second


def stored_count(p, kind: str) -> int:
    """Objects the job stored under the raw bucket's <late_events_prefix><kind>/ (one per record)."""
    s3 = boto3.client("s3", region_name=p.region)
    prefix = f"{p.flink.late_events_prefix}{kind}/"
    return sum(len(page.get("Contents", []))
               for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix))
