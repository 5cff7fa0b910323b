"""The local Managed Flink: the job as a background `python -m flink_app.main` on the Flink mini-cluster.

The job process gets the same runtime-properties file format as the service, pointing at the moto
endpoint, and the JVM option that turns CBOR off (moto answers CBOR requests with HTTP 500). It is
tracked like the other local services (.local/pids/<name>.pid), so `vigia down` stops it; its
checkpoints are kept on disk, so a later start can restore from one (`vigia flink start --restore-latest`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml

from flink_app import properties
from flink_app.properties import JobSettings
from vigia.local import aws, provision, services
from vigia_core.config import Pipeline

ROOT = Path(__file__).resolve().parents[2]
JAR = ROOT / "build" / "flink-connector" / "vigia-kinesis-connector.jar"
SERVICE = "flink"
POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


def state_dir() -> Path:
    """Where `vigia flink start` writes the job's pipeline and properties files."""
    return services.STATE_DIR / "flink"


def checkpoint_dir() -> Path:
    """Where `vigia flink start` keeps the job's checkpoints (one folder per run, by job id)."""
    return state_dir() / "checkpoints"


def ensure_connector_jar() -> Path:
    """Build the Kinesis connector jar with make if it is missing (Maven, on a clean machine too)."""
    if not JAR.exists():
        subprocess.run(["make", "-s", "flink-connector"], cwd=ROOT, check=False)
    if not JAR.exists():
        raise RuntimeError(f"the Kinesis connector jar is missing: {JAR} (run `make flink-connector`)")
    return JAR


def dlq_url(p: Pipeline) -> str:
    return boto3.client("sqs", region_name=p.region).get_queue_url(QueueName=p.alerts.dead_letter_queue)["QueueUrl"]


def job_settings(p: Pipeline, endpoint: str, dlq_url: str, **overrides) -> JobSettings:
    """The job's settings on the local runtime: the moto endpoint and the provisioned resources of `p`."""
    return JobSettings(region=p.region, stream_arn=provision.stream_arn(p),
                       alert_topic_arn=provision.topic_arn(p, p.alerts.topic), alert_dlq_url=dlq_url,
                       late_bucket=p.buckets.raw, aws_endpoint=endpoint, **overrides)


def child_env() -> dict[str, str]:
    """The environment for a child process that starts its own PyFlink JVM: without the PYFLINK_*
    variables a process that already ran PyFlink carries (they stop the child's gateway from
    starting), and with CBOR off in the JVM (moto answers CBOR requests with 500)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFLINK_")}
    env["JAVA_TOOL_OPTIONS"] = (env.get("JAVA_TOOL_OPTIONS", "") + " -Daws.cborEnabled=false").strip()
    return env


def start(p: Pipeline, state_dir: Path, *, name: str = SERVICE, port: int | None = None,
          init_position: str | None = None, init_timestamp: str = "", checkpoint_dir: str = "",
          restore_from: str = "") -> int:
    """Write the pipeline and properties files under `state_dir` and start the job; returns its pid.

    The job starts at `init_position`, by default the pipeline's `flink.start_position` (LATEST:
    what is put from the job's start on); a replay of what is already in the stream passes
    TRIM_HORIZON, AT_TIMESTAMP reads from `init_timestamp`. With `restore_from` the restored shard
    positions win over either."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pipeline_file = state_dir / "pipeline.yaml"
    pipeline_file.write_text(yaml.safe_dump(p.model_dump(mode="json"), sort_keys=False))
    settings = job_settings(p, aws.endpoint(port), dlq_url(p), init_position=init_position or p.flink.start_position,
                            init_timestamp=init_timestamp, pipeline_path=str(pipeline_file),
                            checkpoint_dir=checkpoint_dir, restore_from=restore_from)
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


@dataclass(frozen=True)
class Status:
    pid: int | None          # None: not running
    log: Path
    latest_checkpoint: Path | None


def status(name: str = SERVICE, checkpoints: Path | None = None) -> Status:
    return Status(services.running_pid(name), services.log_file(name),
                  latest_checkpoint(checkpoints or checkpoint_dir()))


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint of the newest run under `checkpoint_dir`.

    Each run writes <job id>/chk-N/_metadata (the metadata file last, when the checkpoint is
    complete), and a restored run numbers on from the restored N in a new folder: so N alone can
    pick a killed run's checkpoint over a newer run's. Runs do not overlap, so the metadata written
    last is the newest run's newest checkpoint (N breaks a tie of equal timestamps)."""
    done = [(m.stat().st_mtime_ns, int(m.parent.name.split("-")[1]), m.parent)
            for m in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(done, default=(0, 0, None))[2]


class JobExited(RuntimeError):
    """The job process ended before every expected alert arrived; says where its log is."""

    def __init__(self, job_name: str):
        log = services.log_file(job_name)
        lines = log.read_text().splitlines() if log.exists() else []
        cause = next((line.strip() for line in reversed(lines) if "Error" in line or "Exception" in line), "")
        super().__init__(f"the Flink job exited early{': ' + cause[:300] if cause else ''} (log {log})")
