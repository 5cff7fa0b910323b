"""The demo's real-time stage: the job reads what the ingest stage put on the stream and alerts.

Runs after `vigia.ingest:demo_stage`. The replayed events are already in the stream, so the
job starts at TRIM_HORIZON, and one end-of-replay marker per shard closes the last windows.
The stage waits (polling the inbox queue, with a deadline) for every alert the reference
evaluator expects, stops the job, and prints the alerts as the on-call reads them.
"""

from __future__ import annotations

from rich.table import Table

import re
import time

from flink_app import local
from flink_app.alerts import Alert
from vigia import ingest
from vigia.local import services
from vigia.stage import StageError

TIMEOUT_S = 300
COUNT_TIMEOUT_S = 30  # the job counts records per second of processing time
COUNT_LINE = re.compile(r"count (\w+) (\d+)$")
SHOWN_EMAILS = 2


def demo_stage(demo) -> None:
    demo.section("real time: Kinesis -> Flink rules -> SNS")
    p = demo.pipeline
    markers = local.end_of_replay_markers(p)
    demo.console.print(f"{len(markers)} end-of-replay markers put (one per shard) so the last windows close")
    log = services.log_file(local.SERVICE)
    log_start = log.stat().st_size if log.exists() else 0
    local.start(p, services.STATE_DIR / "flink", init_position="TRIM_HORIZON")  # a replay: what is already there
    demo.console.print(f"Flink job started on the mini-cluster ({len(p.rules)} rules, "
                       f"log {services.log_file(local.SERVICE)}); waiting for alerts...")
    try:
        expected, received = local.wait_for_alerts(p, timeout_s=TIMEOUT_S)
        counts = wait_for_counts(log, log_start, len(ingest.read_records(p)), timeout_s=COUNT_TIMEOUT_S)
    except local.JobExited as err:
        raise StageError(f"real time: {err}") from None
    finally:
        local.stop()
    got = {a["alert_id"]: a for a in received}
    demo.summary.update({
        "alerts_expected": len(expected.alert_ids),
        "alerts_received": len(got),
        "alerts_missing": len(expected.alert_ids - set(got)),
        "alerts_unexpected": len(set(got) - expected.alert_ids),
        "alerts_suppressed_by_cooldown": len(expected.suppressed),
        "flink_late_events": len(expected.late),
        # the job's own counts (recordsRead = the sum of the routes), and what it stored in S3
        "flink_read": sum(counts.values()),
        "flink_on_time": counts.get("on_time", 0),
        "flink_late": counts.get("late", 0),
        "flink_invalid": counts.get("invalid", 0),
        "flink_duplicates": counts.get("duplicate", 0),
        "flink_stream_records": len(ingest.read_records(p)),
        "flink_invalid_stored": stored_count(p, "invalid"),
        # The reference's own lateness model (a watermark per shard, advanced by every event); the
        # job's periodic watermarks lag it, so during a fast replay it marks fewer events late.
        "flink_late_events_per_shard_model": len(local.expected(p).late),
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
                         f"{demo.summary['alerts_unexpected']} unexpected); job log {services.log_file(local.SERVICE)}")


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
    import boto3

    s3 = boto3.client("s3", region_name=p.region)
    prefix = f"{p.flink.late_events_prefix}{kind}/"
    return sum(len(page.get("Contents", []))
               for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix))
