"""Run the job on the local runtime: a background `python -m flink_app.main` on the Flink mini-cluster.

The job process gets the same runtime-properties file format as the service, pointing at the moto
endpoint, and the JVM option that turns CBOR off (moto answers CBOR requests with HTTP 500). It is
tracked like the other local services (.local/pids/<name>.pid), so `vigia down` stops it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import boto3
import yaml

from flink_app import properties, rules
from vigia import ingest
from vigia.config import Pipeline
from vigia.contract import checks, format_time, parse_time
from vigia.local import aws, provision, services

ROOT = Path(__file__).resolve().parent.parent
JAR = ROOT / "build" / "flink-connector" / "vigia-kinesis-connector.jar"
SERVICE = "flink"


def ensure_connector_jar() -> Path:
    """Build the Kinesis connector jar with make if it is missing (Maven, on a clean machine too)."""
    if not JAR.exists():
        subprocess.run(["make", "-s", "flink-connector"], cwd=ROOT, check=False)
    if not JAR.exists():
        raise RuntimeError(f"the Kinesis connector jar is missing: {JAR} (run `make flink-connector`)")
    return JAR


def dlq_url(p: Pipeline) -> str:
    return boto3.client("sqs", region_name=p.region).get_queue_url(QueueName=p.alerts.dead_letter_queue)["QueueUrl"]


def child_env() -> dict[str, str]:
    """The environment for a child process that starts its own PyFlink JVM: without the PYFLINK_*
    variables a process that already ran PyFlink carries (they stop the child's gateway from
    starting), and with CBOR off in the JVM (moto answers CBOR requests with 500)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFLINK_")}
    env["JAVA_TOOL_OPTIONS"] = (env.get("JAVA_TOOL_OPTIONS", "") + " -Daws.cborEnabled=false").strip()
    return env


def start(p: Pipeline, state_dir: Path, *, name: str = SERVICE, port: int | None = None,
          init_position: str | None = None, checkpoint_dir: str = "", restore_from: str = "") -> int:
    """Write the pipeline and properties files under `state_dir` and start the job; returns its pid.

    The job starts at `init_position`, by default the pipeline's `flink.start_position` (LATEST:
    what is put from the job's start on); a replay of what is already in the stream passes
    TRIM_HORIZON. With `restore_from` the restored shard positions win over either."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pipeline_file = state_dir / "pipeline.yaml"
    pipeline_file.write_text(yaml.safe_dump(p.model_dump(mode="json"), sort_keys=False))
    settings = properties.for_local(p, aws.endpoint(port), dlq_url(p), init_position=init_position or p.flink.start_position,
                                    pipeline_path=str(pipeline_file), checkpoint_dir=checkpoint_dir,
                                    restore_from=restore_from)
    props = properties.write(settings, state_dir / "application_properties.json")
    env = {**child_env(), **aws.env(p.region, port), properties.ENV: str(props),
           "VIGIA_FLINK_JARS": str(ensure_connector_jar())}
    services.stop(name)
    for d in ("pids", "logs"):
        (services.STATE_DIR / d).mkdir(parents=True, exist_ok=True)
    with open(services.log_file(name), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "flink_app.main"], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=ROOT, start_new_session=True)
    services.pid_file(name).write_text(str(proc.pid))
    return proc.pid


def stop(name: str = SERVICE) -> bool:
    return services.stop(name)


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint of the newest run under `checkpoint_dir`.

    Each run writes <job id>/chk-N/_metadata (the metadata file last, when the checkpoint is
    complete), and a restored run numbers on from the restored N in a new folder: so N alone can
    pick a killed run's checkpoint over a newer run's. Runs do not overlap, so the metadata written
    last is the newest run's newest checkpoint (N breaks a tie of equal timestamps)."""
    done = [(m.stat().st_mtime_ns, int(m.parent.name.split("-")[1]), m.parent)
            for m in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(done, default=(0, 0, None))[2]


def end_of_replay_markers(p: Pipeline) -> list[dict]:
    """One contract-valid `clock_tick` event per shard, later than every event in the stream by the
    longest window plus the watermark bound, so every window of a replayed (finite) dataset closes.
    A live stream needs none: newer events close the windows. Matches no rule (metric clock_tick)."""
    latest = max(parse_time(e["event_time"]) for e in gold_events(p))  # what the windows hold
    at = latest + timedelta(seconds=rules.max_window_s(list(p.rules)) + p.flink.out_of_orderness_s + 1)
    markers = []
    for entity in shard_keys(p, "vigia-clock"):
        markers.append({"schema_version": 1, "event_id": f"clock-{entity}-{format_time(at)}", "source": "vigia",
                        "entity_id": entity, "metric": "clock_tick", "value": 0, "unit": "none",
                        "event_time": format_time(at), "ingest_time": format_time(at)})
    boto3.client("kinesis", region_name=p.region).put_records(
        StreamName=p.stream.name, Records=[{"Data": json.dumps(m).encode(), "PartitionKey": m["entity_id"]}
                                           for m in markers])
    return markers


def shard_keys(p: Pipeline, prefix: str) -> list[str]:
    """One partition key per open shard of the stream, in shard order: `<prefix>-<n>` whose MD5
    (how Kinesis maps a key to a shard) falls in the shard's hash key range."""
    shards = [s for s in boto3.client("kinesis", region_name=p.region).list_shards(StreamName=p.stream.name)["Shards"]
              if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    keys = []
    for shard in shards:
        lo, hi = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        keys.append(next(f"{prefix}-{n}" for n in range(100_000)
                         if lo <= int(hashlib.md5(f"{prefix}-{n}".encode()).hexdigest(), 16) <= hi))
    return keys


def inbox_alerts(p: Pipeline, wait_s: float = 1) -> list[dict]:
    """Drain the local inbox queue (subscribed to the alert topic): the alerts SNS delivered."""
    sqs = boto3.client("sqs", region_name=p.region)
    url = sqs.get_queue_url(QueueName=provision.inbox_queue_name(p))["QueueUrl"]
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait_s)).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            envelope = json.loads(m["Body"])
            out.append({**json.loads(envelope["Message"]), "_received_at": time.time(),
                        "_attributes": envelope.get("MessageAttributes", {})})
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(msgs)])


