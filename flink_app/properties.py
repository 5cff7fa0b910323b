"""Runtime properties of the job, in Managed Service for Apache Flink's property-group format.

On the service the file is /etc/flink/application_properties.json (written from the application's
`EnvironmentProperties`); locally it is a file of the same format, found through
$VIGIA_FLINK_PROPERTIES or next to main.py. The job's settings are in the group `vigia.job`
(keys documented in flink_app/README.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


GROUP = "vigia.job"
SERVICE_PATH = Path("/etc/flink/application_properties.json")
LOCAL_PATH = Path(__file__).resolve().parent / "application_properties.json"
ENV = "VIGIA_FLINK_PROPERTIES"


class PropertiesError(ValueError):
    pass


@dataclass(frozen=True)
class JobSettings:
    region: str
    stream_arn: str = ""
    alert_topic_arn: str = ""
    alert_dlq_url: str = ""
    late_bucket: str = ""
    aws_endpoint: str = ""                # local only: the moto server
    init_position: str = "LATEST"         # TRIM_HORIZON | LATEST | AT_TIMESTAMP
    init_timestamp: str = ""
    source_connector: str = "kinesis"     # kinesis | filesystem (tests, benchmark)
    source_path: str = ""                 # filesystem: a file or directory of JSON lines
    source_monitor_s: int = 0             # filesystem: >0 keeps watching for new files (unbounded)
    pipeline_path: str = ""               # default: pipeline.yaml beside main.py, else the repo's
    checkpoint_dir: str = ""              # local: file:///...; the service manages its own
    restore_from: str = ""                # local: a retained checkpoint to start from
    sink: str = "sns"                     # sns | print (print: no AWS calls, output to stdout)

    KEYS = {"aws.region": "region", "stream.arn": "stream_arn", "alert.topic.arn": "alert_topic_arn",
            "alert.dlq.url": "alert_dlq_url", "late.bucket": "late_bucket", "aws.endpoint": "aws_endpoint",
            "source.init.position": "init_position", "source.init.timestamp": "init_timestamp",
            "source.connector": "source_connector", "source.path": "source_path",
            "source.monitor.interval.s": "source_monitor_s", "pipeline.path": "pipeline_path",
            "checkpoint.dir": "checkpoint_dir", "restore.from": "restore_from", "sink": "sink"}

    @classmethod
    def from_groups(cls, groups: list[dict]) -> "JobSettings":
        props = next((g.get("PropertyMap", {}) for g in groups if g.get("PropertyGroupId") == GROUP), None)
        if props is None:
            raise PropertiesError(f"property group {GROUP!r} is missing")
        unknown = sorted(set(props) - set(cls.KEYS))
        if unknown:
            raise PropertiesError(f"{GROUP}: unknown keys {unknown}; known: {sorted(cls.KEYS)}")
        if "aws.region" not in props:
            raise PropertiesError(f"{GROUP}: aws.region is required")
        kw = {cls.KEYS[k]: (int(v) if cls.KEYS[k] == "source_monitor_s" else str(v)) for k, v in props.items()}
        s = cls(**kw)
        if s.source_connector == "kinesis" and not s.stream_arn:
            raise PropertiesError(f"{GROUP}: stream.arn is required with source.connector=kinesis")
        if s.source_connector == "filesystem" and not s.source_path:
            raise PropertiesError(f"{GROUP}: source.path is required with source.connector=filesystem")
        if s.sink == "sns" and not (s.alert_topic_arn and s.alert_dlq_url and s.late_bucket):
            raise PropertiesError(f"{GROUP}: alert.topic.arn, alert.dlq.url and late.bucket are required with sink=sns")
        return s

    def to_groups(self) -> list[dict]:
        props = {k: str(getattr(self, attr)) for k, attr in self.KEYS.items()
                 if getattr(self, attr) not in ("", 0) or k == "aws.region"}
        return [{"PropertyGroupId": GROUP, "PropertyMap": props}]


def path() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return SERVICE_PATH if SERVICE_PATH.exists() else LOCAL_PATH


def load(p: str | os.PathLike | None = None) -> JobSettings:
    f = Path(p) if p else path()
    try:
        groups = json.loads(f.read_text())
    except FileNotFoundError:
        raise PropertiesError(f"runtime properties not found: {f}") from None
    except ValueError as err:
        raise PropertiesError(f"{f} is not valid JSON: {err}") from None
    return JobSettings.from_groups(groups)


def write(settings: JobSettings, f: str | os.PathLike) -> Path:
    Path(f).parent.mkdir(parents=True, exist_ok=True)
    Path(f).write_text(json.dumps(settings.to_groups(), indent=2) + "\n")
    return Path(f)