class JobExited(RuntimeError):
    """The job process ended before every expected alert arrived; says where its log is."""

    def __init__(self, job_name: str):
        log = services.log_file(job_name)
        lines = log.read_text().splitlines() if log.exists() else []
        cause = next((line.strip() for line in reversed(lines) if "Error" in line or "Exception" in line), "")
        super().__init__(f"the Flink job exited early{': ' + cause[:300] if cause else ''} (log {log})")


def wait_for_alerts(p: Pipeline, timeout_s: float, job_name: str = SERVICE,
                    received: list[dict] | None = None, settle_s: float = 3):
    """Poll the inbox until it holds every alert the reference expects, then let stragglers in.

    Which events are late depends on when the job's watermarks were emitted (flink_app/README.md),
    so the expectation is re-evaluated with the late events the job stored;
    the reference decides everything else (windows, aggregates, thresholds, cooldown).
    Returns (expected reference result, alerts received)."""
    received = received if received is not None else []
    deadline = time.monotonic() + timeout_s
    while True:
        received.extend(inbox_alerts(p))
        exp = expected(p, stored_late_ids(p))
        if exp.alert_ids and exp.alert_ids <= {a["alert_id"] for a in received}:
            received.extend(inbox_alerts(p, wait_s=settle_s))  # a long poll: catches unexpected extras
            return expected(p, stored_late_ids(p)), received
        if time.monotonic() > deadline:
            return exp, received
        if services.running_pid(job_name) is None:
            raise JobExited(job_name)


def stored_late_ids(p: Pipeline) -> set[str]:
    """Ids of the late events the job stored under the raw bucket's late prefix."""
    return set(stored_late(p))


def stored_late(p: Pipeline) -> dict:
    """When each late event the job stored (by id) was last written (S3 LastModified)."""
    s3 = boto3.client("s3", region_name=p.region)
    prefix = f"{p.flink.late_events_prefix}late/"
    return {o["Key"].rsplit("/", 1)[1].removesuffix(".json"): o["LastModified"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p.buckets.raw, Prefix=prefix)
            for o in page.get("Contents", [])}


def expected(p: Pipeline, late_ids: set[str] | None = None):
    """What the job must deliver for the events now in the stream: the reference evaluator over
    them in stream order, with per-shard watermarks, or with the given late events."""
    from flink_app import reference

    shards = boto3.client("kinesis", region_name=p.region).list_shards(StreamName=p.stream.name)["Shards"]
    return reference.evaluate(gold_events(p), rules.rules_of(p), p.flink.out_of_orderness_s,
                              partition_of=reference.kinesis_partitioner(shards), late_ids=late_ids)


def gold_events(p: Pipeline) -> list[dict]:
    """The events in the stream that the job may aggregate, in stream order: those passing the
    contract and the gold rules (vigia.contract.checks, measured against their arrival time), the
    first copy of each event_id only (the job counts the others as duplicates)."""
    limits, seen, events = checks.Limits.of(p), set(), []
    for data, arrival in ingest.read_records_with_arrival(p):
        if checks.first_failure(data, limits, arrival) is None:
            event = json.loads(data)
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                events.append(event)
    return events
